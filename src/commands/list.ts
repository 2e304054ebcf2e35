import { loadRunbookFiles, runbookFilesIn, runbooksDir } from '../adapters/runbook-files.js';
import { makeChalk } from '../adapters/style.js';
import { duplicateIds, fileNameId } from '../core/runbook-id.js';
import { visibleJson, visibleLine } from '../core/visible.js';

export interface ListOptions {
  json?: boolean;
  dir?: string;
}

export async function runList(options: ListOptions): Promise<number> {
  const dir = runbooksDir(options.dir);
  const loads = await loadRunbookFiles(runbookFilesIn(dir));
  const rows = loads.map((loaded) => {
    const errors = loaded.problems.filter((p) => p.severity === 'error');
    const rb = loaded.runbook;
    return {
      // An invalid runbook is still found by the id on its id: line.
      id: rb?.id ?? loaded.idAt?.id ?? fileNameId(loaded.file),
      title: rb?.title ?? '',
      steps: rb?.steps.length ?? null,
      rto: rb?.rto ?? null,
      path: loaded.file,
      valid: errors.length === 0,
      errors: errors.length,
    };
  });
  // Two files with one id: `drbook run ID` refuses, so the list says so where it is read.
  for (const [id, holders] of duplicateIds(loads.flatMap((l) => (l.idAt ? [l.idAt] : []))))
    process.stderr.write(
      visibleLine(
        `warning: ${holders.length} runbooks have the id "${id}" (${holders.map((h) => h.file).join(', ')}): drbook run ${id} refuses to choose; give each an id of its own (drbook validate shows where)`,
      ) + '\n',
    );
  if (options.json) {
    process.stdout.write(visibleJson(JSON.stringify(rows, null, 2)) + '\n');
    return 0;
  }
  if (rows.length === 0) {
    process.stderr.write(`no runbooks in ${dir}\n`);
    return 0;
  }
  const c = makeChalk();
  const table = [
    ['ID', 'TITLE', 'STEPS', 'RTO', 'PATH'],
    ...rows.map((r) => [
      r.id,
      r.valid ? r.title : `INVALID (${r.errors} error${r.errors === 1 ? '' : 's'}: drbook validate ${r.path})`,
      r.steps === null ? '-' : String(r.steps),
      r.rto ?? '-',
      r.path,
    ]),
  ];
  // Titles and paths come from runbook files: shown, never obeyed by the terminal.
  for (const row of table) row.forEach((cell, j) => (row[j] = visibleLine(cell)));
  const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  table.forEach((row, i) => {
    const line = row.map((cell, j) => (j === row.length - 1 ? cell : cell.padEnd(widths[j]!))).join('  ');
    const valid = i === 0 || rows[i - 1]!.valid;
    process.stdout.write((i === 0 ? c.bold(line) : valid ? line : c.red(line)) + '\n');
  });
  return 0;
}
