/**
 * A poll cut by `kill -9`, then `drbook resume --yes`, through the built binary. The poll
 * journals no start event per attempt, so resume learns of the attempt that was running
 * from its running file: it waits for it (never polls beside it), closes it with the one
 * event the attempt had not written, then polls again from attempt 1 with a new timeout.
 * Cut during the wait, nothing ran: no attempt is invented. A journal in the three-event
 * form, cut the same way, resumes as before. Every wait is for a condition, with a deadline.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JournalEvent } from '../src/core/journal-events.js';
import { hashLine, parseJournal } from '../src/core/journal-parse.js';
import { BIN, ensureBuilt, FIXTURES, runCli } from './helpers/run-cli.js';

const temps: string[] = [];
const holds: string[] = [];

beforeAll(async () => {
  await ensureBuilt();
}, 180_000);

afterAll(() => {
  for (const release of holds) if (existsSync(join(release, '..'))) writeFileSync(release, '');
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
});

function sandbox(): { work: string; home: string } {
  const root = mkdtempSync(join(tmpdir(), 'drbook-until-resume-'));
  temps.push(root);
  const work = join(root, 'work');
  const home = join(root, 'home');
  mkdirSync(work);
  holds.push(join(work, 'release'));
  return { work, home };
}

/** The command of the polls below: counts its runs, marks each start and end, and holds run 2 until `release` exists. */
const COUNTED = `n=$(cat count 2>/dev/null || echo 0); n=$((n+1)); echo $n > count; echo "start $n" >> marks; echo "try $n"; while [ $n -eq 2 ] && [ ! -e release ]; do sleep 0.05; done; echo "end $n" >> marks; test $n -ge {{need}}`;

function runbook(work: string, interval: string, need: number): string {
  const path = join(work, 'poll.yml');
  writeFileSync(
    path,
    `drbook: 1
id: poll-cut
title: A poll that gets cut
vars:
  need: { default: '${need}' }
steps:
  - id: wait-flag
    title: Wait for the flag
    run: '${COUNTED.replace(/'/g, "''")}'
    until: { interval: ${interval}, timeout: 5m }
  - id: finish
    title: Finish
    run: echo finished
`,
  );
  return path;
}

/** Starts `drbook run --yes` as a shell starts a job (its own process group). */
function startRun(work: string, home: string, path: string): { pid: number; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [BIN, 'run', path, '--yes'], {
    cwd: work,
    detached: true,
    stdio: 'ignore',
    env: { PATH: process.env.PATH, HOME: home, DRBOOK_HOME: home, NO_COLOR: '1', LANG: 'C.UTF-8' },
  });
  return { pid: child.pid!, exited: new Promise((done) => child.once('exit', (code) => done(code))) };
}

function journalPath(home: string): string | undefined {
  const dir = join(home, 'sessions');
  if (!existsSync(dir)) return undefined;
  const name = readdirSync(dir).find((n) => n.endsWith('.jsonl'));
  return name === undefined ? undefined : join(dir, name);
}

function events(home: string): JournalEvent[] {
  const path = journalPath(home);
  return path === undefined ? [] : parseJournal(readFileSync(path, 'utf8')).events;
}

async function until(what: string, condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const marks = (work: string): string[] => (existsSync(join(work, 'marks')) ? readFileSync(join(work, 'marks'), 'utf8').trim().split('\n') : []);
/** The events of the poll's step (its var default aside) and the resume, in order. */
const stepTypes = (list: readonly JournalEvent[]) =>
  list.flatMap((e) => (('step' in e && e.step === 'wait-flag' && e.type !== 'var.set') || e.type === 'session.resumed' ? [e.type] : []));

describe('a poll cut by kill -9, then resume --yes', () => {
  it('cut while attempt 2 runs: resume finds it by its running file, waits for it, closes it, polls again; never two at once', async () => {
    const { work, home } = sandbox();
    const run = startRun(work, home, runbook(work, '1s', 3));
    const session = () =>
      join(
        home,
        'sessions',
        readdirSync(join(home, 'sessions')).find((n) => !n.includes('.'))!,
      );
    await until(
      'attempt 2 running, named by its running file',
      () => marks(work).includes('start 2') && journalPath(home) !== undefined && existsSync(join(session(), '01-wait-flag.running')),
    );
    const running = JSON.parse(readFileSync(join(session(), '01-wait-flag.running'), 'utf8')) as { step: string; attempt: number; pid: number; pgid?: number };
    expect(running).toMatchObject({ step: 'wait-flag', attempt: 2 });
    process.kill(run.pid, 'SIGKILL');
    await run.exited;
    // What the killed drbook left: the poll started, attempt 1 said it goes on, nothing for attempt 2.
    expect(stepTypes(events(home))).toEqual(['step.started', 'poll.started', 'poll.attempt']);

    const resuming = runCli(['resume', '--yes'], { cwd: work, env: { DRBOOK_HOME: home, HOME: home }, timeoutMs: 30_000 });
    await until('resume to wait for the attempt left running', () => events(home).some((e) => e.type === 'decision' && e.answer === 'wait'));
    expect(marks(work)).toEqual(['start 1', 'end 1', 'start 2']);
    writeFileSync(join(work, 'release'), '');
    const resumed = await resuming;
    const out = resumed.stdout + resumed.stderr;
    expect(resumed.code, out).toBe(0);
    expect(out).toContain('it was polling (until:, attempt 2) when drbook stopped');
    expect(out).toMatch(new RegExp(`still running on its own \\(pids? [\\d, ]*\\b${running.pid}\\b`));

    // Run 3 started only after run 2 ended: never two at once.
    expect(marks(work)).toEqual(['start 1', 'end 1', 'start 2', 'end 2', 'start 3', 'end 3']);
    const after = events(home);
    expect(stepTypes(after)).toEqual([
      'step.started',
      'poll.started',
      'poll.attempt',
      'session.resumed',
      'decision',
      'poll.attempt',
      'decision',
      'step.started',
      'poll.started',
      'poll.attempt',
      'step.finished',
    ]);
    const attempts = after.filter((e) => e.type === 'poll.attempt');
    expect(attempts[1]).toMatchObject({
      attempt: 2,
      pollAttempt: 2,
      pid: running.pid,
      exitCode: null,
      ok: false,
      interrupted: true,
      reason: 'finished on its own while drbook was away; its exit code is unknown',
    });
    expect(attempts[1]).not.toHaveProperty('nextInMs');
    expect(after.find((e) => e.type === 'decision' && e.answer === 'run it again')).toBeDefined();
    expect(after.filter((e) => e.type === 'poll.started').at(-1)).toMatchObject({ attempt: 3, log: '01-wait-flag.3.log' });
    expect(attempts[2]).toMatchObject({ attempt: 3, pollAttempt: 1, ok: true });
    expect(after.at(-1)).toMatchObject({ type: 'session.ended', status: 'completed' });
    expect(readdirSync(session()).filter((n) => n.endsWith('.running'))).toEqual([]);

    const id = journalPath(home)!
      .replace(/^.*\//, '')
      .replace(/\.jsonl$/, '');
    const verify = await runCli(['verify', id], { cwd: work, env: { DRBOOK_HOME: home } });
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);
  }, 60_000);

  it('SIGTERM while attempt 2 runs: the attempt is stopped and closed by its one event, the session paused (143); resume polls again', async () => {
    const { work, home } = sandbox();
    const run = startRun(work, home, runbook(work, '1s', 3));
    const session = () =>
      join(
        home,
        'sessions',
        readdirSync(join(home, 'sessions')).find((n) => !n.includes('.'))!,
      );
    await until(
      'attempt 2 running',
      () => marks(work).includes('start 2') && journalPath(home) !== undefined && existsSync(join(session(), '01-wait-flag.running')),
    );
    const running = JSON.parse(readFileSync(join(session(), '01-wait-flag.running'), 'utf8')) as { pid: number };
    process.kill(run.pid, 'SIGTERM');
    expect(await run.exited).toBe(143);
    const cut = events(home);
    expect(stepTypes(cut)).toEqual(['step.started', 'poll.started', 'poll.attempt', 'poll.attempt', 'session.paused']);
    expect(cut.filter((e) => e.type === 'poll.attempt').at(-1)).toMatchObject({
      attempt: 2,
      pollAttempt: 2,
      pid: running.pid,
      interrupted: true,
      reason: 'drbook got SIGTERM: the command and everything it started were stopped',
    });
    expect(cut.at(-1)).toMatchObject({ type: 'session.paused', reason: 'drbook got SIGTERM while the command ran' });
    expect(existsSync(`/proc/${running.pid}`)).toBe(false);
    expect(existsSync(join(session(), '01-wait-flag.running'))).toBe(false);

    writeFileSync(join(work, 'release'), '');
    const resumed = await runCli(['resume', '--yes'], { cwd: work, env: { DRBOOK_HOME: home, HOME: home }, timeoutMs: 30_000 });
    expect(resumed.code, resumed.stdout + resumed.stderr).toBe(0);
    // Nothing was in flight: the step is walked again, a new poll from attempt 1.
    expect(stepTypes(events(home).slice(cut.length))).toEqual(['session.resumed', 'step.started', 'poll.started', 'poll.attempt', 'step.finished']);
    expect(marks(work)).toEqual(['start 1', 'end 1', 'start 2', 'start 3', 'end 3']);
  }, 60_000);

  it('cut during the wait: nothing was running, no attempt is made up; the poll starts again', async () => {
    const { work, home } = sandbox();
    const run = startRun(work, home, runbook(work, '30s', 2));
    await until('attempt 1 failed and the poll waiting', () => events(home).some((e) => e.type === 'poll.attempt' && e.nextInMs === 30_000));
    process.kill(run.pid, 'SIGKILL');
    await run.exited;

    writeFileSync(join(work, 'release'), '');
    const resumed = await runCli(['resume', '--yes'], { cwd: work, env: { DRBOOK_HOME: home, HOME: home }, timeoutMs: 30_000 });
    const out = resumed.stdout + resumed.stderr;
    expect(resumed.code, out).toBe(0);
    expect(out).toContain('it was polling (until:, attempt 2) when drbook stopped');
    expect(out).not.toContain('still running on its own');
    const after = events(home);
    expect(stepTypes(after)).toEqual([
      'step.started',
      'poll.started',
      'poll.attempt',
      'session.resumed',
      'decision',
      'step.started',
      'poll.started',
      'poll.attempt',
      'step.finished',
    ]);
    // Attempt 2 might have been starting when drbook died: its number is not used again.
    expect(after.filter((e) => e.type === 'poll.started').map((e) => (e.type === 'poll.started' ? e.attempt : 0))).toEqual([1, 3]);
    expect(marks(work)).toEqual(['start 1', 'end 1', 'start 2', 'end 2']);
  }, 60_000);

  it('a journal in the three-event form, cut in attempt 2, resumes as before and goes on in the compact form', async () => {
    const { work, home } = sandbox();
    copyFileSync(join(FIXTURES, 'until', 'cut.yml'), join(work, 'cut.yml'));
    writeFileSync(join(work, 'release'), '');
    // The fixture moved here: the runbook and the directory the steps run in are this test's.
    let prev: string | null = null;
    const lines = readFileSync(join(FIXTURES, 'until', 'three-events-cut.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((line) => {
        const e = JSON.parse(line) as Record<string, unknown>;
        if (e.type === 'session.started') Object.assign(e, { cwd: work, runbook: { ...(e.runbook as object), path: join(work, 'cut.yml') } });
        if (e.type === 'command.started') e.cwd = work;
        const text = JSON.stringify({ ...e, prev });
        prev = hashLine(text);
        return text;
      });
    const id = (JSON.parse(lines[0]!) as { session: string }).session;
    mkdirSync(join(home, 'sessions'), { recursive: true, mode: 0o700 });
    writeFileSync(join(home, 'sessions', `${id}.jsonl`), lines.join('\n') + '\n', { mode: 0o600 });

    const resumed = await runCli(['resume', '--yes'], { cwd: work, env: { DRBOOK_HOME: home, HOME: home }, timeoutMs: 30_000 });
    const out = resumed.stdout + resumed.stderr;
    expect(resumed.code, out).toBe(0);
    expect(out).toContain('its command was running when drbook stopped');
    const after = events(home).slice(lines.length);
    expect(after.filter((e) => !('step' in e) || e.step === 'wait-flag').map((e) => e.type)).toEqual([
      'session.resumed',
      'command.finished',
      'decision',
      'step.started',
      'poll.started',
      'poll.attempt',
      'poll.attempt',
      'poll.attempt',
      'step.finished',
      'session.ended',
    ]);
    expect(after.find((e) => e.type === 'command.finished')).toMatchObject({ step: 'wait-flag', attempt: 2, exitCode: null, interrupted: true });
    expect(after.find((e) => e.type === 'poll.started')).toMatchObject({ attempt: 3 });

    const exported = await runCli(['export', id, '--tz', 'UTC'], { cwd: work, env: { DRBOOK_HOME: home } });
    expect(exported.code, exported.stderr).toBe(0);
    expect(exported.stdout).toMatch(/The command \(attempt 2\) \*\*failed\*\*: interrupted when drbook stopped/);
    expect(exported.stdout).toMatch(/\(attempt 5\): exit 0 after [\d.]+s, succeeded on attempt 3 after \d/);
    const verify = await runCli(['verify', id], { cwd: work, env: { DRBOOK_HOME: home } });
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);
  }, 60_000);
});
