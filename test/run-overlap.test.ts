/**
 * Whether `drbook run` may start a live session, given the sessions of the same runbook
 * (core/run-overlap.ts): in memory, with the machine's processes faked.
 */
import { describe, expect, it } from 'vitest';
import { checkStart, type RunbookSession } from '../src/core/run-overlap.js';
import type { InFlightCommand } from '../src/core/session-summary.js';
import { FakeProcesses } from './helpers/fakes.js';

const DEAD_DRIVER = 4242;
const SHELL = 5001;

const nothingRuns = new FakeProcesses([]);

function session(partial: Partial<RunbookSession> & Pick<RunbookSession, 'id' | 'status'>): RunbookSession {
  return { runbookId: 'pay', mode: 'live', ...partial };
}

/** The payment command a killed drbook left in flight: its shell led its own group. */
const payment: InFlightCommand = {
  step: 'charge',
  attempt: 1,
  command: './charge --amount 100',
  pid: SHELL,
  procStart: '900',
  pgid: SHELL,
  startedAt: '2026-03-11T01:00:00.000Z',
};

describe('checkStart', () => {
  it('lets a run start when the runbook has no session, or only ended ones', () => {
    expect(checkStart({ runbookId: 'pay', yes: true, sessions: [], processes: nothingRuns })).toEqual({ verdict: 'go' });
    const ended = ['completed', 'aborted', 'failed'] as const;
    const sessions = ended.map((status, n) => session({ id: `s${n}`, status }));
    expect(checkStart({ runbookId: 'pay', yes: true, sessions, processes: nothingRuns })).toEqual({ verdict: 'go' });
  });

  it('never counts rehearsals, or sessions of another runbook', () => {
    const sessions = [
      session({ id: 'drill', status: 'running', mode: 'rehearsal', driver: { pid: 7, host: 'h', since: '' } }),
      session({ id: 'drill-cut', status: 'interrupted', mode: 'rehearsal' }),
      session({ id: 'other', status: 'paused', runbookId: 'pay-2' }),
    ];
    expect(checkStart({ runbookId: 'pay', yes: false, sessions, processes: nothingRuns })).toEqual({ verdict: 'go' });
  });

  it('refuses beside a session a live drbook drives, naming it, its pid and what to do instead', () => {
    const sessions = [session({ id: '20260311T010000Z-pay', status: 'running', driver: { pid: 3131, host: 'rescue', since: '2026-03-11T01:00:00Z' } })];
    for (const yes of [true, false]) {
      const check = checkStart({ runbookId: 'pay', yes, sessions, processes: nothingRuns });
      expect(check.verdict).toBe('refuse');
      const message = check.verdict === 'refuse' ? check.message : '';
      expect(message).toContain('runbook pay is already being run: session 20260311T010000Z-pay is driven by drbook pid 3131 on host rescue');
      expect(message).toContain('drbook note --session 20260311T010000Z-pay');
      expect(message).toContain('drbook mark');
      expect(message).toContain('--parallel');
    }
  });

  it('refuses beside a session whose lock is being written right now (another run starting)', () => {
    const sessions = [session({ id: 's', status: 'running', driver: { pid: 0, host: '', since: '' } })];
    const check = checkStart({ runbookId: 'pay', yes: true, sessions, processes: nothingRuns });
    expect(check).toMatchObject({ verdict: 'refuse', message: expect.stringContaining('driven by a drbook starting it right now') });
  });

  it('under --yes, refuses over a paused session and says how to resume it', () => {
    const sessions = [session({ id: 's-paused', status: 'paused', currentStep: 'charge' })];
    const check = checkStart({ runbookId: 'pay', yes: true, sessions, processes: nothingRuns });
    expect(check).toEqual({
      verdict: 'refuse',
      message:
        'runbook pay has a session that did not end: session s-paused: paused at step charge; continue it with drbook resume s-paused, or add --parallel to start a new session beside it anyway',
    });
  });

  it('names the pid of a command a dead drbook left running, found as resume finds it', () => {
    // The payment's shell, re-parented to init when drbook died, and the sleep it runs now.
    const processes = new FakeProcesses([
      { pid: SHELL, start: '900', parent: 1, pgid: SHELL },
      { pid: 5002, start: '901', parent: SHELL, pgid: SHELL },
    ]);
    const sessions = [session({ id: 's-cut', status: 'interrupted', currentStep: 'charge', inFlight: payment, driverPid: DEAD_DRIVER })];
    const check = checkStart({ runbookId: 'pay', yes: true, sessions, processes });
    expect(check.verdict).toBe('refuse');
    expect(check.verdict === 'refuse' && check.message).toContain(
      `session s-cut: interrupted at step charge (drbook pid ${DEAD_DRIVER} is gone); its command is still running on its own (pid ${SHELL}): $ ./charge --amount 100`,
    );
  });

  it('says a cut command was in flight even when nothing of it runs any more', () => {
    const sessions = [session({ id: 's-cut', status: 'interrupted', currentStep: 'charge', inFlight: payment, driverPid: DEAD_DRIVER })];
    const check = checkStart({ runbookId: 'pay', yes: false, sessions, processes: nothingRuns });
    expect(check.verdict).toBe('ask');
    expect(check.verdict === 'ask' && check.lines[1]).toContain('its command was running when drbook stopped: $ ./charge --amount 100');
  });

  it('in a terminal, offers to resume the one whose command still runs, else the latest', () => {
    const processes = new FakeProcesses([{ pid: SHELL, start: '900', pgid: SHELL }]);
    const older = session({ id: 'a', status: 'interrupted', inFlight: payment, driverPid: DEAD_DRIVER });
    const newer = session({ id: 'b', status: 'paused' });
    const check = checkStart({ runbookId: 'pay', yes: false, sessions: [older, newer], processes });
    expect(check).toMatchObject({ verdict: 'ask', resume: 'a' });
    expect(check.verdict === 'ask' && check.open.map((o) => [o.session.id, o.running])).toEqual([
      ['a', [SHELL]],
      ['b', []],
    ]);
    expect(check.verdict === 'ask' && check.lines[0]).toBe('runbook pay has 2 sessions that did not end');
    expect(checkStart({ runbookId: 'pay', yes: false, sessions: [older, newer], processes: nothingRuns })).toMatchObject({ resume: 'b' });
  });

  it('asks once: sessions the operator chose to start beside no longer hold the start, a running one still does', () => {
    const paused = session({ id: 'p', status: 'paused' });
    expect(checkStart({ runbookId: 'pay', yes: false, sessions: [paused], processes: nothingRuns, accepted: new Set(['p']) })).toEqual({ verdict: 'go' });
    const meanwhile = session({ id: 'q', status: 'running', driver: { pid: 9, host: 'h', since: '' } });
    expect(checkStart({ runbookId: 'pay', yes: false, sessions: [paused, meanwhile], processes: nothingRuns, accepted: new Set(['p', 'q']) }).verdict).toBe(
      'refuse',
    );
  });
});
