/**
 * An `until:` poll in the walk: the command run again every interval until it succeeds or
 * the timeout passes. Journaled compactly: `poll.started` once, before the first attempt's
 * process exists (the start is on disk before anything runs), then one `poll.attempt` per
 * attempt when it ends, with its exit code, duration, pid and group, and whether the poll
 * goes on. An attempt in progress has no event: while it runs, a file beside the poll's
 * log names its process (CommandRequest.markRunning), which is where `resume` looks for
 * one drbook left running. docs/journal.md says why.
 */
import { formatDuration } from './duration.js';
import { plural } from './plural.js';
import { attemptEnd, type CommandFinished, type CommandStarted, type Decision, type PollAttempt, type PollStarted } from './journal-events.js';
import type { Step } from './model.js';
import type { Clock, CommandRequest, CommandResult, PollWait, StepView, Ui } from './ports.js';

type Started = Omit<CommandStarted, 'type'>;
type Finished = Omit<CommandFinished, 'type' | 'poll'>;

/** What the engine does after a failed attempt: try again, or go on to the failure handling with this reason. */
export type AfterFailure = 'again' | { failure: string; stoppedWaiting: boolean };

export class PollRun {
  /** Attempts made in this poll. */
  private count = 0;
  /** When the first attempt started (monotonic). */
  private startedAt: number | undefined;
  private spawned: { pid: number; procStart?: string; pgid?: number } | undefined;
  /** The last attempt's wait, and whether a failure of it could have been waited on. */
  private last: { nextInMs?: number; leftMs: number; elapsedMs: number; couldWait: boolean } | undefined;

  constructor(
    private readonly spec: NonNullable<Step['poll']>,
    private readonly clock: Clock,
    /** The step's attempt number of the poll's first attempt: the poll's log is named after it. */
    readonly firstAttempt: number,
  ) {}

  /** Before an attempt: the poll's one `poll.started` for the first, nothing for the next ones. */
  begin(started: Started): PollStarted | undefined {
    this.count++;
    this.spawned = undefined;
    if (this.startedAt !== undefined) return undefined;
    this.startedAt = this.clock.monotonic();
    return { type: 'poll.started', ...started, intervalMs: this.spec.intervalMs, timeoutMs: this.spec.timeoutMs };
  }

  /**
   * What the executor is asked for each attempt: one log for the poll, rewritten by each
   * attempt (the last one in full); the running file; the pid kept for the attempt's event.
   */
  request(hasLog: boolean): Pick<CommandRequest, 'replaceLog' | 'markRunning' | 'onSpawn'> {
    return {
      ...(hasLog && this.count > 1 ? { replaceLog: true } : {}),
      ...(hasLog ? { markRunning: true } : {}),
      onSpawn: (pid, procStart, pgid) => {
        this.spawned = { pid, ...(procStart ? { procStart } : {}), ...(pgid !== undefined ? { pgid } : {}) };
      },
    };
  }

  /**
   * The attempt's one event. `couldWait`: it failed in a way a later attempt may fix (not a
   * Ctrl-C, a start failure or drbook being stopped); then the poll goes on while time is left.
   */
  end(finished: Finished, couldWait: boolean): PollAttempt {
    const elapsedMs = this.clock.monotonic() - (this.startedAt ?? this.clock.monotonic());
    const leftMs = this.spec.timeoutMs - elapsedMs;
    const nextInMs = couldWait && leftMs > 0 ? Math.min(this.spec.intervalMs, leftMs) : undefined;
    this.last = { leftMs, elapsedMs, couldWait, ...(nextInMs === undefined ? {} : { nextInMs }) };
    return {
      type: 'poll.attempt',
      step: finished.step,
      attempt: finished.attempt,
      pollAttempt: this.count,
      elapsedMs: Math.round(elapsedMs),
      ...this.spawned,
      ...attemptEnd(finished),
      ...(nextInMs === undefined ? {} : { nextInMs: Math.round(nextInMs) }),
    };
  }

  /**
   * After a failed attempt: the countdown to the next one while drbook owns the terminal
   * ('again' when it elapsed), or the failure the step's menu shows: stopped by Ctrl-C
   * (journaled as a decision), or still failing at the timeout.
   */
  async afterFailure(ui: Ui, journal: (event: Decision) => void, step: Step, view: StepView, failure: string, lastLine: string): Promise<AfterFailure> {
    const last = this.last;
    if (last === undefined || !last.couldWait) return { failure, stoppedWaiting: false };
    if (last.nextInMs === undefined) {
      const timeout = step.until?.timeout ?? formatDuration(this.spec.timeoutMs);
      return {
        failure: `still failing after ${plural(this.count, 'attempt')} in ${formatDuration(last.elapsedMs)} (until timeout ${timeout}): ${failure}`,
        stoppedWaiting: false,
      };
    }
    const wait: PollWait = { attempt: this.count, waitMs: last.nextInMs, leftMs: last.leftMs, reason: failure, lastLine };
    if ((await ui.waitUntil(view, wait)) === 'elapsed') return 'again';
    journal({
      type: 'decision',
      step: step.id,
      question: `Waiting for the next attempt (${this.count} so far): keep waiting?`,
      answer: 'stopped waiting (Ctrl-C)',
    });
    const elapsed = this.clock.monotonic() - (this.startedAt ?? this.clock.monotonic());
    return { failure: `stopped waiting (Ctrl-C) after ${plural(this.count, 'attempt')} in ${formatDuration(elapsed)}: ${failure}`, stoppedWaiting: true };
  }
}

/** Whether a failed attempt is one the next attempt of a poll may fix. */
export function pollCanWait(result: CommandResult): boolean {
  return !result.interrupted && result.spawnError === undefined && result.stoppedBy === undefined;
}
