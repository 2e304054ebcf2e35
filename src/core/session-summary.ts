/**
 * What a session's journal says about it: its status for `drbook sessions`, and the state
 * `drbook resume` rebuilds before walking on. Pure: the caller reads the file and the lock.
 */
import type { EndStatus, EventOf, JournalEvent, Mode, StepOutcome, VarSource } from './journal-events.js';
import type { ParsedJournal } from './journal-parse.js';

export type SessionStatus = 'running' | 'paused' | 'interrupted' | 'completed' | 'aborted';

/**
 * A session drbook can take up again: paused or interrupted, and really started (a
 * kill -9 between creating the journal and its first event leaves an empty one).
 */
export function isResumable(s: Pick<SessionSummary, 'status' | 'runbook'>): boolean {
  return (s.status === 'paused' || s.status === 'interrupted') && s.runbook.id !== '';
}

/** What `resume --reopen` can take up again: a session that ended aborted. */
export function isReopenable(s: Pick<SessionSummary, 'status' | 'runbook'>): boolean {
  return s.status === 'aborted' && s.runbook.id !== '';
}

/**
 * Where the runbook of a session is now: moved by `resume --runbook` (the latest such
 * move), else where the session started.
 */
export function currentRunbookPath(events: readonly JournalEvent[], started: string): string {
  let path = started;
  for (const e of events) if (e.type === 'session.resumed' && e.runbookPath) path = e.runbookPath;
  return path;
}

export interface InFlightCommand {
  step: string;
  attempt: number;
  /** As it was run, secrets as ***. */
  command: string;
  cwd?: string;
  log?: string;
  /** From command.spawned: absent when drbook stopped before the process existed. */
  pid?: number;
  procStart?: string;
  /** Its process group (see CommandSpawned.pgid). */
  pgid?: number;
  startedAt: string;
}

export interface SessionSummary {
  id: string;
  runbook: { id: string; title: string; path: string; sha256: string };
  mode: Mode;
  status: SessionStatus;
  endStatus?: EndStatus;
  operator?: string;
  startedAt: string;
  endedAt?: string;
  lastEventAt: string;
  /** Wall time from the start to the end, or to the last event of a session not ended. */
  durationMs: number;
  steps: { total: number; done: number; skipped: number; failed: number; markedDone: number };
  /** The step that was started and not finished when the journal stops. */
  currentStep?: string;
  inFlight?: InFlightCommand;
  notes: number;
  torn: boolean;
}

export interface ReplayVar {
  name: string;
  /** As journaled: '***' for a secret, whose real value resume has to ask again. */
  value: string;
  source: VarSource;
  secret: boolean;
  step?: string;
}

export interface ReplayOutcome {
  step: string;
  index: number;
  outcome: StepOutcome;
  reason?: string;
  durationMs: number;
  at: string;
}

export interface SessionReplay {
  started?: EventOf<'session.started'>;
  /** The latest value of each var, in the order vars were first set. */
  vars: Map<string, ReplayVar>;
  /** The latest outcome of each finished step, by step id. */
  outcomes: Map<string, ReplayOutcome>;
  /**
   * 0-based index where the walk continues: the step started and not finished if there is
   * one, else the step after the last finished one, else 0. Equals the step count when all
   * are finished.
   */
  firstUnfinished: number;
  /** The highest attempt number used per step: the next attempt is this + 1. */
  attempts: Map<string, number>;
  /** The latest edited command template per step: the fix the operator made stays in use. */
  edits: Map<string, string>;
  /** A command.started with no command.finished after it: resume asks what became of it. */
  inFlight?: InFlightCommand;
  currentStep?: { step: string; index: number };
  /** The last session.ended, when nothing the driver wrote follows it. */
  ended?: EventOf<'session.ended'>;
  /** The last session.paused, when it is the last thing the driver wrote. */
  paused?: EventOf<'session.paused'>;
  /** The last event the driver wrote (notes from other terminals are not the driver's). */
  lastDriverEvent?: JournalEvent;
  lastEventAt?: string;
  notes: number;
}

export interface OutcomeCounts {
  done: number;
  skipped: number;
  failed: number;
  markedDone: number;
}

/** How many steps ended each way: the counts session.ended, sessions and resume report. */
export function countOutcomes(outcomes: Iterable<StepOutcome>): OutcomeCounts {
  const counts: OutcomeCounts = { done: 0, skipped: 0, failed: 0, markedDone: 0 };
  for (const outcome of outcomes) {
    if (outcome === 'done') counts.done++;
    else if (outcome === 'skipped') counts.skipped++;
    else if (outcome === 'failed') counts.failed++;
    else counts.markedDone++;
  }
  return counts;
}

/** Replays a journal's events in order into the state a resumed walk starts from. */
export function replaySession(parsed: Pick<ParsedJournal, 'events'>): SessionReplay {
  const replay: SessionReplay = { vars: new Map(), outcomes: new Map(), firstUnfinished: 0, attempts: new Map(), edits: new Map(), notes: 0 };
  let inFlight: InFlightCommand | undefined;
  let current: { step: string; index: number } | undefined;
  let lastFinishedIndex = -1;
  for (const event of parsed.events) {
    replay.lastEventAt = event.ts;
    // Notes come from any terminal, at any time: they say nothing about where the walk is.
    if (event.type === 'note') {
      replay.notes++;
      continue;
    }
    // An undo walks back over a session, after its end too: it does not change where the
    // walk is or how it ended (its own events say how the undo went).
    if (event.type.startsWith('undo.')) continue;
    // A notification sink's failure is journaled from the sender, during the walk or after it.
    if (event.type.startsWith('notify.')) continue;
    // So do milestones marked and evidence attached with drbook mark / attach.
    if ((event.type === 'milestone' && event.source === 'cli') || event.type === 'evidence') continue;
    replay.lastDriverEvent = event;
    switch (event.type) {
      case 'session.started':
        replay.started ??= event;
        break;
      case 'var.set':
        replay.vars.set(event.name, {
          name: event.name,
          value: event.value,
          source: event.source,
          secret: event.secret === true,
          ...(event.step === undefined ? {} : { step: event.step }),
        });
        break;
      case 'step.started':
        current = { step: event.step, index: event.index };
        break;
      case 'step.finished':
        replay.outcomes.set(event.step, {
          step: event.step,
          index: event.index,
          outcome: event.outcome,
          ...(event.reason === undefined ? {} : { reason: event.reason }),
          durationMs: event.durationMs,
          at: event.ts,
        });
        lastFinishedIndex = event.index;
        if (current?.step === event.step) current = undefined;
        if (inFlight?.step === event.step) inFlight = undefined;
        break;
      case 'command.started':
        bumpAttempt(replay.attempts, event.step, event.attempt);
        inFlight = {
          step: event.step,
          attempt: event.attempt,
          command: event.command,
          cwd: event.cwd,
          ...(event.log === undefined ? {} : { log: event.log }),
          startedAt: event.ts,
        };
        break;
      case 'command.spawned':
        if (inFlight && inFlight.step === event.step && inFlight.attempt === event.attempt) {
          inFlight.pid = event.pid;
          if (event.procStart !== undefined) inFlight.procStart = event.procStart;
          if (event.pgid !== undefined) inFlight.pgid = event.pgid;
        }
        break;
      case 'command.finished':
        bumpAttempt(replay.attempts, event.step, event.attempt);
        if (inFlight && inFlight.step === event.step && inFlight.attempt === event.attempt) inFlight = undefined;
        break;
      case 'command.edited':
        bumpAttempt(replay.attempts, event.step, event.attempt - 1);
        replay.edits.set(event.step, event.to);
        break;
      case 'session.ended':
        inFlight = undefined;
        current = undefined;
        break;
      default:
        break;
    }
  }
  const last = replay.lastDriverEvent;
  if (last?.type === 'session.ended') replay.ended = last;
  if (last?.type === 'session.paused') replay.paused = last;
  if (inFlight) replay.inFlight = inFlight;
  if (current) replay.currentStep = current;
  replay.firstUnfinished = current ? current.index : lastFinishedIndex + 1;
  return replay;
}

function bumpAttempt(attempts: Map<string, number>, step: string, attempt: number): void {
  if (attempt > (attempts.get(step) ?? 0)) attempts.set(step, attempt);
}

/**
 * The one-line view of a session. `lock` is the driver lock as read from disk: a live one
 * means some drbook is driving the session right now, whatever the journal says last.
 */
export function summarizeSession(id: string, parsed: ParsedJournal, lock: { alive: boolean } | undefined): SessionSummary {
  const replay = replaySession(parsed);
  const started = replay.started;
  const first = parsed.events[0];
  const startedAt = started?.ts ?? first?.ts ?? '';
  const lastEventAt = replay.lastEventAt ?? startedAt;
  const ended = replay.ended;

  const counts = countOutcomes([...replay.outcomes.values()].map((o) => o.outcome));

  let status: SessionStatus;
  if (lock?.alive) status = 'running';
  else if (ended) status = ended.status === 'aborted' ? 'aborted' : 'completed';
  else if (replay.paused) status = 'paused';
  else status = 'interrupted';

  const summary: SessionSummary = {
    id,
    runbook: started
      ? { id: started.runbook.id, title: started.runbook.title, path: started.runbook.path, sha256: started.runbook.sha256 }
      : { id: '', title: '', path: '', sha256: '' },
    mode: started?.mode ?? 'live',
    status,
    startedAt,
    lastEventAt,
    durationMs: ended ? ended.durationMs : Math.max(0, msBetween(startedAt, lastEventAt)),
    steps: { total: started?.runbook.steps ?? 0, ...counts },
    notes: replay.notes,
    torn: parsed.tornTail !== undefined,
  };
  if (ended) {
    summary.endStatus = ended.status;
    summary.endedAt = ended.ts;
  }
  if (started) summary.operator = `${started.operator.user}@${started.operator.host}`;
  if (replay.currentStep) summary.currentStep = replay.currentStep.step;
  else if (replay.paused?.step !== undefined) summary.currentStep = replay.paused.step;
  if (replay.inFlight) summary.inFlight = replay.inFlight;
  return summary;
}

function msBetween(from: string, to: string): number {
  const a = Date.parse(from);
  const b = Date.parse(to);
  return Number.isNaN(a) || Number.isNaN(b) ? 0 : b - a;
}
