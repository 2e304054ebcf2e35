/**
 * The file an operator names with -o. A regular file is replaced whole (a temporary file
 * beside it, then a rename); anything else that exists is written in place, as a shell
 * redirection would: `-o /dev/null`, `-o /dev/stdout` or a FIFO must never be replaced by a
 * regular file (as root that would break the host's /dev/null).
 */
import { closeSync, constants, lstatSync, openSync, readlinkSync, realpathSync, type Stats } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { isatty } from 'node:tty';
import { DrbookError, ExitCode } from '../core/errors.js';
import { replaceFile, writeAll } from './durable-file.js';
import { displayPath, errnoText } from './file-text.js';

export type OutputTarget =
  /** A regular file, or nothing yet: replaced whole at `path` (a symlink's target, the link kept). */
  | { kind: 'file'; path: string }
  /** A character device or a FIFO: opened and written in place, never replaced or chmod'ed. */
  | { kind: 'in-place'; path: string }
  /** One of drbook's own descriptors (`/dev/stdout`, `/dev/fd/3`): written to as it is, appending or not. */
  | { kind: 'descriptor'; fd: number };

/** Symlinks followed before giving up, as the kernel's own limit. */
const MAX_LINKS = 40;

/**
 * What writing to `file` means, after following its symlinks one by one. Throws a
 * DrbookError (exit 2) for what cannot take a document: a directory, a symlink that leads
 * nowhere, a socket, a block device (a disk).
 */
export function outputTarget(file: string): OutputTarget {
  const shown = displayPath(file);
  let path = resolve(file);
  for (let links = 0; links <= MAX_LINKS; links++) {
    let stat: Stats;
    try {
      stat = lstatSync(path);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' && links > 0) {
        throw new DrbookError(`cannot write ${shown}: it is a symlink to ${displayPath(path)}, which does not exist; fix or remove the link`, ExitCode.usage);
      }
      // Nothing there (or a missing directory, which the writer reports): a new file.
      if (code === 'ENOENT') return { kind: 'file', path };
      throw new DrbookError(`cannot write ${shown}: ${errnoText(error)}`, ExitCode.usage);
    }
    if (stat.isSymbolicLink()) {
      // /proc/<pid>/fd/N (what /dev/stdout and /dev/fd/N lead to) is a descriptor, not a
      // name: its "target" may be a pipe, a socket or a file opened for appending.
      const fd = descriptorLink(path);
      if (fd === 'own') return { kind: 'descriptor', fd: Number(basename(path)) };
      if (fd === 'other') return { kind: 'in-place', path };
      path = resolve(dirname(path), readlinkSync(path));
      continue;
    }
    if (stat.isFile()) return { kind: 'file', path };
    if (stat.isDirectory()) throw new DrbookError(`cannot write ${shown}: is a directory; name a file in it (such as ${shown}/NAME)`, ExitCode.usage);
    if (stat.isCharacterDevice() || stat.isFIFO()) return { kind: 'in-place', path };
    const what = stat.isSocket() ? 'a socket' : stat.isBlockDevice() ? 'a block device (a disk)' : 'not a regular file';
    throw new DrbookError(`cannot write ${shown}: it is ${what}; name a regular file, a FIFO or a character device`, ExitCode.usage);
  }
  throw new DrbookError(`cannot write ${shown}: too many levels of symlinks`, ExitCode.usage);
}

/** Whether `path` is an entry of /proc/<pid>/fd (or a thread's): of this process, of another, or neither. */
function descriptorLink(path: string): 'own' | 'other' | undefined {
  if (!/^\d+$/.test(basename(path))) return undefined;
  let dir: string;
  try {
    dir = realpathSync(dirname(path));
  } catch {
    return undefined;
  }
  const match = /^\/proc\/(\d+)(?:\/task\/\d+)?\/fd$/.exec(dir);
  if (!match) return undefined;
  return Number(match[1]) === process.pid ? 'own' : 'other';
}

export interface OutputOptions {
  /** The permission bits of a regular file written (a device or a FIFO keeps its own). */
  mode: number;
  /** What the text becomes when the target is a terminal (a tty device, or stdout on one). */
  onTerminal?: (text: string) => string;
}

/**
 * Writes `data` where `file` leads (see outputTarget): a regular file replaced whole, a
 * device or a FIFO written in place (a FIFO waits for its reader, as a shell redirection
 * does), drbook's own stdout written to. Every failure is one line, exit 2.
 */
export async function writeOutputFile(file: string, data: string, options: OutputOptions, target: OutputTarget = outputTarget(file)): Promise<void> {
  const forTerminal = (fd: number) => (options.onTerminal && isatty(fd) ? options.onTerminal(data) : data);
  try {
    switch (target.kind) {
      case 'file':
        replaceFile(target.path, data, { mode: options.mode });
        return;
      case 'descriptor': {
        // Node's own streams for stdout and stderr: a pipe there is non-blocking, where a
        // plain write would fail with EAGAIN once the reader falls behind.
        const stream = target.fd === 1 ? process.stdout : target.fd === 2 ? process.stderr : undefined;
        if (stream) {
          const text = forTerminal(target.fd);
          await new Promise<void>((done, fail) => stream.write(text, (error) => (error ? fail(error) : done())));
        } else writeAll(target.fd, forTerminal(target.fd));
        return;
      }
      case 'in-place': {
        // No O_CREAT: it exists, and if it vanished meanwhile nothing is created in its place.
        const fd = openSync(target.path, constants.O_WRONLY | constants.O_TRUNC | constants.O_NOCTTY);
        try {
          writeAll(fd, forTerminal(fd));
        } finally {
          closeSync(fd);
        }
        return;
      }
    }
  } catch (error) {
    if (error instanceof DrbookError) throw error;
    throw new DrbookError(`cannot write ${displayPath(file)}: ${errnoText(error)}`, ExitCode.usage);
  }
}
