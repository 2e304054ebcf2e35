import { describe, expect, it } from 'vitest';
import type { EventBody } from '../src/core/journal-events.js';
import { hashLine, parseJournal, type ParsedJournal } from '../src/core/journal-parse.js';
import type { SessionStatus } from '../src/core/session.js';
import { replaySession, summarizeSession } from '../src/core/session-summary.js';

const T0 = Date.parse('2026-03-11T09:05:12.000Z');

/** A journal's text as the writer would produce it, one event a minute. */
function journalText(bodies: EventBody[]): string {
  let prev: string | null = null;
  let out = '';
  bodies.forEach((body, i) => {
    const line = JSON.stringify({ v: 1, seq: i + 1, ts: new Date(T0 + i * 60_000).toISOString(), prev, ...body });
    prev = hashLine(line);
    out += line + '\n';
  });
  return out;
}

function parsed(bodies: EventBody[]): ParsedJournal {
  return parseJournal(journalText(bodies));
}

const started: EventBody = {
  type: 'session.started',
  session: '20260311T090512Z-mail-server',
  runbook: { id: 'mail-server', title: 'Restore the mail server', path: '/rb/mail-server.yaml', sha256: 'f'.repeat(64), steps: 4 },
  mode: 'rehearsal',
  operator: { user: 'alice', host: 'laptop' },
  tz: 'Europe/Paris',
  tzOffsetMinutes: 60,
  drbook: '0.1.0',
  pid: 100,
};

const step = (index: number, id: string): EventBody => ({ type: 'step.started', step: id, index, title: id });
const finished = (index: number, id: string, outcome: 'done' | 'skipped' | 'failed' | 'marked-done', reason?: string): EventBody => ({
  type: 'step.finished',
  step: id,
  index,
  outcome,
  durationMs: 1000,
  ...(reason ? { reason } : {}),
});
const cmdStarted = (id: string, attempt: number, command = `do ${id}`): EventBody => ({
  type: 'command.started',
  step: id,
  attempt,
  command,
  cwd: '/srv',
  log: `${id}.log`,
});
const cmdFinished = (id: string, attempt: number, ok: boolean): EventBody => ({
  type: 'command.finished',
  step: id,
  attempt,
  exitCode: ok ? 0 : 1,
  signal: null,
  durationMs: 10,
  ok,
  tail: '',
  outputBytes: 0,
});
const cliNote: EventBody = { type: 'note', text: 'seen at 07:30', by: 'bob@desk', source: 'cli', at: '2026-03-11T06:50:00.000Z' };
const ended = (status: 'completed' | 'aborted' | 'failed', failed = 0): EventBody => ({
  type: 'session.ended',
  status,
  done: 2,
  skipped: 1,
  failed,
  markedDone: 0,
  durationMs: 420_000,
});

const firstSteps: EventBody[] = [started, step(0, 'confirm'), cmdStarted('confirm', 1), cmdFinished('confirm', 1, true), finished(0, 'confirm', 'done')];

describe('summarizeSession status', () => {
  const cases: { name: string; bodies: EventBody[]; lock?: { alive: boolean }; status: SessionStatus; endStatus?: string }[] = [
    {
      name: 'a live driver lock is running, whatever the journal says',
      bodies: [...firstSteps, { type: 'session.paused', reason: 'Ctrl-C' }],
      lock: { alive: true },
      status: 'running',
    },
    { name: 'a dead lock and no end is interrupted', bodies: [...firstSteps, step(1, 'announce')], lock: { alive: false }, status: 'interrupted' },
    { name: 'no lock and no end is interrupted', bodies: firstSteps, status: 'interrupted' },
    {
      name: 'a last driver event session.paused is paused',
      bodies: [...firstSteps, step(1, 'announce'), { type: 'session.paused', step: 'announce', reason: 'Ctrl-C at a prompt' }],
      status: 'paused',
    },
    {
      name: 'a note from another terminal after a pause keeps it paused',
      bodies: [...firstSteps, { type: 'session.paused', reason: 'Ctrl-C' }, cliNote],
      status: 'paused',
    },
    {
      name: 'resumed after a pause and then cut is interrupted',
      bodies: [...firstSteps, { type: 'session.paused', reason: 'Ctrl-C' }, { type: 'session.resumed', gapMs: 5000, pid: 101 }],
      status: 'interrupted',
    },
    { name: 'ended completed', bodies: [...firstSteps, ended('completed')], status: 'completed', endStatus: 'completed' },
    {
      name: 'ended with a failed step is failed, as the export says',
      bodies: [...firstSteps, finished(1, 'announce', 'failed'), ended('failed', 1)],
      status: 'failed',
      endStatus: 'failed',
    },
    { name: 'ended aborted', bodies: [...firstSteps, ended('aborted')], status: 'aborted', endStatus: 'aborted' },
    {
      name: 'an ended session with a stale lock is ended',
      bodies: [...firstSteps, ended('completed')],
      lock: { alive: false },
      status: 'completed',
      endStatus: 'completed',
    },
    { name: 'an empty journal of a dead driver is interrupted', bodies: [], status: 'interrupted' },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const s = summarizeSession('sid', parsed(c.bodies), c.lock);
      expect(s.status).toBe(c.status);
      expect(s.endStatus).toBe(c.endStatus);
    });
  }
});

describe('summarizeSession fields', () => {
  it('reports the runbook, times, step counts, notes', () => {
    const bodies: EventBody[] = [
      ...firstSteps,
      step(1, 'announce'),
      finished(1, 'announce', 'marked-done'),
      cliNote,
      finished(2, 'dns', 'skipped', 'when: dns_plan == reuse is false'),
      step(3, 'fingerprint'),
      cmdStarted('fingerprint', 1),
      cmdFinished('fingerprint', 1, false),
      finished(3, 'fingerprint', 'failed'),
      ended('failed', 1),
    ];
    const s = summarizeSession('20260311T090512Z-mail-server', parsed(bodies), undefined);
    expect(s).toEqual({
      id: '20260311T090512Z-mail-server',
      runbook: { id: 'mail-server', title: 'Restore the mail server', path: '/rb/mail-server.yaml', sha256: 'f'.repeat(64) },
      mode: 'rehearsal',
      status: 'failed',
      endStatus: 'failed',
      operator: 'alice@laptop',
      startedAt: '2026-03-11T09:05:12.000Z',
      endedAt: new Date(T0 + 13 * 60_000).toISOString(),
      lastEventAt: new Date(T0 + 13 * 60_000).toISOString(),
      durationMs: 420_000,
      steps: { total: 4, done: 1, skipped: 1, failed: 1, markedDone: 1 },
      notes: 1,
      torn: false,
    });
  });

  it('counts a step by its latest outcome, and measures an unended session to its last event', () => {
    const bodies: EventBody[] = [...firstSteps, step(1, 'announce'), finished(1, 'announce', 'failed'), step(1, 'announce'), finished(1, 'announce', 'done')];
    const s = summarizeSession('sid', parsed(bodies), undefined);
    expect(s.steps).toEqual({ total: 4, done: 2, skipped: 0, failed: 0, markedDone: 0 });
    expect(s.durationMs).toBe(8 * 60_000);
  });

  it('shows the command in flight and the current step', () => {
    const bodies: EventBody[] = [
      ...firstSteps,
      step(1, 'restore'),
      cmdStarted('restore', 1),
      cmdFinished('restore', 1, false),
      cmdStarted('restore', 2, 'restore --again'),
      { type: 'command.spawned', step: 'restore', attempt: 2, pid: 4321, procStart: '99887' },
      cliNote,
    ];
    const s = summarizeSession('sid', parsed(bodies), { alive: false });
    expect(s.status).toBe('interrupted');
    expect(s.currentStep).toBe('restore');
    expect(s.inFlight).toEqual({
      step: 'restore',
      attempt: 2,
      command: 'restore --again',
      cwd: '/srv',
      log: 'restore.log',
      pid: 4321,
      procStart: '99887',
      startedAt: new Date(T0 + 8 * 60_000).toISOString(),
    });
    // The note came later and counts as the last event.
    expect(s.lastEventAt).toBe(new Date(T0 + 10 * 60_000).toISOString());
  });

  it('has no command in flight once it finished, and none before it was spawned has a pid', () => {
    const done = summarizeSession('sid', parsed([...firstSteps, step(1, 'x'), cmdStarted('x', 1), cmdFinished('x', 1, true)]), undefined);
    expect(done.inFlight).toBeUndefined();
    expect(done.currentStep).toBe('x');
    const unspawned = summarizeSession('sid', parsed([...firstSteps, step(1, 'x'), cmdStarted('x', 1)]), undefined);
    expect(unspawned.inFlight).toMatchObject({ step: 'x', attempt: 1 });
    expect(unspawned.inFlight?.pid).toBeUndefined();
  });

  it('gives the paused step as the current one', () => {
    const s = summarizeSession('sid', parsed([...firstSteps, { type: 'session.paused', step: 'announce', reason: 'Ctrl-C' }]), undefined);
    expect(s.currentStep).toBe('announce');
  });

  it('flags a torn journal', () => {
    const text = journalText(firstSteps) + '{"v":1,"seq":6,"ts":"2026';
    const s = summarizeSession('sid', parseJournal(text), undefined);
    expect(s.torn).toBe(true);
    expect(s.status).toBe('interrupted');
  });
});

describe('replaySession', () => {
  it('rebuilds vars, outcomes, attempts, edits and where to continue', () => {
    const bodies: EventBody[] = [
      started,
      { type: 'var.set', name: 'mail_host', value: 'mail.example.org', source: 'default' },
      { type: 'var.set', name: 'dns_token', value: '***', source: 'env', secret: true },
      ...firstSteps.slice(1),
      step(1, 'order'),
      { type: 'var.set', name: 'new_ip', value: '10.0.0.1', source: 'prompt', step: 'order' },
      finished(1, 'order', 'done'),
      { type: 'var.set', name: 'mail_host', value: 'mx.example.org', source: 'cli' },
      step(2, 'dns'),
      cmdStarted('dns', 1),
      cmdFinished('dns', 1, false),
      { type: 'command.edited', step: 'dns', attempt: 2, from: './dns-set A', to: './dns-set -t A' },
      cmdStarted('dns', 2),
      { type: 'command.spawned', step: 'dns', attempt: 2, pid: 555 },
    ];
    const r = replaySession(parsed(bodies));
    expect(r.started?.session).toBe('20260311T090512Z-mail-server');
    expect([...r.vars.keys()]).toEqual(['mail_host', 'dns_token', 'new_ip']);
    expect(r.vars.get('mail_host')).toEqual({ name: 'mail_host', value: 'mx.example.org', source: 'cli', secret: false });
    expect(r.vars.get('dns_token')).toEqual({ name: 'dns_token', value: '***', source: 'env', secret: true });
    expect(r.vars.get('new_ip')).toEqual({ name: 'new_ip', value: '10.0.0.1', source: 'prompt', secret: false, step: 'order' });
    expect([...r.outcomes.values()].map((o) => [o.step, o.index, o.outcome])).toEqual([
      ['confirm', 0, 'done'],
      ['order', 1, 'done'],
    ]);
    expect(r.currentStep).toMatchObject({ step: 'dns', index: 2 });
    expect(r.currentStep?.since.map((e) => e.type)).toEqual(['command.started', 'command.finished', 'command.edited', 'command.started', 'command.spawned']);
    expect(r.firstUnfinished).toBe(2);
    expect(r.attempts.get('dns')).toBe(2);
    expect(r.attempts.get('confirm')).toBe(1);
    expect(r.edits.get('dns')).toBe('./dns-set -t A');
    expect(r.inFlight).toMatchObject({ step: 'dns', attempt: 2, pid: 555 });
    expect(r.lastEventAt).toBe(new Date(T0 + (bodies.length - 1) * 60_000).toISOString());
    expect(r.ended).toBeUndefined();
    expect(r.paused).toBeUndefined();
  });

  it('continues after the last finished step when none is open, at 0 when none finished', () => {
    expect(replaySession(parsed(firstSteps)).firstUnfinished).toBe(1);
    expect(replaySession(parsed([started])).firstUnfinished).toBe(0);
    expect(replaySession(parsed([])).firstUnfinished).toBe(0);
    const fromThird = replaySession(parsed([started, finished(0, 'a', 'skipped', '--from c'), finished(1, 'b', 'skipped', '--from c'), step(2, 'c')]));
    expect(fromThird.firstUnfinished).toBe(2);
    const allDone = replaySession(parsed([...firstSteps, finished(1, 'b', 'done'), finished(2, 'c', 'done'), finished(3, 'd', 'done')]));
    expect(allDone.firstUnfinished).toBe(4);
  });

  it('reports the pause only while it is the last thing the driver wrote', () => {
    const paused = replaySession(parsed([...firstSteps, { type: 'session.paused', reason: 'Ctrl-C' }, cliNote]));
    expect(paused.paused?.reason).toBe('Ctrl-C');
    expect(paused.lastDriverEvent?.type).toBe('session.paused');
    expect(paused.notes).toBe(1);
    const resumed = replaySession(parsed([...firstSteps, { type: 'session.paused', reason: 'Ctrl-C' }, { type: 'session.resumed', gapMs: 1, pid: 2 }]));
    expect(resumed.paused).toBeUndefined();
  });
});

describe('summarizeSession of a journal not written whole', () => {
  const ended: EventBody = { type: 'session.ended', status: 'completed', done: 0, skipped: 0, failed: 0, markedDone: 0, durationMs: 10 };
  it('flags a duplicated or reordered line, as verify, resume and export refuse it, and nothing for a whole one', () => {
    const lines = journalText([started, { type: 'note', text: 'n', by: 'a@b', source: 'cli' }, ended])
      .trimEnd()
      .split('\n');
    const duplicated = parseJournal([lines[0], lines[1], lines[1], lines[2]].join('\n') + '\n');
    expect(summarizeSession('sid', duplicated, undefined)).toMatchObject({
      status: 'completed',
      notWhole: expect.stringMatching(/^seq goes back from 2 to 2/),
    });
    const reordered = parseJournal([lines[0], lines[2], lines[1]].join('\n') + '\n');
    expect(summarizeSession('sid', reordered, undefined).notWhole).toMatch(/^seq goes back from 3 to 2/);
    expect(summarizeSession('sid', parseJournal(lines.join('\n') + '\n'), undefined)).not.toHaveProperty('notWhole');
  });
});
