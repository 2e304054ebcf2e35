import type { ExportReport } from './report.js';
import type { DrillHistory } from './history.js';

/**
 * The report as JSON: the data structure itself, documented in docs/export.md. Two-space
 * indentation because people read these too, and diffs of two exports stay legible.
 */
export function renderJson(report: ExportReport | DrillHistory): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}
