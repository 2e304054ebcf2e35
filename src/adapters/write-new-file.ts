import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { DrbookError, ExitCode } from '../core/errors.js';
import { replaceFile } from './durable-file.js';
import { displayPath, errnoText } from './file-text.js';
import { makeDirs } from './make-dirs.js';

/**
 * Writes a file whole or not at all (a temporary file beside it, fsynced, then renamed),
 * and never over an existing one unless `force`: exit 2 with what to do.
 */
export function writeNewFile(file: string, text: string, force: boolean): void {
  if (!force && existsSync(file)) {
    throw new DrbookError(`${displayPath(file)} already exists: choose another file with -o, or pass --force to replace it`, ExitCode.usage);
  }
  try {
    makeDirs(dirname(file));
    replaceFile(file, text, { mode: 0o644 });
  } catch (error) {
    throw new DrbookError(`cannot write ${displayPath(file)}: ${errnoText(error)}`, ExitCode.usage);
  }
}
