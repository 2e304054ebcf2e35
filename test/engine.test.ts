import { describe, expect, it } from 'vitest';
import { Walk, type WalkPlan, type WalkResult } from '../src/core/engine.js';
import type { Mode, StepOutcome } from '../src/core/journal-events.js';
import { verifyChain } from '../src/core/journal-parse.js';
import { formatProblem, type Runbook } from '../src/core/model.js';
import { Redactor } from '../src/core/redact.js';
import { realShellSites, sitesOf } from './helpers/shell.js';
import { loadRunbookText } from '../src/core/runbook-loader.js';
import { resolveInitialVars, VarStore } from '../src/core/vars.js';
import { FakeClock, FakeExecutor, FakeUi, INTERRUPT, MemoryJournal, type Expected, type Scripted } from './helpers/fakes.js';

const RUNBOOK_FILE = '/runbooks/test.yaml';
const CWD = '/home/op';

function runbookOf(yaml: string): Runbook {
  const { runbook, problems } = loadRunbookText(yaml, {
    file: 'test.yaml',
    absFile: RUNBOOK_FILE,
    sha256: 'ab'.repeat(32),
    fileExists: () => true,
    shellSites: sitesOf,
  });
  if (!runbook) throw new Error(`test runbook is invalid:\n${problems.map(formatProblem).join('\n')}`);
  return runbook;
}

/** A runbook from its steps only (YAML), with optional vars (YAML). */
function book(steps: string, vars = ''): string {
  return `drbook: 1\nid: t\ntitle: Test\n${vars ? `vars:\n${vars}\n` : ''}steps:\n${steps}\n`;
}

interface Setup {
  yaml: string;
  ui?: Expected[];
  exec?: Scripted[];
  mode?: Mode;
  yes?: boolean;
  runSafe?: boolean;
  /** Step id for --from. */
  from?: string;
  finished?: Record<string, StepOutcome>;
  attempts?: Record<string, number>;
  /** --var values. */
  cli?: Record<string, string>;
  env?: Record<string, string>;
  logs?: boolean;
}

function setup(s: Setup) {
  const runbook = runbookOf(s.yaml);
  const clock = new FakeClock();
  const journal = new MemoryJournal(clock);
  const ui = new FakeUi(s.ui, clock);
  const executor = new FakeExecutor(s.exec, clock);
  const redactor = new Redactor();
  const vars = new VarStore(runbook.vars, redactor);
  resolveInitialVars(runbook, { cli: s.cli ?? {}, file: {}, env: s.env ?? {} }, vars);
  const startIndex = s.from === undefined ? 0 : runbook.steps.findIndex((step) => step.id === s.from);
  const plan: WalkPlan = {
    runbook,
    mode: s.mode ?? 'live',
    yes: s.yes ?? false,
    runSafe: s.runSafe ?? false,
    startIndex,
    ...(s.from !== undefined ? { skipReason: `--from ${s.from}` } : {}),
    finished: new Map(Object.entries(s.finished ?? {})),
    attempts: new Map(Object.entries(s.attempts ?? {})),
    sessionStartedAt: clock.now(),
    vars,
    redactor,
    ...(s.logs ? { logFile: (step, attempt) => ({ absolute: `/state/s1/${step.id}.${attempt}.log`, relative: `${step.id}.${attempt}.log` }) } : {}),
    resolveCwd: (cwd) => (cwd === undefined ? CWD : cwd.startsWith('/') ? cwd : `/runbooks/${cwd}`),
  };
  const walk = new Walk(plan, { ui, executor, journal, clock, shellSites: realShellSites });
  return {
    runbook,
    clock,
    journal,
    ui,
    executor,
    redactor,
    vars,
    plan,
    /** Walks to the end, then checks the UI and executor scripts were used up and the chain holds. */
    async go(): Promise<WalkResult> {
      const result = await walk.run();
      ui.finish();
      executor.finish();
      expect(verifyChain(journal).ok).toBe(true);
      return result;
    },
  };
}

const TWO = book(`
  - id: a
    title: Step A
    run: echo a
  - id: b
    title: Step B
    run: echo b`);

const ended = (status: string, counts: Partial<Record<'done' | 'skipped' | 'failed' | 'markedDone', number>> = {}) => ({
  type: 'session.ended',
  status,
  done: counts.done ?? 0,
  skipped: counts.skipped ?? 0,
  failed: counts.failed ?? 0,
  markedDone: counts.markedDone ?? 0,
});

/** The events of one clean run of a command, attempt `n`. */
const ranOk = (step: string, command: string, attempt = 1) => [
  { type: 'command.started', step, attempt, command, cwd: CWD },
  { type: 'command.spawned', step, attempt },
  { type: 'command.finished', step, attempt, ok: true, exitCode: 0 },
];

describe('the walk: choices at a step', () => {
  it('runs each step in order and completes', async () => {
    const t = setup({
      yaml: TWO,
      logs: true,
      ui: [
        { ask: 'step', step: 'a', choices: ['run', 'skip', 'done', 'note', 'abort'], answer: 'run' },
        { ask: 'step', step: 'b', answer: 'run' },
      ],
      exec: [
        { stdout: 'a\n', pid: 101, procStart: '777' },
        { stdout: 'b\n', durationMs: 250 },
      ],
    });
    const result = await t.go();
    expect(result).toMatchObject({ status: 'completed', counts: { done: 2, skipped: 0, failed: 0, markedDone: 0 } });
    expect(t.journal.events).toMatchObject([
      { type: 'step.started', step: 'a', index: 0, title: 'Step A', seq: 1, prev: null, v: 1 },
      { type: 'command.started', step: 'a', attempt: 1, command: 'echo a', cwd: CWD, log: 'a.1.log' },
      { type: 'command.spawned', step: 'a', attempt: 1, pid: 101, procStart: '777' },
      { type: 'command.finished', step: 'a', attempt: 1, exitCode: 0, signal: null, ok: true, durationMs: 100, tail: 'a\n', outputBytes: 2 },
      { type: 'step.finished', step: 'a', index: 0, outcome: 'done', durationMs: 100 },
      { type: 'step.started', step: 'b', index: 1 },
      ...ranOk('b', 'echo b'),
      { type: 'step.finished', step: 'b', outcome: 'done', durationMs: 250 },
      { ...ended('completed', { done: 2 }), durationMs: 350 },
    ]);
    expect(t.journal.events.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect(t.journal.events[1]?.ts).toBe('2026-03-11T09:05:12.000Z');
    expect(t.journal.events[4]?.ts).toBe('2026-03-11T09:05:12.100Z');
    const first = t.executor.requests[0]!;
    expect(first).toMatchObject({ step: 'a', attempt: 1, command: 'echo a', shell: 'bash', cwd: CWD, env: {}, logFile: '/state/s1/a.1.log' });
    expect(first.timeoutMs).toBeUndefined();
    // The step is shown before it is offered, and the command is announced before it runs.
    expect(t.ui.calls.slice(0, 4).map((c) => c.call)).toEqual(['showStep', 'chooseStepAction', 'commandStarting', 'commandFinished']);
    expect(t.ui.calls[0]).toMatchObject({
      call: 'showStep',
      view: { position: 1, total: 2, title: 'Step A', command: 'echo a', mode: 'live', willExecute: true },
    });
  });

  it('journals command.spawned from onSpawn, between command.started and command.finished', async () => {
    const t = setup({ yaml: TWO, yes: true, exec: [{ pid: 7 }, { pid: 8 }] });
    await t.go();
    const types = t.journal.types();
    expect(types.slice(1, 4)).toEqual(['command.started', 'command.spawned', 'command.finished']);
    expect(t.journal.ofType('command.spawned').map((e) => e.pid)).toEqual([7, 8]);
    expect(t.journal.ofType('command.spawned')[0]).not.toHaveProperty('procStart');
  });

  it('skip without a reason: step.finished skipped, reason operator, no command', async () => {
    const t = setup({
      yaml: TWO,
      ui: [
        { ask: 'step', step: 'a', answer: 'skip' },
        { ask: 'text', message: /Why skip/, initial: '', answer: '  ' },
        { ask: 'step', step: 'b', answer: 'run' },
      ],
      exec: [{}],
    });
    const result = await t.go();
    expect(t.journal.events).toMatchObject([
      { type: 'step.started', step: 'a' },
      { type: 'step.finished', step: 'a', outcome: 'skipped', reason: 'operator' },
      { type: 'step.started', step: 'b' },
      ...ranOk('b', 'echo b'),
      { type: 'step.finished', step: 'b', outcome: 'done' },
      ended('completed', { done: 1, skipped: 1 }),
    ]);
    expect(t.executor.commands).toEqual(['echo b']);
    expect(result.status).toBe('completed');
  });

  it('skip with a reason: the reason is recorded, trimmed', async () => {
    const t = setup({
      yaml: TWO,
      ui: [
        { ask: 'step', step: 'a', answer: 'skip' },
        { ask: 'text', answer: ' host already up \n' },
        { ask: 'step', step: 'b', answer: 'skip' },
        { ask: 'text', answer: '' },
      ],
    });
    await t.go();
    expect(t.journal.ofType('step.finished').map((e) => [e.step, e.outcome, e.reason])).toEqual([
      ['a', 'skipped', 'operator: host already up'],
      ['b', 'skipped', 'operator'],
    ]);
    expect(t.executor.requests).toEqual([]);
  });

  it('mark done on a run step: decision journaled, outcome marked-done, command not run', async () => {
    const t = setup({
      yaml: TWO,
      ui: [
        { ask: 'step', step: 'a', answer: 'done' },
        { ask: 'step', step: 'b', answer: 'run' },
      ],
      exec: [{}],
    });
    const result = await t.go();
    expect(t.journal.events.slice(0, 3)).toMatchObject([
      { type: 'step.started', step: 'a' },
      { type: 'decision', step: 'a', question: 'Run the command?', answer: 'marked done: did it by hand' },
      { type: 'step.finished', step: 'a', outcome: 'marked-done', reason: 'done by hand' },
    ]);
    expect(t.executor.commands).toEqual(['echo b']);
    expect(result.counts).toEqual({ done: 1, skipped: 0, failed: 0, markedDone: 1 });
    expect(t.journal.events.at(-1)).toMatchObject(ended('completed', { done: 1, markedDone: 1 }));
  });

  it('manual step: offers done/skip/note/abort, asks its confirm, and a "no" goes back to the choice', async () => {
    const t = setup({
      yaml: book(`
  - id: announce
    title: Announce the incident
    confirm: Is the incident posted on the status page?`),
      ui: [
        { ask: 'step', step: 'announce', choices: ['done', 'skip', 'note', 'abort'], answer: 'done' },
        { ask: 'confirm', question: 'Is the incident posted on the status page?', answer: false },
        { ask: 'step', step: 'announce', answer: 'done' },
        { ask: 'confirm', answer: true },
      ],
    });
    const result = await t.go();
    expect(t.journal.events).toMatchObject([
      { type: 'step.started', step: 'announce' },
      { type: 'decision', step: 'announce', question: 'Is the incident posted on the status page?', answer: 'no' },
      { type: 'decision', step: 'announce', question: 'Is the incident posted on the status page?', answer: 'yes' },
      { type: 'step.finished', step: 'announce', outcome: 'done' },
      ended('completed', { done: 1 }),
    ]);
    expect(t.journal.events[3]).not.toHaveProperty('reason');
    expect(result.status).toBe('completed');
    expect(t.ui.calls[0]).toMatchObject({ call: 'showStep', view: { willExecute: false } });
    expect(t.ui.calls[0]).not.toHaveProperty('view.command');
  });

  it('manual step without confirm: done at once', async () => {
    const t = setup({
      yaml: book(`
  - id: call
    title: Call the provider`),
      ui: [{ ask: 'step', answer: 'done' }],
    });
    await t.go();
    expect(t.journal.types()).toEqual(['step.started', 'step.finished', 'session.ended']);
    expect(t.journal.events[1]).toMatchObject({ outcome: 'done' });
  });

  it('note: journaled with its step, then the choice is asked again; an empty note records nothing', async () => {
    const t = setup({
      yaml: TWO,
      ui: [
        { ask: 'step', step: 'a', answer: 'note' },
        { ask: 'text', message: /Note/, answer: '  DC ticket #4711 opened  ' },
        { ask: 'step', step: 'a', answer: 'note' },
        { ask: 'text', answer: '   ' },
        { ask: 'step', step: 'a', answer: 'run' },
        { ask: 'step', step: 'b', answer: 'run' },
      ],
      exec: [{}, {}],
    });
    await t.go();
    expect(t.journal.events.slice(0, 3)).toMatchObject([
      { type: 'step.started', step: 'a' },
      { type: 'note', text: 'DC ticket #4711 opened', step: 'a', by: 'operator', source: 'walk' },
      { type: 'command.started', step: 'a' },
    ]);
    expect(t.journal.ofType('note')).toHaveLength(1);
  });

  it('abort at the choice: decision, session.ended aborted, later steps never walked', async () => {
    const t = setup({
      yaml: TWO,
      ui: [
        { ask: 'step', step: 'a', answer: 'abort' },
        { ask: 'confirm', question: /^Abort the runbook\?/, answer: true },
        { ask: 'text', message: /^Why abort\?/, answer: 'provider says the disk is fine ' },
      ],
    });
    const result = await t.go();
    expect(t.journal.events).toMatchObject([
      { type: 'step.started', step: 'a' },
      { type: 'decision', step: 'a', question: 'Abort the runbook?', answer: 'yes' },
      { type: 'decision', step: 'a', question: 'What next?', answer: 'abort' },
      { ...ended('aborted'), reason: 'provider says the disk is fine' },
    ]);
    expect(result).toMatchObject({ status: 'aborted', stoppedAt: 'a', counts: { done: 0, skipped: 0, failed: 0, markedDone: 0 } });
  });

  it('aborts from a manual step too', async () => {
    const t = setup({
      yaml: book(`
  - id: m
    title: Manual`),
      ui: [
        { ask: 'step', answer: 'abort' },
        { ask: 'confirm', question: /^Abort the runbook\?/, answer: true },
        { ask: 'text', message: /^Why abort\?/, answer: '' },
      ],
    });
    expect(await t.go()).toMatchObject({ status: 'aborted', stoppedAt: 'm' });
    expect(t.journal.ofType('session.ended')[0]).not.toHaveProperty('reason');
  });
});

describe('the walk: failures', () => {
  it('retry after a failure: decision journaled, attempt 2 runs and the step is done', async () => {
    const t = setup({
      yaml: TWO,
      logs: true,
      ui: [
        { ask: 'step', step: 'a', answer: 'run' },
        { ask: 'failure', step: 'a', failure: 'exit code 1', answer: 'retry' },
        { ask: 'step', step: 'b', answer: 'run' },
      ],
      exec: [{ exitCode: 1, stderr: 'boom\n' }, {}, {}],
    });
    const result = await t.go();
    expect(t.journal.events.slice(0, 9)).toMatchObject([
      { type: 'step.started', step: 'a' },
      { type: 'command.started', step: 'a', attempt: 1, log: 'a.1.log' },
      { type: 'command.spawned', step: 'a', attempt: 1 },
      { type: 'command.finished', step: 'a', attempt: 1, ok: false, exitCode: 1, reason: 'exit code 1', tail: 'boom\n' },
      { type: 'decision', step: 'a', question: 'After failure (exit code 1): what next?', answer: 'retry' },
      { type: 'command.started', step: 'a', attempt: 2, log: 'a.2.log' },
      { type: 'command.spawned', step: 'a', attempt: 2 },
      { type: 'command.finished', step: 'a', attempt: 2, ok: true },
      { type: 'step.finished', step: 'a', outcome: 'done', durationMs: 200 },
    ]);
    expect(t.executor.requests.map((r) => [r.step, r.attempt])).toEqual([
      ['a', 1],
      ['a', 2],
      ['b', 1],
    ]);
    // The failure question carries the reason: no separate warning repeats it.
    expect(t.ui.messages('warn')).toEqual([]);
    expect(result.status).toBe('completed');
  });

  it('edit and retry: command.edited with the templates, and the new command runs', async () => {
    const t = setup({
      yaml: book(
        `
  - id: restart
    title: Restart the MTA on {{host}}
    run: ssh {{host}} systemctl restart postfx`,
        `  host: { default: mail.example.org }`,
      ),
      ui: [
        { ask: 'step', answer: 'run' },
        { ask: 'failure', failure: 'exit code 5', answer: 'edit' },
        { ask: 'text', message: /Edit the command/, initial: 'ssh {{host}} systemctl restart postfx', answer: ' ssh {{host}} systemctl restart postfix ' },
        { ask: 'confirm', question: 'Run the edited command?', answer: true },
      ],
      exec: [{ exitCode: 5 }, {}],
    });
    await t.go();
    expect(t.journal.events).toMatchObject([
      { type: 'var.set', name: 'host', value: 'mail.example.org', source: 'default', step: 'restart' },
      { type: 'step.started', step: 'restart', title: 'Restart the MTA on mail.example.org' },
      { type: 'command.started', attempt: 1, command: 'ssh mail.example.org systemctl restart postfx' },
      { type: 'command.spawned', attempt: 1 },
      { type: 'command.finished', attempt: 1, ok: false },
      { type: 'decision', answer: 'edit' },
      { type: 'decision', question: 'Run the edited command?', answer: 'yes' },
      { type: 'command.edited', step: 'restart', attempt: 2, from: 'ssh {{host}} systemctl restart postfx', to: 'ssh {{host}} systemctl restart postfix' },
      { type: 'command.started', attempt: 2, command: 'ssh mail.example.org systemctl restart postfix' },
      { type: 'command.spawned', attempt: 2 },
      { type: 'command.finished', attempt: 2, ok: true },
      { type: 'step.finished', outcome: 'done' },
      ended('completed', { done: 1 }),
    ]);
    expect(t.executor.commands).toEqual(['ssh mail.example.org systemctl restart postfx', 'ssh mail.example.org systemctl restart postfix']);
  });

  it('after an edit, the UI is shown the command that runs, not the first one', async () => {
    const t = setup({
      yaml: TWO,
      ui: [
        { ask: 'step', answer: 'run' },
        { ask: 'failure', answer: 'edit' },
        { ask: 'text', answer: 'echo fixed' },
        { ask: 'confirm', question: 'Run the edited command?', answer: true },
        { ask: 'failure', answer: 'skip' },
        { ask: 'step', answer: 'done' },
      ],
      exec: [{ exitCode: 1 }, { exitCode: 1 }],
    });
    await t.go();
    const shown = t.ui.calls.flatMap((c) =>
      c.call === 'commandStarting' || c.call === 'commandFinished' || c.call === 'chooseFailureAction' ? [`${c.call}: ${c.view.command ?? ''}`] : [],
    );
    expect(shown).toEqual([
      'commandStarting: echo a',
      'commandFinished: echo a',
      'chooseFailureAction: echo a',
      'commandStarting: echo fixed',
      'commandFinished: echo fixed',
      'chooseFailureAction: echo fixed',
    ]);
  });

  it('an edit that changes nothing records no command.edited, runs nothing, and asks again', async () => {
    const t = setup({
      yaml: TWO,
      ui: [
        { ask: 'step', answer: 'run' },
        { ask: 'failure', answer: 'edit' },
        { ask: 'text', answer: 'echo a' },
        { ask: 'failure', answer: 'skip' },
        { ask: 'step', answer: 'done' },
      ],
      exec: [{ exitCode: 1 }],
    });
    await t.go();
    expect(t.journal.ofType('command.edited')).toEqual([]);
    expect(t.executor.commands).toEqual(['echo a']);
    expect(t.ui.messages('info')).toContain('The command is unchanged: nothing was run.');
  });

  it('an edited command is shown as it will run and runs only once confirmed: a no records no edit and runs nothing', async () => {
    const t = setup({
      yaml: TWO,
      ui: [
        { ask: 'step', answer: 'run' },
        { ask: 'failure', answer: 'edit' },
        { ask: 'text', answer: 'echo b' },
        { ask: 'confirm', question: 'Run the edited command?', answer: false },
        { ask: 'failure', answer: 'skip' },
        { ask: 'step', answer: 'done' },
      ],
      exec: [{ exitCode: 1 }],
    });
    await t.go();
    expect(t.executor.commands).toEqual(['echo a']);
    expect(t.journal.ofType('command.edited')).toEqual([]);
    expect(t.journal.events).toContainEqual(expect.objectContaining({ type: 'decision', question: 'Run the edited command?', answer: 'no' }));
    const shown = t.ui.calls.flatMap((c) => (c.call === 'showStep' && c.view.part === 'command' ? [c.view.command] : []));
    expect(shown).toContain('echo b');
  });

  it('a cancelled edit (the editor failed) records no edit, runs nothing, and asks again', async () => {
    const t = setup({
      yaml: TWO,
      ui: [
        { ask: 'step', answer: 'run' },
        { ask: 'failure', answer: 'edit' },
        { ask: 'failure', answer: 'skip' },
        { ask: 'step', answer: 'done' },
      ],
      exec: [{ exitCode: 1 }],
    });
    Object.assign(t.ui, { editCommand: async () => undefined });
    await t.go();
    expect(t.executor.commands).toEqual(['echo a']);
    expect(t.journal.ofType('command.edited')).toEqual([]);
  });

  it('skip after a failure: outcome skipped, reason carries the failure', async () => {
    const t = setup({
      yaml: TWO,
      ui: [
        { ask: 'step', answer: 'run' },
        { ask: 'failure', answer: 'skip' },
        { ask: 'step', answer: 'done' },
      ],
      exec: [{ exitCode: 2 }],
    });
    const result = await t.go();
    expect(t.journal.ofType('step.finished')[0]).toMatchObject({ step: 'a', outcome: 'skipped', reason: 'after failure: exit code 2' });
    expect(result.status).toBe('completed');
  });

  it('mark done after a failure: outcome marked-done, reason carries the failure', async () => {
    const t = setup({
      yaml: TWO,
      ui: [
        { ask: 'step', answer: 'run' },
        { ask: 'failure', answer: 'done' },
        { ask: 'step', answer: 'done' },
      ],
      exec: [{ exitCode: 2 }],
    });
    await t.go();
    expect(t.journal.ofType('step.finished')[0]).toMatchObject({ outcome: 'marked-done', reason: 'done by hand after failure: exit code 2' });
  });

  it('abort after a failure: the step is failed, the session aborted', async () => {
    const t = setup({
      yaml: TWO,
      ui: [
        { ask: 'step', answer: 'run' },
        { ask: 'failure', answer: 'abort' },
        { ask: 'confirm', question: /^Abort the runbook\?/, answer: true },
        { ask: 'text', message: /^Why abort\?/, answer: '' },
      ],
      exec: [{ exitCode: 3, durationMs: 400 }],
    });
    const result = await t.go();
    expect(t.journal.events).toMatchObject([
      { type: 'step.started', step: 'a' },
      { type: 'command.started' },
      { type: 'command.spawned' },
      { type: 'command.finished', ok: false, reason: 'exit code 3' },
      { type: 'decision', question: 'Abort the runbook?', answer: 'yes' },
      { type: 'decision', answer: 'abort' },
      // The step lasted as long as its command: the post-mortem's table shows it.
      { type: 'step.finished', step: 'a', outcome: 'failed', reason: 'exit code 3', durationMs: 400 },
      ended('aborted', { failed: 1 }),
    ]);
    expect(result).toMatchObject({ status: 'aborted', stoppedAt: 'a', counts: { failed: 1 } });
  });

  it('timeout: the executor timedOut becomes the failure reason', async () => {
    const t = setup({
      yaml: book(`
  - id: dns
    title: DNS
    run: ./dns-set
    timeout: 10m
    on_failure: continue`),
      exec: [{ timedOut: true, exitCode: null, signal: 'SIGTERM', durationMs: 600_000 }],
      ui: [{ ask: 'step', answer: 'run' }],
    });
    const result = await t.go();
    expect(t.executor.requests[0]?.timeoutMs).toBe(600_000);
    expect(t.journal.ofType('command.finished')[0]).toMatchObject({
      ok: false,
      timedOut: true,
      exitCode: null,
      signal: 'SIGTERM',
      reason: 'timed out after 10m',
      durationMs: 600_000,
    });
    expect(t.journal.ofType('step.finished')[0]).toMatchObject({ outcome: 'failed', reason: 'timed out after 10m' });
    expect(result.status).toBe('failed');
  });

  it.each([
    ['exit code not in the list', 'expect: { exit: [1, 2] }', { exitCode: 0 }, 'exit code 0, expected 1 or 2'],
    ['a single expected exit code', 'expect: { exit: 3 }', { exitCode: 0 }, 'exit code 0, expected 3'],
    ['default expect is exit 0', '', { exitCode: 7 }, 'exit code 7'],
    ['stdout regex', "expect: { stdout: '^ok$' }", { stdout: 'nope\n' }, 'stdout did not match /^ok$/'],
    ['stderr regex', 'expect: { stderr: warn }', { stderr: 'all fine' }, 'stderr did not match /warn/'],
    ['no exit code, no signal', '', { exitCode: null }, 'exit code ?'],
    ['killed by a signal', '', { exitCode: null, signal: 'SIGKILL' }, 'killed by SIGKILL'],
    ['could not start', '', { exitCode: null, spawnError: 'cwd /nowhere does not exist' }, 'could not start: cwd /nowhere does not exist'],
  ] as const)('expect mismatch, %s: the step fails with a reason', async (_name, expectYaml, scripted, reason) => {
    const t = setup({
      yaml: book(`
  - id: s
    title: S
    run: check
    on_failure: continue
    ${expectYaml}`),
      ui: [{ ask: 'step', answer: 'run' }],
      exec: [scripted],
    });
    await t.go();
    expect(t.journal.ofType('command.finished')[0]).toMatchObject({ ok: false, reason });
    expect(t.journal.ofType('step.finished')[0]).toMatchObject({ outcome: 'failed', reason });
  });

  it('a command that could not start journals no command.spawned', async () => {
    const t = setup({
      yaml: book(`
  - id: s
    title: S
    run: check
    on_failure: continue`),
      ui: [{ ask: 'step', answer: 'run' }],
      exec: [{ exitCode: null, spawnError: 'bash: not found' }],
    });
    await t.go();
    expect(t.journal.types()).toEqual(['step.started', 'command.started', 'command.finished', 'step.finished', 'session.ended']);
  });

  it.each([
    ['exit code in the list', 'expect: { exit: [1, 2] }', { exitCode: 2 }],
    ['stdout regex on any line', "expect: { stdout: '^ok$' }", { stdout: 'checking\nok\n' }],
    ['stdout and stderr regexes', 'expect: { stdout: up, stderr: warn }', { stdout: 'up', stderr: 'warn: slow' }],
  ] as const)('expect met, %s: the step is done', async (_name, expectYaml, scripted) => {
    const t = setup({
      yaml: book(`
  - id: s
    title: S
    run: check
    ${expectYaml}`),
      ui: [{ ask: 'step', answer: 'run' }],
      exec: [scripted],
    });
    await t.go();
    expect(t.journal.ofType('command.finished')[0]).toMatchObject({ ok: true });
    expect(t.journal.ofType('command.finished')[0]).not.toHaveProperty('reason');
    expect(t.journal.ofType('step.finished')[0]).toMatchObject({ outcome: 'done' });
  });

  it('on_failure abort: no question, the step fails and the session is aborted', async () => {
    const t = setup({
      yaml: book(`
  - id: a
    title: A
    run: restore
    on_failure: abort
  - id: b
    title: B
    run: echo b`),
      ui: [{ ask: 'step', answer: 'run' }],
      exec: [{ exitCode: 1, durationMs: 1500 }],
    });
    const result = await t.go();
    expect(t.journal.events).toMatchObject([
      { type: 'step.started', step: 'a' },
      { type: 'command.started', step: 'a' },
      { type: 'command.spawned', step: 'a' },
      { type: 'command.finished', step: 'a', ok: false },
      { type: 'step.finished', step: 'a', outcome: 'failed', reason: 'exit code 1 (on_failure: abort)', durationMs: 1500 },
      ended('aborted', { failed: 1 }),
    ]);
    expect(result).toMatchObject({ status: 'aborted', stoppedAt: 'a' });
  });

  it('on_failure continue: the step fails, the walk goes on, the session ends failed', async () => {
    const t = setup({
      yaml: book(`
  - id: a
    title: A
    run: restore
    on_failure: continue
  - id: b
    title: B
    run: echo b`),
      ui: [
        { ask: 'step', answer: 'run' },
        { ask: 'step', answer: 'run' },
      ],
      exec: [{ exitCode: 1 }, {}],
    });
    const result = await t.go();
    expect(t.journal.events).toMatchObject([
      { type: 'step.started', step: 'a' },
      { type: 'command.started', step: 'a' },
      { type: 'command.spawned', step: 'a' },
      { type: 'command.finished', step: 'a', ok: false },
      { type: 'step.finished', step: 'a', outcome: 'failed', reason: 'exit code 1' },
      { type: 'step.started', step: 'b' },
      ...ranOk('b', 'echo b'),
      { type: 'step.finished', step: 'b', outcome: 'done' },
      ended('failed', { done: 1, failed: 1 }),
    ]);
    expect(result).toMatchObject({ status: 'failed', counts: { done: 1, failed: 1 } });
    expect(result).not.toHaveProperty('stoppedAt');
  });

  it.each(['abort', 'continue'] as const)('an interrupted command asks what next even with on_failure %s', async (policy) => {
    const t = setup({
      yaml: book(`
  - id: a
    title: A
    run: rsync -a src dst
    on_failure: ${policy}`),
      ui: [
        { ask: 'step', answer: 'run' },
        { ask: 'failure', failure: 'interrupted (Ctrl-C)', answer: 'retry' },
      ],
      exec: [{ interrupted: true, exitCode: null, signal: 'SIGINT' }, {}],
    });
    const result = await t.go();
    expect(t.journal.events).toMatchObject([
      { type: 'step.started' },
      { type: 'command.started', attempt: 1 },
      { type: 'command.spawned', attempt: 1 },
      { type: 'command.finished', attempt: 1, ok: false, interrupted: true, reason: 'interrupted (Ctrl-C)' },
      { type: 'decision', question: 'After failure (interrupted (Ctrl-C)): what next?', answer: 'retry' },
      ...ranOk('a', 'rsync -a src dst', 2),
      { type: 'step.finished', outcome: 'done' },
      ended('completed', { done: 1 }),
    ]);
    expect(result.status).toBe('completed');
  });

  it('with --yes, an interrupted command aborts (the default answer)', async () => {
    const t = setup({ yaml: TWO, yes: true, exec: [{ interrupted: true, exitCode: null }] });
    const result = await t.go();
    expect(t.journal.ofType('decision')).toMatchObject([{ answer: 'abort' }]);
    expect(result.status).toBe('aborted');
  });
});

describe('the walk: confirm after a command', () => {
  const CONFIRMED = book(`
  - id: restart
    title: Restart
    run: systemctl restart postfix
    confirm: Is mail flowing?
  - id: b
    title: B`);

  it('a yes after success: decision yes, done', async () => {
    const t = setup({
      yaml: CONFIRMED,
      ui: [
        { ask: 'step', answer: 'run' },
        { ask: 'confirm', question: 'Is mail flowing?', answer: true },
        { ask: 'step', answer: 'done' },
      ],
      exec: [{}],
    });
    await t.go();
    expect(t.journal.events.slice(0, 6)).toMatchObject([
      { type: 'step.started' },
      { type: 'command.started' },
      { type: 'command.spawned' },
      { type: 'command.finished', ok: true },
      { type: 'decision', step: 'restart', question: 'Is mail flowing?', answer: 'yes' },
      { type: 'step.finished', step: 'restart', outcome: 'done' },
    ]);
  });

  it('is not asked when the command failed', async () => {
    const t = setup({
      yaml: CONFIRMED,
      ui: [
        { ask: 'step', answer: 'run' },
        { ask: 'failure', answer: 'skip' },
        { ask: 'step', answer: 'done' },
      ],
      exec: [{ exitCode: 1 }],
    });
    await t.go();
    expect(t.ui.calls.some((c) => c.call === 'confirm')).toBe(false);
  });

  it('a no is a failure like any other: the operator chooses what next', async () => {
    const t = setup({
      yaml: CONFIRMED,
      ui: [
        { ask: 'step', answer: 'run' },
        { ask: 'confirm', answer: false },
        { ask: 'failure', failure: 'not confirmed: Is mail flowing?', answer: 'retry' },
        { ask: 'confirm', answer: true },
        { ask: 'step', answer: 'done' },
      ],
      exec: [{}, {}],
    });
    await t.go();
    expect(t.journal.events.slice(0, 11)).toMatchObject([
      { type: 'step.started' },
      ...ranOk('restart', 'systemctl restart postfix', 1),
      { type: 'decision', question: 'Is mail flowing?', answer: 'no' },
      { type: 'decision', question: 'After failure (not confirmed: Is mail flowing?): what next?', answer: 'retry' },
      ...ranOk('restart', 'systemctl restart postfix', 2),
      { type: 'decision', question: 'Is mail flowing?', answer: 'yes' },
      { type: 'step.finished', outcome: 'done' },
    ]);
  });

  it('a no with on_failure abort aborts the walk', async () => {
    const t = setup({
      yaml: book(`
  - id: restart
    title: Restart
    run: systemctl restart postfix
    confirm: Is mail flowing?
    on_failure: abort
  - id: b
    title: B`),
      ui: [
        { ask: 'step', answer: 'run' },
        { ask: 'confirm', answer: false },
      ],
      exec: [{}],
    });
    const result = await t.go();
    expect(t.journal.ofType('step.finished')).toMatchObject([{ outcome: 'failed', reason: 'not confirmed: Is mail flowing? (on_failure: abort)' }]);
    expect(result.status).toBe('aborted');
  });
});

describe('the walk: capture and when', () => {
  it('capture: trimmed stdout becomes a var for a later command, journaled with source capture', async () => {
    const t = setup({
      yaml: book(`
  - id: find
    title: Find the host
    run: hostname
    capture: host
  - id: use
    title: Use {{host}}
    run: ssh {{host}} uptime`),
      yes: true,
      exec: [{ stdout: '  web-1.example.org \n' }, {}],
    });
    await t.go();
    expect(t.journal.events).toMatchObject([
      { type: 'step.started', step: 'find' },
      ...ranOk('find', 'hostname'),
      { type: 'var.set', name: 'host', value: 'web-1.example.org', source: 'capture', step: 'find' },
      { type: 'step.finished', step: 'find', outcome: 'done' },
      { type: 'step.started', step: 'use', title: 'Use web-1.example.org' },
      ...ranOk('use', 'ssh web-1.example.org uptime'),
      { type: 'step.finished', step: 'use', outcome: 'done' },
      ended('completed', { done: 2 }),
    ]);
    expect(t.journal.ofType('var.set')[0]).not.toHaveProperty('secret');
    expect(t.executor.commands[1]).toBe('ssh web-1.example.org uptime');
  });

  it('says when capture saw only the beginning of an output too large to keep', async () => {
    const t = setup({
      yaml: book(`
  - id: find
    title: Find the host
    run: hostname
    capture: host`),
      yes: true,
      exec: [{ stdout: 'web-1\n', truncated: true }],
    });
    await t.go();
    expect(t.ui.messages('warn')).toEqual([expect.stringContaining('expect and capture saw only its beginning')]);
  });

  it('a capture whose step was skipped leaves the later command unable to run', async () => {
    const t = setup({
      yaml: book(`
  - id: find
    title: Find
    run: hostname
    capture: host
  - id: use
    title: Use
    run: ssh {{host}} uptime`),
      ui: [
        { ask: 'step', answer: 'skip' },
        { ask: 'text', answer: '' },
        { ask: 'step', answer: 'run' },
        { ask: 'failure', failure: 'cannot run: no value for {{host}}', answer: 'skip' },
      ],
    });
    await t.go();
    expect(t.executor.requests).toEqual([]);
    expect(t.journal.types()).toEqual(['step.started', 'step.finished', 'step.started', 'decision', 'step.finished', 'session.ended']);
  });

  it('a command that cannot run uses no attempt number: the first command started is attempt 1', async () => {
    const t = setup({
      yaml: book(`
  - { id: find, title: Find, run: hostname, capture: host }
  - { id: use, title: Use, run: 'ssh {{host}} uptime' }`),
      logs: true,
      ui: [
        { ask: 'step', answer: 'skip' },
        { ask: 'text', answer: '' },
        { ask: 'step', answer: 'run' },
        { ask: 'failure', failure: 'cannot run: no value for {{host}}', answer: 'edit' },
        { ask: 'text', initial: 'ssh {{host}} uptime', answer: 'ssh mail uptime' },
        { ask: 'confirm', question: 'Run the edited command?', answer: true },
      ],
      exec: [{}],
    });
    await t.go();
    expect(t.journal.events.slice(2)).toMatchObject([
      { type: 'step.started', step: 'use' },
      { type: 'decision', answer: 'edit' },
      { type: 'decision', question: 'Run the edited command?', answer: 'yes' },
      { type: 'command.edited', attempt: 1, from: 'ssh {{host}} uptime', to: 'ssh mail uptime' },
      { type: 'command.started', attempt: 1, command: 'ssh mail uptime', log: 'use.1.log' },
      { type: 'command.spawned', attempt: 1 },
      { type: 'command.finished', attempt: 1, ok: true },
      { type: 'step.finished', outcome: 'done' },
      ended('completed', { done: 1, skipped: 1 }),
    ]);
  });

  const WHEN = book(
    `
  - id: reuse
    title: Point the old name at the new IP
    when: plan == reuse
    run: ./dns-set reuse
  - id: rename
    title: Switch names
    when: plan != reuse
    run: ./dns-set rename`,
    `  plan: { choices: { reuse: Keep the name, rename: New name } }`,
  );

  it('when true runs the step; when false skips it with a reason and runs nothing', async () => {
    const t = setup({ yaml: WHEN, cli: { plan: 'rename' }, ui: [{ ask: 'step', step: 'rename', answer: 'run' }], exec: [{}] });
    const result = await t.go();
    expect(t.journal.events).toMatchObject([
      { type: 'step.finished', step: 'reuse', index: 0, outcome: 'skipped', reason: 'when: plan == reuse is false (plan is rename)', durationMs: 0 },
      { type: 'step.started', step: 'rename' },
      ...ranOk('rename', './dns-set rename'),
      { type: 'step.finished', step: 'rename', outcome: 'done' },
      ended('completed', { done: 1, skipped: 1 }),
    ]);
    expect(t.executor.commands).toEqual(['./dns-set rename']);
    expect(t.ui.messages('info')).toEqual(['[1/2] Point the old name at the new IP: skipped, plan is rename (plan == reuse)']);
    expect(result.counts).toMatchObject({ done: 1, skipped: 1 });
  });

  it('the var of a when is asked at the first step that needs it', async () => {
    const t = setup({
      yaml: WHEN,
      ui: [
        { ask: 'var', name: 'plan', answer: 'reuse' },
        { ask: 'step', step: 'reuse', answer: 'run' },
      ],
      exec: [{}],
    });
    await t.go();
    expect(t.journal.events).toMatchObject([
      { type: 'var.set', name: 'plan', value: 'reuse', source: 'prompt', step: 'reuse' },
      { type: 'step.started', step: 'reuse' },
      ...ranOk('reuse', './dns-set reuse'),
      { type: 'step.finished', step: 'reuse', outcome: 'done' },
      { type: 'step.finished', step: 'rename', outcome: 'skipped', reason: 'when: plan != reuse is false (plan is reuse)' },
      ended('completed', { done: 1, skipped: 1 }),
    ]);
  });
});

describe('the walk: --from and resume', () => {
  const THREE = book(`
  - id: a
    title: A
    run: echo a
  - id: b
    title: B
  - id: c
    title: C
    run: echo c`);

  it('--from: earlier steps are journaled skipped with the reason, never shown', async () => {
    const t = setup({ yaml: THREE, from: 'c', ui: [{ ask: 'step', step: 'c', answer: 'run' }], exec: [{}] });
    const result = await t.go();
    expect(t.journal.events).toMatchObject([
      { type: 'step.finished', step: 'a', index: 0, outcome: 'skipped', reason: '--from c', durationMs: 0 },
      { type: 'step.finished', step: 'b', index: 1, outcome: 'skipped', reason: '--from c' },
      { type: 'step.started', step: 'c' },
      ...ranOk('c', 'echo c'),
      { type: 'step.finished', step: 'c', outcome: 'done' },
      ended('completed', { done: 1, skipped: 2 }),
    ]);
    expect(t.executor.commands).toEqual(['echo c']);
    expect(result.counts).toEqual({ done: 1, skipped: 2, failed: 0, markedDone: 0 });
  });

  it('resume: finished steps are not walked, counts include them, attempts go on numbering', async () => {
    const t = setup({
      yaml: THREE,
      finished: { a: 'failed', b: 'marked-done' },
      attempts: { a: 2, c: 1 },
      ui: [{ ask: 'step', step: 'c', answer: 'run' }],
      exec: [{}],
    });
    const result = await t.go();
    expect(t.journal.events).toMatchObject([
      { type: 'step.started', step: 'c' },
      ...ranOk('c', 'echo c', 2),
      { type: 'step.finished', step: 'c', outcome: 'done' },
      ended('failed', { done: 1, failed: 1, markedDone: 1 }),
    ]);
    expect(t.executor.requests[0]?.attempt).toBe(2);
    expect(result).toMatchObject({ status: 'failed', counts: { done: 1, skipped: 0, failed: 1, markedDone: 1 } });
  });

  it('resume of a session whose every step is finished only ends it', async () => {
    const t = setup({ yaml: THREE, finished: { a: 'done', b: 'done', c: 'skipped' } });
    const result = await t.go();
    expect(t.journal.events).toMatchObject([ended('completed', { done: 2, skipped: 1 })]);
    expect(result.status).toBe('completed');
  });
});

describe('the walk: Ctrl-C at a prompt', () => {
  it('at the step choice: session.paused, result paused, no session.ended', async () => {
    const t = setup({
      yaml: TWO,
      ui: [
        { ask: 'step', step: 'a', answer: 'run' },
        { ask: 'step', step: 'b', answer: INTERRUPT },
      ],
      exec: [{}],
    });
    const result = await t.go();
    expect(t.journal.events.slice(-2)).toMatchObject([
      { type: 'step.started', step: 'b' },
      { type: 'session.paused', step: 'b', reason: 'Ctrl-C at a prompt' },
    ]);
    expect(t.journal.ofType('session.ended')).toEqual([]);
    expect(result).toMatchObject({ status: 'paused', stoppedAt: 'b', counts: { done: 1 } });
  });

  it('at a var prompt, before the step starts', async () => {
    const t = setup({
      yaml: book(
        `
  - id: order
    title: Order a server
    ask: [new_ip]`,
        `  new_ip: { prompt: New IP }`,
      ),
      ui: [{ ask: 'var', name: 'new_ip', answer: INTERRUPT }],
    });
    const result = await t.go();
    expect(t.journal.events).toMatchObject([{ type: 'session.paused', step: 'order' }]);
    expect(result.status).toBe('paused');
  });

  it('at the question after a failure', async () => {
    const t = setup({
      yaml: TWO,
      ui: [
        { ask: 'step', answer: 'run' },
        { ask: 'failure', answer: INTERRUPT },
      ],
      exec: [{ exitCode: 1 }],
    });
    const result = await t.go();
    expect(t.journal.types()).toEqual(['step.started', 'command.started', 'command.spawned', 'command.finished', 'session.paused']);
    expect(result).toMatchObject({ status: 'paused', stoppedAt: 'a' });
  });

  it('at a confirm, a note or a skip reason', async () => {
    for (const script of [
      [
        { ask: 'step', answer: 'note' },
        { ask: 'text', answer: INTERRUPT },
      ],
      [
        { ask: 'step', answer: 'skip' },
        { ask: 'text', answer: INTERRUPT },
      ],
      [
        { ask: 'step', answer: 'done' },
        { ask: 'confirm', answer: INTERRUPT },
      ],
    ] satisfies Expected[][]) {
      const t = setup({ yaml: book(`  - { id: m, title: M, confirm: Done? }`), ui: script });
      expect((await t.go()).status).toBe('paused');
      expect(t.journal.types()).toEqual(['step.started', 'session.paused']);
    }
  });
});

describe('the walk: rehearsal', () => {
  const REHEARSED = book(`
  - id: write
    title: Write
    run: rm -rf /var/spool/old
  - id: look
    title: Look
    run: ping -c 1 mail
    safe: true`);

  it('never calls the executor, journals command.rehearsed, and says so', async () => {
    const t = setup({
      yaml: REHEARSED,
      mode: 'rehearsal',
      ui: [
        { ask: 'step', answer: 'run' },
        { ask: 'step', answer: 'run' },
      ],
    });
    const result = await t.go();
    expect(t.executor.requests).toEqual([]);
    expect(t.journal.events).toMatchObject([
      { type: 'step.started', step: 'write' },
      { type: 'command.rehearsed', step: 'write', command: 'rm -rf /var/spool/old' },
      { type: 'step.finished', step: 'write', outcome: 'done' },
      { type: 'step.started', step: 'look' },
      { type: 'command.rehearsed', step: 'look', command: 'ping -c 1 mail' },
      { type: 'step.finished', step: 'look', outcome: 'done' },
      ended('completed', { done: 2 }),
    ]);
    expect(t.ui.messages('info')).toEqual(['rehearsal: not executed', 'rehearsal: not executed (safe step: add --run-safe to execute it)']);
    expect(t.ui.calls.filter((c) => c.call === 'showStep').map((c) => c.call === 'showStep' && c.view.willExecute)).toEqual([false, false]);
    expect(result.status).toBe('completed');
  });

  it('with --run-safe executes only the safe step', async () => {
    const t = setup({ yaml: REHEARSED, mode: 'rehearsal', runSafe: true, yes: true, exec: [{}] });
    await t.go();
    expect(t.executor.commands).toEqual(['ping -c 1 mail']);
    expect(t.journal.events).toMatchObject([
      { type: 'step.started', step: 'write' },
      { type: 'command.rehearsed', step: 'write' },
      { type: 'step.finished', step: 'write', outcome: 'done' },
      { type: 'step.started', step: 'look' },
      ...ranOk('look', 'ping -c 1 mail'),
      { type: 'step.finished', step: 'look', outcome: 'done' },
      ended('completed', { done: 2 }),
    ]);
    expect(t.ui.calls.filter((c) => c.call === 'showStep').map((c) => c.call === 'showStep' && c.view.willExecute)).toEqual([false, true]);
  });

  it('a rehearsed capture gives the var a visible placeholder for later steps', async () => {
    const t = setup({
      yaml: book(`
  - id: find
    title: Find
    run: hostname
    capture: host
  - id: use
    title: Use
    run: ssh {{host}} uptime`),
      mode: 'rehearsal',
      yes: true,
    });
    await t.go();
    expect(t.journal.events).toMatchObject([
      { type: 'step.started', step: 'find' },
      { type: 'command.rehearsed', step: 'find', command: 'hostname' },
      { type: 'var.set', name: 'host', value: '<host>', source: 'placeholder', step: 'find' },
      { type: 'step.finished', step: 'find' },
      { type: 'step.started', step: 'use' },
      { type: 'command.rehearsed', step: 'use', command: "ssh '<host>' uptime" },
      { type: 'step.finished', step: 'use' },
      ended('completed', { done: 2 }),
    ]);
  });

  it('asks the confirm of a rehearsed command; a no goes back to the choice', async () => {
    const t = setup({
      yaml: book(`  - { id: r, title: R, run: restart, confirm: Up? }`),
      mode: 'rehearsal',
      ui: [
        { ask: 'step', answer: 'run' },
        { ask: 'confirm', answer: false },
        { ask: 'step', answer: 'skip' },
        { ask: 'text', answer: 'drill' },
      ],
    });
    await t.go();
    expect(t.journal.events).toMatchObject([
      { type: 'step.started' },
      { type: 'command.rehearsed' },
      { type: 'decision', question: 'Up?', answer: 'no' },
      { type: 'step.finished', outcome: 'skipped', reason: 'operator: drill' },
      ended('completed', { skipped: 1 }),
    ]);
  });
});

describe('the walk: vars', () => {
  const ASKED = book(
    `
  - id: a
    title: A
    run: echo a
  - id: b
    title: B
    run: ip addr add {{new_ip}} dev eth0
  - id: c
    title: C
    run: ping {{new_ip}}`,
    `  new_ip: { prompt: IPv4 address of the new server, pattern: '^\\d{1,3}(\\.\\d{1,3}){3}$' }`,
  );

  it('asked at the first step that needs it, once; a value breaking the pattern is refused and asked again', async () => {
    const t = setup({
      yaml: ASKED,
      ui: [
        { ask: 'step', step: 'a', answer: 'run' },
        { ask: 'var', name: 'new_ip', answer: 'not-an-ip' },
        { ask: 'var', name: 'new_ip', answer: '10.0.0.7' },
        { ask: 'step', step: 'b', answer: 'run' },
        { ask: 'step', step: 'c', answer: 'run' },
      ],
      exec: [{}, {}, {}],
    });
    await t.go();
    expect(t.journal.events).toMatchObject([
      { type: 'step.started', step: 'a' },
      ...ranOk('a', 'echo a'),
      { type: 'step.finished', step: 'a' },
      { type: 'var.set', name: 'new_ip', value: '10.0.0.7', source: 'prompt', step: 'b' },
      { type: 'step.started', step: 'b' },
      ...ranOk('b', 'ip addr add 10.0.0.7 dev eth0'),
      { type: 'step.finished', step: 'b' },
      { type: 'step.started', step: 'c' },
      ...ranOk('c', 'ping 10.0.0.7'),
      { type: 'step.finished', step: 'c' },
      ended('completed', { done: 3 }),
    ]);
    expect(t.journal.ofType('var.set')).toHaveLength(1);
    expect(t.ui.messages('warn')).toEqual(['new_ip must match ^\\d{1,3}(\\.\\d{1,3}){3}$']);
    const asked = t.ui.calls.find((c) => c.call === 'askVar');
    expect(asked?.call === 'askVar' && asked.question).toMatchObject({ name: 'new_ip', def: { prompt: 'IPv4 address of the new server' } });
    if (asked?.call !== 'askVar') throw new Error('askVar not called');
    expect(asked.question.validate('10.0.0.7')).toBeUndefined();
    expect(asked.question.validate('ten')).toBe('new_ip must match ^\\d{1,3}(\\.\\d{1,3}){3}$');
    expect(asked.question).not.toHaveProperty('initial');
  });

  it('a var from --var is not asked', async () => {
    const t = setup({ yaml: ASKED, yes: true, cli: { new_ip: '192.0.2.1' }, exec: [{}, {}, {}] });
    await t.go();
    expect(t.executor.commands).toEqual(['echo a', 'ip addr add 192.0.2.1 dev eth0', 'ping 192.0.2.1']);
    expect(t.journal.ofType('var.set')).toEqual([]);
  });

  it('choices: asked with its choices, a value not among them is refused', async () => {
    const t = setup({
      yaml: book(`  - { id: choose, title: Choose, ask: [dns_plan] }`, `  dns_plan: { choices: { reuse: Point the old name, rename: Switch names } }`),
      ui: [
        { ask: 'var', name: 'dns_plan', answer: 'both' },
        { ask: 'var', name: 'dns_plan', answer: 'rename' },
      ],
    });
    await t.go();
    expect(t.ui.messages('warn')).toEqual(['dns_plan must be one of: reuse, rename']);
    expect(t.journal.events[0]).toMatchObject({ type: 'var.set', name: 'dns_plan', value: 'rename', source: 'prompt', step: 'choose' });
  });

  it('a var with only a default takes it without asking', async () => {
    const t = setup({ yaml: book(`  - { id: s, title: S, run: 'dig {{host}}' }`, `  host: { default: mail.example.org }`), yes: true, exec: [{}] });
    await t.go();
    expect(t.journal.events[0]).toMatchObject({ type: 'var.set', name: 'host', value: 'mail.example.org', source: 'default', step: 's' });
    expect(t.executor.commands).toEqual(['dig mail.example.org']);
  });

  it('a var with a prompt and a default is asked with the default offered; an empty answer takes the default', async () => {
    const yaml = book(`  - { id: s, title: S, run: 'dig {{host}}' }`, `  host: { prompt: Mail host, default: mail.example.org }`);
    const typed = setup({
      yaml,
      ui: [
        { ask: 'var', name: 'host', answer: 'mx.example.org' },
        { ask: 'step', answer: 'run' },
      ],
      exec: [{}],
    });
    await typed.go();
    const asked = typed.ui.calls.find((c) => c.call === 'askVar');
    expect(asked?.call === 'askVar' && asked.question.initial).toBe('mail.example.org');
    expect(typed.executor.commands).toEqual(['dig mx.example.org']);

    const empty = setup({
      yaml,
      ui: [
        { ask: 'var', name: 'host', answer: '' },
        { ask: 'step', answer: 'run' },
      ],
      exec: [{}],
    });
    await empty.go();
    expect(empty.journal.events[0]).toMatchObject({ type: 'var.set', name: 'host', value: 'mail.example.org', source: 'default' });
    expect(empty.executor.commands).toEqual(['dig mail.example.org']);
  });

  it('--yes takes the default of a prompted var without asking', async () => {
    const t = setup({
      yaml: book(`  - { id: s, title: S, run: 'dig {{host}}' }`, `  host: { prompt: Mail host, default: mail.example.org }`),
      yes: true,
      exec: [{}],
    });
    await t.go();
    expect(t.journal.events[0]).toMatchObject({ type: 'var.set', name: 'host', value: 'mail.example.org', source: 'default' });
  });

  it('rehearsal with --yes gives a var with no default a placeholder <name>', async () => {
    const t = setup({ yaml: ASKED, mode: 'rehearsal', yes: true });
    await t.go();
    expect(t.journal.events).toMatchObject([
      { type: 'step.started', step: 'a' },
      { type: 'command.rehearsed', step: 'a' },
      { type: 'step.finished', step: 'a' },
      { type: 'var.set', name: 'new_ip', value: '<new_ip>', source: 'placeholder', step: 'b' },
      { type: 'step.started', step: 'b' },
      { type: 'command.rehearsed', step: 'b', command: "ip addr add '<new_ip>' dev eth0" },
      { type: 'step.finished', step: 'b' },
      { type: 'step.started', step: 'c' },
      { type: 'command.rehearsed', step: 'c', command: "ping '<new_ip>'" },
      { type: 'step.finished', step: 'c' },
      ended('completed', { done: 3 }),
    ]);
  });

  it('live --yes with a var that has no value fails the step without running it, then aborts', async () => {
    const t = setup({ yaml: ASKED, yes: true, exec: [{}] });
    const result = await t.go();
    expect(t.journal.events).toMatchObject([
      { type: 'step.started', step: 'a' },
      ...ranOk('a', 'echo a'),
      { type: 'step.finished', step: 'a', outcome: 'done' },
      { type: 'step.started', step: 'b' },
      { type: 'decision', step: 'b', question: 'After failure (cannot run: no value for {{new_ip}}): what next?', answer: 'abort' },
      { type: 'step.finished', step: 'b', outcome: 'failed', reason: 'cannot run: no value for {{new_ip}}' },
      ended('aborted', { done: 1, failed: 1 }),
    ]);
    expect(t.executor.commands).toEqual(['echo a']);
    expect(result).toMatchObject({ status: 'aborted', stoppedAt: 'b' });
  });

  it('ask: on a manual step asks even a var that has a default', async () => {
    const t = setup({
      yaml: book(`  - { id: m, title: M, ask: [zone] }`, `  zone: { default: eu-west }`),
      ui: [{ ask: 'var', name: 'zone', answer: 'us-east' }],
    });
    await t.go();
    // The answer finishes a step that only asks: no "done" key after it.
    expect(t.journal.events).toMatchObject([
      { type: 'var.set', name: 'zone', value: 'us-east', source: 'prompt' },
      { type: 'step.started', step: 'm' },
      { type: 'step.finished', step: 'm', outcome: 'done' },
      ended('completed', { done: 1 }),
    ]);
    // The step was shown before the question; no command part after it (it has nothing to do by hand).
    expect(t.ui.calls.map((c) => (c.call === 'showStep' ? `show:${c.view.part ?? 'all'}` : c.call))).toEqual(['show:context', 'askVar']);
  });

  it('an edited command naming a var not yet known asks for it before running', async () => {
    const t = setup({
      yaml: book(
        `
  - { id: s, title: S, run: 'dig mail' }
  - { id: t, title: T, run: 'dig {{host}}' }`,
        `  host: { prompt: Host }`,
      ),
      ui: [
        { ask: 'step', step: 's', answer: 'run' },
        { ask: 'failure', answer: 'edit' },
        { ask: 'text', answer: 'dig {{host}}' },
        { ask: 'var', name: 'host', answer: 'mx.example.org' },
        { ask: 'confirm', question: 'Run the edited command?', answer: true },
        { ask: 'step', step: 't', answer: 'run' },
      ],
      exec: [{ exitCode: 1 }, {}, {}],
    });
    await t.go();
    expect(t.executor.commands).toEqual(['dig mail', 'dig mx.example.org', 'dig mx.example.org']);
    expect(t.journal.types().slice(4, 9)).toEqual(['decision', 'var.set', 'decision', 'command.edited', 'command.started']);
  });

  it('a step env is rendered with the values', async () => {
    const t = setup({
      yaml: book(
        `
  - id: s
    title: S
    run: ./deploy
    env: { TARGET: '{{host}}', LEVEL: 3 }`,
        `  host: { default: mail.example.org }`,
      ),
      yes: true,
      exec: [{}],
    });
    await t.go();
    expect(t.executor.requests[0]?.env).toEqual({ TARGET: 'mail.example.org', LEVEL: '3' });
  });

  it('a relative cwd is resolved, rendered with the values', async () => {
    const t = setup({ yaml: book(`  - { id: s, title: S, run: make, cwd: 'builds/{{v}}' }`, `  v: { default: '1.2' }`), yes: true, exec: [{}] });
    await t.go();
    expect(t.executor.requests[0]?.cwd).toBe('/runbooks/builds/1.2');
    expect(t.journal.ofType('command.started')[0]).toMatchObject({ cwd: '/runbooks/builds/1.2' });
  });
});

describe('the walk: shell quoting', () => {
  it.each([
    ['$(touch x); rm -rf b', "'$(touch x); rm -rf b'"],
    ['it\'s `id` "x"', `'it'\\''s \`id\` "x"'`],
    ['plain-word_1.2/3:4,5@6%7+8=9', 'plain-word_1.2/3:4,5@6%7+8=9'],
    ['', "''"],
    ['a\nb', "'a\nb'"],
  ])('the value %j reaches the executor as exactly one word', async (value, word) => {
    const t = setup({
      yaml: book(`  - { id: s, title: S, run: 'echo {{v}} end' }`, `  v: { prompt: V, default: x }`),
      cli: { v: value },
      yes: true,
      exec: [{}],
    });
    await t.go();
    expect(t.executor.commands).toEqual([`echo ${word} end`]);
    expect(t.journal.ofType('command.started')[0]?.command).toBe(`echo ${word} end`);
  });
});

describe('the walk: secrets', () => {
  const SECRET = 'hunter2-XYZ';
  const SECRET_BOOK = book(
    `
  - id: login
    title: Log in with {{token}}
    description: The token is {{token}}.
    run: dns-login --token {{token}} --zone example.org
    confirm: Did {{token}} work?
    cwd: /srv/{{token}}
    env: { DNS_TOKEN: '{{token}}' }
  - id: echo
    title: Echo
    run: dns-whoami
    capture: whoami`,
    `  token: { env: DNS_API_TOKEN, secret: true }`,
  );

  function leaks(t: ReturnType<typeof setup>, secret: string): string[] {
    const where: string[] = [];
    if (t.journal.text().includes(secret)) where.push('journal');
    if (t.ui.shownText().includes(secret)) where.push('ui');
    return where;
  }

  it('never appear in any event, in the view, in the tail, in an edit, in output or a capture', async () => {
    const t = setup({
      yaml: SECRET_BOOK,
      env: { DNS_API_TOKEN: SECRET },
      ui: [
        { ask: 'step', step: 'login', answer: 'run' },
        { ask: 'failure', answer: 'edit' },
        // The operator pastes the value itself into the fixed command.
        { ask: 'text', initial: 'dns-login --token {{token}} --zone example.org', answer: `dns-login --token ${SECRET} --zone example.org.` },
        { ask: 'confirm', question: 'Run the edited command?', answer: true },
        { ask: 'confirm', answer: true },
        { ask: 'step', step: 'echo', answer: 'note' },
        { ask: 'text', answer: `tried ${SECRET} by hand` },
        { ask: 'step', step: 'echo', answer: 'run' },
      ],
      exec: [
        // An executor that forgot to redact its tail: the engine masks it anyway.
        { exitCode: 1, stdout: `bad token ${SECRET}\n`, tail: `bad token ${SECRET}\n` },
        { stdout: 'ok\n' },
        { stdout: `user=ops token=${SECRET}\n`, tail: `user=ops token=${SECRET}\n` },
      ],
    });
    await t.go();
    expect(leaks(t, SECRET)).toEqual([]);
    // The shell still gets the real value, in the environment (never in the script, which
    // is on the process list) and the cwd.
    const [first, second] = t.executor.requests;
    expect(first?.command).toBe('dns-login --token "${DRBOOK_V_token}" --zone example.org');
    expect(first?.env).toEqual({ DNS_TOKEN: SECRET, DRBOOK_V_token: SECRET });
    expect(first?.cwd).toBe(`/srv/${SECRET}`);
    // The operator pasted the value itself: the edit keeps it as {{token}}, so it runs (and
    // a resume replays it) with the value through the environment, like the runbook's command.
    expect(second?.command).toBe('dns-login --token "${DRBOOK_V_token}" --zone example.org.');
    expect(t.executor.commands[0]).toBe(`dns-login --token ${SECRET} --zone example.org`);
    expect(t.journal.events).toMatchObject([
      { type: 'step.started', step: 'login', title: 'Log in with ***' },
      { type: 'command.started', attempt: 1, command: 'dns-login --token *** --zone example.org', cwd: '/srv/***' },
      { type: 'command.spawned' },
      { type: 'command.finished', ok: false, tail: 'bad token ***\n' },
      { type: 'decision', answer: 'edit' },
      { type: 'decision', question: 'Run the edited command?', answer: 'yes' },
      { type: 'command.edited', from: 'dns-login --token {{token}} --zone example.org', to: 'dns-login --token {{token}} --zone example.org.' },
      { type: 'command.started', attempt: 2, command: 'dns-login --token *** --zone example.org.' },
      { type: 'command.spawned' },
      { type: 'command.finished', ok: true },
      { type: 'decision', question: 'Did *** work?', answer: 'yes' },
      { type: 'step.finished', step: 'login', outcome: 'done' },
      { type: 'step.started', step: 'echo' },
      { type: 'note', text: 'tried *** by hand' },
      { type: 'command.started' },
      { type: 'command.spawned' },
      { type: 'command.finished', tail: 'user=ops token=***\n' },
      // A value derived from a secret is a secret too.
      { type: 'var.set', name: 'whoami', value: '***', source: 'capture', secret: true },
      { type: 'step.finished', step: 'echo' },
      ended('completed', { done: 2 }),
    ]);
    expect(t.ui.calls[0]).toMatchObject({
      call: 'showStep',
      view: { title: 'Log in with ***', description: 'The token is ***.', command: 'dns-login --token *** --zone example.org', cwd: '/srv/***' },
    });
  });

  it('a secret given by the operator is masked from then on', async () => {
    const t = setup({
      yaml: book(`  - { id: s, title: S, run: 'vault unseal {{key}}' }`, `  key: { prompt: Unseal key, secret: true }`),
      ui: [
        { ask: 'var', name: 'key', answer: 's3cr3t-key' },
        { ask: 'step', answer: 'run' },
      ],
      exec: [{}],
    });
    await t.go();
    expect(t.journal.events).toMatchObject([
      { type: 'var.set', name: 'key', value: '***', source: 'prompt', secret: true },
      { type: 'step.started' },
      { type: 'command.started', command: 'vault unseal ***' },
      { type: 'command.spawned' },
      { type: 'command.finished' },
      { type: 'step.finished' },
      ended('completed', { done: 1 }),
    ]);
    expect(leaks(t, 's3cr3t-key')).toEqual([]);
  });

  it('a secret that needs shell quoting is masked in its quoted form too', async () => {
    const value = "it's a secret";
    const t = setup({
      yaml: book(`  - { id: s, title: S, run: 'login {{pw}}', on_failure: continue }`, `  pw: { secret: true }`),
      cli: { pw: value },
      ui: [{ ask: 'step', answer: 'run' }],
      exec: [{}],
    });
    await t.go();
    expect(t.executor.commands).toEqual([`login 'it'\\''s a secret'`]);
    expect(t.journal.ofType('command.started')[0]?.command).toBe('login ***');
    expect(leaks(t, 's a secret')).toEqual([]);
    expect(t.ui.shownText()).not.toContain("'\\''");
  });

  it('a when on a secret var does not show its value', async () => {
    const t = setup({
      yaml: book(`  - { id: s, title: S, run: x, when: 'pw == open' }`, `  pw: { secret: true }`),
      cli: { pw: 'closed-sesame' },
    });
    await t.go();
    expect(t.journal.events[0]).toMatchObject({ type: 'step.finished', outcome: 'skipped', reason: 'when: pw == open is false (pw is ***)' });
    expect(leaks(t, 'closed-sesame')).toEqual([]);
  });

  it('a failure reason that carries a secret is masked everywhere', async () => {
    const t = setup({
      yaml: book(`  - { id: s, title: S, run: x, cwd: '/srv/{{pw}}' }`, `  pw: { secret: true }`),
      cli: { pw: 'hunter2-XYZ' },
      ui: [
        { ask: 'step', answer: 'run' },
        { ask: 'failure', failure: 'could not start: no such directory /srv/***', answer: 'abort' },
        { ask: 'confirm', answer: true },
        { ask: 'text', answer: 'saw hunter2-XYZ in the logs' },
      ],
      exec: [{ exitCode: null, spawnError: 'no such directory /srv/hunter2-XYZ' }],
    });
    await t.go();
    expect(leaks(t, 'hunter2-XYZ')).toEqual([]);
  });
});

describe('the walk: --yes', () => {
  it('runs every step, confirms, and finishes', async () => {
    const t = setup({
      yaml: book(`
  - { id: a, title: A, run: echo a, confirm: Fine? }
  - { id: m, title: M, confirm: Posted? }`),
      yes: true,
      exec: [{}],
    });
    const result = await t.go();
    expect(t.journal.events).toMatchObject([
      { type: 'step.started', step: 'a' },
      ...ranOk('a', 'echo a'),
      { type: 'decision', question: 'Fine?', answer: 'yes' },
      { type: 'step.finished', step: 'a', outcome: 'done' },
      { type: 'step.started', step: 'm' },
      { type: 'decision', question: 'Posted?', answer: 'yes' },
      { type: 'step.finished', step: 'm', outcome: 'done' },
      ended('completed', { done: 2 }),
    ]);
    expect(result.status).toBe('completed');
  });

  it('aborts on the first failure', async () => {
    const t = setup({ yaml: TWO, yes: true, exec: [{ exitCode: 1 }] });
    const result = await t.go();
    expect(t.journal.events.slice(4)).toMatchObject([
      { type: 'decision', step: 'a', answer: 'abort' },
      { type: 'step.finished', step: 'a', outcome: 'failed', reason: 'exit code 1' },
      ended('aborted', { failed: 1 }),
    ]);
    expect(result.status).toBe('aborted');
  });
});

describe('the walk: odd cases', () => {
  it('a when on a var that got no value (live --yes) counts the var as unset', async () => {
    const t = setup({
      yaml: book(`  - { id: s, title: S, run: x, when: 'plan == reuse' }`, `  plan: { choices: [reuse, rename] }`),
      yes: true,
    });
    await t.go();
    expect(t.journal.events).toMatchObject([
      { type: 'step.finished', step: 's', outcome: 'skipped', reason: 'when: plan == reuse is false (plan is unset)' },
      ended('completed', { skipped: 1 }),
    ]);
  });

  it("an error that is not the operator's (an executor bug) is not swallowed, and ends nothing", async () => {
    const t = setup({ yaml: TWO, yes: true });
    t.executor.run = () => Promise.reject(new Error('executor exploded'));
    await expect(t.go()).rejects.toThrow('executor exploded');
    expect(t.journal.types()).toEqual(['step.started', 'command.started']);
  });
});

describe('the walk: time', () => {
  it('step durations come from the monotonic clock, the session total from the wall clock', async () => {
    const t = setup({ yaml: TWO, yes: true, exec: [{ durationMs: 1000 }, { durationMs: 2000 }] });
    // An NTP jump forward by an hour while the walk is under way.
    const jump = t.executor.run.bind(t.executor);
    let once = true;
    t.executor.run = async (request) => {
      if (once) t.clock.jumpWall(3_600_000);
      once = false;
      return jump(request);
    };
    const result = await t.go();
    expect(t.journal.ofType('step.finished').map((e) => e.durationMs)).toEqual([1000, 2000]);
    expect(result.durationMs).toBe(3_603_000);
    expect(t.journal.ofType('session.ended')[0]?.durationMs).toBe(3_603_000);
  });

  it('a wall clock set back never gives a negative session time', async () => {
    const t = setup({ yaml: TWO, yes: true, exec: [{}, {}] });
    t.clock.jumpWall(-60_000);
    expect((await t.go()).durationMs).toBe(0);
  });
});

describe("the walk: the operator's night", () => {
  it('after a failure, "add a note" records it and asks the same question again', async () => {
    const t = setup({
      yaml: TWO,
      ui: [
        { ask: 'step', answer: 'run' },
        { ask: 'failure', answer: 'note' },
        { ask: 'text', message: /^Note/, answer: 'disk full on /var per the output' },
        { ask: 'failure', answer: 'retry' },
        { ask: 'step', step: 'b', answer: 'run' },
      ],
      exec: [{ exitCode: 1 }, {}, {}],
    });
    await t.go();
    expect(t.ui.calls.find((c) => c.call === 'chooseFailureAction')).toMatchObject({ choices: ['retry', 'edit', 'skip', 'done', 'note', 'abort'] });
    expect(t.journal.ofType('note')).toMatchObject([{ text: 'disk full on /var per the output', step: 'a' }]);
    // The note is not a decision: only the retry is.
    expect(t.journal.ofType('decision').map((d) => d.answer)).toEqual(['retry']);
    expect(t.executor.commands).toEqual(['echo a', 'echo a', 'echo b']);
  });

  it('a "no" to the abort confirmation goes back to the question', async () => {
    const t = setup({
      yaml: TWO,
      ui: [
        { ask: 'step', answer: 'abort' },
        { ask: 'confirm', question: /^Abort the runbook\?/, answer: false },
        { ask: 'step', step: 'a', answer: 'run' },
        { ask: 'step', step: 'b', answer: 'run' },
      ],
      exec: [{}, {}],
    });
    expect(await t.go()).toMatchObject({ status: 'completed' });
    expect(t.journal.ofType('decision')).toMatchObject([{ question: 'Abort the runbook?', answer: 'no' }]);
  });

  /** The UI calls in order, as `call step part`: what the operator saw, then was asked. */
  const order = (calls: FakeUi['calls']) =>
    calls.flatMap((c) => {
      if (c.call === 'askVar') return [`askVar ${c.question.name}`];
      if (c.call === 'showStep') return [`showStep ${c.view.step.id} ${c.view.part ?? 'whole'}`];
      if (c.call === 'chooseStepAction') return [`chooseStepAction ${c.view.step.id}`];
      return [];
    });

  it("a step's context comes before its questions, its command after them", async () => {
    const t = setup({
      yaml: book(
        `
  - { id: order, title: Order a server, description: In the console., ask: [ip] }
  - { id: use, title: 'Use {{ip}} as {{user}}', run: 'ssh {{user}}@{{ip}} true' }
  - { id: plain, title: Nothing to ask, run: 'true' }`,
        `  ip: { prompt: New IP }
  user: { prompt: User }`,
      ),
      ui: [
        { ask: 'var', name: 'ip', answer: '192.0.2.7' },
        { ask: 'var', name: 'user', answer: 'root' },
        { ask: 'step', step: 'use', answer: 'run' },
        { ask: 'step', step: 'plain', answer: 'run' },
      ],
      exec: [{}, {}],
    });
    await t.go();
    expect(order(t.ui.calls)).toEqual([
      'showStep order context',
      'askVar ip',
      'showStep use context',
      'askVar user',
      'showStep use command',
      'chooseStepAction use',
      'showStep plain whole',
      'chooseStepAction plain',
    ]);
    // The ask-only step was done by the answer: no "done" key.
    expect(t.journal.ofType('step.finished').map((e) => [e.step, e.outcome])).toEqual([
      ['order', 'done'],
      ['use', 'done'],
      ['plain', 'done'],
    ]);
  });

  it('an ask-only step whose value is given already shows its context only, never "do it by hand"', async () => {
    const t = setup({
      yaml: book(`  - { id: m, title: M, ask: [zone] }`, `  zone: { prompt: Zone }`),
      cli: { zone: 'eu-west' },
    });
    await t.go();
    expect(t.ui.calls.filter((c) => c.call === 'showStep').map((c) => (c.call === 'showStep' ? (c.view.part ?? 'all') : ''))).toEqual(['context']);
  });

  it('a step skipped by when: shows its title with the values known and defaults, as the journal has it', async () => {
    const t = setup({
      yaml: book(
        `  - { id: move, title: 'Move to {{host}}', when: plan == reuse, run: 'echo {{host}}' }`,
        `  plan: { default: rename }\n  host: { default: mail2.example.org }`,
      ),
      yes: true,
    });
    await t.go();
    expect(t.ui.messages('info')).toEqual(['[1/1] Move to mail2.example.org: skipped, plan is rename (plan == reuse)']);
    expect(t.journal.ofType('step.finished')).toMatchObject([{ title: 'Move to mail2.example.org' }]);
  });

  it('a when: var asked at its step comes after the step is shown; a false one skips it', async () => {
    const t = setup({
      yaml: book(
        `
  - { id: reuse, title: Point the old name, description: Only when the name is kept., when: plan == reuse, run: 'dns-set' }
  - { id: last, title: Last, run: 'true' }`,
        `  plan: { choices: [reuse, rename] }`,
      ),
      ui: [
        { ask: 'var', name: 'plan', answer: 'rename' },
        { ask: 'step', step: 'last', answer: 'run' },
      ],
      exec: [{}],
    });
    await t.go();
    expect(order(t.ui.calls)).toEqual(['showStep reuse context', 'askVar plan', 'showStep last whole', 'chooseStepAction last']);
    expect(t.journal.ofType('step.finished')[0]).toMatchObject({ step: 'reuse', outcome: 'skipped' });
  });

  it('on resume, the step the operator chose to run again runs without a second question', async () => {
    const t = setup({ yaml: TWO, finished: {}, attempts: { a: 1 }, ui: [{ ask: 'step', step: 'b', answer: 'run' }], exec: [{}, {}] });
    t.plan.runAgain = 'a';
    expect(await t.go()).toMatchObject({ status: 'completed' });
    expect(t.executor.commands).toEqual(['echo a', 'echo b']);
    // Asked once, at resume: the walk journals no other decision and numbers the attempt on.
    expect(t.journal.ofType('decision')).toEqual([]);
    expect(t.journal.ofType('command.started').map((e) => [e.step, e.attempt])).toEqual([
      ['a', 2],
      ['b', 1],
    ]);
  });

  it('a failure of the step run again is asked about as any failure', async () => {
    const t = setup({
      yaml: TWO,
      ui: [
        { ask: 'failure', answer: 'skip' },
        { ask: 'step', step: 'b', answer: 'run' },
      ],
      exec: [{ exitCode: 1 }, {}],
    });
    t.plan.runAgain = 'a';
    await t.go();
    expect(t.journal.ofType('step.finished').map((e) => [e.step, e.outcome])).toEqual([
      ['a', 'skipped'],
      ['b', 'done'],
    ]);
  });

  const SECRET_BOOK = book(
    `
  - { id: read, title: Read, run: 'curl -H {{token}} status', safe: true }
  - { id: write, title: Write, run: 'curl -X POST -H {{token}} api' }`,
    `  token: { prompt: API token, secret: true }`,
  );

  it('a rehearsal shows a secret as <name> and asks nobody for it', async () => {
    const t = setup({
      yaml: SECRET_BOOK,
      mode: 'rehearsal',
      ui: [
        { ask: 'step', answer: 'run' },
        { ask: 'step', answer: 'run' },
      ],
    });
    await t.go();
    expect(t.journal.ofType('command.rehearsed').map((e) => e.command)).toEqual(["curl -H '<token>' status", "curl -X POST -H '<token>' api"]);
    expect(t.journal.ofType('var.set')).toMatchObject([{ name: 'token', value: '<token>', source: 'placeholder' }]);
  });

  it('with --run-safe, the safe step that really runs asks for the secret', async () => {
    const t = setup({
      yaml: SECRET_BOOK,
      mode: 'rehearsal',
      runSafe: true,
      ui: [
        { ask: 'var', name: 'token', answer: 's3cr3t-tok' },
        { ask: 'step', answer: 'run' },
        { ask: 'step', answer: 'run' },
      ],
      exec: [{}],
    });
    await t.go();
    expect(t.executor.commands).toEqual(['curl -H s3cr3t-tok status']);
    expect(t.journal.ofType('command.rehearsed').map((e) => e.command)).toEqual(['curl -X POST -H *** api']);
    expect(t.journal.text()).not.toContain('s3cr3t-tok');
    expect(t.ui.shownText()).not.toContain('s3cr3t-tok');
  });
});

describe('drbook ended by a signal while a command runs', () => {
  it('journals the stopped attempt and a pause, asks nothing, and ends with 128+n', async () => {
    const { SignalStop } = await import('../src/core/errors.js');
    const s = setup({ yaml: TWO, yes: true, exec: [{ exitCode: null, signal: 'SIGTERM', stoppedBy: 'SIGHUP', pid: 77 }] });
    let caught: unknown;
    try {
      await s.go();
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(SignalStop);
    expect(caught).toMatchObject({ signal: 'SIGHUP', exitCode: 129 });
    const tail = s.journal.events.slice(-2);
    expect(tail).toMatchObject([
      { type: 'command.finished', step: 'a', ok: false, interrupted: true, reason: 'drbook got SIGHUP: the command and everything it started were stopped' },
      { type: 'session.paused', step: 'a', reason: 'drbook got SIGHUP while the command ran' },
    ]);
    // Step b never started, and no question was asked about a.
    expect(s.executor.requests.map((r) => r.step)).toEqual(['a']);
    expect(s.journal.events.some((e) => e.type === 'decision' || e.type === 'session.ended')).toBe(false);
  });
});

describe('drbook stopped just after the command finished on its own', () => {
  it('Ctrl-C as the shell ended: the success is journaled as it was, then a pause, exit 130, and the screen says the command had finished', async () => {
    const { SignalStop } = await import('../src/core/errors.js');
    const s = setup({ yaml: TWO, yes: true, exec: [{ exitCode: 0, stoppedBy: 'SIGINT', exitedFirst: true, pid: 77 }] });
    const caught = await s.go().then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(caught).toBeInstanceOf(SignalStop);
    expect(caught).toMatchObject({ signal: 'SIGINT', exitCode: 130 });
    expect((caught as Error).message).toContain('after the command had finished');
    // The step's end is resume's to journal: it finds the success and does not run it again.
    const tail = s.journal.events.slice(-2);
    expect(tail).toMatchObject([
      { type: 'command.finished', step: 'a', ok: true, exitCode: 0 },
      { type: 'session.paused', step: 'a', reason: 'drbook got SIGINT as the command finished' },
    ]);
    expect(tail[0]).not.toHaveProperty('interrupted');
    expect(s.executor.requests.map((r) => r.step)).toEqual(['a']);
  });
});

describe('milestones and when: titles', () => {
  it('journals a step milestone when the step is done, not when it fails or is skipped; a when-false step keeps its rendered title', async () => {
    const t = setup({
      yaml: book(
        `
  - id: a
    title: Mitigate
    run: echo a
    milestone: mitigated
  - id: b
    title: Point {{host}} at {{ip}}
    when: plan == reuse
    run: echo b
    milestone: detected
  - id: c
    title: Resolve
    milestone: resolved`,
        `  plan: { default: rename }\n  host: { default: mail.example.org }\n  ip: { prompt: New IP }`,
      ),
      yes: true,
      exec: [{ stdout: 'a\n' }],
    });
    await t.go();
    const kinds = t.journal.events.map((e) => (e.type === 'milestone' ? `milestone:${e.milestone}:${e.step}:${e.source}` : e.type));
    expect(kinds.filter((k) => k.startsWith('milestone'))).toEqual(['milestone:mitigated:a:step', 'milestone:resolved:c:step']);
    // Right after the step's outcome, so the export places it at the step's end.
    expect(kinds[kinds.indexOf('milestone:mitigated:a:step') - 1]).toBe('step.finished');
    const skipped = t.journal.events.find((e) => e.type === 'step.finished' && e.step === 'b');
    expect(skipped).toMatchObject({ outcome: 'skipped', title: 'Point mail.example.org at <ip>' });
  });
});

describe('the walk: env values a command cannot receive', () => {
  it('a NUL byte or a value over 128 KB in env: is named, and nothing starts', async () => {
    const t = setup({
      yaml: book(
        `
  - { id: nul, title: Nul, run: 'true', env: { CERT: '{{cert}}' } }`,
        `  cert: { prompt: Cert }`,
      ),
      ui: [
        { ask: 'var', name: 'cert', answer: 'a\0b' },
        { ask: 'step', answer: 'run' },
        { ask: 'failure', failure: /env CERT \(from \{\{cert\}\}\) holds a NUL byte/, answer: 'skip' },
      ],
      exec: [],
    });
    await t.go();
    expect(t.executor.commands).toEqual([]);
  });

  it('a value too long for one environment variable says so and what to do', async () => {
    const t = setup({
      yaml: book(
        `
  - { id: big, title: Big, run: 'true', env: { BLOB: '{{blob}}' } }`,
        `  blob: { prompt: Blob }`,
      ),
      ui: [
        { ask: 'var', name: 'blob', answer: 'x'.repeat(200 * 1024) },
        { ask: 'step', answer: 'run' },
        {
          ask: 'failure',
          failure: /env BLOB \(from \{\{blob\}\}\) is 201 KB, more than the 128 KB one environment variable can hold: put the value in a file/,
          answer: 'skip',
        },
      ],
      exec: [],
    });
    await t.go();
    expect(t.executor.commands).toEqual([]);
  });
});
