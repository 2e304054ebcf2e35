/**
 * The journal format (version 1): one JSON object a line, append-only.
 * Every line carries `v`, `seq` (1-based, gapless for the driver's events), `ts` (UTC,
 * milliseconds), `type` and `prev`: the sha256 hex of the previous line's bytes (without
 * its newline), or null on the first line. docs/journal.md documents each type.
 */
import type { SecretFingerprint } from './secret-fingerprint.js';

export const JOURNAL_VERSION = 1;

export type Mode = 'live' | 'rehearsal';
export type StepOutcome = 'done' | 'skipped' | 'failed' | 'marked-done';
export type EndStatus = 'completed' | 'aborted' | 'failed';
export type VarSource = 'cli' | 'vars-file' | 'env' | 'prompt' | 'default' | 'capture' | 'placeholder';

export interface SessionStarted {
  type: 'session.started';
  session: string;
  runbook: {
    id: string;
    title: string;
    path: string;
    sha256: string;
    steps: number;
    rto?: string;
    /** Recovery point objective as written in the runbook. */
    rpo?: string;
    /** The var holding the ISO time of the data restored (the backup's time). */
    recoveryPoint?: string;
  };
  mode: Mode;
  operator: { user: string; host: string };
  /** IANA zone of the operator, e.g. Europe/Paris. */
  tz: string;
  /** The zone's UTC offset in minutes at the start (e.g. 60 for +01:00). */
  tzOffsetMinutes: number;
  drbook: string;
  pid: number;
  from?: string;
  /** Where drbook was started: steps without `cwd` run there, also after a resume. */
  cwd?: string;
  /** A rehearsal with --run-safe: its safe steps are executed, also after a resume. */
  runSafe?: boolean;
  /** Started with --yes: every question took its default (a scripted drill, not a person's pace). */
  yes?: boolean;
}

export interface VarSet {
  type: 'var.set';
  name: string;
  /** The value, or '***' for a secret. */
  value: string;
  source: VarSource;
  secret?: boolean;
  /** For a secret: salted sha256 and length of the value (and of its shell-quoted form), never the value. */
  fingerprints?: SecretFingerprint[];
  step?: string;
}

export interface StepStarted {
  type: 'step.started';
  step: string;
  index: number;
  title: string;
}

export interface StepFinished {
  type: 'step.finished';
  step: string;
  index: number;
  outcome: StepOutcome;
  /** Why a step was skipped or failed: 'when: dns_plan == reuse is false', 'operator', '--from'. */
  reason?: string;
  /** A step skipped by its `when:` never starts: its title, rendered with the values known (`<name>` for the others). */
  title?: string;
  durationMs: number;
}

export interface CommandStarted {
  type: 'command.started';
  step: string;
  attempt: number;
  /** As it runs, secrets as ***. */
  command: string;
  cwd: string;
  /** Output log, relative to the session directory. */
  log?: string;
}

export interface CommandSpawned {
  type: 'command.spawned';
  step: string;
  attempt: number;
  pid: number;
  /** Process start time as the OS reports it (Linux: clock ticks since boot), to tell a reused pid. */
  procStart?: string;
  /** The command's process group, whose members resume looks for after a crash. */
  pgid?: number;
}

/** How one attempt of a command ended: the same fields for a step's command and a poll's attempt. */
export interface AttemptEnd {
  exitCode: number | null;
  signal: string | null;
  durationMs: number;
  ok: boolean;
  timedOut?: boolean;
  interrupted?: boolean;
  /** Why it counts as failed when the exit code alone does not say it. */
  reason?: string;
  /** Last lines of stdout+stderr, secrets as ***. */
  tail: string;
  outputBytes: number;
}

/** The AttemptEnd fields of an event, in the order the journal writes them, an absent flag left out. */
export function attemptEnd(e: AttemptEnd): AttemptEnd {
  return {
    exitCode: e.exitCode,
    signal: e.signal,
    durationMs: e.durationMs,
    ok: e.ok,
    ...(e.timedOut ? { timedOut: true } : {}),
    ...(e.interrupted ? { interrupted: true } : {}),
    ...(e.reason === undefined ? {} : { reason: e.reason }),
    tail: e.tail,
    outputBytes: e.outputBytes,
  };
}

export interface CommandFinished extends AttemptEnd {
  type: 'command.finished';
  step: string;
  attempt: number;
  /** An `until:` step: this attempt's number within the poll, and the time since the poll began. */
  poll?: { attempt: number; elapsedMs: number };
}

/**
 * Format 1.1 `until:`: a poll begins, before its first attempt's process exists (so a
 * crash leaves a poll in flight that resume will not run beside itself). Its attempts
 * follow as one `poll.attempt` each.
 */
export interface PollStarted {
  type: 'poll.started';
  step: string;
  /** The step's attempt number of the poll's first attempt (numbered per step, as `command.*`). */
  attempt: number;
  /** As it runs, secrets as ***: the same for every attempt of the poll. */
  command: string;
  cwd: string;
  /** The poll's one output log (relative to the session directory), rewritten by each attempt. */
  log?: string;
  intervalMs: number;
  timeoutMs: number;
}

/** One attempt of a poll, written when it ended: the only event of the attempt. */
export interface PollAttempt extends AttemptEnd {
  type: 'poll.attempt';
  step: string;
  /** The step's attempt number. */
  attempt: number;
  /** 1, 2… within its poll. */
  pollAttempt: number;
  /** Since the poll's first attempt started. */
  elapsedMs: number;
  pid?: number;
  procStart?: string;
  pgid?: number;
  /** The poll goes on: the next attempt starts after this wait. Absent: this attempt ended the poll. */
  nextInMs?: number;
}

/** In a rehearsal: the command was shown, not executed. */
export interface CommandRehearsed {
  type: 'command.rehearsed';
  step: string;
  command: string;
}

export interface CommandEdited {
  type: 'command.edited';
  step: string;
  attempt: number;
  from: string;
  to: string;
}

export interface Decision {
  type: 'decision';
  step?: string;
  question: string;
  answer: string;
  /** `--yes` took the question's default: no person answered it. Absent: the operator did. */
  by?: '--yes';
}

/** The question resume asks about a command drbook stopped during; its `decision` settles the command. */
export const IN_FLIGHT_QUESTION = 'The command was in flight when drbook stopped: did it complete?';

/** The `step.finished` reason of a step whose cut command, the operator said, completed on its own: done, not by hand. */
export const COMPLETED_WHILE_AWAY = 'completed while drbook was away (the operator confirmed it)';

export interface Note {
  type: 'note';
  text: string;
  step?: string;
  /** When it happened, if given with --at (ISO UTC). `ts` stays the time it was recorded. */
  at?: string;
  by: string;
  source: 'walk' | 'cli';
}

export type MilestoneName = 'impact-started' | 'detected' | 'mitigated' | 'resolved';

/** An incident milestone: `drbook mark`, or a step with `milestone:` that was done. */
export interface MilestoneMarked {
  type: 'milestone';
  milestone: MilestoneName;
  text?: string;
  step?: string;
  /** When it happened, if given with --at (ISO UTC). `ts` stays the time it was recorded. */
  at?: string;
  by: string;
  /** `cli`: drbook mark; `step`: a step carrying `milestone:` was done. */
  source: 'cli' | 'step';
}

/** A piece of evidence copied into the session directory by `drbook attach`. */
export interface EvidenceAttached {
  type: 'evidence';
  /** The copy, relative to the session directory: `evidence/03-df.txt`. */
  file: string;
  /** The source file's name as given (base name only). */
  name: string;
  sha256: string;
  bytes: number;
  step?: string;
  /** When the evidence was taken, if given with --at (ISO UTC). */
  at?: string;
  note?: string;
  by: string;
}

export interface SessionPaused {
  type: 'session.paused';
  step?: string;
  reason: string;
}

export interface SessionResumed {
  type: 'session.resumed';
  /** Time since the last event before this one. */
  gapMs: number;
  step?: string;
  pid: number;
  runbookChanged?: { from: string; to: string };
  /** `resume --reopen`: the session had ended aborted and goes on in the same journal. */
  reopened?: true;
  /** `resume --runbook PATH`: the runbook is read from here from now on (absolute). */
  runbookPath?: string;
}

export interface SessionEnded {
  type: 'session.ended';
  status: EndStatus;
  done: number;
  skipped: number;
  failed: number;
  markedDone: number;
  /** Wall time from the first event to this one, pauses included. */
  durationMs: number;
  /** Why the operator aborted, when they said. */
  reason?: string;
}

/** Format 1.1 `undo:`: the walk back over the steps done, after an abort or with `drbook undo`. */
export interface UndoStarted {
  type: 'undo.started';
  /** The steps offered, in the order they are walked (the reverse of how they were done). */
  steps: string[];
  trigger: 'abort' | 'command';
  pid: number;
}

export type UndoOutcome = StepOutcome;

export interface UndoStep {
  type: 'undo.step';
  step: string;
  /** done: the undo ran (or, for a manual step, the operator did it); marked-done: by hand. */
  outcome: UndoOutcome;
  reason?: string;
  durationMs: number;
}

export interface UndoCommandStarted {
  type: 'undo.command.started';
  step: string;
  attempt: number;
  command: string;
  cwd: string;
  log?: string;
}

export interface UndoCommandFinished {
  type: 'undo.command.finished';
  step: string;
  attempt: number;
  exitCode: number | null;
  signal: string | null;
  durationMs: number;
  ok: boolean;
  reason?: string;
  tail: string;
  outputBytes: number;
}

export interface UndoDecision {
  type: 'undo.decision';
  step?: string;
  question: string;
  answer: string;
}

export interface UndoEnded {
  type: 'undo.ended';
  status: 'completed' | 'aborted' | 'failed' | 'paused';
  done: number;
  skipped: number;
  failed: number;
  markedDone: number;
}

/**
 * A notification sink failed (format 1.1): journaled once per sink and kind of failure
 * (`http-5xx`, `timeout`, ...), never per retry. Written by the walk's sender or `drbook notify`,
 * like a note: it says nothing about where the walk is.
 */
export interface NotifyFailed {
  type: 'notify.failed';
  sink: string;
  kind: string;
  message: string;
  /** A failure that will not go away by retrying (a bad token): the sink stopped. */
  permanent?: true;
}

export type EventBody =
  | SessionStarted
  | VarSet
  | StepStarted
  | StepFinished
  | CommandStarted
  | CommandSpawned
  | CommandFinished
  | PollStarted
  | PollAttempt
  | CommandRehearsed
  | CommandEdited
  | Decision
  | Note
  | MilestoneMarked
  | EvidenceAttached
  | SessionPaused
  | SessionResumed
  | SessionEnded
  | UndoStarted
  | UndoStep
  | UndoCommandStarted
  | UndoCommandFinished
  | UndoDecision
  | UndoEnded
  | NotifyFailed;

export type EventType = EventBody['type'];

export interface EventMeta {
  v: number;
  seq: number;
  ts: string;
  prev: string | null;
}

export type JournalEvent = EventMeta & EventBody;
export type EventOf<T extends EventType> = EventMeta & Extract<EventBody, { type: T }>;
