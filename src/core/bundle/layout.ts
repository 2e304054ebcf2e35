/** The names a bundle is made of, and those a bundle in progress leaves beside it. */

export const DEFAULT_OUTPUT = 'drbook-bundle';
export const SUMS = 'SHA256SUMS';
export const INDEX = 'INDEX.md';
export const SINGLE_FILE = 'drbook.mjs';

/** A bundle is written to `DIR.tmp-<pid>`, and the previous one moved to `DIR.old-<pid>` while it is swapped in. */
export interface Leftover {
  kind: 'tmp' | 'old';
  pid: number;
}

export function temporaryName(out: string, pid: number): string {
  return `${out}.tmp-${pid}`;
}

export function previousName(out: string, pid: number): string {
  return `${out}.old-${pid}`;
}

/** What `entry` (a name in DIR's parent) is to the bundle named `outName`, if a leftover of it. */
export function leftoverOf(outName: string, entry: string): Leftover | undefined {
  if (!entry.startsWith(outName + '.')) return undefined;
  const match = /^\.(tmp|old)-(\d+)$/.exec(entry.slice(outName.length));
  return match ? { kind: match[1] as 'tmp' | 'old', pid: Number(match[2]) } : undefined;
}

/** Any bundle's leftover, whatever its name: never copied into a bundle. */
export function isLeftoverName(name: string): boolean {
  return /\.(tmp|old)-\d+$/.test(name);
}

/** A non-empty DIR is replaced (renamed away and deleted) only when it holds these. */
export function looksLikeBundle(entries: readonly string[]): boolean {
  return entries.includes(SUMS) && entries.includes(INDEX);
}

/**
 * Directories of a bundle are at most rwxr-xr-x, whatever the umask: under umask 000 a
 * 0777 directory would let any local user replace drbook.mjs or SHA256SUMS in the bundle
 * the operator runs as root.
 */
export const DIR_MODE = 0o755;
