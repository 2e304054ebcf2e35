import { lstatSync } from 'node:fs';
import { dirname } from 'node:path';
import { DrbookError, ExitCode } from '../core/errors.js';
import { displayPath, errnoText } from './file-text.js';
import { makeDirs } from './make-dirs.js';
import { writeOutputFile } from './output-file.js';

/**
 * Writes a file whole or not at all (a temporary file beside it, fsynced, then renamed),
 * and never over an existing one unless `force`: exit 2 with what to do. Anything at the
 * name counts, a symlink that leads nowhere too. With `force`, a device or a FIFO is
 * written in place, never replaced (see writeOutputFile).
 */
export async function writeNewFile(file: string, text: string, force: boolean): Promise<void> {
  if (!force && entryExists(file)) {
    throw new DrbookError(`${displayPath(file)} already exists: choose another file with -o, or pass --force to replace it`, ExitCode.usage);
  }
  try {
    makeDirs(dirname(file));
  } catch (error) {
    throw new DrbookError(`cannot write ${displayPath(file)}: ${errnoText(error)}`, ExitCode.usage);
  }
  await writeOutputFile(file, text, { mode: 0o644 });
}

/** lstat, not exists: a dangling symlink is something there, which replacing would lose. */
function entryExists(file: string): boolean {
  try {
    lstatSync(file);
    return true;
  } catch {
    // Nothing there, or nothing that can be looked at: writing says which.
    return false;
  }
}
