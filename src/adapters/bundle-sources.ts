/**
 * What `drbook bundle` may copy, decided before anything is written: every doc and every
 * file beside the runbooks must resolve, after symlinks, inside the runbooks directory or
 * the docs root (by default the runbooks directory's parent). A doc path such as
 * `../../../etc/passwd`, `/etc/shadow` or a symlink to it is refused, named.
 */
import { existsSync, lstatSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { parseDocument } from 'yaml';
import { docPathNodes, lineCol } from '../core/bundle/doc-paths.js';
import { isLeftoverName, SINGLE_FILE, SUMS } from '../core/bundle/layout.js';
import { nameClashes } from '../core/bundle/name-clash.js';
import { DrbookError, ExitCode } from '../core/errors.js';
import { resolveDocPath } from '../core/runbook-loader.js';
import { displayPath, errnoText } from './file-text.js';

export interface BundleRoots {
  /** Real paths (symlinks resolved). */
  runbooks: string;
  docsRoot: string;
}

export function bundleRoots(runbooksDir: string, docsRoot: string | undefined): BundleRoots {
  const runbooks = realpathSync(runbooksDir);
  // The parent of the directory as named: doc paths such as ../docs/x.md are read from there,
  // also when the runbooks directory itself is a symlink to elsewhere.
  const root = docsRoot === undefined ? resolve(runbooksDir, '..') : resolve(docsRoot);
  return { runbooks, docsRoot: realpathSync(root) };
}

function isInside(path: string, dir: string): boolean {
  const rel = relative(dir, path);
  return rel === '' || (!rel.startsWith('..' + sep) && rel !== '..' && !rel.startsWith(sep) && !/^[A-Za-z]:/.test(rel));
}

export function allowed(real: string, roots: BundleRoots): boolean {
  return isInside(real, roots.runbooks) || isInside(real, roots.docsRoot);
}

export function describeRoots(roots: BundleRoots): string {
  return roots.docsRoot === roots.runbooks || isInside(roots.runbooks, roots.docsRoot)
    ? `the docs root ${roots.docsRoot}`
    : `the runbooks directory ${roots.runbooks} or the docs root ${roots.docsRoot}`;
}

export interface ResolvedSource {
  /** The path as named (a doc path, or the entry in the runbooks directory). */
  path: string;
  /** Where it leads after every symlink. */
  real: string;
  /** The path itself, or one of its parents, is a symlink: its target's content is copied. */
  viaSymlink: boolean;
  /** Permission bits of the file copied (the target's), kept in the bundle. */
  mode: number;
}

/** Resolves a doc file; returns the reason it cannot be bundled instead when it cannot. */
export function resolveDoc(path: string, roots: BundleRoots): ResolvedSource | string {
  let real: string;
  try {
    real = realpathSync(path);
  } catch (error) {
    return `cannot read it: ${errnoText(error)}`;
  }
  if (!allowed(real, roots)) return `it resolves to ${real}, outside ${describeRoots(roots)}; only files there are bundled (--docs-root DIR widens it)`;
  let stat;
  try {
    stat = statSync(real);
  } catch (error) {
    return `cannot read it: ${errnoText(error)}`;
  }
  // Copying a linked directory could pull in a whole tree (or the bundle itself).
  if (!stat.isFile()) return 'it is not a file: link a file (an index page) so the bundle can copy it';
  let linked = false;
  try {
    linked = lstatSync(path).isSymbolicLink();
  } catch {
    // realpath just found it; a race here only loses the word "symlink" in the summary.
  }
  return { path, real, viaSymlink: linked, mode: stat.mode & 0o777 };
}

export interface Companion extends ResolvedSource {
  /** Relative to the runbooks directory, with `/`. */
  rel: string;
}

export interface CompanionPlan {
  files: Companion[];
  /** Entries that lead outside or nowhere, each with why. */
  refused: { name: string; reason: string }[];
  /** Special files (FIFOs, sockets, devices) not copied. */
  skipped: string[];
}

/**
 * The other files of the runbooks directory (the scripts steps call), to copy beside the
 * bundled runbooks. A symlink is followed when it stays inside the allowed roots, and the
 * file it leads to is copied as content; a symlinked directory is walked once (never in a
 * loop). Hidden entries, node_modules, bundles and `excluded` real paths are left out.
 */
export function planCompanions(sourceDir: string, roots: BundleRoots, excluded: (real: string, path: string) => boolean): CompanionPlan {
  const plan: CompanionPlan = { files: [], refused: [], skipped: [] };
  const walk = (dir: string, rel: string, viaSymlink: boolean, seen: ReadonlySet<string>): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      if (entry.name.startsWith('.') || entry.name === 'node_modules') continue;
      const path = join(dir, entry.name);
      const name = `${rel}${entry.name}`;
      let real: string;
      try {
        real = realpathSync(path);
      } catch (error) {
        plan.refused.push({ name, reason: `a symlink that leads nowhere (${errnoText(error)}): fix or remove it` });
        continue;
      }
      const linked = viaSymlink || entry.isSymbolicLink();
      if (!allowed(real, roots)) {
        plan.refused.push({ name, reason: `a symlink to ${real}, outside ${describeRoots(roots)}` });
        continue;
      }
      if (excluded(real, path)) continue;
      let stat;
      try {
        stat = entry.isSymbolicLink() ? statSync(path) : lstatSync(path);
      } catch (error) {
        plan.refused.push({ name, reason: errnoText(error) });
        continue;
      }
      if (stat.isDirectory()) {
        if (seen.has(real)) continue;
        walk(path, `${name}/`, linked, new Set([...seen, real]));
      } else if (stat.isFile()) {
        plan.files.push({ rel: name, path, real, viaSymlink: linked, mode: stat.mode & 0o777 });
      } else {
        plan.skipped.push(name);
      }
    }
  };
  const start = realpathSync(sourceDir);
  walk(start, '', false, new Set([start]));
  return plan;
}

export interface BundleSource {
  file: string;
  text: string;
  mode: number;
}

export interface BundlePlan {
  sourceDir: string;
  roots: BundleRoots;
  sources: BundleSource[];
  /** Each doc path a runbook names (absolute, without its anchor), resolved. */
  docs: Map<string, ResolvedSource>;
  companions: CompanionPlan;
  /** One line per doc or file that cannot be bundled, with where it is named: nothing may be written then. */
  problems: string[];
  /** How many of the problems are two names a stick cannot tell apart (the rest lead outside or nowhere). */
  clashes: number;
}

/**
 * Reads every runbook and resolves every doc and companion file, before anything is
 * written. A doc or a symlink that leads outside the runbooks directory and the docs root is
 * a problem naming it (all of them are listed). `out` and anything that is a bundle or a
 * bundle's leftover are never companions, so a bundle made inside the runbooks directory
 * does not copy itself.
 */
export function planBundle(files: string[], sourceDir: string, docsRootOption: string | undefined, out: string): BundlePlan {
  let roots: BundleRoots;
  try {
    roots = bundleRoots(sourceDir, docsRootOption);
  } catch (error) {
    throw new DrbookError(`the docs root ${displayPath(docsRootOption ?? resolve(sourceDir, '..'))}: ${errnoText(error)}`, ExitCode.usage);
  }
  const problems: string[] = [];
  const docs = new Map<string, ResolvedSource>();
  const sources = files.map((file) => {
    const text = readFileSync(file, 'utf8');
    for (const node of docPathNodes(parseDocument(text))) {
      const value = String(node.value);
      const ref = resolveDocPath(file, value);
      if (docs.has(ref.path)) continue;
      const resolved = resolveDoc(ref.path, roots);
      if (typeof resolved === 'string')
        problems.push(`${displayPath(file)}:${lineCol(text, node.range?.[0] ?? 0)}: error: the doc ${JSON.stringify(value)} cannot be bundled: ${resolved}`);
      else docs.set(ref.path, resolved);
    }
    return { file, text, mode: statSync(file).mode & 0o777 };
  });
  // Only the runbooks themselves are left out (they are bundled as runbooks). A doc that
  // lives in the runbooks directory is copied there too: it may also be a script a step
  // runs, and a file left out silently is one the summary does not name.
  const top = realpathSync(sourceDir);
  const runbookNames = new Set(files.map((f) => basename(f)));
  const excluded = (real: string, path: string) =>
    (dirname(path) === top && runbookNames.has(basename(path))) || real === out || resolve(path) === out || isLeftoverName(basename(path)) || isBundleDir(path);
  const companions = planCompanions(sourceDir, roots, excluded);
  for (const { name, reason } of companions.refused) problems.push(`${displayPath(join(sourceDir, name))}: error: cannot be bundled: ${reason}`);
  // Runbooks and scripts keep their names (steps call scripts by path): two that a stick
  // cannot tell apart are refused, not renamed.
  const underRunbooks = new Map<string, string>([
    ...files.map((f): [string, string] => [basename(f), f]),
    ...companions.files.map((c): [string, string] => [c.rel, c.path]),
  ]);
  const clashes = nameClashes([...underRunbooks.keys()]);
  for (const [a, b] of clashes) {
    problems.push(
      `${displayPath(underRunbooks.get(a)!)} and ${displayPath(underRunbooks.get(b)!)}: error: cannot both be bundled: runbooks/${a} and runbooks/${b} ${howAlike(a, b)}, one name on a FAT, exFAT or APFS stick: rename one`,
    );
  }
  return { sourceDir, roots, sources, docs, companions, problems, clashes: clashes.length };
}

/** Why two names a stick takes for one look alike (NFC and NFD print the same). */
function howAlike(a: string, b: string): string {
  if (a.normalize('NFC') === b.normalize('NFC')) return 'differ only in Unicode normalization (one is NFC, the other NFD, as macOS writes names)';
  if (a.toLowerCase() === b.toLowerCase()) return 'differ only in letter case';
  return 'differ only in letter case and Unicode normalization';
}

function isBundleDir(dir: string): boolean {
  return existsSync(join(dir, SUMS)) && existsSync(join(dir, SINGLE_FILE));
}
