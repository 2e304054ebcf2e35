import { isAbsolute, resolve } from 'node:path';
import { isAlias, isCollection, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, visit, type Document, type YAMLError } from 'yaml';
import { checkNotifyList } from './notify/check.js';
import { parseCondition } from './condition.js';
import { parseDuration } from './duration.js';
import { TEMPLATED_STEP_FIELDS, type Problem, type ResolvedDoc, type Runbook, type Severity, type Step } from './model.js';
import { RunbookSchema, SLUG, type DocLink, type RunbookDoc, type StepDef, type VarDef } from './runbook-schema.js';
import { CODE_VARIABLES, programWarning, siteRefusal, type PlaceholderSite, type ShellDialect } from './shell-template.js';
import { declaredRunbookId, fileNameId } from './runbook-id.js';
import { scanTemplate } from './template.js';
import { hasControl, visible } from './visible.js';
import { colonInValueHint, reparsedPlaceholders } from './validate-hints.js';
import { locate, locateInValue, toPosition, type Position, type PathSegment } from './yaml-positions.js';

const FORMAT_VERSION = 1;
/** Aliases beyond this are a resource-exhaustion attack ("billion laughs"), not a runbook. */
const MAX_ALIASES = 200;
/** A runbook nests five or six levels; hundreds are a mistake or an attack, and the checks recurse. */
const MAX_DEPTH = 64;
/** Timers hold at most 2^31-1 ms; a longer timeout would fire at once. */
const MAX_TIMEOUT_MS = 2_147_483_647;

export interface LoadContext {
  /** The path as the operator gave it, used in messages. */
  file: string;
  /** Absolute path of the file: relative doc paths and cwd resolve against its directory. */
  absFile: string;
  sha256: string;
  /** Whether a local doc exists (injected: the core does no I/O). */
  fileExists: (absPath: string) => boolean;
  /**
   * Where each placeholder of a `run` stands, from a shell parser (injected: loading it is
   * I/O, and slow). Without it the loader lists the texts it needs in `shellTexts`.
   */
  shellSites?: (text: string, dialect: ShellDialect) => PlaceholderSite[];
  /**
   * Whether a command without placeholders parses (injected: the check runs a shell). Without
   * it the loader lists those commands in `commandTexts`; a command with placeholders is
   * checked by its sites (shellSites).
   */
  shellSyntax?: (text: string, dialect: ShellDialect) => ShellSyntaxError | undefined;
}

/** A command that does not parse: the line of the command (from 1) and the shell's words. */
export interface ShellSyntaxError {
  line: number;
  message: string;
}

export interface LoadResult {
  runbook?: Runbook;
  problems: Problem[];
  /** The `run` texts with placeholders, when no shellSites was given: load again with one. */
  shellTexts?: { text: string; dialect: ShellDialect }[];
  /** The commands without placeholders, when no shellSyntax was given: load again with one if any does not parse. */
  commandTexts?: { text: string; dialect: ShellDialect }[];
}

/** Parses and checks a runbook's text. Never throws on content: every problem is data. */
export function loadRunbookText(text: string, ctx: LoadContext): LoadResult {
  try {
    return loadUnsafe(text, ctx);
  } catch (error) {
    // Every known input is handled below; this keeps an unforeseen one a problem of the
    // file (the run stops with exit 1 and a message) instead of a crash with a stack trace.
    const message = error instanceof RangeError ? 'the file nests too deeply to be read' : `cannot check this file: ${oneLine(error)}`;
    return { problems: [{ file: ctx.file, line: 1, col: 1, severity: 'error', message }] };
  }
}

function loadUnsafe(text: string, ctx: LoadContext): LoadResult {
  const problems: Problem[] = [];
  const control = controlCharacters(text, ctx.file);
  if (control.length > 0) return { problems: control };
  const lines = new LineCounter();
  let doc: Document;
  try {
    // merge: `<<: *defaults`, as in GitLab CI and compose files, which authors will copy.
    // logLevel: the library would print its own warnings to stderr; they become problems.
    // uniqueKeys: the library compares each key with every other (minutes for a file of
    // 100 000 keys); duplicateKeys does it in one pass.
    doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: false, merge: true, logLevel: 'error' });
  } catch (error) {
    return { problems: [{ file: ctx.file, line: 1, col: 1, severity: 'error', message: `cannot parse YAML: ${yamlMessage(oneLine(error))}` }] };
  }
  const at = (pos: Position, severity: Severity, message: string) =>
    problems.push({ file: ctx.file, line: pos.line, col: pos.col, severity, message: singleLine(message) });
  const report = (severity: Severity, path: readonly PathSegment[], message: string, target: 'key' | 'value' = 'value') => {
    at(locate(doc, lines, path, target), severity, message);
  };

  for (const error of doc.errors) {
    const pos = yamlErrorPosition(doc, lines, text, error);
    const hint = colonInValueHint(error.code, text.split('\n')[pos.line - 1]);
    at(pos, 'error', `YAML: ${yamlMessage(oneLine(error.message), error.code)}${hint ? `; ${hint}` : ''}`);
  }
  for (const dup of duplicateKeys(doc)) {
    const first = toPosition(lines, dup.first);
    at(toPosition(lines, dup.at), 'error', `YAML: duplicate key "${dup.key}" (first at line ${first.line}): map keys must be unique`);
  }
  if (problems.length > 0) {
    sortProblems(problems);
    return { problems };
  }
  for (const warning of doc.warnings) {
    const message = warning.code === 'TAG_RESOLVE_FAILED' ? `${oneLine(warning.message)}: the value is read as plain text` : oneLine(warning.message);
    at(yamlErrorPosition(doc, lines, text, warning), 'warning', `YAML: ${message}`);
  }

  const deep = tooDeep(doc);
  if (deep !== undefined) {
    at(toPosition(lines, deep), 'error', `YAML: nested more than ${MAX_DEPTH} levels deep: a runbook is a few levels of mappings and lists`);
    return { problems };
  }

  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: MAX_ALIASES });
  } catch (error) {
    const message = oneLine(error);
    const culprit = /merge/i.test(message) ? firstMergeKey(doc) : firstAlias(doc, /Unresolved alias/i.test(message));
    const pos = culprit === undefined ? { line: 1, col: 1 } : toPosition(lines, culprit);
    const shown = /Excessive alias count/i.test(message)
      ? `YAML: aliases expand to too many nodes (an "alias bomb"): a runbook needs at most a few aliases`
      : `YAML: ${message}`;
    return { problems: [{ file: ctx.file, line: pos.line, col: pos.col, severity: 'error', message: shown }] };
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
  keepNumbersAsWritten(doc, raw, report);

  const parsed = RunbookSchema.safeParse(data, { reportInput: true });
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      if (issue.path[0] === 'drbook') continue; // checkVersion says it better
      if (issue.path[0] === 'notify' && issue.path.length > 1) continue; // checkNotifyList words these, as for config.yml
      reportIssue(issue as SchemaIssue, [], report);
    }
  }

  // Meaning checks run even when the schema failed, on what can be read, so one pass
  // reports every problem of the file.
  const reportAt = (severity: Severity, path: readonly PathSegment[], needle: string, occurrence: number, message: string) => {
    at(locateInValue(doc, lines, text, path, needle, occurrence), severity, message);
  };
  const { shellTexts, commandTexts } = checkMeaning(raw, ctx, report, reportAt);
  escapedControls(raw, [], report);
  for (const todo of todoComments(text, doc)) at(toPosition(lines, todo.offset), 'warning', `${TODO_WARNING}${todo.text}`);
  sortProblems(problems);
  const commands = ctx.shellSyntax || commandTexts.length === 0 ? {} : { commandTexts };
  // The shell checks of each run are still to come: no runbook before they have been made.
  if (shellTexts.length > 0) return { problems, shellTexts, ...commands };
  if (problems.some((p) => p.severity === 'error') || !parsed.success) return { problems, ...commands };
  const runbook = buildRunbook(parsed.data, ctx);
  const lineId = declaredRunbookId(text)?.id ?? fileNameId(ctx.absFile);
  if (lineId !== runbook.id) {
    // `drbook run ID` reads ids from their lines, without parsing every file of the directory.
    at(
      raw.id === undefined ? { line: 1, col: 1 } : locate(doc, lines, ['id'], 'value'),
      'warning',
      `the id is "${runbook.id}" but drbook run finds this runbook as "${lineId}": write \`id: ${runbook.id}\` on a line of its own, at the start of the line`,
    );
    sortProblems(problems);
  }
  return { runbook, problems, ...commands };
}

/** The start of the warning for a `# TODO` comment (drbook import writes them where a person must look). */
export const TODO_WARNING = 'TODO left in the runbook (do it, then delete the comment): ';

/** The `# TODO` comment lines of the file: YAML comments, not text inside a block scalar. */
function todoComments(text: string, doc: Document): { offset: number; text: string }[] {
  const scalars: [number, number][] = [];
  visit(doc, {
    Scalar(_, node) {
      if (node.range) scalars.push([node.range[0], node.range[1]]);
    },
  });
  const out: { offset: number; text: string }[] = [];
  for (const m of text.matchAll(/^[ \t]*#[ \t]*TODO\b:?[ \t]*([^\n]*)/gm)) {
    const offset = m.index + m[0].indexOf('#');
    if (scalars.some(([start, end]) => start <= offset && offset < end)) continue;
    const todo = m[1]!.trim();
    out.push({ offset, text: todo.length > 160 ? `${todo.slice(0, 157)}...` : todo });
  }
  return out;
}

type Report = (severity: Severity, path: readonly PathSegment[], message: string, target?: 'key' | 'value') => void;

/**
 * Programs that draw a screen (editors, monitors, pagers) started by a step's command: its
 * output is piped to the log, so they would draw into the log and the operator would type
 * blind. A heuristic for a warning: each command start (after a separator or a keyword),
 * past `sudo` and its options; batch modes and pagers reading a pipe are left alone.
 */
const SCREEN_PROGRAMS: Record<string, (args: string) => boolean> = {
  vi: () => true,
  vim: () => true,
  nvim: () => true,
  nano: () => true,
  pico: () => true,
  emacs: (args) => !/(?:^|\s)--?batch\b/.test(args),
  visudo: (args) => !/(?:^|\s)-c\b/.test(args),
  vipw: () => true,
  vigr: () => true,
  edquota: () => true,
  crontab: (args) => /(?:^|\s)-e\b/.test(args),
  systemctl: (args) => /^edit\b/.test(args),
  top: (args) => !/(?:^|\s)-\w*b/.test(args),
  htop: () => true,
  iotop: (args) => !/(?:^|\s)(?:-\w*b|--batch)\b/.test(args),
  less: () => true,
  more: () => true,
  man: (args) => !/(?:^|\s)-P\b/.test(args),
};
const PAGERS = new Set(['less', 'more', 'man']);
const COMMAND_START = /(^|\|\||&&|[;&(\n]|\|(?!\|))[ \t]*((?:sudo(?:[ \t]+-[ugCDhpRrTt][ \t]+[^\s-]\S*|[ \t]+-\S+)*[ \t]+)?)([\w.!-]+)([^\n;&|)]*)/g;
const KEYWORDS = new Set(['if', 'then', 'else', 'elif', 'do', 'while', 'until', 'time', '!', 'exec', 'command', 'nohup']);

function fullScreenProgram(run: string): string | undefined {
  for (const m of run.matchAll(COMMAND_START)) {
    const [, separator, , program, rest] = m;
    if (program !== undefined && KEYWORDS.has(program)) {
      const inner = fullScreenProgram(rest ?? '');
      if (inner !== undefined) return inner;
      continue;
    }
    const wants = program === undefined ? undefined : SCREEN_PROGRAMS[program];
    if (wants === undefined || !wants((rest ?? '').trim())) continue;
    // A pager whose input is a pipe prints like cat: harmless.
    if (separator === '|' && PAGERS.has(program!)) continue;
    return program === 'crontab' ? 'crontab -e' : program === 'systemctl' ? 'systemctl edit' : program;
  }
  return undefined;
}
/** Reports at a piece of a value (a `{{name}}` in a run): the `occurrence`-th copy of `needle`. */
type ReportAt = (severity: Severity, path: readonly PathSegment[], needle: string, occurrence: number, message: string) => void;

/** The parts of a zod issue the messages use; zod's own union type is wider than needed. */
interface SchemaIssue {
  code: string;
  path: PropertyKey[];
  message: string;
  input?: unknown;
  keys?: string[];
  values?: unknown[];
  expected?: string;
  errors?: SchemaIssue[][];
  issues?: SchemaIssue[];
}

function reportIssue(issue: SchemaIssue, base: readonly PathSegment[], report: Report): void {
  const path = [...base, ...issue.path.filter((s): s is string | number => typeof s !== 'symbol')];
  const where = describePath(path);
  switch (issue.code) {
    case 'unrecognized_keys':
      for (const key of issue.keys ?? [])
        report(
          'error',
          [...path, key],
          key === ''
            ? `${describePath(path)}: a key with no name (\`~\`, \`null\` or nothing before the colon): name the field or remove the line`
            : `${describePath([...path, key])}: unknown field \`${shortKey(key)}\`${suggest(key, path)}`,
          'key',
        );
      return;
    case 'invalid_key': {
      // A bad name in a map (vars, docs, env): the key is at fault, and the inner issue says why.
      const why = issue.issues?.[0]?.message;
      report('error', path, `${where}: ${why ? cleanMessage(why) : 'invalid name'}`, 'key');
      return;
    }
    case 'invalid_value':
      if (issue.values && issue.values.length > 0) {
        report(
          'error',
          path,
          `${where}: must be one of ${issue.values.map(String).join(', ')}${issue.input === undefined ? '' : ` (not ${JSON.stringify(issue.input)})`}`,
        );
        return;
      }
      break;
    case 'invalid_union': {
      // zod says only "Invalid input". The branch whose type matched (an array for
      // `exit: [0, x]`) knows what is wrong inside; when none matched, list the types.
      const branches = issue.errors ?? [];
      const typeOnly = (b: SchemaIssue[]) => b.length === 1 && b[0]!.code === 'invalid_type' && b[0]!.path.length === 0;
      const deep = branches.filter((b) => !typeOnly(b));
      if (deep.length === 1) {
        for (const inner of deep[0]!) reportIssue(inner, path, report);
        return;
      }
      if (deep.length === 0 && branches.length > 0) {
        const expected = [...new Set(branches.map((b) => b[0]!.expected ?? 'value'))];
        report('error', path, `${where}: expected ${joinOr(expected)}, received ${typeName(issue.input)}`);
        return;
      }
      break;
    }
    case 'invalid_type':
      if (issue.input === undefined && path.length > 0) {
        const field = String(path[path.length - 1]);
        report('error', path.slice(0, -1), `${describePath(path.slice(0, -1))}: missing required field \`${field}\``);
        return;
      }
      if (issue.input === null && issue.expected) {
        report('error', path, `${where}: is empty (expected ${issue.expected})`);
        return;
      }
      break;
  }
  report('error', path, `${where}: ${cleanMessage(issue.message)}`);
}

function joinOr(items: string[]): string {
  return items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} or ${items[items.length - 1]}`;
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value === 'object' ? 'object' : typeof value;
}

function checkVersion(raw: Record<string, unknown>, report: Report): void {
  if (!('drbook' in raw)) {
    report('error', [], 'missing format version: add `drbook: 1` at the top');
    return;
  }
  const version = raw.drbook;
  if (version === null) {
    report('error', ['drbook'], 'the format version is empty: write `drbook: 1`', 'key');
    return;
  }
  if (typeof version === 'string' && Number(version) === FORMAT_VERSION) {
    report(
      'error',
      ['drbook'],
      `the format version must be the number ${FORMAT_VERSION}, not the string ${JSON.stringify(version)}: write \`drbook: ${FORMAT_VERSION}\``,
    );
    return;
  }
  if (version !== FORMAT_VERSION) {
    const shown = JSON.stringify(version) ?? String(version);
    const newer = typeof version === 'number' && version > FORMAT_VERSION;
    report('error', ['drbook'], `unsupported format version ${shown}: this drbook reads version ${FORMAT_VERSION}${newer ? ' (upgrade drbook)' : ''}`);
  }
}

type ShellText = { text: string; dialect: ShellDialect };

function checkMeaning(
  raw: Record<string, unknown>,
  ctx: LoadContext,
  report: Report,
  reportAt: ReportAt,
): { shellTexts: ShellText[]; commandTexts: ShellText[] } {
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
  // Only step fields are templated (SPEC): a {{name}} in the runbook's own title or summary
  // would reach the screen, the bundle's index and the post-mortem as written.
  for (const field of ['title', 'summary'] as const) {
    const text = raw[field];
    if (typeof text !== 'string') continue;
    const names = scanTemplate(text).refs.map((ref) => ref.name);
    if (names.length > 0)
      report(
        'warning',
        [field],
        `${field}: {{${names[0]}}} is shown as written: only step fields are templated (${[...TEMPLATED_STEP_FIELDS, 'env'].join(', ')})`,
      );
  }
  if (typeof raw.rto === 'string') {
    const rto = parseDuration(raw.rto);
    if (rto === undefined) report('error', ['rto'], `rto: cannot read duration "${raw.rto}": use forms like 90m, 2h, 1h30m`);
    else if (rto === 0) report('error', ['rto'], 'rto: must be more than 0');
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
      if (choices && !choices.includes(d))
        report('error', ['vars', name, 'default'], `vars.${name}.default: "${d}" is not one of its choices (${choices.join(', ')})`);
      if (pattern && !pattern.test(d)) report('error', ['vars', name, 'default'], `vars.${name}.default: "${d}" does not match its pattern ${def.pattern}`);
    }
    if (def.secret === true && def.default !== undefined)
      report('warning', ['vars', name, 'default'], `vars.${name}: a secret with a default is stored in the runbook in clear`);
  }

  for (const [key, value] of Object.entries(docs)) {
    // A doc that is not a mapping already has its schema error.
    if (isRecord(value)) checkDocLink(value, ['docs', key], `docs.${key}`, ctx, report);
  }

  const dialect: ShellDialect = raw.shell === 'sh' ? 'sh' : 'bash';
  const shellTexts: ShellText[] = [];
  const commandTexts: ShellText[] = [];
  const sitesOf = (text: string) => ctx.shellSites?.(text, dialect) ?? [];
  const patternOf = (name: string) => {
    const p = asRecord(vars[name]).pattern;
    return typeof p === 'string' ? p : undefined;
  };
  const seenIds = new Map<string, number>();
  const captured = new Map<string, number>();
  // Which steps capture each name, for "captured only later": one pass, not one per reference.
  const capturedBy = new Map<string, number[]>();
  steps.forEach((s, i) => {
    const name = asRecord(s).capture;
    if (typeof name === 'string') capturedBy.set(name, [...(capturedBy.get(name) ?? []), i]);
  });
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
      // A command: run, and the undo of a step with run (a manual step's undo is text).
      const last = path[path.length - 1];
      const shellText = last === 'run' || (last === 'undo' && step.run !== undefined && step.run !== null);
      if (shellText && !ctx.shellSites && text.includes('{{')) shellTexts.push({ text, dialect });
      if (shellText && !text.includes('{{')) {
        // A command with placeholders is parsed for its sites, which refuse one that does not parse.
        if (!ctx.shellSyntax) commandTexts.push({ text, dialect });
        else {
          const bad = ctx.shellSyntax(text, dialect);
          if (bad) {
            const [needle, n] = lineNeedle(text, bad.line);
            reportAt('error', path, needle, n, `${label}: does not parse as ${dialect}: ${bad.message}`);
          }
        }
      }
      const { refs, malformed } = scanTemplate(text);
      // Point at the `{{...}}` itself: the n-th copy of the same text in the value.
      const seen = new Map<string, number>();
      const here = (ref: { offset: number; length: number }) => {
        const raw = text.slice(ref.offset, ref.offset + ref.length);
        const n = seen.get(raw) ?? 0;
        seen.set(raw, n + 1);
        return [raw, n] as const;
      };
      for (const bad of malformed) {
        const [raw, n] = here(bad);
        reportAt('error', path, raw, n, `${label}: malformed template "${oneLine(raw)}": use {{name}} with a declared var`);
      }
      seen.clear();
      const reparsed = path[path.length - 1] === 'run' ? reparsedPlaceholders(text, refs) : [];
      for (const ref of refs) {
        const [raw, n] = here(ref);
        used.add(ref.name);
        const site = shellText && ctx.shellSites ? sitesOf(text).find((s) => s.offset === ref.offset) : undefined;
        const refusal = site && siteRefusal(site, patternOf(ref.name));
        // Refused already (eval, the script of sh -c): the error says more than the hint.
        const far = refusal ? undefined : reparsed.find((r) => r.offset === ref.offset);
        if (far)
          reportAt(
            'warning',
            path,
            raw,
            n,
            `${label}: {{${ref.name}}} is an argument of ${far.via}, which parses it again as shell code on the far side (the value is quoted for this shell only): ${farSideFix(far.via, ref.name)}`,
          );
        const program = refusal || !site ? undefined : programWarning(site);
        if (program) reportAt('warning', path, raw, n, `${label}: ${program}`);
        if (!known(ref.name)) reportAt('error', path, raw, n, `${label}: unknown variable {{${ref.name}}}${laterCapture(capturedBy.get(ref.name), index)}`);
        if (refusal) reportAt('error', path, raw, n, `${label}: ${refusal}`);
        // The command's own bash reads these from its environment as code before the script runs.
        const envName = path[path.length - 2] === 'env' ? String(last) : undefined;
        if (envName !== undefined && CODE_VARIABLES.test(envName))
          reportAt(
            'error',
            path,
            raw,
            n,
            `${label}: {{${ref.name}}} cannot be substituted in ${envName}: the command's bash reads ${envName} from its environment as code or options before the script runs (BASH_ENV names a file it sources, prompts are expanded, PROMPT_COMMAND and BASH_FUNC_* run): write a fixed value there, and use {{${ref.name}}} in run`,
          );
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
        } else if (isRecord(ref)) {
          checkDocLink(ref, ['steps', index, 'docs', i], `${where}.docs[${i}]`, ctx, report);
        }
      });
    }
    if (typeof step.when === 'string') {
      used.add(parseCondition(step.when)?.name ?? '');
      checkWhen(step.when, vars, known, ['steps', index, 'when'], `${where}.when`, report);
    }
    if (typeof step.timeout === 'string') {
      const timeout = parseDuration(step.timeout);
      if (timeout === undefined)
        report('error', ['steps', index, 'timeout'], `${where}.timeout: cannot read duration "${step.timeout}": use forms like 30s, 10m, 1h30m`);
      else if (timeout === 0) report('error', ['steps', index, 'timeout'], `${where}.timeout: must be more than 0 (leave it out for no timeout)`);
      else if (timeout > MAX_TIMEOUT_MS)
        report(
          'error',
          ['steps', index, 'timeout'],
          `${where}.timeout: "${step.timeout}" is longer than the 24 days a timer can wait (leave it out for no timeout)`,
        );
    }
    const expect = asRecord(step.expect);
    for (const stream of ['stdout', 'stderr'] as const) {
      if (typeof expect[stream] === 'string') compileRegex(expect[stream] as string, ['steps', index, 'expect', stream], `${where}.expect.${stream}`, report);
    }
    // A run of the wrong type is a schema error, not a manual step.
    const hasRun = step.run !== undefined && step.run !== null;
    if (typeof step.capture === 'string') {
      if (declared.has(step.capture)) {
        report('error', ['steps', index, 'capture'], `${where}.capture: "${step.capture}" shadows the declared var of the same name: pick another name`);
      }
      if (!hasRun) report('error', ['steps', index, 'capture'], `${where}.capture: a manual step has no output to capture (add run:)`);
      captured.set(step.capture, index);
    }
    checkUntilAndUndo(step, index, where, hasRun, report, checkTemplate);
    if (typeof step.run === 'string') {
      const screen = fullScreenProgram(step.run);
      if (screen !== undefined) {
        reportAt(
          'warning',
          ['steps', index, 'run'],
          screen,
          0,
          `${where}.run: ${screen} draws on the terminal, but a command's output goes to its log through a pipe: it would run blind. Make it a manual step (do it in another terminal) or run it without a screen`,
        );
      }
    }
    if (!hasRun) {
      for (const field of ['expect', 'timeout', 'on_failure', 'safe', 'idempotent', 'cwd', 'env'] as const) {
        if (step[field] !== undefined) report('warning', ['steps', index, field], `${where}.${field} has no effect on a manual step (no run:)`, 'key');
      }
    }
  });

  if (Array.isArray(raw.notify)) {
    for (const p of checkNotifyList(raw.notify).problems) report(p.severity, ['notify', ...p.path], p.message, p.target);
  }
  if (typeof raw.recovery_point === 'string') {
    const name = raw.recovery_point;
    if (declared.has(name)) used.add(name);
    else if (!captured.has(name))
      report(
        'error',
        ['recovery_point'],
        `recovery_point: unknown variable "${name}": declare it under vars: or capture it in a step (it holds the ISO time of the data restored)`,
      );
  }
  if (typeof raw.rpo === 'string') {
    const rpo = parseDuration(raw.rpo);
    if (rpo === undefined) report('error', ['rpo'], `rpo: cannot read duration "${raw.rpo}": use forms like 15m, 24h, 1h30m`);
    if (raw.recovery_point === undefined)
      report('warning', ['rpo'], 'rpo: without recovery_point the export cannot tell how much data was lost: name the var that holds the backup time');
  }
  for (const name of declared) {
    if (!used.has(name)) report('warning', ['vars', name], `vars.${name} is never used by any step`, 'key');
  }
  for (const key of Object.keys(docs)) {
    if (!usedDocs.has(key)) report('warning', ['docs', key], `docs.${key} is never linked from a step`, 'key');
  }
  return { shellTexts, commandTexts };
}

/** The text of a command's line (from 1), and how many copies of it come before, to point at it. */
function lineNeedle(text: string, line: number): [string, number] {
  const all = text.split('\n');
  if (line < 1 || line > all.length) return ['', 0];
  const needle = all[line - 1]!.trim();
  if (needle === '') return ['', 0];
  const before = all.slice(0, line - 1).join('\n');
  let n = 0;
  for (let at = before.indexOf(needle); at !== -1; at = before.indexOf(needle, at + 1)) n++;
  return [needle, n];
}

/**
 * A value that ends up as text in a command or the environment (a var's default and
 * choices, a step's env) is used as written when YAML would read it as a number or a
 * boolean written differently: `default: 0755` is the mode 0755, not 755, `1.10` a version,
 * not 1.1, and 12345678901234567890 must not lose its last digits. A warning asks to
 * quote it, so that the file says what it means to any other reader.
 */
function keepNumbersAsWritten(doc: Document, raw: Record<string, unknown>, report: Report): void {
  const keep = (holder: Record<string, unknown> | unknown[], key: string | number, path: PathSegment[]) => {
    const value = (holder as Record<string | number, unknown>)[key];
    if (typeof value !== 'number' && typeof value !== 'boolean') return;
    const node = doc.getIn(path, true);
    // An explicit tag (!!int 0755) asks for the conversion.
    if (!isScalar(node) || node.tag !== undefined || typeof node.source !== 'string' || node.source === String(value)) return;
    (holder as Record<string | number, unknown>)[key] = node.source;
    report(
      'warning',
      path,
      `${describePath(path)}: ${node.source} is read by YAML as the ${typeof value} ${String(value)}; drbook uses it as written ("${node.source}"): quote it to say so`,
    );
  };
  for (const [name, def] of Object.entries(asRecord(raw.vars))) {
    if (!isRecord(def)) continue;
    keep(def, 'default', ['vars', name, 'default']);
    if (Array.isArray(def.choices)) def.choices.forEach((_, i) => keep(def.choices as unknown[], i, ['vars', name, 'choices', i]));
  }
  if (Array.isArray(raw.steps))
    raw.steps.forEach((step, index) => {
      const env = asRecord(asRecord(step).env);
      for (const key of Object.keys(env)) keep(env, key, ['steps', index, 'env', key]);
    });
}

/**
 * Format 1.1: `until` polls a command, so it needs `run` and two durations, the interval
 * shorter than the timeout; `undo` is templated like `run` (for a manual step it is text
 * telling the operator what to undo by hand, so `{ run }` there is refused).
 */
function checkUntilAndUndo(
  step: Record<string, unknown>,
  index: number,
  where: string,
  hasRun: boolean,
  report: Report,
  checkTemplate: (text: unknown, path: PathSegment[], label: string) => void,
): void {
  const until = step.until;
  if (isRecord(until)) {
    if (!hasRun) report('error', ['steps', index, 'until'], `${where}.until: a manual step has no command to repeat (add run:)`, 'key');
    const ms: Partial<Record<'interval' | 'timeout', number>> = {};
    for (const field of ['interval', 'timeout'] as const) {
      const raw = until[field];
      if (typeof raw !== 'string') continue;
      const value = parseDuration(raw);
      if (value === undefined)
        report('error', ['steps', index, 'until', field], `${where}.until.${field}: cannot read duration "${raw}": use forms like 10s, 5m, 1h30m`);
      else if (value === 0) report('error', ['steps', index, 'until', field], `${where}.until.${field}: must be more than 0`);
      else if (value > MAX_TIMEOUT_MS)
        report('error', ['steps', index, 'until', field], `${where}.until.${field}: "${raw}" is longer than the 24 days a timer can wait`);
      else ms[field] = value;
    }
    if (ms.interval !== undefined && ms.timeout !== undefined && ms.interval > ms.timeout) {
      report(
        'error',
        ['steps', index, 'until', 'interval'],
        `${where}.until.interval: ${String(until.interval)} is longer than the timeout ${String(until.timeout)}: the command would run only once`,
      );
    }
  }
  const undo = step.undo;
  if (typeof undo === 'string') {
    // A command undo is checked like run (quotes around a value); a manual one is text.
    checkTemplate(undo, ['steps', index, 'undo'], `${where}.undo`);
  } else if (isRecord(undo)) {
    if (!hasRun)
      report(
        'error',
        ['steps', index, 'undo'],
        `${where}.undo: a manual step's undo is text telling the operator what to do (undo: "..."), not a command`,
        'key',
      );
    checkTemplate(undo.run, ['steps', index, 'undo', 'run'], `${where}.undo.run`);
    checkTemplate(undo.confirm, ['steps', index, 'undo', 'confirm'], `${where}.undo.confirm`);
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

function checkWhen(text: string, vars: Record<string, unknown>, known: (name: string) => boolean, path: PathSegment[], label: string, report: Report): void {
  const condition = parseCondition(text);
  if (!condition) {
    report('error', path, `${label}: "${text}" is not a condition: use \`name == value\` or \`name != value\``);
    return;
  }
  // A var captured by an earlier step is as good as a declared one: the engine reads both.
  if (!known(condition.name)) {
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

/** How to pass a value to a command that parses its arguments again. */
function farSideFix(via: string, name: string): string {
  const env = `env: { V: "{{${name}}}" }`;
  if (via === 'ssh')
    return `quote it for the far side, ${env} and ssh host "cmd $(printf %q "$V")" (an environment variable alone does not cross ssh), or give the var a pattern that admits no shell characters`;
  return `pass it through ${env} and write '"$V"' inside single quotes there (${via} 'cmd "$V"'), so that the far side reads the variable, not its value`;
}

function laterCapture(capturedAt: number[] | undefined, index: number): string {
  const later = capturedAt?.find((i) => i >= index);
  if (later === undefined) return ': declare it under vars: or capture it in an earlier step';
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
    if (def.until) step.poll = { intervalMs: parseDuration(def.until.interval) ?? 0, timeoutMs: parseDuration(def.until.timeout) ?? 0 };
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
  if (doc.rpo !== undefined) runbook.rpo = doc.rpo;
  if (doc.recovery_point !== undefined) runbook.recoveryPoint = doc.recovery_point;
  if (doc.notify !== undefined) runbook.notify = doc.notify;
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
  return isRecord(value) ? value : {};
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function describePath(path: readonly PathSegment[]): string {
  if (path.length === 0) return 'runbook';
  return path.map((s, i) => (typeof s === 'number' ? `[${s}]` : i === 0 ? shortKey(s) : `.${shortKey(s)}`)).join('');
}

/** A key as it can stand in a one-line message: a multi-line or 2 MB key is cut. */
function shortKey(key: string): string {
  const flat = key.replace(/\r?\n|\r/g, '\\n');
  return flat.length > 60 ? `${flat.slice(0, 57)}...` : flat;
}

/**
 * Every problem is one `file:line:col: severity: message` line, whatever text of the
 * file a message quotes (a multi-line key, a 1 MB value).
 */
function singleLine(message: string): string {
  const flat = message.replace(/\r?\n|\r/g, '\\n');
  return flat.length > 500 ? `${flat.slice(0, 497)}...` : flat;
}

const KNOWN_FIELDS: Record<string, string[]> = {
  top: ['drbook', 'id', 'title', 'summary', 'owner', 'rto', 'rpo', 'recovery_point', 'tags', 'shell', 'docs', 'vars', 'steps', 'notify'],
  step: [
    'id',
    'title',
    'description',
    'run',
    'confirm',
    'ask',
    'expect',
    'safe',
    'idempotent',
    'docs',
    'cwd',
    'env',
    'timeout',
    'capture',
    'when',
    'on_failure',
    'milestone',
    'until',
    'undo',
  ],
  until: ['interval', 'timeout'],
  undo: ['run', 'confirm'],
  var: ['prompt', 'description', 'default', 'env', 'secret', 'pattern', 'choices'],
  expect: ['exit', 'stdout', 'stderr'],
  doc: ['title', 'url', 'path'],
};

/** Names other tools use for the same thing. */
const FIELD_ALIASES: Record<string, string> = {
  command: 'run',
  comand: 'run',
  cmd: 'run',
  script: 'run',
  name: 'title',
  desc: 'description',
  depends_on: 'when',
  if: 'when',
  vars: 'ask',
  link: 'url',
  file: 'path',
  href: 'url',
  onfailure: 'on_failure',
  on_error: 'on_failure',
  secret_env: 'env',
};

/** "did you mean" for a misspelt field: stressed authors type `comand`. */
function suggest(key: string, path: readonly PathSegment[]): string {
  const kind =
    path.length === 0
      ? 'top'
      : path[0] === 'steps' && path.length === 2
        ? 'step'
        : path[0] === 'vars' && path.length === 2
          ? 'var'
          : path[path.length - 1] === 'expect'
            ? 'expect'
            : path[path.length - 1] === 'until'
              ? 'until'
              : path[path.length - 1] === 'undo'
                ? 'undo'
                : 'doc';
  const candidates = KNOWN_FIELDS[kind] ?? [];
  let best: string | undefined;
  // At most 2 edits, and no more than a third of the key: `<<` is not a typo of `id`.
  let bestDistance = Math.min(3, Math.floor(key.length / 3) + 1);
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

/** The yaml library's messages, reworded where they speak to a programmer. */
function yamlMessage(message: string, code?: string): string {
  if (/call stack/i.test(message)) return `nested too deeply to read (a runbook is a few levels of mappings and lists)`;
  if (code === 'MULTIPLE_DOCS') return 'a runbook file holds one YAML document: remove the second `---` and what follows, or split it into two files';
  return message.replace(/ at line \d+, column \d+:?$/, '');
}

/**
 * Where a YAML error is best shown. The library points an unclosed quote at the end of
 * the file and a badly indented line at its first column; the author needs the opening
 * quote and the first character of the line.
 */
function yamlErrorPosition(doc: Document, lines: LineCounter, text: string, error: YAMLError): Position {
  let offset = error.pos[0];
  if (/closing .?quote/i.test(error.message)) {
    let open: number | undefined;
    visit(doc, {
      Scalar(_key, node) {
        const range = node.range;
        if ((node.type === 'QUOTE_DOUBLE' || node.type === 'QUOTE_SINGLE') && range && range[0] < offset && offset <= range[1] + 1) open = range[0];
      },
    });
    if (open !== undefined) return toPosition(lines, open);
  }
  const unclosed = /^Flow (sequence|map) .*end with a [\]}]/.exec(error.message);
  if (unclosed) {
    // The bracket that was never closed, not the end of the file where the parser gave up.
    let open: number | undefined;
    const wanted = unclosed[1] === 'sequence' ? 'seq' : 'map';
    visit(doc, (_key, node) => {
      const collection = wanted === 'seq' ? (isSeq(node) ? node : undefined) : isMap(node) ? node : undefined;
      const range = collection?.range;
      if (collection?.flow && range && range[0] < offset && offset <= range[1] + 1 && (open === undefined || range[0] > open)) open = range[0];
    });
    if (open !== undefined) return toPosition(lines, open);
  }
  if (error.code !== 'TAB_AS_INDENT') {
    while (text[offset] === ' ') offset++;
    if (offset > error.pos[0] && (text[offset] === '\n' || offset >= text.length)) offset = error.pos[0];
  }
  return toPosition(lines, Math.min(offset, text.length));
}

/** Keys repeated in a mapping, each with where it first appeared; without recursion. */
function duplicateKeys(doc: Document): { key: string; at: number; first: number }[] {
  const found: { key: string; at: number; first: number }[] = [];
  const stack: unknown[] = [doc.contents];
  while (stack.length > 0) {
    const node = stack.pop();
    if (isMap(node)) {
      const seen = new Map<string, number>();
      for (const pair of node.items) {
        const key = pair.key;
        if (isScalar(key) && key.range) {
          // As the yaml library compares: the value and its type (1 and "1" differ).
          const id = `${typeof key.value}:${String(key.value)}`;
          const first = seen.get(id);
          if (first === undefined) seen.set(id, key.range[0]);
          else found.push({ key: String(key.value), at: key.range[0], first });
        }
        stack.push(pair.key, pair.value);
      }
    } else if (isSeq(node)) {
      for (const item of node.items as unknown[]) stack.push(item);
    }
  }
  return found;
}

/** The offset of the first node nested deeper than MAX_DEPTH, found without recursion. */
function tooDeep(doc: Document): number | undefined {
  const stack: { node: unknown; depth: number }[] = [{ node: doc.contents, depth: 1 }];
  while (stack.length > 0) {
    const { node, depth } = stack.pop()!;
    if (!isCollection(node)) continue;
    if (depth > MAX_DEPTH) return node.range?.[0] ?? 0;
    for (const item of node.items as unknown[]) {
      const pair = item as { key?: unknown; value?: unknown };
      if (isCollection(item) || isScalar(item) || isAlias(item)) stack.push({ node: item, depth: depth + 1 });
      else {
        stack.push({ node: pair.key, depth: depth + 1 });
        stack.push({ node: pair.value, depth: depth + 1 });
      }
    }
  }
  return undefined;
}

/**
 * YAML allows no control characters but tab and line breaks in a file; one there is a
 * paste from a terminal or a binary file, and would reach the operator's terminal from a
 * title as an escape sequence. Written as an escape ("\x1b") inside double quotes it is
 * deliberate and allowed.
 */
function controlCharacters(text: string, file: string): Problem[] {
  const problems: Problem[] = [];
  let line = 1;
  let lineStart = 0;
  // A regular expression, not a loop over every character: the loop was hot enough for V8
  // to optimize it on a background thread that every drbook start then waited for at exit.
  for (const match of text.matchAll(CONTROL_CHARACTER)) {
    const at = match.index;
    for (let newline = text.indexOf('\n', lineStart); newline !== -1 && newline < at; newline = text.indexOf('\n', lineStart)) {
      line++;
      lineStart = newline + 1;
    }
    const hex = text.charCodeAt(at).toString(16).padStart(2, '0');
    problems.push({
      file,
      line,
      col: at - lineStart + 1,
      severity: 'error',
      message: `YAML: control character U+00${hex.toUpperCase()} in the file; if it is meant, write it as "\\x${hex}" inside double quotes`,
    });
    if (problems.length === 20) break; // a binary file would give thousands
  }
  return problems;
}

/**
 * A control character written as an escape (`"\e]0;title\a"`) is in a value, not in the
 * file: drbook shows it as `\e`, never sends it to the terminal, but it is almost surely a
 * mistake or an attempt to retitle or clear the operator's terminal.
 */
function escapedControls(value: unknown, path: PathSegment[], report: Report, seen = new Set<object>()): void {
  if (typeof value === 'object' && value !== null) {
    // An alias can make the data cyclic (a node that contains itself): visit each node once.
    if (seen.has(value)) return;
    seen.add(value);
  }
  if (typeof value === 'string') {
    if (hasControl(value))
      report(
        'warning',
        path,
        `control character in the text (${visible(value.slice(0, 60))}): drbook shows it as text and never sends it to the terminal; remove it`,
      );
    const field = path[path.length - 1];
    if ((field === 'title' || field === 'prompt') && value.trimEnd().includes('\n')) {
      report('warning', path, `a ${field} is one line: its line break is shown as ^J (a description can hold several lines); remove it`);
    }
  } else if (Array.isArray(value)) {
    value.forEach((item, i) => escapedControls(item, [...path, i], report, seen));
  } else if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
      if (hasControl(key)) report('warning', [...path, key], `control character in the key ${visible(key)}: remove it`, 'key');
      escapedControls(item, [...path, key], report, seen);
    }
  }
}

/** C0 controls but tab, line feed and carriage return; DEL; C1 controls but NEL (U+0085). */
const CONTROL_CHARACTER = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f]/g;

/** The first merge key (`<<`) in the file, to point at. */
function firstMergeKey(doc: Document): number | undefined {
  let found: number | undefined;
  visit(doc, {
    Pair(_key, pair) {
      if (isPair(pair) && isScalar(pair.key) && pair.key.source === '<<') {
        found = pair.key.range?.[0];
        return visit.BREAK;
      }
      return undefined;
    },
  });
  return found;
}

/** The first alias in the file (or the first that names no anchor), to point at. */
function firstAlias(doc: Document, unresolvedOnly: boolean): number | undefined {
  let found: number | undefined;
  visit(doc, {
    Alias(_key, node) {
      if (unresolvedOnly && node.resolve(doc) !== undefined) return undefined;
      found = node.range?.[0];
      return visit.BREAK;
    },
  });
  return found;
}

function oneLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split('\n')[0]!.trim();
}

function sortProblems(problems: Problem[]): void {
  problems.sort((a, b) => a.line - b.line || a.col - b.col);
}
