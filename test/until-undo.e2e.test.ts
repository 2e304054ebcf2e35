/**
 * Format 1.1 end to end: the built binary in a real pseudo-terminal (tmux). The `until:`
 * countdown on screen, Ctrl-C during the wait, then `drbook undo` after the aborted run.
 * Every wait is for text on the screen, with a deadline.
 */
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { JournalEvent } from '../src/core/journal-events.js';
import { startTmux, tmuxAvailable, type TmuxSession } from './helpers/tmux.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const temps: string[] = [];
const sessions: TmuxSession[] = [];
let drbook: string;

function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `drbook-until-${prefix}-`));
  temps.push(dir);
  return dir;
}

/** A private copy of the build, so a rebuild of dist/ by another test cannot reach this one. */
function snapshot(): string {
  const dir = tempDir('bin');
  cpSync(join(root, 'dist'), join(dir, 'dist'), { recursive: true, filter: (p) => !/\.tmp\.|drbook\.mjs$/.test(p) });
  if (!existsSync(join(dir, 'dist', 'drbook.cjs'))) throw new Error('dist/drbook.cjs is missing: run npm run build');
  mkdirSync(join(dir, 'bin'));
  copyFileSync(join(root, 'bin', 'drbook.cjs'), join(dir, 'bin', 'drbook.cjs'));
  copyFileSync(join(root, 'package.json'), join(dir, 'package.json'));
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'), 'dir');
  return join(dir, 'bin', 'drbook.cjs');
}

async function drbookIn(home: string, work: string, args: string[]): Promise<TmuxSession> {
  const s = await startTmux({
    cmd: process.execPath,
    args: [drbook, ...args],
    cwd: work,
    cols: 140,
    rows: 50,
    env: { DRBOOK_HOME: home, DRBOOK_DIR: undefined, NO_COLOR: undefined, FORCE_COLOR: undefined },
  });
  sessions.push(s);
  return s;
}

const count = (screen: string, re: RegExp): number => screen.match(new RegExp(re.source, 'gm'))?.length ?? 0;

/** Waits until `re` (anchored at a line start by the caller if needed) shows `n` times. */
async function seen(s: TmuxSession, re: RegExp, n = 1, timeoutMs = 20_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const screen = await s.screen();
    if (count(screen, re) >= n) return screen;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${String(re)} ×${n}; the screen was:\n${screen.trimEnd()}`);
    await new Promise((resolve) => setTimeout(resolve, 40));
  }
}

/** Waits until the last non-empty line of the screen matches: what is shown right now. */
async function lastLine(s: TmuxSession, re: RegExp, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const lines = (await s.screen()).split('\n').filter((l) => l.trim() !== '');
    if (re.test(lines.at(-1) ?? '')) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${String(re)} on the last line; it was: ${lines.at(-1) ?? ''}`);
    await new Promise((resolve) => setTimeout(resolve, 40));
  }
}

/** Answers the n-th asking of a question (its line starts with `?`), once it is asked. */
async function answer(s: TmuxSession, question: string, n: number, ...keys: string[]): Promise<void> {
  const escaped = question.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const done = new RegExp(`^✔ ${escaped}`, 'm');
  const before = count(await s.screen(), done);
  await seen(s, new RegExp(`^\\? ${escaped}`, 'm'));
  await s.sendKeys(...keys);
  await seen(s, done, Math.max(before + 1, n));
}

function journal(home: string): JournalEvent[] {
  const dir = join(home, 'sessions');
  const files = readdirSync(dir).filter((f) => f.endsWith('.jsonl'));
  expect(files).toHaveLength(1);
  return readFileSync(join(dir, files[0]!), 'utf8')
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as JournalEvent);
}

beforeAll(() => {
  drbook = snapshot();
}, 120_000);

afterEach(async () => {
  await Promise.all(sessions.splice(0).map((s) => s.kill()));
});

afterAll(() => {
  for (const dir of temps.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!tmuxAvailable())('until and undo in a terminal', () => {
  it('shows the countdown, stops waiting on Ctrl-C, and drbook undo walks back the aborted run', { timeout: 120_000 }, async () => {
    const home = tempDir('home');
    const work = tempDir('work');
    const runbook = join(work, 'poll.yml');
    writeFileSync(
      runbook,
      `drbook: 1
id: poll
title: Wait and back out
steps:
  - id: mark
    title: Create the marker
    run: touch created
    undo: rm created
  - id: wait-flag
    title: Wait for the flag
    run: echo "flag not there yet"; test -e flag
    until: { interval: 10s, timeout: 10m }
    undo: { run: echo undoing-the-wait, confirm: Is the wait undone? }
  - id: break
    title: Break
    run: exit 3
`,
    );
    const s = await drbookIn(home, work, ['run', runbook]);
    await answer(s, 'Step 1/3: what now?', 1, 'Enter');
    await answer(s, 'Step 2/3: what now?', 1, 'Enter');

    // The countdown: the attempt, the time to the next try falling, the time left, the last line.
    await seen(s, /Step 2\/3: attempt 1 failed \(exit code 1\) · next try in 10s · 9m 5\ds left · Ctrl-C stops waiting · last: flag not there yet/);
    await seen(s, /attempt 1 failed \(exit code 1\) · next try in 8s/);
    // Between attempts the spinner gave way: the next attempt's output streamed on its own line.
    await seen(s, /^↻ attempt 1 failed \(exit code 1\): trying again$/m);
    // Ctrl-C while the spinner counts down (the last line), well before the next attempt.
    await lastLine(s, /attempt 2 failed \(exit code 1\) · next try in (9|10)s/);
    await s.sendKeys('C-c');
    const menu = await seen(s, /^\? The step failed\. What now\?/m);
    expect(menu).toMatch(/^\^C stopped waiting after attempt 2$/m);
    expect(menu).toMatch(/Step 2\/3 failed: stopped waiting \(Ctrl-C\) after 2 attempts in \d+s: exit code 1/);

    writeFileSync(join(work, 'flag'), '');
    await answer(s, 'The step failed. What now?', 1, 'Enter'); // retry: the flag is there now
    await answer(s, 'Step 3/3: what now?', 1, 'Enter');
    await answer(s, 'The step failed. What now?', 2, 'a', 'Enter');
    await answer(s, 'Abort the runbook?', 1, 'Enter');
    await answer(s, 'Why abort?', 1, 'Enter');
    await answer(s, '2 steps done have an undo (wait-flag, mark). Undo them now, latest first?', 1, 'n', 'Enter');
    expect(await s.waitForExit({ timeoutMs: 20_000 })).toBe(1);
    expect(await s.screen()).toMatch(/Not undone\. Later: drbook undo \S+-poll/);
    expect(existsSync(join(work, 'created'))).toBe(true);

    const events = journal(home);
    // One event per attempt: the poll started once, each attempt one poll.attempt, no command.* event.
    const polls = events.flatMap((e) => (e.type === 'poll.attempt' && e.step === 'wait-flag' ? [e] : []));
    expect(events.filter((e) => e.type.startsWith('command.') && 'step' in e && e.step === 'wait-flag')).toEqual([]);
    expect(events.filter((e) => e.type === 'poll.started' && e.step === 'wait-flag')).toHaveLength(2);
    expect(polls.map((e) => [e.pollAttempt, e.ok, e.nextInMs !== undefined])).toEqual([
      [1, false, true],
      [2, false, true],
      [1, true, false],
    ]);
    expect(polls.filter((e) => !e.ok).every((e) => e.pid !== undefined && e.tail.includes('flag not there yet'))).toBe(true);
    expect(events.some((e) => e.type === 'decision' && e.answer === 'stopped waiting (Ctrl-C)')).toBe(true);
    expect(events.at(-1)).toMatchObject({ type: 'session.ended', status: 'aborted' });

    // Later, from another terminal: drbook undo, latest first.
    const u = await drbookIn(home, work, ['undo']);
    await seen(u, /^Undo: 2 steps, latest first: wait-flag, mark$/m);
    await answer(u, 'Step 1/2: what now?', 1, 'Enter');
    await answer(u, 'Is the wait undone?', 1, 'Enter');
    await answer(u, 'Step 2/2: what now?', 1, 'Enter');
    await seen(u, /^Undo completed: 2 undone, 0 undone by hand, 0 skipped, 0 failed\.$/m);
    expect(await u.waitForExit({ timeoutMs: 20_000 })).toBe(0);
    expect(existsSync(join(work, 'created'))).toBe(false);

    const after = journal(home);
    expect(after.slice(events.length).map((e) => ('step' in e ? `${e.type} ${e.step}` : e.type))).toEqual([
      'undo.started',
      'undo.command.started wait-flag',
      'undo.command.finished wait-flag',
      'undo.decision wait-flag',
      'undo.step wait-flag',
      'undo.command.started mark',
      'undo.command.finished mark',
      'undo.step mark',
      'undo.ended',
    ]);

    // Nothing is left to undo, and the session is still the aborted one.
    const again = await drbookIn(home, work, ['undo', '--yes']);
    await seen(again, /Nothing to undo in \S+-poll/);
    expect(await again.waitForExit({ timeoutMs: 20_000 })).toBe(0);
  });
});
