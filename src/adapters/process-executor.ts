/**
 * Runs a step's command through the runbook's shell, streaming its output live to the
 * terminal and to a log file (both redacted), without ever holding unbounded output in
 * memory, and stops the command and everything it started on a timeout or a Ctrl-C.
 */
import { chmodSync, closeSync, createWriteStream, fchmodSync, fstatSync, mkdirSync, openSync, statSync } from 'node:fs';
import type { WriteStream } from 'node:fs';
import { dirname, relative, sep } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import type { Readable } from 'node:stream';
import { execa } from 'execa';
import type { CommandRequest, CommandResult, Executor } from '../core/ports.js';
import type { StreamRedactor } from '../core/redact.js';
import { chooseGroupMode, findOnPath, spawnTarget, takeTerminalBack, terminalLost } from './process-group.js';
import type { GroupMode } from './process-group.js';
import { findDescendants, isWaitingForTerminal, readProcessGroup, readProcessState, readProcStart, signalGroup, terminateTree } from './process-tree.js';
import type { KillStage, Termination } from './process-tree.js';

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
/** Ctrl-C gives the command this long to stop on SIGINT before SIGTERM. */
const SIGINT_GRACE_MS = 1000;
/**
 * After the shell exits, output still in the pipes is read until the pipes have been quiet
 * this long: a daemon the command forked may hold them open for days.
 */
const DRAIN_IDLE_MS = 300;
/** ...and no longer than this, unless drbook itself is the slow side (backpressure). */
const DRAIN_CAP_MS = 3000;
/** Past the cap, output already in the pipe still gets this long to be read. */
const DRAIN_MIN_MS = 50;
const TAIL_CHARS = 4096;
const TAIL_LINES = 20;
const STATUS_AFTER_MS = 1000;
const STATUS_TICK_MS = 250;
const ERASE_LINE = '\r\x1b[2K';
/** How often a command in the terminal's foreground checks that the terminal is still there. */
const HANGUP_CHECK_MS = 250;
/** Signals that end drbook; while a command runs they stop the command's tree first. */
const FATAL_SIGNALS: Readonly<Record<string, number>> = { SIGHUP: 1, SIGQUIT: 3, SIGTERM: 15 };

let onFatalSignal: ((signal: NodeJS.Signals) => void) | undefined;
let fatalListening = false;

/**
 * While a command runs, SIGTERM, SIGHUP and SIGQUIT go to `stop` instead of ending drbook.
 * The listeners stay once installed, so a signal that races the command's own exit is
 * never lost to a listener removed a moment too early; outside a command they end drbook
 * as the default action would (exit 128+n).
 */
function watchFatalSignals(stop: (signal: NodeJS.Signals) => void): () => void {
  if (!fatalListening) {
    fatalListening = true;
    for (const name of Object.keys(FATAL_SIGNALS)) {
      process.on(name, (signal: NodeJS.Signals) => {
        if (onFatalSignal !== undefined) onFatalSignal(signal);
        else process.exit(128 + (FATAL_SIGNALS[signal] ?? 15));
      });
    }
  }
  onFatalSignal = stop;
  return () => {
    if (onFatalSignal === stop) onFatalSignal = undefined;
  };
}

type Sink = NodeJS.WritableStream;

/** The command's shell as started: its pid, start time, and where its processes live. */
interface Spawned {
  pid: number;
  procStart: string | undefined;
  mode: GroupMode;
  pgid: number | undefined;
}

interface Source {
  readable: Readable;
  sink: Sink;
  redactor: StreamRedactor;
  decoder: StringDecoder;
  /** Decodes only the end of large chunks, for the tail, when nothing needs redacting. */
  tailDecoder: StringDecoder;
  captured: Buffer[];
  capturedBytes: number;
  ended: boolean;
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

    const { script, env } = scriptAndEnv(request);
    const [file, args] = request.shell === 'sh' ? ['sh', ['-e', '-c', script]] : ['bash', ['-e', '-o', 'pipefail', '-c', script]];
    const mode = chooseGroupMode(this.interactive);
    // Started through perl, a missing shell would be perl's failure: said here as it would be otherwise.
    if (mode === 'foreground' && findOnPath(file, env.PATH ?? process.env.PATH) === undefined) {
      if (logFd !== undefined) closeSync(logFd);
      return failedToStart(started, spawnFailure(file, 'ENOENT', undefined));
    }
    const target = spawnTarget(mode, file, args);
    const restoreStdin = this.interactive ? handTerminalToChild() : () => {};
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
    let subprocess: ReturnType<typeof execa>;
    try {
      subprocess = execa(target.file, target.args, {
        cwd: request.cwd,
        // A new session: a group of its own, at no cost, when there is no terminal to share.
        detached: mode === 'session',
        env,
        extendEnv: true,
        stdin: this.interactive ? 'inherit' : 'ignore',
        stdout: 'pipe',
        stderr: 'pipe',
        buffer: false,
        reject: false,
        encoding: 'buffer',
        stripFinalNewline: false,
      });
    } catch (error) {
      restoreStdin();
      giveUp();
      if (logFd !== undefined) closeSync(logFd);
      return failedToStart(started, `cannot start ${file}: ${reason(error)}`);
    }

    const pid = subprocess.pid;
    if (pid === undefined) {
      const result = await subprocess;
      restoreStdin();
      giveUp();
      if (logFd !== undefined) closeSync(logFd);
      return failedToStart(started, spawnFailure(file, result.code, result.originalMessage));
    }
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
      await subprocess.catch(() => undefined);
      if (mode === 'foreground') takeTerminalBack();
      restoreStdin();
      unwatchEarly();
      if (logFd !== undefined) closeSync(logFd);
      throw error;
    }

    try {
      return await this.supervise(request, subprocess, { pid, procStart, mode, pgid }, started, logFd, early);
    } finally {
      if (mode === 'foreground') takeTerminalBack();
      restoreStdin();
    }
  }

  private async supervise(
    request: CommandRequest,
    subprocess: ReturnType<typeof execa>,
    spawned: Spawned,
    started: number,
    logFd: number | undefined,
    early: { signal?: NodeJS.Signals },
  ): Promise<CommandResult> {
    const { pid, procStart, mode } = spawned;
    const redacting = request.redactor.size > 0;
    // The command's stdout and stderr interleaved in arrival order, as the log file and the
    // tail hold them (and the screen, when it is one place): masked as one stream, so a
    // secret printed half on each is still masked there.
    const combined = request.redactor.stream();
    const log: WriteStream | undefined = logFd === undefined ? undefined : createWriteStream('', { fd: logFd, autoClose: true, highWaterMark: 1024 * 1024 });
    const sources: Source[] = [];
    const addSource = (readable: Readable | null, sink: Sink): void => {
      if (readable === null) return;
      sources.push({
        readable,
        sink,
        redactor: request.redactor.stream(),
        decoder: new StringDecoder('utf8'),
        tailDecoder: new StringDecoder('utf8'),
        captured: [],
        capturedBytes: 0,
        ended: false,
      });
    };
    addSource(subprocess.stdout, this.stdout);
    addSource(subprocess.stderr, this.stderr);

    let outputBytes = 0;
    let truncated = false;
    let tail = '';
    let lastOutputAt = performance.now();
    let atLineStart = true;
    const brokenSinks = new Set<Sink>();
    const notices: string[] = [];

    // Backpressure: while any destination is full, the child's pipes are not read, so the
    // child blocks on write instead of drbook buffering its output.
    const waiting = new Set<Sink>();
    const paused = (): boolean => waiting.size > 0;
    const resumeAll = (): void => {
      if (paused()) return;
      for (const source of sources) if (!source.ended) source.readable.resume();
      armDrain();
    };
    const write = (dest: Sink, data: string | Buffer): void => {
      if (brokenSinks.has(dest)) return;
      if (dest.write(data) || waiting.has(dest)) return;
      waiting.add(dest);
      for (const source of sources) source.readable.pause();
      dest.once('drain', () => {
        waiting.delete(dest);
        resumeAll();
      });
    };
    const sinkErrors = new Map<Sink, (error: Error) => void>();
    for (const dest of new Set<Sink>([this.stdout, this.stderr, ...(log === undefined ? [] : [log])])) {
      const onError = (error: Error): void => {
        // A closed terminal or a full disk must not block or kill the command: stop writing there.
        brokenSinks.add(dest);
        if (dest === log) notices.push(`the output log stopped: ${reason(error)}`);
        waiting.delete(dest);
        resumeAll();
      };
      sinkErrors.set(dest, onError);
      dest.on('error', onError);
    }

    // The elapsed-time status line, drawn on the terminal only while the command is silent.
    const statusEnabled = this.showElapsed && (this.stderr as { isTTY?: boolean }).isTTY === true;
    let statusShown = false;
    let statusSecond = -1;
    let checkedSecond = -1;
    const clearStatus = (): void => {
      if (!statusShown) return;
      statusShown = false;
      statusSecond = -1;
      write(this.stderr, ERASE_LINE);
    };
    let statusTimer: NodeJS.Timeout | undefined;
    let exited = false;
    if (statusEnabled) {
      statusTimer = setInterval(() => {
        const now = performance.now();
        // Never draw over a prompt: one that ends the output without a newline, or one the
        // command writes straight to the terminal (sudo, ssh).
        if (exited || now - lastOutputAt < STATUS_AFTER_MS || !atLineStart) return;
        const second = Math.floor((now - started) / 1000);
        if (second === statusSecond || second === checkedSecond) return;
        checkedSecond = second;
        if (isWaitingForTerminal([pid, ...findDescendants(pid)])) {
          clearStatus();
          return;
        }
        statusSecond = second;
        statusShown = true;
        write(this.stderr, `\r\x1b[2K  ⏱ ${formatElapsed(second)} elapsed`);
      }, STATUS_TICK_MS);
    }

    const show = (sink: Sink, data: string | Buffer): void => {
      if (data.length === 0) return;
      clearStatus();
      write(sink, data);
      atLineStart = typeof data === 'string' ? data.endsWith('\n') : data[data.length - 1] === 0x0a;
    };
    const emit = (source: Source, data: string | Buffer): void => {
      show(source.sink, data);
      if (log !== undefined && data.length > 0) write(log, data);
    };
    /** Text of one stream, in arrival order: masked per stream for its own sink, as one stream for the log. */
    const emitRedacted = (source: Source, text: string): void => {
      const whole = combined.push(text);
      if (this.oneScreenStream) show(this.stdout, whole);
      else show(source.sink, source.redactor.push(text));
      if (log !== undefined && whole.length > 0) write(log, whole);
      addTail(whole);
    };
    const flushCombined = (): void => {
      if (!redacting) return;
      const rest = combined.flush();
      if (this.oneScreenStream) show(this.stdout, rest);
      if (log !== undefined && rest.length > 0) write(log, rest);
      addTail(rest);
    };
    const addTail = (text: string): void => {
      tail += text;
      if (tail.length > 2 * TAIL_CHARS) tail = tail.slice(-TAIL_CHARS);
    };

    // Once the shell has exited, pipes a daemon it forked may stay open for days: read on
    // while output flows, stop after a short silence (time spent waiting on a full
    // destination does not count), or at a cap against a daemon that never stops talking.
    let draining = false;
    let exitedAt = 0;
    let drainTimer: NodeJS.Timeout | undefined;
    let stopDraining = (): void => {};
    const armDrain = (): void => {
      if (!draining) return;
      if (drainTimer !== undefined) clearTimeout(drainTimer);
      drainTimer = undefined;
      if (paused()) return;
      const untilCap = exitedAt + DRAIN_CAP_MS - performance.now();
      drainTimer = setTimeout(() => stopDraining(), Math.max(DRAIN_MIN_MS, Math.min(DRAIN_IDLE_MS, untilCap)));
    };

    const onData = (source: Source, chunk: Buffer): void => {
      outputBytes += chunk.length;
      lastOutputAt = performance.now();
      const room = this.captureLimitBytes - source.capturedBytes;
      if (room > 0) {
        const kept = chunk.length <= room ? chunk : chunk.subarray(0, room);
        source.captured.push(kept);
        source.capturedBytes += kept.length;
      }
      if (chunk.length > room) truncated = true;
      if (redacting) {
        emitRedacted(source, source.decoder.write(chunk));
      } else {
        // Nothing to mask: pass the bytes through untouched, decode only what the tail needs.
        emit(source, chunk);
        if (chunk.length > TAIL_CHARS) {
          let from = chunk.length - TAIL_CHARS;
          while (from < chunk.length && ((chunk[from] ?? 0) & 0xc0) === 0x80) from++;
          source.tailDecoder = new StringDecoder('utf8');
          addTail(source.tailDecoder.write(chunk.subarray(from)));
        } else {
          addTail(source.tailDecoder.write(chunk));
        }
      }
      armDrain();
    };
    const finishSource = (source: Source): void => {
      if (source.ended) return;
      source.ended = true;
      source.readable.removeAllListeners('data');
      if (!redacting) {
        addTail(source.tailDecoder.end());
        return;
      }
      emitRedacted(source, source.decoder.end());
      if (!this.oneScreenStream) show(source.sink, source.redactor.flush());
      if (sources.every((s) => s.ended)) flushCombined();
    };

    const streamsDone = new Promise<void>((resolve) => {
      const check = (): void => {
        if (sources.every((source) => source.ended)) resolve();
      };
      for (const source of sources) {
        source.readable.on('data', (chunk: Buffer) => onData(source, chunk));
        const end = (): void => {
          finishSource(source);
          check();
        };
        source.readable.once('end', end);
        source.readable.once('close', end);
        source.readable.once('error', end);
      }
      stopDraining = () => {
        for (const source of sources) {
          finishSource(source);
          source.readable.destroy();
        }
        resolve();
      };
      check();
    });

    // Timeout and Ctrl-C: both stop the whole tree, in stages: the command's own group, or in
    // drbook's group, what the command left there after its parent died.
    const { pgid } = spawned;
    const where = mode !== 'shared' ? { ownGroup: pid } : pgid !== undefined && procStart !== undefined ? { group: { pgid, since: procStart } } : {};
    let termination: Termination | undefined;
    let timedOut = false;
    let interrupted = false;
    const terminate = (stages: KillStage[]): void => {
      termination ??= terminateTree(pid, stages, { rootStart: procStart, ...where });
    };
    const interruptStages: KillStage[] = [
      { signal: 'SIGINT', afterMs: 0 },
      { signal: 'SIGTERM', afterMs: SIGINT_GRACE_MS },
      { signal: 'SIGKILL', afterMs: this.killGraceMs },
    ];
    const onSigint = (): void => {
      interrupted = true;
      // A second Ctrl-C, or one during a timeout's grace: no more waiting.
      if (termination !== undefined) termination.hurry();
      else terminate(interruptStages);
    };
    process.on('SIGINT', onSigint);
    // SIGTERM, SIGHUP (an ssh drop, a closed terminal) and SIGQUIT would kill drbook and
    // leave the command's children running unseen: stop the whole tree first, then let
    // the walk journal it and end with 128+n.
    let stoppedBy: NodeJS.Signals | undefined;
    const onFatal = (signal: NodeJS.Signals): void => {
      stoppedBy ??= signal;
      if (termination !== undefined) return;
      terminate([
        { signal: 'SIGTERM', afterMs: 0 },
        { signal: 'SIGKILL', afterMs: this.killGraceMs },
      ]);
    };
    const unwatch = watchFatalSignals(onFatal);
    if (early.signal !== undefined) onFatal(early.signal);
    const timeoutTimer =
      request.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            if (exited || termination !== undefined) return;
            timedOut = true;
            terminate([
              { signal: 'SIGTERM', afterMs: 0 },
              { signal: 'SIGKILL', afterMs: this.killGraceMs },
            ]);
          }, request.timeoutMs);

    // In the terminal's foreground, the command gets the hangup of a closed terminal and
    // drbook does not (it is in a background group now): drbook sees the terminal gone.
    // Ctrl-C and Ctrl-Z go to the command's group alone: drbook cannot be suspended with it,
    // and a stopped command would hang the walk: it is continued, with a word why.
    const hangupTimer =
      mode === 'foreground'
        ? setInterval(() => {
            if (terminalLost()) onFatal('SIGHUP');
            else if (readProcessState(pid) === 'T' && !exited) {
              signalGroup(pid, 'SIGCONT');
              write(this.stderr, '\r\ndrbook: Ctrl-Z does not suspend a step: the command was continued (Ctrl-C interrupts it)\n');
            }
          }, HANGUP_CHECK_MS)
        : undefined;

    const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      subprocess.once('exit', (code: number | null, signal: NodeJS.Signals | null) => resolve({ code, signal }));
    });
    exited = true;
    const durationMs = performance.now() - started;
    if (timeoutTimer !== undefined) clearTimeout(timeoutTimer);
    if (hangupTimer !== undefined) clearInterval(hangupTimer);
    if (mode === 'foreground') {
      takeTerminalBack();
      if (terminalLost()) onFatal('SIGHUP');
    }
    // The terminal's Ctrl-C reached the shell first (in the foreground, only the shell: drbook
    // learns of it from how the shell ended). Its background jobs ignore SIGINT and outlive it
    // unless stopped here.
    const ctrlC = exit.signal === 'SIGINT' || (mode === 'foreground' && exit.code === 128 + 2);
    if (ctrlC && termination === undefined) {
      interrupted = true;
      terminate(interruptStages);
    }
    exitedAt = performance.now();
    draining = true;
    armDrain();

    try {
      await streamsDone;
      if (drainTimer !== undefined) clearTimeout(drainTimer);
      if (termination !== undefined) {
        const { survivors } = await termination.done;
        if (survivors.length > 0) notices.push(`processes still running after SIGKILL: ${survivors.join(' ')}`);
      }
      // The execa promise settles once its streams are closed; it carries nothing we need.
      await subprocess.catch(() => undefined);
    } finally {
      process.off('SIGINT', onSigint);
      unwatch();
      if (statusTimer !== undefined) clearInterval(statusTimer);
      clearStatus();
      for (const [dest, onError] of sinkErrors) {
        if (dest !== log) dest.off('error', onError);
      }
    }
    for (const notice of notices) write(this.stderr, `drbook: ${notice}\n`);
    if (log !== undefined) await closeLog(log);

    return {
      exitCode: exit.code,
      signal: exit.signal,
      durationMs,
      timedOut,
      interrupted,
      ...(stoppedBy === undefined ? {} : { stoppedBy }),
      stdout: capturedText(sources[0]),
      stderr: capturedText(sources[1]),
      truncated,
      tail: lastLines(tail),
      outputBytes,
    };
  }
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
  const line = (message ?? '').split('\n').find((text) => text.trim() !== '');
  return `cannot start ${shell}: ${code ?? line ?? 'unknown error'}`;
}

function reason(error: unknown): string {
  const err = error as NodeJS.ErrnoException;
  if (typeof err?.code === 'string') {
    const known: Record<string, string> = {
      EACCES: 'permission denied',
      ENOENT: 'no such file or directory',
      ENOTDIR: 'a parent is not a directory',
      ENOSPC: 'no space left on device',
      EROFS: 'read-only file system',
      EFBIG: 'file too large: the file-size limit (ulimit -f) was reached',
    };
    return known[err.code] ?? err.code;
  }
  return err instanceof Error ? (err.message.split('\n')[0] ?? 'unknown error') : String(error);
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
    if ((mode & 0o022) !== 0) process.stderr.write(`drbook: warning: ${path} was writable by others (mode ${(mode & 0o777).toString(8).padStart(4, '0')}): set back to 0600\n`);
    fchmodSync(fd, 0o600);
  } catch (error) {
    closeSync(fd);
    throw error;
  }
  return fd;
}

function closeLog(log: WriteStream): Promise<void> {
  return new Promise((resolve) => {
    if (log.destroyed) return resolve();
    log.once('close', () => resolve());
    log.once('error', () => resolve());
    log.end();
  });
}

/**
 * The command gets the terminal as the operator left it before any prompt: cooked mode,
 * so Ctrl-C makes a SIGINT and typed text echoes, and drbook not reading it.
 */
function handTerminalToChild(): () => void {
  const stdin = process.stdin;
  if (!stdin.isTTY) return () => {};
  const wasRaw = stdin.isRaw;
  const wasFlowing = stdin.readableFlowing === true;
  if (wasRaw) stdin.setRawMode(false);
  if (wasFlowing) stdin.pause();
  return () => {
    if (wasRaw) stdin.setRawMode(true);
    if (wasFlowing) stdin.resume();
  };
}

function capturedText(source: Source | undefined): string {
  // write(), not end(): a character cut in half at the limit is dropped, not shown as U+FFFD.
  return source === undefined ? '' : new StringDecoder('utf8').write(Buffer.concat(source.captured));
}

function lastLines(text: string): string {
  const lines = text.slice(-TAIL_CHARS).split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines.slice(-TAIL_LINES).join('\n');
}

function formatElapsed(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  const pad = (n: number): string => String(n).padStart(2, '0');
  if (h > 0) return `${h}h${pad(m)}m${pad(s)}s`;
  if (m > 0) return `${m}m${pad(s)}s`;
  return `${s}s`;
}
