/**
 * A text edited in the operator's editor, as `git commit` does it: `sh -c '<editor> "$1"'`,
 * so `code -w` works. The file lives in a fresh private directory (0700, the file 0600): a
 * secret pasted into it, and the editor's swap file beside it, are the operator's only; the
 * directory is removed afterwards. An editor that fails (vim's `:cq`) or is killed cancels
 * the edit, whatever it wrote: only a clean exit is a finished edit.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { saveTerminal, type TerminalInput, type TerminalOutput } from './terminal-state.js';

export type EditOutcome = { saved: true; text: string } | { saved: false; why: string };

export interface EditOptions {
  /** The file's name in its directory: its suffix picks the editor's syntax colours. */
  fileName?: string;
  input?: TerminalInput;
  output?: TerminalOutput;
  /** @internal For tests: where the private directory is made. */
  tmp?: string;
}

export async function editInEditor(editor: string, text: string, options: EditOptions = {}): Promise<EditOutcome> {
  const dir = mkdtempSync(join(options.tmp ?? tmpdir(), 'drbook-edit-'));
  try {
    const file = join(dir, options.fileName ?? 'command.sh');
    writeFileSync(file, text.endsWith('\n') ? text : `${text}\n`, { mode: 0o600, flag: 'wx' });
    const terminal = saveTerminal(options.input ?? process.stdin, options.output ?? process.stdout);
    // Ctrl-C in an editor that does not read it as a key ends the editor (and so the
    // edit), not drbook.
    const ignore = (): void => {};
    process.on('SIGINT', ignore);
    let ended: { code: number | null; signal: NodeJS.Signals | null; error?: Error };
    try {
      ended = await new Promise((resolve) => {
        const child = spawn('sh', ['-c', `${editor} "$1"`, editor, file], { stdio: 'inherit' });
        child.once('error', (error) => resolve({ code: null, signal: null, error }));
        child.once('exit', (code, signal) => resolve({ code, signal }));
      });
    } finally {
      process.removeListener('SIGINT', ignore);
    }
    // The shell in between may report its editor's death as 128 + the signal's number.
    const killedBy = ended.signal ?? (ended.code !== null && ended.code > 128 ? signalName(ended.code - 128) : null);
    // A killed full-screen editor leaves its alternate screen and hidden cursor behind.
    terminal.restore(killedBy !== null ? { altScreen: true, showCursor: true } : {});
    if (ended.error !== undefined) return { saved: false, why: `${editor} could not be started (${ended.error.message})` };
    if (killedBy !== null) return { saved: false, why: `${editor} was killed (${killedBy})` };
    // sh says 127 for a program it cannot find, 126 for one it cannot run.
    if (ended.code !== 0) return { saved: false, why: `${editor} exited with code ${ended.code ?? '?'} (as vim's :cq does)` };
    return { saved: true, text: readFileSync(file, 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function signalName(number: number): string {
  return Object.entries(constants.signals).find(([, n]) => n === number)?.[0] ?? `signal ${number}`;
}
