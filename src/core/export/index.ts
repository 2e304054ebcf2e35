/** The post-mortem export: report data, markdown and JSON renderers, drill history. */
export { buildReport, EXPORT_FORMAT, EXPORT_VERSION } from './report.js';
export type { ExportReport, Instant, Moment, ReportOptions, StepRow } from './report.js';
export { renderMarkdown } from './markdown.js';
export { renderJson } from './json.js';
export { buildHistory, renderHistoryMarkdown, HISTORY_FORMAT, HISTORY_VERSION } from './history.js';
export type { DrillHistory, HistoryRow } from './history.js';
export { summarizeDrill, NotASessionError } from './summary.js';
export type { DrillSummary, RtoCheck, SessionStatus, StepCounts } from './summary.js';
export { canonicalTimeZone } from './time-zone.js';
