/**
 * drbook ended by a signal while a quiet command with a grandchild runs: SIGTERM, SIGHUP
 * and SIGQUIT, each at 5 instants (its pid just journaled, the shell started, each stage
 * of the grandchild), and a closed terminal (`tmux kill-session`). Every instant is a
 * condition (a journal event, a mark the command writes), never a timer.
 *
 * After each: drbook exited 128+n; no process of its group (the command, the grandchild,
 * its `sleep`) is left; the journal says the command was stopped and the session paused;
 * `resume --yes` runs the command again and its side effect (a line appended to a file)
 * happens exactly once, never with two copies running at once.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JournalEvent } from '../src/core/journal-events.js';
import { parseJournal } from '../src/core/journal-parse.js';
import { BIN, ensureBuilt, FIXTURES, runCli } from './helpers/run-cli.js';
import { startTmux, tmuxAvailable } from './helpers/tmux.js';

const SESSIONS = join(FIXTURES, 'sessions');
const RUNBOOK = join(SESSIONS, 'quiet.yml');
const DEADLINE_MS = 20_000;
const SIGNAL_NUMBER = { SIGTERM: 15, SIGHUP: 1, SIGQUIT: 3 } as const;
type Fatal = keyof typeof SIGNAL_NUMBER;
const INSTANTS = ['spawned', 'child', 'g1', 'g2', 'g3'] as const;
type Instant = (typeof INSTANTS)[number];

let scratch: string;
let counter = 0;

beforeAll(async () => {
  await ensureBuilt();
  scratch = mkdtempSync(join(tmpdir(), 'drbook-signals-'));
}, 180_000);

afterAll(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

interface Case {
  home: string;
  marks: string;
  side: string;
  /** Created to let a held grandchild go on. */
  hold: string;
  env: Record<string, string>;
}

function newCase(): Case {
  const dir = join(scratch, String(++counter));
  const home = join(dir, 'home');
  const marks = join(dir, 'marks');
  const side = join(dir, 'side');
  mkdirSync(dir, { recursive: true });
  return {
    home,
    marks,
    side,
    hold: join(dir, 'hold'),
    env: { PATH: process.env.PATH ?? '', HOME: home, DRBOOK_HOME: home, DRBOOK_TEST_MARKS: marks, DRBOOK_TEST_SIDE: side, NO_COLOR: '1', LANG: 'C.UTF-8' },
  };
}

async function until<T>(what: string, probe: () => T | undefined | false): Promise<T> {
  const deadline = Date.now() + DEADLINE_MS;
  for (;;) {
    const value = probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function journalOf(home: string): string | undefined {
  const dir = join(home, 'sessions');
  if (!existsSync(dir)) return undefined;
  const name = readdirSync(dir).find((n) => n.endsWith('.jsonl'));
  return name === undefined ? undefined : join(dir, name);
}

function events(home: string): JournalEvent[] {
  const path = journalOf(home);
  return path === undefined ? [] : parseJournal(readFileSync(path, 'utf8')).events;
}

function marks(path: string): Array<{ name: string; pid: number }> {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      const [name, pid] = l.split(' ');
      return { name: name!, pid: Number(pid) };
    });
}

function stat(pid: number): { state: string; pgrp: number } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0]!, pgrp: Number(fields[2]) };
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  const s = stat(pid);
  return s !== undefined && s.state !== 'Z' && s.state !== 'X';
}

/** Live processes of a process group. */
function groupMembers(pgid: number): number[] {
  return readdirSync('/proc')
    .filter((n) => /^\d+$/.test(n))
    .map(Number)
    .filter((pid) => {
      const s = stat(pid);
      return s !== undefined && s.pgrp === pgid && s.state !== 'Z' && s.state !== 'X';
    });
}

function reached(c: Case, instant: Instant): boolean {
  if (instant === 'spawned') return events(c.home).some((e) => e.type === 'command.spawned' && e.step === 'quiet');
  return marks(c.marks).some((m) => m.name === instant);
}

function lines(path: string): string[] {
  return existsSync(path)
    ? readFileSync(path, 'utf8')
        .split('\n')
        .filter((l) => l !== '')
    : [];
}

/** After the stop: the journal says what happened, and resume --yes finishes with one side effect. */
async function checkStoppedAndResume(c: Case, signal: Fatal): Promise<void> {
  const all = events(c.home);
  const finished = all.filter((e) => e.type === 'command.finished' && e.step === 'quiet');
  expect(finished).toHaveLength(1);
  expect(finished[0]).toMatchObject({ ok: false, interrupted: true, reason: expect.stringContaining(`drbook got ${signal}`) as unknown });
  expect(all[all.length - 1]).toMatchObject({ type: 'session.paused', step: 'quiet' });
  const spawned = all.find((e) => e.type === 'command.spawned' && e.step === 'quiet');
  expect(spawned).toMatchObject({ pgid: expect.any(Number) as unknown });
  const firstCopy = marks(c.marks).map((m) => m.pid);
  for (const pid of firstCopy) expect(alive(pid), `pid ${pid} of the first copy`).toBe(false);

  writeFileSync(c.hold, '');
  const resumed = await runCli(['resume', '--yes'], { cwd: scratch, env: c.env, timeoutMs: DEADLINE_MS });
  expect(resumed.stderr).not.toMatch(/internal error/);
  expect(resumed.code, resumed.stderr).toBe(0);
  expect(lines(c.side)).toHaveLength(1);
  // The copy that ran to the end is the second one: none of its marks came from a first-copy pid.
  const done = marks(c.marks).filter((m) => m.name === 'done');
  expect(done).toHaveLength(1);
  expect(firstCopy).not.toContain(done[0]!.pid);
  const after = events(c.home);
  expect(after.filter((e) => e.type === 'step.finished' && e.step === 'quiet')).toMatchObject([{ outcome: 'done' }]);
  expect(after[after.length - 1]).toMatchObject({ type: 'session.ended', status: 'completed' });
}

describe('drbook ended by a signal while a command with a grandchild runs', () => {
  for (const signal of Object.keys(SIGNAL_NUMBER) as Fatal[]) {
    for (const instant of INSTANTS) {
      it(`${signal} at ${instant}: the whole group is stopped, exit ${128 + SIGNAL_NUMBER[signal]}, resume runs it once`, async () => {
        const c = newCase();
        // The first copy's side effect waits for the hold file, made only before resume: a
        // slow stop on a loaded machine cannot let it through.
        c.env.DRBOOK_TEST_HOLD = c.hold;
        // Detached: a group of its own, as a shell with job control starts a job.
        const child = spawn(process.execPath, [BIN, 'run', RUNBOOK, '--yes'], {
          cwd: scratch,
          env: c.env,
          detached: true,
          stdio: ['ignore', 'ignore', 'pipe'],
        });
        let stderr = '';
        child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
        const closed = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
        const pgid = child.pid!;
        await until(
          `${instant}`,
          () =>
            reached(c, instant) ||
            (child.exitCode !== null
              ? (() => {
                  throw new Error(`drbook ended first: ${stderr}`);
                })()
              : false),
        );
        process.kill(pgid, signal);
        const code = await closed;
        expect(code, stderr).toBe(128 + SIGNAL_NUMBER[signal]);
        expect(stderr).toContain(`got ${signal}`);
        expect(stderr).not.toMatch(/internal error/);
        expect(groupMembers(pgid)).toEqual([]);
        // The command led a group of its own: none of it is left either.
        const spawned = events(c.home).find((e) => e.type === 'command.spawned' && e.step === 'quiet');
        if (spawned?.type === 'command.spawned') {
          expect(spawned.pgid).toBe(spawned.pid);
          expect(groupMembers(spawned.pid)).toEqual([]);
        }
        expect(lines(c.side)).toEqual([]);
        await checkStoppedAndResume(c, signal);
      }, 60_000);
    }
  }

  it("kill -9 of drbook and of the shell: resume finds the orphaned grandchild by the command's group and waits for it", async () => {
    const c = newCase();
    c.env.DRBOOK_TEST_HOLD = c.hold;
    const child = spawn(process.execPath, [BIN, 'run', RUNBOOK, '--yes'], { cwd: scratch, env: c.env, detached: true, stdio: 'ignore' });
    const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
    await until('g1', () => reached(c, 'g1'));
    const shell = marks(c.marks).find((m) => m.name === 'child')!.pid;
    const grandchild = marks(c.marks).find((m) => m.name === 'g1')!.pid;
    process.kill(child.pid!, 'SIGKILL');
    process.kill(shell, 'SIGKILL');
    await closed;
    await until('the shell to die', () => !alive(shell));
    // Only the grandchild (and its sleep) is left, re-parented away: the journaled pid is dead.
    expect(alive(grandchild)).toBe(true);
    const spawned = events(c.home).find((e) => e.type === 'command.spawned' && e.step === 'quiet');
    // The shell led the command's own group; the grandchild is in it, its parent gone.
    expect(spawned).toMatchObject({ pid: shell, pgid: shell });
    expect(stat(grandchild)?.pgrp).toBe(shell);

    const resume = spawn(process.execPath, [BIN, 'resume', '--yes'], { cwd: scratch, env: c.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let said = '';
    resume.stdout.on('data', (chunk: Buffer) => (said += chunk.toString('utf8')));
    resume.stderr.on('data', (chunk: Buffer) => (said += chunk.toString('utf8')));
    const resumeCode = new Promise<number | null>((resolve) => resume.once('close', (code) => resolve(code)));
    await until('resume to wait for the grandchild', () => said.includes('Waiting for'));
    expect(said).toMatch(new RegExp(`still running on its own \\(pids? [0-9, ]*\\b${grandchild}\\b`));
    expect(marks(c.marks).filter((m) => m.name === 'child')).toHaveLength(1);
    writeFileSync(c.hold, '');
    expect(await resumeCode, said).toBe(0);
    // The first copy finished (its side effect) before the second started: never two at once.
    const all = marks(c.marks);
    const firstDone = all.findIndex((m) => m.name === 'done' && m.pid === grandchild);
    const secondChild = all.findIndex((m, i) => m.name === 'child' && i > 0);
    expect(firstDone).toBeGreaterThan(0);
    expect(secondChild).toBeGreaterThan(firstDone);
    // --yes answers "run it again" about a command whose end is unknown: two lines, one at a time.
    expect(lines(c.side)).toHaveLength(2);
    const decisions = events(c.home).filter((e) => e.type === 'decision' && e.step === 'quiet');
    expect(decisions.map((e) => (e.type === 'decision' ? e.answer : ''))).toEqual(['wait', 'run it again']);
  }, 60_000);

  it.skipIf(!tmuxAvailable())(
    'tmux kill-session (a closed terminal) stops the command and its grandchild; resume runs it once',
    async () => {
      const c = newCase();
      c.env.DRBOOK_TEST_HOLD = c.hold;
      const tmux = await startTmux({ cmd: process.execPath, args: [BIN, 'run', RUNBOOK, '--yes'], env: c.env, cwd: scratch });
      try {
        await until('g2', () => reached(c, 'g2'));
        const started = events(c.home).find((e) => e.type === 'session.started');
        const driver = started?.type === 'session.started' ? started.pid : undefined;
        expect(driver).toBeDefined();
        const pgid = stat(driver!)!.pgrp;
        const ours = marks(c.marks).map((m) => m.pid);
        const { execFileSync } = await import('node:child_process');
        const clientEnv = { ...process.env };
        delete clientEnv.TMUX;
        execFileSync('tmux', ['-L', tmux.socket, 'kill-session', '-t', 'main'], { env: clientEnv });
        await until('drbook to end', () => !alive(driver!));
        for (const pid of ours) expect(alive(pid), `pid ${pid}`).toBe(false);
        expect(groupMembers(pgid)).toEqual([]);
        expect(lines(c.side)).toEqual([]);
        // The terminal's hangup reaches drbook and the command at once; drbook journals the
        // stop when it gets to (under load it may be gone first): either way resume runs the
        // command once more, alone.
        const last = events(c.home).at(-1);
        if (last?.type === 'session.paused') {
          await checkStoppedAndResume(c, 'SIGHUP');
        } else {
          writeFileSync(c.hold, '');
          const resumed = await runCli(['resume', '--yes'], { cwd: scratch, env: c.env, timeoutMs: DEADLINE_MS });
          expect(resumed.code, resumed.stderr).toBe(0);
          expect(lines(c.side)).toHaveLength(1);
        }
      } finally {
        await tmux.kill();
      }
    },
    60_000,
  );
});
