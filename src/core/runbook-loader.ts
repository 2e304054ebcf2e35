import { isAbsolute, resolve } from 'node:path';
import { LineCounter, parseDocument, type Document } from 'yaml';
import { parseCondition } from './condition.js';
import { parseDuration } from './duration.js';
import type { Problem, ResolvedDoc, Runbook, Severity, Step } from './model.js';
import { RunbookSchema, SLUG, type DocLink, type RunbookDoc, type StepDef, type VarDef } from './runbook-schema.js';
import { insideShellQuotes, scanTemplate } from './template.js';
import { locate, toPosition, type PathSegment } from './yaml-positions.js';

export const FORMAT_VERSION = 1;
/** Aliases beyond this are a resource-exhaustion attack ("billion laughs"), not a runbook. */
const MAX_ALIASES = 200;

export interface LoadContext {
  /** The path as the operator gave it, used in messages. */
  file: string;
  /** Absolute path of the file: relative doc paths and cwd resolve against its directory. */
  absFile: string;
  sha256: string;
  /** Whether a local doc exists (injected: the core does no I/O). */
  fileExists: (absPath: string) => boolean;
}

export interface LoadResult {
  runbook?: Runbook;
  problems: Problem[];
}

const TEMPLATED_STEP_FIELDS = ['title', 'description', 'run', 'confirm', 'cwd'] as const;

/** Parses and checks a runbook's text. Never throws on content: every problem is data. */
export function loadRunbookText(text: string, ctx: LoadContext): LoadResult {
  const problems: Problem[] = [];
  const lines = new LineCounter();
  let doc: Document;
  try {
    doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  } catch (error) {
    // The parser recurses: absurdly deep nesting can exhaust the stack.
    return { problems: [{ file: ctx.file, line: 1, col: 1, severity: 'error', message: `cannot parse YAML: ${oneLine(error)}` }] };
  }
  const report = (severity: Severity, path: readonly PathSegment[], message: string, target: 'key' | 'value' = 'value') => {
    const pos = locate(doc, lines, path, target);
    problems.push({ file: ctx.file, line: pos.line, col: pos.col, severity, message });
  };

  for (const error of doc.errors) {
    const pos = toPosition(lines, error.pos[0]);
    problems.push({ file: ctx.file, line: pos.line, col: pos.col, severity: 'error', message: `YAML: ${oneLine(error.message)}` });
  }
  if (problems.length > 0) return { problems };

  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: MAX_ALIASES });
  } catch (error) {
    return { problems: [{ file: ctx.file, line: 1, col: 1, severity: 'error', message: `YAML: ${oneLine(error)}` }] };
  }
  if (data === null || data === undefined) {
    return { problems: [{ file: ctx.file, line: 1, col: 1, severity: 'error', message: 'the file is empty: a runbook starts with `drbook: 1`' }] };
  }
  if (typeof data !== 'object' || Array.isArray(data)) {
    report('error', [], 'a runbook is a mapping of keys (drbook, title, steps, ...), not a list or a single value');
    return { problems };
  }

  const raw = data as Record<string, unknown>;
  checkVersion(raw, report);

  const parsed = RunbookSchema.safeParse(data, { reportInput: true });
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      if (issue.path[0] === 'drbook') continue; // checkVersion says it better
      const path = issue.path.filter((s): s is string | number => typeof s !== 'symbol');
      if (issue.code === 'unrecognized_keys') {
        for (const key of issue.keys) report('error', [...path, key], `${describePath([...path, key])}: unknown field \`${key}\`${suggest(key, path)}`, 'key');
        continue;
      }
      const missing = issue.code === 'invalid_type' && (issue as { input?: unknown }).input === undefined;
      if (missing) {
        const field = String(path[path.length - 1]);
        report('error', path.slice(0, -1), `${describePath(path.slice(0, -1))}: missing required field \`${field}\``);
      } else {
        report('error', path, `${describePath(path)}: ${cleanMessage(issue.message)}`);
      }
    }
  }

  // Meaning checks run even when the schema failed, on what can be read, so one pass
  // reports every problem of the file.
  checkMeaning(raw, ctx, report);
  sortProblems(problems);
  if (problems.some((p) => p.severity === 'error') || !parsed.success) return { problems };
  return { runbook: buildRunbook(parsed.data, ctx), problems };
}

type Report = (severity: Severity, path: readonly PathSegment[], message: string, target?: 'key' | 'value') => void;

function checkVersion(raw: Record<string, unknown>, report: Report): void {
  if (!('drbook' in raw)) {
    report('error', [], 'missing format version: add `drbook: 1` at the top');
    return;
  }
  const version = raw.drbook;
  if (version !== FORMAT_VERSION) {
    const shown = JSON.stringify(version) ?? String(version);
    const newer = typeof version === 'number' && version > FORMAT_VERSION;
    report('error', ['drbook'], `unsupported format version ${shown}: this drbook reads version ${FORMAT_VERSION}${newer ? ' (upgrade drbook)' : ''}`);
  }
}

function checkMeaning(raw: Record<string, unknown>, ctx: LoadContext, report: Report): void {
  const vars = asRecord(raw.vars);
  const docs = asRecord(raw.docs);
  const steps = Array.isArray(raw.steps) ? raw.steps : [];
  const declared = new Set(Object.keys(vars));
  const used = new Set<string>();
  const usedDocs = new Set<string>();

  if (raw.id === undefined) {
    const base = baseName(ctx.absFile);
    if (!SLUG.test(base)) report('error', [], `the file name "${base}" is not a valid runbook id: add \`id:\` (lower-case letters, digits, dashes)`);
  }
  if (typeof raw.rto === 'string' && parseDuration(raw.rto) === undefined) {
    report('error', ['rto'], `rto: cannot read duration "${raw.rto}": use forms like 90m, 2h, 1h30m`);
  }

  for (const [name, value] of Object.entries(vars)) {
    const def = asRecord(value) as Partial<VarDef>;
    let pattern: RegExp | undefined;
    if (typeof def.pattern === 'string') {
      pattern = compileRegex(def.pattern, ['vars', name, 'pattern'], `vars.${name}.pattern`, report);
    }
    const choices = choiceValues(def.choices);
    if (def.default !== undefined && def.default !== null) {
      const d = String(def.default);
      if (choices && !choices.includes(d)) report('error', ['vars', name, 'default'], `vars.${name}.default: "${d}" is not one of its choices (${choices.join(', ')})`);
      if (pattern && !pattern.test(d)) report('error', ['vars', name, 'default'], `vars.${name}.default: "${d}" does not match its pattern ${def.pattern}`);
    }
    if (def.secret === true && def.default !== undefined) report('warning', ['vars', name, 'default'], `vars.${name}: a secret with a default is stored in the runbook in clear`);
  }

  for (const [key, value] of Object.entries(docs)) {
    checkDocLink(asRecord(value), ['docs', key], `docs.${key}`, ctx, report);
  }

  const seenIds = new Map<string, number>();
  const captured = new Map<string, number>();
  steps.forEach((value, index) => {
    const step = asRecord(value) as Partial<StepDef> & Record<string, unknown>;
    const where = `steps[${index}]${typeof step.id === 'string' ? ` (${step.id})` : ''}`;
    if (typeof step.id === 'string') {
      const first = seenIds.get(step.id);
      if (first !== undefined) report('error', ['steps', index, 'id'], `${where}: duplicate step id "${step.id}" (first used by steps[${first}])`);
      else seenIds.set(step.id, index);
    }
    const known = (name: string) => declared.has(name) || captured.has(name);
    const checkTemplate = (text: unknown, path: PathSegment[], label: string) => {
      if (typeof text !== 'string') return;
      const { refs, malformed } = scanTemplate(text);
      for (const bad of malformed) report('error', path, `${label}: malformed template "{{${bad.name}}}": use {{name}} with a declared var`);
      for (const ref of refs) {
        used.add(ref.name);
        if (!known(ref.name)) report('error', path, `${label}: unknown variable {{${ref.name}}}${laterCapture(ref.name, steps, index)}`);
        if (path[path.length - 1] === 'run' && insideShellQuotes(text, ref.offset)) {
          report('warning', path, `${label}: {{${ref.name}}} stands inside quotes; values are already inserted as one quoted shell word, so the quotes are passed on literally`);
        }
      }
    };
    for (const field of TEMPLATED_STEP_FIELDS) checkTemplate(step[field], ['steps', index, field], `${where}.${field}`);
    for (const [key, envValue] of Object.entries(asRecord(step.env))) {
      checkTemplate(envValue, ['steps', index, 'env', key], `${where}.env.${key}`);
    }

    if (Array.isArray(step.ask)) {
      step.ask.forEach((name, i) => {
        if (typeof name !== 'string') return;
        used.add(name);
        if (!declared.has(name)) report('error', ['steps', index, 'ask', i], `${where}.ask: unknown variable "${name}"`);
      });
    }
    if (Array.isArray(step.docs)) {
      step.docs.forEach((ref, i) => {
        if (typeof ref === 'string') {
          usedDocs.add(ref);
          if (!(ref in docs)) report('error', ['steps', index, 'docs', i], `${where}.docs: "${ref}" is not defined under the top-level docs:`);
        } else if (typeof ref === 'object' && ref !== null) {
          checkDocLink(asRecord(ref), ['steps', index, 'docs', i], `${where}.docs[${i}]`, ctx, report);
        }
      });
    }
    if (typeof step.when === 'string') {
      used.add(parseCondition(step.when)?.name ?? '');
      checkWhen(step.when, vars, declared, ['steps', index, 'when'], `${where}.when`, report);
    }
    if (typeof step.timeout === 'string' && parseDuration(step.timeout) === undefined) {
      report('error', ['steps', index, 'timeout'], `${where}.timeout: cannot read duration "${step.timeout}": use forms like 30s, 10m, 1h30m`);
    }
    const expect = asRecord(step.expect);
    for (const stream of ['stdout', 'stderr'] as const) {
      if (typeof expect[stream] === 'string') compileRegex(expect[stream] as string, ['steps', index, 'expect', stream], `${where}.expect.${stream}`, report);
    }
    const hasRun = typeof step.run === 'string';
    if (typeof step.capture === 'string') {
      if (declared.has(step.capture)) {
        report('error', ['steps', index, 'capture'], `${where}.capture: "${step.capture}" shadows the declared var of the same name: pick another name`);
      }
      if (!hasRun) report('error', ['steps', index, 'capture'], `${where}.capture: a manual step has no output to capture (add run:)`);
      captured.set(step.capture, index);
    }
    if (!hasRun) {
      for (const field of ['expect', 'timeout', 'on_failure', 'safe', 'cwd', 'env'] as const) {
        if (step[field] !== undefined) report('warning', ['steps', index, field], `${where}.${field} has no effect on a manual step (no run:)`, 'key');
      }
    }
  });

  if (Array.isArray(raw.steps) && steps.length === 0) report('error', ['steps'], 'steps: a runbook needs at least one step');
  for (const name of declared) {
    if (!used.has(name)) report('warning', ['vars', name], `vars.${name} is never used by any step`, 'key');
  }
  for (const key of Object.keys(docs)) {
    if (!usedDocs.has(key)) report('warning', ['docs', key], `docs.${key} is never linked from a step`, 'key');
  }
}

function checkDocLink(doc: Partial<DocLink>, path: PathSegment[], label: string, ctx: LoadContext, report: Report): void {
  if (doc.url === undefined && doc.path === undefined) {
    report('error', path, `${label}: a doc needs a url, a path, or both`);
  }
  if (typeof doc.url === 'string' && !/^[a-z][a-z0-9+.-]*:\/\//i.test(doc.url)) {
    report('error', [...path, 'url'], `${label}.url: "${doc.url}" is not an absolute URL (https://...)`);
  }
  if (typeof doc.path === 'string' && doc.path !== '') {
    const file = resolveDocPath(ctx.absFile, doc.path).path;
    if (!ctx.fileExists(file)) report('error', [...path, 'path'], `${label}.path: ${doc.path} does not exist (looked for ${file})`);
  }
}

function checkWhen(text: string, vars: Record<string, unknown>, declared: Set<string>, path: PathSegment[], label: string, report: Report): void {
  const condition = parseCondition(text);
  if (!condition) {
    report('error', path, `${label}: "${text}" is not a condition: use \`name == value\` or \`name != value\``);
    return;
  }
  if (!declared.has(condition.name)) {
    report('error', path, `${label}: unknown variable "${condition.name}"`);
    return;
  }
  const choices = choiceValues(asRecord(vars[condition.name]).choices);
  if (choices && !choices.includes(condition.value)) {
    report('error', path, `${label}: "${condition.value}" is not one of ${condition.name}'s choices (${choices.join(', ')})`);
  }
}

function compileRegex(source: string, path: PathSegment[], label: string, report: Report): RegExp | undefined {
  try {
    return new RegExp(source);
  } catch (error) {
    report('error', path, `${label}: invalid regular expression: ${oneLine(error).replace(/^Invalid regular expression: /, '')}`);
    return undefined;
  }
}

function laterCapture(name: string, steps: unknown[], index: number): string {
  const later = steps.findIndex((s, i) => i >= index && asRecord(s).capture === name);
  if (later === -1) return ': declare it under vars: or capture it in an earlier step';
  return later === index ? ': a step cannot use the var it captures itself' : `: it is captured only later, by steps[${later}]`;
}

/** The values a `choices` allows (list, or the keys of a map), as strings. */
export function choiceValues(choices: unknown): string[] | undefined {
  if (Array.isArray(choices)) return choices.map(String);
  if (choices && typeof choices === 'object') return Object.keys(choices);
  return undefined;
}

export function resolveDocPath(absRunbookFile: string, docPath: string): { path: string; anchor?: string } {
  const hash = docPath.indexOf('#');
  const bare = hash === -1 ? docPath : docPath.slice(0, hash);
  const anchor = hash === -1 ? undefined : docPath.slice(hash + 1);
  const base = absRunbookFile.slice(0, absRunbookFile.lastIndexOf('/') + 1) || '/';
  const path = isAbsolute(bare) ? bare : resolve(base, bare);
  return anchor ? { path, anchor } : { path };
}

function buildRunbook(doc: RunbookDoc, ctx: LoadContext): Runbook {
  const docs = doc.docs ?? {};
  const steps: Step[] = doc.steps.map((def, index) => {
    const docLinks: ResolvedDoc[] = (def.docs ?? []).map((ref) => {
      const link = typeof ref === 'string' ? docs[ref]! : ref;
      return resolveLink(link, ctx, typeof ref === 'string' ? ref : undefined);
    });
    const step: Step = { ...def, index, docLinks };
    if (def.timeout) step.timeoutMs = parseDuration(def.timeout);
    if (def.when) step.condition = parseCondition(def.when);
    return step;
  });
  const runbook: Runbook = {
    id: doc.id ?? baseName(ctx.absFile),
    title: doc.title,
    tags: doc.tags ?? [],
    shell: doc.shell ?? 'bash',
    docs,
    vars: doc.vars ?? {},
    steps,
    file: ctx.absFile,
    sha256: ctx.sha256,
  };
  if (doc.summary !== undefined) runbook.summary = doc.summary;
  if (doc.owner !== undefined) runbook.owner = doc.owner;
  if (doc.rto !== undefined) {
    runbook.rto = doc.rto;
    runbook.rtoMs = parseDuration(doc.rto);
  }
  return runbook;
}

function resolveLink(link: DocLink, ctx: LoadContext, key: string | undefined): ResolvedDoc {
  const resolved: ResolvedDoc = { title: link.title };
  if (key !== undefined) resolved.key = key;
  if (link.url !== undefined) resolved.url = link.url;
  if (link.path !== undefined) {
    const local = resolveDocPath(ctx.absFile, link.path);
    resolved.path = local.path;
    if (local.anchor !== undefined) resolved.anchor = local.anchor;
  }
  return resolved;
}

function baseName(file: string): string {
  return (file.split('/').pop() ?? file).replace(/\.ya?ml$/i, '');
}

function asRecord(value: unknown): Record<string, unknown> {
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function describePath(path: readonly PathSegment[]): string {
  if (path.length === 0) return 'runbook';
  return path.map((s, i) => (typeof s === 'number' ? `[${s}]` : i === 0 ? s : `.${s}`)).join('');
}

const KNOWN_FIELDS: Record<string, string[]> = {
  top: ['drbook', 'id', 'title', 'summary', 'owner', 'rto', 'tags', 'shell', 'docs', 'vars', 'steps'],
  step: ['id', 'title', 'description', 'run', 'confirm', 'ask', 'expect', 'safe', 'docs', 'cwd', 'env', 'timeout', 'capture', 'when', 'on_failure'],
  var: ['prompt', 'description', 'default', 'env', 'secret', 'pattern', 'choices'],
  expect: ['exit', 'stdout', 'stderr'],
  doc: ['title', 'url', 'path'],
};

/** Names other tools use for the same thing. */
const FIELD_ALIASES: Record<string, string> = { command: 'run', comand: 'run', cmd: 'run', script: 'run', name: 'title', desc: 'description', depends_on: 'when', if: 'when', vars: 'ask', link: 'url', file: 'path', href: 'url', onfailure: 'on_failure', on_error: 'on_failure', secret_env: 'env' };

/** "did you mean" for a misspelt field: stressed authors type `comand`. */
function suggest(key: string, path: readonly PathSegment[]): string {
  const kind =
    path.length === 0 ? 'top'
    : path[0] === 'steps' && path.length === 2 ? 'step'
    : path[0] === 'vars' && path.length === 2 ? 'var'
    : path[path.length - 1] === 'expect' ? 'expect'
    : 'doc';
  const candidates = KNOWN_FIELDS[kind] ?? [];
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of candidates) {
    const d = editDistance(key.toLowerCase(), candidate);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  const alias = FIELD_ALIASES[key.toLowerCase()];
  if (alias && candidates.includes(alias)) return ` (did you mean \`${alias}\`?)`;
  return best ? ` (did you mean \`${best}\`?)` : '';
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const temp = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = temp;
    }
  }
  return row[b.length]!;
}

function cleanMessage(message: string): string {
  return oneLine(message.replace(/^Invalid input: /, ''));
}

function oneLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split('\n')[0]!.trim();
}

function sortProblems(problems: Problem[]): void {
  problems.sort((a, b) => a.line - b.line || a.col - b.col);
}
