/** Kept equal to package.json by a test; a constant so the single-file build needs no package.json. */
export const VERSION = '0.1.0';

/** `drbook --version` (or -V) alone: answered before any of the CLI is loaded. */
export function versionOnly(args: readonly string[]): boolean {
  return args.length === 1 && (args[0] === '--version' || args[0] === '-V');
}
