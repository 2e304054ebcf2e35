/**
 * A session's life as drbook drives it: the events that start and resume it, what a
 * resume takes up (planResume), and the one vocabulary of its status and step counts that
 * `sessions`, `resume` and `export` all speak. Pure: the commands read the journal and the
 * lock, and append what this builds.
 */
import type { EventBody, Mode, StepOutcome } from './journal-events.js';
import type { Runbook, Step } from './model.js';
import type { SessionReplay } from './session-summary.js';
import type { VarStore } from './vars.js';

/**
 * Where a session stands. `completed`: ended with every step done, skipped or done by
 * hand; `failed`: ended with a failed step (on_failure: continue), exit 1 as an abort;
 * `aborted`: the operator or on_failure ended it; `paused`: Ctrl-C, resume continues it;
 * `interrupted`: the journal stops with no end and no pause (drbook was killed);
 * `running`: a live drbook holds its lock.
 */
export type SessionStatus = 'running' | 'paused' | 'interrupted' | 'completed' | 'failed' | 'aborted';

/** The status from the replay; `driving`: a live drbook holds the session's lock. */
export function sessionStatus(replay: Pick<SessionReplay, 'ended' | 'paused'>, driving: boolean): SessionStatus {
  if (driving) return 'running';
  if (replay.ended) return replay.ended.status;
  return replay.paused ? 'paused' : 'interrupted';
}

/** How many steps ended each way: what session.ended, undo.ended, sessions and the export count. */
export interface OutcomeCounts {
  done: number;
  skipped: number;
  failed: number;
  markedDone: number;
}

export function noOutcomes(): OutcomeCounts {
  return { done: 0, skipped: 0, failed: 0, markedDone: 0 };
}

/** Counts one more step ended with `outcome`. */
export function tally(counts: OutcomeCounts, outcome: StepOutcome): void {
  if (outcome === 'done') counts.done++;
  else if (outcome === 'skipped') counts.skipped++;
  else if (outcome === 'failed') counts.failed++;
  else counts.markedDone++;
}

export function countOutcomes(outcomes: Iterable<StepOutcome>): OutcomeCounts {
  const counts = noOutcomes();
  for (const outcome of outcomes) tally(counts, outcome);
  return counts;
}

/** Who starts a session, where and how: what session.started records. */
export interface SessionStart {
  session: string;
  runbook: Runbook;
  mode: Mode;
  operator: { user: string; host: string };
  zone: { tz: string; tzOffsetMinutes: number };
  drbook: string;
  pid: number;
  cwd: string;
  from?: string;
  runSafe: boolean;
  yes: boolean;
}

export function sessionStartedEvent(s: SessionStart): EventBody {
  const { runbook } = s;
  return {
    type: 'session.started',
    session: s.session,
    runbook: {
      id: runbook.id,
      title: runbook.title,
      path: runbook.file,
      sha256: runbook.sha256,
      steps: runbook.steps.length,
      ...(runbook.rto ? { rto: runbook.rto } : {}),
      ...(runbook.rpo ? { rpo: runbook.rpo } : {}),
      ...(runbook.recoveryPoint ? { recoveryPoint: runbook.recoveryPoint } : {}),
    },
    mode: s.mode,
    operator: s.operator,
    ...s.zone,
    drbook: s.drbook,
    pid: s.pid,
    ...(s.from ? { from: s.from } : {}),
    cwd: s.cwd,
    ...(s.runSafe ? { runSafe: true } : {}),
    ...(s.yes ? { yes: true } : {}),
  };
}

/**
 * The var.set events for the values a session holds: every one at the start; on resume,
 * those that changed since the session last ran (a secret always: it was asked again), so
 * the post-mortem's vars stay true.
 */
export function varEvents(vars: VarStore, before?: SessionReplay): EventBody[] {
  const out: EventBody[] = [];
  for (const name of vars.names()) {
    const now = vars.entry(name)!;
    const had = before?.vars.get(name);
    if (before && had !== undefined && !had.secret && !now.secret && had.value === now.value) continue;
    out.push({ type: 'var.set', name, source: now.source, ...vars.journaled(name) });
  }
  return out;
}

export interface SessionResume {
  replay: SessionReplay;
  now: Date;
  pid: number;
  runbookChanged?: { from: string; to: string };
  reopened: boolean;
  /** The runbook's new place, when it moved. */
  movedTo?: string;
}

/**
 * session.resumed. Its gap is since drbook last drove the session: notes added meanwhile
 * from other terminals do not shorten it.
 */
export function sessionResumedEvent(r: SessionResume): EventBody & { type: 'session.resumed' } {
  const since = r.replay.lastDriverEvent?.ts ?? r.replay.started?.ts ?? '';
  const gapMs = Math.max(0, r.now.getTime() - Date.parse(since)) || 0;
  return {
    type: 'session.resumed',
    gapMs,
    ...(r.replay.currentStep ? { step: r.replay.currentStep.step } : {}),
    pid: r.pid,
    ...(r.runbookChanged ? { runbookChanged: r.runbookChanged } : {}),
    ...(r.reopened ? { reopened: true as const } : {}),
    ...(r.movedTo ? { runbookPath: r.movedTo } : {}),
  };
}

/** What a resumed walk takes up from the replay. */
export interface ResumePlan {
  /** The outcome of each step finished, by id (without the one a reopen walks again). */
  finished: Map<string, StepOutcome>;
  /** Attempts already made per step: numbering goes on. */
  attempts: Map<string, number>;
  /** Reopened: the step the abort failed, walked again (its failure stays in the journal). */
  rewalked?: string;
  /** The steps with no outcome yet. */
  unfinished: Step[];
  /** The steps the walk will go through: the unfinished ones and the one walked again. */
  toWalk: Step[];
}

export function planResume(replay: SessionReplay, runbook: Runbook, options: { reopen: boolean }): ResumePlan {
  const rewalked = options.reopen ? replay.failedByTheAbort : undefined;
  const finished = new Map<string, StepOutcome>([...replay.outcomes].map(([step, o]) => [step, o.outcome]));
  if (rewalked !== undefined) finished.delete(rewalked);
  return {
    finished,
    attempts: new Map(replay.attempts),
    ...(rewalked !== undefined ? { rewalked } : {}),
    unfinished: runbook.steps.filter((step) => !replay.outcomes.has(step.id)),
    toWalk: runbook.steps.filter((step) => !replay.outcomes.has(step.id) || step.id === rewalked),
  };
}
