/**
 * The instant a fatal signal or Ctrl-C reaches drbook after the command's shell has exited
 * but before node has reported the exit (both wait in the same turn of the event loop, the
 * signal handled first). The shell is held there for real: a zombie, its exit not yet read,
 * because this test does not give the event loop a turn until the stop has been told.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { CommandStop } from '../src/adapters/command-stop.js';
import { readProcStart } from '../src/adapters/process-tree.js';

const DEADLINE_MS = 10_000;
const stops: CommandStop[] = [];
/** The listeners that are not drbook's (the test runner's), taken before any CommandStop exists. */
const notOurs = { SIGTERM: process.listeners('SIGTERM'), SIGINT: process.listeners('SIGINT') };

afterEach(() => {
  for (const stop of stops.splice(0)) stop.dispose();
});

/** The state letter of /proc/<pid>/stat. */
function state(pid: number): string | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return text.slice(text.lastIndexOf(')') + 2).split(' ')[0];
  } catch {
    return undefined;
  }
}

/** Starts `script` in a group of its own and, without yielding to the event loop, waits for it to be a zombie. */
function zombie(script: string) {
  const child = spawn('sh', ['-c', script], { detached: true, stdio: 'ignore' });
  const pid = child.pid!;
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const deadline = Date.now() + DEADLINE_MS;
  while (state(pid) !== 'Z') {
    if (Date.now() > deadline) throw new Error(`pid ${pid} never became a zombie (state ${state(pid)})`);
  }
  return { pid, exit };
}

function running(script: string) {
  const child = spawn('sh', ['-c', script], { detached: true, stdio: 'ignore' });
  const pid = child.pid!;
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { pid, exit };
}

function watch(pid: number): CommandStop {
  const stop = new CommandStop({
    pid,
    procStart: readProcStart(pid),
    mode: 'session',
    pgid: pid,
    timeoutMs: undefined,
    killGraceMs: 2000,
    early: undefined,
    say: () => {},
  });
  stops.push(stop);
  return stop;
}

/** What CommandStop listens to, called as the signal would call it. */
function deliver(signal: 'SIGTERM' | 'SIGINT'): void {
  for (const listener of process.listeners(signal)) if (!notOurs[signal].includes(listener)) (listener as (s: string) => void)(signal);
}

describe('a stop that comes after the shell exited, before node saw it', () => {
  it('SIGTERM after an exit 0: the command finished on its own, its result stands', async () => {
    const { pid, exit } = zombie('exit 0');
    const stop = watch(pid);
    deliver('SIGTERM');
    stop.exit(await exit);
    await stop.survivors();
    expect(stop.stoppedBy).toBe('SIGTERM');
    expect(stop.stoppedAfterExit).toBe(true);
    expect(stop.interrupted).toBe(false);
  });

  it('SIGTERM after an exit 1: the command had failed on its own, and is not counted as done', async () => {
    const { pid, exit } = zombie('exit 1');
    const stop = watch(pid);
    deliver('SIGTERM');
    stop.exit(await exit);
    await stop.survivors();
    expect(stop.stoppedBy).toBe('SIGTERM');
    expect(stop.stoppedAfterExit).toBe(false);
  });

  it('Ctrl-C after an exit 0: not an interrupted command but a stop of drbook, the result standing', async () => {
    const { pid, exit } = zombie('exit 0');
    const stop = watch(pid);
    deliver('SIGINT');
    stop.exit(await exit);
    await stop.survivors();
    expect(stop.interrupted).toBe(false);
    expect(stop.stoppedBy).toBe('SIGINT');
    expect(stop.stoppedAfterExit).toBe(true);
  });

  it('SIGTERM while the shell still runs: the command is cut', async () => {
    const { pid, exit } = running('sleep 30');
    const deadline = Date.now() + DEADLINE_MS;
    while (state(pid) !== 'S' && Date.now() < deadline) await new Promise((resolve) => setImmediate(resolve));
    const stop = watch(pid);
    deliver('SIGTERM');
    const ended = await exit;
    stop.exit(ended);
    await stop.survivors();
    expect(ended.signal).toBe('SIGTERM');
    expect(stop.stoppedBy).toBe('SIGTERM');
    expect(stop.stoppedAfterExit).toBe(false);
  });

  it('Ctrl-C while the shell still runs: the command is interrupted', async () => {
    const { pid, exit } = running('sleep 30');
    const deadline = Date.now() + DEADLINE_MS;
    while (state(pid) !== 'S' && Date.now() < deadline) await new Promise((resolve) => setImmediate(resolve));
    const stop = watch(pid);
    deliver('SIGINT');
    stop.exit(await exit);
    await stop.survivors();
    expect(stop.interrupted).toBe(true);
    expect(stop.stoppedBy).toBeUndefined();
  });
});
