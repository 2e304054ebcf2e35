/**
 * Runs a step's command through the runbook's shell, streaming its output live to the
 * terminal and to a log file (both redacted), without ever holding unbounded output in
 * memory, and stops the command and everything it started on a timeout or a Ctrl-C.
 */
import { chmodSync, closeSync, createWriteStream, fchmodSync, fstatSync, mkdirSync, openSync, statSync } from 'node:fs';
import { dirname, relative, sep } from 'node:path';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import type { CommandRequest, CommandResult, Executor } from '../core/ports.js';
import { CommandStop, FATAL_SIGNALS, watchFatalSignals } from './command-stop.js';
import { OutputPump, reason } from './output-pump.js';
import { chooseGroupMode, COMMAND_ENV, commandMark, findOnPath, spawnTarget, takeTerminalBack } from './process-group.js';
import type { GroupMode } from './process-group.js';
import { readProcessGroup, readProcStart, terminateTree } from './process-tree.js';
import { StatusLine } from './status-line.js';
import { saveTerminal, ScreenModes, type TerminalOutput, type TerminalSnapshot } from './terminal-state.js';

export interface ProcessExecutorOptions {
  stdout?: NodeJS.WritableStream;
  stderr?: NodeJS.WritableStream;
  /** Stdin is a terminal the command may read (sudo, ssh and `read` prompts). */
  interactive?: boolean;
  /** Between SIGTERM and SIGKILL. */
  killGraceMs?: number;
  /** Show the elapsed time on stderr while the command is silent (only if stderr is a TTY). */
  showElapsed?: boolean;
  /** Unredacted stdout and stderr kept in memory for `expect` and `capture`, each. */
  captureLimitBytes?: number;
  /**
   * stdout and stderr reach one place (the terminal, or `> file 2>&1`): the command's two
   * streams are then shown as one stream, masked as one, so a secret split across them is
   * masked there too. Default: true when drbook's own fds 1 and 2 are the same file.
   */
  oneScreenStream?: boolean;
}

const DEFAULT_KILL_GRACE_MS = 5000;
const DEFAULT_CAPTURE_LIMIT = 1024 * 1024;

type Sink = NodeJS.WritableStream;

/** The command's shell as started: its pid, start time, and where its processes live. */
interface Spawned {
  pid: number;
  procStart: string | undefined;
  mode: GroupMode;
  pgid: number | undefined;
}

export class ProcessExecutor implements Executor {
  private readonly stdout: Sink;
  private readonly stderr: Sink;
  private readonly interactive: boolean;
  private readonly killGraceMs: number;
  private readonly showElapsed: boolean;
  private readonly captureLimitBytes: number;
  private readonly oneScreenStream: boolean;

  constructor(options: ProcessExecutorOptions = {}) {
    this.stdout = options.stdout ?? process.stdout;
    this.stderr = options.stderr ?? process.stderr;
    this.interactive = options.interactive ?? false;
    this.killGraceMs = options.killGraceMs ?? DEFAULT_KILL_GRACE_MS;
    this.showElapsed = options.showElapsed ?? false;
    this.captureLimitBytes = options.captureLimitBytes ?? DEFAULT_CAPTURE_LIMIT;
    this.oneScreenStream = options.oneScreenStream ?? (options.stdout === undefined && options.stderr === undefined && sameFile(1, 2));
  }

  async run(request: CommandRequest): Promise<CommandResult> {
    const started = performance.now();
    const cwdProblem = checkCwd(request.cwd);
    if (cwdProblem !== undefined) return failedToStart(started, cwdProblem);

    let logFd: number | undefined;
    if (request.logFile !== undefined) {
      try {
        logFd = openLog(request.logFile, request.replaceLog === true);
      } catch (error) {
        return failedToStart(started, `cannot open the output log ${request.logFile}: ${reason(error)}`);
      }
    }

    const { script, env: commandEnv } = scriptAndEnv(request);
    const env: Record<string, string> = { ...commandEnv, [COMMAND_ENV]: commandMark(process.pid, request.step, request.attempt) };
    const [file, args] = request.shell === 'sh' ? ['sh', ['-e', '-c', script]] : ['bash', ['-e', '-o', 'pipefail', '-c', script]];
    const mode = chooseGroupMode(this.interactive);
    // Started through perl, a missing shell would be perl's failure: said here as it would be otherwise.
    if (mode === 'foreground' && findOnPath(file, env.PATH ?? process.env.PATH) === undefined) {
      if (logFd !== undefined) closeSync(logFd);
      return failedToStart(started, spawnFailure(file, 'ENOENT', undefined));
    }
    const target = spawnTarget(mode, file, args);
    // What the command does to the terminal (raw mode, the alternate screen, a hidden
    // cursor) is undone after it, whatever way it ends.
    const screenModes = new ScreenModes();
    const terminal = this.interactive ? saveTerminal(process.stdin, this.stdout as TerminalOutput, screenModes) : undefined;
    const restoreStdin = this.interactive ? handTerminalToChild(terminal, screenModes) : () => {};
    // From before the process exists: a signal that comes while it starts and its pid is
    // journaled is held for supervise, which stops the tree for it.
    const early: { signal?: NodeJS.Signals } = {};
    const unwatchEarly = watchFatalSignals((signal) => {
      early.signal ??= signal;
    });
    const giveUp = (): void => {
      unwatchEarly();
      // Nothing runs: end as the signal would have.
      if (early.signal !== undefined) process.exit(128 + (FATAL_SIGNALS[early.signal] ?? 15));
    };
    // node:child_process itself, not execa: the output is streamed here, never buffered, and
    // the tree is stopped here, so execa would add only its import time to each run.
    let subprocess: ChildProcess;
    try {
      subprocess = spawn(target.file, target.args, {
        cwd: request.cwd,
        // A new session: a group of its own, at no cost, when there is no terminal to share.
        detached: mode === 'session',
        env: { ...process.env, ...env },
        stdio: [this.interactive ? 'inherit' : 'ignore', 'pipe', 'pipe'],
      });
    } catch (error) {
      restoreStdin();
      giveUp();
      if (logFd !== undefined) closeSync(logFd);
      const code = (error as NodeJS.ErrnoException).code;
      return failedToStart(started, code === 'E2BIG' ? spawnFailure(file, code, undefined) : `cannot start ${file}: ${reason(error)}`);
    }

    const pid = subprocess.pid;
    if (pid === undefined) {
      // It never started: the reason comes as an 'error' event.
      const error = await new Promise<NodeJS.ErrnoException>((resolve) => subprocess.once('error', resolve));
      restoreStdin();
      giveUp();
      if (logFd !== undefined) closeSync(logFd);
      return failedToStart(started, spawnFailure(file, error.code, error.message));
    }
    // Once started, an error could only come from signalling it after it ended: nothing to act on.
    subprocess.on('error', () => {});
    const procStart = readProcStart(pid);
    // In a group of its own the shell leads it (perl may not have made it so yet).
    const pgid = mode === 'shared' ? readProcessGroup(pid) : pid;
    try {
      request.onSpawn?.(pid, procStart, pgid);
    } catch (error) {
      // Whoever asked could not record the command (a journal not writable): it must not run unrecorded.
      subprocess.stdout?.destroy();
      subprocess.stderr?.destroy();
      await terminateTree(pid, [{ signal: 'SIGKILL', afterMs: 0 }], { rootStart: procStart, ...(mode === 'shared' ? {} : { ownGroup: pid }) }).done;
      await exited(subprocess);
      if (mode === 'foreground') takeTerminalBack();
      restoreStdin();
      unwatchEarly();
      if (logFd !== undefined) closeSync(logFd);
      throw error;
    }

    try {
      return await this.supervise(request, subprocess, { pid, procStart, mode, pgid }, started, logFd, early, screenModes);
    } finally {
      if (mode === 'foreground') takeTerminalBack();
      restoreStdin();
    }
  }

  /** The command runs: its output pumped out, a status line while it is silent, and stopped when it must be. */
  private async supervise(
    request: CommandRequest,
    subprocess: ChildProcess,
    spawned: Spawned,
    started: number,
    logFd: number | undefined,
    early: { signal?: NodeJS.Signals },
    screenModes: ScreenModes,
  ): Promise<CommandResult> {
    const log = logFd === undefined ? undefined : createWriteStream('', { fd: logFd, autoClose: true, highWaterMark: 1024 * 1024 });
    const statusEnabled = this.showElapsed && (this.stderr as { isTTY?: boolean }).isTTY === true;
    // The status line reads the pump's state only from its timer, once both exist.
    const status = new StatusLine(statusEnabled, spawned.pid, started, {
      get lastOutputAt() {
        return pump.lastOutputAt;
      },
      get atLineStart() {
        return pump.atLineStart;
      },
      write: (text) => pump.write(this.stderr, text),
    });
    const pump = new OutputPump({
      stdout: { readable: subprocess.stdout, sink: this.stdout },
      stderr: { readable: subprocess.stderr, sink: this.stderr },
      screenErr: this.stderr,
      log,
      redactor: request.redactor,
      oneScreenStream: this.oneScreenStream,
      captureLimitBytes: this.captureLimitBytes,
      beforeShow: () => status.clear(),
      screenModes,
    });
    const stop = new CommandStop({
      ...spawned,
      timeoutMs: request.timeoutMs,
      killGraceMs: this.killGraceMs,
      early: early.signal,
      say: (line) => pump.write(this.stderr, `\r\ndrbook: ${line}\n`),
    });

    const exit = await exited(subprocess);
    const durationMs = performance.now() - started;
    status.stop();
    stop.exit(exit);
    pump.drain();

    try {
      await pump.done;
      const survivors = await stop.survivors();
      if (survivors.length > 0) pump.notices.push(`processes still running after SIGKILL: ${survivors.join(' ')}`);
      for (const notice of pump.notices) pump.write(this.stderr, `drbook: ${notice}\n`);
      await pump.close();
    } finally {
      // Only after the last wait: a signal from here on finds the walk journaling the result
      // at once (nothing is awaited before it), and one before it was caught here.
      stop.dispose();
      status.stop();
    }

    return {
      exitCode: exit.code,
      signal: exit.signal,
      durationMs,
      timedOut: stop.timedOut,
      interrupted: stop.interrupted,
      ...(stop.stoppedBy === undefined ? {} : { stoppedBy: stop.stoppedBy, ...(stop.stoppedAfterExit ? { exitedFirst: true } : {}) }),
      stdout: pump.captured(0),
      stderr: pump.captured(1),
      truncated: pump.truncated,
      tail: pump.tail(),
      outputBytes: pump.outputBytes,
    };
  }
}

/** How the shell ended (at once if it already has). */
function exited(subprocess: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (subprocess.exitCode !== null || subprocess.signalCode !== null) return Promise.resolve({ code: subprocess.exitCode, signal: subprocess.signalCode });
  return new Promise((resolve) => subprocess.once('exit', (code: number | null, signal: NodeJS.Signals | null) => resolve({ code, signal })));
}

/** The variable that carries a script holding a secret; unset before the script runs. */
export const SCRIPT_ENV = 'DRBOOK_SCRIPT';

/**
 * A shell's arguments are readable by every user (`ps -eo args`, /proc/PID/cmdline); its
 * environment only by the same user and root. A command whose text holds a secret's value
 * goes to the shell through the environment: the shell's command line is a fixed stub that
 * moves the script into a shell variable, unsets the exported copy (so the programs it starts
 * do not inherit it) and evaluates it. A command without a secret keeps `-c COMMAND`, so `ps`
 * shows what runs.
 * @internal
 */
export function scriptAndEnv(request: Pick<CommandRequest, 'command' | 'env' | 'redactor'>): { script: string; env: Record<string, string> } {
  if (request.redactor.size === 0 || request.redactor.spans(request.command).length === 0) return { script: request.command, env: request.env };
  return {
    script: `__drbook_script=$${SCRIPT_ENV}; unset ${SCRIPT_ENV}; eval "unset __drbook_script
$__drbook_script"`,
    env: { ...request.env, [SCRIPT_ENV]: request.command },
  };
}

/** Whether two of drbook's file descriptors are the same file (a terminal, or `> f 2>&1`). */
function sameFile(a: number, b: number): boolean {
  try {
    const x = fstatSync(a);
    const y = fstatSync(b);
    return x.dev === y.dev && x.ino === y.ino && x.rdev === y.rdev;
  } catch {
    return false;
  }
}

function failedToStart(started: number, spawnError: string): CommandResult {
  return {
    exitCode: null,
    signal: null,
    durationMs: performance.now() - started,
    timedOut: false,
    interrupted: false,
    spawnError,
    stdout: '',
    stderr: '',
    truncated: false,
    tail: '',
    outputBytes: 0,
  };
}

function checkCwd(cwd: string): string | undefined {
  try {
    if (!statSync(cwd).isDirectory()) return `the working directory is not a directory: ${cwd}`;
    return undefined;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return `the working directory does not exist: ${cwd}`;
    return `cannot use the working directory ${cwd}: ${reason(error)}`;
  }
}

function spawnFailure(shell: string, code: string | undefined, message: string | undefined): string {
  if (code === 'ENOENT') return `cannot start ${shell}: not found in PATH`;
  if (code === 'EACCES') return `cannot start ${shell}: permission denied`;
  if (code === 'E2BIG')
    return `cannot start ${shell}: the command and its environment are larger than the system allows (E2BIG): put large values in a file and give the command its path`;
  const line = (message ?? '').split('\n').find((text) => text.trim() !== '');
  return `cannot start ${shell}: ${code ?? line ?? 'unknown error'}`;
}

/** Opens (appends to) the log with mode 0600, creating missing parents 0700, whatever the umask. */
/** `replace`: an `until:` poll keeps only its last attempt's output (earlier ones are tails in the journal). */
function openLog(path: string, replace = false): number {
  const dir = dirname(path);
  const first = mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (first !== undefined) {
    // mkdir's mode goes through the umask: fix every directory this call created.
    let current = first;
    chmodSync(current, 0o700);
    for (const part of relative(first, dir).split(sep).filter(Boolean)) {
      current = `${current}${sep}${part}`;
      chmodSync(current, 0o700);
    }
  }
  const fd = openSync(path, replace ? 'w' : 'a', 0o600);
  try {
    const mode = fstatSync(fd).mode;
    if ((mode & 0o022) !== 0)
      process.stderr.write(`drbook: warning: ${path} was writable by others (mode ${(mode & 0o777).toString(8).padStart(4, '0')}): set back to 0600\n`);
    fchmodSync(fd, 0o600);
  } catch (error) {
    closeSync(fd);
    throw error;
  }
  return fd;
}

/**
 * The command gets the terminal as the operator left it before any prompt: cooked mode,
 * so Ctrl-C makes a SIGINT and typed text echoes, and drbook not reading it.
 */
function handTerminalToChild(terminal: TerminalSnapshot | undefined, modes: ScreenModes): () => void {
  const stdin = process.stdin;
  if (!stdin.isTTY) return () => {};
  const wasRaw = stdin.isRaw;
  const wasFlowing = stdin.readableFlowing === true;
  if (wasRaw) stdin.setRawMode(false);
  if (wasFlowing) stdin.pause();
  return () => {
    terminal?.restore({ altScreen: modes.altScreen, showCursor: modes.cursorHidden });
    if (wasRaw) stdin.setRawMode(true);
    if (wasFlowing) stdin.resume();
  };
}
