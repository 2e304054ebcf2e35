/**
 * The files of a bundle: written into a fresh directory (published afterwards as a whole),
 * listed, and hashed for SHA256SUMS and `bundle --check`.
 */
import { createHash } from 'node:crypto';
import { closeSync, constants, fstatSync, mkdirSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { planDocNames } from '../core/bundle/doc-names.js';
import { rewriteDocPaths } from '../core/bundle/doc-paths.js';
import { localLinks, renderIndex, type BundledRunbook } from '../core/bundle/index-md.js';
import { DIR_MODE, INDEX, SINGLE_FILE, SUMS } from '../core/bundle/layout.js';
import { byCodeUnit, formatSums, parseSums, type HashResult, type ParsedSums } from '../core/bundle/sums.js';
import { DrbookError, ExitCode } from '../core/errors.js';
import { resolveDocPath } from '../core/runbook-loader.js';
import type { BundlePlan, Companion, ResolvedSource } from './bundle-sources.js';
import { syncDir, writeDurable } from './durable-file.js';
import { displayPath, errnoText } from './file-text.js';
import { loadRunbookFiles } from './runbook-files.js';
import { writeSingleFile, type SingleFileResult } from './single-file.js';

export interface BundleContent {
  runbooks: number;
  docs: (ResolvedSource & { name: string })[];
  /** Scripts and other files of the runbooks directory. */
  companions: Companion[];
  /** External URLs the runbooks name, listed in INDEX.md. */
  urls: number;
  single: SingleFileResult;
  /** SHA256SUMS as written: file to sha256. */
  sums: Map<string, string>;
}

/** Writes the whole bundle into `root`, an empty directory, every file fsynced. */
export async function writeBundleTree(root: string, plan: BundlePlan, made: Date): Promise<BundleContent> {
  const names = planDocNames([...plan.docs.keys()]);
  const docLinks: { name: string; targets: string[] }[] = [];
  const docs: BundleContent['docs'] = [];
  for (const [doc, name] of names) {
    const source = plan.docs.get(doc)!;
    const target = join(root, 'docs', ...name.split('/'));
    mkdirSync(dirname(target), { recursive: true, mode: DIR_MODE });
    const bytes = readFileSync(source.real);
    // The source's own mode: a doc readable only by its owner stays so on the stick.
    writeDurable(target, bytes, source.mode);
    docs.push({ ...source, name });
    if (/\.(md|markdown)$/i.test(name)) docLinks.push({ name, targets: localLinks(bytes.toString('utf8')) });
  }

  mkdirSync(join(root, 'runbooks'), { mode: DIR_MODE });
  const bundled: BundledRunbook[] = [];
  const targets: string[] = [];
  for (const source of plan.sources) {
    const text = rewriteDocPaths(source.text, (value) => {
      const ref = resolveDocPath(source.file, value);
      const name = names.get(ref.path);
      if (name === undefined) return undefined;
      return `../docs/${name}${ref.anchor ? `#${ref.anchor}` : ''}`;
    });
    const target = join(root, 'runbooks', basename(source.file));
    writeDurable(target, text, source.mode);
    targets.push(target);
  }
  const loads = await loadRunbookFiles(targets);
  for (const [i, source] of plan.sources.entries()) {
    const load = loads[i]!;
    if (!load.runbook) {
      const first = load.problems.find((p) => p.severity === 'error');
      throw new DrbookError(
        `the bundled copy of ${displayPath(source.file)} does not load after its doc paths were rewritten (${first ? first.message : 'unknown problem'}); please report it`,
        ExitCode.failed,
      );
    }
    bundled.push({ runbook: load.runbook, source: source.file });
  }

  // The scripts steps call (`./scripts/x.sh`, or through `cwd`), beside the bundled
  // runbooks with their modes, so live runs work from the bundle as from the repository.
  for (const c of plan.companions.files) {
    const target = join(root, 'runbooks', ...c.rel.split('/'));
    mkdirSync(dirname(target), { recursive: true, mode: DIR_MODE });
    writeDurable(target, readFileSync(c.real), c.mode);
  }

  const single = await writeSingleFile(join(root, SINGLE_FILE));
  const index = renderIndex(bundled, { root, sourceDir: plan.sourceDir, docs: names.size, made, docLinks });
  writeDurable(join(root, INDEX), index.text);

  const sums = new Map<string, string>();
  for (const rel of bundleFiles(root)) sums.set(rel, sha256File(join(root, rel)));
  writeDurable(join(root, SUMS), formatSums(sums));
  for (const d of [join(root, 'docs'), join(root, 'runbooks'), root]) syncDir(d);
  return { runbooks: bundled.length, docs, companions: plan.companions.files, urls: index.urls, single, sums };
}

/** The files of a bundle, relative with `/`, sorted, without SHA256SUMS itself. */
export function bundleFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string, prefix: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
      if (entry.isDirectory()) walk(join(dir, entry.name), rel);
      else if (rel !== SUMS) out.push(rel);
    }
  };
  walk(root, '');
  return out.sort(byCodeUnit);
}

export function sha256File(file: string): string {
  // Non-blocking and checked on the descriptor: a FIFO left in a bundle must not hang --check.
  const fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    if (!fstatSync(fd).isFile()) throw Object.assign(new Error('not a regular file'), { code: 'ENOTREG' });
    return createHash('sha256').update(readFileSync(fd)).digest('hex');
  } finally {
    closeSync(fd);
  }
}

/** For `--check`: the hash, or why there is none (`missing: undefined` when the file does not exist). */
export function hashOrReason(file: string): HashResult {
  try {
    return { hash: sha256File(file) };
  } catch (error) {
    return { missing: (error as NodeJS.ErrnoException).code === 'ENOENT' ? undefined : errnoText(error) };
  }
}

export function readSumsFile(file: string): ParsedSums {
  try {
    return parseSums(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new DrbookError(`cannot read ${displayPath(file)}: ${errnoText(error)}`, ExitCode.usage);
  }
}
