/**
 * `bundle --check` and `bundle` itself: every local script a step calls must be in the
 * bundle, or `run` from the bundle fails with 127 while the checksums say OK.
 */
import { existsSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { calledScripts } from '../core/called-scripts.js';
import { loadRunbookFiles, runbookFilesIn } from './runbook-files.js';

/**
 * One line per script a step of a bundled runbook calls that the bundle lacks (or holds
 * without its execute bit when run as a command). A path is looked up from the step's
 * `cwd` when it has one, else from the runbook's directory, where the runbooks
 * directory's other files are copied.
 */
export async function calledScriptProblems(bundleDir: string): Promise<string[]> {
  const dir = join(bundleDir, 'runbooks');
  if (!existsSync(dir)) return [];
  const problems: string[] = [];
  for (const { runbook } of await loadRunbookFiles(runbookFilesIn(dir))) {
    if (!runbook) continue;
    const base = dirname(runbook.file);
    const rel = relative(bundleDir, runbook.file);
    for (const step of runbook.steps) {
      if (step.run === undefined) continue;
      // A cwd built from a value is only known while the walk runs.
      if (step.cwd !== undefined && step.cwd.includes('{{')) continue;
      const from = step.cwd === undefined ? base : resolve(base, step.cwd);
      for (const script of calledScripts(step.run)) {
        const path = resolve(from, script.path);
        let mode: number;
        try {
          const stat = statSync(path);
          if (!stat.isFile()) throw new Error('not a file');
          mode = stat.mode;
        } catch {
          problems.push(`missing script: ${rel} step ${step.id} calls ${script.path}, not in the bundle (looked for ${relative(bundleDir, path) || path})`);
          continue;
        }
        if (script.direct && (mode & 0o111) === 0)
          problems.push(
            `not executable: ${rel} step ${step.id} runs ${script.path} (${relative(bundleDir, path)} has mode ${(mode & 0o777).toString(8).padStart(4, '0')})`,
          );
      }
    }
  }
  return problems;
}
