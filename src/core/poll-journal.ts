/**
 * Reading `until:` polls from a journal. A poll is journaled as `poll.started` and one
 * `poll.attempt` per attempt; a journal written before that has each attempt as
 * `command.started`, `command.spawned` and `command.finished` with `poll`. Readers that
 * look at attempts (the export, resume's "had it succeeded?") read both through
 * asCommandEvents: the compact form seen as the three-event one, so that the same session
 * reads the same whichever drbook wrote it.
 */
import { attemptEnd, type EventBody, type EventOf, type JournalEvent } from './journal-events.js';
import type { InFlightCommand } from './session-summary.js';

/**
 * The events with each `poll.attempt` as the `command.started` (at the attempt's start),
 * `command.spawned` (with a pid) and `command.finished` (with `poll`) it stands for, each
 * carrying the attempt event's `seq`. A `poll.started` is left out, except one no attempt
 * followed: its first attempt was started, no result recorded (drbook stopped), as a
 * `command.started` alone. Journals without polls come back as they are.
 */
export function asCommandEvents(events: readonly JournalEvent[]): readonly JournalEvent[] {
  if (!events.some((e) => e.type === 'poll.started' || e.type === 'poll.attempt')) return events;
  // Which poll each attempt belongs to: the latest poll.started of its step.
  const pollOf = new Map<JournalEvent, EventOf<'poll.started'>>();
  const attempted = new Set<EventOf<'poll.started'>>();
  const latest = new Map<string, EventOf<'poll.started'>>();
  for (const e of events) {
    if (e.type === 'poll.started') latest.set(e.step, e);
    if (e.type !== 'poll.attempt') continue;
    const poll = latest.get(e.step);
    if (poll === undefined) continue;
    pollOf.set(e, poll);
    attempted.add(poll);
  }
  const out: JournalEvent[] = [];
  for (const e of events) {
    if (e.type === 'poll.started') {
      if (!attempted.has(e))
        out.push({
          ...meta(e, e.ts),
          type: 'command.started',
          step: e.step,
          attempt: e.attempt,
          command: e.command,
          cwd: e.cwd,
          ...(e.log === undefined ? {} : { log: e.log }),
        });
      continue;
    }
    if (e.type !== 'poll.attempt') {
      out.push(e);
      continue;
    }
    const poll = pollOf.get(e);
    // The first attempt started when the poll did; a later one its duration before it ended.
    const startedAt = e.pollAttempt === 1 && poll !== undefined ? poll.ts : new Date(Math.max(0, Date.parse(e.ts) - e.durationMs)).toISOString();
    out.push({
      ...meta(e, startedAt),
      type: 'command.started',
      step: e.step,
      attempt: e.attempt,
      command: poll?.command ?? '',
      cwd: poll?.cwd ?? '',
      ...(poll?.log === undefined ? {} : { log: poll.log }),
    });
    if (e.pid !== undefined) {
      out.push({
        ...meta(e, startedAt),
        type: 'command.spawned',
        step: e.step,
        attempt: e.attempt,
        pid: e.pid,
        ...(e.procStart === undefined ? {} : { procStart: e.procStart }),
        ...(e.pgid === undefined ? {} : { pgid: e.pgid }),
      });
    }
    out.push({
      ...meta(e, e.ts),
      type: 'command.finished',
      step: e.step,
      attempt: e.attempt,
      ...attemptEnd(e),
      poll: { attempt: e.pollAttempt, elapsedMs: e.elapsedMs },
    });
  }
  return out;
}

function meta(e: JournalEvent, ts: string): Pick<JournalEvent, 'v' | 'seq' | 'ts' | 'prev'> {
  return { v: e.v, seq: e.seq, ts, prev: e.prev };
}

/**
 * What resume journals for the command that was in flight when drbook stopped, once what
 * it left running has ended: its `command.finished`, or for a poll the cut attempt's one
 * `poll.attempt`. A poll cut between two attempts (no attempt known to have started: no
 * running file, nothing left running) had no attempt in progress: nothing is journaled
 * for one, and the poll's end is the resume's decision.
 */
export function inFlightEnd(inFlight: InFlightCommand, reason: string, nowMs: number, leftRunning: boolean): EventBody | undefined {
  const started = Date.parse(inFlight.startedAt);
  const durationMs = Number.isNaN(started) ? 0 : Math.max(0, nowMs - started);
  const result = { exitCode: null, signal: null, durationMs, ok: false, interrupted: true, reason, tail: '', outputBytes: 0 };
  if (inFlight.poll === undefined) return { type: 'command.finished', step: inFlight.step, attempt: inFlight.attempt, ...result };
  const ran = inFlight.poll.pollAttempt === 1 || inFlight.pid !== undefined || leftRunning;
  if (!ran) return undefined;
  const pollStarted = Date.parse(inFlight.poll.startedAt);
  return {
    type: 'poll.attempt',
    step: inFlight.step,
    attempt: inFlight.attempt,
    pollAttempt: inFlight.poll.pollAttempt,
    elapsedMs: Number.isNaN(pollStarted) ? durationMs : Math.max(0, nowMs - pollStarted),
    ...(inFlight.pid === undefined ? {} : { pid: inFlight.pid }),
    ...(inFlight.procStart === undefined ? {} : { procStart: inFlight.procStart }),
    ...(inFlight.pgid === undefined ? {} : { pgid: inFlight.pgid }),
    ...result,
  };
}
