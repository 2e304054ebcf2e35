import { existsSync } from 'node:fs';
import { visibleJson, visibleLine } from '../core/visible.js';
import { formatDuration } from '../core/duration.js';
import { ExitCode, JournalRefused } from '../core/errors.js';
import { ZoneClock } from '../core/export/time-zone.js';
import { verifyChain } from '../core/journal-parse.js';
import { isResumable, type SessionSummary } from '../core/session-summary.js';
import { readSessionJournal } from '../adapters/file-journal.js';
import { listSessions, looseModes, resolveSessionId, sessionJournalPath, stateHome } from '../adapters/state-home.js';
import { makeChalk } from '../adapters/style.js';
import { cursorPath } from '../adapters/notify/cursor-file.js';
import { localZone } from '../adapters/system.js';

export interface SessionsOptions {
  json?: boolean;
  verify?: string | boolean;
}

/** `drbook sessions`: every session with its status derived from the journal and the lock. */
export async function runSessions(options: SessionsOptions): Promise<number> {
  if (options.verify !== undefined && options.verify !== false) {
    return runVerify(typeof options.verify === 'string' ? options.verify : undefined, { json: options.json === true });
  }
  const home = stateHome();
  const sessions = listSessions(home);
  // Per sink, the events still waiting: only sessions whose walk had notification sinks.
  const notify = await sinkWaiting(
    home,
    sessions.map((s) => s.id),
  );
  if (options.json) {
    process.stdout.write(
      visibleJson(
        JSON.stringify(
          sessions.map((s) => (notify.get(s.id)!.length > 0 ? { ...s, notify: notify.get(s.id) } : s)),
          null,
          2,
        ),
      ) + '\n',
    );
    return ExitCode.ok;
  }
  if (sessions.length === 0) {
    process.stderr.write(`no sessions yet in ${home}; start one with: drbook run RUNBOOK\n`);
    return ExitCode.ok;
  }
  const local = localZone();
  const zone = new ZoneClock(local.tz, local.tzOffsetMinutes);
  const c = makeChalk();
  // Every cell comes from a journal: shown, never obeyed by the terminal.
  const withNotify = [...notify.values()].some((n) => n.length > 0);
  const rows = sessions.map((s) =>
    [
      s.id,
      s.runbook.id,
      s.mode,
      statusText(s),
      startText(s, zone),
      formatDuration(s.durationMs),
      progress(s),
      ...(withNotify ? [notifyText(notify.get(s.id)!)] : []),
    ].map(visibleLine),
  );
  const header = ['SESSION', 'RUNBOOK', 'MODE', 'STATUS', 'STARTED', 'DURATION', 'STEPS', ...(withNotify ? ['NOTIFY'] : [])];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ');
  process.stdout.write(c.bold(line(header)) + '\n');
  sessions.forEach((s, i) => {
    const text = line(rows[i]!);
    const colour =
      s.status === 'running'
        ? c.cyan
        : s.status === 'paused' || s.status === 'interrupted'
          ? c.yellow
          : s.status === 'aborted' || s.status === 'failed'
            ? c.red
            : (t: string) => t;
    process.stdout.write(colour(text) + '\n');
  });
  for (const problem of looseModes(home)) process.stderr.write(`${problem}\n`);
  for (const s of sessions) for (const problem of looseModes(home, s.id, false)) process.stderr.write(`${problem}\n`);
  for (const s of sessions.filter((x) => x.notWhole !== undefined))
    process.stderr.write(`${s.id}: warning: its journal was not written whole (${s.notWhole}); drbook verify ${s.id} says more\n`);
  for (const s of sessions.filter((x) => x.torn))
    process.stderr.write(`${s.id}: warning: its journal ends in a torn line (a write cut by a crash), left out; drbook verify ${s.id} says more\n`);
  const open = sessions.filter(isResumable);
  if (open.length > 0)
    process.stderr.write(`\n${open.length} session${open.length === 1 ? '' : 's'} can be resumed: drbook resume ${open[open.length - 1]!.id}\n`);
  return ExitCode.ok;
}

type SinkWaiting = { sink: string; waiting: number; stopped?: string }[];

/** Loaded only when a session had sinks (a cursor file beside its journal): `sessions` stays quick without. */
async function sinkWaiting(home: string, ids: string[]): Promise<Map<string, SinkWaiting>> {
  const out = new Map<string, SinkWaiting>(ids.map((id) => [id, []]));
  const withSinks = ids.filter((id) => existsSync(cursorPath(sessionJournalPath(home, id))));
  if (withSinks.length === 0) return out;
  const { notifyStatus } = await import('../adapters/notify/session-notifier.js');
  for (const id of withSinks) {
    try {
      out.set(
        id,
        notifyStatus(sessionJournalPath(home, id)).map((n) => ({ sink: n.sink, waiting: n.waiting, ...(n.stopped ? { stopped: n.stopped } : {}) })),
      );
    } catch {
      // An unreadable cursor or journal: `sessions` lists what it can.
    }
  }
  return out;
}

function notifyText(sinks: SinkWaiting): string {
  return sinks.map((n) => `${n.sink} ${n.waiting > 0 ? `${n.waiting} waiting` : 'sent'}${n.stopped ? ' (stopped)' : ''}`).join(', ');
}

function statusText(s: SessionSummary): string {
  // verify, resume and export refuse such a journal: its status is not to be trusted either.
  if (s.notWhole !== undefined) return `${baseStatus(s)} (journal not whole!)`;
  return baseStatus(s);
}

function baseStatus(s: SessionSummary): string {
  if ((s.status === 'paused' || s.status === 'interrupted') && s.currentStep) return `${s.status} at ${s.currentStep}`;
  return s.status;
}

function startText(s: SessionSummary, zone: ZoneClock): string {
  const ms = Date.parse(s.startedAt);
  if (Number.isNaN(ms)) return '?';
  const wall = zone.wall(ms);
  return `${wall.date} ${wall.time}`;
}

function progress(s: SessionSummary): string {
  const finished = s.steps.done + s.steps.skipped + s.steps.failed + s.steps.markedDone;
  return `${finished}/${s.steps.total}`;
}

/**
 * `drbook verify [SESSION]`: checks the hash chain. Each event holds the sha256 of the line
 * before it, so an edited, inserted or removed line breaks the chain from there on.
 */
export async function runVerify(session: string | undefined, options: { json?: boolean }): Promise<number> {
  const home = stateHome();
  const id = resolveSessionId(home, session);
  const path = sessionJournalPath(home, id);
  const loose = looseModes(home, id);
  for (const problem of loose) process.stderr.write(`${problem}\n`);
  let journal: ReturnType<typeof readSessionJournal>;
  try {
    journal = readSessionJournal(path);
  } catch (error) {
    if (!(error instanceof JournalRefused)) throw error;
    if (options.json) process.stdout.write(visibleJson(JSON.stringify({ session: id, journal: path, ok: false, refused: error.message }, null, 2)) + '\n');
    else process.stdout.write(`${error.message}\n`);
    return ExitCode.failed;
  }
  const check = verifyChain(journal);
  const result = {
    session: id,
    journal: path,
    events: journal.events.length,
    ok: check.ok,
    ...(check.ok ? {} : { brokenAtLine: check.brokenLine ?? check.brokenAt }),
    finalHash: check.finalHash,
    tornLastLine: journal.tornTail !== undefined,
    badLines: journal.bad.map((b) => b.line),
    ...(loose.length > 0 ? { writableByOthers: loose } : {}),
  };
  if (options.json) {
    process.stdout.write(visibleJson(JSON.stringify(result, null, 2)) + '\n');
  } else {
    for (const warning of journal.warnings) process.stderr.write(warning + '\n');
    if (check.ok) {
      process.stdout.write(`${path}: chain verifies: ${journal.events.length} events, final hash ${check.finalHash ?? '(empty)'}\n`);
      if (journal.tornTail)
        process.stdout.write(`${path}:${journal.tornTail.line}: a torn last line (${journal.tornTail.bytes} bytes) was left out: a write cut by a crash\n`);
    } else {
      process.stdout.write(
        `${path}:${result.brokenAtLine}: chain broken: this event's prev does not match the line before it (edited, inserted or removed lines)\n`,
      );
    }
  }
  return check.ok ? ExitCode.ok : ExitCode.failed;
}
