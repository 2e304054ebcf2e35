import { accessSync, constants } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';

/**
 * The operator's editor, as git finds it: $VISUAL, then $EDITOR, then vi, the first whose
 * program (its first word: `code -w` is `code`) is an executable; undefined for none.
 */
export function findEditor(env: NodeJS.ProcessEnv): string | undefined {
  const named = [env.VISUAL, env.EDITOR, 'vi'].filter((v): v is string => v !== undefined && v.trim() !== '');
  return named.find((command) => executable(command.trim().split(/\s+/)[0] ?? '', env.PATH ?? ''));
}

function executable(bin: string, path: string): boolean {
  const candidates =
    isAbsolute(bin) || bin.includes('/')
      ? [bin]
      : path
          .split(delimiter)
          .filter(Boolean)
          .map((dir) => join(dir, bin));
  return candidates.some((file) => {
    try {
      accessSync(file, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}
