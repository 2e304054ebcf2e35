/**
 * What both the post-mortem and the drill history read from a session: the replay of its
 * journal (the one pass over its events, session-summary.ts) extended with what an export
 * needs besides: per-step facts, attempts, edits, times against the RTO.
 */
import { parseDuration } from '../duration.js';
import type { EventOf, JournalEvent, MilestoneName, Mode, StepOutcome } from '../journal-events.js';
import { isMilestone, milestoneMark, type MilestoneMark } from '../milestones.js';
import { asCommandEvents } from '../poll-journal.js';
import { sessionStatus, tally, type OutcomeCounts, type SessionStatus } from '../session.js';
import { replaySession } from '../session-summary.js';

export type { SessionStatus };

export interface RtoCheck {
  /** As written in the runbook: `2h`. */
  target: string;
  targetMs: number;
  /**
   * true: completed within the target; false: the target passed, finished or not; null: the
   * session did not complete (aborted, failed, still open) before the target passed.
   */
  met: boolean | null;
  /** Time to spare when met, time over when missed, time left otherwise. */
  marginMs: number;
  /** What the recovery time is counted from: the impact-started milestone when marked, else the session's start. */
  from: 'impact-started' | 'session-start';
  /** What it is counted to: the resolved milestone when marked, else the session's end (or last event). */
  to: 'resolved' | 'session-end';
  /** The recovery time measured. */
  measuredMs: number;
}

export interface StepCounts extends OutcomeCounts {
  /** Steps in the runbook when the session started. */
  total: number;
  /** Started but with no outcome recorded (the session stopped during the step). */
  unfinished: number;
  notReached: number;
}

export interface LastAttempt {
  exitCode: number | null;
  signal: string | null;
  ok: boolean;
  timedOut: boolean;
  interrupted: boolean;
}

/** @internal Raw per-step facts, before the report puts times in a zone. */
export interface StepFacts {
  step: string;
  index: number | null;
  title: string;
  outcome: StepOutcome | null;
  reason: string | null;
  startTs: string | null;
  /** When its outcome was recorded. */
  endTs: string | null;
  durationMs: number | null;
  attempts: number;
  rehearsed: boolean;
  last: LastAttempt | null;
}

/** @internal */
export interface Analysis {
  started: EventOf<'session.started'>;
  ended: EventOf<'session.ended'> | null;
  firstTs: string;
  lastTs: string;
  status: SessionStatus;
  totalMs: number;
  pausedMs: number;
  resumes: number;
  rto: RtoCheck | null;
  counts: StepCounts;
  /** In the order steps first appear. */
  steps: Map<string, StepFacts>;
  failedAttempts: EventOf<'command.finished'>[];
  /** Each attempt's command.started, by attemptKey(step, attempt). */
  commands: Map<string, EventOf<'command.started'>>;
  edits: EventOf<'command.edited'>[];
  /** Time of each step that ended done or done by hand: what the next drill compares with. */
  stepDurations: Record<string, number>;
  /** The milestone marks that count (the last of each name). */
  milestones: Map<MilestoneName, MilestoneMark>;
  /** Where the machine's clock was stepped back during the session (see clockSteps). */
  clock: ClockSteps;
}

/** A step back of the wall clock smaller than this is jitter between writers, not a clock set back. */
const CLOCK_STEP_MS = 1000;

/**
 * Where the wall clock went back between two lines of the journal (NTP stepping it, a VM
 * restored, someone setting the time). The journal's order (`seq`) is right whatever the
 * clock said; `ts` then goes back. `back`: by how much, at the first line after each step
 * back; `shift`: what each line's time needs added so that times never go back in journal
 * order (0 everywhere when the clock never went back); `backMs`: the steps back in all.
 */
export interface ClockSteps {
  back: Map<number, number>;
  shift: Map<number, number>;
  backMs: number;
}

export function clockSteps(events: readonly JournalEvent[]): ClockSteps {
  const out: ClockSteps = { back: new Map(), shift: new Map(), backMs: 0 };
  let shift = 0;
  let latest = -Infinity;
  for (const e of events) {
    const ms = Date.parse(e.ts);
    if (Number.isNaN(ms)) continue;
    if (ms + shift < latest - CLOCK_STEP_MS) {
      const back = latest - (ms + shift);
      out.back.set(e.seq, back);
      out.backMs += back;
      shift += back;
    }
    if (shift !== 0) out.shift.set(e.seq, shift);
    latest = Math.max(latest, ms + shift);
  }
  return out;
}

/** The events are not a drbook session: the first one is not session.started. */
export class NotASessionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NotASessionError';
  }
}

export function attemptKey(step: string, attempt: number): string {
  return `${step}\u0000${attempt}`;
}

/**
 * @internal `driving`: a live drbook holds the session's lock (it is running, not
 * interrupted).
 */
export function analyze(journaled: readonly JournalEvent[], driving = false): Analysis {
  // `until:` attempts read the same in the compact form and in the three-event one.
  const events = asCommandEvents(journaled);
  const first = events[0];
  if (first === undefined) throw new NotASessionError('the journal has no events');
  if (first.type !== 'session.started') throw new NotASessionError(`the journal starts with ${first.type}, not session.started`);
  const started = first;
  const last = events[events.length - 1] ?? first;

  let pausedMs = 0;
  let resumes = 0;
  const steps = new Map<string, StepFacts>();
  const failedAttempts: EventOf<'command.finished'>[] = [];
  const commands = new Map<string, EventOf<'command.started'>>();
  const edits: EventOf<'command.edited'>[] = [];
  const milestones = new Map<MilestoneName, MilestoneMark>();

  const factsOf = (step: string, index: number | null, title?: string): StepFacts => {
    let facts = steps.get(step);
    if (!facts) {
      facts = {
        step,
        index,
        title: title ?? step,
        outcome: null,
        reason: null,
        startTs: null,
        endTs: null,
        durationMs: null,
        attempts: 0,
        rehearsed: false,
        last: null,
      };
      steps.set(step, facts);
    }
    if (facts.index === null && index !== null) facts.index = index;
    if (title !== undefined) facts.title = title;
    return facts;
  };

  // The replay's pass, with what the export needs besides seen on the way.
  const replay = replaySession({ events }, (e) => {
    switch (e.type) {
      case 'step.started': {
        const facts = factsOf(e.step, e.index, e.title);
        facts.startTs ??= e.ts;
        break;
      }
      case 'step.finished': {
        const facts = factsOf(e.step, e.index, steps.get(e.step)?.startTs ? undefined : e.title);
        facts.startTs ??= e.ts;
        facts.outcome = e.outcome;
        facts.endTs = e.ts;
        facts.reason = e.reason ?? null;
        // A step run again after a resume: its time is the sum of its passes.
        facts.durationMs = (facts.durationMs ?? 0) + e.durationMs;
        break;
      }
      case 'command.started':
        factsOf(e.step, null).attempts++;
        commands.set(attemptKey(e.step, e.attempt), e);
        break;
      case 'command.finished': {
        const facts = factsOf(e.step, null);
        facts.last = { exitCode: e.exitCode, signal: e.signal, ok: e.ok, timedOut: e.timedOut === true, interrupted: e.interrupted === true };
        if (!e.ok) failedAttempts.push(e);
        break;
      }
      case 'command.rehearsed':
        factsOf(e.step, null).rehearsed = true;
        break;
      case 'command.edited':
        edits.push(e);
        break;
      case 'session.resumed':
        resumes++;
        pausedMs += Math.max(0, e.gapMs);
        break;
      case 'milestone':
        if (isMilestone(e.milestone)) milestones.set(e.milestone, milestoneMark(e, milestones.get(e.milestone)));
        break;
      default:
        break;
    }
  });
  const ended = replay.ended ?? null;

  const counts: StepCounts = { total: started.runbook.steps, done: 0, skipped: 0, failed: 0, markedDone: 0, unfinished: 0, notReached: 0 };
  const stepDurations: Record<string, number> = {};
  for (const facts of steps.values()) {
    if (facts.outcome === null) counts.unfinished++;
    else tally(counts, facts.outcome);
    if ((facts.outcome === 'done' || facts.outcome === 'marked-done') && facts.durationMs !== null) stepDurations[facts.step] = facts.durationMs;
  }
  counts.notReached = Math.max(0, counts.total - steps.size);

  const endTs = ended?.ts ?? last.ts;
  // A clock set back during the session does not take its time off the total.
  const clock = clockSteps(journaled);
  const endSeq = ended?.seq ?? last.seq;
  let backBeforeEnd = 0;
  for (const [seq, back] of clock.back) if (seq <= endSeq) backBeforeEnd += back;
  const totalMs = Math.max(0, Date.parse(endTs) - Date.parse(first.ts) + backBeforeEnd);
  const status = sessionStatus(replay, driving);
  const impact = milestones.get('impact-started');
  const resolved = milestones.get('resolved');
  const recoveryStart = impact === undefined ? Date.parse(first.ts) : Date.parse(impact.at);
  const recoveryEnd = resolved === undefined ? Date.parse(endTs) : Date.parse(resolved.at);
  return {
    started,
    ended,
    firstTs: first.ts,
    lastTs: last.ts,
    status,
    totalMs,
    pausedMs,
    resumes,
    rto: checkRto(started.runbook.rto, Math.max(0, recoveryEnd - recoveryStart), status === 'completed' || resolved !== undefined, {
      from: impact === undefined ? 'session-start' : 'impact-started',
      to: resolved === undefined ? 'session-end' : 'resolved',
    }),
    counts,
    steps,
    failedAttempts,
    commands,
    edits,
    stepDurations,
    milestones,
    clock,
  };
}

/**
 * What the drill history shows of one session, and what a later export compares step
 * times with. (`drbook sessions` reads the lighter summary of the same replay, core/session-summary.ts.)
 */
export interface DrillSummary {
  session: string;
  runbook: { id: string; title: string; path: string; sha256: string; rto: string | null };
  mode: Mode;
  /** Started with --yes: its step times are a script's, not a person's. */
  yes: boolean;
  operator: string;
  timeZone: string;
  /** The zone's offset when the session started, as recorded: stands in for a zone Intl does not know. */
  timeZoneOffsetMinutes: number;
  /** ISO UTC of the first event. */
  start: string;
  /** ISO UTC of session.ended, null when the session did not finish. */
  end: string | null;
  status: SessionStatus;
  totalMs: number;
  pausedMs: number;
  rto: RtoCheck | null;
  steps: StepCounts;
  /** Command attempts that failed, including ones retried with success. */
  failedAttempts: number;
  /** Steps whose outcome is failed. */
  failedSteps: string[];
  editedCommands: number;
  stepDurations: Record<string, number>;
}

/**
 * A session's summary. Strings here are not redacted: a summary never carries command
 * text, output or notes, only ids, titles and numbers.
 */
export function summarizeDrill(events: readonly JournalEvent[], driving = false): DrillSummary {
  const a = analyze(events, driving);
  return {
    session: a.started.session,
    runbook: {
      id: a.started.runbook.id,
      title: a.started.runbook.title,
      path: a.started.runbook.path,
      sha256: a.started.runbook.sha256,
      rto: a.started.runbook.rto ?? null,
    },
    mode: a.started.mode,
    yes: a.started.yes === true,
    operator: `${a.started.operator.user}@${a.started.operator.host}`,
    timeZone: a.started.tz,
    timeZoneOffsetMinutes: a.started.tzOffsetMinutes,
    start: a.firstTs,
    end: a.ended?.ts ?? null,
    status: a.status,
    totalMs: a.totalMs,
    pausedMs: a.pausedMs,
    rto: a.rto,
    steps: a.counts,
    failedAttempts: a.failedAttempts.length,
    failedSteps: [...a.steps.values()].filter((s) => s.outcome === 'failed').map((s) => s.step),
    editedCommands: a.edits.length,
    stepDurations: a.stepDurations,
  };
}

/** The RTO check: met only by a completed session within the target. */
export function checkRto(
  rto: string | undefined,
  totalMs: number,
  completed: boolean,
  span: Pick<RtoCheck, 'from' | 'to'> = { from: 'session-start', to: 'session-end' },
): RtoCheck | null {
  if (rto === undefined) return null;
  const targetMs = parseDuration(rto);
  if (targetMs === undefined) return null;
  if (totalMs > targetMs) return { target: rto, targetMs, met: false, marginMs: totalMs - targetMs, ...span, measuredMs: totalMs };
  return { target: rto, targetMs, met: completed ? true : null, marginMs: targetMs - totalMs, ...span, measuredMs: totalMs };
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  if (sorted.length % 2 === 1) return sorted[mid] ?? 0;
  return ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}
