import { createHash } from 'node:crypto';
import { JOURNAL_VERSION, type JournalEvent } from './journal-events.js';

/** sha256 hex of one journal line, without its newline: what the next event's `prev` holds. */
export function hashLine(line: string): string {
  return createHash('sha256').update(line, 'utf8').digest('hex');
}

export interface ParsedJournal {
  events: JournalEvent[];
  /** The raw lines of `events`, same order (for hashing). */
  lines: string[];
  /** A last line without its newline that is not valid JSON: a write cut by a crash. */
  tornTail?: { line: number; bytes: number };
  /** Lines that are not events (corrupt mid-file, newer format): 1-based line and why. */
  bad: { line: number; reason: string }[];
  /** The newest format version seen, when newer than this drbook reads. */
  newerVersion?: number;
  /**
   * 1-based file line of each of `events`, same order: so a broken chain or a bad event can
   * be reported as `file:line`. Optional because callers build ParsedJournal values by hand.
   */
  lineNumbers?: number[];
}

/**
 * Reads a journal's text. Tolerates a torn last line (ignored and reported), never throws
 * on content. No reader ever rewrites a journal: this only reads.
 */
export function parseJournal(text: string): ParsedJournal {
  const lineNumbers: number[] = [];
  const result: ParsedJournal = { events: [], lines: [], bad: [], lineNumbers };
  if (text === '') return result;
  const endsClean = text.endsWith('\n');
  const rawLines = text.split('\n');
  if (endsClean) rawLines.pop();
  rawLines.forEach((line, i) => {
    const isLast = i === rawLines.length - 1;
    if (line.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      if (isLast && !endsClean) result.tornTail = { line: i + 1, bytes: Buffer.byteLength(line) };
      else result.bad.push({ line: i + 1, reason: 'not valid JSON' });
      return;
    }
    if (!isJournalEvent(value)) {
      result.bad.push({ line: i + 1, reason: 'not a journal event' });
      return;
    }
    if (value.v > JOURNAL_VERSION) {
      result.newerVersion = Math.max(result.newerVersion ?? 0, value.v);
    }
    result.events.push(value);
    result.lines.push(line);
    lineNumbers.push(i + 1);
  });
  return result;
}

/** The shape every journal line has, whatever its type: what counts as a valid line. */
export function isJournalEvent(value: unknown): value is JournalEvent {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.type === 'string' && typeof v.seq === 'number' && typeof v.ts === 'string' && typeof v.v === 'number';
}

export interface ChainCheck {
  ok: boolean;
  /** 1-based index among the parsed events of the first event whose `prev` does not match. */
  brokenAt?: number;
  /** The file line of that event, when the parse recorded line numbers. */
  brokenLine?: number;
  /** sha256 of the last line: the journal's final hash. */
  finalHash: string | null;
}

/**
 * Checks that each event's `prev` is the hash of the line before it. Lines that are not
 * events (a torn line a crash left mid-file) are not links: writers chain past them.
 */
export function verifyChain(parsed: Pick<ParsedJournal, 'events' | 'lines' | 'lineNumbers'>): ChainCheck {
  // Reading a journal checks the chain for its warnings and the export checks it again:
  // hashing 100,000 lines once is enough. Keyed on the lines array, which copies share.
  const known = chainChecks.get(parsed.lines);
  if (known && known.events === parsed.events.length) return known.check;
  const check = computeChain(parsed);
  chainChecks.set(parsed.lines, { events: parsed.events.length, check });
  return check;
}

const chainChecks = new WeakMap<string[], { events: number; check: ChainCheck }>();

function computeChain(parsed: Pick<ParsedJournal, 'events' | 'lines' | 'lineNumbers'>): ChainCheck {
  let prev: string | null = null;
  for (let i = 0; i < parsed.events.length; i++) {
    const event = parsed.events[i]!;
    if (event.prev !== prev) {
      const brokenLine = parsed.lineNumbers?.[i];
      return { ok: false, brokenAt: i + 1, ...(brokenLine === undefined ? {} : { brokenLine }), finalHash: lastHash(parsed.lines) };
    }
    prev = hashLine(parsed.lines[i]!);
  }
  return { ok: true, finalHash: prev };
}

function lastHash(lines: string[]): string | null {
  const last = lines[lines.length - 1];
  return last === undefined ? null : hashLine(last);
}

/**
 * What makes a journal one that was not written whole by drbook, whatever its chain says:
 * its first event is not `session.started` (its beginning was cut away), or `seq` goes back
 * (it was emptied or rewritten during a session, and the writer started again at 1).
 */
export function journalShapeProblem(parsed: Pick<ParsedJournal, 'events' | 'lineNumbers'>): { line?: number; reason: string } | undefined {
  const first = parsed.events[0];
  const at = (i: number): { line?: number } => {
    const line = parsed.lineNumbers?.[i];
    return line === undefined ? {} : { line };
  };
  // Nothing readable at all: emptied, or cut before session.started was written whole.
  if (first === undefined)
    return { reason: 'it holds no event, not even session.started: the journal was emptied, or cut before its first line was written whole' };
  if (first.type !== 'session.started')
    return { ...at(0), reason: `the first event is ${first.type}, not session.started: the journal's beginning is missing (cut or emptied during a session)` };
  for (let i = 1; i < parsed.events.length; i++) {
    const seq = parsed.events[i]!.seq;
    const before = parsed.events[i - 1]!.seq;
    if (seq <= before) return { ...at(i), reason: `seq goes back from ${before} to ${seq}: the journal was emptied or rewritten during a session` };
  }
  return undefined;
}
