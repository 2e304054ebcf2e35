/**
 * Reading `until:` polls: the compact form (poll.started, one poll.attempt per attempt) and
 * the three-event form of older journals (test/fixtures/until, as that drbook wrote them)
 * read alike by the export, resume's replay and verify; what a cut poll looks like to
 * resume; the running file that names an attempt in progress.
 */
import { mkdtempSync, readFileSync, rmSync, statSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildReport, renderJson, renderMarkdown } from '../src/core/export/index.js';
import type { JournalEvent } from '../src/core/journal-events.js';
import { hashLine, journalShapeProblem, parseJournal, verifyChain } from '../src/core/journal-parse.js';
import { asCommandEvents, inFlightEnd } from '../src/core/poll-journal.js';
import type { CommandRequest } from '../src/core/ports.js';
import { Redactor } from '../src/core/redact.js';
import { replaySession, summarizeSession } from '../src/core/session-summary.js';
import { markingRunning, readRunning, runningFileFor, withRunningFile } from '../src/adapters/running-file.js';
import { FIXTURES } from './helpers/run-cli.js';
import { result } from './helpers/fakes.js';

const UNTIL = join(FIXTURES, 'until');
const fixture = (name: string) => parseJournal(readFileSync(join(UNTIL, name), 'utf8'));
const temps: string[] = [];
afterAll(() => {
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
});

/** The events again as lines with seq 1..n and a fresh hash chain: what a writer would have written. */
function rechain(events: readonly Record<string, unknown>[]): { events: JournalEvent[]; lines: string[] } {
  const lines: string[] = [];
  let prev: string | null = null;
  events.forEach((e, i) => {
    const line = JSON.stringify({ ...e, seq: i + 1, prev });
    lines.push(line);
    prev = hashLine(line);
  });
  return { events: lines.map((l) => JSON.parse(l) as JournalEvent), lines };
}

/**
 * The same session in the compact form: each poll's first command.started becomes its
 * poll.started, each attempt's command.finished its poll.attempt (pid from command.spawned).
 */
function compact(events: readonly JournalEvent[], spec: { intervalMs: number; timeoutMs: number }): { events: JournalEvent[]; lines: string[] } {
  const out: Record<string, unknown>[] = [];
  const spawned = new Map<string, JournalEvent>();
  events.forEach((e, i) => {
    const { seq: _seq, prev: _prev, ...rest } = e;
    if (e.type === 'command.spawned') {
      spawned.set(`${e.step}/${e.attempt}`, e);
      const finished = events.find((f) => f.type === 'command.finished' && f.step === e.step && f.attempt === e.attempt);
      if (finished?.type === 'command.finished' && finished.poll) return;
    }
    if (e.type === 'command.started') {
      const finished = events.slice(i).find((f) => f.type === 'command.finished' && f.step === e.step && f.attempt === e.attempt);
      if (finished?.type !== 'command.finished' || !finished.poll) return void out.push(rest);
      if (finished.poll.attempt === 1) out.push({ ...rest, type: 'poll.started', ...spec });
      return;
    }
    if (e.type === 'command.finished' && e.poll) {
      const { poll, type: _type, ...result } = e as JournalEvent & { type: 'command.finished' };
      const pid = spawned.get(`${e.step}/${e.attempt}`);
      const next = events.slice(i + 1).find((f) => f.type === 'command.started' && f.step === e.step);
      const goesOn =
        !e.ok &&
        next !== undefined &&
        events
          .slice(i + 1)
          .find(
            (f) =>
              f.type === 'command.finished' &&
              f.step === e.step &&
              f.type === 'command.finished' &&
              f.poll !== undefined &&
              f.poll.attempt === poll!.attempt + 1,
          );
      out.push({
        ...result,
        type: 'poll.attempt',
        pollAttempt: poll!.attempt,
        elapsedMs: poll!.elapsedMs,
        ...(pid?.type === 'command.spawned' ? { pid: pid.pid, procStart: pid.procStart, pgid: pid.pgid } : {}),
        ...(goesOn ? { nextInMs: spec.intervalMs } : {}),
      });
      return;
    }
    out.push(rest);
  });
  return rechain(out);
}

/** The journal cut after its n-th event, as a kill -9 there leaves it. */
const upTo = (events: readonly JournalEvent[], n: number) => ({ events: events.slice(0, n) });

describe('journals in the three-event form (before one event per attempt)', () => {
  it('are exported exactly as the drbook that wrote them exported them', () => {
    const journal = fixture('three-events.jsonl');
    const report = buildReport(journal, { timeZone: 'UTC' });
    expect(renderMarkdown(report)).toBe(readFileSync(join(UNTIL, 'three-events.export.md'), 'utf8'));
    expect(renderJson(report)).toBe(readFileSync(join(UNTIL, 'three-events.export.json'), 'utf8'));
  });

  it('verify: the chain holds and the shape is a session', () => {
    for (const name of ['three-events.jsonl', 'three-events-cut.jsonl']) {
      const journal = fixture(name);
      expect(verifyChain(journal).ok, name).toBe(true);
      expect(journalShapeProblem(journal), name).toBeUndefined();
    }
  });

  it('a cut attempt is in flight for resume and sessions: the pid of its command.spawned, no poll', () => {
    const journal = fixture('three-events-cut.jsonl');
    const replay = replaySession(journal);
    expect(replay.inFlight).toMatchObject({ step: 'wait-flag', attempt: 2, pid: 4500003 });
    expect(replay.inFlight).not.toHaveProperty('poll');
    expect(replay.attempts.get('wait-flag')).toBe(2);
    expect(summarizeSession('s', journal, undefined)).toMatchObject({ status: 'interrupted', currentStep: 'wait-flag', inFlight: { attempt: 2 } });
    // What resume journals for it once it is over: a command.finished, as before.
    expect(
      inFlightEnd(replay.inFlight!, 'drbook stopped while it ran; its exit code is unknown', Date.parse(replay.inFlight!.startedAt) + 500, false),
    ).toMatchObject({
      type: 'command.finished',
      attempt: 2,
      exitCode: null,
      interrupted: true,
      durationMs: 500,
    });
  });
});

describe('the compact form', () => {
  const legacy = fixture('three-events.jsonl');
  const converted = compact(legacy.events, { intervalMs: 1000, timeoutMs: 60_000 });

  it('is 3 attempts in 4 events where the three-event form took 9, and its chain holds', () => {
    const count = (events: readonly JournalEvent[]) => events.filter((e) => 'step' in e && e.step === 'wait-flag' && e.type.match(/^(command|poll)\./)).length;
    expect(count(legacy.events)).toBe(9);
    expect(count(converted.events)).toBe(4);
    expect(verifyChain(converted).ok).toBe(true);
    expect(
      converted.events.filter((e) => e.type === 'poll.attempt').map((e) => (e.type === 'poll.attempt' ? [e.attempt, e.pollAttempt, e.nextInMs ?? null] : [])),
    ).toEqual([
      [1, 1, 1000],
      [2, 2, 1000],
      [3, 3, null],
    ]);
  });

  it('exports as the same session did in the three-event form: "succeeded on attempt 3 after 2.1s"', () => {
    const journalLine = /^- \*\*Journal:\*\*.*$/m;
    const before = renderMarkdown(buildReport(legacy, { timeZone: 'UTC' })).replace(journalLine, '');
    const after = renderMarkdown(buildReport(converted, { timeZone: 'UTC' })).replace(journalLine, '');
    expect(after).toBe(before);
    expect(after).toContain('(attempt 3): exit 0 after 0.0s, succeeded on attempt 3 after 2.1s');
  });

  it('reads as the three-event form to the readers of attempts', () => {
    const seen = asCommandEvents(converted.events).filter((e) => 'step' in e && e.step === 'wait-flag' && e.type.startsWith('command.'));
    const want = legacy.events.filter((e) => 'step' in e && e.step === 'wait-flag' && e.type.startsWith('command.'));
    const shape = (e: JournalEvent) => {
      const { v: _v, seq: _seq, ts: _ts, prev: _prev, ...body } = e;
      return body;
    };
    expect(seen.map(shape)).toEqual(want.map(shape));
    // A journal without polls is read as it is.
    const plain = fixture('three-events-cut.jsonl').events.filter((e) => !('step' in e) || e.step !== 'wait-flag');
    expect(asCommandEvents(plain)).toBe(plain);
  });

  it('a poll cut by a stop is in flight: the attempt running or awaited, its number kept', () => {
    const events = converted.events;
    const at = (type: string, n = 1) => events.findIndex((e, i) => e.type === type && events.slice(0, i + 1).filter((f) => f.type === type).length === n) + 1;
    // Cut in the first attempt: it surely started (poll.started is written before the process).
    const first = replaySession(upTo(events, at('poll.started')));
    expect(first.inFlight).toMatchObject({ step: 'wait-flag', attempt: 1, poll: { pollAttempt: 1 }, log: '02-wait-flag.log' });
    expect(first.attempts.get('wait-flag')).toBe(1);
    expect(inFlightEnd(first.inFlight!, 'r', Date.parse(first.inFlight!.startedAt) + 10, false)).toMatchObject({
      type: 'poll.attempt',
      attempt: 1,
      pollAttempt: 1,
      elapsedMs: 10,
      interrupted: true,
      exitCode: null,
    });
    // Cut after attempt 1 said the poll goes on: attempt 2 running, or awaited.
    const second = replaySession(upTo(events, at('poll.attempt')));
    expect(second.inFlight).toMatchObject({ attempt: 2, poll: { pollAttempt: 2 }, startedAt: events[at('poll.attempt') - 1]!.ts });
    expect(second.inFlight).not.toHaveProperty('pid');
    expect(second.attempts.get('wait-flag')).toBe(2);
    // Nothing says attempt 2 started: no event for it, and the poll ends with the resume's decision.
    expect(inFlightEnd(second.inFlight!, 'r', Date.now(), false)).toBeUndefined();
    // With its running file, or something of it left running, it did.
    expect(inFlightEnd({ ...second.inFlight!, pid: 77, pgid: 70 }, 'r', Date.now(), false)).toMatchObject({
      type: 'poll.attempt',
      attempt: 2,
      pollAttempt: 2,
      pid: 77,
      pgid: 70,
    });
    expect(inFlightEnd(second.inFlight!, 'r', Date.now(), true)).toMatchObject({ type: 'poll.attempt', attempt: 2 });
    // The last attempt ended the poll: nothing in flight, the step finished.
    expect(replaySession(upTo(events, at('poll.attempt', 3))).inFlight).toBeUndefined();
    expect(summarizeSession('s', { ...upTo(events, at('poll.attempt')), lines: [], bad: [] }, undefined)).toMatchObject({
      status: 'interrupted',
      currentStep: 'wait-flag',
      inFlight: { attempt: 2, poll: { pollAttempt: 2 } },
    });
  });

  it('a resume settling a cut poll keeps it open until its outcome; a walk decision (Ctrl-C in the wait) ends it', () => {
    const events = converted.events.slice(0, converted.events.findIndex((e) => e.type === 'poll.attempt') + 1);
    const meta = (e: Record<string, unknown>) => ({ v: 1, seq: 0, ts: '2026-12-05T21:20:00.000Z', prev: null, ...e }) as unknown as JournalEvent;
    const ctrlC = meta({
      type: 'decision',
      step: 'wait-flag',
      question: 'Waiting for the next attempt (1 so far): keep waiting?',
      answer: 'stopped waiting (Ctrl-C)',
    });
    expect(replaySession({ events: [...events, ctrlC] }).inFlight).toBeUndefined();
    const resumed = meta({ type: 'session.resumed', gapMs: 1000, step: 'wait-flag', pid: 9 });
    const wait = meta({ type: 'decision', step: 'wait-flag', question: 'Command still running (pid 77): wait for it?', answer: 'wait' });
    expect(replaySession({ events: [...events, resumed, wait] }).inFlight).toMatchObject({ attempt: 2, poll: { pollAttempt: 2 } });
    const again = meta({
      type: 'decision',
      step: 'wait-flag',
      question: 'The command was in flight when drbook stopped: did it complete?',
      answer: 'run it again',
    });
    const poll = meta({ type: 'poll.started', step: 'wait-flag', attempt: 3, command: 'check', cwd: '/w', intervalMs: 1000, timeoutMs: 60_000 });
    const replay = replaySession({ events: [...events, resumed, again, poll] });
    expect(replay.inFlight).toMatchObject({ attempt: 3, poll: { pollAttempt: 1 }, command: 'check' });
  });
});

describe('the running file of a poll attempt', () => {
  const dir = mkdtempSync(join(tmpdir(), 'drbook-running-'));
  temps.push(dir);
  const log = join(dir, '02-wait-flag.log');

  it('names the process while it runs (0600), and is gone when it ended', async () => {
    const seen: { record: ReturnType<typeof readRunning>; mode: number }[] = [];
    // The caller hears of the process once the file names it.
    const spawned: [number, boolean][] = [];
    const executor = markingRunning({
      run: async (request: CommandRequest) => {
        request.onSpawn?.(4321, '9876', 4300);
        seen.push({ record: readRunning(runningFileFor(request.logFile!)), mode: statSync(runningFileFor(request.logFile!)).mode & 0o777 });
        return result({ exitCode: 1 });
      },
    });
    const request = {
      step: 'wait-flag',
      attempt: 2,
      command: 'check',
      shell: 'bash',
      cwd: dir,
      env: {},
      logFile: log,
      markRunning: true,
      redactor: new Redactor(),
      onSpawn: (pid: number) => void spawned.push([pid, existsSync(runningFileFor(log))]),
    } satisfies CommandRequest;
    expect((await executor.run(request)).exitCode).toBe(1);
    expect(runningFileFor(log)).toBe(join(dir, '02-wait-flag.running'));
    expect(seen).toEqual([{ record: { step: 'wait-flag', attempt: 2, pid: 4321, procStart: '9876', pgid: 4300, startedAt: expect.any(String) }, mode: 0o600 }]);
    expect(spawned).toEqual([[4321, true]]);
    expect(existsSync(runningFileFor(log))).toBe(false);
    // A request that does not ask for one gets none.
    const plain = markingRunning({ run: async (r: CommandRequest) => (r.onSpawn?.(1, undefined), result()) });
    await plain.run({ ...request, markRunning: false });
    expect(existsSync(runningFileFor(log))).toBe(false);
  });

  it('fills a cut poll with the pid of the attempt it names, and only that attempt', async () => {
    const inFlight = {
      step: 'wait-flag',
      attempt: 2,
      command: 'check',
      log: '02-wait-flag.log',
      startedAt: '2026-12-05T21:00:00.000Z',
      poll: { pollAttempt: 2, startedAt: '2026-12-05T20:59:00.000Z' },
    };
    let filled: unknown;
    let stale: unknown;
    const executor = markingRunning({
      run: async (request: CommandRequest) => {
        request.onSpawn?.(555, '42', 550);
        filled = withRunningFile(inFlight, dir);
        stale = withRunningFile({ ...inFlight, attempt: 3 }, dir);
        return result();
      },
    });
    await executor.run({
      step: 'wait-flag',
      attempt: 2,
      command: 'c',
      shell: 'bash',
      cwd: dir,
      env: {},
      logFile: log,
      markRunning: true,
      redactor: new Redactor(),
    });
    expect(filled).toMatchObject({ pid: 555, procStart: '42', pgid: 550, attempt: 2 });
    expect(stale).toEqual({ ...inFlight, attempt: 3 });
    expect(withRunningFile(inFlight, dir)).toBe(inFlight);
  });
});
