/**
 * The incident's key times: milestones, the durations between them, and the data-loss
 * window against the RPO. Pure: from the analysis of the journal's events.
 */
import { parseDuration } from '../duration.js';
import type { JournalEvent, MilestoneName } from '../journal-events.js';
import { MILESTONE_LABELS, MILESTONES, outOfOrder } from '../milestones.js';
import type { Instant } from './report.js';
import type { Analysis } from './summary.js';

export interface MilestoneItem {
  name: MilestoneName;
  label: string;
  at: Instant;
  /** When it was recorded, when later than it happened (backdated with --at). */
  recordedAt: Instant | null;
  /** `mark`: drbook mark; `step`: the step carrying `milestone:` was done. */
  source: 'mark' | 'step';
  backdated: boolean;
  step: string | null;
  text: string | null;
  by: string;
  /** Earlier marks of this milestone that this one replaced. */
  replaces: number;
}

export interface KeyTimes {
  /** In milestone order; only the ones marked. */
  milestones: MilestoneItem[];
  /** Pairs whose times contradict their order, e.g. `detected (…) is before impact-started (…)`. */
  outOfOrder: string[];
  /** detected − impact started; null when either is missing. */
  timeToDetectMs: number | null;
  /** mitigated − impact started. */
  timeToMitigateMs: number | null;
  /** resolved − impact started. */
  timeToResolveMs: number | null;
}

export interface RecoveryPointCheck {
  /** The runbook's rpo as written, null when none. */
  target: string | null;
  targetMs: number | null;
  /** The var named by recovery_point. */
  variable: string;
  /** Its value as journaled, null if never set (or a rehearsal placeholder). */
  value: string | null;
  /** The recovery point as a time; null when the value is missing or not a time. */
  at: Instant | null;
  /** What the loss is counted up to: the impact-started milestone, else the session's start. */
  until: 'impact-started' | 'session-start';
  untilAt: Instant;
  /** Data written in this window is lost: recovery point → impact started. */
  lossMs: number | null;
  /** true: within the RPO; false: over it; null: unknown (no value, or no rpo). */
  met: boolean | null;
  /** Why the check could not be made, for the reader. */
  problem: string | null;
}

export function keyTimes(analysis: Analysis, instant: (iso: string) => Instant, clean: (text: string) => string): KeyTimes {
  const marks = analysis.milestones;
  const milestones: MilestoneItem[] = [];
  for (const name of MILESTONES) {
    const m = marks.get(name);
    if (m === undefined) continue;
    milestones.push({
      name,
      label: MILESTONE_LABELS[name],
      at: instant(m.at),
      recordedAt: m.backdated ? instant(m.recordedAt) : null,
      source: m.source,
      backdated: m.backdated,
      step: m.step,
      text: m.text === null ? null : clean(m.text),
      by: clean(m.by),
      replaces: m.replaces,
    });
  }
  const impact = marks.get('impact-started');
  const since = (name: MilestoneName): number | null => {
    const m = marks.get(name);
    return impact === undefined || m === undefined ? null : Date.parse(m.at) - Date.parse(impact.at);
  };
  return {
    milestones,
    outOfOrder: outOfOrder(marks),
    timeToDetectMs: since('detected'),
    timeToMitigateMs: since('mitigated'),
    timeToResolveMs: since('resolved'),
  };
}

/** ISO 8601 with a date and a time (a zone or Z): a value such as `2021-03-10T01:00:00+01:00`. */
const ISO_TIME = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?$/;

export function recoveryPoint(analysis: Analysis, events: readonly JournalEvent[], instant: (iso: string) => Instant): RecoveryPointCheck | null {
  const { rpo, recoveryPoint: variable } = analysis.started.runbook;
  if (variable === undefined) return null;
  let value: string | null = null;
  let secret = false;
  for (const e of events) {
    if (e.type === 'var.set' && e.name === variable) {
      value = e.value;
      secret = e.secret === true;
      if (e.source === 'placeholder') value = null;
    }
  }
  const targetMs = rpo === undefined ? null : (parseDuration(rpo) ?? null);
  const impact = analysis.milestones.get('impact-started');
  const untilIso = impact?.at ?? analysis.firstTs;
  const base = {
    target: rpo ?? null,
    targetMs,
    variable,
    value: secret ? '***' : value,
    until: impact === undefined ? ('session-start' as const) : ('impact-started' as const),
    untilAt: instant(untilIso),
  };
  const trimmed = value?.trim() ?? '';
  if (value === null || secret) {
    return {
      ...base,
      at: null,
      lossMs: null,
      met: null,
      problem: secret ? `${variable} is a secret: its value is not in the journal` : `${variable} was never set in this session`,
    };
  }
  // A bare local time (no zone) is read as UTC: say so rather than guess the host's zone.
  const parsed = ISO_TIME.test(trimmed)
    ? Date.parse(/(?:Z|[+-]\d{2}:?\d{2})$/.test(trimmed) ? trimmed.replace(' ', 'T') : `${trimmed.replace(' ', 'T')}Z`)
    : NaN;
  if (!Number.isFinite(parsed)) return { ...base, at: null, lossMs: null, met: null, problem: `${variable} is not an ISO time (e.g. 2021-03-10T01:00:00Z)` };
  const lossMs = Date.parse(untilIso) - parsed;
  return {
    ...base,
    at: instant(new Date(parsed).toISOString()),
    lossMs,
    met: targetMs === null ? null : lossMs <= targetMs,
    problem: lossMs < 0 ? 'the recovery point is after the impact started: check the value' : null,
  };
}
