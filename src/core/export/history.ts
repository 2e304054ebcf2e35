/**
 * The drill history of one runbook (`drbook export --all RUNBOOK`): one row a session, so a
 * team sees whether recovery gets faster with practice and which drills missed the RTO.
 */
import { formatDuration } from '../duration.js';
import type { Mode } from '../journal-events.js';
import { code, inline } from './markdown-text.js';
import type { Instant } from './report.js';
import type { RtoCheck, DrillSummary } from './summary.js';
import { ZoneClock } from './time-zone.js';

export const HISTORY_FORMAT = 'drbook-history';
export const HISTORY_VERSION = 2;

/**
 * A session's row: the summary's outcome fields as they are (`yes` sessions are left out of the
 * change and the trends unless every session was), its start as an instant.
 */
export interface HistoryRow extends Pick<
  DrillSummary,
  'session' | 'mode' | 'yes' | 'operator' | 'status' | 'totalMs' | 'pausedMs' | 'rto' | 'steps' | 'failedAttempts' | 'failedSteps' | 'editedCommands'
> {
  start: Instant;
  /** Against the previous completed session of the same mode; null for the first one or an unfinished one. */
  changeMs: number | null;
}

export interface ModeTrend {
  mode: Mode;
  sessions: number;
  completed: number;
  /** Live runs only: a rehearsal's time against the RTO says little. */
  rtoMet: number;
  /** Total time of the first and the latest completed session of this mode. */
  firstMs: number | null;
  latestMs: number | null;
  fastestMs: number | null;
}

export interface DrillHistory {
  format: typeof HISTORY_FORMAT;
  version: typeof HISTORY_VERSION;
  runbook: { id: string; title: string; rto: string | null };
  timeZone: string;
  /** Oldest first. */
  sessions: HistoryRow[];
  trends: ModeTrend[];
}

/**
 * `summaries` may hold sessions of any runbook; only `runbookId`'s are kept. The zone is
 * the given one, else the latest session's, so the dates of one table share one zone.
 */
export function buildHistory(runbookId: string, summaries: readonly DrillSummary[], options: { timeZone?: string } = {}): DrillHistory {
  const mine = summaries.filter((s) => s.runbook.id === runbookId).sort((a, b) => Date.parse(a.start) - Date.parse(b.start));
  const latest = mine[mine.length - 1];
  const zone = options.timeZone ?? latest?.timeZone ?? 'UTC';
  const clock = new ZoneClock(zone, options.timeZone === undefined ? (latest?.timeZoneOffsetMinutes ?? 0) : 0);

  // A --yes drill runs at a script's pace: compared with only when every session is one.
  const allYes = mine.every((s) => s.yes);
  const compared = (s: { yes: boolean }) => allYes || !s.yes;
  const previous = new Map<Mode, number>();
  const sessions: HistoryRow[] = mine.map((s) => {
    const wall = clock.wall(Date.parse(s.start));
    const before = previous.get(s.mode);
    const completed = s.status === 'completed';
    if (completed && compared(s)) previous.set(s.mode, s.totalMs);
    return {
      session: s.session,
      start: { utc: new Date(Date.parse(s.start)).toISOString(), local: `${wall.date} ${wall.timeSeconds}`, offset: wall.offset },
      mode: s.mode,
      yes: s.yes,
      operator: s.operator,
      status: s.status,
      totalMs: s.totalMs,
      pausedMs: s.pausedMs,
      rto: s.rto,
      steps: s.steps,
      failedAttempts: s.failedAttempts,
      failedSteps: s.failedSteps,
      editedCommands: s.editedCommands,
      changeMs: completed && compared(s) && before !== undefined ? s.totalMs - before : null,
    };
  });

  const trends: ModeTrend[] = [];
  for (const mode of ['live', 'rehearsal'] as const) {
    const rows = sessions.filter((s) => s.mode === mode && compared(s));
    if (rows.length === 0) continue;
    const done = rows.filter((s) => s.status === 'completed');
    trends.push({
      mode,
      sessions: rows.length,
      completed: done.length,
      rtoMet: mode === 'live' ? rows.filter((s) => s.rto?.met === true).length : 0,
      firstMs: done[0]?.totalMs ?? null,
      latestMs: done[done.length - 1]?.totalMs ?? null,
      fastestMs: done.length === 0 ? null : Math.min(...done.map((s) => s.totalMs)),
    });
  }

  return {
    format: HISTORY_FORMAT,
    version: HISTORY_VERSION,
    runbook: { id: runbookId, title: latest?.runbook.title ?? runbookId, rto: latest?.runbook.rto ?? null },
    timeZone: clock.zone,
    sessions,
    trends,
  };
}

export function renderHistoryMarkdown(h: DrillHistory): string {
  const out: string[] = [`# Drill history: ${inline(h.runbook.title)}`, ''];
  const first = h.sessions[0];
  const last = h.sessions[h.sessions.length - 1];
  if (first === undefined || last === undefined) {
    out.push(`No session of ${code(h.runbook.id)} was found.`);
    return `${out.join('\n')}\n`;
  }
  const offsets = [...new Set(h.sessions.map((s) => s.start.offset))].map((o) => `UTC${o}`).join(', ');
  out.push(
    `Runbook ${code(h.runbook.id)}, RTO ${h.runbook.rto ?? 'not set'}: ${h.sessions.length === 1 ? '1 session' : `${h.sessions.length} sessions`}, ` +
      `${first.start.local.slice(0, 10)} to ${last.start.local.slice(0, 10)}. Times in ${h.timeZone} (${offsets}).`,
    '',
  );
  // A rehearsal's time against the RTO means little: most of its commands did not run.
  for (const t of h.trends) out.push(`- **${t.mode === 'live' ? 'Live runs' : 'Rehearsals'}:** ${trendText(t, t.mode === 'live' && h.runbook.rto !== null)}`);
  out.push(
    '',
    '| Date | Session | Mode | Operator | Total | Change | RTO | Outcome | Failed attempts | Edited commands | Done by hand |',
    '| --- | --- | --- | --- | ---: | ---: | --- | --- | ---: | ---: | ---: |',
  );
  for (const s of h.sessions) {
    const cells = [
      s.start.local.slice(0, 16),
      code(s.session, { inTable: true }),
      s.yes ? `${s.mode} (--yes)` : s.mode,
      inline(s.operator),
      s.status === 'paused' || s.status === 'interrupted' || s.status === 'running' ? `${formatDuration(s.totalMs)} so far` : formatDuration(s.totalMs),
      s.changeMs === null ? '—' : signed(s.changeMs),
      s.mode === 'live' ? rtoCell(s.rto) : '—',
      outcomeCell(s),
      String(s.failedAttempts),
      String(s.editedCommands),
      String(s.steps.markedDone),
    ];
    out.push(`| ${cells.join(' | ')} |`);
  }
  out.push(
    '',
    '_Change: total time against the previous completed session of the same mode. Rehearsals skip most commands, so compare them with each other, not with live runs. Sessions run with --yes (scripted, every default taken) are left out of the change and the trends unless every session was._',
  );
  return `${out.join('\n')}\n`;
}

function trendText(t: ModeTrend, hasRto: boolean): string {
  const parts = [`${t.sessions}, ${t.completed} completed`];
  if (hasRto) parts.push(`RTO met ${t.rtoMet} of ${t.sessions}`);
  if (t.firstMs !== null && t.latestMs !== null && t.completed > 1) {
    const delta = t.latestMs - t.firstMs;
    const verdict = delta < 0 ? `${formatDuration(-delta)} faster` : delta > 0 ? `${formatDuration(delta)} slower` : 'no change';
    parts.push(`first ${formatDuration(t.firstMs)}, latest ${formatDuration(t.latestMs)} (${verdict}), fastest ${formatDuration(t.fastestMs ?? t.latestMs)}`);
  } else if (t.latestMs !== null) {
    parts.push(`took ${formatDuration(t.latestMs)}`);
  }
  return parts.join('; ');
}

function rtoCell(rto: RtoCheck | null): string {
  if (rto === null) return '—';
  if (rto.met === true) return 'met';
  if (rto.met === false) return `**missed** by ${formatDuration(rto.marginMs)}`;
  return 'not met';
}

function outcomeCell(s: HistoryRow): string {
  const failed = s.failedSteps.length === 0 ? '' : `, failed: ${s.failedSteps.map((id) => code(id, { inTable: true })).join(', ')}`;
  return `${s.status === 'failed' ? 'ended with a failed step' : s.status}${failed}`;
}

function signed(ms: number): string {
  if (Math.abs(ms) < 1000) return 'same';
  return `${ms < 0 ? '−' : '+'}${formatDuration(Math.abs(ms))}`;
}
