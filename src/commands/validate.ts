import { statSync } from 'node:fs';
import { ExitCode } from '../core/errors.js';
import { formatFeatures } from '../core/format-version.js';
import { formatProblem, type Problem } from '../core/model.js';
import { duplicateIdProblems } from '../core/runbook-id.js';
import { visible, visibleJson } from '../core/visible.js';
import { displayPath } from '../adapters/file-text.js';
import { loadRunbookFiles, runbookFilesIn, runbooksDir } from '../adapters/runbook-files.js';

export interface ValidateOptions {
  json?: boolean;
  dir?: string;
}

interface FileReport {
  file: string;
  id?: string;
  title?: string;
  steps?: number;
  valid: boolean;
  errors: number;
  warnings: number;
  /** Only for a runbook that uses format 1.1 fields: '1.1' and the fields. */
  format?: '1.1';
  uses?: string[];
}

export async function runValidate(paths: string[], options: ValidateOptions): Promise<number> {
  const targets = paths.length > 0 ? paths : [runbooksDir(options.dir)];
  const problems: Problem[] = [];
  const files: FileReport[] = [];
  let inputError = false;
  let missing = 0;

  // Every file first, so that the commands of all of them are checked by one shell.
  const groups = targets.map((target) => {
    try {
      const isDir = statSync(target).isDirectory();
      return { target, isDir, list: isDir ? runbookFilesIn(target) : [target] };
    } catch {
      return { target, isDir: false, list: [] as string[], missing: true };
    }
  });
  const all = await loadRunbookFiles(groups.flatMap((g) => g.list));
  let next = 0;
  for (const { target, isDir, list, missing: notFound } of groups) {
    if (notFound) {
      inputError = true;
      missing++;
      problems.push({ file: displayPath(target), line: 1, col: 1, severity: 'error', message: 'no such file or directory' });
      continue;
    }
    if (isDir && list.length === 0) {
      problems.push({ file: displayPath(target), line: 1, col: 1, severity: 'warning', message: 'no runbook files (*.yml, *.yaml) in this directory' });
    }
    const loads = all.slice(next, next + list.length);
    next += list.length;
    // In a directory, `drbook run ID` must find one runbook per id.
    const duplicates = isDir ? duplicateIdProblems(loads.flatMap((l) => (l.idAt ? [l.idAt] : []))) : [];
    for (const loaded of loads) {
      const own = [...loaded.problems, ...duplicates.filter((p) => p.file === loaded.file)];
      if (loaded.unreadable) inputError = true;
      // A loop, not push(...): a file can hold more problems than a call has room for arguments.
      for (const problem of own) problems.push(problem);
      const errors = own.filter((p) => p.severity === 'error').length;
      const report: FileReport = { file: loaded.file, valid: errors === 0, errors, warnings: own.length - errors };
      if (loaded.runbook) Object.assign(report, { id: loaded.runbook.id, title: loaded.runbook.title, steps: loaded.runbook.steps.length });
      const uses = loaded.runbook ? formatFeatures(loaded.runbook) : [];
      if (uses.length > 0) Object.assign(report, { format: '1.1', uses });
      files.push(report);
    }
  }

  const errorCount = problems.filter((p) => p.severity === 'error').length;
  const exitCode = inputError ? ExitCode.usage : errorCount > 0 ? ExitCode.failed : ExitCode.ok;
  if (options.json) {
    process.stdout.write(visibleJson(JSON.stringify({ ok: exitCode === 0, files, problems }, null, 2)) + '\n');
    return exitCode;
  }
  for (const problem of problems) process.stdout.write(formatProblem(problem) + '\n');
  const invalid = files.filter((f) => !f.valid).length;
  const warnings = problems.length - errorCount;
  // The errors of the runbooks checked; a path not found is counted apart.
  const fileErrors = errorCount - missing;
  const summary =
    `${files.length} runbook${files.length === 1 ? '' : 's'} checked: ` +
    (files.length === 0 ? 'none' : invalid === 0 ? 'all valid' : `${invalid} invalid`) +
    ` (${fileErrors} error${fileErrors === 1 ? '' : 's'}, ${warnings} warning${warnings === 1 ? '' : 's'})` +
    (missing > 0 ? `; ${missing} path${missing === 1 ? '' : 's'} not found` : '');
  process.stderr.write(summary + '\n');
  // Older drbooks refuse 1.1 fields as unknown: say which runbooks need 1.1, and why.
  for (const f of files)
    if (f.format)
      process.stderr.write(`${visible(f.file)}: format 1.1 (${(f.uses ?? []).join(', ')}): a drbook that reads only format 1 refuses these fields\n`);
  return exitCode;
}
