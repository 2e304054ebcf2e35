/**
 * The terminal as drbook found it, given back after a program that had it: a command or the
 * operator's editor that crashed in raw mode, in the alternate screen or with the cursor
 * hidden would otherwise garble every later screen (a failure menu drawn as a staircase)
 * and the operator's shell after drbook.
 *
 * The line settings are saved with `stty -g` before and compared after: `stty SAVED` runs
 * only when something changed, so a command that leaves the terminal alone costs two short
 * reads. Only when stdin is a terminal.
 */
import { spawnSync } from 'node:child_process';

/** A stty that cannot finish (stopped for writing from the background) is not waited for. */
const STTY_TIMEOUT_MS = 2000;

/** Escape sequences that put the terminal back: the normal screen, the cursor shown. */
export const LEAVE_ALT_SCREEN = '\x1b[?1049l';
export const SHOW_CURSOR = '\x1b[?25h';

export interface TerminalInput {
  isTTY?: boolean;
}

export interface TerminalOutput {
  isTTY?: boolean;
  write(text: string): unknown;
}

/** What a program's output left switched on, as far as drbook saw it pass. */
export class ScreenModes {
  altScreen = false;
  cursorHidden = false;
  /** The end of the last chunk, for a sequence cut between two chunks. */
  private carry = '';

  see(data: string | Buffer): void {
    const text = this.carry + (typeof data === 'string' ? data : data.toString('latin1'));
    for (const match of text.matchAll(/\x1b\[\?([0-9;]+)([hl])/g)) {
      const on = match[2] === 'h';
      for (const mode of (match[1] ?? '').split(';')) {
        if (mode === '1049' || mode === '1047' || mode === '47') this.altScreen = on;
        else if (mode === '25') this.cursorHidden = !on;
      }
    }
    const lastEscape = text.lastIndexOf('\x1b');
    this.carry = lastEscape >= 0 && text.length - lastEscape < 16 && !/\x1b\[\?[0-9;]*[hl]/.test(text.slice(lastEscape)) ? text.slice(lastEscape) : '';
  }
}

export interface RestoreOptions {
  /** Leave the alternate screen (only when the program was seen entering it, or was killed in it). */
  altScreen?: boolean;
  /** Show the cursor. */
  showCursor?: boolean;
}

export interface TerminalSnapshot {
  /** Gives the terminal back; once (later calls do nothing). */
  restore(options?: RestoreOptions): void;
}

const pending = new Set<() => void>();
let exitHooked = false;

/**
 * Saves the terminal's line settings now. Each snapshot not yet restored is restored when
 * drbook exits, whatever the way (a signal that stops the walk while a command runs).
 */
export function saveTerminal(input: TerminalInput = process.stdin, output: TerminalOutput = process.stdout, modes?: ScreenModes): TerminalSnapshot {
  const saved = input.isTTY === true ? stty(['-g']) : undefined;
  let done = false;
  const restore = (options: RestoreOptions = {}): void => {
    if (done) return;
    done = true;
    pending.delete(atExit);
    if (saved !== undefined && stty(['-g']) !== saved) stty([saved]);
    if (output.isTTY === true) {
      const sequences = (options.altScreen === true ? LEAVE_ALT_SCREEN : '') + (options.showCursor === true ? SHOW_CURSOR : '');
      if (sequences !== '') output.write(sequences);
    }
  };
  // At exit: what the program's output was seen to switch on is switched off too.
  const atExit = (): void => restore(modes === undefined ? {} : { altScreen: modes.altScreen, showCursor: modes.cursorHidden });
  if (saved !== undefined) {
    pending.add(atExit);
    if (!exitHooked) {
      exitHooked = true;
      process.on('exit', () => {
        for (const give of [...pending]) give();
      });
    }
  }
  return { restore };
}

/** stty on drbook's own stdin; its output, or undefined when it failed. */
function stty(args: string[]): string | undefined {
  try {
    const result = spawnSync('stty', args, { stdio: ['inherit', 'pipe', 'ignore'], encoding: 'utf8', timeout: STTY_TIMEOUT_MS, killSignal: 'SIGKILL' });
    return result.status === 0 ? result.stdout.trim() : undefined;
  } catch {
    return undefined;
  }
}
