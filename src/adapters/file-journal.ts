/**
 * The session journal on disk: one JSON line an event, appended by any number of processes
 * (the driver, `drbook note` from other terminals), each line durable before append returns.
 *
 * Why each append is built the way it is:
 * - one writeSync of the whole line and its '\n' on an O_APPEND descriptor: concurrent
 *   writers never interleave inside a line (measured: two writes per line tear lines);
 * - under the append lock, `seq` and `prev` come from the file's real last line, which may
 *   be another process's: the chain stays one chain whoever writes;
 * - fsync before returning: a `kill -9` or a power cut after an event was shown loses nothing;
 * - a torn last line (a crash mid-write) is never rewritten: the next line starts after a
 *   '\n' of its own and links to the last valid line, and readers report the torn one.
 */
import { closeSync, constants, fchmodSync, fstatSync, fsyncSync, mkdirSync, openSync, readSync, statSync, writeSync } from 'node:fs';
import { basename } from 'node:path';
import { DrbookError, ExitCode, JournalRefused } from '../core/errors.js';
import { JOURNAL_VERSION, type EventBody, type JournalEvent } from '../core/journal-events.js';
import { hashLine, isJournalEvent, journalShapeProblem, parseJournal, verifyChain, type ParsedJournal } from '../core/journal-parse.js';
import type { Clock, Journal } from '../core/ports.js';
import { createNewFile, syncDir } from './durable-file.js';
import { sleepSync, withAppendLock } from './file-lock.js';
import { errnoText } from './file-text.js';
import { ensureSessionsDir, readJournalText, sessionJournalPath, sessionOutputDir } from './state-home.js';

const defaultClock: Clock = {
  now: () => new Date(),
  monotonic: () => performance.now(),
};

/** What the append needs to know of the file's end, valid while the file keeps this size. */
interface Tail {
  size: number;
  lastSeq: number;
  lastHash: string | null;
  /** False after a torn line: the next write must start with '\n'. */
  endsWithNewline: boolean;
  /** The format version (`v`) of the last valid event, if there is one. */
  lastVersion?: number;
}

const TAIL_CHUNK = 64 * 1024;

export class FileJournal implements Journal {
  readonly path: string;
  readonly sessionId: string;
  readonly outputDir: string;
  private fd: number | undefined;
  private tail: Tail | undefined;
  /** The file's size after this writer's last append: it can only grow (notes append too). */
  private minSize: number;
  /** Set once the file at the path is no longer the one this writer holds: nothing more is written. */
  private lost: string | undefined;
  private readonly clock: Clock;

  private constructor(path: string, fd: number, clock: Clock) {
    this.minSize = fstatSync(fd).size;
    this.path = path;
    this.sessionId = basename(path).replace(/\.jsonl$/, '');
    this.outputDir = path.replace(/\.jsonl$/, '');
    this.fd = fd;
    this.clock = clock;
  }

  /**
   * Creates a new session's journal (0600, exclusively: never someone else's session) and its
   * output directory (0700).
   */
  static create(home: string, sessionId: string, clock: Clock = defaultClock): FileJournal {
    const dir = ensureSessionsDir(home);
    const path = sessionJournalPath(home, sessionId);
    let fd: number;
    try {
      fd = createNewFile(path, 0o600, 'append');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw new DrbookError(`session ${sessionId} already exists (${path})`, ExitCode.usage);
      throw notWritable(path, error);
    }
    try {
      mkdirSync(sessionOutputDir(home, sessionId), { mode: 0o700 });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
        closeSync(fd);
        throw notWritable(path, error);
      }
    }
    // The new name must survive a crash too, not only the lines written into it.
    syncDir(dir);
    return new FileJournal(path, fd, clock);
  }

  /**
   * Opens an existing journal to append to it: resume, or a note from another terminal.
   * Refuses a journal a newer drbook wrote: its events may mean what this drbook cannot
   * know, and one file must not mix two formats.
   */
  static open(path: string, clock: Clock = defaultClock): FileJournal {
    let fd: number;
    try {
      // Non-blocking: a FIFO named like a journal must not hang the open.
      fd = openSync(path, constants.O_RDWR | constants.O_APPEND | constants.O_NONBLOCK);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new DrbookError(`no journal at ${path}`, ExitCode.usage);
      throw notWritable(path, error);
    }
    try {
      const mode = fstatSync(fd).mode;
      if ((mode & 0o022) !== 0) {
        fchmodSync(fd, 0o600);
        warnMode(path, mode, '0600');
      }
      checkVersion(path, readTail(fd, fstatSync(fd).size));
    } catch (error) {
      closeSync(fd);
      if (error instanceof DrbookError) throw error;
      throw notWritable(path, error);
    }
    return new FileJournal(path, fd, clock);
  }

  append(body: EventBody): JournalEvent {
    const fd = this.fd;
    if (fd === undefined) throw new DrbookError(`cannot write to the journal ${this.path}: it is closed`, ExitCode.usage);
    try {
      return withAppendLock(this.path, () => this.appendLocked(fd, body));
    } catch (error) {
      // Whatever went wrong, the file's end is no longer known for sure.
      this.tail = undefined;
      if (error instanceof DrbookError) throw error;
      throw notWritable(this.path, error);
    }
  }

  private appendLocked(fd: number, body: EventBody): JournalEvent {
    const size = this.checkStillThere(fd);
    // Another process appended since our last write: learn the new end from the file.
    if (this.tail === undefined || this.tail.size !== size) this.tail = checkVersion(this.path, readTail(fd, size));
    const tail = this.tail;
    const event = { v: JOURNAL_VERSION, seq: tail.lastSeq + 1, ts: this.clock.now().toISOString(), prev: tail.lastHash, ...body } as JournalEvent;
    const line = JSON.stringify(event);
    const bytes = Buffer.from(`${tail.endsWithNewline ? '' : '\n'}${line}\n`, 'utf8');
    const written = writeSync(fd, bytes);
    if (written !== bytes.length) {
      // A short write (the disk filled up mid-line): the line is torn; the next append
      // starts on a fresh line after it.
      throw new DrbookError(
        `cannot write to the journal ${this.path}: only ${written} of ${bytes.length} bytes were written (disk full, or a file-size limit?)`,
        ExitCode.usage,
      );
    }
    fsyncSync(fd);
    this.minSize = size + bytes.length;
    this.tail = { size: size + bytes.length, lastSeq: event.seq, lastHash: hashLine(line), endsWithNewline: true };
    return event;
  }

  /**
   * The descriptor must still be the file at the path, as long as this writer wrote: a
   * journal deleted, replaced or cut during a session would otherwise take every later
   * event with it unseen (drbook would report a completed run that `sessions` no longer
   * shows). Nothing is re-created: the session stops and says so. A journal made writable
   * by others is set back to 0600, with a warning. Returns the file's size.
   */
  private checkStillThere(fd: number): number {
    if (this.lost !== undefined) throw lostJournal(this.path, this.lost);
    const held = fstatSync(fd);
    let problem: string | undefined;
    try {
      const named = statSync(this.path);
      if (named.ino !== held.ino || named.dev !== held.dev) problem = 'it was replaced by another file';
      else if (held.nlink === 0) problem = 'it was deleted';
    } catch {
      problem = held.nlink === 0 ? 'it was deleted' : 'it was moved away';
    }
    if (problem === undefined && held.size < this.minSize) problem = `it was cut from ${this.minSize} to ${held.size} bytes`;
    if (problem !== undefined) {
      this.lost = problem;
      throw lostJournal(this.path, problem);
    }
    if ((held.mode & 0o022) !== 0) {
      fchmodSync(fd, 0o600);
      warnMode(this.path, held.mode, '0600');
    }
    return held.size;
  }

  /** Idempotent. */
  close(): void {
    const fd = this.fd;
    if (fd === undefined) return;
    this.fd = undefined;
    try {
      closeSync(fd);
    } catch {
      // Every line was fsynced already: a failing close loses nothing.
    }
  }
}

/** A journal whose last event is in a newer format than this drbook writes is left alone. */
function checkVersion(path: string, tail: Tail): Tail {
  if (tail.lastVersion !== undefined && tail.lastVersion > JOURNAL_VERSION) {
    throw new DrbookError(
      `${path} was written in journal format ${tail.lastVersion} by a newer drbook; this one writes format ${JOURNAL_VERSION} and will not append to it (nothing was written): use the newer drbook`,
      ExitCode.usage,
    );
  }
  return tail;
}

function lostJournal(path: string, problem: string): DrbookError {
  return new DrbookError(
    `the journal ${path} is gone from under the session: ${problem}; nothing more is written and nothing was re-created: the session stopped here (what happened since is on the screen and in the command logs)`,
    ExitCode.usage,
  );
}

/** One warning line about a file others could write, now set back to `to`. */
function warnMode(path: string, mode: number, to: string): void {
  process.stderr.write(
    `drbook: warning: ${path} was writable by others (mode ${(mode & 0o777).toString(8).padStart(4, '0')}): set back to ${to}; check it with drbook verify\n`,
  );
}

function notWritable(path: string, error: unknown): DrbookError {
  return new DrbookError(`cannot write to the journal ${path}: ${errnoText(error)}; the session cannot be recorded`, ExitCode.usage);
}

/**
 * Finds the last valid event line by reading the file backwards in chunks, so an append to a
 * long journal reads kilobytes, not the file. Lines that are not events (a torn line left
 * mid-file) are passed over, as the parser does, so the chain links valid line to valid line.
 */
function readTail(fd: number, size: number): Tail {
  const endsWithNewline = size === 0 || lastByte(fd, size) === 0x0a;
  let pos = size;
  // Bytes of the line being assembled, which started before `pos`.
  let carry = Buffer.alloc(0);
  while (pos > 0) {
    const start = Math.max(0, pos - TAIL_CHUNK);
    const chunk = Buffer.alloc(pos - start);
    readFully(fd, chunk, start);
    const buf = carry.length > 0 ? Buffer.concat([chunk, carry]) : chunk;
    let lineEnd = buf.length;
    for (let i = buf.length - 1; i >= 0; i--) {
      if (buf[i] !== 0x0a) continue;
      const found = validLine(buf.subarray(i + 1, lineEnd));
      if (found) return { size, endsWithNewline, ...found };
      lineEnd = i;
    }
    carry = Buffer.from(buf.subarray(0, lineEnd));
    pos = start;
  }
  const found = validLine(carry);
  return found ? { size, endsWithNewline, ...found } : { size, endsWithNewline, lastSeq: 0, lastHash: null };
}

function validLine(bytes: Buffer): { lastSeq: number; lastHash: string; lastVersion: number } | undefined {
  if (bytes.length === 0) return undefined;
  const line = bytes.toString('utf8');
  if (line.trim() === '') return undefined;
  try {
    const value: unknown = JSON.parse(line);
    if (isJournalEvent(value)) return { lastSeq: value.seq, lastHash: hashLine(line), lastVersion: value.v };
  } catch {
    // Not JSON: torn or corrupt, not a link of the chain.
  }
  return undefined;
}

function lastByte(fd: number, size: number): number | undefined {
  const one = Buffer.alloc(1);
  return readSync(fd, one, 0, 1, size - 1) === 1 ? one[0] : undefined;
}

function readFully(fd: number, buf: Buffer, position: number): void {
  let off = 0;
  while (off < buf.length) {
    const n = readSync(fd, buf, off, buf.length - off, position + off);
    if (n === 0) throw new Error('the journal shrank while being read');
    off += n;
  }
}

/** A journal as read from disk, with what the reader should be told about it. */
export function readJournalFile(path: string): ParsedJournal & { warnings: string[] } {
  let parsed = parseJournal(readText(path));
  // A line being appended right now can look torn to a reader that takes no lock (and
  // readers take none: the journal may sit on a read-only copy). Give the writer a moment.
  for (let tries = 0; parsed.tornTail !== undefined && tries < 5; tries++) {
    const size = sizeOf(path);
    sleepSync(2);
    if (sizeOf(path) === size) break;
    parsed = parseJournal(readText(path));
  }
  return { ...parsed, warnings: journalWarnings(path, parsed) };
}

/**
 * A session's journal as every command reads it: readJournalFile, refusing a journal that
 * was not written whole (see journalShapeProblem) with a JournalRefused.
 */
export function readSessionJournal(path: string): ParsedJournal & { warnings: string[] } {
  const parsed = readJournalFile(path);
  const problem = journalShapeProblem(parsed);
  if (problem !== undefined) {
    throw new JournalRefused(
      `${path}${problem.line === undefined ? '' : `:${problem.line}`}: ${problem.reason}; refused: its record cannot be trusted (the file is left as it is)`,
    );
  }
  return parsed;
}

function readText(path: string): string {
  return readJournalText(path);
}

function sizeOf(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return -1;
  }
}

/** One `file:line: warning: …` line for each thing a reader should know about a journal. */
function journalWarnings(path: string, parsed: ParsedJournal): string[] {
  const warnings: string[] = [];
  for (const bad of parsed.bad) warnings.push(`${path}:${bad.line}: warning: ${bad.reason}, ignored (a line cut by a crash, or an edit)`);
  if (parsed.tornTail)
    warnings.push(`${path}:${parsed.tornTail.line}: warning: ignored a torn last line (${parsed.tornTail.bytes} bytes), probably cut by a crash`);
  const chain = verifyChain(parsed);
  if (!chain.ok) {
    const where = chain.brokenLine === undefined ? '' : `:${chain.brokenLine}`;
    warnings.push(`${path}${where}: warning: the hash chain breaks here: a line before it was changed, removed or inserted after it was written`);
  }
  if (parsed.newerVersion !== undefined) {
    warnings.push(
      `${path}: warning: written in journal format ${parsed.newerVersion} by a newer drbook; this one reads format ${JOURNAL_VERSION} and may miss events`,
    );
  }
  return warnings;
}
