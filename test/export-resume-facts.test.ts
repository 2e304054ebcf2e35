/**
 * What the export says of a resume's answers and of the session's clock: a cut command the
 * operator said completed on its own is not "done by hand", a question --yes answered says
 * so, a clock set back keeps the journal's order, and a POSIX TZ keeps the operator's offset.
 * Journals built in memory, no file.
 */
import { describe, expect, it } from 'vitest';
import { buildReport, renderMarkdown } from '../src/core/export/index.js';
import { COMPLETED_WHILE_AWAY, IN_FLIGHT_QUESTION, type EventBody } from '../src/core/journal-events.js';
import { FakeClock, MemoryJournal } from './helpers/fakes.js';

function started(zone = { tz: 'UTC', tzOffsetMinutes: 0 }): EventBody {
  return {
    type: 'session.started',
    session: '20260311T090512Z-pay',
    runbook: { id: 'pay', title: 'Pay', path: '/r/pay.yml', sha256: 'ab'.repeat(32), steps: 2 },
    mode: 'live',
    operator: { user: 'op', host: 'h' },
    ...zone,
    drbook: '0.1.0',
    pid: 10,
    cwd: '/srv',
  };
}

/** A session whose `pay` command was cut by a kill, then settled on resume with `answer`. */
function settled(answer: 'it completed: mark done' | 'done by hand: mark done', by?: '--yes'): MemoryJournal {
  const clock = new FakeClock();
  const journal = new MemoryJournal(clock);
  const add = (body: EventBody): void => {
    journal.append(body);
    clock.advance(1000);
  };
  add(started());
  add({ type: 'step.started', step: 'pay', index: 0, title: 'Send the payment' });
  add({ type: 'command.started', step: 'pay', attempt: 1, command: 'pay.sh', cwd: '/srv' });
  add({ type: 'command.spawned', step: 'pay', attempt: 1, pid: 20, pgid: 20 });
  add({ type: 'session.resumed', gapMs: 4000, step: 'pay', pid: 30 });
  add({
    type: 'command.finished',
    step: 'pay',
    attempt: 1,
    exitCode: null,
    signal: null,
    durationMs: 3000,
    ok: false,
    interrupted: true,
    reason: 'drbook stopped while it ran; its exit code is unknown',
    tail: '',
    outputBytes: 0,
  });
  add({ type: 'decision', step: 'pay', question: IN_FLIGHT_QUESTION, answer, ...(by ? { by } : {}) });
  const completed = answer === 'it completed: mark done';
  add({
    type: 'step.finished',
    step: 'pay',
    index: 0,
    outcome: completed ? 'done' : 'marked-done',
    reason: completed ? COMPLETED_WHILE_AWAY : 'done by hand after drbook stopped mid-command (operator)',
    durationMs: 0,
  });
  add({ type: 'step.started', step: 'after', index: 1, title: 'After' });
  add({ type: 'step.finished', step: 'after', index: 1, outcome: 'done', durationMs: 5 });
  add({
    type: 'session.ended',
    status: 'completed',
    done: completed ? 2 : 1,
    skipped: 0,
    failed: 0,
    markedDone: completed ? 0 : 1,
    durationMs: 10_000,
  });
  return journal;
}

describe('the export of a cut command settled on resume', () => {
  it('"it completed on its own": done, not under "Done by hand", and the chronology says the operator confirmed it', () => {
    const report = buildReport(settled('it completed: mark done'));
    expect(report.deviations.markedDone).toEqual([]);
    expect(report.steps).toMatchObject({ done: 2, markedDone: 0 });
    const md = renderMarkdown(report);
    expect(md).not.toContain('Done by hand');
    expect(md).toContain('Send the payment');
    expect(md).toContain('done: the operator confirmed its command completed on its own while drbook was away');
  });

  it('"I fixed it by hand" stays done by hand', () => {
    const report = buildReport(settled('done by hand: mark done'));
    expect(report.deviations.markedDone.map((s) => s.step)).toEqual(['pay']);
    expect(renderMarkdown(report)).toContain('Done by hand');
  });

  it('a decision --yes took says so, in the data and on the line', () => {
    const yes = buildReport(settled('it completed: mark done', '--yes'));
    expect(yes.chronology.find((m) => m.kind === 'decision')).toMatchObject({ by: '--yes' });
    expect(renderMarkdown(yes)).toMatch(/did it complete\? → \*\*it completed: mark done\*\* \(--yes\)/);
    const operator = buildReport(settled('it completed: mark done'));
    expect(operator.chronology.find((m) => m.kind === 'decision')).not.toHaveProperty('by');
    expect(renderMarkdown(operator)).not.toContain('(--yes)');
  });
});

describe('a clock set back between run and resume', () => {
  /**
   * Run at 09:05, killed; the clock is then set back before the resume, to an hour before
   * the last line (all the journal can tell: how long drbook was away is lost with it).
   */
  function steppedBack(): MemoryJournal {
    const clock = new FakeClock();
    const journal = new MemoryJournal(clock);
    const add = (body: EventBody, ms = 1000): void => {
      journal.append(body);
      clock.advance(ms);
    };
    add(started());
    add({ type: 'step.started', step: 'pay', index: 0, title: 'Send the payment' });
    add({ type: 'command.started', step: 'pay', attempt: 1, command: 'pay.sh', cwd: '/srv' });
    add({ type: 'command.finished', step: 'pay', attempt: 1, exitCode: 0, signal: null, durationMs: 2000, ok: true, tail: '', outputBytes: 0 });
    clock.jumpWall(-3_601_000);
    add({ type: 'session.resumed', gapMs: 0, step: 'pay', pid: 30 });
    add({ type: 'step.finished', step: 'pay', index: 0, outcome: 'done', durationMs: 2000 });
    add({ type: 'step.started', step: 'after', index: 1, title: 'After' });
    add({ type: 'step.finished', step: 'after', index: 1, outcome: 'done', durationMs: 5 });
    add({ type: 'session.ended', status: 'completed', done: 2, skipped: 0, failed: 0, markedDone: 0, durationMs: 0 });
    return journal;
  }

  it('keeps the journal order, never a negative or zero total, and says where the clock went back', () => {
    const report = buildReport(steppedBack());
    expect(report.chronology.map((m) => m.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(report.chronology[0]!.kind).toBe('session.started');
    expect(report.chronology.at(-1)!.kind).toBe('session.ended');
    // 3 s before the kill, 4 s after: the hour the clock went back is not taken off.
    expect(report.totalMs).toBe(7000);
    expect(report.clockWentBackMs).toBe(3_600_000);
    expect(report.chronology.find((m) => m.kind === 'session.resumed')).toMatchObject({ clockWentBackMs: 3_600_000 });
    const md = renderMarkdown(report);
    expect(md).toContain("- **Clock:** the machine's clock went back 1h during the session");
    expect(md).toMatch(/- \*\*Total time:\*\* 7(\.0)?s/);
    const chronology = md.slice(md.indexOf('## Chronology'));
    const at = (text: string): number => chronology.indexOf(text);
    expect(at('Session started')).toBeGreaterThan(-1);
    expect(at('Session started')).toBeLessThan(at("_The machine's clock went back 1h here"));
    expect(at("_The machine's clock went back 1h here")).toBeLessThan(at('Resumed'));
    expect(at('Resumed')).toBeLessThan(at('Session completed'));
  });

  it('a journal whose clock never went back reads as before: no clock line, no field', () => {
    const report = buildReport(settled('it completed: mark done'));
    expect(report).not.toHaveProperty('clockWentBackMs');
    expect(report.chronology.some((m) => m.clockWentBackMs !== undefined)).toBe(false);
    expect(renderMarkdown(report)).not.toContain('**Clock:**');
  });
});

describe('a session started under a POSIX TZ (TZ=UTC+5)', () => {
  it('is exported at the offset its clock used, not in UTC', () => {
    const clock = new FakeClock(new Date('2026-03-12T03:00:00.000Z'));
    const journal = new MemoryJournal(clock);
    journal.append(started({ tz: 'UTC', tzOffsetMinutes: -300 }));
    clock.advance(1000);
    journal.append({ type: 'session.ended', status: 'completed', done: 0, skipped: 0, failed: 0, markedDone: 0, durationMs: 1000 });
    const report = buildReport(journal);
    expect(report.timeZone).toMatchObject({ name: 'UTC-05:00', offsetAtStart: '-05:00' });
    expect(report.start.local).toBe('2026-03-11 22:00:00');
  });
});
