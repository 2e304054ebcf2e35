/**
 * The engine's ports. The engine walks a runbook through these and nothing else, so the
 * same walk serves `run`, `rehearse` and `resume`, and tests drive it with fakes.
 */
import type { EventBody, JournalEvent, Mode } from './journal-events.js';
import type { ResolvedDoc, Step, VarDef } from './model.js';
import type { Redactor } from './redact.js';

export type StepAction = 'run' | 'skip' | 'done' | 'note' | 'abort';
/**
 * `done`: the operator made it right by hand; `completed`: only after drbook stopped mid-command,
 * the command itself finished its work while drbook was away (the operator checked).
 */
export type FailureAction = 'retry' | 'edit' | 'skip' | 'done' | 'completed' | 'note' | 'abort';

/** What the operator sees of a step before choosing. All strings are already redacted. */
export interface StepView {
  /** 1-based position and total, for the `[3/12] title` header. */
  position: number;
  total: number;
  step: Step;
  title: string;
  description?: string;
  docs: ResolvedDoc[];
  /** The command as it will run, secrets as ***. Absent for a manual step. */
  command?: string;
  cwd?: string;
  mode: Mode;
  /** In a rehearsal: whether this command would be executed (safe step with --run-safe). */
  willExecute: boolean;
  /**
   * What to show: the whole step (unset); only its header, description and docs, before
   * the questions the step needs; or only its command, once they are answered.
   */
  part?: 'context' | 'command';
}

export interface VarQuestion {
  name: string;
  def: VarDef;
  /** Returns an error message for a refused value, or undefined. */
  validate: (value: string) => string | undefined;
  /** The value offered as the answer (from `default`). */
  initial?: string;
}

export interface Ui {
  showStep(view: StepView): void;
  chooseStepAction(view: StepView, choices: readonly StepAction[]): Promise<StepAction>;
  /** The first choice is the default (Enter alone), unless `noDefault`: then Enter alone asks again. */
  chooseFailureAction(view: StepView, failure: string, choices: readonly FailureAction[], options?: { noDefault?: boolean }): Promise<FailureAction>;
  /** A yes/no question; `true` is the default answer. */
  confirm(question: string): Promise<boolean>;
  askVar(question: VarQuestion): Promise<string>;
  /** Free text: a note, an edited command (prefilled with `initial`). */
  askText(message: string, initial?: string): Promise<string>;
  /**
   * An edited command: a multi-line one goes to the operator's editor where there is one.
   * Optional: a Ui without it edits through askText. Undefined: the edit was cancelled (the
   * editor failed or was killed) and the Ui has said so; nothing of it may run.
   */
  editCommand?(message: string, initial: string): Promise<string | undefined>;
  info(message: string): void;
  warn(message: string): void;
  /** Before a command runs, so output and prompts do not mix. */
  commandStarting(view: StepView): void;
  commandFinished(view: StepView, result: CommandResult): void;
  /**
   * Between two attempts of an `until:` step, drbook owns the terminal: wait `waitMs`
   * while showing the countdown. Resolves 'interrupted' when the operator presses Ctrl-C
   * (the step's menu opens), else 'elapsed'. The engine never sleeps itself.
   */
  waitUntil(view: StepView, wait: PollWait): Promise<'elapsed' | 'interrupted'>;
}

/** What the operator sees while an `until:` step waits for its next attempt (redacted). */
export interface PollWait {
  /** Attempts made so far in this wait. */
  attempt: number;
  /** Time to the next attempt. */
  waitMs: number;
  /** Time left before the `until.timeout`. */
  leftMs: number;
  /** Why the last attempt did not count. */
  reason: string;
  /** The last non-empty line of the last attempt's output. */
  lastLine: string;
}

export interface CommandRequest {
  step: string;
  attempt: number;
  /** The rendered command, with the real values of secrets. Never print or store this. */
  command: string;
  shell: 'bash' | 'sh';
  cwd: string;
  /** Extra environment on top of the process environment. */
  env: Record<string, string>;
  timeoutMs?: number;
  /** Absolute path of the output log (created 0600), or undefined for no log. */
  logFile?: string;
  /** Start the log afresh instead of appending (each attempt of an `until:` poll). */
  replaceLog?: boolean;
  /** Applied to everything shown or written (terminal, log, tail): secret values become ***. */
  redactor: Redactor;
  /**
   * While the process runs, a file beside its log names it (pid, start time, group): an
   * attempt of an `until:` poll has no start event in the journal, so this is where
   * `resume` finds one that drbook left running (adapters/running-file.ts).
   */
  markRunning?: boolean;
  /** Called once the process exists, before it can do anything that matters to a journal. */
  onSpawn?: (pid: number, procStart: string | undefined, pgid?: number) => void;
}

export interface CommandResult {
  exitCode: number | null;
  signal: string | null;
  durationMs: number;
  timedOut: boolean;
  /** Stopped by the operator's Ctrl-C. */
  interrupted: boolean;
  /**
   * drbook itself got this signal (SIGTERM, SIGHUP, SIGQUIT) while the command ran: the
   * command and everything it started were stopped, and the walk must end now.
   */
  stoppedBy?: string;
  /**
   * With stoppedBy: the signal came after the shell had succeeded on its own (while drbook
   * drained what it left behind): the command finished, and its result stands.
   */
  exitedFirst?: boolean;
  /** The command could not start at all (shell missing, cwd missing): the reason. */
  spawnError?: string;
  /** Stdout, unredacted, kept up to a bound for `expect` and `capture`. */
  stdout: string;
  stderr: string;
  /** True when stdout/stderr above were cut at the bound. */
  truncated: boolean;
  /** The last lines of the combined output, redacted. */
  tail: string;
  outputBytes: number;
}

export interface Executor {
  run(request: CommandRequest): Promise<CommandResult>;
}

export interface Journal {
  /** Appends and makes durable (fsync) before returning. */
  append(event: EventBody): JournalEvent;
}

export interface Clock {
  /** Wall clock, for timestamps. */
  now(): Date;
  /** Monotonic milliseconds, for durations. */
  monotonic(): number;
}

/** A process drbook found alive, with its start time when known (to tell a reused pid). */
export interface LiveProcess {
  pid: number;
  start?: string;
}

/**
 * The processes of the machine, as resume sees them: a command drbook lost track of
 * (killed while it ran) may still run, in its own process group, and must never be started
 * a second time beside itself. Start times are opaque strings (clock ticks since boot on
 * Linux): a pid alive with another start time is another process.
 */
export interface Processes {
  /** Whether `pid` is alive and, given `start`, still the process that started then. */
  alive(pid: number, start?: string): boolean;
  startOf(pid: number): string | undefined;
  parentOf(pid: number): number | undefined;
  /** Every process below `pid`. */
  descendants(pid: number): number[];
  /**
   * The live members of process group `pgid` started at or after `since`: a start time as
   * startOf gives it, or a wall-clock instant in ms.
   */
  groupMembers(pgid: number, since: string | number): number[];
  /**
   * What is left of a command that led its own process group (`pgid` is its shell's pid,
   * started at `start`): every live member started since. Nothing when the pid was reused.
   */
  ownGroup(pgid: number, start: string): number[];
  /** The live processes carrying the mark a drbook gave a command (its environment): driver pid, step, attempt. */
  marked(driverPid: number, step: string, attempt: number): number[];
  /** This drbook and the processes that started it: never survivors to wait for or stop. */
  ancestors(): ReadonlySet<number>;
  /** Stops each process and everything it started (TERM, then KILL after a grace): the pids still alive after. */
  stop(processes: readonly LiveProcess[]): Promise<number[]>;
  /** Waits until none of them is alive: true. Ctrl-C stops the wait and leaves them running: false. */
  waitForExit(processes: readonly LiveProcess[]): Promise<boolean>;
}
