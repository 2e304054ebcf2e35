import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { DrbookError, ExitCode } from '../core/errors.js';
import type { ParsedJournal } from '../core/journal-parse.js';
import {
  buildHistory,
  buildReport,
  canonicalTimeZone,
  NotASessionError,
  renderHistoryMarkdown,
  renderJson,
  renderMarkdown,
  summarizeDrill,
  type DrillSummary,
} from '../core/export/index.js';
import { readSessionJournal } from '../adapters/file-journal.js';
import { displayPath } from '../adapters/file-text.js';
import { writeOutputFile } from '../adapters/output-file.js';
import { listSessionIds, resolveSessionId, sessionJournalPath, sessionOutputDir, sessionsDir, stateHome } from '../adapters/state-home.js';
import { readLogTail } from '../adapters/log-tail.js';
import { cursorPath } from '../adapters/notify/cursor-file.js';
import type { NotifiedSink } from '../core/export/report.js';
import { readDriverLock } from '../adapters/file-lock.js';
import { maskEvents, maskWithFingerprints, sessionFingerprints } from '../core/secret-fingerprint.js';
import { visible, visibleJson } from '../core/visible.js';

export interface ExportOptions {
  /** md (default) or json. */
  format?: string;
  /** IANA zone for the times; the session's own zone by default. */
  tz?: string;
  /** A file to write instead of stdout (`-` is stdout). */
  output?: string;
  /** A runbook id (or file): the drill history of its sessions instead of one post-mortem. */
  all?: string;
}

type Format = 'md' | 'json';

/**
 * `drbook export [SESSION]`: the post-mortem of a session (default: the latest), or with
 * `--all RUNBOOK` the drill history of a runbook. Returns the exit code.
 */
export async function runExport(session: string | undefined, options: ExportOptions): Promise<number> {
  const format = parseFormat(options.format);
  const timeZone = parseZone(options.tz);
  const home = stateHome(process.env);

  let text: string;
  if (options.all !== undefined) {
    if (session !== undefined) throw new DrbookError(`give a SESSION or --all RUNBOOK, not both (got ${session} and --all ${options.all})`);
    text = drillHistory(home, options.all, format, timeZone);
  } else {
    const id = resolveSessionId(home, session);
    const read = readSession(home, id);
    // Masked with the session's fingerprints: a secret given in clear before it was known to be one.
    const fingerprints = sessionFingerprints(read.events);
    const journal = { ...read, events: maskEvents(read.events, fingerprints) };
    const logTail = (log: string) => {
      const tail = readLogTail(sessionOutputDir(home, id), log);
      return tail && { ...tail, tail: maskWithFingerprints(tail.tail, fingerprints) };
    };
    const first = journal.events[0];
    const runbookId = first?.type === 'session.started' ? first.runbook.id : undefined;
    const earlier = runbookId === undefined ? [] : otherSessions(home, id, runbookId);
    const notify = await sentTo(sessionJournalPath(home, id));
    const report = asDrbookError(sessionJournalPath(home, id), () =>
      buildReport(journal, { ...(timeZone ? { timeZone } : {}), earlier, driving: drivenNow(home, id), logTail, notify }),
    );
    text = format === 'json' ? renderJson(report) : renderMarkdown(report);
  }

  // The file is the document as rendered; on a terminal its text is made visible, as every
  // string drbook prints from a runbook or a journal (JSON keeps its data: \uXXXX escapes).
  const shown = format === 'json' ? visibleJson : visible;
  if (options.output === undefined || options.output === '-') process.stdout.write(shown(text));
  // A regular file is replaced whole (a reader never sees half a post-mortem), 0600 because
  // it holds command output; /dev/null, /dev/stdout or a FIFO is written in place.
  else await writeOutputFile(options.output, text, { mode: 0o600, onTerminal: shown });
  return ExitCode.ok;
}

/** Which notification sinks received the timeline (only a session whose walk had sinks has any). */
async function sentTo(journalPath: string): Promise<NotifiedSink[]> {
  if (!existsSync(cursorPath(journalPath))) return [];
  try {
    const { notifyStatus } = await import('../adapters/notify/session-notifier.js');
    return notifyStatus(journalPath).map(({ sink, type, selected, sent, waiting, stopped }) => ({
      sink,
      type,
      selected,
      sent,
      waiting,
      ...(stopped ? { stopped } : {}),
    }));
  } catch {
    return [];
  }
}

function parseFormat(format: string | undefined): Format {
  if (format === undefined || format === 'md' || format === 'markdown') return 'md';
  if (format === 'json') return 'json';
  throw new DrbookError(`unknown --format "${format}": use md or json`);
}

function parseZone(tz: string | undefined): string | undefined {
  if (tz === undefined) return undefined;
  const zone = canonicalTimeZone(tz);
  if (zone === undefined) throw new DrbookError(`unknown time zone "${tz}" for --tz: give an IANA name such as Europe/Paris, America/New_York or UTC`);
  return zone;
}

/** The exported session's journal; what the reader notices (a torn line, a broken chain) goes to stderr. */
function readSession(home: string, id: string): ParsedJournal {
  const journal = readSessionJournal(sessionJournalPath(home, id));
  for (const warning of journal.warnings) process.stderr.write(`${warning}\n`);
  return journal;
}

/**
 * Summaries of the other sessions of a runbook, for the per-step medians. Ids end with the
 * runbook id, which spares reading every journal; a journal that cannot be read is only
 * missing from the comparison, never a reason to fail the export.
 */
function otherSessions(home: string, exclude: string, runbookId: string): DrillSummary[] {
  const out: DrillSummary[] = [];
  for (const id of listSessionIds(home)) {
    if (id === exclude || !id.includes(runbookId)) continue;
    const summary = trySummary(home, id);
    if (summary?.runbook.id === runbookId) out.push(summary);
  }
  return out;
}

/** Whether a live drbook drives the session now: its status is running, as `sessions` says. */
function drivenNow(home: string, id: string): boolean {
  return readDriverLock(sessionJournalPath(home, id))?.alive === true;
}

function trySummary(home: string, id: string): DrillSummary | undefined {
  try {
    return summarizeDrill(readSessionJournal(sessionJournalPath(home, id)).events, drivenNow(home, id));
  } catch {
    return undefined;
  }
}

function drillHistory(home: string, runbook: string, format: Format, timeZone: string | undefined): string {
  const summaries: DrillSummary[] = [];
  for (const id of listSessionIds(home)) {
    const summary = trySummary(home, id);
    if (summary) summaries.push(summary);
  }
  // A runbook is named by its id, or by the file it was run from.
  const byPath = resolve(runbook);
  const id = summaries.find((s) => s.runbook.id === runbook)?.runbook.id ?? summaries.find((s) => resolve(s.runbook.path) === byPath)?.runbook.id;
  if (id === undefined) {
    throw new DrbookError(`no session of runbook "${runbook}" in ${displayPath(sessionsDir(home))} (drbook sessions lists them)`);
  }
  const history = buildHistory(id, summaries, timeZone ? { timeZone } : {});
  return format === 'json' ? renderJson(history) : renderHistoryMarkdown(history);
}

function asDrbookError<T>(path: string, build: () => T): T {
  try {
    return build();
  } catch (error) {
    if (error instanceof NotASessionError) throw new DrbookError(`${displayPath(path)} is not a drbook session: ${error.message}`);
    throw error;
  }
}
