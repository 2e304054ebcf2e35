import { relative, resolve } from 'node:path';

/*
 * How files and their errors are named to the operator. Kept in a module of its own:
 * the journal, the lock and the state directory need it, and must not load the
 * runbook parser (yaml, zod) to get it.
 */

/** Paths under the working directory are shown relative, the rest absolute. */
export function displayPath(path: string): string {
  const abs = resolve(path);
  const rel = relative(process.cwd(), abs);
  return rel && !rel.startsWith('..') && !rel.startsWith('/') ? rel : abs;
}

export function errnoText(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  switch (code) {
    case 'ENOENT':
      return 'no such file or directory';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'is a directory';
    case 'ENOTDIR':
      return 'a part of the path is not a directory';
    case 'ENOSPC':
      return 'no space left on the device';
    case 'EPIPE':
      return 'its reader went away (broken pipe)';
    case 'EROFS':
      return 'read-only file system';
    case 'EFBIG':
      return 'file too large: the file-size limit (ulimit -f) was reached';
    default:
      return error instanceof Error ? error.message.split('\n')[0]! : String(error);
  }
}
