/**
 * The sender's cursor, beside the journal: `sessions/<SESSION>.notify.json` (0600), one
 * entry a sink. Written with replaceFile (a temp file, fsynced, renamed over the old one, the
 * directory fsynced): after a crash it is the old cursor or the new one, never half of either. Each
 * delivery is also appended to `sessions/<SESSION>/notify.log` (JSON lines, 0600).
 */
import { closeSync, constants, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { replaceFile } from '../durable-file.js';
import { dirname } from 'node:path';
import type { NotifySinkDef } from '../../core/notify/config.js';
import type { SinkCursor } from '../../core/notify/outbox.js';
import { isProcessAlive } from '../process-tree.js';
import { readProcStart } from '../process-tree.js';

export interface CursorFile {
  v: 1;
  sinks: Record<string, SinkCursor>;
  /** The sinks the walk was configured with (env var names, never values): `drbook notify` needs no runbook. */
  config?: { defs: NotifySinkDef[]; origin: string }[];
}

export function cursorPath(journalPath: string): string {
  return journalPath.replace(/\.jsonl$/, '.notify.json');
}

export function deliveryLogPath(journalPath: string): string {
  return `${journalPath.replace(/\.jsonl$/, '')}/notify.log`;
}

/** The cursor on disk; none yet (or unreadable) reads as every sink at the start. */
export function readCursor(journalPath: string): { cursor: CursorFile; exists: boolean } {
  let text: string;
  try {
    text = readFileSync(cursorPath(journalPath), 'utf8');
  } catch {
    return { cursor: { v: 1, sinks: {} }, exists: false };
  }
  try {
    const data = JSON.parse(text) as CursorFile;
    if (data && typeof data === 'object')
      return { cursor: { v: 1, sinks: wellFormedSinks(data.sinks), ...(Array.isArray(data.config) ? { config: data.config } : {}) }, exists: true };
  } catch {
    // A cursor that cannot be read sends everything again: the idempotency keys let receivers drop the copies.
  }
  return { cursor: { v: 1, sinks: {} }, exists: true };
}

const isSeq = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/**
 * The sink entries that are cursors. One that is not (a hand edit, another version) would
 * read as "all delivered" and lose its events silently: it is dropped, so that sink starts
 * over and the receivers drop the copies by their idempotency keys.
 */
function wellFormedSinks(raw: unknown): Record<string, SinkCursor> {
  const sinks: Record<string, SinkCursor> = {};
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return sinks;
  for (const [name, value] of Object.entries(raw as Record<string, unknown>)) {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) continue;
    const c = value as Record<string, unknown>;
    if (!isSeq(c.delivered) || !isSeq(c.sent)) continue;
    const inflight = c.inflight as Record<string, unknown> | undefined;
    if (
      inflight !== undefined &&
      (inflight === null || typeof inflight !== 'object' || !isSeq(inflight.from) || !isSeq(inflight.to) || typeof inflight.key !== 'string')
    )
      continue;
    sinks[name] = value as SinkCursor;
  }
  return sinks;
}

export function writeCursor(journalPath: string, cursor: CursorFile): void {
  replaceFile(cursorPath(journalPath), `${JSON.stringify(cursor, null, 1)}\n`, { mode: 0o600 });
}

/** One line a delivery: when, which sink, which events, the key, how many tries it took. */
export function logDelivery(journalPath: string, record: Record<string, unknown>): void {
  const path = deliveryLogPath(journalPath);
  try {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    const fd = openSync(path, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT, 0o600);
    try {
      writeSync(fd, `${JSON.stringify(record)}\n`);
    } finally {
      closeSync(fd);
    }
  } catch {
    // The cursor is the record that counts; the log is for people.
  }
}

export function senderLockPath(journalPath: string): string {
  return journalPath.replace(/\.jsonl$/, '.notify.lock');
}

/**
 * One sender a session at a time (the walk's, or one `drbook notify --flush`): two would post
 * the same events. Returns the release function, or the pid holding the lock.
 */
export function acquireSenderLock(journalPath: string): { release: () => void } | { heldBy: number } {
  const path = senderLockPath(journalPath);
  for (let tries = 0; tries < 3; tries++) {
    try {
      const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
      try {
        writeSync(fd, JSON.stringify({ pid: process.pid, procStart: readProcStart(process.pid) }));
      } finally {
        closeSync(fd);
      }
      return {
        release: () => {
          try {
            unlinkSync(path);
          } catch {
            // Already gone.
          }
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    let holder: { pid?: number; procStart?: string } = {};
    try {
      holder = JSON.parse(readFileSync(path, 'utf8')) as typeof holder;
    } catch {
      // Torn or empty: its writer died while writing it.
    }
    if (typeof holder.pid === 'number' && isProcessAlive(holder.pid, holder.procStart)) return { heldBy: holder.pid };
    try {
      unlinkSync(path);
    } catch {
      // Someone else broke it first.
    }
  }
  return { heldBy: -1 };
}
