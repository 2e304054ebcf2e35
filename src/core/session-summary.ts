/**
 * What a session's journal says about it: its status for `drbook sessions`, and the state
 * `drbook resume` rebuilds before walking on. replaySession is the one pass over a
 * session's events; the export extends it (export/summary.ts). Pure: the caller reads the
 * file and the lock.
 */
import { IN_FLIGHT_QUESTION, type EndStatus, type EventOf, type JournalEvent, type Mode, type StepOutcome, type VarSource } from './journal-events.js';
import { journalShapeProblem, type ParsedJournal } from './journal-parse.js';
import { countOutcomes, sessionStatus, type OutcomeCounts, type SessionStatus } from './session.js';

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
  /**
   * An `until:` poll that drbook stopped during: `attempt` is the one that was running, or
   * that the poll was waiting to start (the journal cannot tell which: the running file
   * beside the log, or what is left running, can). The first attempt surely was started.
   */
  poll?: { pollAttempt: number; startedAt: string };
  /**
   * A resume already journaled how it ended (exit code unknown: waited for, stopped, or
   * gone), then was left before the operator said whether it completed (Ctrl-C at the
   * question, a kill, `--yes` on a step not idempotent). Until a `decision` answers that, the
   * command stays in flight: every later resume asks the same question, and nothing runs.
   */
  ended?: { at: string; reason?: string };
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
  steps: OutcomeCounts & { total: number };
  /** The step that was started and not finished when the journal stops. */
  currentStep?: string;
  inFlight?: InFlightCommand;
  notes: number;
  torn: boolean;
  /**
   * Why the journal was not written whole by drbook (a line reordered, duplicated or cut
   * from the start), by the cheap check verify, resume and export refuse it by; absent when whole.
   */
  notWhole?: string;
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
  /** Of its step.finished: the order steps finished in. */
  seq: number;
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
  /** Steps whose undo was done (by drbook or by hand) since they last finished. */
  undone: Set<string>;
  /** The highest undo attempt number used per step, so log names do not collide. */
  undoAttempts: Map<string, number>;
  /** A command.started with no command.finished after it: resume asks what became of it. */
  inFlight?: InFlightCommand;
  currentStep?: CurrentStep;
  /**
   * Where the runbook is now: moved by `resume --runbook` (the latest such move), else
   * where the session started.
   */
  runbookPath?: string;
  /** The pid of the drbook that drove the session last (the latest session.started or session.resumed). */
  driverPid?: number;
  /** The step whose failure ended the session aborted, when an abort ended it over a failed step. */
  failedByTheAbort?: string;
  /** The last session.ended, when nothing the driver wrote follows it. */
  ended?: EventOf<'session.ended'>;
  /** The last session.paused, when it is the last thing the driver wrote. */
  paused?: EventOf<'session.paused'>;
  /** The last event the driver wrote (notes from other terminals are not the driver's). */
  lastDriverEvent?: JournalEvent;
  lastEventAt?: string;
  notes: number;
}

/** The step started and not finished when the journal stops. */
export interface CurrentStep {
  step: string;
  index: number;
  /** When its (latest) step.started was written. */
  startedAt: string;
  /**
   * What the walk wrote for it since: its decisions, commands, vars, an undo walked over
   * it (notes, milestones, evidence, pauses and resumes left out). Resume reads from
   * these whether the step's work was done before drbook stopped.
   */
  since: JournalEvent[];
}

/**
 * Replays a journal's events in order into the state a resumed walk starts from: the one
 * pass over a session's events. `visit` sees every event in the same pass, for a reader
 * that needs more than the replay keeps (the export).
 */
export function replaySession(parsed: { readonly events: readonly JournalEvent[] }, visit?: (event: JournalEvent) => void): SessionReplay {
  const replay: SessionReplay = {
    vars: new Map(),
    outcomes: new Map(),
    firstUnfinished: 0,
    attempts: new Map(),
    edits: new Map(),
    undone: new Set(),
    undoAttempts: new Map(),
    notes: 0,
  };
  let inFlight: InFlightCommand | undefined;
  let current: CurrentStep | undefined;
  let lastFinishedIndex = -1;
  // A poll left open by a stop, now being settled by a resume: its questions do not end it.
  let pollResumed = false;
  // The command in flight when a resume began: its end, journaled by that resume, leaves it
  // in flight until the answer to IN_FLIGHT_QUESTION.
  let settling = false;
  let failedByTheAbort: string | undefined;
  for (const event of parsed.events) {
    visit?.(event);
    replay.lastEventAt = event.ts;
    // Notes come from any terminal, at any time: they say nothing about where the walk is.
    if (event.type === 'note') {
      replay.notes++;
      continue;
    }
    // An undo walks back over a session, after its end too: it does not change where the
    // walk is or how it ended (its own events say how the undo went). Over a step left
    // unfinished, it does mean that step's work is not simply done.
    if (event.type.startsWith('undo.')) {
      current?.since.push(event);
      if (event.type === 'undo.step' && (event.outcome === 'done' || event.outcome === 'marked-done')) replay.undone.add(event.step);
      if (event.type === 'undo.command.started') bumpAttempt(replay.undoAttempts, event.step, event.attempt);
      continue;
    }
    // A notification sink's failure is journaled from the sender, during the walk or after it.
    if (event.type.startsWith('notify.')) continue;
    // So do milestones marked and evidence attached with drbook mark / attach.
    if ((event.type === 'milestone' && event.source === 'cli') || event.type === 'evidence') continue;
    replay.lastDriverEvent = event;
    if (current && event.type !== 'step.started' && event.type !== 'milestone' && event.type !== 'session.resumed' && event.type !== 'session.paused')
      current.since.push(event);
    switch (event.type) {
      case 'session.started':
        replay.started ??= event;
        replay.runbookPath ??= event.runbook.path;
        replay.driverPid = event.pid;
        break;
      case 'session.resumed':
        replay.driverPid = event.pid;
        if (event.runbookPath) replay.runbookPath = event.runbookPath;
        if (inFlight?.poll) pollResumed = true;
        if (inFlight) settling = true;
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
        current = { step: event.step, index: event.index, startedAt: event.ts, since: [] };
        failedByTheAbort = undefined;
        break;
      case 'step.finished':
        // Done again after an undo: undoable again.
        replay.undone.delete(event.step);
        replay.outcomes.set(event.step, {
          step: event.step,
          index: event.index,
          seq: event.seq,
          outcome: event.outcome,
          ...(event.reason === undefined ? {} : { reason: event.reason }),
          durationMs: event.durationMs,
          at: event.ts,
        });
        lastFinishedIndex = event.index;
        failedByTheAbort = event.outcome === 'failed' ? event.step : undefined;
        if (current?.step === event.step) current = undefined;
        if (inFlight?.step === event.step) inFlight = undefined;
        break;
      case 'command.started':
        bumpAttempt(replay.attempts, event.step, event.attempt);
        inFlight = startedCommand(event);
        settling = false;
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
        if (inFlight && inFlight.step === event.step && inFlight.attempt === event.attempt) inFlight = settling ? settledEnd(inFlight, event) : undefined;
        break;
      case 'poll.started':
        inFlight = { ...startedCommand(event), poll: { pollAttempt: 1, startedAt: event.ts } };
        pollResumed = false;
        settling = false;
        break;
      case 'poll.attempt':
        bumpAttempt(replay.attempts, event.step, event.attempt);
        if (inFlight?.poll && inFlight.step === event.step && settling && event.nextInMs === undefined) {
          // The cut attempt, closed by a resume before its question was answered.
          inFlight = settledEnd(inFlight, event);
        } else if (inFlight?.poll && inFlight.step === event.step) {
          // Going on: the next attempt is in flight from here (it may not have started yet).
          const { pid: _pid, procStart: _start, pgid: _pgid, ...open } = inFlight;
          inFlight =
            event.nextInMs === undefined
              ? undefined
              : { ...open, attempt: event.attempt + 1, startedAt: event.ts, poll: { ...inFlight.poll, pollAttempt: event.pollAttempt + 1 } };
        }
        break;
      case 'decision':
        // Ctrl-C during the wait ended the poll (the only question of a walk while one is open).
        if (inFlight?.poll && inFlight.step === event.step && !pollResumed) inFlight = undefined;
        // The operator (or --yes, for an idempotent step) said what became of the cut command.
        if (inFlight && settling && inFlight.step === event.step && event.question === IN_FLIGHT_QUESTION) {
          inFlight = undefined;
          settling = false;
        }
        break;
      case 'command.edited':
        bumpAttempt(replay.attempts, event.step, event.attempt - 1);
        replay.edits.set(event.step, event.to);
        break;
      case 'session.ended':
        inFlight = undefined;
        settling = false;
        current = undefined;
        if (event.status !== 'aborted') failedByTheAbort = undefined;
        break;
      default:
        break;
    }
  }
  const last = replay.lastDriverEvent;
  if (last?.type === 'session.ended') replay.ended = last;
  if (last?.type === 'session.paused') replay.paused = last;
  if (inFlight) replay.inFlight = inFlight;
  // The attempt a cut poll may have been running keeps its number: the next one is new.
  if (inFlight?.poll) bumpAttempt(replay.attempts, inFlight.step, inFlight.attempt);
  if (failedByTheAbort !== undefined) replay.failedByTheAbort = failedByTheAbort;
  if (current) replay.currentStep = current;
  replay.firstUnfinished = current ? current.index : lastFinishedIndex + 1;
  return replay;
}

/** The command still in flight, its end journaled by a resume whose question was not answered. */
function settledEnd(inFlight: InFlightCommand, end: EventOf<'command.finished'> | EventOf<'poll.attempt'>): InFlightCommand {
  return { ...inFlight, ended: { at: end.ts, ...(end.reason === undefined ? {} : { reason: end.reason }) } };
}

/** The command a `command.started` or `poll.started` puts in flight. */
function startedCommand(event: EventOf<'command.started'> | EventOf<'poll.started'>): InFlightCommand {
  return {
    step: event.step,
    attempt: event.attempt,
    command: event.command,
    cwd: event.cwd,
    ...(event.log === undefined ? {} : { log: event.log }),
    startedAt: event.ts,
  };
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

  const status = sessionStatus(replay, lock?.alive === true);

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
  const problem = journalShapeProblem(parsed);
  if (problem !== undefined && parsed.events.length > 0) summary.notWhole = problem.reason;
  return summary;
}

function msBetween(from: string, to: string): number {
  const a = Date.parse(from);
  const b = Date.parse(to);
  return Number.isNaN(a) || Number.isNaN(b) ? 0 : b - a;
}
