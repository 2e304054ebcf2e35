/**
 * Resume in memory: the journal a stopped drbook left, replayed, planned and walked on
 * through Walk.resume with fakes for the operator, the shell and the machine's processes.
 * No process, no file, no terminal: each case runs in milliseconds.
 */
import { describe, expect, it } from 'vitest';
import { Walk, type LeftBehind, type WalkResult } from '../src/core/engine.js';
import { PromptInterrupted } from '../src/core/errors.js';
import { COMPLETED_WHILE_AWAY, IN_FLIGHT_QUESTION, type EventBody } from '../src/core/journal-events.js';
import { verifyChain } from '../src/core/journal-parse.js';
import { formatProblem, type Runbook } from '../src/core/model.js';
import { Redactor } from '../src/core/redact.js';
import { loadRunbookText } from '../src/core/runbook-loader.js';
import { countOutcomes, planResume, sessionResumedEvent, sessionStartedEvent, sessionStatus, varEvents } from '../src/core/session.js';
import { replaySession, summarizeSession } from '../src/core/session-summary.js';
import { VarStore } from '../src/core/vars.js';
import { FakeClock, FakeExecutor, FakeProcesses, FakeUi, MemoryJournal, INTERRUPT, type Expected, type FakeProcess, type Scripted } from './helpers/fakes.js';
import { realShellSites, sitesOf } from './helpers/shell.js';

const DRIVER = 4242;
const SHELL = 5001;

function runbookOf(yaml: string): Runbook {
  const { runbook, problems } = loadRunbookText(yaml, {
    file: 'r.yaml',
    absFile: '/runbooks/r.yaml',
    sha256: 'cd'.repeat(32),
    fileExists: () => true,
    shellSites: sitesOf,
  });
  if (!runbook) throw new Error(problems.map(formatProblem).join('\n'));
  return runbook;
}

const RESTORE_YAML = `drbook: 1
id: r
title: Restore
steps:
  - id: stop
    title: Stop the service
    run: systemctl stop mail
  - id: restore
    title: Restore the database
    run: pg_restore dump
  - id: start
    title: Start the service
    run: systemctl start mail
`;
const RESTORE = runbookOf(RESTORE_YAML);
/** The same, its restore safe to run twice: --yes answers the question about it. */
const IDEMPOTENT = runbookOf(RESTORE_YAML.replace('    run: pg_restore dump\n', '    run: pg_restore dump\n    idempotent: true\n'));

/** The journal of a drbook that was killed while `restore` ran (its shell spawned as SHELL, group SHELL). */
function cutWhileRestoring(clock: FakeClock, spawned = true): MemoryJournal {
  const journal = new MemoryJournal(clock);
  const bodies: EventBody[] = [
    sessionStartedEvent({
      session: 's1',
      runbook: RESTORE,
      mode: 'live',
      operator: { user: 'op', host: 'h' },
      zone: { tz: 'UTC', tzOffsetMinutes: 0 },
      drbook: '0.1.0',
      pid: DRIVER,
      cwd: '/srv',
      runSafe: false,
      yes: false,
    }),
    { type: 'step.started', step: 'stop', index: 0, title: 'Stop the service' },
    { type: 'command.started', step: 'stop', attempt: 1, command: 'systemctl stop mail', cwd: '/srv' },
    { type: 'command.finished', step: 'stop', attempt: 1, exitCode: 0, signal: null, durationMs: 5, ok: true, tail: '', outputBytes: 0 },
    { type: 'step.finished', step: 'stop', index: 0, outcome: 'done', durationMs: 5 },
    { type: 'step.started', step: 'restore', index: 1, title: 'Restore the database' },
    { type: 'command.started', step: 'restore', attempt: 1, command: 'pg_restore dump', cwd: '/srv', log: '02-restore.log' },
  ];
  if (spawned) bodies.push({ type: 'command.spawned', step: 'restore', attempt: 1, pid: SHELL, procStart: '500', pgid: SHELL });
  for (const body of bodies) {
    journal.append(body);
    clock.advance(1000);
  }
  return journal;
}

interface Resumed {
  journal: MemoryJournal;
  ui: FakeUi;
  executor: FakeExecutor;
  processes: FakeProcesses;
  result: Promise<WalkResult>;
  /** The events resume wrote (after the old journal). */
  written: () => EventBody[];
}

function resume(options: {
  ui?: Expected[];
  exec?: Scripted[];
  table?: FakeProcess[];
  script?: ConstructorParameters<typeof FakeProcesses>[1];
  yes?: boolean;
  spawned?: boolean;
  logTail?: string;
  /** Resume this journal again (a resume before this one left it), with its clock. */
  again?: { journal: MemoryJournal; clock: FakeClock };
  runbook?: Runbook;
}): Resumed {
  const clock = options.again?.clock ?? new FakeClock();
  const journal = options.again?.journal ?? cutWhileRestoring(clock, options.spawned ?? true);
  const runbook = options.runbook ?? RESTORE;
  const before = journal.events.length;
  const replay = replaySession(journal);
  const plan = planResume(replay, runbook, { reopen: false });
  const ui = new FakeUi(options.ui ?? [], clock);
  const executor = new FakeExecutor(options.exec ?? [], clock);
  const processes = new FakeProcesses(options.table ?? [], options.script ?? {});
  const redactor = new Redactor();
  journal.append(sessionResumedEvent({ replay, now: clock.now(), pid: 1000, reopened: false }));
  const walk = new Walk(
    {
      runbook,
      mode: 'live',
      yes: options.yes ?? false,
      runSafe: false,
      startIndex: 0,
      finished: plan.finished,
      attempts: plan.attempts,
      sessionStartedAt: new Date(replay.started!.ts),
      vars: new VarStore(runbook.vars, redactor),
      redactor,
      resolveCwd: () => '/srv',
    },
    { ui, executor, journal, clock, shellSites: realShellSites },
  );
  const left: LeftBehind = {
    ...(replay.inFlight ? { inFlight: replay.inFlight } : {}),
    ...(replay.driverPid !== undefined ? { driverPid: replay.driverPid } : {}),
    ...(replay.currentStep ? { current: replay.currentStep } : {}),
    vars: replay.vars,
  };
  const result = walk.resume(left, { processes, readLogTail: (log) => (log === '02-restore.log' ? options.logTail : undefined) }).then((r) => {
    ui.finish();
    executor.finish();
    expect(verifyChain(journal).ok).toBe(true);
    return r;
  });
  return { journal, ui, executor, processes, result, written: () => journal.events.slice(before + 1) };
}

const ranFine: Scripted = { exitCode: 0 };

describe('Walk.resume over a command cut while it ran', () => {
  it('--yes on a step not idempotent: the question has no default, so nothing is decided or run; paused, still in flight', async () => {
    const r = resume({ yes: true });
    expect(await r.result).toMatchObject({ status: 'paused', stoppedAt: 'restore', beforeWalk: true });
    // No end journaled, no decision: the next resume (in a terminal) asks as if this one never came.
    expect(r.written()).toMatchObject([
      { type: 'session.paused', step: 'restore', reason: '--yes cannot answer whether the cut command completed (not idempotent)' },
    ]);
    expect(r.executor.requests).toEqual([]);
    expect(r.ui.messages('warn').at(-1)).toBe(
      '[2/3] Restore the database: --yes cannot say whether its command completed (the step is not idempotent: true): nothing was run, the session stays paused; run drbook resume in a terminal to answer.',
    );
    const after = replaySession(r.journal);
    expect(after.inFlight).toMatchObject({ step: 'restore', attempt: 1 });
    expect(after.paused).toMatchObject({ step: 'restore' });
  });

  it("--yes on an idempotent step: run again by default, the decision journaled as --yes's, never asked twice", async () => {
    const r = resume({ yes: true, exec: [ranFine, ranFine], runbook: IDEMPOTENT });
    expect(await r.result).toMatchObject({ status: 'completed', counts: { done: 3, skipped: 0, failed: 0, markedDone: 0 } });
    const [cut, decision] = r.written();
    expect(cut).toMatchObject({
      type: 'command.finished',
      step: 'restore',
      attempt: 1,
      exitCode: null,
      ok: false,
      interrupted: true,
      reason: 'drbook stopped while it ran; its exit code is unknown',
    });
    expect(decision).toMatchObject({ type: 'decision', step: 'restore', question: IN_FLIGHT_QUESTION, answer: 'run it again', by: '--yes' });
    expect(r.executor.requests.map((c) => [c.step, c.attempt])).toEqual([
      ['restore', 2],
      ['start', 1],
    ]);
    expect(r.processes.waited).toEqual([]);
  });

  it('its shell died but a grandchild runs on in its group: named, waited for, then asked; "I fixed it by hand" marks it done by hand', async () => {
    const r = resume({
      table: [
        { pid: 5003, start: '510', parent: 1, pgid: SHELL },
        { pid: 5004, start: '511', parent: 5003, pgid: SHELL },
        // Started before the command: not its own, even in the same group.
        { pid: 5009, start: '400', parent: 1, pgid: SHELL },
      ],
      script: { wait: 'exit' },
      ui: [
        { ask: 'confirm', question: 'Wait for pid 5003 to finish? (no: stop it and everything it started)', answer: true },
        { ask: 'failure', step: 'restore', failure: 'finished on its own while drbook was away; its exit code is unknown: did it complete?', answer: 'done' },
        { ask: 'step', step: 'start', answer: 'run' },
      ],
      exec: [ranFine],
      logTail: 'restoring table users\nrestoring \u001b[31mtable\u001b[0m mail',
    });
    expect(await r.result).toMatchObject({ status: 'completed', counts: { done: 2, markedDone: 1 } });
    expect(r.processes.waited).toEqual([[5003, 5004]]);
    expect(r.ui.messages('warn')).toContain('It is still running on its own (pid 5003).');
    // The log's last lines, its control characters made harmless.
    expect(r.ui.messages('info')).toContain('The last lines of its output log (02-restore.log):\n  | restoring table users\n  | restoring ?[31mtable?[0m mail');
    expect(r.written().filter((e) => e.type === 'step.finished')).toMatchObject([
      { step: 'restore', outcome: 'marked-done', reason: 'done by hand after drbook stopped mid-command (operator)' },
      { step: 'start', outcome: 'done' },
    ]);
    expect(r.written().find((e) => e.type === 'decision' && e.question === IN_FLIGHT_QUESTION)).toMatchObject({ answer: 'done by hand: mark done' });
  });

  it('"it completed on its own": the step is done (not by hand), the outcome known from the operator', async () => {
    const r = resume({
      ui: [
        { ask: 'failure', step: 'restore', failure: 'drbook stopped while it ran; its exit code is unknown: did it complete?', answer: 'completed' },
        { ask: 'step', step: 'start', answer: 'run' },
      ],
      exec: [ranFine],
    });
    expect(await r.result).toMatchObject({ status: 'completed', counts: { done: 3, markedDone: 0 } });
    const decision = r.written().find((e) => e.type === 'decision');
    expect(decision).toMatchObject({ type: 'decision', step: 'restore', question: IN_FLIGHT_QUESTION, answer: 'it completed: mark done' });
    // The operator answered, not --yes.
    expect(decision).not.toHaveProperty('by');
    expect(r.written().filter((e) => e.type === 'step.finished')).toMatchObject([
      { step: 'restore', outcome: 'done', reason: COMPLETED_WHILE_AWAY },
      { step: 'start', outcome: 'done' },
    ]);
  });

  it('the operator stops what runs, then aborts: the session ends aborted before the walk goes on', async () => {
    const r = resume({
      table: [{ pid: SHELL, start: '500', parent: 1, pgid: SHELL }],
      script: { stop: { left: [] } },
      ui: [
        { ask: 'confirm', question: /^Wait for pid 5001/, answer: false },
        { ask: 'failure', failure: 'stopped on resume: did it complete?', answer: 'abort' },
      ],
    });
    expect(await r.result).toMatchObject({ status: 'aborted', stoppedAt: 'restore', beforeWalk: true, counts: { done: 1, failed: 1 } });
    expect(r.processes.stopped).toEqual([[SHELL]]);
    expect(r.written().map((e) => e.type)).toEqual(['decision', 'command.finished', 'decision', 'step.finished', 'session.ended']);
    expect(r.written().at(-1)).toMatchObject({ type: 'session.ended', status: 'aborted', done: 1, failed: 1 });
  });

  it('Ctrl-C while waiting: paused, the command left alone, nothing run', async () => {
    const r = resume({ table: [{ pid: SHELL, start: '500', parent: 1, pgid: SHELL }], script: { wait: 'interrupt' }, ui: [{ ask: 'confirm', answer: true }] });
    expect(await r.result).toMatchObject({ status: 'paused', stoppedAt: 'restore' });
    expect(r.written().map((e) => e.type)).toEqual(['decision', 'session.paused']);
    expect(r.written().at(-1)).toMatchObject({ step: 'restore', reason: 'Ctrl-C while waiting for the command left running' });
    expect(r.processes.stopped).toEqual([]);
  });

  it('a pid reused by another process (another start time) is not the command: nothing to wait for', async () => {
    const r = resume({ table: [{ pid: SHELL, start: '9999', parent: 1 }], yes: true, exec: [ranFine, ranFine], runbook: IDEMPOTENT });
    expect(await r.result).toMatchObject({ status: 'completed' });
    expect(r.processes.waited).toEqual([]);
  });

  it('never counts this drbook or its parents among what runs on', async () => {
    const r = resume({
      table: [{ pid: 1000, start: '600', parent: 1, pgid: SHELL }],
      script: { ancestors: [1000] },
      yes: true,
      exec: [ranFine, ranFine],
      runbook: IDEMPOTENT,
    });
    expect(await r.result).toMatchObject({ status: 'completed' });
    expect(r.processes.waited).toEqual([]);
  });

  it('killed before the pid was journaled: what the dead drbook left in its group since the command started is the command', async () => {
    const clock = new FakeClock();
    const startedMs = Date.parse(cutWhileRestoring(clock, false).events.at(-1)!.ts);
    const r = resume({
      spawned: false,
      table: [
        { pid: 6001, start: '700', parent: 1, pgid: DRIVER, startedAtMs: startedMs + 5 },
        { pid: 6000, start: '100', parent: 1, pgid: DRIVER, startedAtMs: startedMs - 60_000 },
      ],
      script: { wait: 'exit' },
      ui: [
        { ask: 'confirm', answer: true },
        { ask: 'failure', answer: 'retry' },
        { ask: 'step', step: 'start', answer: 'run' },
      ],
      exec: [ranFine, ranFine],
    });
    expect(await r.result).toMatchObject({ status: 'completed' });
    expect(r.processes.waited).toEqual([[6001]]);
    expect(r.ui.messages('warn')).toContain(`It seems to be still running on its own (pid 6001, left by drbook pid ${DRIVER} since the command started).`);
  });

  it('killed before the pid was journaled, the command in a group of its own: found by the mark drbook gave it', async () => {
    const r = resume({
      spawned: false,
      table: [
        { pid: 7001, start: '800', parent: 1, pgid: 7001, mark: `${DRIVER}/restore/1` },
        { pid: 7002, start: '801', parent: 7001, pgid: 7001 },
        // Another command's mark: not this one.
        { pid: 7100, start: '802', parent: 1, pgid: 7100, mark: `${DRIVER}/stop/1` },
      ],
      script: { stop: { left: [] } },
      ui: [
        { ask: 'confirm', question: /^Wait for pid 7001 to finish/, answer: false },
        { ask: 'failure', answer: 'skip' },
        { ask: 'step', step: 'start', answer: 'run' },
      ],
      exec: [ranFine],
    });
    expect(await r.result).toMatchObject({ status: 'completed', counts: { done: 2, skipped: 1 } });
    expect(r.processes.stopped).toEqual([[7001, 7002]]);
  });

  it('a group of its own whose leader pid was reused after the group ended: nothing of the command is left', async () => {
    const r = resume({
      table: [
        { pid: SHELL, start: '9999', parent: 1, pgid: SHELL },
        { pid: 5003, start: '510', parent: 1, pgid: SHELL },
      ],
      yes: true,
      exec: [ranFine, ranFine],
      runbook: IDEMPOTENT,
    });
    expect(await r.result).toMatchObject({ status: 'completed' });
    expect(r.processes.waited).toEqual([]);
  });

  it('a step not marked idempotent: "mark done" first and no default (Enter alone must not mark an unfinished restore done)', async () => {
    const r = resume({
      ui: [
        { ask: 'failure', answer: 'retry' },
        { ask: 'step', step: 'start', answer: 'run' },
      ],
      exec: [ranFine, ranFine],
    });
    expect(await r.result).toMatchObject({ status: 'completed' });
    expect(r.ui.calls.find((c) => c.call === 'chooseFailureAction')).toMatchObject({
      choices: ['completed', 'done', 'retry', 'skip', 'abort'],
      noDefault: true,
    });
  });

  it('Ctrl-C at the question: the pause is journaled by the walk and thrown on', async () => {
    const r = resume({ ui: [{ ask: 'failure', answer: INTERRUPT }] });
    await expect(r.result).rejects.toBeInstanceOf(PromptInterrupted);
    expect(r.written().at(-1)).toMatchObject({ type: 'session.paused', reason: 'Ctrl-C at a prompt while resuming' });
  });

  for (const left of ['Ctrl-C', 'kill -9'] as const) {
    it(`${left} at the question, then resume again: the same question, no default, nothing run, the command still in flight`, async () => {
      const first = resume({ ui: [{ ask: 'failure', failure: 'drbook stopped while it ran; its exit code is unknown: did it complete?', answer: INTERRUPT }] });
      await expect(first.result).rejects.toBeInstanceOf(PromptInterrupted);
      // kill -9 at the question: the pause never reaches the journal.
      const journal = first.journal;
      if (left === 'kill -9') {
        const paused = journal.events.pop()!;
        expect(paused.type).toBe('session.paused');
        journal.lines.pop();
      }
      const between = replaySession(journal);
      // What `sessions --json` shows: still in flight, its end recorded with the exit code unknown.
      expect(between.inFlight).toMatchObject({
        step: 'restore',
        attempt: 1,
        ended: { reason: 'drbook stopped while it ran; its exit code is unknown' },
      });
      expect(summarizeSession('s1', { events: journal.events, lines: journal.lines, bad: [] }, undefined).inFlight).toMatchObject({
        step: 'restore',
        ended: {},
      });

      const clock = new FakeClock(new Date(Date.parse(journal.events.at(-1)!.ts) + 1000));
      const second = resume({
        again: { journal, clock },
        ui: [
          { ask: 'failure', step: 'restore', failure: 'drbook stopped while it ran; its exit code is unknown: did it complete?', answer: 'completed' },
          { ask: 'step', step: 'start', answer: 'run' },
        ],
        exec: [ranFine],
      });
      expect(await second.result).toMatchObject({ status: 'completed', counts: { done: 3 } });
      expect(second.ui.calls.find((c) => c.call === 'chooseFailureAction')).toMatchObject({
        choices: ['completed', 'done', 'retry', 'skip', 'abort'],
        noDefault: true,
      });
      // The end was journaled once, by the first resume; the second only answers.
      expect(second.written().map((e) => e.type)).toEqual([
        'decision',
        'step.finished',
        'step.started',
        'command.started',
        'command.spawned',
        'command.finished',
        'step.finished',
        'session.ended',
      ]);
      expect(second.executor.requests.map((c) => c.step)).toEqual(['start']);
      expect(second.ui.messages('warn')[0]).toBe('[2/3] Restore the database: its command was running when drbook stopped:\n  $ pg_restore dump');
    });
  }

  it('a --yes resume that could not answer, then one in a terminal: asked, with no default', async () => {
    const first = resume({ yes: true });
    expect(await first.result).toMatchObject({ status: 'paused' });
    const journal = first.journal;
    const second = resume({
      again: { journal, clock: new FakeClock(new Date(Date.parse(journal.events.at(-1)!.ts) + 1000)) },
      ui: [
        { ask: 'failure', step: 'restore', answer: 'skip' },
        { ask: 'step', step: 'start', answer: 'run' },
      ],
      exec: [ranFine],
    });
    expect(await second.result).toMatchObject({ status: 'completed', counts: { done: 2, skipped: 1 } });
    expect(second.ui.calls.find((c) => c.call === 'chooseFailureAction')).toMatchObject({ noDefault: true });
  });
});

describe('Walk.resume over work done but not journaled finished', () => {
  it('a command that had succeeded is not run again', async () => {
    const clock = new FakeClock();
    const journal = cutWhileRestoring(clock);
    journal.append({ type: 'command.finished', step: 'restore', attempt: 1, exitCode: 0, signal: null, durationMs: 20, ok: true, tail: '', outputBytes: 0 });
    const replay = replaySession(journal);
    expect(replay.inFlight).toBeUndefined();
    const ui = new FakeUi([], clock);
    const executor = new FakeExecutor([ranFine], clock);
    const redactor = new Redactor();
    const plan = planResume(replay, RESTORE, { reopen: false });
    const walk = new Walk(
      {
        runbook: RESTORE,
        mode: 'live',
        yes: true,
        runSafe: false,
        startIndex: 0,
        finished: plan.finished,
        attempts: plan.attempts,
        sessionStartedAt: new Date(replay.started!.ts),
        vars: new VarStore({}, redactor),
        redactor,
        resolveCwd: () => '/srv',
      },
      { ui, executor, journal, clock, shellSites: realShellSites },
    );
    const result = await walk.resume(
      { ...(replay.currentStep ? { current: replay.currentStep } : {}), vars: replay.vars },
      { processes: new FakeProcesses([]), readLogTail: () => undefined },
    );
    expect(result).toMatchObject({ status: 'completed', counts: { done: 3 } });
    expect(executor.requests.map((c) => c.step)).toEqual(['start']);
    expect(ui.messages('info')).toContain('[2/3] Restore the database: its command had succeeded (exit 0) before drbook stopped; it is not run again.');
  });
});

describe('the session lifecycle in core', () => {
  it('one status vocabulary: an end with a failed step is failed, as the journal says', () => {
    const ended = (status: 'completed' | 'failed' | 'aborted') => ({ ended: { type: 'session.ended', status } as never });
    expect(sessionStatus(ended('failed'), false)).toBe('failed');
    expect(sessionStatus(ended('completed'), false)).toBe('completed');
    expect(sessionStatus(ended('aborted'), false)).toBe('aborted');
    expect(sessionStatus({ paused: {} as never }, false)).toBe('paused');
    expect(sessionStatus({}, false)).toBe('interrupted');
    expect(sessionStatus({}, true)).toBe('running');
  });

  it('counts outcomes one way', () => {
    expect(countOutcomes(['done', 'failed', 'marked-done', 'skipped', 'done'])).toEqual({ done: 2, skipped: 1, failed: 1, markedDone: 1 });
  });

  it('planResume, reopened: the step the abort failed is walked again, the others keep their outcome', () => {
    const clock = new FakeClock();
    const journal = cutWhileRestoring(clock);
    journal.append({ type: 'command.finished', step: 'restore', attempt: 1, exitCode: 1, signal: null, durationMs: 20, ok: false, tail: '', outputBytes: 0 });
    journal.append({ type: 'step.finished', step: 'restore', index: 1, outcome: 'failed', durationMs: 20 });
    journal.append({ type: 'session.ended', status: 'aborted', done: 1, skipped: 0, failed: 1, markedDone: 0, durationMs: 9000 });
    journal.append({ type: 'note', text: 'after the end', by: 'op@h', source: 'cli' });
    const replay = replaySession(journal);
    expect(replay.failedByTheAbort).toBe('restore');
    const plan = planResume(replay, RESTORE, { reopen: true });
    expect(plan.rewalked).toBe('restore');
    expect([...plan.finished]).toEqual([['stop', 'done']]);
    expect(plan.toWalk.map((s) => s.id)).toEqual(['restore', 'start']);
    expect(plan.unfinished.map((s) => s.id)).toEqual(['start']);
    expect(plan.attempts.get('restore')).toBe(1);
    expect(planResume(replay, RESTORE, { reopen: false }).finished.get('restore')).toBe('failed');
  });

  it('session.resumed: the gap since drbook last drove the session, notes from elsewhere left out', () => {
    const clock = new FakeClock();
    const journal = cutWhileRestoring(clock);
    const lastDriver = Date.parse(journal.events.at(-1)!.ts);
    clock.advance(60_000);
    journal.append({ type: 'note', text: 'from another terminal', by: 'op@h', source: 'cli' });
    const replay = replaySession(journal);
    const event = sessionResumedEvent({ replay, now: new Date(lastDriver + 120_000), pid: 7, reopened: false, movedTo: '/mnt/r.yaml' });
    expect(event).toEqual({ type: 'session.resumed', gapMs: 120_000, step: 'restore', pid: 7, runbookPath: '/mnt/r.yaml' });
  });

  it('var.set on resume only for what changed, and every secret (asked again)', () => {
    const redactor = new Redactor();
    const runbook = runbookOf(`drbook: 1
id: v
title: V
vars:
  host: { default: a }
  zone: { default: z }
  token: { secret: true }
steps:
  - id: s
    title: S
    run: echo {{host}} {{zone}} {{token}}
`);
    const vars = new VarStore(runbook.vars, redactor);
    vars.set('host', 'b', 'cli', false);
    vars.set('zone', 'z', 'default', false);
    vars.set('token', 'hunter2-long-enough', 'prompt', true);
    const clock = new FakeClock();
    const journal = new MemoryJournal(clock);
    for (const e of [
      { type: 'var.set', name: 'host', value: 'a', source: 'default' },
      { type: 'var.set', name: 'zone', value: 'z', source: 'default' },
      { type: 'var.set', name: 'token', value: '***', source: 'prompt', secret: true },
    ] as EventBody[])
      journal.append(e);
    const changes = varEvents(vars, replaySession(journal));
    expect(changes.map((e) => (e.type === 'var.set' ? [e.name, e.value] : []))).toEqual([
      ['host', 'b'],
      ['token', '***'],
    ]);
    expect(varEvents(vars).length).toBe(3);
  });
});
