import { existsSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { DrbookError, ExitCode } from '../core/errors.js';
import { displayPath, errnoText } from './file-text.js';
import { makeDirs } from './make-dirs.js';
import { writeDurable } from './single-file.js';

/**
 * Writes a file whole or not at all (a temporary file beside it, fsynced, then renamed),
 * and never over an existing one unless `force`: exit 2 with what to do.
 */
export function writeNewFile(file: string, text: string, force: boolean): void {
  if (!force && existsSync(file)) {
    throw new DrbookError(`${displayPath(file)} already exists: choose another file with -o, or pass --force to replace it`, ExitCode.usage);
  }
  const partial = join(dirname(file), `.${basename(file)}.${process.pid}.tmp`);
  try {
    makeDirs(dirname(file));
    writeDurable(partial, text, 0o644);
    renameSync(partial, file);
  } catch (error) {
    rmSync(partial, { force: true });
    throw new DrbookError(`cannot write ${displayPath(file)}: ${errnoText(error)}`, ExitCode.usage);
  }
}
