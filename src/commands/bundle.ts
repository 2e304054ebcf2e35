import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DEFAULT_OUTPUT, INDEX, SINGLE_FILE, SUMS } from '../core/bundle/layout.js';
import { checkReport, describeChanges, type ParsedSums } from '../core/bundle/sums.js';
import { DrbookError, ExitCode } from '../core/errors.js';
import { formatProblem } from '../core/model.js';
import { duplicateIdProblems } from '../core/runbook-id.js';
import { plural } from '../core/plural.js';
import { visible } from '../core/visible.js';
import { calledScriptProblems } from '../adapters/bundle-scripts.js';
import { buildAndPublish, bundleDestination, leftoversOf } from '../adapters/bundle-publish.js';
import { describeRoots, planBundle, type BundlePlan } from '../adapters/bundle-sources.js';
import { bundleFiles, hashOrReason, readSumsFile, writeBundleTree, type BundleContent } from '../adapters/bundle-tree.js';
import { displayPath } from '../adapters/file-text.js';
import { loadRunbookFiles, runbookFilesIn, runbooksDir } from '../adapters/runbook-files.js';
import type { SingleFileResult } from '../adapters/single-file.js';

export interface BundleOptions {
  output?: string;
  dir?: string;
  check?: string;
  /** Docs and scripts must resolve inside the runbooks directory or this (default: its parent). */
  docsRoot?: string;
}

/**
 * `drbook bundle`: an offline copy to recover from when the wiki, the git server or the
 * whole data centre is gone. `--check DIR` verifies one.
 */
export async function runBundle(options: BundleOptions): Promise<number> {
  if (options.check !== undefined) {
    if (options.output !== undefined) throw new DrbookError('--check DIR verifies an existing bundle: give it without -o', ExitCode.usage);
    return checkBundle(options.check);
  }
  const named = resolve(options.output ?? DEFAULT_OUTPUT);
  const out = bundleDestination(named);
  const dir = runbooksDir(options.dir);
  const files = runbookFilesIn(dir);
  if (files.length === 0) throw new DrbookError(`no runbook files (*.yml, *.yaml) in ${displayPath(dir)}: nothing to bundle`, ExitCode.usage);
  const unchanged = () => `nothing was written${existsSync(out) ? ` and ${displayPath(out)} is unchanged` : ''}`;

  // Every runbook is checked before anything is written: a bundle is what the operator
  // trusts when nothing else is left, so it never carries a runbook that would not load.
  const loads = (await loadRunbookFiles(files)).map((load, i) => ({ file: resolve(files[i]!), load }));
  for (const { load } of loads) for (const problem of load.problems) process.stderr.write(formatProblem(problem) + '\n');
  const invalid = loads.filter(({ load }) => !load.runbook);
  if (invalid.length > 0) {
    const errors = invalid.reduce((n, { load }) => n + load.problems.filter((p) => p.severity === 'error').length, 0);
    throw new DrbookError(
      `refusing to bundle: ${invalid.length} of ${plural(files.length, 'runbook')} invalid (${plural(errors, 'error')} above); ${unchanged()}`,
      ExitCode.failed,
    );
  }

  // The bundle's drbook.mjs finds runbooks by id as drbook does: two files with one id
  // would leave `node drbook.mjs run ID` refusing to choose when nothing else is left.
  const duplicates = duplicateIdProblems(loads.flatMap(({ load }) => (load.idAt ? [load.idAt] : [])));
  if (duplicates.length > 0) {
    for (const problem of duplicates) process.stderr.write(formatProblem(problem) + '\n');
    throw new DrbookError(
      `refusing to bundle: ${plural(duplicates.length, 'runbook')} above share an id (drbook run ID could not choose); ${unchanged()}`,
      ExitCode.failed,
    );
  }

  // What will be copied is decided, and refused if it leads outside, before anything is written.
  const plan = planBundle(
    loads.map((l) => l.file),
    dir,
    options.docsRoot,
    out,
  );
  if (plan.problems.length > 0) {
    for (const problem of plan.problems) process.stderr.write(visible(problem) + '\n');
    const outside = plan.problems.length - plan.clashes;
    const why = [
      ...(outside > 0
        ? [`${plural(outside, 'file')} above cannot be bundled (only files inside ${describeRoots(plan.roots)} are; --docs-root DIR sets that root)`]
        : []),
      ...(plan.clashes > 0 ? [`${plural(plan.clashes, 'pair')} of names above would be one file on the stick`] : []),
    ];
    throw new DrbookError(`refusing to bundle: ${why.join('; ')}; ${unchanged()}`, ExitCode.failed);
  }

  const { notes, made } = await buildAndPublish(out, async (tmp) => {
    const previous = existsSync(join(out, SUMS)) ? readSumsFile(join(out, SUMS)).entries : undefined;
    return { previous, content: await writeBundleTree(tmp, plan, new Date()) };
  });
  const missing = await calledScriptProblems(out);
  // File names come from the runbooks and docs trees: shown as text.
  if (out !== named) notes.unshift(`${displayPath(named)} is a symlink: the bundle is written where it leads, ${displayPath(out)} (the link stays)`);
  process.stdout.write(visible([...notes, ...summary(out, plan, made.content, made.previous, missing)].join('\n')) + '\n');
  return ExitCode.ok;
}

/** Every file named, so a credentials file lying beside the runbooks does not travel unnoticed. */
function summary(out: string, plan: BundlePlan, made: BundleContent, previous: ParsedSums['entries'] | undefined, missingScripts: string[]): string[] {
  const shown = displayPath(out);
  const lines = [
    `bundled ${plural(made.runbooks, 'runbook')}, ${plural(made.docs.length, 'doc')} and ${plural(made.companions.length, 'script')} or other file${made.companions.length === 1 ? '' : 's'} of the runbooks directory into ${shown}/ (${describeSource(made.single)})`,
  ];
  for (const doc of made.docs)
    lines.push(`  doc     docs/${doc.name}  from ${displayPath(doc.path)}${doc.viaSymlink ? ` (a symlink: the content of ${displayPath(doc.real)})` : ''}`);
  for (const c of made.companions)
    lines.push(`  file    runbooks/${c.rel}${c.viaSymlink ? `  (through a symlink: the content of ${displayPath(c.real)})` : ''}`);
  for (const name of plan.companions.skipped) lines.push(`  not copied: runbooks/${name} (not a regular file)`);
  for (const problem of missingScripts) lines.push(`  warning: ${problem}`);
  if (previous) lines.push(`  updated the previous bundle: ${describeChanges(previous, made.sums)}`);
  if (made.urls > 0) lines.push(`  not in the bundle: ${plural(made.urls, 'external URL')}, listed at the end of ${INDEX}`);
  lines.push(`use it with only Node.js:  node ${shown}/${SINGLE_FILE} list`);
  lines.push(`check it:                  (cd ${shown} && sha256sum -c ${SUMS})  or  drbook bundle --check ${shown}`);
  return lines;
}

function describeSource(single: SingleFileResult): string {
  switch (single.source) {
    case 'self':
      return `${SINGLE_FILE} copied from the running ${displayPath(single.from)}`;
    case 'esbuild':
      return `${SINGLE_FILE} built with esbuild from ${displayPath(single.from)}`;
    case 'prebuilt':
      return `${SINGLE_FILE} copied from the prebuilt ${displayPath(single.from)}`;
  }
}

/** `drbook bundle --check DIR`: does the bundle still hold what it was made with? */
async function checkBundle(dirArg: string): Promise<number> {
  const dir = resolve(dirArg);
  const shown = displayPath(dir);
  if (!existsSync(dir)) {
    const old = leftoversOf(dir).find((l) => l.kind === 'old');
    const interrupted = old
      ? `; ${displayPath(old.path)} holds the previous bundle: a bundle stopped between its two renames (run drbook bundle -o ${shown} again to repair it)`
      : '';
    throw new DrbookError(`${shown} does not exist${interrupted}`, ExitCode.usage);
  }
  const sumsFile = join(dir, SUMS);
  if (!existsSync(sumsFile)) throw new DrbookError(`${shown} has no ${SUMS}: not a drbook bundle (make one with drbook bundle -o ${shown})`, ExitCode.usage);
  const report = checkReport({
    sums: readSumsFile(sumsFile),
    hashOf: (name) => hashOrReason(join(dir, ...name.split('/'))),
    files: bundleFiles(dir),
    scripts: await calledScriptProblems(dir),
    shown,
  });
  process.stdout.write(visible(report.lines.join('\n')) + '\n');
  return report.ok ? ExitCode.ok : ExitCode.failed;
}
