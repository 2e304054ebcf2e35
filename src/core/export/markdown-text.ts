/**
 * Putting text that people typed (titles, notes, answers) and text that programs printed
 * (commands, output) into a markdown document without it breaking the document: no
 * injected HTML, headings, tables, links or code fences, on GitHub and GitLab alike.
 */

import { visible } from '../visible.js';

/**
 * Terminal control sequences and other control characters (tab and newline kept): output
 * tails carry colours and cursor moves that mean nothing in a document.
 */
const CONTROL = /\u001b\[[0-?]*[ -/]*[@-~]|\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)|\u001b[@-_]|[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g;

function stripControl(text: string): string {
  return text.replace(/\r\n?/g, '\n').replace(CONTROL, '');
}

/**
 * What people typed (notes, titles, answers, reasons) loses nothing: a control sequence in
 * it is written as visible text (`\e]0;…^G`), as drbook shows it on the screen.
 */
function showControl(text: string): string {
  return visible(text.replace(/\r\n?/g, '\n'));
}

/*
 * Backslash-escaped everywhere: emphasis, code, links, HTML and entities, tables, GFM
 * strikethrough, and `$` (GitHub and GitLab render `$…$` as maths). An `_` between two
 * letters or digits can neither open nor close emphasis, so `dns_plan` stays as it is. `#`, `-`, `+`, `.`,
 * `=`, `>` and `!` only matter at the start of a line, and escaping them everywhere would
 * make the raw file unreadable (`10\.0\.0\.1`), so `escapeBlockStart` handles those.
 */
const INLINE_SPECIAL = /[\\`*[\]|~$]|_(?![\p{L}\p{N}])|(?<![\p{L}\p{N}])_/gu;
/*
 * HTML's own characters become entities rather than backslash escapes: a GFM autolink
 * (`https://…`) stops before an entity but may swallow a backslash.
 */
const HTML_SPECIAL = /[<>&]/g;
const ENTITIES: Record<string, string> = { '<': '&lt;', '>': '&gt;', '&': '&amp;' };

/**
 * One line of inline markdown from any text: special characters escaped, newlines as
 * `<br>` (so a multi-line note stays inside its list item or table cell), runs of spaces
 * kept to one so nothing turns into an indented code block.
 */
export function inline(text: string): string {
  const lines = showControl(text)
    .split('\n')
    .map((line) => line.replace(/\t/g, ' ').replace(/ {2,}/g, ' ').trim());
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  while (lines.length > 0 && lines[0] === '') lines.shift();
  return escapeBlockStart(lines.map((line) => line.replace(HTML_SPECIAL, (c) => ENTITIES[c] ?? c).replace(INLINE_SPECIAL, '\\$&')).join('<br>'));
}

/**
 * Escapes what would make a line start a heading, quote, list, thematic break or setext
 * underline, so the result is safe even where it begins a line of the document. Lines
 * after a `<br>` are still the same source line, so only the start needs it.
 */
function escapeBlockStart(line: string): string {
  const ordered = /^(\d{1,9})([.)])(?=\s|$)/.exec(line);
  if (ordered) return `${ordered[1]}\\${ordered[2]}${line.slice(ordered[0].length)}`;
  if (/^(?:#|[-+=](?=\s|$|[-=]))/.test(line)) return `\\${line}`;
  return line;
}

/**
 * A code span that holds any text: the backtick fence is longer than any run inside it.
 * In a table cell `|` must still be escaped, even inside code (GFM splits cells first).
 */
export function code(text: string, options: { inTable?: boolean } = {}): string {
  let body = stripControl(text)
    .replace(/\s*\n\s*/g, ' ⏎ ')
    .replace(/\t/g, ' ');
  if (options.inTable) body = body.replace(/\|/g, '\\|');
  if (body === '') return '*(empty)*';
  const fence = '`'.repeat(longestRun(body, '`') + 1);
  const pad = body.startsWith('`') || body.endsWith('`') || (body.startsWith(' ') && body.endsWith(' ') && body.trim() !== '') ? ' ' : '';
  return `${fence}${pad}${body}${pad}${fence}`;
}

/** A fenced code block that holds any text: its fence is longer than any backtick run inside. */
export function codeBlock(text: string, info = ''): string {
  const body = stripControl(text).replace(/\n+$/, '');
  const fence = '`'.repeat(Math.max(3, longestRun(body, '`') + 1));
  return `${fence}${info}\n${body}\n${fence}`;
}

function longestRun(text: string, char: string): number {
  let longest = 0;
  let run = 0;
  for (const c of text) {
    run = c === char ? run + 1 : 0;
    if (run > longest) longest = run;
  }
  return longest;
}

/** Shortens a single line for the chronology; the full text stays in the journal and the JSON. */
export function shorten(text: string, max: number): string {
  const chars = [...text];
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join('')}…`;
}
