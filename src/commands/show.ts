import { relative } from 'node:path';
import { DrbookError, ExitCode } from '../core/errors.js';
import { formatProblem } from '../core/model.js';
import { renderRunbookMarkdown, renderRunbookText } from '../core/render-runbook.js';
import { findRunbook } from '../adapters/runbook-files.js';

export interface ShowOptions {
  format?: string;
  dir?: string;
}

export async function runShow(ref: string, options: ShowOptions): Promise<number> {
  const format = options.format ?? 'text';
  if (format !== 'text' && format !== 'md') throw new DrbookError(`--format must be text or md, not "${format}"`, ExitCode.usage);
  const { runbook, warnings } = await findRunbook(ref, options.dir);
  for (const w of warnings) process.stderr.write(formatProblem(w) + '\n');
  if (format === 'md') {
    // Links relative to where the operator stands, so the printed file's links work from there.
    const href = (doc: { path?: string; anchor?: string }) => {
      if (!doc.path) return undefined;
      const rel = relative(process.cwd(), doc.path) || doc.path;
      return doc.anchor ? `${rel}#${doc.anchor}` : rel;
    };
    process.stdout.write(renderRunbookMarkdown(runbook, href));
  } else {
    process.stdout.write(renderRunbookText(runbook) + '\n');
  }
  return 0;
}
