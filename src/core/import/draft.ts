import type { Nodes, Root, RootContent } from 'mdast';
import { scanTemplate } from '../template.js';
import type { ShellParse } from '../shell-template.js';
import { assignedNames } from './shell-context.js';
import { planCarry, type CarryStep, type CarryVar } from './shell-carry.js';
import { convertCommand, type Substitution } from './placeholders.js';
import { asciiSlug, HeadingSlugger } from './slug.js';

/** One markdown document, parsed. */
export interface SourceDoc {
  /** As shown in comments and messages (`docs/mail.md`). */
  file: string;
  /** The document's path relative to the runbook's directory (for `path: DOC.md#slug`). */
  docPath: string;
  text: string;
  tree: Root;
  /** The front matter's `title:` (see prepareSource): the title when no document has an H1. */
  title?: string;
}

export interface DraftOptions {
  id: string;
  title?: string;
  /**
   * A relative link of `doc` as a path relative to the runbook's directory, or undefined
   * when it points at no file (injected: the core reads no disk).
   */
  resolveLink: (doc: SourceDoc, href: string) => string | undefined;
  /** The bash parser: what one block leaves in the shell for the next (injected: the core does no I/O). */
  parse: ShellParse;
}

export interface Source {
  file: string;
  line: number;
}

export interface DraftDoc {
  title: string;
  url?: string;
  path?: string;
}

export interface DraftVar {
  name: string;
  prompt: string;
  env?: string;
  source: Source;
  token: string;
  default?: string;
  /** The `# TODO` above the var, when not the usual one. */
  note?: string;
}

export interface DraftStep {
  id: string;
  title: string;
  description?: string;
  run?: string;
  cwd?: string;
  confirm?: string;
  env?: Record<string, string>;
  docs: DraftDoc[];
  source: Source;
  todos: string[];
  /** For command steps: the code block's command lines, and what was substituted in them. */
  original?: string;
  substitutions?: Substitution[];
}

export interface Draft {
  id: string;
  title: string;
  summary?: string;
  sources: string[];
  vars: DraftVar[];
  steps: DraftStep[];
}

const SHELL_LANGS = new Set(['sh', 'bash', 'shell', 'zsh']);
const CONSOLE_LANGS = new Set(['console', 'shell-session', 'sh-session']);

interface Section {
  doc: SourceDoc;
  title: string;
  depth: number;
  slug: string;
  line: number;
  nodes: RootContent[];
}

interface CommandBlock {
  start: number;
  end: number;
  line: number;
  command: string;
  /** What the reading of the block itself leaves to check. */
  notes: string[];
}

/** The markdown of the docs → a draft runbook. Pure; never throws on content. */
export function buildDraft(docs: readonly SourceDoc[], options: DraftOptions): Draft {
  const sections = docs.flatMap(splitSections);
  const blocksOf = new Map(sections.map((s) => [s, commandBlocks(s)]));
  const allBlocks = sections.flatMap((s) => blocksOf.get(s)!.map((block) => ({ block, where: `${s.doc.file}:${block.line}` })));
  const assigned = new Set<string>();
  for (const { block } of allBlocks) for (const name of assignedNames(block.command)) assigned.add(name);
  // Each step runs in its own shell; the doc's blocks shared one.
  const plan = planCarry(
    allBlocks.map((b) => ({ command: b.block.command, where: b.where })),
    options.parse,
  );
  const carried = new Map<CommandBlock, CarryStep>(allBlocks.map((b, i) => [b.block, plan.steps[i]!]));

  const firstH1 = sections.find((s) => s.depth === 1);
  const title =
    options.title ?? firstH1?.title ?? docs.find((d) => d.title)?.title ?? docs[0]?.file.replace(/^.*\//, '').replace(/\.[^.]*$/, '') ?? 'Imported runbook';
  const ids = new Set<string>();
  const uniqueId = (base: string) => {
    let id = base;
    for (let n = 2; ids.has(id); n++) id = `${base}-${n}`;
    ids.add(id);
    return id;
  };
  const vars = new Map<string, DraftVar>();
  const steps: DraftStep[] = [];
  let summary: string | undefined;

  const build = (introsAsSteps: boolean) => {
    for (const section of sections) {
      if (section.nodes.length === 0) continue;
      const blocks = blocksOf.get(section)!;
      if (blocks.length === 0 && section.depth === 1 && !introsAsSteps) {
        // The intro under the title: what the procedure is for, not a step.
        if (summary === undefined && section === firstH1) summary = firstSentence(plainText(sliceOf(section, section.nodes)));
        continue;
      }
      const sectionDoc: DraftDoc = {
        title: `${section.doc.file}: ${section.title}`,
        path: section.slug ? `${section.doc.docPath}#${section.slug}` : section.doc.docPath,
      };
      const baseId = asciiSlug(section.title);
      if (blocks.length === 0) {
        const text = sliceOf(section, section.nodes);
        const todos = ['manual step: the confirm question was made from the text, reword it'];
        const step: DraftStep = {
          id: uniqueId(baseId),
          title: section.title,
          description: text,
          confirm: confirmFrom(section.title, text),
          docs: [sectionDoc, ...linksIn(section, 0, Infinity, options, todos)],
          source: { file: section.doc.file, line: section.line },
          todos,
        };
        steps.push(step);
        continue;
      }
      const contentStart = section.nodes[0]!.position!.start.offset!;
      const contentEnd = section.nodes[section.nodes.length - 1]!.position!.end.offset!;
      blocks.forEach((block, k) => {
        const from = k === 0 ? contentStart : blocks[k - 1]!.end;
        const to = block.start;
        let description = dedent(section.doc.text.slice(from, to));
        let linkEnd = to;
        if (k === blocks.length - 1) {
          const after = dedent(section.doc.text.slice(block.end, contentEnd));
          if (after) description = description ? `${description}\n\n${after}` : after;
          linkEnd = contentEnd;
        }
        const carry = carried.get(block)!;
        const converted = convertCommand(block.command, assigned, carry.substitutions);
        const todos = [...block.notes, ...converted.notes, ...carry.todos];
        for (const use of [...converted.uses, ...carry.uses] as { name: string; token: string; envName?: string }[]) {
          const fromShell = plan.vars.get(use.name);
          const known = vars.get(use.name);
          if (!known) {
            vars.set(use.name, {
              name: use.name,
              prompt: fromShell?.prompt ?? promptFor(use.token, section, docs),
              ...(use.envName && !fromShell ? { env: use.envName } : {}),
              source: { file: section.doc.file, line: block.line },
              token: use.token,
              ...carriedVar(fromShell),
            });
          } else if (fromShell && known.note === undefined) Object.assign(known, carriedVar(fromShell));
        }
        const step: DraftStep = {
          id: uniqueId(blocks.length === 1 ? baseId : `${baseId}-${k + 1}`),
          title: blocks.length === 1 ? section.title : `${section.title} (${k + 1}/${blocks.length})`,
          run: converted.run,
          docs: [sectionDoc, ...linksIn(section, from, linkEnd, options, todos)],
          source: { file: section.doc.file, line: block.line },
          todos,
          original: block.command,
          substitutions: converted.substitutions,
        };
        if (description) step.description = description;
        if (carry.cwd !== undefined) step.cwd = carry.cwd;
        const env = { ...converted.env, ...carry.env };
        if (Object.keys(env).length > 0) step.env = env;
        steps.push(step);
      });
    }
  };
  build(false);
  // A doc that is only a title and its text still gives one step to walk.
  if (steps.length === 0) build(true);

  for (const step of steps) {
    if (step.description)
      step.description = withDefinitions(
        step.description,
        docs.find((d) => d.file === step.source.file),
      );
    for (const field of ['title', 'description', 'confirm'] as const) {
      const value = step[field];
      if (value === undefined) continue;
      const { refs, malformed } = scanTemplate(value);
      if (refs.length + malformed.length === 0) continue;
      // drbook would substitute (or refuse) these; the doc means them literally.
      step[field] = value.replace(/\{\{/g, '{ {');
      step.todos.push(`${field}: "{{" written as "{ {" so drbook does not read it as a variable`);
    }
  }
  return { id: options.id, title, ...(summary ? { summary } : {}), sources: docs.map((d) => d.file), vars: [...vars.values()], steps };
}

function carriedVar(v: CarryVar | undefined): Pick<DraftVar, 'default' | 'note'> {
  if (!v) return {};
  return { note: v.note, ...(v.default !== undefined ? { default: v.default } : {}) };
}

function splitSections(doc: SourceDoc): Section[] {
  const slugger = new HeadingSlugger();
  const base = doc.file.replace(/^.*\//, '');
  const sections: Section[] = [];
  let current: Section = { doc, title: base, depth: 0, slug: '', line: 1, nodes: [] };
  for (const node of doc.tree.children) {
    if (node.type === 'heading') {
      sections.push(current);
      const title = plainText(toText(node)) || base;
      current = { doc, title, depth: node.depth, slug: slugger.slug(toText(node, false)), line: node.position?.start.line ?? 1, nodes: [] };
      continue;
    }
    if (node.type === 'definition' || !node.position) continue;
    current.nodes.push(node);
  }
  sections.push(current);
  // Text before any heading: a section of its own, linked to the top of the document.
  return sections.map((s) => (s.depth === 0 ? { ...s, slug: '' } : s));
}

function commandBlocks(section: Section): CommandBlock[] {
  const blocks: CommandBlock[] = [];
  const visit = (node: Nodes) => {
    if (node.type === 'code') {
      const lang = (node.lang ?? '').toLowerCase();
      // A shell block written as a transcript (its first line behind a prompt) is one.
      const shellTranscript = SHELL_LANGS.has(lang) && isTranscript(node.value);
      const read = shellTranscript || CONSOLE_LANGS.has(lang) ? readTranscript(node.value) : undefined;
      const command = read ? read.commands : SHELL_LANGS.has(lang) ? node.value : undefined;
      const notes: string[] = [];
      if (shellTranscript && read!.rootPrompts > 0) {
        notes.push(
          `lines of this ${lang} block starting with "# " were read as commands at a root prompt (as in a console block): check that none is a comment`,
        );
      }
      if (shellTranscript && read!.dropped > 0) {
        const lines = read!.dropped === 1 ? 'a line' : `${read!.dropped} lines`;
        notes.push(`${lines} of this ${lang} block without a prompt were read as command output and left out: check that no command was lost`);
      }
      if (command !== undefined && command.trim() !== '' && node.position) {
        blocks.push({ start: node.position.start.offset!, end: node.position.end.offset!, line: node.position.start.line, command, notes });
      }
      return;
    }
    if ('children' in node) for (const child of node.children) visit(child);
  };
  for (const node of section.nodes) visit(node);
  return blocks;
}

/**
 * A shell prompt at the start of a transcript line: `$ `, `# `, and the prompts shells show
 * by default: `user@host:~$ `, `root@mail:~# `, `[root@mail ~]# `, with a `(venv) `
 * before them.
 */
export const PROMPT = /^(?:\([\w.-]+\) ?)?(?:[\w.-]+@[\w.-]+(?::[^\s$#]*)?|\[[\w.-]+@[\w.-]+(?:[ :][^\]\n]*)?\])?[$#](?: |$)/;

/**
 * A shell block is a transcript when its first line is behind a prompt. `# ` alone is not
 * one here: in a script it starts a comment.
 */
export function isTranscript(value: string): boolean {
  const first = value.split('\n').find((l) => l.trim() !== '');
  return first !== undefined && PROMPT.test(first) && !first.startsWith('#');
}

/**
 * A terminal transcript → its commands: the text after each prompt (see PROMPT), and `> `
 * continuation lines after a command; every other line is output and is dropped.
 */
export function consoleCommands(value: string): string {
  return readTranscript(value).commands;
}

function readTranscript(value: string): { commands: string; dropped: number; rootPrompts: number } {
  const lines: string[] = [];
  let dropped = 0;
  let rootPrompts = 0;
  let inCommand = false;
  for (const line of value.split('\n')) {
    const prompt = PROMPT.exec(line);
    if (prompt) {
      if (line.startsWith('#') && line.length > 2) rootPrompts++;
      lines.push(line.slice(prompt[0].length));
      inCommand = true;
    } else if (inCommand && (line.startsWith('> ') || line === '>')) {
      lines.push(line.slice(Math.min(2, line.length)));
    } else {
      inCommand = false;
      if (line.trim() !== '') dropped++;
    }
  }
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return { commands: lines.join('\n'), dropped, rootPrompts };
}

function linksIn(section: Section, from: number, to: number, options: DraftOptions, todos: string[]): DraftDoc[] {
  const definitions = new Map<string, string>();
  const visitDefs = (node: Nodes) => {
    if (node.type === 'definition') definitions.set(node.identifier, node.url);
    if ('children' in node) for (const child of node.children) visitDefs(child);
  };
  visitDefs(section.doc.tree);
  const out: DraftDoc[] = [];
  const seen = new Set<string>();
  const add = (href: string, text: string) => {
    const title = plainText(text) || href;
    let entry: DraftDoc | undefined;
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(href)) entry = { title, url: href };
    else if (href.startsWith('#')) entry = { title, path: `${section.doc.docPath}${href}` };
    else if (!/^[a-z][a-z0-9+.-]*:/i.test(href)) {
      const path = options.resolveLink(section.doc, href);
      if (path !== undefined) entry = { title, path };
      else todos.push(`the link "${href}" leads to no file: fix it in ${section.doc.file}`);
    }
    if (!entry) return;
    const key = entry.url ?? entry.path!;
    if (seen.has(key)) return;
    seen.add(key);
    out.push(entry);
  };
  const visit = (node: Nodes) => {
    const offset = node.position?.start.offset;
    if (offset !== undefined && (offset < from || offset >= to) && node.type !== 'root') {
      // A container may straddle the range; its children are checked one by one.
      const end = node.position?.end.offset ?? offset;
      if (end <= from || offset >= to) return;
    }
    if (node.type === 'link') add(node.url, toText(node));
    else if (node.type === 'linkReference') {
      const url = definitions.get(node.identifier);
      if (url !== undefined) add(url, toText(node));
    }
    if ('children' in node) for (const child of node.children) visit(child);
  };
  for (const node of section.nodes) visit(node);
  return out;
}

/** `html`: false for GitHub's anchors, which are made from the rendered text (tags dropped, their content kept). */
function toText(node: Nodes, html = true): string {
  if (node.type === 'html') return html ? node.value : '';
  if (node.type === 'text' || node.type === 'inlineCode' || node.type === 'code') return node.value;
  if ('children' in node) return node.children.map((c) => toText(c, html)).join('');
  return '';
}

function sliceOf(section: Section, nodes: RootContent[]): string {
  const first = nodes[0]?.position?.start.offset;
  const last = nodes[nodes.length - 1]?.position?.end.offset;
  if (first === undefined || last === undefined) return '';
  return dedent(section.doc.text.slice(first, last));
}

/** Trims a slice of markdown and removes the indentation its lines share (nested lists). */
function dedent(text: string): string {
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  while (lines.length > 0 && lines[0]!.trim() === '') lines.shift();
  while (lines.length > 0 && lines[lines.length - 1]!.trim() === '') lines.pop();
  const indents = lines
    .slice(1)
    .filter((l) => l.trim() !== '')
    .map((l) => /^ */.exec(l)![0].length);
  const cut = indents.length > 0 ? Math.min(...indents) : 0;
  const out = lines.map((l, i) => (i === 0 ? l.trimStart() : l.slice(Math.min(cut, /^ */.exec(l)![0].length)))).map((l) => l.trimEnd());
  // Removing a code block can leave runs of blank lines.
  return out
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

/** Markdown → one line of plain words, for prompts, confirms and titles. */
function plainText(markdown: string): string {
  return markdown
    .replace(/```[\s\S]*?```/g, ' ')
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/[*`]+/g, '')
    .replace(/(^|[^\p{L}\p{N}])_+|_+(?=[^\p{L}\p{N}]|$)/gu, '$1')
    .replace(/^\s*(?:[-+*]|\d+[.)]|#+|>)\s+/gm, '')
    .replace(/\s+/g, ' ')
    .trim();
}

function firstSentence(text: string): string {
  const m = /^(.+?[.!?])(?:\s|$)/.exec(text);
  const sentence = (m ? m[1]! : text).trim();
  return sentence.length > 160 ? `${sentence.slice(0, 157).trimEnd()}...` : sentence;
}

function confirmFrom(title: string, markdown: string): string {
  const sentence = firstSentence(plainText(markdown)).replace(/[.!:;]+$/, '');
  if (sentence.endsWith('?')) return sentence;
  return sentence ? `Done: ${sentence}?` : `Done: ${title}?`;
}

/** The sentence of the section (else of its document) that mentions the placeholder. */
function promptFor(token: string, section: Section, docs: readonly SourceDoc[]): string {
  const bare = token.replace(/^\$\{?|\}$/g, '').replace(/^<|>$/g, '');
  const inText = (markdown: string) => {
    const prose = markdown.replace(/```[\s\S]*?```|~~~[\s\S]*?~~~/g, '\n\n');
    for (const sentence of prose.split(/(?<=[.!?])\s+|\n\s*\n/)) {
      if (
        sentence.includes(token) ||
        (bare.length > 2 && new RegExp(`\\b${bare.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\b`).test(sentence) && /[<$]/.test(sentence))
      ) {
        const line = plainText(sentence);
        if (line) return line.length > 160 ? `${line.slice(0, 157).trimEnd()}...` : line;
      }
    }
    return undefined;
  };
  return inText(sliceOf(section, section.nodes)) ?? inText(docs.find((d) => d === section.doc)?.text ?? '') ?? `Value for ${token}`;
}

/** A description that uses `[text][ref]` keeps the `[ref]: url` lines it needs (they sit elsewhere in the doc). */
function withDefinitions(description: string, doc: SourceDoc | undefined): string {
  if (!doc) return description;
  const lines: string[] = [];
  for (const node of doc.tree.children) {
    if (node.type !== 'definition' || !node.position) continue;
    const label = (node.label ?? node.identifier).toLowerCase();
    const uses = description.toLowerCase();
    if (!uses.includes(`][${label}]`) && !uses.includes(`[${label}][]`) && !uses.includes(`[${label}]`)) continue;
    const line = doc.text.slice(node.position.start.offset, node.position.end.offset).trim();
    if (!description.includes(line)) lines.push(line);
  }
  return lines.length === 0 ? description : `${description}\n\n${lines.join('\n')}`;
}
