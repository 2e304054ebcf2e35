/**
 * Incident milestones (impact started, detected, mitigated, resolved): which mark counts and
 * whether they are in order. Used by `drbook mark` to warn and by the export to compute the
 * key times, so both agree.
 */
import type { EventOf, JournalEvent, MilestoneName } from './journal-events.js';
import { MILESTONES } from './runbook-schema.js';

export { MILESTONES };

export const MILESTONE_LABELS: Record<MilestoneName, string> = {
  'impact-started': 'Impact started',
  detected: 'Detected',
  mitigated: 'Mitigated',
  resolved: 'Resolved',
};

export function isMilestone(name: string): name is MilestoneName {
  return (MILESTONES as readonly string[]).includes(name);
}

/** One milestone as it counts: the last mark of its name (a later mark corrects an earlier one). */
export interface MilestoneMark {
  name: MilestoneName;
  /** When it happened: `--at` if given, else when it was recorded. */
  at: string;
  /** When it was written to the journal. */
  recordedAt: string;
  /** `mark`: drbook mark; `step`: a step with `milestone:` was done. */
  source: 'mark' | 'step';
  /** Given with --at: written down later than it happened. */
  backdated: boolean;
  step: string | null;
  text: string | null;
  by: string;
  seq: number;
  /** Earlier marks of the same milestone that this one replaced. */
  replaces: number;
}

export function milestoneMarks(events: readonly JournalEvent[]): Map<MilestoneName, MilestoneMark> {
  const out = new Map<MilestoneName, MilestoneMark>();
  for (const e of events) {
    if (e.type !== 'milestone' || !isMilestone(e.milestone)) continue;
    out.set(e.milestone, milestoneMark(e, out.get(e.milestone)));
  }
  return out;
}

/** A milestone event as a mark, replacing `previous` (the earlier mark of the same name). */
export function milestoneMark(e: EventOf<'milestone'>, previous: MilestoneMark | undefined): MilestoneMark {
  const backdated = e.at !== undefined && Number.isFinite(Date.parse(e.at));
  return {
    name: e.milestone as MilestoneName,
    at: backdated ? new Date(Date.parse(e.at ?? e.ts)).toISOString() : e.ts,
    recordedAt: e.ts,
    source: e.source === 'step' ? 'step' : 'mark',
    backdated,
    step: e.step ?? null,
    text: e.text ?? null,
    by: e.by,
    seq: e.seq,
    replaces: previous === undefined ? 0 : previous.replaces + 1,
  };
}

export function outOfOrder(marks: ReadonlyMap<MilestoneName, Pick<MilestoneMark, 'at'>>): string[] {
  const problems: string[] = [];
  for (let i = 0; i < MILESTONES.length; i++) {
    for (let j = i + 1; j < MILESTONES.length; j++) {
      const early = MILESTONES[i]!;
      const late = MILESTONES[j]!;
      const a = marks.get(early);
      const b = marks.get(late);
      if (a === undefined || b === undefined) continue;
      if (Date.parse(b.at) < Date.parse(a.at)) problems.push(`${late} (${b.at}) is before ${early} (${a.at})`);
    }
  }
  return problems;
}
