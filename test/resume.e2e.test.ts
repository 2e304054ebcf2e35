/**
 * Resuming sessions, end to end with the built CLI, in a real pseudo-terminal (tmux) where
 * the operator answers: Ctrl-C at a prompt pauses and `resume` continues; one driver per
 * session (a second one is refused, a dead one's lock is taken over); a runbook changed
 * since the session started is flagged before anything runs; `sessions` tells running,
 * paused, interrupted, completed and aborted apart; `verify` finds a tampered line.
 */
import { execFile, spawn } from 'node:child_process';
import { appendFileSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { JournalEvent } from '../src/core/journal-events.js';
import { parseJournal } from '../src/core/journal-parse.js';
import { BIN, ensureBuilt, FIXTURES, runCli, STACK_TRACE } from './helpers/run-cli.js';
import { startTmux, tmuxAvailable, type TmuxSession } from './helpers/tmux.js';

const PAUSE = join(FIXTURES, 'sessions', 'pause.yml');
const CRASH = join(FIXTURES, 'sessions', 'crash.yml');
const KILL_AT = join(FIXTURES, 'sessions', 'kill-at.mjs');

let scratch: string;
let counter = 0;
const screens: TmuxSession[] = [];

beforeAll(async () => {
  await ensureBuilt();
  scratch = mkdtempSync(join(tmpdir(), 'drbook-resume-'));
}, 180_000);

afterEach(async () => {
  await Promise.all(screens.splice(0).map((s) => s.kill()));
});

afterAll(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

interface Case {
  dir: string;
  home: string;
  runbook: string;
}

/** A working directory with its own DRBOOK_HOME and a copy of the runbook (tests edit it). */
function freshCase(): Case {
  const dir = join(scratch, `case-${++counter}`);
  mkdirSync(dir);
  const runbook = join(dir, 'pause.yml');
  copyFileSync(PAUSE, runbook);
  return { dir, home: join(dir, 'home'), runbook };
}

/** drbook in a pseudo-terminal of its own. */
async function terminal(c: Case, args: string[], cwd = c.dir): Promise<TmuxSession> {
  const screen = await startTmux({
    cmd: process.execPath,
    args: [BIN, ...args],
    cwd,
    env: { DRBOOK_HOME: c.home, NO_COLOR: '1', FORCE_COLOR: undefined, TERM: 'xterm-256color' },
  });
  screens.push(screen);
  return screen;
}

function journalPath(c: Case): string {
  const sessions = join(c.home, 'sessions');
  const names = existsSync(sessions) ? readdirSync(sessions).filter((n) => n.endsWith('.jsonl')) : [];
  if (names.length !== 1) throw new Error(`expected one journal in ${sessions}, found ${names.length}`);
  return join(sessions, names[0]!);
}

function sessionId(c: Case): string {
  return journalPath(c)
    .replace(/^.*\//, '')
    .replace(/\.jsonl$/, '');
}

function events(c: Case): JournalEvent[] {
  return parseJournal(readFileSync(journalPath(c), 'utf8')).events;
}

async function statusOf(c: Case): Promise<string> {
  const result = await runCli(['sessions', '--json'], { cwd: c.dir, env: { DRBOOK_HOME: c.home } });
  expect(result.code, result.stderr).toBe(0);
  const sessions = JSON.parse(result.stdout) as { id: string; status: string }[];
  const found = sessions.find((s) => s.id === sessionId(c));
  if (!found) throw new Error(`session ${sessionId(c)} not listed: ${result.stdout}`);
  return found.status;
}

/** Runs pause.yml in a terminal up to the prompt of step 3 (two steps done), and Ctrl-C there. */
async function runAndPause(c: Case): Promise<void> {
  const screen = await terminal(c, ['run', c.runbook]);
  await screen.waitFor('Step 1/4: what now?');
  await screen.sendKeys('Enter');
  await screen.waitFor('Step 2/4: what now?');
  expect(await screen.screen()).toContain('checked the service');
  await screen.sendKeys('Enter');
  await screen.waitFor('Is the incident announced?');
  await screen.sendKeys('Enter');
  await screen.waitFor('Step 3/4: what now?');
  await screen.sendKeys('C-c');
  expect(await screen.waitForExit()).toBe(130);
  const shown = await screen.screen();
  expect(shown).toContain('Paused: 2 done');
  expect(shown).toContain(`Next: drbook resume ${sessionId(c)}`);
  expect(shown).not.toMatch(STACK_TRACE);
}

function stepsDone(list: JournalEvent[]): string[] {
  return list.filter((e) => e.type === 'step.finished').map((e) => `${(e as { step: string }).step}:${(e as { outcome: string }).outcome}`);
}

/** A pid that no process has: one that just ended. */
async function deadPid(): Promise<number> {
  const child = spawn('true');
  await new Promise((resolve) => child.on('exit', resolve));
  return child.pid!;
}

describe.skipIf(!tmuxAvailable())('resume in a terminal', () => {
  it('continues after Ctrl-C at a prompt: paused, resumed with the gap, completed, no step twice', async () => {
    const c = freshCase();
    await runAndPause(c);
    expect(await statusOf(c)).toBe('paused');
    const paused = events(c);
    expect(paused.at(-1)).toMatchObject({ type: 'session.paused', step: 'restore', reason: 'Ctrl-C at a prompt' });
    // A note from another terminal during the pause is no part of the driver's story.
    const note = await runCli(['note', 'paused to call the DBA'], { cwd: c.dir, env: { DRBOOK_HOME: c.home } });
    expect(note.code, note.stderr).toBe(0);
    expect(await statusOf(c)).toBe('paused');

    // Resumed from another directory: commands still run where the session was started.
    const elsewhere = join(c.dir, 'elsewhere');
    mkdirSync(elsewhere);
    const screen = await terminal(c, ['resume'], elsewhere);
    await screen.waitFor(`Resuming ${sessionId(c)} (A walk that is paused and resumed) after`);
    await screen.waitFor('Step 3/4: what now?');
    const first = await screen.screen();
    // Steps 1 and 2 are not walked again.
    expect(first).not.toContain('[1/4] Check the service');
    expect(first).not.toContain('[2/4] Announce the incident');
    expect(first).toContain('[3/4] Restore the data');
    await screen.sendKeys('Enter');
    await screen.waitFor('Step 4/4: what now?');
    await screen.sendKeys('Enter');
    expect(await screen.waitForExit()).toBe(0);
    const last = await screen.screen();
    expect(last).toContain('restored the data');
    expect(last).toContain('verified the restore');
    expect(last).toContain('Run completed: 4 done');

    const all = events(c);
    const types = all.map((e) => e.type);
    const pausedAt = types.indexOf('session.paused');
    const resumedAt = types.indexOf('session.resumed');
    expect(pausedAt).toBeGreaterThan(0);
    expect(types.slice(pausedAt, resumedAt + 1)).toEqual(['session.paused', 'note', 'session.resumed']);
    const resumed = all[resumedAt] as Extract<JournalEvent, { type: 'session.resumed' }>;
    expect(resumed.step).toBe('restore'); // shown, and paused at its question
    expect(resumed.gapMs).toBeGreaterThanOrEqual(0);
    // The gap runs from the pause, not from the note written during it: it is the time
    // from the pause to the resume, give or take the moment between measuring and writing.
    const pausedMs = Date.parse(all[pausedAt]!.ts);
    const noteMs = Date.parse(all[pausedAt + 1]!.ts);
    expect(noteMs - pausedMs).toBeGreaterThan(50);
    expect(resumed.gapMs).toBeLessThanOrEqual(Date.parse(resumed.ts) - pausedMs);
    expect(resumed.gapMs).toBeGreaterThan(Date.parse(resumed.ts) - pausedMs - (noteMs - pausedMs) / 2);
    expect(resumed.pid).not.toBe((all[0] as { pid: number }).pid);
    expect(resumed.runbookChanged).toBeUndefined();
    expect(all.at(-1)).toMatchObject({ type: 'session.ended', status: 'completed', done: 4, skipped: 0, failed: 0, markedDone: 0 });
    expect(stepsDone(all)).toEqual(['check:done', 'announce:done', 'restore:done', 'verify:done']);
    expect(all.filter((e) => e.type === 'command.started').map((e) => [(e as { step: string }).step, (e as { cwd: string }).cwd])).toEqual([
      ['check', c.dir],
      ['restore', c.dir],
      ['verify', c.dir],
    ]);
    expect(all.map((e) => e.seq)).toEqual(all.map((_, i) => i + 1));
    expect(await statusOf(c)).toBe('completed');
  });

  it('a rehearsal with --run-safe still runs its safe steps after a resume', async () => {
    const c = freshCase();
    writeFileSync(
      c.runbook,
      'drbook: 1\nid: pause-walk\ntitle: A drill\nsteps:\n' +
        '  - { id: look, title: Look, run: echo looked, safe: true }\n' +
        '  - { id: change, title: Change things, run: echo changed }\n' +
        '  - { id: look-again, title: Look again, run: echo looked again, safe: true }\n',
    );
    const drill = await terminal(c, ['rehearse', '--run-safe', c.runbook]);
    await drill.waitFor('Step 1/3: what now?');
    await drill.sendKeys('Enter');
    await drill.waitFor('Step 2/3: what now?');
    await drill.sendKeys('Enter');
    await drill.waitFor('Step 3/3: what now?');
    await drill.sendKeys('C-c');
    expect(await drill.waitForExit()).toBe(130);

    const resumed = await terminal(c, ['resume']);
    await resumed.waitFor('Step 3/3: what now?');
    expect(await resumed.screen()).toContain('REHEARSAL: this safe command will be executed (--run-safe)');
    await resumed.sendKeys('Enter');
    expect(await resumed.waitForExit()).toBe(0);
    expect(await resumed.screen()).toContain('looked again');
    const all = events(c);
    expect(all[0]).toMatchObject({ type: 'session.started', mode: 'rehearsal', runSafe: true });
    expect(all.filter((e) => e.type === 'command.started' || e.type === 'command.rehearsed').map((e) => `${e.type}:${(e as { step: string }).step}`)).toEqual([
      'command.started:look',
      'command.rehearsed:change',
      'command.started:look-again',
    ]);
  });

  it('refuses a second driver while a session is being driven, and lets notes in', async () => {
    const c = freshCase();
    const screen = await terminal(c, ['run', c.runbook]);
    await screen.waitFor('Step 1/4: what now?');
    const id = sessionId(c);
    expect(await statusOf(c)).toBe('running');
    const driver = (events(c)[0] as { pid: number }).pid;

    const second = await runCli(['resume', id, '--yes'], { cwd: c.dir, env: { DRBOOK_HOME: c.home } });
    expect(second.code).toBe(2);
    expect(second.stderr).toMatch(
      new RegExp(
        `^drbook: session ${id} is being driven by pid ${driver} on host ${hostname()} since \\S+; stop that drbook first, or add notes with drbook note\\n$`,
      ),
    );
    expect(second.stdout).toBe('');
    // Nothing was written by the refused one.
    expect(events(c).some((e) => e.type === 'session.resumed')).toBe(false);
    // Without an id, a running session is not one to resume.
    const implicit = await runCli(['resume', '--yes'], { cwd: c.dir, env: { DRBOOK_HOME: c.home } });
    expect(implicit.code).toBe(2);
    expect(implicit.stderr).toContain('no matching session');

    const note = await runCli(['note', 'seen', 'from', 'another', 'terminal'], { cwd: c.dir, env: { DRBOOK_HOME: c.home } });
    expect(note.code, note.stderr).toBe(0);

    // The driver goes on, unaware.
    for (const n of [1, 2]) {
      await screen.waitFor(`Step ${n}/4: what now?`);
      await screen.sendKeys('Enter');
    }
    await screen.waitFor('Is the incident announced?');
    await screen.sendKeys('Enter');
    for (const n of [3, 4]) {
      await screen.waitFor(`Step ${n}/4: what now?`);
      await screen.sendKeys('Enter');
    }
    expect(await screen.waitForExit()).toBe(0);
    expect(
      events(c)
        .filter((e) => e.type === 'note')
        .map((e) => (e as { text: string }).text),
    ).toEqual(['seen from another terminal']);
    expect(await statusOf(c)).toBe('completed');
  });

  it('takes over the lock of a driver that died, with a warning', async () => {
    const c = freshCase();
    await runAndPause(c);
    const id = sessionId(c);
    // The lock a killed drbook leaves: its holder's pid no longer runs.
    const pid = await deadPid();
    const lock = journalPath(c).replace(/\.jsonl$/, '.lock');
    writeFileSync(lock, JSON.stringify({ pid, host: hostname(), since: '2026-03-11T09:05:12.000Z' }) + '\n');
    expect(await statusOf(c)).toBe('paused');

    const resumed = await runCli(['resume', id, '--yes'], { cwd: c.dir, env: { DRBOOK_HOME: c.home } });
    expect(resumed.code, resumed.stdout + resumed.stderr).toBe(0);
    expect(resumed.stdout).toContain(`WARNING: took over the session from drbook pid ${pid} on ${hostname()}, which is no longer running`);
    expect(existsSync(lock)).toBe(false); // released at the end
    expect(events(c).at(-1)).toMatchObject({ type: 'session.ended', status: 'completed', done: 4 });
  });

  it('after kill -9, the session is interrupted, and resumes', async () => {
    const c = freshCase();
    const screen = await terminal(c, ['run', c.runbook]);
    await screen.waitFor('Step 1/4: what now?');
    await screen.sendKeys('Enter');
    await screen.waitFor('Step 2/4: what now?');
    const driver = (events(c)[0] as { pid: number }).pid;
    expect(await statusOf(c)).toBe('running');
    process.kill(driver, 'SIGKILL');
    // The prompt's last redraw may share a line with the shell's exit mark: wait for the
    // process itself to be gone (its shell reaps it) rather than read the mark.
    const deadline = Date.now() + 10_000;
    while (existsSync(`/proc/${driver}`) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(existsSync(`/proc/${driver}`)).toBe(false);
    expect(await screen.waitFor('Killed')).toContain('__EXIT:137');
    expect(await statusOf(c)).toBe('interrupted');

    const resumed = await runCli(['resume', '--yes'], { cwd: c.dir, env: { DRBOOK_HOME: c.home } });
    expect(resumed.code, resumed.stdout + resumed.stderr).toBe(0);
    expect(resumed.stdout).toContain(`took over the session from drbook pid ${driver}`);
    const all = events(c);
    // Step 2 was shown, not answered: it is walked again, and done once.
    expect(stepsDone(all)).toEqual(['check:done', 'announce:done', 'restore:done', 'verify:done']);
    expect(all.filter((e) => e.type === 'step.started' && e.step === 'announce')).toHaveLength(2);
    expect(await statusOf(c)).toBe('completed');
  });

  it('Ctrl-C while waiting for a command drbook left running pauses, and leaves the command alone', async () => {
    const dir = join(scratch, `case-${++counter}`);
    mkdirSync(dir);
    const home = join(dir, 'home');
    const marks = join(dir, 'marks');
    const release = join(dir, 'release');
    try {
      // A run killed while nap-a's command runs; the command goes on until released.
      const killed = await new Promise<{ commandPid: number; journal: string }>((resolve, reject) => {
        execFile(
          process.execPath,
          [KILL_AT, CRASH, 'marks', 'nap-a'],
          {
            env: { PATH: process.env.PATH, DRBOOK_HOME: home, DRBOOK_TEST_MARKS: marks, DRBOOK_TEST_HOLD: release, DRBOOK_TEST_HOLD_STEP: 'nap-a' },
            timeout: 30_000,
          },
          (error, stdout, stderr) =>
            error ? reject(new Error(stderr || error.message)) : resolve(JSON.parse(stdout) as { commandPid: number; journal: string }),
        );
      });
      const c: Case = { dir, home, runbook: CRASH };
      const screen = await terminal(c, ['resume']);
      await screen.waitFor(`Wait for pid `);
      expect(await screen.screen()).toContain('It is still running on its own (pid ');
      await screen.sendKeys('Enter');
      await screen.waitFor('(Ctrl-C stops waiting and pauses)');
      await screen.sendKeys('C-c');
      await screen.waitFor('__EXIT:130');
      const shown = await screen.screen();
      expect(shown).toContain('Stopped waiting: pid');
      expect(shown).toContain('Paused: 1 done');
      expect(shown).not.toMatch(STACK_TRACE);
      expect(existsSync(`/proc/${killed.commandPid}`)).toBe(true); // not stopped: the operator only stopped waiting
      expect(events(c).at(-1)).toMatchObject({ type: 'session.paused', step: 'nap-a', reason: 'Ctrl-C while waiting for the command left running' });
      expect(await statusOf(c)).toBe('paused');

      // Once it has ended, the next resume closes it and goes on.
      writeFileSync(release, '');
      const deadline = Date.now() + 10_000;
      while (
        existsSync(`/proc/${killed.commandPid}`) &&
        readFileSync(`/proc/${killed.commandPid}/stat`, 'utf8').split(') ')[1]?.[0] !== 'Z' &&
        Date.now() < deadline
      ) {
        await new Promise((r) => setTimeout(r, 20));
      }
      const resumed = await runCli(['resume', '--yes'], { cwd: dir, env: { DRBOOK_HOME: home, DRBOOK_TEST_MARKS: marks } });
      expect(resumed.code, resumed.stdout + resumed.stderr).toBe(0);
      const all = events(c);
      expect(all.filter((e) => e.type === 'command.finished' && e.step === 'nap-a').map((e) => (e as { ok: boolean }).ok)).toEqual([false, true]);
      expect(all.at(-1)).toMatchObject({ type: 'session.ended', status: 'completed', done: 5 });
    } finally {
      writeFileSync(release, '');
    }
  });

  it('warns when the runbook changed since the session started; no leaves it paused', async () => {
    const c = freshCase();
    await runAndPause(c);
    const before = readFileSync(journalPath(c), 'utf8');
    const started = events(c)[0] as Extract<JournalEvent, { type: 'session.started' }>;
    // The docs were fixed overnight.
    appendFileSync(c.runbook, '# fixed: the restore needs the replica stopped first\n');

    const no = await terminal(c, ['resume']);
    await no.waitFor('Continue with the changed runbook?');
    const warning = await no.screen();
    expect(warning).toContain(`${c.runbook} changed since the session started (sha256 ${started.runbook.sha256.slice(0, 12)} → `);
    expect(warning).toContain('steps may differ from what was walked');
    await no.sendKeys('n', 'Enter');
    expect(await no.waitForExit()).toBe(2);
    expect(await no.screen()).toContain('Not resumed. The session stays paused; resume it when the runbook is right.');
    expect(readFileSync(journalPath(c), 'utf8')).toBe(before);
    expect(await statusOf(c)).toBe('paused');

    // Yes goes on, and the journal keeps which file it went on with.
    const yes = await terminal(c, ['resume']);
    await yes.waitFor('Continue with the changed runbook?');
    await yes.sendKeys('y', 'Enter');
    await yes.waitFor('Step 3/4: what now?');
    await yes.sendKeys('Enter');
    await yes.waitFor('Step 4/4: what now?');
    await yes.sendKeys('Enter');
    expect(await yes.waitForExit()).toBe(0);
    const resumed = events(c).find((e) => e.type === 'session.resumed') as Extract<JournalEvent, { type: 'session.resumed' }>;
    expect(resumed.runbookChanged?.from).toBe(started.runbook.sha256);
    expect(resumed.runbookChanged?.to).toMatch(/^[0-9a-f]{64}$/);
    expect(resumed.runbookChanged?.to).not.toBe(started.runbook.sha256);
    expect(stepsDone(events(c))).toEqual(['check:done', 'announce:done', 'restore:done', 'verify:done']);
  });
});

describe('sessions and verify', () => {
  it('an aborted session is aborted, and cannot be resumed', async () => {
    const c = freshCase();
    writeFileSync(
      c.runbook,
      'drbook: 1\nid: pause-walk\ntitle: Fails\nsteps:\n  - id: broken\n    title: Broken\n    run: exit 3\n  - id: never\n    title: Never\n',
    );
    const run = await runCli(['run', c.runbook, '--yes'], { cwd: c.dir, env: { DRBOOK_HOME: c.home } });
    expect(run.code, run.stderr).toBe(1);
    expect(await statusOf(c)).toBe('aborted');
    const resumed = await runCli(['resume', sessionId(c), '--yes'], { cwd: c.dir, env: { DRBOOK_HOME: c.home } });
    expect(resumed.code).toBe(2);
    expect(resumed.stderr).toContain(`session ${sessionId(c)} is aborted: drbook resume ${sessionId(c)} --reopen continues it`);
  });

  it('verify reports the line where a tampered journal breaks, and exits 1', async () => {
    const c = freshCase();
    const run = await runCli(['run', c.runbook, '--yes'], { cwd: c.dir, env: { DRBOOK_HOME: c.home } });
    expect(run.code, run.stderr).toBe(0);
    const path = journalPath(c);
    const id = sessionId(c);
    const good = await runCli(['verify', id], { cwd: c.dir, env: { DRBOOK_HOME: c.home } });
    expect(good.code, good.stderr).toBe(0);
    expect(good.stdout).toMatch(/chain verifies: \d+ events, final hash [0-9a-f]{64}/);

    const original = readFileSync(path, 'utf8');
    const lines = original.split('\n');
    // Line 6 is check's step.finished: say the operator skipped it instead.
    expect(JSON.parse(lines[5]!)).toMatchObject({ type: 'step.finished', step: 'check', outcome: 'done' });
    lines[5] = lines[5]!.replace('"outcome":"done"', '"outcome":"skipped"');
    writeFileSync(path, lines.join('\n'));
    const edited = await runCli(['verify', id], { cwd: c.dir, env: { DRBOOK_HOME: c.home } });
    expect(edited.code).toBe(1);
    // The edited line still links to the one before it; the next one no longer links to it.
    expect(edited.stdout).toBe(`${path}:7: chain broken: this event's prev does not match the line before it (edited, inserted or removed lines)\n`);
    expect(edited.stderr).toContain(`${path}:7: warning: the hash chain breaks here`);
    const json = await runCli(['verify', id, '--json'], { cwd: c.dir, env: { DRBOOK_HOME: c.home } });
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ session: id, ok: false, brokenAtLine: 7 });

    // A line removed: the one after it is where the chain breaks.
    const removed = original.split('\n');
    removed.splice(9, 1);
    writeFileSync(path, removed.join('\n'));
    const gap = await runCli(['verify', id, '--json'], { cwd: c.dir, env: { DRBOOK_HOME: c.home } });
    expect(gap.code).toBe(1);
    expect(JSON.parse(gap.stdout)).toMatchObject({ ok: false, brokenAtLine: 10 });
    expect(gap.stderr).not.toMatch(STACK_TRACE);
  });
});
