import { createHash } from 'node:crypto';
import { closeSync, constants, existsSync, fstatSync, mkdirSync, openSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { isAlias, isMap, isScalar, isSeq, parseDocument, type Document, type Scalar } from 'yaml';
import { DrbookError, ExitCode } from '../core/errors.js';
import { formatProblem, type Runbook } from '../core/model.js';
import { escapeMarkdownInline, renderRunbookMarkdown } from '../core/render-runbook.js';
import { resolveDocPath } from '../core/runbook-loader.js';
import { bundleRoots, describeRoots, planCompanions, resolveDoc, type BundleRoots, type Companion, type CompanionPlan, type ResolvedSource } from '../adapters/bundle-sources.js';
import { calledScriptProblems } from '../adapters/bundle-scripts.js';
import { displayPath, errnoText } from '../adapters/file-text.js';
import { makeDirs } from '../adapters/make-dirs.js';
import { loadRunbookFile, runbookFilesIn, runbooksDir } from '../adapters/runbook-files.js';
import { syncDir, writeDurable } from '../adapters/durable-file.js';
import { writeSingleFile, type SingleFileResult } from '../adapters/single-file.js';
import { VERSION } from '../version.js';

export interface BundleOptions {
  output?: string;
  dir?: string;
  check?: string;
  /** Docs and scripts must resolve inside the runbooks directory or this (default: its parent). */
  docsRoot?: string;
}

const DEFAULT_OUTPUT = 'drbook-bundle';
const SUMS = 'SHA256SUMS';
const INDEX = 'INDEX.md';
const SINGLE_FILE = 'drbook.mjs';

/**
 * `drbook bundle`: an offline copy to recover from when the wiki, the git server or the
 * whole data centre is gone. `--check DIR` verifies one.
 */
export async function runBundle(options: BundleOptions): Promise<number> {
  if (options.check !== undefined) {
    if (options.output !== undefined) throw new DrbookError('--check DIR verifies an existing bundle: give it without -o', ExitCode.usage);
    return checkBundle(options.check);
  }
  const out = resolve(options.output ?? DEFAULT_OUTPUT);
  const dir = runbooksDir(options.dir);
  const files = runbookFilesIn(dir);
  if (files.length === 0) throw new DrbookError(`no runbook files (*.yml, *.yaml) in ${displayPath(dir)}: nothing to bundle`, ExitCode.usage);

  // Every runbook is checked before anything is written: a bundle is what the operator
  // trusts when nothing else is left, so it never carries a runbook that would not load.
  const loads = await Promise.all(files.map(async (file) => ({ file: resolve(file), load: await loadRunbookFile(file) })));
  for (const { load } of loads) for (const problem of load.problems) process.stderr.write(formatProblem(problem) + '\n');
  const invalid = loads.filter(({ load }) => !load.runbook);
  if (invalid.length > 0) {
    const errors = invalid.reduce((n, { load }) => n + load.problems.filter((p) => p.severity === 'error').length, 0);
    throw new DrbookError(
      `refusing to bundle: ${invalid.length} of ${files.length} runbook${files.length === 1 ? '' : 's'} invalid (${errors} error${errors === 1 ? '' : 's'} above); ` +
        `nothing was written${existsSync(out) ? ` and ${displayPath(out)} is unchanged` : ''}`,
      ExitCode.failed,
    );
  }

  // What will be copied is decided, and refused if it leads outside, before anything is written.
  const plan = planBundle(loads.map((l) => l.file), dir, options.docsRoot, out);

  let notes: string[];
  try {
    notes = prepareDestination(out);
  } catch (error) {
    throw cannotWrite(out, error);
  }
  const previous = existsSync(join(out, SUMS)) ? readSums(join(out, SUMS)).entries : undefined;
  const tmp = `${out}.tmp-${process.pid}`;
  let made: BundleContent;
  try {
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp);
    made = await writeBundle(tmp, plan);
    publish(out, tmp);
  } catch (error) {
    try {
      rmSync(tmp, { recursive: true, force: true });
    } catch {
      // A read-only or full file system may refuse even that; the next bundle removes it.
    }
    throw cannotWrite(out, error);
  }

  const shown = displayPath(out);
  const lines = [...notes];
  lines.push(`bundled ${made.runbooks} runbook${made.runbooks === 1 ? '' : 's'}, ${made.docs.length} doc${made.docs.length === 1 ? '' : 's'} and ${made.companions.length} script${made.companions.length === 1 ? '' : 's'} or other file${made.companions.length === 1 ? '' : 's'} of the runbooks directory into ${shown}/ (${describeSource(made.single)})`);
  // Every file named, so a credentials file lying beside the runbooks does not travel unnoticed.
  for (const doc of made.docs) lines.push(`  doc     docs/${doc.name}  from ${displayPath(doc.path)}${doc.viaSymlink ? ` (a symlink: the content of ${displayPath(doc.real)})` : ''}`);
  for (const c of made.companions) lines.push(`  file    runbooks/${c.rel}${c.viaSymlink ? `  (through a symlink: the content of ${displayPath(c.real)})` : ''}`);
  for (const name of plan.companions.skipped) lines.push(`  not copied: runbooks/${name} (not a regular file)`);
  const missing = await calledScriptProblems(out);
  for (const problem of missing) lines.push(`  warning: ${problem}`);
  if (previous) lines.push(`  updated the previous bundle: ${describeChanges(previous, made.sums)}`);
  if (made.urls > 0) lines.push(`  not in the bundle: ${made.urls} external URL${made.urls === 1 ? '' : 's'}, listed at the end of ${INDEX}`);
  lines.push(`use it with only Node.js:  node ${shown}/${SINGLE_FILE} list`);
  lines.push(`check it:                  (cd ${shown} && sha256sum -c ${SUMS})  or  drbook bundle --check ${shown}`);
  process.stdout.write(lines.join('\n') + '\n');
  return ExitCode.ok;
}

interface BundleContent {
  runbooks: number;
  docs: (ResolvedSource & { name: string })[];
  /** Scripts and other files of the runbooks directory. */
  companions: Companion[];
  urls: number;
  single: SingleFileResult;
  sums: Map<string, string>;
}

interface BundlePlan {
  sourceDir: string;
  sources: { file: string; text: string; mode: number; refs: { path: string; anchor?: string }[] }[];
  docs: Map<string, ResolvedSource>;
  companions: CompanionPlan;
}

/**
 * Reads every runbook and resolves every doc and companion file. A doc or a symlink that
 * leads outside the runbooks directory and the docs root is an error naming it: all of them
 * are listed, and nothing is written.
 */
function planBundle(files: string[], sourceDir: string, docsRootOption: string | undefined, out: string): BundlePlan {
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
    const refs: { path: string; anchor?: string }[] = [];
    for (const node of docPathNodes(parseDocument(text))) {
      const value = String(node.value);
      const ref = resolveDocPath(file, value);
      refs.push(ref);
      if (docs.has(ref.path)) continue;
      const resolved = resolveDoc(ref.path, roots);
      if (typeof resolved === 'string') problems.push(`${displayPath(file)}:${position(text, node.range?.[0] ?? 0)}: error: the doc ${JSON.stringify(value)} cannot be bundled: ${resolved}`);
      else docs.set(ref.path, resolved);
    }
    return { file, text, mode: statSync(file).mode & 0o777, refs };
  });
  const bundled = new Set([...files.map((f) => realpathSync(f)), ...[...docs.values()].map((d) => d.real)]);
  const companions = planCompanions(sourceDir, roots, (real, path) => bundled.has(real) || real === out || resolve(path) === out || /\.(tmp|old)-\d+$/.test(basename(path)) || isBundleDir(path));
  for (const { name, reason } of companions.refused) problems.push(`${displayPath(join(sourceDir, name))}: error: cannot be bundled: ${reason}`);
  if (problems.length > 0) {
    for (const problem of problems) process.stderr.write(problem + '\n');
    throw new DrbookError(
      `refusing to bundle: ${problems.length} file${problems.length === 1 ? '' : 's'} above cannot be bundled (only files inside ${describeRoots(roots)} are; --docs-root DIR sets that root); nothing was written${existsSync(out) ? ` and ${displayPath(out)} is unchanged` : ''}`,
      ExitCode.failed,
    );
  }
  return { sourceDir, sources, docs, companions };
}

/** `line:col` (1-based) of an offset in a text. */
function position(text: string, offset: number): string {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return `${line}:${offset - before.lastIndexOf('\n')}`;
}

async function writeBundle(root: string, plan: BundlePlan): Promise<BundleContent> {
  const names = planDocNames([...plan.docs.keys()]);
  const docLinks: { name: string; targets: string[] }[] = [];
  const docs: BundleContent['docs'] = [];
  for (const [doc, name] of names) {
    const source = plan.docs.get(doc)!;
    const target = join(root, 'docs', ...name.split('/'));
    mkdirSync(dirname(target), { recursive: true });
    const bytes = readFileSync(source.real);
    // The source's own mode: a doc readable only by its owner stays so on the stick.
    writeDurable(target, bytes, source.mode);
    docs.push({ ...source, name });
    if (/\.(md|markdown)$/i.test(name)) docLinks.push({ name, targets: localLinks(bytes.toString('utf8')) });
  }

  mkdirSync(join(root, 'runbooks'));
  const bundled: { runbook: Runbook; source: string }[] = [];
  for (const source of plan.sources) {
    const text = rewriteDocPaths(source.text, (value) => {
      const ref = resolveDocPath(source.file, value);
      const name = names.get(ref.path);
      if (name === undefined) return undefined;
      return `../docs/${name}${ref.anchor ? `#${ref.anchor}` : ''}`;
    });
    const target = join(root, 'runbooks', basename(source.file));
    writeDurable(target, text, source.mode);
    const load = await loadRunbookFile(target);
    if (!load.runbook) {
      const first = load.problems.find((p) => p.severity === 'error');
      throw new DrbookError(`the bundled copy of ${displayPath(source.file)} does not load after its doc paths were rewritten (${first ? first.message : 'unknown problem'}); please report it`, ExitCode.failed);
    }
    bundled.push({ runbook: load.runbook, source: source.file });
  }

  // The scripts steps call (`./scripts/x.sh`, or through `cwd`), beside the bundled
  // runbooks with their modes, so live runs work from the bundle as from the repository.
  for (const c of plan.companions.files) {
    const target = join(root, 'runbooks', ...c.rel.split('/'));
    mkdirSync(dirname(target), { recursive: true });
    writeDurable(target, readFileSync(c.real), c.mode);
  }

  const single = await writeSingleFile(join(root, SINGLE_FILE));
  const index = renderIndex(bundled, { root, sourceDir: plan.sourceDir, docs: names.size, made: new Date(), single, docLinks });
  writeDurable(join(root, INDEX), index.text);

  const sums = new Map<string, string>();
  for (const rel of filesUnder(root)) sums.set(rel, sha256File(join(root, rel)));
  writeDurable(join(root, SUMS), [...sums].map(([rel, hash]) => sumsLine(hash, rel)).join(''));
  for (const d of [join(root, 'docs'), join(root, 'runbooks'), root]) syncDir(d);
  return { runbooks: bundled.length, docs, companions: plan.companions.files, urls: index.urls, single, sums };
}

function isBundleDir(dir: string): boolean {
  return existsSync(join(dir, SUMS)) && existsSync(join(dir, SINGLE_FILE));
}

// ---------------------------------------------------------------------------------------
// Doc paths in the YAML: found as nodes, rewritten in place so comments and layout stay.

/** The scalar nodes of every local doc `path:`: top-level `docs:` and inline step docs. */
export function docPathNodes(doc: Document): Scalar[] {
  const found = new Set<Scalar>();
  const deref = (node: unknown): unknown => (isAlias(node) ? node.resolve(doc) : node);
  const pathOf = (link: unknown) => {
    const map = deref(link);
    if (!isMap(map)) return;
    const value = deref(map.get('path', true));
    if (isScalar(value) && typeof value.value === 'string' && value.value !== '') found.add(value);
  };
  const docs = deref(doc.get('docs', true));
  if (isMap(docs)) for (const pair of docs.items) pathOf(pair.value);
  const steps = deref(doc.get('steps', true));
  if (isSeq(steps)) {
    for (const step of steps.items) {
      const map = deref(step);
      const links = isMap(map) ? deref(map.get('docs', true)) : undefined;
      if (isSeq(links)) for (const link of links.items) pathOf(link);
    }
  }
  return [...found];
}

/**
 * Replaces each doc path value with `rename(value)` by editing the text at the node's
 * range: the yaml package's toString() would move comments and reflow the file the
 * operator wrote. `rename` returning undefined leaves the value as it is.
 */
export function rewriteDocPaths(text: string, rename: (value: string) => string | undefined): string {
  const doc = parseDocument(text);
  const edits: { start: number; end: number; replacement: string }[] = [];
  for (const node of docPathNodes(doc)) {
    const next = rename(String(node.value));
    if (next === undefined || next === node.value || !node.range) continue;
    const [start, end] = node.range;
    const original = text.slice(start, end);
    let replacement = scalarText(next, node.type);
    if (node.type === 'BLOCK_LITERAL' || node.type === 'BLOCK_FOLDED') {
      // A block scalar's range runs to its trailing line break: keep the break.
      const trailing = /\n*$/.exec(original)?.[0] ?? '';
      replacement += trailing || '\n';
    }
    edits.push({ start, end, replacement });
  }
  edits.sort((a, b) => b.start - a.start);
  let result = text;
  for (const edit of edits) result = result.slice(0, edit.start) + edit.replacement + result.slice(edit.end);
  return result;
}

/** The value as YAML in the node's own style where that is safe, else double-quoted. */
function scalarText(value: string, type: Scalar['type']): string {
  // Plain only with characters that mean nothing to YAML, in block and flow context alike.
  if (type === 'PLAIN' && /^[A-Za-z0-9_./][A-Za-z0-9_./#%+=~@-]*$/.test(value)) return value;
  if (type === 'QUOTE_SINGLE' && !/[\n\r]/.test(value)) return `'${value.replace(/'/g, "''")}'`;
  // JSON strings are valid YAML double-quoted scalars.
  return JSON.stringify(value);
}

// ---------------------------------------------------------------------------------------
// Doc names in docs/: readable, unique, and safe on the FAT/exFAT of a USB stick.

/**
 * A name under docs/ for each doc file: its own file name when that is unique; when
 * several docs share a name, as many parent directories as tell them apart
 * (`mail/backups.md`, `dns/backups.md`); `-2`, `-3` as a last resort. Names are compared
 * case-insensitively, since the stick may be FAT.
 */
export function planDocNames(paths: string[]): Map<string, string> {
  const segmentsOf = (path: string) => path.split(/[\\/]+/).filter((s) => s !== '').map(safeSegment);
  const groups = new Map<string, string[]>();
  for (const path of paths) {
    const key = (segmentsOf(path).pop() ?? 'doc').toLowerCase();
    groups.set(key, [...(groups.get(key) ?? []), path]);
  }
  const names = new Map<string, string>();
  for (const group of groups.values()) {
    const segs = group.map(segmentsOf);
    const longest = Math.max(...segs.map((s) => s.length));
    let chosen: string[] | undefined;
    for (let depth = 1; depth <= longest; depth++) {
      const candidate = segs.map((s) => s.slice(-depth).join('/'));
      if (new Set(candidate.map((c) => c.toLowerCase())).size === candidate.length) {
        chosen = candidate;
        break;
      }
    }
    group.forEach((path, i) => names.set(path, chosen?.[i] ?? segs[i]!.slice(-1).join('/')));
  }
  // Make every name unique, and never both a file and a directory (`a` and `a/b.md`).
  const taken = new Set<string>();
  const dirs = new Set<string>();
  for (const name of names.values()) {
    const parts = name.toLowerCase().split('/');
    for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join('/'));
  }
  for (const [path, name] of names) {
    let unique = name;
    for (let n = 2; taken.has(unique.toLowerCase()) || dirs.has(unique.toLowerCase()); n++) unique = numbered(name, n);
    taken.add(unique.toLowerCase());
    names.set(path, unique);
  }
  return names;
}

function numbered(name: string, n: number): string {
  const slash = name.lastIndexOf('/');
  const dot = name.lastIndexOf('.');
  return dot > slash + 1 ? `${name.slice(0, dot)}-${n}${name.slice(dot)}` : `${name}-${n}`;
}

/** FAT forbids these; `#` would read as an anchor; `\` and line breaks would need escapes in SHA256SUMS. */
function safeSegment(segment: string): string {
  const cleaned = segment.replace(/[\u0000-\u001f<>:"|?*#\\]/g, '_').replace(/[. ]+$/, '');
  return cleaned === '' || cleaned === '.' || cleaned === '..' ? '_' : cleaned;
}

// ---------------------------------------------------------------------------------------
// INDEX.md: the printable part.

interface IndexContext {
  root: string;
  sourceDir: string;
  docs: number;
  made: Date;
  single: SingleFileResult;
  /** Local files each copied doc links (markdown links and images), which are not copied. */
  docLinks: { name: string; targets: string[] }[];
}

function renderIndex(bundled: { runbook: Runbook; source: string }[], ctx: IndexContext): { text: string; urls: number } {
  const anchors = new Map<Runbook, string>();
  const used = new Set<string>();
  for (const { runbook } of bundled) {
    let anchor = `runbook-${runbook.id}`;
    for (let n = 2; used.has(anchor); n++) anchor = `runbook-${runbook.id}-${n}`;
    used.add(anchor);
    anchors.set(runbook, anchor);
  }
  const href = (doc: { path?: string; anchor?: string }) => {
    if (!doc.path) return undefined;
    const rel = relative(ctx.root, doc.path).split(sep).join('/');
    return doc.anchor ? `${rel}#${doc.anchor}` : rel;
  };

  const out: string[] = [];
  const when = `${ctx.made.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
  const count = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  out.push('# Recovery bundle', '');
  out.push(`Made ${when} by drbook ${VERSION} from \`${escapeCode(ctx.sourceDir)}\`: ${count(bundled.length, 'runbook')}, ${count(ctx.docs, 'local doc')}.`, '');
  out.push('Everything here works offline with only Node.js (20.17 or later), from any directory:', '');
  out.push('```sh');
  out.push(`node ${SINGLE_FILE} list                        # the runbooks beside it`);
  out.push(`node ${SINGLE_FILE} show RUNBOOK --format md    # one printable checklist`);
  out.push(`node ${SINGLE_FILE} run RUNBOOK                 # the live walk; the journal goes to $DRBOOK_HOME or ~/.local/state/drbook`);
  out.push(`sha256sum -c ${SUMS}                    # or: node ${SINGLE_FILE} bundle --check .`);
  out.push('```', '');
  out.push(
    '`runbooks/` holds the runbooks, their doc paths pointing into `docs/`; `docs/` holds each local doc a runbook links ' +
      '(see [Not in this bundle](#not-in-this-bundle) for what is missing).',
    '',
  );
  out.push('## Contents', '');
  for (const { runbook } of bundled) {
    const meta = [`\`${runbook.id}\``, count(runbook.steps.length, 'step')];
    if (runbook.rto) meta.push(`RTO ${escapeMarkdownInline(runbook.rto)}`);
    out.push(`- [${escapeMarkdownInline(runbook.title)}](#${anchors.get(runbook)}) — ${meta.join(', ')}`);
  }
  out.push('- [Not in this bundle](#not-in-this-bundle)', '');

  for (const { runbook } of bundled) {
    out.push('---', '', `<a id="${anchors.get(runbook)}"></a>`, '');
    out.push(renderRunbookMarkdown(runbook, href).trimEnd(), '');
  }

  // Every URL the runbooks name, once, with where it is used: the operator must know
  // before the night which links will be dead with the network.
  const urls = new Map<string, string[]>();
  const cwds: string[] = [];
  for (const { runbook, source } of bundled) {
    const linked = new Set<string>();
    for (const step of runbook.steps) {
      for (const doc of step.docLinks) {
        if (doc.key) linked.add(doc.key);
        if (!doc.url) continue;
        const local = href(doc);
        const where = `\`${runbook.id}\` step ${step.index + 1} \`${step.id}\` (${escapeMarkdownInline(doc.title)}${local ? `; offline copy: [${escapeMarkdownInline(local)}](<${local}>)` : ''})`;
        urls.set(doc.url, [...(urls.get(doc.url) ?? []), where]);
      }
      if (step.cwd && !isAbsolute(step.cwd)) {
        cwds.push(`- \`${runbook.id}\` step ${step.index + 1} \`${step.id}\`: \`${escapeCode(step.cwd)}\` (relative to ${escapeCode(dirname(source))})`);
      }
    }
    for (const [key, doc] of Object.entries(runbook.docs)) {
      if (doc.url && !linked.has(key)) urls.set(doc.url, [...(urls.get(doc.url) ?? []), `\`${runbook.id}\` docs.${escapeMarkdownInline(key)} (not linked from a step)`]);
    }
  }
  out.push('---', '', '## Not in this bundle', '');
  out.push('### External URLs', '');
  if (urls.size === 0) out.push('None: every doc the runbooks link is in `docs/`.');
  else {
    out.push('drbook did not fetch these; open them while the network is up, or keep copies elsewhere.', '');
    for (const [url, places] of urls) out.push(`- <${url.replace(/[<>\s]/g, encodeURIComponent)}> — ${places.join('; ')}`);
  }
  out.push('');
  if (cwds.length) {
    out.push('### Working directories', '');
    out.push('These steps run in a directory relative to where the runbook was written; it is not copied, so create it or give `cwd` another value on this machine.', '');
    out.push(...cwds, '');
  }
  out.push('### Files the docs link', '');
  const unbundled = ctx.docLinks.filter((d) => d.targets.length > 0);
  out.push(`Only the files the runbooks link are in \`docs/\`; images, scripts or pages that those docs link in turn are not copied.${unbundled.length ? ' These links in the docs will not open from the bundle:' : ''}`);
  if (unbundled.length) {
    out.push('');
    for (const d of unbundled) out.push(`- \`docs/${escapeCode(d.name)}\` links ${d.targets.map((t) => `\`${escapeCode(t)}\``).join(', ')}`);
  }
  out.push('');
  return { text: out.join('\n').replace(/\n{3,}/g, '\n\n').trimEnd() + '\n', urls: urls.size };
}

/** The relative targets of a markdown doc's links and images: `[x](img/a.png)`, `<img src="a.png">`. */
export function localLinks(markdown: string): string[] {
  const targets = new Set<string>();
  const add = (raw: string) => {
    const target = raw.replace(/^<|>$/g, '').split('#')[0]!.trim();
    // Skip URLs (scheme:), mail links, absolute web paths and in-page anchors.
    if (target === '' || /^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('//')) return;
    targets.add(target);
  };
  for (const m of markdown.matchAll(/\]\(\s*(<[^>]*>|[^)\s]+)/g)) add(m[1]!);
  for (const m of markdown.matchAll(/^\s{0,3}\[[^\]]+\]:\s*(<[^>]*>|\S+)/gm)) add(m[1]!);
  for (const m of markdown.matchAll(/<img\b[^>]*\bsrc\s*=\s*["']([^"']+)["']/gi)) add(m[1]!);
  return [...targets];
}

function escapeCode(text: string): string {
  return text.replace(/`/g, "'");
}

// ---------------------------------------------------------------------------------------
// Publishing atomically, and repairing after a crash.

interface Leftover {
  path: string;
  kind: 'tmp' | 'old';
  pid: number;
}

function leftoversOf(out: string): Leftover[] {
  const name = basename(out);
  let entries: string[];
  try {
    entries = readdirSync(dirname(out));
  } catch {
    return [];
  }
  const found: Leftover[] = [];
  for (const entry of entries) {
    if (!entry.startsWith(name + '.')) continue;
    const match = /^\.(tmp|old)-(\d+)$/.exec(entry.slice(name.length));
    if (match) found.push({ path: join(dirname(out), entry), kind: match[1] as 'tmp' | 'old', pid: Number(match[2]) });
  }
  return found;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Before writing: finish what a crashed bundle left, and make sure DIR is ours to replace.
 * Returns what it repaired, for the operator.
 */
function prepareDestination(out: string): string[] {
  makeDirs(dirname(out));
  const leftovers = leftoversOf(out).filter((l) => l.pid !== process.pid);
  for (const l of leftovers) {
    if (pidAlive(l.pid)) {
      throw new DrbookError(`another drbook bundle (pid ${l.pid}) is writing ${displayPath(out)}: wait for it to finish (or remove ${displayPath(l.path)} if that process is not drbook)`, ExitCode.usage);
    }
  }
  const notes: string[] = [];
  if (!existsSync(out)) {
    // A crash between the two renames of publish(): the previous bundle is whole in
    // DIR.old-<pid>. Put it back first, so that this run replaces it like any other.
    const old = leftovers.filter((l) => l.kind === 'old').sort((a, b) => statSync(b.path).mtimeMs - statSync(a.path).mtimeMs)[0];
    if (old) {
      renameSync(old.path, out);
      notes.push(`repaired: put the previous bundle back from ${displayPath(old.path)} (an earlier bundle stopped between its two renames)`);
    }
  }
  for (const l of leftovers) if (existsSync(l.path)) rmSync(l.path, { recursive: true, force: true });

  if (existsSync(out)) {
    if (!statSync(out).isDirectory()) throw new DrbookError(`${displayPath(out)} exists and is not a directory: choose another -o`, ExitCode.usage);
    const entries = readdirSync(out);
    // DIR is renamed away and deleted: never do that to a directory that is not a bundle.
    if (entries.length > 0 && !(entries.includes(SUMS) && entries.includes(INDEX))) {
      throw new DrbookError(`${displayPath(out)} exists and is not a drbook bundle (no ${SUMS} and ${INDEX}): refusing to replace it; choose a new or empty directory with -o`, ExitCode.usage);
    }
  }
  return notes;
}

/**
 * A file system error while writing the bundle (read-only, full, a file where a directory
 * should be) is the operator's to fix: one line, exit 2. Anything else is a bug and stays one.
 */
function cannotWrite(out: string, error: unknown): unknown {
  if (error instanceof DrbookError) return error;
  const code = (error as NodeJS.ErrnoException).code;
  if (typeof code !== 'string' || !/^E[A-Z]+$/.test(code)) return error;
  const hint = code === 'ENOSPC' ? 'free some space, or choose another -o' : 'choose another -o';
  return new DrbookError(`cannot write the bundle ${displayPath(out)}: ${errnoText(error)}; ${hint}`, ExitCode.usage);
}

/**
 * Swaps the finished bundle in. Each rename is atomic; the pair is not. A crash between
 * them leaves no DIR, but DIR.old-<pid> (the previous bundle) and DIR.tmp-<pid> (the new
 * one), both whole: `--check DIR` says so, and the next `bundle` puts the old one back
 * before it starts (or move DIR.tmp-<pid> to DIR by hand).
 */
function publish(out: string, tmp: string): void {
  const old = `${out}.old-${process.pid}`;
  const replacing = existsSync(out);
  if (replacing) renameSync(out, old);
  renameSync(tmp, out);
  syncDir(dirname(out));
  if (replacing) rmSync(old, { recursive: true, force: true });
}

// ---------------------------------------------------------------------------------------
// SHA256SUMS, in the format of GNU sha256sum (so `sha256sum -c` checks it).

/** The files of a bundle, relative with `/`, sorted, without SHA256SUMS itself. */
function filesUnder(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string, prefix: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
      if (entry.isDirectory()) walk(join(dir, entry.name), rel);
      else if (rel !== SUMS) out.push(rel);
    }
  };
  walk(root, '');
  return out.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

function sha256File(file: string): string {
  // Non-blocking and checked on the descriptor: a FIFO left in a bundle must not hang --check.
  const fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    if (!fstatSync(fd).isFile()) throw Object.assign(new Error('not a regular file'), { code: 'ENOTREG' });
    return createHash('sha256').update(readFileSync(fd)).digest('hex');
  } finally {
    closeSync(fd);
  }
}

/** GNU escapes a name holding `\` or a line break, and marks the line with a leading `\`. */
function sumsLine(hash: string, name: string): string {
  if (!/[\\\n\r]/.test(name)) return `${hash}  ${name}\n`;
  return `\\${hash}  ${name.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/\r/g, '\\r')}\n`;
}

function readSums(file: string): { entries: Map<string, string>; bad: number[] } {
  const entries = new Map<string, string>();
  const bad: number[] = [];
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new DrbookError(`cannot read ${displayPath(file)}: ${errnoText(error)}`, ExitCode.usage);
  }
  text.split('\n').forEach((line, i) => {
    if (line === '') return;
    const match = /^(\\?)([0-9a-fA-F]{64}) [ *](.+)$/.exec(line);
    if (!match) {
      bad.push(i + 1);
      return;
    }
    const name = match[1] ? match[3]!.replace(/\\(\\|n|r)/g, (_, c: string) => (c === 'n' ? '\n' : c === 'r' ? '\r' : '\\')) : match[3]!;
    entries.set(name, match[2]!.toLowerCase());
  });
  return { entries, bad };
}

function describeChanges(before: Map<string, string>, after: Map<string, string>): string {
  const changed = [...after].filter(([name, hash]) => before.has(name) && before.get(name) !== hash).map(([name]) => name);
  const added = [...after.keys()].filter((name) => !before.has(name));
  const removed = [...before.keys()].filter((name) => !after.has(name));
  const part = (label: string, names: string[]) => `${names.length} ${label}${names.length ? ` (${names.slice(0, 6).join(', ')}${names.length > 6 ? ', ...' : ''})` : ''}`;
  if (changed.length + added.length + removed.length === 0) return 'no file changed';
  return [part('changed', changed), part('added', added), part('removed', removed)].join(', ');
}

function describeSource(single: SingleFileResult): string {
  switch (single.source) {
    case 'self': return `${SINGLE_FILE} copied from the running ${displayPath(single.from)}`;
    case 'esbuild': return `${SINGLE_FILE} built with esbuild from ${displayPath(single.from)}`;
    case 'prebuilt': return `${SINGLE_FILE} copied from the prebuilt ${displayPath(single.from)}`;
  }
}

/** `drbook bundle --check DIR`: does the bundle still hold what it was made with? */
async function checkBundle(dirArg: string): Promise<number> {
  const dir = resolve(dirArg);
  const shown = displayPath(dir);
  if (!existsSync(dir)) {
    const old = leftoversOf(dir).find((l) => l.kind === 'old');
    const interrupted = old ? `; ${displayPath(old.path)} holds the previous bundle: a bundle stopped between its two renames (run drbook bundle -o ${shown} again to repair it)` : '';
    throw new DrbookError(`${shown} does not exist${interrupted}`, ExitCode.usage);
  }
  const sumsFile = join(dir, SUMS);
  if (!existsSync(sumsFile)) throw new DrbookError(`${shown} has no ${SUMS}: not a drbook bundle (make one with drbook bundle -o ${shown})`, ExitCode.usage);
  const { entries, bad } = readSums(sumsFile);

  const report: string[] = bad.map((line) => `invalid: ${SUMS} line ${line} is not "<sha256>  <file>"`);
  let changed = 0;
  let missing = 0;
  for (const [name, hash] of entries) {
    if (isAbsolute(name) || name.split('/').includes('..')) {
      report.push(`invalid: ${SUMS} names ${JSON.stringify(name)}, outside the bundle`);
      continue;
    }
    const file = join(dir, ...name.split('/'));
    let actual: string;
    try {
      actual = sha256File(file);
    } catch (error) {
      missing++;
      report.push(`missing: ${name}${(error as NodeJS.ErrnoException).code === 'ENOENT' ? '' : ` (${errnoText(error)})`}`);
      continue;
    }
    if (actual !== hash) {
      changed++;
      report.push(`changed: ${name}`);
    }
  }
  const extra = filesUnder(dir).filter((name) => !entries.has(name));
  for (const name of extra) report.push(`extra: ${name} (not listed in ${SUMS})`);
  const scripts = await calledScriptProblems(dir);
  report.push(...scripts);

  for (const line of report) process.stdout.write(line + '\n');
  if (report.length === 0) {
    process.stdout.write(`${shown}: OK, all ${entries.size} files match ${SUMS}\n`);
    return ExitCode.ok;
  }
  const parts = [`${changed} changed`, `${missing} missing`, `${extra.length} not listed`];
  if (scripts.length) parts.push(`${scripts.length} script${scripts.length === 1 ? '' : 's'} steps call missing or not executable`);
  if (bad.length) parts.push(`${bad.length} invalid line${bad.length === 1 ? '' : 's'}`);
  process.stdout.write(`${shown}: does NOT match ${SUMS} (${entries.size} files listed: ${parts.join(', ')}); rebuild it with drbook bundle -o ${shown}\n`);
  return ExitCode.failed;
}
