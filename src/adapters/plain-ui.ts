/**
 * The plain UI for `--yes` runs without a terminal (scripted rehearsals, CI, tests), and
 * the text rendering both UIs share: what the operator reads is the same whether it is
 * painted on a terminal or written to a log.
 */
import { DrbookError, ExitCode } from '../core/errors.js';
import { formatDuration } from '../core/duration.js';
import type { CommandResult, FailureAction, PollWait, StepAction, StepView, Ui, VarQuestion } from '../core/ports.js';
import { countdown, pollStatus } from './poll-wait.js';

/** How each kind of text is painted. Identity functions give plain text. */
export interface Paint {
  header: (s: string) => string;
  strong: (s: string) => string;
  em: (s: string) => string;
  code: (s: string) => string;
  command: (s: string) => string;
  dim: (s: string) => string;
  warn: (s: string) => string;
  ok: (s: string) => string;
  fail: (s: string) => string;
  link: (s: string) => string;
}

export interface Symbols {
  ok: string;
  fail: string;
  bullet: string;
  rule: string;
  quote: string;
}

const same = (s: string): string => s;

const plainPaint: Paint = {
  header: same,
  strong: same,
  em: same,
  code: same,
  command: same,
  dim: same,
  warn: same,
  ok: same,
  fail: same,
  link: same,
};

/** ASCII only: logs, dumb terminals and odd locales render it as is. */
export const asciiSymbols: Symbols = { ok: 'OK', fail: 'FAILED', bullet: '-', rule: '-', quote: '|' };
export const unicodeSymbols: Symbols = { ok: '✔', fail: '✖', bullet: '•', rule: '─', quote: '│' };

export interface RenderOptions {
  paint: Paint;
  symbols: Symbols;
  /** Columns to wrap prose to. */
  width: number;
}

// ---------------------------------------------------------------------------------------
// Wrapping

interface Word {
  /** Painted text. */
  text: string;
  /** Visible length. */
  length: number;
}

interface Segment {
  text: string;
  paint: (s: string) => string;
}

/**
 * Greedy word wrap. A word longer than the line (a path, a URL) is kept whole on its own
 * line: broken, it could no longer be copied and pasted.
 */
function wrapWords(words: Word[], width: number, firstIndent: string, restIndent: string): string[] {
  const lines: string[] = [];
  let line = firstIndent;
  let lineLength = firstIndent.length;
  let empty = true;
  for (const word of words) {
    if (!empty && lineLength + 1 + word.length > width) {
      lines.push(line);
      line = restIndent;
      lineLength = restIndent.length;
      empty = true;
    }
    if (empty) {
      line += word.text;
      lineLength += word.length;
      empty = false;
    } else {
      line += ' ' + word.text;
      lineLength += 1 + word.length;
    }
  }
  if (!empty) lines.push(line);
  return lines;
}

function segmentsToWords(segments: Segment[]): Word[] {
  const words: Word[] = [];
  let current: Word | undefined;
  for (const segment of segments) {
    // Split on whitespace but keep track of it: `**bold**,` is one word across segments.
    const parts = segment.text.split(/(\s+)/);
    for (const part of parts) {
      if (part === '') continue;
      if (/^\s+$/.test(part)) {
        if (current) words.push(current);
        current = undefined;
        continue;
      }
      const painted = segment.paint(part);
      if (current) {
        current.text += painted;
        current.length += part.length;
      } else {
        current = { text: painted, length: part.length };
      }
    }
  }
  if (current) words.push(current);
  return words;
}

const INLINE =
  /(`+)([\s\S]+?)\1|\*\*([\s\S]+?)\*\*|__([\s\S]+?)__|\[([^\]]+)\]\(([^)\s]+)(?:\s+"[^"]*")?\)|<((?:https?|mailto):[^>\s]+)>|(?<![\w*])\*(?![\s*])([\s\S]+?)\*(?!\w)|(?<![\w_])_(?![\s_])([\s\S]+?)_(?!\w)/g;

/** Inline markdown to painted segments: code, bold, italics and links kept readable. */
function inlineSegments(text: string, paint: Paint): Segment[] {
  const segments: Segment[] = [];
  let last = 0;
  for (const m of text.matchAll(INLINE)) {
    const index = m.index;
    if (index > last) segments.push({ text: text.slice(last, index), paint: same });
    if (m[2] !== undefined) segments.push({ text: m[2], paint: paint.code });
    else if (m[3] !== undefined || m[4] !== undefined) segments.push({ text: m[3] ?? m[4] ?? '', paint: paint.strong });
    else if (m[5] !== undefined && m[6] !== undefined) {
      const label = m[5];
      const url = m[6];
      segments.push({ text: label, paint: same });
      // The address matters at 3 a.m.: the operator may have to type it into another machine.
      if (label !== url) segments.push({ text: ` (${url})`, paint: paint.link });
    } else if (m[7] !== undefined) segments.push({ text: m[7], paint: paint.link });
    else if (m[8] !== undefined || m[9] !== undefined) segments.push({ text: m[8] ?? m[9] ?? '', paint: paint.em });
    last = index + m[0].length;
  }
  if (last < text.length) segments.push({ text: text.slice(last), paint: same });
  return segments;
}

function wrapInline(text: string, options: RenderOptions, firstIndent = '', restIndent = firstIndent): string[] {
  const words = segmentsToWords(inlineSegments(text, options.paint));
  return wrapWords(words, options.width, firstIndent, restIndent);
}

/** Plain text wrapped to the width, no markdown. */
function wrapText(text: string, width: number, indent = ''): string[] {
  const out: string[] = [];
  for (const paragraph of text.split('\n')) {
    const words = paragraph
      .split(/\s+/)
      .filter((w) => w !== '')
      .map((w) => ({ text: w, length: w.length }));
    if (words.length === 0) out.push('');
    else out.push(...wrapWords(words, width, indent, indent));
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Markdown

const FENCE = /^\s*(```+|~~~+)/;
const HEADING = /^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$/;
const LIST_ITEM = /^(\s*)([-*+]|\d{1,9}[.)])\s+(.*)$/;
const RULE = /^\s{0,3}([-*_])(\s*\1){2,}\s*$/;
const QUOTE = /^\s{0,3}>\s?(.*)$/;
const TABLE_ROW = /^\s*\|/;

/**
 * Markdown as plain readable text: headings, paragraphs, lists, quotes, code blocks and
 * tables, wrapped to the width. Not a full CommonMark renderer: runbook descriptions are a
 * few lines, and a construct it does not know stays readable as the source text.
 */
function markdownToText(markdown: string, options: RenderOptions): string[] {
  const { paint, symbols, width } = options;
  const lines = markdown.replace(/\r\n?/g, '\n').replace(/\t/g, '    ').split('\n');
  const out: string[] = [];
  const blank = (): void => {
    if (out.length > 0 && out[out.length - 1] !== '') out.push('');
  };
  let i = 0;
  while (i < lines.length) {
    const line = lines[i] ?? '';
    if (line.trim() === '') {
      i++;
      continue;
    }
    const fence = FENCE.exec(line);
    if (fence) {
      // Code is shown exactly, never wrapped or reflowed: it may be pasted into a shell.
      const marker = fence[1] ?? '```';
      blank();
      i++;
      while (i < lines.length && !(lines[i] ?? '').trimStart().startsWith(marker)) {
        out.push('    ' + paint.code(lines[i] ?? ''));
        i++;
      }
      i++;
      blank();
      continue;
    }
    const heading = HEADING.exec(line);
    if (heading) {
      blank();
      out.push(...wrapInline(heading[2] ?? '', { ...options, paint: { ...paint, strong: paint.header } }).map((l) => paint.header(l)));
      i++;
      continue;
    }
    if (RULE.test(line)) {
      blank();
      out.push(paint.dim(symbols.rule.repeat(Math.min(width, 40))));
      i++;
      continue;
    }
    if (TABLE_ROW.test(line)) {
      blank();
      while (i < lines.length && TABLE_ROW.test(lines[i] ?? '')) {
        out.push(lines[i] ?? '');
        i++;
      }
      continue;
    }
    const quote = QUOTE.exec(line);
    if (quote) {
      blank();
      const parts: string[] = [];
      while (i < lines.length) {
        const q = QUOTE.exec(lines[i] ?? '');
        if (!q) break;
        parts.push(q[1] ?? '');
        i++;
      }
      const prefix = paint.dim(symbols.quote) + ' ';
      for (const text of markdownToText(parts.join('\n'), { ...options, width: Math.max(10, width - 2) })) {
        out.push(text === '' ? paint.dim(symbols.quote) : prefix + text);
      }
      continue;
    }
    const item = LIST_ITEM.exec(line);
    if (item) {
      if (out.length > 0 && out[out.length - 1] !== '' && !LIST_ITEM.test(lines[i - 1] ?? '')) blank();
      const depth = Math.floor((item[1] ?? '').length / 2);
      const marker = /^\d/.test(item[2] ?? '') ? (item[2] ?? '') : symbols.bullet;
      const indent = '  '.repeat(depth);
      const text = [item[3] ?? ''];
      i++;
      // Continuation lines of the same item: indented, not a new item, not blank.
      while (i < lines.length) {
        const next = lines[i] ?? '';
        if (next.trim() === '' || LIST_ITEM.test(next) || !/^\s+/.test(next)) break;
        text.push(next.trim());
        i++;
      }
      const first = `${indent}${marker} `;
      out.push(...wrapInline(text.join(' '), options, first, ' '.repeat(first.length)));
      continue;
    }
    // A paragraph: consecutive lines up to a blank line or another block.
    blank();
    const text: string[] = [];
    while (i < lines.length) {
      const next = lines[i] ?? '';
      if (next.trim() === '' || FENCE.test(next) || HEADING.test(next) || LIST_ITEM.test(next) || QUOTE.test(next) || TABLE_ROW.test(next)) break;
      // Two trailing spaces or a backslash are a hard line break in markdown.
      text.push(next.trim());
      if (/( {2,}|\\)$/.test(next)) {
        out.push(...wrapInline(text.join(' ').replace(/\\$/, ''), options));
        text.length = 0;
      }
      i++;
    }
    if (text.length > 0) out.push(...wrapInline(text.join(' '), options));
  }
  while (out.length > 0 && out[out.length - 1] === '') out.pop();
  return out;
}

// ---------------------------------------------------------------------------------------
// Step and command rendering

/** The lines of a step as the operator sees them before choosing. */
export function renderStep(view: StepView, options: RenderOptions): string[] {
  const { paint, symbols, width } = options;
  const out: string[] = [];
  // One short of the width: some terminals wrap a line that fills the last column.
  out.push(paint.dim(symbols.rule.repeat(Math.max(10, Math.min(width - 1, 72)))));
  if (view.part === 'command') return renderCommandPart(view, options);
  const header = `[${view.position}/${view.total}] ${view.title}`;
  out.push(...wrapText(header, width, '').map((l) => paint.header(l)));
  if (view.mode === 'rehearsal') out.push(paint.warn('REHEARSAL'));

  if (view.description && view.description.trim() !== '') {
    out.push('');
    out.push(...markdownToText(view.description, options));
  }

  if (view.docs.length > 0) {
    out.push('');
    out.push(paint.strong('Docs:'));
    for (const doc of view.docs) {
      out.push(...wrapText(doc.title, width - 2, '').map((l, n) => (n === 0 ? `${symbols.bullet} ` : '  ') + l));
      // Paths and URLs get a line each and are never wrapped, so they can be copied whole.
      if (doc.path) out.push('    ' + paint.link(doc.anchor ? `${doc.path}#${doc.anchor}` : doc.path));
      if (doc.url) out.push('    ' + paint.link(doc.url));
    }
  }

  if (view.part === 'context') return out;
  return [...out, ...renderCommandPart(view, options)];
}

/** The end of a step's screen: the command as it will run, or what a manual step means. */
function renderCommandPart(view: StepView, options: RenderOptions): string[] {
  const { paint, width } = options;
  const out: string[] = [];
  out.push('');
  if (view.command !== undefined) {
    out.push(paint.strong(view.cwd ? `Command (runs in ${view.cwd}):` : 'Command:'));
    // Exactly as it will run: continuation lines are aligned, nothing is reflowed.
    const commandLines = view.command.split('\n');
    commandLines.forEach((l, n) => out.push(paint.command((n === 0 ? '$ ' : '  ') + l)));
    if (view.mode === 'rehearsal') {
      out.push(
        view.willExecute
          ? paint.warn('REHEARSAL: this safe command will be executed (--run-safe)')
          : paint.warn('REHEARSAL: this command will not be executed'),
      );
    }
  } else {
    out.push(...wrapText('Manual step: do it by hand, then say below how it went.', width).map((l) => paint.dim(l)));
  }
  return out;
}

/** Whether the exit code is one the step expects (stdout/stderr checks are the engine's). */
function exitExpected(view: StepView, code: number): boolean {
  const exit = view.step.expect?.exit;
  if (exit === undefined) return code === 0;
  return Array.isArray(exit) ? exit.includes(code) : exit === code;
}

/** The one line after a command: what happened, how long it took. */
export function renderCommandFinished(view: StepView, result: CommandResult, options: RenderOptions): string {
  const { paint, symbols } = options;
  const duration = formatDuration(result.durationMs);
  if (result.spawnError !== undefined) {
    return paint.fail(`${symbols.fail} the command could not start: ${result.spawnError}`);
  }
  if (result.timedOut) {
    const how = result.signal ? ` (${result.signal})` : '';
    return paint.fail(`${symbols.fail} timed out after ${duration}, stopped${how}`);
  }
  if (result.interrupted) {
    const how = result.signal ? ` (${result.signal})` : result.exitCode !== null ? ` (exit ${result.exitCode})` : '';
    return paint.fail(`${symbols.fail} interrupted after ${duration}${how}`);
  }
  if (result.signal !== null) {
    return paint.fail(`${symbols.fail} killed by ${result.signal} after ${duration}`);
  }
  const code = result.exitCode ?? -1;
  if (exitExpected(view, code)) {
    const note = code === 0 ? '' : ' (expected)';
    return paint.ok(`${symbols.ok} exit ${code}${note} after ${duration}`);
  }
  return paint.fail(`${symbols.fail} exit ${code} after ${duration}`);
}

export const STEP_ACTION_LABELS: Record<StepAction, string> = {
  run: 'run the command now',
  skip: 'skip this step',
  done: 'mark done: I did it by hand',
  note: 'add a note to the timeline',
  abort: 'abort the runbook',
};

export const FAILURE_ACTION_LABELS: Record<FailureAction, string> = {
  retry: 'retry the same command',
  edit: 'edit the command, then retry',
  skip: 'skip this step',
  done: 'mark done: I fixed it by hand',
  completed: 'it completed on its own: mark done',
  note: 'add a note to the timeline (then choose again)',
  abort: 'abort the runbook',
};

export interface PlainUiOptions {
  output?: NodeJS.WritableStream & { columns?: number };
}

/**
 * Prints everything a terminal walk shows, as plain lines, and answers each question with
 * its default: run, confirm yes, abort on a failure. It never reads stdin, so it cannot
 * hang on a pipe nobody writes to.
 */
export class PlainUi implements Ui {
  private readonly output: NodeJS.WritableStream & { columns?: number };

  constructor(options: PlainUiOptions = {}) {
    this.output = options.output ?? process.stdout;
  }

  private get render(): RenderOptions {
    return { paint: plainPaint, symbols: asciiSymbols, width: Math.max(40, this.output.columns ?? 80) };
  }

  private line(text = ''): void {
    this.output.write(text + '\n');
  }

  private answered(question: string, answer: string): void {
    this.line(`? ${question} -> ${answer} (--yes)`);
  }

  showStep(view: StepView): void {
    this.line();
    for (const l of renderStep(view, this.render)) this.line(l);
  }

  async chooseStepAction(view: StepView, choices: readonly StepAction[]): Promise<StepAction> {
    const action = pickDefault(choices, ['run', 'done']);
    this.answered(`Step ${view.position}/${view.total}: what now?`, action);
    return action;
  }

  async chooseFailureAction(view: StepView, failure: string, choices: readonly FailureAction[]): Promise<FailureAction> {
    this.line(`Step ${view.position}/${view.total} FAILED: ${failure}`);
    const action = pickDefault(choices, ['abort']);
    this.answered(`Step ${view.position}/${view.total} failed: what now?`, action);
    return action;
  }

  async confirm(question: string): Promise<boolean> {
    this.answered(question, 'yes');
    return true;
  }

  async askVar(question: VarQuestion): Promise<string> {
    const label = question.def.prompt !== undefined ? `${question.def.prompt} [${question.name}]` : question.name;
    if (question.initial === undefined) {
      throw new DrbookError(
        `variable "${question.name}" has no value and --yes cannot ask for it: pass --var ${question.name}=${question.def.secret === true ? '- (read from stdin)' : 'value'}`,
        ExitCode.usage,
      );
    }
    const refused = question.validate(question.initial);
    if (refused !== undefined) {
      throw new DrbookError(
        `the default of variable "${question.name}" is refused (${refused}): pass --var ${question.name}=${question.def.secret === true ? '- (read from stdin)' : 'value'}`,
        ExitCode.usage,
      );
    }
    this.answered(label, question.def.secret ? '***' : question.initial);
    return question.initial;
  }

  async askText(message: string, initial?: string): Promise<string> {
    const answer = initial ?? '';
    this.answered(message, answer === '' ? '(empty)' : answer);
    return answer;
  }

  info(message: string): void {
    this.line(message);
  }

  warn(message: string): void {
    this.line(`WARNING: ${message}`);
  }

  commandStarting(view: StepView): void {
    this.line(view.mode === 'rehearsal' && !view.willExecute ? 'not running (rehearsal)' : 'running...');
  }

  commandFinished(view: StepView, result: CommandResult): void {
    this.line(renderCommandFinished(view, result, this.render));
  }

  /** No spinner in a log: one line a wait, then the wait itself (Ctrl-C still stops it). */
  async waitUntil(view: StepView, wait: PollWait): Promise<'elapsed' | 'interrupted'> {
    this.line(`Step ${view.position}/${view.total}: ${pollStatus(wait, wait.waitMs, this.render.width)}`);
    return countdown({ waitMs: wait.waitMs, onTick: () => {}, tickMs: 60_000 });
  }
}

/** The first preferred answer that is offered, else the first offered. */
function pickDefault<T extends string>(choices: readonly T[], preferred: readonly T[]): T {
  for (const p of preferred) if (choices.includes(p)) return p;
  const first = choices[0];
  if (first === undefined) throw new Error('a question was asked with no choices');
  return first;
}
