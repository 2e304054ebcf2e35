/**
 * Format 1.1 in the engine, with strict fakes: `until:` polls through the Ui's wait (no
 * timer runs: the fake clock moves), `undo:` walks back in reverse order.
 */
import { describe, expect, it } from 'vitest';
import { Walk } from '../src/core/engine.js';
import { SignalStop } from '../src/core/errors.js';
import { buildReport, renderMarkdown } from '../src/core/export/index.js';
import type { JournalEvent } from '../src/core/journal-events.js';
import { verifyChain } from '../src/core/journal-parse.js';
import { formatProblem, type Runbook } from '../src/core/model.js';
import { Redactor } from '../src/core/redact.js';
import { loadRunbookText } from '../src/core/runbook-loader.js';
import { replaySession } from '../src/core/session-summary.js';
import { undoCandidates, UndoWalk } from '../src/core/undo.js';
import { resolveInitialVars, VarStore } from '../src/core/vars.js';
import { realShellSites, sitesOf } from './helpers/shell.js';
import { FakeClock, FakeExecutor, FakeUi, INTERRUPT, MemoryJournal, type Expected, type Scripted } from './helpers/fakes.js';

function runbookOf(yaml: string): Runbook {
  const { runbook, problems } = loadRunbookText(yaml, {
    file: 'test.yaml',
    absFile: '/runbooks/test.yaml',
    sha256: 'ab'.repeat(32),
    fileExists: () => true,
    shellSites: sitesOf,
  });
  if (!runbook) throw new Error(problems.map(formatProblem).join('\n'));
  return runbook;
}

const book = (steps: string, vars = '') => `drbook: 1\nid: t\ntitle: Test\n${vars ? `vars:\n${vars}\n` : ''}steps:\n${steps}\n`;

function walkOf(yaml: string, ui: Expected[], exec: Scripted[], opts: { yes?: boolean; cli?: Record<string, string> } = {}) {
  const runbook = runbookOf(yaml);
  const clock = new FakeClock();
  const journal = new MemoryJournal(clock);
  const fakeUi = new FakeUi(ui, clock);
  const executor = new FakeExecutor(exec, clock);
  const redactor = new Redactor();
  const vars = new VarStore(runbook.vars, redactor);
  resolveInitialVars(runbook, { cli: opts.cli ?? {}, file: {}, env: {} }, vars);
  const common = { runbook, vars, redactor, resolveCwd: (cwd: string | undefined) => cwd ?? '/home/op' };
  const walk = new Walk(
    {
      ...common,
      mode: 'live',
      yes: opts.yes ?? false,
      runSafe: false,
      startIndex: 0,
      finished: new Map(),
      attempts: new Map(),
      sessionStartedAt: clock.now(),
      logFile: (step, attempt) => ({ absolute: `/s/${step.id}.${attempt}.log`, relative: `${step.id}.${attempt}.log` }),
    },
    { ui: fakeUi, executor, journal, clock, shellSites: realShellSites },
  );
  const undo = (yes = false) =>
    new UndoWalk(
      { ...common, mode: 'live', yes, steps: undoCandidates(replaySession(journal), runbook), trigger: 'abort', pid: 1 },
      { ui: fakeUi, executor, journal, clock, shellSites: realShellSites },
    ).run();
  return {
    walk,
    undo,
    ui: fakeUi,
    executor,
    journal,
    clock,
    done() {
      fakeUi.finish();
      executor.finish();
      expect(verifyChain(journal).ok).toBe(true);
    },
  };
}

const POLL = book(`
  - id: wait-dns
    title: Wait for DNS
    run: dig +short mail.example.org
    expect: { stdout: '^192\\.0\\.2\\.7$' }
    until: { interval: 10s, timeout: 1m }`);

describe('until: polling through the Ui wait', () => {
  it('succeeds on attempt 3: two waits of the interval, one event per attempt, the poll counted', async () => {
    const t = walkOf(
      POLL,
      [
        { ask: 'step', answer: 'run' },
        { ask: 'wait', attempt: 1, answer: 'elapsed' },
        { ask: 'wait', attempt: 2, answer: 'elapsed' },
      ],
      [
        { stdout: '192.0.2.1\n', durationMs: 200 },
        { stdout: '', durationMs: 200 },
        { stdout: '192.0.2.7\n', durationMs: 200 },
      ],
    );
    // The session's first event, as the run command writes it: the export reads a whole journal.
    t.journal.append({
      type: 'session.started',
      session: 's',
      runbook: { id: 't', title: 'Test', path: '/runbooks/test.yaml', sha256: 'ab'.repeat(32), steps: 1 },
      mode: 'live',
      operator: { user: 'op', host: 'h' },
      tz: 'UTC',
      tzOffsetMinutes: 0,
      drbook: '0',
      pid: 1,
    });
    const result = await t.walk.run();
    t.done();
    expect(result.status).toBe('completed');
    const waits = t.ui.calls.flatMap((c) => (c.call === 'waitUntil' ? [c.wait] : []));
    expect(waits).toEqual([
      { attempt: 1, waitMs: 10_000, leftMs: 59_800, reason: 'stdout did not match /^192\\.0\\.2\\.7$/', lastLine: '192.0.2.1' },
      { attempt: 2, waitMs: 10_000, leftMs: 49_600, reason: 'stdout did not match /^192\\.0\\.2\\.7$/', lastLine: '' },
    ]);
    // The poll journaled once before its first process, then one event per attempt, nothing else.
    expect(stepEvents(t.journal.events, 'wait-dns')).toEqual(['step.started', 'poll.started', 'poll.attempt', 'poll.attempt', 'poll.attempt', 'step.finished']);
    expect(t.journal.events.find((e) => e.type === 'poll.started')).toMatchObject({
      attempt: 1,
      command: 'dig +short mail.example.org',
      cwd: '/home/op',
      log: 'wait-dns.1.log',
      intervalMs: 10_000,
      timeoutMs: 60_000,
    });
    const attempts = t.journal.events.filter((e) => e.type === 'poll.attempt');
    expect(attempts).toMatchObject([
      {
        attempt: 1,
        pollAttempt: 1,
        elapsedMs: 200,
        pid: 4242,
        exitCode: 0,
        durationMs: 200,
        ok: false,
        reason: 'stdout did not match /^192\\.0\\.2\\.7$/',
        tail: '192.0.2.1\n',
        nextInMs: 10_000,
      },
      { attempt: 2, pollAttempt: 2, elapsedMs: 10_400, pid: 4242, ok: false, nextInMs: 10_000 },
      { attempt: 3, pollAttempt: 3, elapsedMs: 20_600, pid: 4242, ok: true, tail: '192.0.2.7\n' },
    ]);
    expect(attempts[2]).not.toHaveProperty('nextInMs');
    // One log, rewritten by each attempt: the last attempt's output in full; a running file for each.
    expect(t.executor.requests.map((r) => [r.logFile, r.replaceLog ?? false, r.markRunning])).toEqual([
      ['/s/wait-dns.1.log', false, true],
      ['/s/wait-dns.1.log', true, true],
      ['/s/wait-dns.1.log', true, true],
    ]);
    // The post-mortem reads it as it read the three events of each attempt.
    const report = buildReport(t.journal);
    expect(renderMarkdown(report)).toMatch(/Ran `dig \+short mail\.example\.org` \(attempt 3\): exit 0 after 0\.2s, succeeded on attempt 3 after 21s/);
    expect(report.stepRows.find((r) => r.step === 'wait-dns')).toMatchObject({ attempts: 3, last: { ok: true } });
    expect(report.deviations.failedAttempts.map((f) => [f.attempt, f.command, f.result.poll])).toEqual([
      [1, 'dig +short mail.example.org', { attempt: 1, elapsedMs: 200 }],
      [2, 'dig +short mail.example.org', { attempt: 2, elapsedMs: 10_400 }],
    ]);
    expect(t.journal.events.filter((e) => e.type === 'decision')).toEqual([]);
    expect(t.journal.events.find((e) => e.type === 'step.finished')).toMatchObject({ outcome: 'done', durationMs: 20_600 });
  });

  it('times out: the last wait is cut to the time left, then the normal failure handling (abort under --yes)', async () => {
    const yaml = book(`
  - id: wait-dns
    title: Wait for DNS
    run: dig +short mail.example.org
    expect: { exit: 0 }
    until: { interval: 25s, timeout: 1m }`);
    const t = walkOf(
      yaml,
      [
        { ask: 'wait', attempt: 1, answer: 'elapsed' },
        { ask: 'wait', attempt: 2, answer: 'elapsed' },
        { ask: 'wait', attempt: 3, answer: 'elapsed' },
      ],
      [
        { exitCode: 1, durationMs: 0 },
        { exitCode: 1, durationMs: 0 },
        { exitCode: 1, durationMs: 0 },
        { exitCode: 1, durationMs: 0, tail: 'NXDOMAIN\n' },
      ],
      { yes: true },
    );
    const result = await t.walk.run();
    t.done();
    expect(result.status).toBe('aborted');
    expect(t.ui.calls.flatMap((c) => (c.call === 'waitUntil' ? [c.wait.waitMs] : []))).toEqual([25_000, 25_000, 10_000]);
    expect(stepEvents(t.journal.events, 'wait-dns')).toEqual([
      'step.started',
      'poll.started',
      'poll.attempt',
      'poll.attempt',
      'poll.attempt',
      'poll.attempt',
      'decision',
      'step.finished',
    ]);
    // Each attempt says whether the poll goes on: the last wait is the time left; the last attempt ends it.
    expect(t.journal.events.flatMap((e) => (e.type === 'poll.attempt' ? [e.nextInMs ?? null] : []))).toEqual([25_000, 25_000, 10_000, null]);
    expect(t.journal.events.filter((e) => e.type === 'poll.attempt').at(-1)).toMatchObject({
      pollAttempt: 4,
      elapsedMs: 60_000,
      ok: false,
      tail: 'NXDOMAIN\n',
    });
    expect(t.journal.events.find((e) => e.type === 'step.finished')).toMatchObject({
      outcome: 'failed',
      reason: 'still failing after 4 attempts in 1m (until timeout 1m): exit code 1',
    });
  });

  it('Ctrl-C during the wait stops waiting and opens the step menu; retry starts a new poll', async () => {
    const t = walkOf(
      POLL,
      [
        { ask: 'step', answer: 'run' },
        { ask: 'wait', attempt: 1, answer: 'interrupted' },
        { ask: 'failure', failure: /^stopped waiting \(Ctrl-C\) after 1 attempt in 0\.1s: stdout did not match/, answer: 'retry' },
        { ask: 'wait', attempt: 1, answer: 'elapsed' },
      ],
      [
        { stdout: 'nothing\n', durationMs: 100 },
        { stdout: 'nothing\n', durationMs: 100 },
        { stdout: '192.0.2.7\n', durationMs: 100 },
      ],
    );
    const result = await t.walk.run();
    t.done();
    expect(result.status).toBe('completed');
    expect(t.journal.events.filter((e) => e.type === 'decision').map((e) => (e.type === 'decision' ? e.answer : ''))).toEqual([
      'stopped waiting (Ctrl-C)',
      'retry',
    ]);
    // The Ctrl-C ends the first poll; retry starts a second one, its attempts counted from 1.
    expect(stepEvents(t.journal.events, 'wait-dns')).toEqual([
      'step.started',
      'poll.started',
      'poll.attempt',
      'decision',
      'decision',
      'poll.started',
      'poll.attempt',
      'poll.attempt',
      'step.finished',
    ]);
    expect(t.journal.events.flatMap((e) => (e.type === 'poll.started' ? [[e.attempt, e.log]] : []))).toEqual([
      [1, 'wait-dns.1.log'],
      [2, 'wait-dns.2.log'],
    ]);
    expect(t.journal.events.flatMap((e) => (e.type === 'poll.attempt' ? [[e.attempt, e.pollAttempt, e.nextInMs ?? null]] : []))).toEqual([
      [1, 1, 10_000],
      [2, 1, 10_000],
      [3, 2, null],
    ]);
    // Read back, the stopped poll is over (not in flight) and the numbering goes on.
    const cut = replaySession({ events: t.journal.events.slice(0, t.journal.events.findIndex((e) => e.type === 'decision') + 1) });
    expect(cut.inFlight).toBeUndefined();
    expect(cut.attempts.get('wait-dns')).toBe(1);
  });

  it('on_failure: abort does not abort on a Ctrl-C during the wait: the operator chooses', async () => {
    const yaml = book(`
  - id: p
    title: Poll
    run: check
    on_failure: abort
    until: { interval: 5s, timeout: 1m }`);
    const t = walkOf(
      yaml,
      [
        { ask: 'step', answer: 'run' },
        { ask: 'wait', answer: 'interrupted' },
        { ask: 'failure', answer: 'skip' },
      ],
      [{ exitCode: 3 }],
    );
    const result = await t.walk.run();
    t.done();
    expect(result.status).toBe('completed');
    expect(t.journal.events.find((e) => e.type === 'step.finished')).toMatchObject({ outcome: 'skipped' });
  });

  it('Ctrl-C while an attempt runs is the command interrupted: no wait, the menu at once', async () => {
    const t = walkOf(
      POLL,
      [
        { ask: 'step', answer: 'run' },
        { ask: 'failure', failure: 'interrupted (Ctrl-C)', answer: 'abort' },
        { ask: 'confirm', question: /^Abort the runbook\?/, answer: true },
        { ask: 'text', message: /^Why abort/, answer: '' },
      ],
      [{ interrupted: true, exitCode: null, signal: 'SIGINT' }],
    );
    const result = await t.walk.run();
    t.done();
    expect(result.status).toBe('aborted');
    expect(t.journal.events.filter((e) => e.type === 'poll.attempt')).toMatchObject([
      { attempt: 1, pollAttempt: 1, interrupted: true, reason: 'interrupted (Ctrl-C)' },
    ]);
    expect(t.journal.events.find((e) => e.type === 'poll.attempt')).not.toHaveProperty('nextInMs');
  });

  it('SIGTERM while an attempt runs: its one event says so, the session pauses, drbook ends with 143', async () => {
    const t = walkOf(
      POLL,
      [
        { ask: 'step', answer: 'run' },
        { ask: 'wait', attempt: 1, answer: 'elapsed' },
      ],
      [{ stdout: 'nothing\n' }, { stoppedBy: 'SIGTERM', exitCode: null, signal: 'SIGTERM', pid: 5151, procStart: '777' }],
    );
    const stop = await t.walk.run().catch((error: unknown) => error);
    t.done();
    expect(stop).toBeInstanceOf(SignalStop);
    expect((stop as SignalStop).exitCode).toBe(143);
    expect(stepEvents(t.journal.events, 'wait-dns')).toEqual(['step.started', 'poll.started', 'poll.attempt', 'poll.attempt', 'session.paused']);
    expect(t.journal.events.filter((e) => e.type === 'poll.attempt').at(-1)).toMatchObject({
      attempt: 2,
      pollAttempt: 2,
      pid: 5151,
      procStart: '777',
      interrupted: true,
      reason: 'drbook got SIGTERM: the command and everything it started were stopped',
    });
    expect(t.journal.events.filter((e) => e.type === 'poll.attempt').at(-1)).not.toHaveProperty('nextInMs');
    // Nothing of the poll is left in flight: resume walks the step again.
    const replay = replaySession(t.journal);
    expect(replay.inFlight).toBeUndefined();
    expect(replay.currentStep).toMatchObject({ step: 'wait-dns', index: 0 });
    expect(replay.attempts.get('wait-dns')).toBe(2);
  });
});

/** The types of the events about one step (those naming it, and the pauses), in order. */
function stepEvents(events: readonly JournalEvent[], step: string): string[] {
  return events.flatMap((e) => (('step' in e && e.step === step) || e.type === 'session.paused' ? [e.type] : []));
}

const UNDOABLE = book(
  `
  - id: stop-mx
    title: Stop the old MX
    run: systemctl stop postfix
    undo: systemctl start postfix
  - id: announce
    title: Announce
    confirm: Posted?
    undo: Take the incident banner down
  - id: no-undo
    title: Nothing to undo
    run: echo look
  - id: move-dns
    title: Point {{host}} at the new IP
    run: dns-set {{host}} 192.0.2.7
    undo: { run: 'dns-set {{host}} 192.0.2.1', confirm: 'Does {{host}} resolve to the old IP?' }
  - id: broken
    title: Broken
    run: exit 1`,
  `  host: { default: mail.example.org }`,
);

/** Walks UNDOABLE live up to the failure of `broken` and aborts there. */
const ABORTED_WALK: Expected[] = [
  { ask: 'step', step: 'stop-mx', answer: 'run' },
  { ask: 'step', step: 'announce', answer: 'done' },
  { ask: 'confirm', answer: true },
  { ask: 'step', step: 'no-undo', answer: 'run' },
  { ask: 'step', step: 'move-dns', answer: 'done' },
  { ask: 'step', step: 'broken', answer: 'run' },
  { ask: 'failure', answer: 'abort' },
  // An abort is confirmed, with room for why.
  { ask: 'confirm', question: /^Abort the runbook\?/, answer: true },
  { ask: 'text', message: /^Why abort/, answer: '' },
];
const ABORTED_EXEC: Scripted[] = [{}, {}, { exitCode: 1 }];

describe('undo: walking back after an abort', () => {
  it('offers every done step with an undo, latest first, each asked like a step', async () => {
    const t = walkOf(
      UNDOABLE,
      [
        ...ABORTED_WALK,
        { ask: 'step', step: 'move-dns', choices: ['run', 'skip', 'done', 'abort'], answer: 'run' },
        { ask: 'confirm', question: 'Does mail.example.org resolve to the old IP?', answer: true },
        { ask: 'step', step: 'announce', choices: ['done', 'skip', 'abort'], answer: 'done' },
        { ask: 'step', step: 'stop-mx', answer: 'run' },
      ],
      [...ABORTED_EXEC, {}, {}],
    );
    expect((await t.walk.run()).status).toBe('aborted');
    const result = await t.undo();
    t.done();
    expect(result).toEqual({ status: 'completed', counts: { done: 3, skipped: 0, failed: 0, markedDone: 0 } });
    // Templated as run is: the value rendered into the undo command.
    expect(t.executor.commands.slice(3)).toEqual(['dns-set mail.example.org 192.0.2.1', 'systemctl start postfix']);
    const undo = t.journal.events.filter((e) => e.type.startsWith('undo.'));
    expect(undo.map((e) => [e.type, 'step' in e ? e.step : undefined])).toEqual([
      ['undo.started', undefined],
      ['undo.command.started', 'move-dns'],
      ['undo.command.finished', 'move-dns'],
      ['undo.decision', 'move-dns'],
      ['undo.step', 'move-dns'],
      ['undo.step', 'announce'],
      ['undo.command.started', 'stop-mx'],
      ['undo.command.finished', 'stop-mx'],
      ['undo.step', 'stop-mx'],
      ['undo.ended', undefined],
    ]);
    expect(undo[0]).toMatchObject({ steps: ['move-dns', 'announce', 'stop-mx'], trigger: 'abort' });
    // The manual step's undo is its text, shown as the description.
    const shown = t.ui.calls.flatMap((c) => (c.call === 'showStep' && c.view.title.startsWith('Undo') ? [c.view] : []));
    expect(shown.map((v) => [v.title, v.command ?? v.description])).toEqual([
      ['Undo: Point mail.example.org at the new IP', 'dns-set mail.example.org 192.0.2.1'],
      ['Undo: Announce', 'Take the incident banner down'],
      ['Undo: Stop the old MX', 'systemctl start postfix'],
    ]);
    // Once undone, a later `drbook undo` has nothing left to offer.
    expect(undoCandidates(replaySession(t.journal), runbookOf(UNDOABLE))).toEqual([]);
  });

  it('skip inside undo: the step stays undoable later; the others go on', async () => {
    const t = walkOf(
      UNDOABLE,
      [
        ...ABORTED_WALK,
        { ask: 'step', step: 'move-dns', answer: 'skip' },
        { ask: 'step', step: 'announce', answer: 'skip' },
        { ask: 'step', step: 'stop-mx', answer: 'run' },
      ],
      [...ABORTED_EXEC, {}],
    );
    await t.walk.run();
    const result = await t.undo();
    t.done();
    expect(result.counts).toEqual({ done: 1, skipped: 2, failed: 0, markedDone: 0 });
    expect(t.executor.commands.slice(3)).toEqual(['systemctl start postfix']);
    expect(undoCandidates(replaySession(t.journal), runbookOf(UNDOABLE)).map((s) => s.id)).toEqual(['move-dns', 'announce']);
  });

  it('failure inside undo: the failure menu; abort stops the undo there', async () => {
    const t = walkOf(
      UNDOABLE,
      [...ABORTED_WALK, { ask: 'step', step: 'move-dns', answer: 'run' }, { ask: 'failure', step: 'move-dns', failure: 'exit code 2', answer: 'abort' }],
      [...ABORTED_EXEC, { exitCode: 2, tail: 'API down\n' }],
    );
    await t.walk.run();
    const result = await t.undo();
    t.done();
    expect(result).toEqual({ status: 'aborted', counts: { done: 0, skipped: 0, failed: 1, markedDone: 0 }, stoppedAt: 'move-dns' });
    expect(t.journal.events.filter((e) => e.type === 'undo.step')).toMatchObject([{ step: 'move-dns', outcome: 'failed', reason: 'exit code 2' }]);
  });

  it('failure inside undo, retried: the second attempt is journaled with its own number', async () => {
    const t = walkOf(
      UNDOABLE,
      [
        ...ABORTED_WALK,
        { ask: 'step', step: 'move-dns', answer: 'run' },
        { ask: 'failure', answer: 'retry' },
        { ask: 'confirm', answer: true },
        { ask: 'step', answer: 'skip' },
        { ask: 'step', answer: 'skip' },
      ],
      [...ABORTED_EXEC, { exitCode: 2 }, {}],
    );
    await t.walk.run();
    await t.undo();
    t.done();
    expect(
      t.journal.events.filter((e) => e.type === 'undo.command.finished').map((e) => (e.type === 'undo.command.finished' ? [e.attempt, e.ok] : [])),
    ).toEqual([
      [1, false],
      [2, true],
    ]);
  });

  it('--yes runs all in order and stops at the first failure', async () => {
    const t = walkOf(UNDOABLE, ABORTED_WALK, [...ABORTED_EXEC, { exitCode: 1 }]);
    await t.walk.run();
    const result = await t.undo(true);
    t.done();
    expect(result).toEqual({ status: 'failed', counts: { done: 0, skipped: 0, failed: 1, markedDone: 0 }, stoppedAt: 'move-dns' });
    expect(t.executor.commands).toHaveLength(4);
    expect(t.ui.messages('warn').at(-1)).toMatch(/undo of Point mail\.example\.org at the new IP: exit code 1 \(--yes stops at the first failure\)/);
  });

  it('--yes does not claim a manual undo was done: it is skipped, and offered again later', async () => {
    const t = walkOf(UNDOABLE, ABORTED_WALK, [...ABORTED_EXEC, {}, {}]);
    await t.walk.run();
    const result = await t.undo(true);
    t.done();
    expect(result).toEqual({ status: 'completed', counts: { done: 2, skipped: 1, failed: 0, markedDone: 0 } });
    expect(t.journal.events.filter((e) => e.type === 'undo.step').map((e) => (e.type === 'undo.step' ? `${e.step} ${e.outcome}` : ''))).toEqual([
      'move-dns done',
      'announce skipped',
      'stop-mx done',
    ]);
    expect(undoCandidates(replaySession(t.journal), runbookOf(UNDOABLE)).map((s) => s.id)).toEqual(['announce']);
  });

  it('Ctrl-C at an undo question pauses the undo; what was undone stays undone', async () => {
    const t = walkOf(
      UNDOABLE,
      [...ABORTED_WALK, { ask: 'step', step: 'move-dns', answer: 'done' }, { ask: 'step', step: 'announce', answer: INTERRUPT }],
      ABORTED_EXEC,
    );
    await t.walk.run();
    const result = await t.undo();
    t.done();
    expect(result.status).toBe('paused');
    expect(undoCandidates(replaySession(t.journal), runbookOf(UNDOABLE)).map((s) => s.id)).toEqual(['announce', 'stop-mx']);
  });
});

describe('validate: format 1.1 fields', () => {
  const problems = (yaml: string) =>
    loadRunbookText(yaml, { file: 'rb.yaml', absFile: '/runbooks/rb.yaml', sha256: 'ab'.repeat(32), fileExists: () => true }).problems.map(formatProblem);

  it('until needs run; a manual step undo is text, not a command; each with file:line:col', () => {
    expect(
      problems(
        book(`
  - id: manual
    title: Manual
    until: { interval: 10s, timeout: 1m }
    undo: { run: echo hi }`),
      ),
    ).toEqual([
      'rb.yaml:8:5: error: steps[0] (manual).until: a manual step has no command to repeat (add run:)',
      `rb.yaml:9:5: error: steps[0] (manual).undo: a manual step's undo is text telling the operator what to do (undo: "..."), not a command`,
    ]);
  });

  it('durations are read, the interval must fit in the timeout, unknown fields are named', () => {
    expect(
      problems(
        book(`
  - id: a
    title: A
    run: check
    until: { interval: 2m, timeout: 1m, every: 3 }
  - id: b
    title: B
    run: check
    until: { interval: soon, timeout: 0s }`),
      ),
    ).toEqual([
      'rb.yaml:9:24: error: steps[0] (a).until.interval: 2m is longer than the timeout 1m: the command would run only once',
      'rb.yaml:9:41: error: steps[0].until.every: unknown field `every`',
      'rb.yaml:13:24: error: steps[1] (b).until.interval: cannot read duration "soon": use forms like 10s, 5m, 1h30m',
      'rb.yaml:13:39: error: steps[1] (b).until.timeout: must be more than 0',
    ]);
  });

  it('undo is templated like run: unknown names refused, a capture of the same step allowed', () => {
    expect(
      problems(
        book(`
  - id: make
    title: Make a volume
    run: mkvol
    capture: vol_id
    undo: 'rmvol {{vol_id}} {{nope}}'
  - id: hand
    title: By hand
    undo: 'Tell {{nope2}} it is over'`),
      ),
    ).toEqual([
      'rb.yaml:10:29: error: steps[0] (make).undo: unknown variable {{nope}}: declare it under vars: or capture it in an earlier step',
      'rb.yaml:13:17: error: steps[1] (hand).undo: unknown variable {{nope2}}: declare it under vars: or capture it in an earlier step',
    ]);
  });
});
