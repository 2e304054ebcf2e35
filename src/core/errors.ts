/** Exit codes from SPEC.md. */
export const ExitCode = {
  ok: 0,
  /** A runbook is invalid, or a session ended aborted or with a failed step. */
  failed: 1,
  /** Usage or input error: unknown flag, missing file, no terminal, journal not writable. */
  usage: 2,
  /** Paused by Ctrl-C. */
  paused: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/**
 * The one error type that reaches main.ts: its message is printed as one line and its
 * exit code is set. Anything else that escapes is a bug and is reported as such.
 */
export class DrbookError extends Error {
  readonly exitCode: ExitCode;
  /** Lines printed before the message: the problems behind it (`file:line:col: ...`). */
  readonly details: readonly string[];
  constructor(message: string, exitCode: ExitCode = ExitCode.usage, details: readonly string[] = []) {
    super(message);
    this.name = 'DrbookError';
    this.exitCode = exitCode;
    this.details = details;
  }
}

/**
 * Raised by a Ui when the operator presses Ctrl-C at a prompt, or ends its input (Ctrl-D at
 * a terminal, the end of piped answers): the session pauses.
 */
export class PromptInterrupted extends Error {
  /** What stopped the prompt, as the journal's pause reason says it. */
  readonly by: 'Ctrl-C' | 'end of input';
  constructor(by: 'Ctrl-C' | 'end of input' = 'Ctrl-C') {
    super(by === 'Ctrl-C' ? 'interrupted at a prompt' : 'end of input at a prompt');
    this.name = 'PromptInterrupted';
    this.by = by;
  }

  /** The journal's reason: "Ctrl-C at a prompt", "end of input (Ctrl-D) at a prompt". */
  get reason(): string {
    return this.by === 'Ctrl-C' ? 'Ctrl-C at a prompt' : 'end of input (Ctrl-D) at a prompt';
  }
}

/**
 * drbook got a signal that ends it (SIGTERM, SIGHUP, SIGQUIT; Ctrl-C as the command ended) while a command ran: the
 * command's processes were stopped and the journal says so. Exit 128 + the signal number.
 */
export class SignalStop extends Error {
  readonly signal: string;
  readonly exitCode: number;
  /** `finished`: the signal came after the command's shell had succeeded on its own. */
  constructor(signal: string, exitCode: number, finished = false) {
    super(
      finished
        ? `got ${signal} after the command had finished (journaled as done; only what it left running was stopped); the session is paused`
        : `got ${signal}: the running command and everything it started were stopped; the session is paused`,
    );
    this.name = 'SignalStop';
    this.signal = signal;
    this.exitCode = exitCode;
  }
}

/** A journal a reader will not trust (see journalShapeProblem): exit 2, or 1 from `verify`. */
export class JournalRefused extends DrbookError {
  constructor(message: string) {
    super(message, ExitCode.usage);
    this.name = 'JournalRefused';
  }
}
