import { existsSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DrbookError, ExitCode } from '../core/errors.js';
import { formatProblem, type Problem } from '../core/model.js';
import { buildDraft, renderDraft, asciiSlug, prepareSource, type SourceDoc } from '../core/import/index.js';
import { loadRunbookText, TODO_WARNING } from '../core/runbook-loader.js';
import { SLUG } from '../core/runbook-schema.js';
import { displayPath, errnoText } from '../adapters/file-text.js';
import { parseMarkdown } from '../adapters/markdown.js';
import { loadShellParse } from '../adapters/shell-parser.js';
import { readInputFile, runbooksDir } from '../adapters/runbook-files.js';
import { writeNewFile } from '../adapters/write-new-file.js';

export interface ImportOptions {
  output?: string;
  id?: string;
  title?: string;
  force?: boolean;
  dir?: string;
}

/** A procedure is pages of markdown; anything this large is not one. */
const MAX_DOC_BYTES = 4 * 1024 * 1024;

export async function runImport(files: string[], options: ImportOptions): Promise<number> {
  if (options.id !== undefined && !SLUG.test(options.id)) {
    throw new DrbookError(`--id "${options.id}" is not a valid runbook id: lower-case letters, digits and dashes`, ExitCode.usage);
  }
  const toStdout = options.output === '-';
  const texts = files.map((file) => ({ file, ...prepareSource(readDoc(file)) }));
  // The output file decides the relative paths of the docs; its name may decide the id.
  const provisional = options.output && !toStdout ? resolve(options.output) : undefined;
  const sources = async (outDir: string): Promise<SourceDoc[]> =>
    Promise.all(
      texts.map(async ({ file, text, title }) => ({
        file: displayPath(file),
        docPath: relativePath(outDir, resolve(file)),
        text,
        tree: await parseMarkdown(text),
        ...(title ? { title } : {}),
      })),
    );

  const resolveLink = (outDir: string) => (doc: SourceDoc, href: string) => {
    const hash = href.indexOf('#');
    let bare = hash === -1 ? href : href.slice(0, hash);
    try {
      bare = decodeURIComponent(bare);
    } catch {
      return undefined;
    }
    const docDir = dirname(resolve(files[texts.findIndex((t) => displayPath(t.file) === doc.file)] ?? doc.file));
    const target = isAbsolute(bare) ? bare : resolve(docDir, bare);
    if (bare === '' || !existsSync(target)) return undefined;
    return relativePath(outDir, target) + (hash === -1 ? '' : href.slice(hash));
  };

  const fileFor = (id: string) => provisional ?? join(runbooksDir(options.dir), `${id}.yml`);
  const idFromFile = provisional ? asciiSlug(basename(provisional).replace(/\.ya?ml$/i, ''), 'runbook') : undefined;
  // A first pass finds the title (the id comes from it when neither --id nor -o gives one).
  const outDir0 = dirname(provisional ?? join(runbooksDir(options.dir), 'x.yml'));
  let docs = await sources(outDir0);
  const parse = await loadShellParse();
  let draft = buildDraft(docs, { id: options.id ?? idFromFile ?? 'runbook', title: options.title, resolveLink: resolveLink(outDir0), parse });
  const id = options.id ?? idFromFile ?? asciiSlug(draft.title, 'runbook');
  const out = toStdout ? resolve('runbook.yml') : fileFor(id);
  if (dirname(out) !== outDir0) {
    docs = await sources(dirname(out));
    draft = buildDraft(docs, { id, title: options.title, resolveLink: resolveLink(dirname(out)), parse });
  } else {
    draft = { ...draft, id };
  }
  if (draft.steps.length === 0) {
    throw new DrbookError(
      `nothing to import from ${draft.sources.join(', ')}: a step comes from a heading with text or a shell block under it`,
      ExitCode.failed,
    );
  }
  const text = renderDraft(draft, schemaRef(dirname(out)));

  const checked = loadRunbookText(text, { file: displayPath(out), absFile: out, sha256: '', fileExists: (p) => existsSync(p) });
  const errors = checked.problems.filter((p) => p.severity === 'error');
  // The TODOs are counted below; each is in the file where it applies.
  for (const problem of checked.problems.filter((p) => !p.message.startsWith(TODO_WARNING))) {
    process.stderr.write(`${formatProblem(problem)}${sourceOf(text, problem)}\n`);
  }
  if (errors.length > 0) {
    throw new DrbookError(
      `the draft from ${draft.sources.join(', ')} does not validate (${errors.length} error${errors.length === 1 ? '' : 's'}): nothing written; fix the docs at the lines shown, or pass fewer documents`,
      ExitCode.failed,
    );
  }
  if (toStdout) {
    process.stdout.write(text);
    return ExitCode.ok;
  }
  await writeNewFile(out, text, options.force === true);
  const todos = (text.match(/# TODO/g) ?? []).length;
  process.stderr.write(
    `wrote ${displayPath(out)}: ${draft.steps.length} step${draft.steps.length === 1 ? '' : 's'}, ${draft.vars.length} var${draft.vars.length === 1 ? '' : 's'}, ${todos} TODO${todos === 1 ? '' : 's'} to read\n` +
      `next: drbook validate ${displayPath(out)} && drbook rehearse ${displayPath(out)}\n`,
  );
  return ExitCode.ok;
}

function readDoc(file: string): string {
  let bytes: Buffer;
  try {
    if (statSync(file).isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
    bytes = readInputFile(file, MAX_DOC_BYTES);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'EFBIG' ? `too large for a procedure (limit ${MAX_DOC_BYTES / 1048576} MB)` : errnoText(error);
    throw new DrbookError(`${displayPath(file)}: ${why}`, ExitCode.usage);
  }
  try {
    if (bytes.includes(0)) throw new Error('NUL');
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes).replace(/^\uFEFF/, '');
  } catch {
    throw new DrbookError(`${displayPath(file)}: not a UTF-8 text file`, ExitCode.usage);
  }
}

function relativePath(fromDir: string, to: string): string {
  const rel = relative(fromDir, to);
  return rel === '' ? '.' : rel;
}

/** The step a problem belongs to: the `# from FILE:LINE` comment above its line. */
function sourceOf(text: string, problem: Problem): string {
  const lines = text.split('\n');
  for (let i = Math.min(problem.line, lines.length) - 1; i >= 0; i--) {
    const m = /^\s*# from (.+:\d+)$/.exec(lines[i]!);
    if (m) return ` (from ${m[1]})`;
  }
  return '';
}

/** The JSON Schema shipped with drbook, relative to the runbook's directory, for editors. */
function schemaRef(outDir: string): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'schema', 'runbook.schema.json');
    if (existsSync(candidate) && existsSync(join(dir, 'package.json'))) return relativePath(outDir, candidate);
    const parent = dirname(dir);
    if (parent === dir) return 'https://drbook.dev/schema/runbook.schema.json';
    dir = parent;
  }
}
