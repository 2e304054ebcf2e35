import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { join, normalize, sep } from 'node:path';

/** The last part of a command's output log, and when it was last written. */
export interface LogTail {
  tail: string;
  bytes: number;
  lastWriteMs: number;
}

const TAIL_BYTES = 4096;
const TAIL_LINES = 20;

/**
 * Reads the tail of `<sessionDir>/<log>` for an attempt the journal has no output for (drbook
 * stopped while it ran). The log path comes from the journal: one that climbs out of the
 * session directory, or a symlink, is not read. Logs are written redacted already.
 */
export function readLogTail(sessionDir: string, log: string, bytes: number = TAIL_BYTES): LogTail | null {
  const path = normalize(join(sessionDir, log));
  if (!path.startsWith(normalize(sessionDir) + sep)) return null;
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return null;
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) return null;
    const length = Math.min(bytes, stat.size);
    const buffer = Buffer.alloc(length);
    const n = readSync(fd, buffer, 0, length, stat.size - length);
    let text = buffer.subarray(0, n).toString('utf8');
    if (length < stat.size) text = text.slice(text.indexOf('\n') + 1);
    const lines = text.replace(/\n+$/, '').split('\n');
    return { tail: lines.slice(-TAIL_LINES).join('\n'), bytes: stat.size, lastWriteMs: stat.mtimeMs };
  } finally {
    closeSync(fd);
  }
}
