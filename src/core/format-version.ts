import type { Runbook } from './model.js';

/**
 * Format 1.1 keeps the `drbook: 1` header: its fields are all optional additions. A runbook
 * that uses one says so through `drbook validate` ("format 1.1 (until, undo)", and
 * `format`/`uses` in --json), so its author knows an older drbook will refuse those fields
 * as unknown. The lists name every 1.1 field, including those other parts of drbook add.
 */
const FORMAT_1_1_RUNBOOK_FIELDS = ['rpo', 'recovery_point', 'notify'] as const;
const FORMAT_1_1_STEP_FIELDS = ['until', 'undo', 'milestone', 'idempotent'] as const;

/** The 1.1 fields a runbook uses, in the order of the lists above; empty for plain format 1. */
export function formatFeatures(runbook: Pick<Runbook, 'steps'>): string[] {
  const used = new Set<string>();
  const top = runbook as unknown as Record<string, unknown>;
  for (const field of FORMAT_1_1_RUNBOOK_FIELDS) if (top[field] !== undefined) used.add(field);
  for (const step of runbook.steps) {
    const fields = step as unknown as Record<string, unknown>;
    for (const field of FORMAT_1_1_STEP_FIELDS) if (fields[field] !== undefined) used.add(field);
  }
  return [...FORMAT_1_1_RUNBOOK_FIELDS, ...FORMAT_1_1_STEP_FIELDS].filter((f) => used.has(f));
}
