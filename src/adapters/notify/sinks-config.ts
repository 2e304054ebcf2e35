/**
 * Where a session's sinks come from: the runbook's `notify:` (recorded in the cursor file
 * when the walk starts, so `drbook notify` needs no runbook) and `DRBOOK_HOME/config.yml`,
 * for all runbooks. config.yml problems are `file:line:col` lines like a runbook's.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { checkNotifyList } from '../../core/notify/check.js';
import type { NotifySinkDef } from '../../core/notify/config.js';
import { locate } from '../../core/yaml-positions.js';
import { formatProblem, type Problem } from '../../core/model.js';

export interface SinkSource {
  defs: NotifySinkDef[];
  origin: string;
}

export function configPath(home: string): string {
  return join(home, 'config.yml');
}

/** The sinks of DRBOOK_HOME/config.yml, and its problems as lines to show. No file: none. */
export function readHomeConfig(home: string): { source?: SinkSource; problems: string[]; errors: boolean } {
  const file = configPath(home);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { problems: [], errors: false };
    return { problems: [`${file}:1:1: error: cannot read it: ${(error as Error).message.split('\n')[0]}`], errors: true };
  }
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, logLevel: 'error' });
  const problems: Problem[] = [];
  for (const error of doc.errors) {
    const pos = lines.linePos(error.pos[0]);
    problems.push({ file, line: pos.line, col: pos.col, severity: 'error', message: `YAML: ${error.message.split('\n')[0]}` });
  }
  if (problems.length > 0) return { problems: problems.map(formatProblem), errors: true };
  const data: unknown = doc.toJS();
  if (data === null || data === undefined) return { problems: [], errors: false };
  if (typeof data !== 'object' || Array.isArray(data)) return { problems: [`${file}:1:1: error: config.yml is a mapping (notify: [...])`], errors: true };
  for (const key of Object.keys(data)) {
    if (key !== 'notify') {
      const pos = locate(doc, lines, [key], 'key');
      problems.push({ file, line: pos.line, col: pos.col, severity: 'warning', message: `unknown setting \`${key}\` (known: notify), ignored` });
    }
  }
  const raw = (data as Record<string, unknown>).notify;
  if (raw === undefined) return { problems: problems.map(formatProblem), errors: false };
  const checked = checkNotifyList(raw);
  for (const p of checked.problems) {
    const pos = locate(doc, lines, ['notify', ...p.path], p.target ?? 'value');
    problems.push({ file, line: pos.line, col: pos.col, severity: p.severity, message: p.message });
  }
  problems.sort((a, b) => a.line - b.line || a.col - b.col);
  const errors = problems.some((p) => p.severity === 'error');
  return { ...(checked.sinks && !errors ? { source: { defs: checked.sinks, origin: file } } : {}), problems: problems.map(formatProblem), errors };
}
