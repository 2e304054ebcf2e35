/**
 * `drbook run` of a runbook that already has a live session, through the built binary: a
 * session driven by a live drbook refuses the start (exit 2), one left by a killed drbook
 * (its payment command still running) is named with the command's pid, several `run --yes`
 * started at once give exactly one session, and in a terminal the operator is offered to
 * resume the session instead, to start anyway, or to quit.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseJournal } from '../src/core/journal-parse.js';
import { lines, scratchDir, until } from './helpers/probes.js';
import { BIN, runCli, STACK_TRACE } from './helpers/run-cli.js';
import { startTmux, tmuxAvailable, type TmuxSession } from './helpers/tmux.js';

const scratch = scratchDir('drbook-overlap-');
let counter = 0;
/** Ended sessions of the runbook in the three-at-once case. */
const HISTORY = 400;
const children: ChildProcess[] = [];
const screens: TmuxSession[] = [];

afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const screen of screens.splice(0)) await screen.kill();
});

interface Case {
  dir: string;
  home: string;
  /** The payment's marks: one line each time it starts. */
  marks: string;
  /** Created, it lets every held payment finish. */
  release: string;
  env: Record<string, string>;
}

/** A runbook `pay` whose one step marks that it started, then holds until released. */
function freshCase(): Case {
  const dir = join(scratch(), `case-${++counter}`);
  mkdirSync(dir);
  const c = { dir, home: join(dir, 'home'), marks: join(dir, 'marks'), release: join(dir, 'release') };
  writeFileSync(
    join(dir, 'pay.yml'),
    [
      'drbook: 1',
      'id: pay',
      'title: Pay the supplier',
      'steps:',
      '  - id: charge',
      '    title: Charge the card',
      `    run: echo charged >> '${c.marks}'; while [ ! -e '${c.release}' ]; do sleep 0.05; done`,
      '',
    ].join('\n'),
  );
  return { ...c, env: { DRBOOK_HOME: c.home } };
}

function sessionIds(c: Case): string[] {
  const dir = join(c.home, 'sessions');
  return existsSync(dir)
    ? readdirSync(dir)
        .filter((n) => n.endsWith('.jsonl'))
        .map((n) => n.slice(0, -'.jsonl'.length))
        .sort()
    : [];
}

function eventTypes(c: Case, id: string): string[] {
  return parseJournal(readFileSync(join(c.home, 'sessions', `${id}.jsonl`), 'utf8')).events.map((e) => e.type);
}

/** `drbook run pay --yes` in the background, as a process of its own. */
function startRun(c: Case, extra: string[] = []): ChildProcess {
  const child = spawn(process.execPath, [BIN, 'run', 'pay.yml', '--yes', ...extra], {
    cwd: c.dir,
    env: { PATH: process.env.PATH, HOME: c.dir, NO_COLOR: '1', ...c.env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  children.push(child);
  return child;
}

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.on('exit', (code) => resolve(code)));
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A session of `pay` left by a drbook killed with -9 while the payment ran: the payment runs on. */
async function killedMidPayment(c: Case): Promise<{ id: string; driver: number; payment: number }> {
  const first = startRun(c);
  await until('the payment to start', () => lines(c.marks).length === 1);
  const [id] = sessionIds(c);
  const spawned = await until('the payment spawned in the journal', () =>
    parseJournal(readFileSync(join(c.home, 'sessions', `${id}.jsonl`), 'utf8')).events.find((e) => e.type === 'command.spawned'),
  );
  first.kill('SIGKILL');
  await exited(first);
  const payment = (spawned as { pid: number }).pid;
  expect(pidAlive(payment)).toBe(true);
  return { id: id!, driver: first.pid!, payment };
}

describe('run beside a live session of the same runbook', () => {
  it('refuses (exit 2) while a drbook drives one, naming it and its pid; --parallel starts one anyway', async () => {
    const c = freshCase();
    const first = startRun(c);
    await until('the payment to start', () => lines(c.marks).length === 1);
    const [id] = sessionIds(c);

    const second = await runCli(['run', 'pay.yml', '--yes'], { cwd: c.dir, env: c.env });
    expect(second.code).toBe(2);
    expect(second.stderr).toContain(`runbook pay is already being run: session ${id} is driven by drbook pid ${first.pid} on host`);
    expect(second.stderr).toContain(`drbook note --session ${id}`);
    expect(second.stderr).toContain('--parallel');
    expect(second.stderr).not.toMatch(STACK_TRACE);
    expect(sessionIds(c)).toEqual([id]);
    expect(lines(c.marks)).toHaveLength(1);

    // A rehearsal never executes the payment: it stays free.
    const drill = await runCli(['rehearse', 'pay.yml', '--yes'], { cwd: c.dir, env: c.env });
    expect(drill.code, drill.stderr).toBe(0);

    const parallel = startRun(c, ['--parallel']);
    await until('the second payment to start', () => lines(c.marks).length === 2);
    writeFileSync(c.release, '');
    expect(await exited(parallel)).toBe(0);
    expect(await exited(first)).toBe(0);

    // Both ended: the next run starts as if there had been none.
    const third = await runCli(['run', 'pay.yml', '--yes'], { cwd: c.dir, env: c.env });
    expect(third.code, third.stderr).toBe(0);
  });

  it('under --yes, refuses over a session a killed drbook left, naming the payment still running', async () => {
    const c = freshCase();
    const { id, driver, payment } = await killedMidPayment(c);

    const again = await runCli(['run', 'pay.yml', '--yes'], { cwd: c.dir, env: c.env });
    expect(again.code).toBe(2);
    expect(again.stderr).toContain(`session ${id}: interrupted at step charge (drbook pid ${driver} is gone)`);
    expect(again.stderr).toContain(`its command is still running on its own (pid ${payment})`);
    expect(again.stderr).toContain(`drbook resume ${id}`);
    expect(again.stderr).not.toMatch(STACK_TRACE);
    expect(lines(c.marks)).toHaveLength(1);
    expect(sessionIds(c)).toEqual([id]);
    writeFileSync(c.release, '');
    await until('the orphaned payment to end', () => !pidAlive(payment));
  });

  it('of three run --yes started at once, exactly one starts; the others are refused', async () => {
    const c = freshCase();
    // A home with a history: reading it takes each run a while, so all three are looking at
    // once; what they see and what they start must be one step, or two would start.
    writeFileSync(c.release, '');
    const done = await runCli(['run', 'pay.yml', '--yes'], { cwd: c.dir, env: c.env });
    expect(done.code, done.stderr).toBe(0);
    const [past] = sessionIds(c);
    for (let n = 2; n <= HISTORY; n++) copyFileSync(join(c.home, 'sessions', `${past}.jsonl`), join(c.home, 'sessions', `20200101T000000Z-pay-${n}.jsonl`));
    rmSync(c.release);
    writeFileSync(c.marks, '');
    const runs = [startRun(c), startRun(c), startRun(c)];
    const stderr = runs.map((child) => {
      const chunks: Buffer[] = [];
      child.stderr!.on('data', (chunk: Buffer) => chunks.push(chunk));
      return chunks;
    });
    // Two are refused at once; the third holds its payment until released.
    const refused = await until('two of the three to end', () =>
      runs.filter((r) => r.exitCode !== null).length === 2 ? runs.filter((r) => r.exitCode !== null) : false,
    );
    expect(refused.map((r) => r.exitCode)).toEqual([2, 2]);
    for (const r of refused) expect(Buffer.concat(stderr[runs.indexOf(r)]!).toString()).toContain('runbook pay is already being run');
    await until('the payment to start', () => lines(c.marks).length === 1);
    writeFileSync(c.release, '');
    const winner = runs.find((r) => !refused.includes(r))!;
    expect(await exited(winner)).toBe(0);
    expect(lines(c.marks)).toHaveLength(1);
    expect(sessionIds(c)).toHaveLength(HISTORY + 1);
  });
});

describe.skipIf(!tmuxAvailable())('run in a terminal over a session that did not end', () => {
  async function terminal(c: Case, args: string[]): Promise<TmuxSession> {
    const screen = await startTmux({
      cmd: process.execPath,
      args: [BIN, ...args],
      cwd: c.dir,
      env: { DRBOOK_HOME: c.home, NO_COLOR: '1', FORCE_COLOR: undefined, TERM: 'xterm-256color' },
    });
    screens.push(screen);
    return screen;
  }

  it('offers to resume it (the default): Enter resumes, and the payment is not started beside itself', async () => {
    const c = freshCase();
    const { id, payment } = await killedMidPayment(c);
    const screen = await terminal(c, ['run', 'pay.yml']);
    await screen.waitFor(`its command is still running on its own (pid ${payment})`);
    await screen.waitFor(/r\) resume \S+ \(default\)/);
    await screen.waitFor('n) start a new session anyway');
    await screen.waitFor('q) quit: start nothing');
    await screen.sendKeys('Enter');
    // resume's own question about the payment that still runs: wait for it.
    await screen.waitFor(`Resuming ${id}`);
    await screen.waitFor(`Wait for pid ${payment} to finish?`);
    await screen.sendKeys('Enter');
    await screen.waitFor(`Waiting for pid ${payment}`);
    writeFileSync(c.release, '');
    await screen.waitFor('did it complete?', { timeoutMs: 20_000 });
    await screen.sendKeys('d', 'Enter');
    expect(await screen.waitForExit({ timeoutMs: 20_000 })).toBe(0);
    expect(sessionIds(c)).toEqual([id]);
    expect(lines(c.marks)).toHaveLength(1);
    expect(eventTypes(c, id)).toContain('session.resumed');
  });

  it('q starts nothing (exit 2); n starts a new session anyway', async () => {
    const c = freshCase();
    const { id, payment } = await killedMidPayment(c);
    writeFileSync(c.release, '');
    await until('the orphaned payment to end', () => !pidAlive(payment));

    const quit = await terminal(c, ['run', 'pay.yml']);
    await quit.waitFor(`session ${id}: interrupted at step charge`);
    await quit.waitFor('q) quit: start nothing');
    await quit.sendKeys('q', 'Enter');
    expect(await quit.waitForExit()).toBe(2);
    expect(await quit.screen()).toContain(`Nothing started. drbook resume ${id}`);
    expect(sessionIds(c)).toEqual([id]);

    const anyway = await terminal(c, ['run', 'pay.yml']);
    await anyway.waitFor('n) start a new session anyway');
    await anyway.sendKeys('n', 'Enter');
    await anyway.waitFor('Step 1/1: what now?');
    await anyway.sendKeys('Enter');
    expect(await anyway.waitForExit({ timeoutMs: 20_000 })).toBe(0);
    const ids = sessionIds(c);
    expect(ids).toHaveLength(2);
    expect(
      eventTypes(
        c,
        ids.find((x) => x !== id)!,
      ),
    ).toContain('session.ended');
    expect(lines(c.marks)).toHaveLength(2);
  });
});
