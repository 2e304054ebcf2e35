/**
 * Files that survive a crash or a power cut whole, or not at all: the one place that knows
 * how (write, fsync the file, rename, fsync its directory), for the bundle, `export -o`,
 * `new` and `import`, the journal's creation, evidence and the shell-site cache.
 * The journal's appends are not here: each is one write and an fsync on its open file.
 */
import { chmodSync, closeSync, constants, fchmodSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/**
 * Creates a file that must not exist yet (O_EXCL: never someone else's file; a symlink
 * planted at the name fails too), with exactly `mode` whatever the umask. `append` opens it
 * O_RDWR|O_APPEND (a journal), else write-only. Throws the file system's error (EEXIST...).
 */
export function createNewFile(path: string, mode: number, access: 'write' | 'append' = 'write'): number {
  const how = access === 'append' ? constants.O_RDWR | constants.O_APPEND : constants.O_WRONLY;
  const fd = openSync(path, how | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, mode);
  try {
    // The umask may have taken bits away (or the caller wants more than it allows): set them exactly.
    fchmodSync(fd, mode);
  } catch (error) {
    closeSync(fd);
    throw error;
  }
  return fd;
}

/** Writes all of `data`, however many calls that takes. */
export function writeAll(fd: number, data: string | Uint8Array): void {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  for (let offset = 0; offset < bytes.length;) offset += writeSync(fd, bytes, offset, bytes.length - offset);
}

/**
 * Makes a directory's entries (a new name, a rename) durable. Best effort: not every
 * platform or file system can fsync a directory; the file's own fsync still holds there.
 */
export function syncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // see above
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Flushes and closes a file made with createNewFile, and makes its name durable. */
export function commitNewFile(fd: number, path: string): void {
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  syncDir(dirname(path));
}

/**
 * Writes and fsyncs a file (created, or truncated), mode exactly `mode`: for a file inside a
 * tree that is published as a whole afterwards by a rename (the bundle's temporary
 * directory), so that the rename never exposes a torn copy.
 */
export function writeDurable(file: string, data: string | Uint8Array, mode = 0o644): void {
  const fd = openSync(file, 'w', mode);
  try {
    writeAll(fd, data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  // openSync's mode is masked by the umask and ignored when the file already existed.
  chmodSync(file, mode);
}

export interface ReplaceOptions {
  mode: number;
  /**
   * False for a cache: the rename alone keeps readers from a half-written file; a power cut
   * may lose the entry, which costs the next run some time, not correctness. Default true.
   */
  durable?: boolean;
}

/**
 * Replaces (or creates) `file` with `data` atomically: a temporary file beside it, created
 * exclusively, written and fsynced, then renamed over it, and the directory fsynced. A reader
 * sees the old content or the new, never half of it. On failure the temporary file is
 * removed and the file system's error thrown.
 */
export function replaceFile(file: string, data: string | Uint8Array, options: ReplaceOptions): void {
  const durable = options.durable ?? true;
  const partial = join(dirname(file), `.${basename(file)}.${process.pid}.tmp`);
  let created = false;
  try {
    // A temporary file with this pid in its name is left from a crashed process that had it.
    rmSync(partial, { force: true });
    const fd = createNewFile(partial, options.mode);
    created = true;
    try {
      writeAll(fd, data);
      if (durable) fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(partial, file);
  } catch (error) {
    if (created) {
      try {
        rmSync(partial, { force: true });
      } catch {
        // A read-only or full file system may refuse even that; the error below says why.
      }
    }
    throw error;
  }
  if (durable) syncDir(dirname(file));
}
