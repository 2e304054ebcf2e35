/**
 * The steps as a mermaid `gantt` chart (GitHub and GitLab render ```mermaid blocks), with the
 * incident milestones as markers. Beyond MAX_BARS steps, consecutive steps share a bar so
 * the picture stays readable; the steps table keeps every step.
 */
import type { ExportReport, StepRow } from './report.js';

/** More bars than this and a chart is a wall of labels: steps are grouped. */
export const MAX_BARS = 40;

export interface Gantt {
  /** The mermaid source, without the fence. */
  source: string;
  /** A sentence for the reader when steps were grouped or left out, else null. */
  note: string | null;
}

export function buildGantt(r: ExportReport): Gantt | null {
  const timed = r.stepRows.filter((row) => row.start !== null && !(row.outcome === 'skipped' && (row.durationMs ?? 0) === 0));
  if (timed.length === 0 && r.keyTimes.milestones.length === 0) return null;
  // No `title` line: the section heading above the block says what it is (and mermaid's title
  // goes through a sanitiser that needs a browser's DOM, so the test could not parse it).
  const lines = ['gantt', '  dateFormat YYYY-MM-DD HH:mm:ss', '  axisFormat %H:%M'];
  let note: string | null = null;
  if (timed.length > 0) {
    lines.push('  section Steps');
    const per = Math.ceil(timed.length / MAX_BARS);
    if (per > 1) note = `${timed.length} steps, grouped ${per} to a bar to stay readable; a red bar holds a failed step. The steps table has each one.`;
    for (let i = 0; i < timed.length; i += per) {
      const group = timed.slice(i, i + per);
      const first = group[0]!;
      const last = group[group.length - 1]!;
      const name = group.length === 1 ? `${first.position ?? '?'}. ${first.title}` : `Steps ${first.position ?? '?'}–${last.position ?? '?'}`;
      const tags = [...(group.some((g) => g.outcome === 'failed') ? ['crit'] : []), ...(group.every((g) => g.outcome !== null) ? ['done'] : ['active'])];
      lines.push(`  ${label(name)} :${tags.join(', ')}, s${i + 1}, ${time(first.start!.local)}, ${time(endOf(last))}`);
    }
  }
  if (r.keyTimes.milestones.length > 0) {
    lines.push('  section Milestones');
    r.keyTimes.milestones.forEach((m, i) => lines.push(`  ${label(m.label)} :milestone, m${i + 1}, ${time(m.at.local)}, 0s`));
  }
  return { source: lines.join('\n'), note };
}

/** A bar ends when its outcome was recorded; a bar of 0 s is drawn one second long. */
function endOf(row: StepRow): string {
  const start = Date.parse(`${row.start!.local.replace(' ', 'T')}Z`);
  const end = row.end === null ? start : Date.parse(`${row.end.local.replace(' ', 'T')}Z`);
  const shown = Math.max(end, start + 1000);
  return new Date(shown).toISOString().slice(0, 19).replace('T', ' ');
}

function time(local: string): string {
  return local.slice(0, 19);
}

/**
 * A task name may not hold what the gantt grammar reads as syntax: `:` ends the name, `#`
 * and `;` start an entity or end a statement, `%%` a comment; a newline ends the line.
 */
export function label(text: string): string {
  const flat = text
    .replace(/[\r\n\t]+/g, ' ')
    .replace(/[:;#%`<>{}[\]"]/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  const cut = flat.length > 60 ? `${flat.slice(0, 59).trimEnd()}…` : flat;
  return cut === '' ? 'step' : cut;
}
