/**
 * A command's output on its way out: from its stdout and stderr pipes to the screen and the
 * log (masked when a secret is known), with what `expect` and `capture` need kept in memory
 * up to a bound, and the tail for the journal. Never holds unbounded output: while a
 * destination is full the pipes are not read (the command blocks on write instead).
 */
import type { WriteStream } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import type { Readable } from 'node:stream';
import type { Redactor, StreamRedactor } from '../core/redact.js';
import type { ScreenModes } from './terminal-state.js';

export type Sink = NodeJS.WritableStream;

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

export interface OutputPumpOptions {
  stdout: { readable: Readable | null; sink: Sink };
  stderr: { readable: Readable | null; sink: Sink };
  /** The screen's stderr, for drbook's own lines. */
  screenErr: Sink;
  log: WriteStream | undefined;
  redactor: Redactor;
  /** stdout and stderr reach one place: shown (on the stdout sink) and masked as one stream. */
  oneScreenStream: boolean;
  captureLimitBytes: number;
  /** Called before command output reaches the screen (the status line erases itself). */
  beforeShow: () => void;
  /** Told of everything shown, for the screen modes the command leaves on. */
  screenModes?: ScreenModes;
}

export class OutputPump {
  /** Resolves once both pipes ended, or were given up after the drain (see drain()). */
  readonly done: Promise<void>;
  /** What drbook has to say after the command (a log that stopped). */
  readonly notices: string[] = [];
  outputBytes = 0;
  truncated = false;
  lastOutputAt = performance.now();
  atLineStart = true;

  private readonly sources: Source[] = [];
  private readonly redacting: boolean;
  /**
   * The command's stdout and stderr interleaved in arrival order, as the log file and the
   * tail hold them (and the screen, when it is one place): masked as one stream, so a
   * secret printed half on each is still masked there.
   */
  private readonly combined: StreamRedactor;
  private tailText = '';
  private readonly brokenSinks = new Set<Sink>();
  private readonly waiting = new Set<Sink>();
  private readonly sinkErrors = new Map<Sink, (error: Error) => void>();
  private draining = false;
  private drainStartedAt = 0;
  private drainTimer: NodeJS.Timeout | undefined;
  private stopDraining = (): void => {};

  constructor(private readonly options: OutputPumpOptions) {
    this.redacting = options.redactor.size > 0;
    this.combined = options.redactor.stream();
    for (const { readable, sink } of [options.stdout, options.stderr]) {
      if (readable === null) continue;
      this.sources.push({
        readable,
        sink,
        redactor: options.redactor.stream(),
        decoder: new StringDecoder('utf8'),
        tailDecoder: new StringDecoder('utf8'),
        captured: [],
        capturedBytes: 0,
        ended: false,
      });
    }
    this.watchSinkErrors();
    this.done = this.pump();
  }

  /**
   * Backpressure: while any destination is full, the child's pipes are not read, so the
   * child blocks on write instead of drbook buffering its output.
   */
  write(dest: Sink, data: string | Buffer): void {
    if (this.brokenSinks.has(dest)) return;
    if (dest.write(data) || this.waiting.has(dest)) return;
    this.waiting.add(dest);
    for (const source of this.sources) source.readable.pause();
    dest.once('drain', () => {
      this.waiting.delete(dest);
      this.resumeAll();
    });
  }

  /**
   * The shell has exited: pipes a daemon it forked may stay open for days. Read on while
   * output flows, stop after a short silence (time spent waiting on a full destination
   * does not count), or at a cap against a daemon that never stops talking.
   */
  drain(): void {
    this.drainStartedAt = performance.now();
    this.draining = true;
    this.armDrain();
  }

  /** Stops listening for sink errors (the log's stay until it is closed) and closes the log. */
  async close(): Promise<void> {
    if (this.drainTimer !== undefined) clearTimeout(this.drainTimer);
    for (const [dest, onError] of this.sinkErrors) {
      if (dest !== this.options.log) dest.off('error', onError);
    }
    const log = this.options.log;
    if (log === undefined) return;
    await new Promise<void>((resolve) => {
      if (log.destroyed) return resolve();
      log.once('close', () => resolve());
      log.once('error', () => resolve());
      log.end();
    });
  }

  /** Unredacted text kept for `expect` and `capture`: 0 is stdout, 1 stderr. */
  captured(index: 0 | 1): string {
    const source = this.sources.find((s) => s.readable === (index === 0 ? this.options.stdout : this.options.stderr).readable);
    // write(), not end(): a character cut in half at the limit is dropped, not shown as U+FFFD.
    return source === undefined ? '' : new StringDecoder('utf8').write(Buffer.concat(source.captured));
  }

  /** The last lines of the combined output. */
  tail(): string {
    const lines = this.tailText.slice(-TAIL_CHARS).split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    return lines.slice(-TAIL_LINES).join('\n');
  }

  private paused(): boolean {
    return this.waiting.size > 0;
  }

  private resumeAll(): void {
    if (this.paused()) return;
    for (const source of this.sources) if (!source.ended) source.readable.resume();
    this.armDrain();
  }

  private watchSinkErrors(): void {
    const { stdout, stderr, log } = this.options;
    for (const dest of new Set<Sink>([stdout.sink, stderr.sink, this.options.screenErr, ...(log === undefined ? [] : [log])])) {
      const onError = (error: Error): void => {
        // A closed terminal or a full disk must not block or kill the command: stop writing there.
        this.brokenSinks.add(dest);
        if (dest === log) this.notices.push(`the output log stopped: ${reason(error)}`);
        this.waiting.delete(dest);
        this.resumeAll();
      };
      this.sinkErrors.set(dest, onError);
      dest.on('error', onError);
    }
  }

  private armDrain(): void {
    if (!this.draining) return;
    if (this.drainTimer !== undefined) clearTimeout(this.drainTimer);
    this.drainTimer = undefined;
    if (this.paused()) return;
    const untilCap = this.drainStartedAt + DRAIN_CAP_MS - performance.now();
    this.drainTimer = setTimeout(() => this.stopDraining(), Math.max(DRAIN_MIN_MS, Math.min(DRAIN_IDLE_MS, untilCap)));
  }

  private show(sink: Sink, data: string | Buffer): void {
    if (data.length === 0) return;
    this.options.beforeShow();
    this.options.screenModes?.see(data);
    this.write(sink, data);
    this.atLineStart = typeof data === 'string' ? data.endsWith('\n') : data[data.length - 1] === 0x0a;
  }

  private toLog(data: string | Buffer): void {
    if (this.options.log !== undefined && data.length > 0) this.write(this.options.log, data);
  }

  /** Text of one stream, in arrival order: masked per stream for its own sink, as one stream for the log. */
  private emitRedacted(source: Source, text: string): void {
    const whole = this.combined.push(text);
    if (this.options.oneScreenStream) this.show(this.options.stdout.sink, whole);
    else this.show(source.sink, source.redactor.push(text));
    this.toLog(whole);
    this.addTail(whole);
  }

  private flushCombined(): void {
    if (!this.redacting) return;
    const rest = this.combined.flush();
    if (this.options.oneScreenStream) this.show(this.options.stdout.sink, rest);
    this.toLog(rest);
    this.addTail(rest);
  }

  private addTail(text: string): void {
    this.tailText += text;
    if (this.tailText.length > 2 * TAIL_CHARS) this.tailText = this.tailText.slice(-TAIL_CHARS);
  }

  private onData(source: Source, chunk: Buffer): void {
    this.outputBytes += chunk.length;
    this.lastOutputAt = performance.now();
    const room = this.options.captureLimitBytes - source.capturedBytes;
    if (room > 0) {
      const kept = chunk.length <= room ? chunk : chunk.subarray(0, room);
      source.captured.push(kept);
      source.capturedBytes += kept.length;
    }
    if (chunk.length > room) this.truncated = true;
    if (this.redacting) {
      this.emitRedacted(source, source.decoder.write(chunk));
    } else {
      // Nothing to mask: pass the bytes through untouched, decode only what the tail needs.
      this.show(source.sink, chunk);
      this.toLog(chunk);
      if (chunk.length > TAIL_CHARS) {
        let from = chunk.length - TAIL_CHARS;
        while (from < chunk.length && ((chunk[from] ?? 0) & 0xc0) === 0x80) from++;
        source.tailDecoder = new StringDecoder('utf8');
        this.addTail(source.tailDecoder.write(chunk.subarray(from)));
      } else {
        this.addTail(source.tailDecoder.write(chunk));
      }
    }
    this.armDrain();
  }

  private finishSource(source: Source): void {
    if (source.ended) return;
    source.ended = true;
    source.readable.removeAllListeners('data');
    if (!this.redacting) {
      this.addTail(source.tailDecoder.end());
      return;
    }
    this.emitRedacted(source, source.decoder.end());
    if (!this.options.oneScreenStream) this.show(source.sink, source.redactor.flush());
    if (this.sources.every((s) => s.ended)) this.flushCombined();
  }

  private pump(): Promise<void> {
    return new Promise<void>((resolve) => {
      const check = (): void => {
        if (this.sources.every((source) => source.ended)) resolve();
      };
      for (const source of this.sources) {
        source.readable.on('data', (chunk: Buffer) => this.onData(source, chunk));
        const end = (): void => {
          this.finishSource(source);
          check();
        };
        source.readable.once('end', end);
        source.readable.once('close', end);
        source.readable.once('error', end);
      }
      this.stopDraining = () => {
        for (const source of this.sources) {
          this.finishSource(source);
          source.readable.destroy();
        }
        resolve();
      };
      check();
    });
  }
}

/** An error's reason in a few words (the errno code in plain English when known). */
export function reason(error: unknown): string {
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
