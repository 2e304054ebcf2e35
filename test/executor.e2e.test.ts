import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ProcessExecutor } from '../src/adapters/process-executor.js';
import type { ProcessExecutorOptions } from '../src/adapters/process-executor.js';
import { findDescendants, isProcessAlive, isWaitingForTerminal, killTree, readProcStart } from '../src/adapters/process-tree.js';
import type { CommandRequest } from '../src/core/ports.js';
import { Redactor } from '../src/core/redact.js';

const BIN = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'bin');

/** A destination that records what it is given, in order, shared between several sinks. */
class Recorder extends Writable {
  chunks: string[] = [];
  constructor(
    readonly name: string,
    private readonly journal: Array<{ name: string; text: string }> = [],
    private readonly onChunk: (text: string) => void = () => {},
  ) {
    super({ decodeStrings: false });
  }
  override _write(chunk: Buffer | string, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    const text = typeof chunk === 'string' ? chunk : chunk.toString('utf8');
    this.chunks.push(text);
    this.journal.push({ name: this.name, text });
    this.onChunk(text);
    callback();
  }
  get text(): string {
    return this.chunks.join('');
  }
}

/** Polls `condition` until it holds; fails with `what` at the deadline. */
async function until(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function readPids(file: string): number[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map(Number);
}

let dir: string;
const cleanupPids: number[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'drbook-exec-'));
});

afterEach(() => {
  for (const pid of cleanupPids.splice(0)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

function request(command: string, extra: Partial<CommandRequest> = {}): CommandRequest {
  return { step: 's', attempt: 1, command, shell: 'bash', cwd: dir, env: {}, redactor: new Redactor(), ...extra };
}

function executor(options: ProcessExecutorOptions = {}): { exec: ProcessExecutor; out: Recorder; err: Recorder } {
  const out = new Recorder('out');
  const err = new Recorder('err');
  return { exec: new ProcessExecutor({ stdout: out, stderr: err, ...options }), out, err };
}

describe('ProcessExecutor: running and reporting', () => {
  it('streams stdout and stderr live, in the order they were written', async () => {
    const journal: Array<{ name: string; text: string }> = [];
    const ack = (text: string): void => {
      for (const match of text.matchAll(/(?:out|err) (\d+)/g)) writeFileSync(join(dir, `ack-${match[1]}`), '');
    };
    const out = new Recorder('out', journal, ack);
    const err = new Recorder('err', journal, ack);
    const exec = new ProcessExecutor({ stdout: out, stderr: err });
    const logFile = join(dir, 'logs', 'pingpong.log');
    const result = await exec.run(request(`${BIN}/pingpong ${dir} 6`, { logFile }));
    expect(result.exitCode).toBe(0);
    expect(journal.map((entry) => `${entry.name}:${entry.text}`)).toEqual([
      'out:out 1\n',
      'err:err 2\n',
      'out:out 3\n',
      'err:err 4\n',
      'out:out 5\n',
      'err:err 6\n',
    ]);
    expect(readFileSync(logFile, 'utf8')).toBe('out 1\nerr 2\nout 3\nerr 4\nout 5\nerr 6\n');
    expect(result.stdout).toBe('out 1\nout 3\nout 5\n');
    expect(result.stderr).toBe('err 2\nerr 4\nerr 6\n');
    expect(result.tail).toBe('out 1\nerr 2\nout 3\nerr 4\nout 5\nerr 6');
    expect(result.outputBytes).toBe(36);
    expect(result.truncated).toBe(false);
  });

  it('reports exit codes', async () => {
    const { exec } = executor();
    expect((await exec.run(request('exit 0'))).exitCode).toBe(0);
    const failed = await exec.run(request('echo before; exit 42'));
    expect(failed).toMatchObject({ exitCode: 42, signal: null, timedOut: false, interrupted: false, stdout: 'before\n' });
    expect(failed.spawnError).toBeUndefined();
    expect(failed.durationMs).toBeGreaterThan(0);
  });

  it('reports the signal that killed the command', async () => {
    const { exec } = executor();
    const result = await exec.run(request('kill -KILL $$'));
    expect(result).toMatchObject({ exitCode: null, signal: 'SIGKILL', timedOut: false, interrupted: false });
  });

  it('runs in the given cwd with env merged over the process environment', async () => {
    const { exec } = executor();
    const result = await exec.run(request('pwd; echo "$DRBOOK_TEST_VAR"; echo "$HOME"', { env: { DRBOOK_TEST_VAR: 'a value' } }));
    expect(result.stdout).toBe(`${dir}\na value\n${process.env.HOME ?? ''}\n`);
  });

  it('bash runs with -e and pipefail, sh with -e only', async () => {
    const { exec } = executor();
    expect((await exec.run(request('false | true'))).exitCode).toBe(1);
    expect((await exec.run(request('false | true', { shell: 'sh' }))).exitCode).toBe(0);
    const errexit = await exec.run(request('false; echo after', { shell: 'sh' }));
    expect(errexit.exitCode).toBe(1);
    expect(errexit.stdout).toBe('');
    expect((await exec.run(request('echo $BASH_VERSION', { shell: 'sh' }))).stdout).toBe('\n');
  });

  it('gives a command reading stdin EOF when not interactive', async () => {
    const { exec } = executor();
    const result = await exec.run(request('read -r line || echo "eof"', { timeoutMs: 10_000 }));
    expect(result).toMatchObject({ exitCode: 0, stdout: 'eof\n', timedOut: false });
  });

  it('keeps captured output up to the limit and the tail to the last 20 lines', async () => {
    const { exec } = executor({ captureLimitBytes: 10 });
    const result = await exec.run(request('for i in $(seq 1 30); do echo "line $i"; done'));
    expect(result.truncated).toBe(true);
    expect(result.stdout).toBe('line 1\nlin');
    const multibyte = await exec.run(request(`printf '123456789é'`));
    // The limit falls inside é: the half character is dropped.
    expect(multibyte.stdout).toBe('123456789');
    expect(result.outputBytes).toBe(9 * 7 + 21 * 8);
    expect(result.tail.split('\n')).toEqual(Array.from({ length: 20 }, (_, i) => `line ${i + 11}`));
  });

  it('calls onSpawn with the pid and its start time while the process exists', async () => {
    const { exec } = executor();
    let seen: { pid: number; procStart: string | undefined; alive: boolean } | undefined;
    const result = await exec.run(
      request(`${BIN}/wait-for ${dir}/go`, {
        onSpawn: (pid, procStart) => {
          seen = { pid, procStart, alive: isProcessAlive(pid, procStart) };
          writeFileSync(join(dir, 'go'), '');
        },
      }),
    );
    expect(result.exitCode).toBe(0);
    expect(seen?.alive).toBe(true);
    expect(seen?.procStart).toMatch(/^\d+$/);
    expect(isProcessAlive(seen?.pid ?? 0, seen?.procStart)).toBe(false);
  });

  it('without a terminal, runs the command in a new process group and session that it leads, and says so', async () => {
    const { exec } = executor();
    let seen: { pid: number; pgid: number | undefined } | undefined;
    const result = await exec.run(request(`ps -o pid=,pgid=,sid=,tty= -p $$`, { onSpawn: (pid, _start, pgid) => (seen = { pid, pgid }) }));
    expect(result.exitCode).toBe(0);
    const [pid, pgid, sid, tty] = result.stdout.trim().split(/\s+/);
    expect(Number(pid)).toBe(seen?.pid);
    // Its own group and session, not drbook's, and no controlling terminal.
    expect(Number(pgid)).toBe(seen?.pid);
    expect(Number(sid)).toBe(seen?.pid);
    expect(seen?.pgid).toBe(seen?.pid);
    expect(tty).toBe('?');
  });

  it('kills the command and rethrows when onSpawn fails', async () => {
    const { exec } = executor();
    let pid = 0;
    const run = exec.run(
      request('sleep 30', {
        onSpawn: (spawned) => {
          pid = spawned;
          throw new Error('journal not writable');
        },
      }),
    );
    await expect(run).rejects.toThrow('journal not writable');
    expect(isProcessAlive(pid)).toBe(false);
  });
});

describe('ProcessExecutor: commands that cannot start', () => {
  it('reports a missing cwd', async () => {
    const { exec } = executor();
    let spawned = false;
    const result = await exec.run(request('true', { cwd: join(dir, 'missing'), onSpawn: () => (spawned = true) }));
    expect(result).toMatchObject({ exitCode: null, signal: null, spawnError: `the working directory does not exist: ${join(dir, 'missing')}` });
    expect(spawned).toBe(false);
  });

  it('reports a cwd that is a file', async () => {
    const { exec } = executor();
    writeFileSync(join(dir, 'file'), '');
    const result = await exec.run(request('true', { cwd: join(dir, 'file') }));
    expect(result.spawnError).toBe(`the working directory is not a directory: ${join(dir, 'file')}`);
  });

  it('reports a missing shell', async () => {
    const { exec } = executor();
    const result = await exec.run(request('true', { env: { PATH: join(dir, 'nothing-here') } }));
    expect(result).toMatchObject({ exitCode: null, spawnError: 'cannot start bash: not found in PATH' });
    const sh = await exec.run(request('true', { shell: 'sh', env: { PATH: join(dir, 'nothing-here') } }));
    expect(sh.spawnError).toBe('cannot start sh: not found in PATH');
  });

  it('reports a log file that cannot be created, before running anything', async () => {
    const { exec } = executor();
    writeFileSync(join(dir, 'file'), '');
    const result = await exec.run(request(`touch ${dir}/ran`, { logFile: join(dir, 'file', 'x.log') }));
    expect(result.spawnError).toMatch(/^cannot open the output log .*x\.log: /);
    expect(existsSync(join(dir, 'ran'))).toBe(false);
  });
});

describe('ProcessExecutor: secrets and the log file', () => {
  it('masks secrets on screen and in the log, even split across two writes', async () => {
    const redactor = new Redactor();
    redactor.add('hunter2-secret');
    let acked = false;
    const out = new Recorder('out', [], () => {
      if (!acked) {
        acked = true;
        writeFileSync(join(dir, 'ack'), '');
      }
    });
    const err = new Recorder('err');
    const exec = new ProcessExecutor({ stdout: out, stderr: err });
    const logFile = join(dir, 'secret.log');
    const result = await exec.run(
      request(`printf 'token: hunter2'; ${BIN}/wait-for ${dir}/ack; printf -- '-secret done\\n'; echo "hunter2-secret" >&2`, {
        redactor,
        logFile,
      }),
    );
    expect(result.exitCode).toBe(0);
    // The part that cannot be the start of the secret is shown at once, while the command waits.
    expect(out.chunks[0]).toBe('token: ');
    expect(out.text).toBe('token: *** done\n');
    expect(err.text).toBe('***\n');
    const log = readFileSync(logFile, 'utf8');
    expect(log).not.toContain('hunter2');
    expect(log).toContain('token: *** done\n');
    expect(log).toContain('***\n');
    expect(result.tail).not.toContain('hunter2');
    // Captured output is for `expect` and `capture`, and stays unredacted.
    expect(result.stdout).toBe('token: hunter2-secret done\n');
  });

  /** A command that prints the secret's first half on stdout and, once drbook has read that chunk, the rest on stderr. */
  async function splitAcrossStreams(oneScreenStream: boolean): Promise<{ out: Recorder; err: Recorder; log: string; tail: string }> {
    const redactor = new Redactor();
    redactor.add('hunter2-secret');
    let acked = false;
    // Shown at once (it cannot start the secret): drbook has read the chunk holding the first half.
    const out = new Recorder('out', [], (text) => {
      if (!acked && text.includes('token: ')) {
        acked = true;
        writeFileSync(join(dir, 'ack'), '');
      }
    });
    const err = new Recorder('err');
    const exec = new ProcessExecutor({ stdout: out, stderr: err, oneScreenStream });
    const logFile = join(dir, 'split.log');
    const result = await exec.run(
      request(`printf 'token: hunter2'; ${BIN}/wait-for ${dir}/ack; printf -- '-secret' >&2; printf ' done\n'`, { redactor, logFile }),
    );
    expect(result.exitCode).toBe(0);
    return { out, err, log: readFileSync(logFile, 'utf8'), tail: result.tail };
  }

  it('masks a secret split across stdout and stderr at a chunk boundary in the log, which holds one ordered stream', async () => {
    const { out, err, log, tail } = await splitAcrossStreams(false);
    expect(log).toBe('token: *** done\n');
    expect(tail).toBe('token: *** done');
    // Screen streams that go to different places are masked each on its own: each half is
    // shown in its own place (docs/operations.md says so).
    expect(out.text).toBe('token: hunter2 done\n');
    expect(err.text).toBe('-secret');
  });

  it('shows the command output as one masked stream when the screen is one place (a terminal, 2>&1)', async () => {
    const { out, err, log } = await splitAcrossStreams(true);
    expect(log).toBe('token: *** done\n');
    expect(out.text).toBe('token: *** done\n');
    expect(err.text).toBe('');
  });

  it('keeps a command whose text holds a secret off every command line, with the same shell semantics', async () => {
    const redactor = new Redactor();
    redactor.add('hunter2-secret');
    const { exec, out } = executor();
    const script = [
      `printf '%s\\n' 'hunter2-secret' > ${dir}/value`,
      `cat /proc/$$/cmdline | tr '\\0' ' ' > ${dir}/argv`,
      `env > ${dir}/child-env`,
      `cat <<EOF > ${dir}/heredoc\nhd hunter2-secret \${HOME:+set}\nEOF`,
      'echo "shown hunter2-secret"',
      'echo still-here',
    ].join('\n');
    const ok = await exec.run(request(script, { redactor, env: { EXTRA: 'kept' } }));
    expect(ok.exitCode).toBe(0);
    expect(readFileSync(join(dir, 'value'), 'utf8')).toBe('hunter2-secret\n');
    expect(readFileSync(join(dir, 'heredoc'), 'utf8')).toBe('hd hunter2-secret set\n');
    expect(readFileSync(join(dir, 'argv'), 'utf8')).not.toContain('hunter2');
    const childEnv = readFileSync(join(dir, 'child-env'), 'utf8');
    expect(childEnv).not.toContain('hunter2');
    expect(childEnv).toContain('EXTRA=kept');
    expect(out.text).toBe('shown ***\nstill-here\n');
    // -e and pipefail hold as with -c; the exit code comes through.
    expect((await exec.run(request('echo hunter2-secret >/dev/null; false; echo not-reached', { redactor }))).exitCode).toBe(1);
    expect((await exec.run(request('echo hunter2-secret | false', { redactor }))).exitCode).toBe(1);
    expect((await exec.run(request('echo hunter2-secret >/dev/null; exit 7', { redactor, shell: 'sh' }))).exitCode).toBe(7);
    // A command without a secret still shows in ps as it is.
    const plain = await exec.run(request(`cat /proc/$$/cmdline | tr '\\0' ' ' > ${dir}/plain`, { redactor }));
    expect(plain.exitCode).toBe(0);
    expect(readFileSync(join(dir, 'plain'), 'utf8')).toContain(`cat /proc/$$/cmdline`);
  });

  it('creates the log 0600 and missing parents 0700 whatever the umask', async () => {
    const { exec } = executor();
    const previous = process.umask(0o000);
    try {
      const logFile = join(dir, 'a', 'b', 'out.log');
      await exec.run(request('echo hi', { logFile }));
      expect(statSync(logFile).mode & 0o777).toBe(0o600);
      expect(statSync(join(dir, 'a')).mode & 0o777).toBe(0o700);
      expect(statSync(join(dir, 'a', 'b')).mode & 0o777).toBe(0o700);
      process.umask(0o277);
      const second = join(dir, 'c', 'out.log');
      const result = await exec.run(request('echo hi', { logFile: second }));
      expect(result.spawnError).toBeUndefined();
      expect(statSync(join(dir, 'c')).mode & 0o777).toBe(0o700);
      expect(readFileSync(second, 'utf8')).toBe('hi\n');
      // An existing file with loose permissions is tightened too.
      const loose = join(dir, 'loose.log');
      writeFileSync(loose, '', { mode: 0o666 });
      await exec.run(request('echo hi', { logFile: loose }));
      expect(statSync(loose).mode & 0o777).toBe(0o600);
    } finally {
      process.umask(previous);
    }
  });
});

describe('ProcessExecutor: stopping commands', () => {
  it('on timeout, kills a command that ignores SIGTERM and all it started', async () => {
    const pidfile = join(dir, 'pids');
    const { exec, out } = executor({ killGraceMs: 300 });
    const started = performance.now();
    const run = exec.run(request(`${BIN}/spawn-tree ${pidfile}`, { timeoutMs: 1500 }));
    await until(() => out.text.includes('ready'), 'the tree to start');
    const pids = readPids(pidfile);
    expect(pids).toHaveLength(4);
    for (const pid of pids) expect(isProcessAlive(pid)).toBe(true);
    const result = await run;
    const elapsed = performance.now() - started;
    expect(result).toMatchObject({ timedOut: true, interrupted: false, exitCode: null, signal: 'SIGKILL' });
    for (const pid of pids) expect(isProcessAlive(pid), `pid ${pid}`).toBe(false);
    console.log(`timeout kill: returned ${(elapsed - 1500 - 300).toFixed(0)} ms after SIGKILL was due`);
    // It waited the timeout and then the grace period before SIGKILL.
    expect(elapsed).toBeGreaterThanOrEqual(1500 + 300);
  });

  it('on timeout, a command that stops on SIGTERM does not wait for the grace period', async () => {
    // A grace period far past the test's own timeout: waiting it out would fail the test.
    const { exec } = executor({ killGraceMs: 120_000 });
    const result = await exec.run(request('sleep 30 & sleep 30; wait', { timeoutMs: 300 }));
    expect(result.timedOut).toBe(true);
    // The shell dies of SIGTERM, or first sees its foreground job die of it and exits 128+15.
    expect(result.signal === 'SIGTERM' || result.exitCode === 143).toBe(true);
  });

  it('on SIGINT to drbook, interrupts the tree and drbook lives on', async () => {
    const pidfile = join(dir, 'pids');
    const { exec, out } = executor({ killGraceMs: 300 });
    const listenersBefore = process.listenerCount('SIGINT');
    const run = exec.run(request(`${BIN}/spawn-tree ${pidfile}`));
    await until(() => out.text.includes('ready'), 'the tree to start');
    const pids = readPids(pidfile);
    // Ours, for as long as the command runs.
    expect(process.listenerCount('SIGINT')).toBeGreaterThan(listenersBefore);
    process.kill(process.pid, 'SIGINT');
    const result = await run;
    expect(result).toMatchObject({ interrupted: true, timedOut: false, exitCode: null });
    for (const pid of pids) expect(isProcessAlive(pid), `pid ${pid}`).toBe(false);
    expect(process.listenerCount('SIGINT')).toBe(listenersBefore);
  });

  it('on SIGINT, a command that stops on SIGINT stops at once', async () => {
    const { exec } = executor({ killGraceMs: 300 });
    let spawned = false;
    const run = exec.run(request(`echo started; exec sleep 30`, { onSpawn: () => (spawned = true) }));
    await until(() => spawned, 'the spawn');
    process.emit('SIGINT', 'SIGINT');
    const result = await run;
    // It died of the SIGINT itself: no SIGTERM or SIGKILL was needed after it.
    expect(result).toMatchObject({ interrupted: true, signal: 'SIGINT' });
  });

  it('on SIGINT, also stops what the command left behind when its parent died', async () => {
    const pidfile = join(dir, 'pids');
    const { exec, out } = executor({ killGraceMs: 300 });
    const run = exec.run(request(`(sleep 30 & echo $! > ${pidfile}); echo ready; sleep 30`));
    await until(() => out.text.includes('ready'), 'the command to start');
    const [orphan = 0] = readPids(pidfile);
    cleanupPids.push(orphan);
    expect(isProcessAlive(orphan)).toBe(true);
    process.kill(process.pid, 'SIGINT');
    const result = await run;
    expect(result.interrupted).toBe(true);
    expect(isProcessAlive(orphan)).toBe(false);
  });

  it('when the terminal Ctrl-C kills the shell first, still stops its background jobs', async () => {
    // The terminal signals the whole foreground group: the shell dies of SIGINT, background
    // jobs ignore it. Here only the shell is signalled, which is what the jobs see of it.
    const pidfile = join(dir, 'pids');
    const { exec, out } = executor({ killGraceMs: 300 });
    let shell = 0;
    const run = exec.run(request(`sleep 30 & echo $! > ${pidfile}; echo ready; wait`, { onSpawn: (pid) => (shell = pid) }));
    await until(() => out.text.includes('ready'), 'the command to start');
    const [job = 0] = readPids(pidfile);
    cleanupPids.push(job);
    process.kill(shell, 'SIGINT');
    const result = await run;
    expect(result).toMatchObject({ interrupted: true, signal: 'SIGINT' });
    expect(isProcessAlive(job)).toBe(false);
  });

  it('returns promptly when the command leaves a daemon holding its output open', async () => {
    const pidfile = join(dir, 'daemon');
    const { exec, out } = executor();
    const result = await exec.run(request(`(sleep 30 & echo $! > ${pidfile}) ; echo started`));
    const daemon = readPids(pidfile)[0] ?? 0;
    cleanupPids.push(daemon);
    expect(result.exitCode).toBe(0);
    expect(out.text).toBe('started\n');
    // Returned while the daemon (30 s) still holds the output open, and left it alone: a daemon started on purpose is not the executor's to kill.
    expect(isProcessAlive(daemon)).toBe(true);
  });
});

describe('ProcessExecutor: flow control and volume', () => {
  it('stops reading while a destination is full, then delivers everything', async () => {
    let full = true;
    let received = 0;
    const slow = new Writable({
      highWaterMark: 1,
      write(chunk: Buffer, _encoding, callback) {
        received += chunk.length;
        if (!full) callback();
        else release = () => callback();
      },
    });
    let release = (): void => {};
    const exec = new ProcessExecutor({ stdout: slow, stderr: new Recorder('err') });
    const logFile = join(dir, 'flow.log');
    const size = 16 * 1024 * 1024;
    let writer = 0;
    const run = exec.run(request(`exec head -c ${size} /dev/zero`, { logFile, onSpawn: (pid) => (writer = pid) }));
    await until(() => received > 0, 'the first chunk');
    // Held back: the command blocks writing to a full pipe, and only what fits in the pipe
    // and one chunk passed while the sink is full.
    await until(() => blockedOnPipe(writer), 'the command to block on its full pipe');
    expect(received).toBeLessThan(1024 * 1024);
    full = false;
    release();
    const result = await run;
    expect(result.exitCode).toBe(0);
    expect(received).toBe(size);
    expect(statSync(logFile).size).toBe(size);
  });

  it('streams 1 GiB with flat memory and an exact log', { timeout: 120_000 }, async () => {
    const size = 1024 * 1024 * 1024;
    const discard = new Writable({
      write(_chunk, _encoding, callback) {
        callback();
      },
    });
    const exec = new ProcessExecutor({ stdout: discard, stderr: new Recorder('err') });
    const logFile = join(dir, 'big.log');
    const baseline = process.memoryUsage().rss;
    let peak = baseline;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 50);
    const started = performance.now();
    // sh, not bash: under pipefail `yes` dying of SIGPIPE would fail the command.
    const result = await exec.run(request(`yes 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde | head -c ${size}`, { shell: 'sh', logFile }));
    const seconds = (performance.now() - started) / 1000;
    clearInterval(sampler);
    peak = Math.max(peak, process.memoryUsage().rss);
    const growthMb = (peak - baseline) / 1024 / 1024;
    console.log(`1 GiB: ${seconds.toFixed(1)} s, RSS growth ${growthMb.toFixed(1)} MB`);
    expect(result.exitCode).toBe(0);
    expect(result.outputBytes).toBe(size);
    expect(statSync(logFile).size).toBe(size);
    expect(result.truncated).toBe(true);
    expect(result.stdout.length).toBe(1024 * 1024);
    expect(result.tail.split('\n')).toHaveLength(20);
    expect(growthMb).toBeLessThan(100);
  });
});

describe('ProcessExecutor: elapsed time', () => {
  function ttyRecorder(name: string, journal: Array<{ name: string; text: string }>): Recorder {
    const recorder = new Recorder(name, journal);
    Object.assign(recorder, { isTTY: true });
    return recorder;
  }

  it('shows the elapsed time while the command is silent and erases it before output', async () => {
    const journal: Array<{ name: string; text: string }> = [];
    const out = ttyRecorder('out', journal);
    const err = ttyRecorder('err', journal);
    const exec = new ProcessExecutor({ stdout: out, stderr: err, showElapsed: true });
    const run = exec.run(request(`echo first; ${BIN}/wait-for ${dir}/go; echo second`));
    await until(() => err.text.includes('⏱ 1s elapsed'), 'the status line', 5000);
    writeFileSync(join(dir, 'go'), '');
    const result = await run;
    expect(result.exitCode).toBe(0);
    const order = journal.map((entry) => entry.text);
    const status = order.findIndex((text) => text.includes('⏱'));
    const second = order.indexOf('second\n');
    expect(order[0]).toBe('first\n');
    expect(status).toBeGreaterThan(0);
    expect(order.slice(status, second)).toContain('\r\x1b[2K');
    expect(order[second - 1]).toBe('\r\x1b[2K');
    expect(result.tail).toBe('first\nsecond');
  });

  it('does not draw over a prompt that has no newline yet', async () => {
    const journal: Array<{ name: string; text: string }> = [];
    const err = ttyRecorder('err', journal);
    const exec = new ProcessExecutor({ stdout: ttyRecorder('out', journal), stderr: err, showElapsed: true });
    const result = await exec.run(request(`printf 'Name: '; sleep 1.6`));
    expect(result.exitCode).toBe(0);
    expect(err.text).not.toContain('⏱');
  });

  it('stays off when stderr is not a terminal', async () => {
    const { exec, err } = executor({ showElapsed: true });
    await exec.run(request(`sleep 1.3`));
    expect(err.text).toBe('');
  });
});

describe('process-tree', () => {
  let child: ChildProcess | undefined;
  afterEach(() => {
    if (child?.pid !== undefined) killTree(child.pid, 'SIGKILL');
    child = undefined;
  });

  it('reads start times that tell a reused pid apart', () => {
    const start = readProcStart(process.pid);
    expect(start).toMatch(/^\d+$/);
    expect(isProcessAlive(process.pid, start)).toBe(true);
    expect(isProcessAlive(process.pid, `${start ?? ''}1`)).toBe(false);
    expect(isProcessAlive(process.pid)).toBe(true);
    expect(readProcStart(0x7ffffff0)).toBeUndefined();
    expect(isProcessAlive(0x7ffffff0)).toBe(false);
    expect(isProcessAlive(-1)).toBe(false);
  });

  it('finds descendants and kills the whole tree', async () => {
    const pidfile = join(dir, 'pids');
    child = spawn(`${BIN}/spawn-tree`, [pidfile], { stdio: ['ignore', 'pipe', 'ignore'] });
    let ready = false;
    child.stdout?.on('data', (chunk: Buffer) => (ready ||= chunk.toString().includes('ready')));
    await until(() => ready, 'the tree to start');
    const pids = readPids(pidfile);
    const found = findDescendants(child.pid ?? 0);
    for (const pid of pids.filter((pid) => pid !== child?.pid)) expect(found).toContain(pid);
    killTree(child.pid ?? 0, 'SIGKILL');
    await until(() => pids.every((pid) => !isProcessAlive(pid)), 'the tree to die');
  });

  it('sees a process waiting for the operator at the terminal', async () => {
    // `script` gives the commands a terminal of their own.
    const holder = spawn('script', ['-qfec', `bash -c 'exec 3</dev/tty; echo ready; sleep 30'`, '/dev/null'], { stdio: ['pipe', 'pipe', 'ignore'] });
    const reader = spawn('script', ['-qfec', `bash -c 'echo ready; read -r line'`, '/dev/null'], { stdio: ['pipe', 'pipe', 'ignore'] });
    const sleeper = spawn('script', ['-qfec', `bash -c 'echo ready; sleep 30'`, '/dev/null'], { stdio: ['pipe', 'pipe', 'ignore'] });
    try {
      const readyOf = (proc: ChildProcess): (() => boolean) => {
        let text = '';
        proc.stdout?.on('data', (chunk: Buffer) => (text += chunk.toString()));
        return () => text.includes('ready');
      };
      const checks = [holder, reader, sleeper].map(readyOf);
      await until(() => checks.every((check) => check()), 'the three commands');
      const tree = (proc: ChildProcess): number[] => [proc.pid ?? 0, ...findDescendants(proc.pid ?? 0)].slice(1);
      await until(() => isWaitingForTerminal(tree(reader)), 'the read to block');
      expect(isWaitingForTerminal(tree(holder))).toBe(true);
      expect(isWaitingForTerminal(tree(sleeper))).toBe(false);
    } finally {
      for (const proc of [holder, reader, sleeper]) if (proc.pid !== undefined) killTree(proc.pid, 'SIGKILL');
    }
  });
});

/** The process sleeps in the kernel writing to a full pipe or socket nobody reads (Linux's wchan). */
function blockedOnPipe(pid: number): boolean {
  try {
    return /pipe_write|pipe_wait|sock_alloc_send/.test(readFileSync(`/proc/${pid}/wchan`, 'utf8'));
  } catch {
    return false;
  }
}
