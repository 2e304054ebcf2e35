import { choiceValues } from './runbook-loader.js';
import type { ResolvedDoc, Runbook, Step, VarDef } from './model.js';
import { templateNames } from './template.js';
import { undoOf } from './undo.js';

/** How a local doc path is shown or linked (relative to the reader, or into a bundle). */
export type DocHref = (doc: ResolvedDoc) => string | undefined;

function docLocation(doc: ResolvedDoc): string | undefined {
  if (!doc.path) return undefined;
  return doc.anchor ? `${doc.path}#${doc.anchor}` : doc.path;
}

function varLine(name: string, def: VarDef): string {
  const parts: string[] = [];
  // A description written as a sentence ends with a full stop: not before "; default …".
  if (def.prompt) parts.push(def.prompt.replace(/\.\s*$/, ''));
  else if (def.description) parts.push(def.description.replace(/\.\s*$/, ''));
  const choices = choiceValues(def.choices);
  if (choices) parts.push(`one of: ${choiceTexts(def).join(', ')}`);
  if (def.default !== undefined) parts.push(`default ${def.secret ? '***' : String(def.default)}`);
  if (def.env) parts.push(`from $${def.env}`);
  if (def.pattern) parts.push(`must match ${def.pattern}`);
  if (def.secret) parts.push('secret');
  return `${name}: ${parts.join('; ') || 'asked when needed'}`;
}

/** Each choice with what it means, when the runbook says: `reuse (Point the old name at the new IP)`. */
function choiceTexts(def: VarDef): string[] {
  const choices = def.choices;
  if (choices === undefined) return [];
  if (Array.isArray(choices)) return choices.map(String);
  return Object.entries(choices).map(([value, text]) => (text === undefined || text === null || String(text) === '' ? value : `${value} (${String(text)})`));
}

/** Where a var's value comes from, in a few words. */
function varSource(name: string, runbook: Runbook): string {
  const def = runbook.vars[name];
  if (!def) {
    const by = runbook.steps.find((s) => s.capture === name);
    return by ? `output of step ${by.id}` : 'unknown';
  }
  const from: string[] = [];
  if (def.env) from.push(`$${def.env}`);
  if (def.prompt !== undefined || def.choices !== undefined || def.default === undefined) from.push('asked');
  if (def.default !== undefined) from.push(`default ${def.secret ? '***' : String(def.default)}`);
  return `var ${name}${def.secret ? ', secret' : ''}: ${from.join(', else ')}`;
}

/**
 * A step's `env:`, one entry a line: `NAME=value  <- where the value comes from` (a var,
 * with its own source, or written in the runbook).
 */
function envEntries(step: Step, runbook: Runbook): { assignment: string; source: string }[] {
  return Object.entries(step.env ?? {}).map(([key, raw]) => {
    const value = String(raw);
    const names = [...new Set(templateNames(value))];
    const source = names.length === 0 ? 'as written in the runbook' : names.map((n) => varSource(n, runbook)).join('; ');
    return { assignment: `${key}=${value}`, source };
  });
}

/** Inline code that survives backticks in the text. */
function codeSpan(text: string): string {
  const longest = Math.max(0, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const ticks = '`'.repeat(longest + 1);
  const pad = text.startsWith('`') || text.endsWith('`') ? ' ' : '';
  return `${ticks}${pad}${text.replace(/\r?\n/g, ' ')}${pad}${ticks}`;
}

function stepFlags(step: Step): string[] {
  const flags: string[] = [];
  if (!step.run) flags.push('manual');
  if (step.safe) flags.push('safe (read-only)');
  if (step.when) flags.push(`only when ${step.when}`);
  if (step.timeout) flags.push(`timeout ${step.timeout}`);
  if (step.until) flags.push(`repeats every ${step.until.interval} until it succeeds, up to ${step.until.timeout}`);
  if (step.on_failure && step.on_failure !== 'ask') flags.push(`on failure: ${step.on_failure}`);
  if (step.ask?.length) flags.push(`asks ${step.ask.join(', ')}`);
  if (step.capture) flags.push(`captures ${step.capture}`);
  if (step.expect?.exit !== undefined) flags.push(`expects exit ${[step.expect.exit].flat().join(' or ')}`);
  if (step.expect?.stdout) flags.push(`expects stdout /${step.expect.stdout}/`);
  if (step.expect?.stderr) flags.push(`expects stderr /${step.expect.stderr}/`);
  return flags;
}

function indent(text: string, prefix: string): string {
  return text
    .split('\n')
    .map((line) => (line === '' ? '' : prefix + line))
    .join('\n');
}

/** `drbook show`: the runbook as plain text for a terminal. */
export function renderRunbookText(runbook: Runbook): string {
  const out: string[] = [];
  out.push(runbook.title);
  out.push('='.repeat(Math.min(runbook.title.length, 72)));
  if (runbook.summary) out.push(runbook.summary.trim());
  const meta = [`id: ${runbook.id}`, `steps: ${runbook.steps.length}`];
  if (runbook.rto) meta.push(`rto: ${runbook.rto}`);
  if (runbook.owner) meta.push(`owner: ${runbook.owner}`);
  if (runbook.tags.length) meta.push(`tags: ${runbook.tags.join(', ')}`);
  out.push(meta.join('   '), `file: ${runbook.file}`, '');
  const vars = Object.entries(runbook.vars);
  if (vars.length) {
    out.push('Variables');
    for (const [name, def] of vars) out.push(`  ${varLine(name, def)}`);
    out.push('');
  }
  runbook.steps.forEach((step) => {
    out.push(`[${step.index + 1}/${runbook.steps.length}] ${step.title}   (${step.id})`);
    const flags = stepFlags(step);
    if (flags.length) out.push(`      ${flags.join(' · ')}`);
    if (step.description) out.push(indent(step.description.trim(), '      '));
    for (const doc of step.docLinks) {
      out.push(`      doc: ${doc.title}`);
      const local = docLocation(doc);
      if (local) out.push(`           ${local}`);
      if (doc.url) out.push(`           ${doc.url}`);
    }
    // One `$ ` for the whole command: a multi-line run (a heredoc, a loop) is one command.
    if (step.run)
      out.push(
        step.run
          .trim()
          .split('\n')
          .map((line, i) => (i === 0 ? `      $ ${line}` : `        ${line}`))
          .join('\n'),
      );
    if (step.cwd) out.push(`      (in ${step.cwd})`);
    for (const entry of envEntries(step, runbook)) out.push(`      env ${entry.assignment}  <- ${entry.source}`);
    if (step.confirm) out.push(`      ? ${step.confirm}`);
    const undo = undoOf(step);
    if (undo?.text !== undefined) out.push(indent(`undo by hand: ${undo.text.trim()}`, '      '));
    if (undo?.run !== undefined)
      out.push(
        undo.run
          .trim()
          .split('\n')
          .map((line, i) => (i === 0 ? `      undo: $ ${line}` : `              ${line}`))
          .join('\n'),
      );
    if (undo?.confirm !== undefined) out.push(`      undo ? ${undo.confirm}`);
    out.push('');
  });
  return out.join('\n');
}

/** Escapes text for markdown so runbook text cannot break the document. */
export function escapeMarkdownInline(text: string): string {
  // `#` and `+` only mean something at the start of a line; escaping them elsewhere
  // leaves stray backslashes in URLs and anchors when the file is read as plain text.
  return text
    .replace(/([\\`*[\]<>!|~]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9]))/g, (m) => `\\${m}`)
    .replace(/^([#+])/, '\\$1')
    .replace(/\r?\n/g, ' ');
}

function fence(code: string): string {
  const longest = Math.max(2, ...[...code.matchAll(/`+/g)].map((m) => m[0].length));
  const ticks = '`'.repeat(longest + 1);
  return `${ticks}sh\n${code.trimEnd()}\n${ticks}`;
}

function mdLink(title: string, href: string): string {
  return `[${escapeMarkdownInline(title)}](<${href.replace(/[<>]/g, encodeURIComponent)}>)`;
}

/**
 * `drbook show --format md`: a printable checklist — `- [ ]` items, commands in fenced
 * blocks, doc links — to keep on paper or beside the terminal when the wiki is down.
 */
export function renderRunbookMarkdown(runbook: Runbook, docHref: DocHref = docLocation): string {
  const out: string[] = [];
  out.push(`# ${escapeMarkdownInline(runbook.title)}`, '');
  if (runbook.summary) out.push(escapeMarkdownInline(runbook.summary.trim()), '');
  const meta = [`**id** \`${runbook.id}\``, `**steps** ${runbook.steps.length}`];
  if (runbook.rto) meta.push(`**RTO** ${escapeMarkdownInline(runbook.rto)}`);
  if (runbook.owner) meta.push(`**owner** ${escapeMarkdownInline(runbook.owner)}`);
  if (runbook.tags.length) meta.push(`**tags** ${runbook.tags.map(escapeMarkdownInline).join(', ')}`);
  out.push(meta.join(' · '), '');
  out.push('Started at: ________  Operator: ________________', '');

  const vars = Object.entries(runbook.vars);
  if (vars.length) {
    out.push('## Variables', '', '| name | what | value |', '| --- | --- | --- |');
    for (const [name, def] of vars) {
      const what = varLine(name, def).slice(name.length + 2);
      out.push(`| \`${name}\` | ${escapeMarkdownInline(what)} | |`);
    }
    out.push('');
  }

  out.push('## Steps', '');
  runbook.steps.forEach((step) => {
    out.push(`- [ ] **${step.index + 1}. ${escapeMarkdownInline(step.title)}** \`${step.id}\``);
    const body: string[] = [];
    const flags = stepFlags(step);
    if (flags.length) body.push(`_${escapeMarkdownInline(flags.join(' · '))}_`, '');
    if (step.description) body.push(closeFences(step.description.trim()), '');
    for (const doc of step.docLinks) {
      const href = docHref(doc);
      const links = [href ? mdLink(doc.title, href) : escapeMarkdownInline(doc.title)];
      if (doc.url && doc.url !== href) links.push(mdLink(doc.url, doc.url));
      body.push(`- Doc: ${links.join(' — ')}`);
    }
    if (step.docLinks.length) body.push('');
    if (step.run) {
      if (step.cwd) body.push(`In \`${step.cwd}\`:`, '');
      body.push(fence(step.run), '');
      const env = envEntries(step, runbook);
      if (env.length) body.push('Environment:', '', ...env.map((e) => `- ${codeSpan(e.assignment)}: ${escapeMarkdownInline(e.source)}`), '');
    }
    if (step.confirm) body.push(`- [ ] ${escapeMarkdownInline(step.confirm)}`, '');
    body.push('Done at: ________', '');
    // Format 1.1: how to reverse the step, for the night it has to be backed out.
    const undo = undoOf(step);
    if (undo?.text !== undefined) body.push(`Undo (by hand): ${escapeMarkdownInline(undo.text.trim())}`, '');
    if (undo?.run !== undefined) body.push('Undo:', '', fence(undo.run), '');
    if (undo?.confirm !== undefined) body.push(`- [ ] ${escapeMarkdownInline(undo.confirm)}`, '');
    out.push(indent(body.join('\n').trimEnd(), '  '), '');
  });
  return (
    out
      .join('\n')
      .replace(/\n{3,}/g, '\n\n')
      .trimEnd() + '\n'
  );
}

/**
 * A description whose code fence is never closed would swallow the rest of the printed
 * checklist (doc links, the command, the confirm box, "Done at"): close it at its end.
 */
function closeFences(text: string): string {
  let open: string | undefined;
  for (const line of text.split('\n')) {
    const fence = /^ {0,3}(`{3,}|~{3,})/.exec(line)?.[1];
    if (fence === undefined) continue;
    if (open === undefined) open = fence;
    else if (fence[0] === open[0] && fence.length >= open.length && line.trim() === fence) open = undefined;
  }
  return open === undefined ? text : `${text}\n${open}`;
}
