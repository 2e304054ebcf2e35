import { createHash } from 'node:crypto';
import { closeSync, constants, fstatSync, lstatSync, mkdirSync, openSync, readSync } from 'node:fs';
import { basename, join } from 'node:path';
import { commitNewFile, createNewFile, writeAll } from './durable-file.js';

export interface CopiedEvidence {
  /** Relative to the session directory: `evidence/01-df.txt`. */
  file: string;
  sha256: string;
  bytes: number;
}

/** Thrown with a message for the operator: the file cannot be attached as it is. */
export class EvidenceError extends Error {}

/**
 * Copies `source` into `<sessionDir>/evidence/`, 0600, hashing what it copies.
 *
 * The destination never follows a symlink: the session and evidence directories must be
 * real directories (checked with lstat), and the copy is created with O_CREAT|O_EXCL|
 * O_NOFOLLOW, so a link planted under the name fails instead of writing elsewhere.
 * The source is the operator's own choice, read with their rights: a symlinked source is
 * followed and its target's content copied (a log under /var/log is often a link), but it
 * must be a regular file (a FIFO or a device would never end), opened non-blocking.
 */
export function copyEvidence(source: string, sessionDir: string): CopiedEvidence {
  let input: number;
  try {
    input = openSync(source, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    throw new EvidenceError(`cannot read ${source}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  try {
    if (!fstatSync(input).isFile()) throw new EvidenceError(`${source} is not a regular file: attach a file (copy a directory into an archive first)`);
    realDir(sessionDir, 0o700);
    const dir = join(sessionDir, 'evidence');
    realDir(dir, 0o700);
    const { fd, name } = createExclusive(dir, basename(source));
    const hash = createHash('sha256');
    let bytes = 0;
    try {
      const buffer = Buffer.alloc(1 << 16);
      for (;;) {
        const n = readSync(input, buffer, 0, buffer.length, null);
        if (n === 0) break;
        hash.update(buffer.subarray(0, n));
        writeAll(fd, buffer.subarray(0, n));
        bytes += n;
      }
    } catch (error) {
      closeSync(fd);
      throw error;
    }
    // The journal records the copy's sha256 next, and that line is fsynced: the copy and its
    // name must be on disk first, or a power cut leaves a hash of a file that is not there.
    commitNewFile(fd, join(dir, name));
    return { file: `evidence/${name}`, sha256: hash.digest('hex'), bytes };
  } finally {
    closeSync(input);
  }
}

function realDir(dir: string, mode: number): void {
  try {
    mkdirSync(dir, { mode });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST')
      throw new EvidenceError(`cannot create ${dir}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  const stat = lstatSync(dir);
  if (stat.isSymbolicLink() || !stat.isDirectory())
    throw new EvidenceError(`${dir} is not a plain directory (a symlink?): refusing to write evidence through it`);
}

/** `01-name`, `02-name`…: the first number free, created in one O_EXCL step. */
function createExclusive(dir: string, original: string): { fd: number; name: string } {
  const safe =
    original
      .replace(/[^A-Za-z0-9._-]+/g, '_')
      .replace(/^\.+/, '')
      .slice(0, 100) || 'evidence';
  for (let n = 1; n < 10_000; n++) {
    const name = `${String(n).padStart(2, '0')}-${safe}`;
    try {
      return { fd: createNewFile(join(dir, name), 0o600), name };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST')
        throw new EvidenceError(`cannot write ${join(dir, name)}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
    }
  }
  throw new EvidenceError(`too many pieces of evidence in ${dir}`);
}
