import { DrbookError, ExitCode } from '../core/errors.js';
import type { NotifyFailed } from '../core/journal-events.js';
import { replaySession } from '../core/session-summary.js';
import { visibleJson, visibleLine } from '../core/visible.js';
import { FileJournal, readSessionJournal } from '../adapters/file-journal.js';
import { acquireSenderLock } from '../adapters/notify/cursor-file.js';
import { NotifySender } from '../adapters/notify/sender.js';
import { notifyStatus, sessionSinks, type SinkStatus } from '../adapters/notify/session-notifier.js';
import { resolveSessionId, sessionJournalPath, stateHome } from '../adapters/state-home.js';
import { makeChalk } from '../adapters/style.js';
import { systemClock } from '../adapters/system.js';
import { VERSION } from '../version.js';

export interface NotifyOptions {
  flush?: boolean;
  json?: boolean;
}

/** A flush gives a sink this many tries in a row (with backoff) before leaving its events for later. */
const FLUSH_TRIES = 5;

/**
 * `drbook notify [SESSION] [--flush]`: what each sink of the session still waits for, and with
 * --flush, sends it (after the network came back, or from another host that has the journal).
 * Exit 0 when nothing is left waiting, 1 when a sink still has events after the flush.
 */
export async function runNotify(session: string | undefined, options: NotifyOptions): Promise<number> {
  const home = stateHome();
  const id = resolveSessionId(home, session);
  const path = sessionJournalPath(home, id);
  // A journal not written whole is refused before anything of it is sent.
  const parsed = readSessionJournal(path);
  for (const warning of parsed.warnings) process.stderr.write(`${warning}\n`);
  const runbookPath = replaySession(parsed).runbookPath;
  const say = (line: string) => process.stderr.write(`${visibleLine(line)}\n`);
  const { sinks } = sessionSinks(home, path, runbookPath, say);
  if (sinks.length === 0) {
    const message = `session ${id} has no notification sink: add notify: to its runbook or to ${home}/config.yml (see docs/notify.md)`;
    if (options.flush) throw new DrbookError(message, ExitCode.usage);
    say(message);
    return ExitCode.ok;
  }

  if (options.flush) {
    const lock = acquireSenderLock(path);
    if ('heldBy' in lock) {
      throw new DrbookError(
        `another drbook (pid ${lock.heldBy}) is sending this session's events right now (the walk sends them itself): try again when it has ended`,
        ExitCode.usage,
      );
    }
    let journal: FileJournal | undefined;
    const append = (body: NotifyFailed) => {
      journal ??= FileJournal.open(path, systemClock);
      journal.append(body);
    };
    try {
      const sender = new NotifySender({ journalPath: path, sessionId: id, sinks, env: process.env, journal: append, say, userAgent: `drbook/${VERSION}` });
      await sender.flush(FLUSH_TRIES);
    } finally {
      journal?.close();
      lock.release();
    }
  }

  const status = notifyStatus(path, sinks);
  if (options.json) process.stdout.write(`${visibleJson(JSON.stringify({ session: id, sinks: status }, null, 2))}\n`);
  else printStatus(id, status, options.flush === true);
  return status.some((s) => s.waiting > 0) && options.flush ? ExitCode.failed : ExitCode.ok;
}

function printStatus(id: string, status: SinkStatus[], flushed: boolean): void {
  const c = makeChalk();
  const rows = status.map((s) => [s.sink, s.type, String(s.sent), String(s.waiting), stateText(s)].map(visibleLine));
  const header = ['SINK', 'TYPE', 'SENT', 'WAITING', 'STATE'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ');
  process.stdout.write(`${c.bold(line(header))}\n`);
  for (const row of rows) process.stdout.write(`${line(row)}\n`);
  const left = status.filter((s) => s.waiting > 0);
  if (left.length > 0)
    process.stderr.write(
      `\n${flushed ? 'still waiting' : 'waiting'}: ${left.map((s) => `${s.sink} ${s.waiting}`).join(', ')}; send with: drbook notify ${id} --flush\n`,
    );
}

function stateText(s: SinkStatus): string {
  if (s.stopped) return `stopped: ${s.stopped}`;
  if (s.waiting > 0) return s.lastError ? `retrying: ${s.lastError}` : 'waiting';
  if (s.selected === 0) return 'nothing to send';
  return `all sent${s.lastDeliveredAt ? ` (last ${s.lastDeliveredAt.slice(0, 19).replace('T', ' ')} UTC)` : ''}`;
}
