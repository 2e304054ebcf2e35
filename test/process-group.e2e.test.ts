/**
 * A command in a process group of its own, at a real terminal (tmux) and the built binary:
 * it holds the terminal's foreground while it runs (so `read -s`, `read </dev/tty`, sudo and
 * ssh prompts work and Ctrl-C reaches it), drbook gets the terminal back after it, and a
 * signal to drbook stops the whole group, grandchildren included. After `kill -9` of drbook,
 * `resume` finds what is left of the group and never starts the command beside it.
 *
 * Every wait is for text on the screen, a file or a journal event, with a deadline.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { JournalEvent } from '../src/core/journal-events.js';
import { parseJournal } from '../src/core/journal-parse.js';
import { BIN, ensureBuilt, FIXTURES, runCli } from './helpers/run-cli.js';
import { startTmux, tmuxAvailable, type TmuxSession } from './helpers/tmux.js';

const DEADLINE_MS = 20_000;
let scratch: string;
let counter = 0;
const sessions: TmuxSession[] = [];

beforeAll(async () => {
  await ensureBuilt();
  scratch = mkdtempSync(join(tmpdir(), 'drbook-group-'));
}, 180_000);

afterEach(async () => {
  for (const s of sessions.splice(0)) await s.kill();
});

afterAll(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

interface Case {
  dir: string;
  home: string;
  env: Record<string, string | undefined>;
}

function newCase(): Case {
  const dir = join(scratch, String(++counter));
  const home = join(dir, 'home');
  mkdirSync(dir, { recursive: true });
  return { dir, home, env: { DRBOOK_HOME: home, DRBOOK_DIR: undefined, NO_COLOR: '1', LANG: 'C.UTF-8', HOME: home } };
}

function writeRunbook(c: Case, steps: Array<{ id: string; run: string }>): string {
  const path = join(c.dir, 'book.yml');
  const body = steps
    .map(
      (s) =>
        `  - id: ${s.id}\n    title: Step ${s.id}\n    run: |-\n${s.run
          .split('\n')
          .map((l) => `      ${l}`)
          .join('\n')}`,
    )
    .join('\n');
  writeFileSync(path, `drbook: 1\nid: group-book\ntitle: Commands and the terminal\nsteps:\n${body}\n`);
  return path;
}

async function inTerminal(c: Case, args: string[]): Promise<TmuxSession> {
  const s = await startTmux({ cmd: process.execPath, args: [BIN, ...args], env: c.env, cwd: c.dir, cols: 120, rows: 50 });
  sessions.push(s);
  return s;
}

async function until<T>(what: string, probe: () => T | undefined | false, s?: TmuxSession): Promise<T> {
  const deadline = Date.now() + DEADLINE_MS;
  for (;;) {
    const value = probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${s ? `; the screen was:\n${await s.screen()}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function events(home: string): JournalEvent[] {
  const dir = join(home, 'sessions');
  if (!existsSync(dir)) return [];
  const name = readdirSync(dir).find((n) => n.endsWith('.jsonl'));
  return name === undefined ? [] : parseJournal(readFileSync(join(dir, name), 'utf8')).events;
}

function spawnedOf(home: string, step: string): Extract<JournalEvent, { type: 'command.spawned' }> | undefined {
  const found = events(home).find((e) => e.type === 'command.spawned' && e.step === step);
  return found?.type === 'command.spawned' ? found : undefined;
}

function driverPid(home: string): number | undefined {
  const started = events(home).find((e) => e.type === 'session.started');
  return started?.type === 'session.started' ? started.pid : undefined;
}

/** state, ppid, pgrp and the terminal's foreground group of a live process. */
function stat(pid: number): { state: string; ppid: number; pgrp: number; tpgid: number } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
    if (f[0] === 'Z' || f[0] === 'X') return undefined;
    return { state: f[0]!, ppid: Number(f[1]), pgrp: Number(f[2]), tpgid: Number(f[5]) };
  } catch {
    return undefined;
  }
}

function groupMembers(pgid: number): number[] {
  return readdirSync('/proc')
    .filter((n) => /^\d+$/.test(n))
    .map(Number)
    .filter((pid) => stat(pid)?.pgrp === pgid);
}

function readPid(path: string): number | undefined {
  if (!existsSync(path)) return undefined;
  const n = Number(readFileSync(path, 'utf8').trim());
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

describe.skipIf(!tmuxAvailable())('a command in a process group of its own, at the terminal', () => {
  it('leads its group, holds the foreground, reads the terminal (read -s, /dev/tty), and leaves it sane', async () => {
    const c = newCase();
    const book = writeRunbook(c, [
      { id: 'group', run: `set -- $(sed 's/.*) //' /proc/$$/stat)\necho "shell $$ group $3 foreground $6"` },
      { id: 'secret', run: `read -r -s -p 'Password: ' pw\necho\necho "length \${#pw}"` },
      { id: 'tty', run: `read -r -p 'Host: ' host </dev/tty\necho "host is $host"` },
      { id: 'sane', run: `for f in icanon echo isig; do if stty -a | grep -qw -- "-$f"; then echo "$f off"; else echo "$f on"; fi; done` },
    ]);
    const s = await inTerminal(c, ['run', book, '--yes']);
    await s.waitFor('Password: ', { timeoutMs: DEADLINE_MS });
    // bash may print the prompt before it turns the echo off: type once the terminal says so.
    const reader = await until('command.spawned', () => spawnedOf(c.home, 'secret'), s);
    const tty = readlinkSync(`/proc/${reader.pid}/fd/0`);
    await until('the echo to be off', () => /(^|\s)-echo(\s|$)/.test(execFileSync('stty', ['-F', tty, '-a'], { encoding: 'utf8' })), s);
    await s.type('hunter22');
    await s.sendKeys('Enter');
    await s.waitFor('length 8', { timeoutMs: DEADLINE_MS });
    await s.waitFor('Host: ', { timeoutMs: DEADLINE_MS });
    await s.type('db1');
    await s.sendKeys('Enter');
    await s.waitFor('host is db1', { timeoutMs: DEADLINE_MS });
    expect(await s.waitForExit({ timeoutMs: DEADLINE_MS })).toBe(0);
    const screen = await s.screen();
    // read -s kept the password off the screen.
    expect(screen).not.toContain('hunter22');
    expect(screen).toMatch(/^icanon on$/m);
    expect(screen).toMatch(/^echo on$/m);
    expect(screen).toMatch(/^isig on$/m);

    const [, shell, group, foreground] = /shell (\d+) group (\d+) foreground (\d+)/.exec(screen) ?? [];
    expect(Number(group)).toBe(Number(shell));
    expect(Number(foreground)).toBe(Number(shell));
    expect(Number(shell)).not.toBe(driverPid(c.home));
    expect(spawnedOf(c.home, 'group')).toMatchObject({ pid: Number(shell), pgid: Number(shell) });
  }, 60_000);

  it("without perl, the command stays in drbook's group and still reads the terminal", async () => {
    const c = newCase();
    // A PATH with the shell and the few programs the step needs, and no perl.
    const bin = join(c.dir, 'bin');
    mkdirSync(bin);
    for (const name of ['bash', 'sh', 'sed', 'sleep'])
      symlinkSync(execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim(), join(bin, name));
    c.env.PATH = bin;
    const book = writeRunbook(c, [
      { id: 'shared', run: `set -- $(sed 's/.*) //' /proc/$$/stat)\necho "group $3"\nread -r -p 'Name: ' name\necho "name is $name"` },
    ]);
    const s = await inTerminal(c, ['run', book, '--yes']);
    // The prompt read prints, at the start of a line: the command shown above the run holds 'Name: ' too.
    await s.waitFor(/^Name: /m, { timeoutMs: DEADLINE_MS });
    await s.type('kim');
    await s.sendKeys('Enter');
    await s.waitFor('name is kim', { timeoutMs: DEADLINE_MS });
    expect(await s.waitForExit({ timeoutMs: DEADLINE_MS })).toBe(0);
    const screen = await s.screen();
    const group = Number(/\bgroup (\d+)/.exec(screen)?.[1]);
    expect(group, screen).toBeGreaterThan(0);
    const spawned = spawnedOf(c.home, 'shared')!;
    expect(group).not.toBe(spawned.pid);
    expect(spawned.pgid).toBe(group);
  }, 60_000);

  it('Ctrl-C reaches the command, drbook asks what next, and its prompt has the terminal again', async () => {
    const c = newCase();
    const pidfile = join(c.dir, 'sleep.pid');
    const book = writeRunbook(c, [
      { id: 'long', run: `sh -c 'sleep 300 & echo $! > ${pidfile}; wait' &\nwait` },
      { id: 'next', run: 'echo next' },
    ]);
    const s = await inTerminal(c, ['run', book]);
    await s.waitFor(/Step 1\/2: what now\?/, { timeoutMs: DEADLINE_MS });
    await s.sendKeys('r', 'Enter');
    const sleeper = await until('the grandchild', () => readPid(pidfile), s);
    const spawned = await until('command.spawned', () => spawnedOf(c.home, 'long'), s);
    const driver = driverPid(c.home)!;
    // While it runs, the command's group has the terminal, not drbook's.
    expect(stat(spawned.pid)?.tpgid).toBe(spawned.pid);
    expect(stat(driver)?.tpgid).toBe(spawned.pid);
    expect(stat(sleeper)?.pgrp).toBe(spawned.pid);

    // Ctrl-Z would stop the command alone, with drbook waiting for it: it is continued.
    await s.sendKeys('C-z');
    await s.waitFor('Ctrl-Z does not suspend a step: the command was continued', { timeoutMs: DEADLINE_MS });
    await until('the command to run again', () => stat(spawned.pid)?.state !== 'T' && stat(sleeper)?.state !== 'T', s);

    await s.sendKeys('C-c');
    const screen = await s.waitFor(/^\? The step failed\. What now\?/m, { timeoutMs: DEADLINE_MS });
    expect(screen).toContain('interrupted (Ctrl-C)');
    // The grandchild (SIGINT ignored in a background job) was stopped too: none of the group is left.
    expect(stat(sleeper)).toBeUndefined();
    expect(groupMembers(spawned.pid)).toEqual([]);
    // drbook has the terminal back: its prompt reads keys.
    expect(stat(driver)?.tpgid).toBe(stat(driver)?.pgrp);
    await s.sendKeys('s', 'Enter');
    await s.waitFor(/Step 2\/2: what now\?/, { timeoutMs: DEADLINE_MS });
    await s.sendKeys('r', 'Enter');
    expect(await s.waitForExit({ timeoutMs: DEADLINE_MS })).toBe(0);
    const finished = events(c.home).find((e) => e.type === 'command.finished' && e.step === 'long');
    expect(finished).toMatchObject({ ok: false, interrupted: true, reason: 'interrupted (Ctrl-C)' });
  }, 60_000);

  for (const [signal, number] of [
    ['SIGTERM', 15],
    ['SIGHUP', 1],
  ] as const) {
    it(`${signal} to drbook stops the command's whole group: no grandchild survives with ppid 1`, async () => {
      const c = newCase();
      const pidfile = join(c.dir, 'sleep.pid');
      const book = writeRunbook(c, [{ id: 'quiet', run: `sh -c 'sleep 300 & echo $! > ${pidfile}; wait'` }]);
      const s = await inTerminal(c, ['run', book, '--yes']);
      const sleeper = await until('the grandchild', () => readPid(pidfile), s);
      const spawned = await until('command.spawned', () => spawnedOf(c.home, 'quiet'), s);
      expect(stat(sleeper)?.pgrp).toBe(spawned.pid);
      process.kill(driverPid(c.home)!, signal);
      expect(await s.waitForExit({ timeoutMs: DEADLINE_MS })).toBe(128 + number);
      expect(stat(sleeper)).toBeUndefined();
      expect(groupMembers(spawned.pid)).toEqual([]);
      expect(events(c.home).at(-1)).toMatchObject({ type: 'session.paused', step: 'quiet' });
    }, 60_000);
  }

  it('kill -9 of drbook and of the shell: resume --yes finds the live member of the group and does not start the command beside it', async () => {
    const c = newCase();
    const marks = join(c.dir, 'marks');
    const side = join(c.dir, 'side');
    const hold = join(c.dir, 'hold');
    Object.assign(c.env, { DRBOOK_TEST_MARKS: marks, DRBOOK_TEST_SIDE: side, DRBOOK_TEST_HOLD: hold });
    const s = await inTerminal(c, ['run', join(FIXTURES, 'sessions', 'quiet.yml'), '--yes']);
    const markOf = (name: string): number | undefined => {
      if (!existsSync(marks)) return undefined;
      const line = readFileSync(marks, 'utf8')
        .split('\n')
        .find((l) => l.startsWith(`${name} `));
      return line === undefined ? undefined : Number(line.split(' ')[1]);
    };
    const grandchild = await until('g1', () => markOf('g1'), s);
    const shell = markOf('child')!;
    const spawned = await until('command.spawned', () => spawnedOf(c.home, 'quiet'), s);
    expect(spawned).toMatchObject({ pid: shell, pgid: shell });
    process.kill(driverPid(c.home)!, 'SIGKILL');
    process.kill(shell, 'SIGKILL');
    await until('the shell to die', () => stat(shell) === undefined);
    // Only the grandchild is left, in the command's group: the journaled pid is dead.
    expect(stat(grandchild)?.pgrp).toBe(shell);

    const resumed = runCli(['resume', '--yes'], { cwd: c.dir, env: { ...c.env, DRBOOK_DIR: undefined }, timeoutMs: DEADLINE_MS * 2 });
    // resume waits for the grandchild: its decision is journaled, and no second copy started.
    await until('resume to decide to wait', () => events(c.home).some((e) => e.type === 'decision' && e.step === 'quiet' && e.answer === 'wait'));
    expect(
      readFileSync(marks, 'utf8')
        .split('\n')
        .filter((l) => l.startsWith('child ')),
    ).toHaveLength(1);
    writeFileSync(hold, '');
    const result = await resumed;
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout + result.stderr).toMatch(new RegExp(`still running on its own \\(pids? [0-9, ]*\\b${grandchild}\\b`));
    // The first copy ended (its side effect) before the second started.
    const all = readFileSync(marks, 'utf8').split('\n').filter(Boolean);
    const firstDone = all.indexOf(`done ${grandchild}`);
    const secondChild = all.findIndex((l, i) => l.startsWith('child ') && i > 0);
    expect(firstDone).toBeGreaterThan(0);
    expect(secondChild).toBeGreaterThan(firstDone);
    expect(readFileSync(side, 'utf8').split('\n').filter(Boolean)).toHaveLength(2);
  }, 90_000);
});
