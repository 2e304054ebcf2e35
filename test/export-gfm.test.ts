/**
 * The exported markdown read back by a GFM parser: every table has the rows and columns the
 * report says it should, user text never becomes a heading, a list, a table row or HTML,
 * and the text a person wrote reads back exactly.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { marked, type Token, type Tokens } from 'marked';
import { describe, expect, it } from 'vitest';
import { parseJournal } from '../src/core/journal-parse.js';
import { buildHistory, buildReport, renderHistoryMarkdown, renderMarkdown, summarizeDrill, type ExportReport } from '../src/core/export/index.js';

const journals = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'journals');
const names = readdirSync(journals)
  .filter((f) => f.endsWith('.jsonl'))
  .map((f) => f.replace(/\.jsonl$/, ''))
  .sort();
const summaries = names.map((n) => summarizeDrill(load(n).events));

function load(name: string) {
  return parseJournal(readFileSync(join(journals, `${name}.jsonl`), 'utf8'));
}

function report(name: string): ExportReport {
  return buildReport(load(name), { earlier: summaries });
}

function tables(md: string): Tokens.Table[] {
  const found: Tokens.Table[] = [];
  marked.walkTokens(marked.lexer(md), (t: Token) => {
    if (t.type === 'table') found.push(t as Tokens.Table);
  });
  return found;
}

function tableWithHeader(md: string, first: string, second: string): Tokens.Table | undefined {
  return tables(md).find((t) => t.header[0]?.text === first && t.header[1]?.text === second);
}

/** What a reader sees: HTML with tags dropped, `<br>` as a newline, entities decoded. */
function visible(html: string): string {
  return html
    .replace(/<br>/g, '\n')
    .replace(/<[^>]+>/g, '')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&');
}

const STEP_COLUMNS = ['#', 'Step', 'Outcome', 'Start', 'Duration', 'Attempts', 'Exit code'];
const FIXED_HEADINGS = [
  'Key times',
  'Chronology',
  'Timeline',
  'Not applicable',
  'Evidence',
  'Steps',
  'Deviations',
  'Failed attempts',
  'Edited commands',
  'Skipped steps',
  'Done by hand',
  'Time against earlier sessions',
  'Notes',
  'Summary',
  'Impact',
  'What went well',
  'What went less well',
  'Where we got lucky',
  'Action items',
];

describe.each(names)('markdown of %s read by a GFM parser', (name) => {
  const r = report(name);
  const md = renderMarkdown(r);

  it('has a steps table of 7 columns and a row a step, in order', () => {
    const table = tableWithHeader(md, '#', 'Step');
    expect(table, 'steps table').toBeDefined();
    expect(table!.header.map((c) => c.text)).toEqual(STEP_COLUMNS);
    expect(table!.rows).toHaveLength(r.stepRows.length);
    const outcomes: Record<string, string> = { done: 'done', skipped: 'skipped', failed: 'failed', 'marked-done': 'done by hand' };
    table!.rows.forEach((row, i) => {
      const step = r.stepRows[i]!;
      expect(row).toHaveLength(STEP_COLUMNS.length);
      expect(row[0]!.text).toBe(String(step.position));
      // A `|` that escaped from a title would shift every later cell.
      expect(visible(marked.parseInline(row[2]!.text, { async: false }))).toBe(step.outcome === null ? 'not finished' : outcomes[step.outcome]);
      expect(row[5]!.text).toBe(step.attempts > 0 ? String(step.attempts) : step.rehearsed ? 'rehearsed' : '—');
    });
  });

  it('has an action items table of owner, item, due with one row a suggestion plus a blank one', () => {
    const table = tableWithHeader(md, 'Owner', 'Item');
    expect(table!.header.map((c) => c.text)).toEqual(['Owner', 'Item', 'Due']);
    const suggested = new Set([
      ...r.deviations.editedCommands.map((e) => e.step),
      ...r.deviations.markedDone.map((s) => s.step),
      ...r.stepRows.filter((s) => s.outcome === 'failed').map((s) => s.step),
    ]);
    expect(table!.rows).toHaveLength(suggested.size + 1);
    for (const row of table!.rows) expect(row).toHaveLength(3);
  });

  it('has a timing table when earlier sessions of the runbook exist, with a row a compared step', () => {
    const table = tables(md).find((t) => t.header[2]?.text === 'This session');
    if (r.deviations.timing.length === 0) {
      expect(table).toBeUndefined();
      return;
    }
    expect(table!.header.map((c) => c.text)).toEqual(['#', 'Step', 'This session', 'Median before', 'Sessions', 'Difference']);
    expect(table!.rows).toHaveLength(r.deviations.timing.length);
  });

  it('has only the headings drbook writes: user text never makes one', () => {
    const headings: string[] = [];
    marked.walkTokens(marked.lexer(md), (t: Token) => {
      if (t.type === 'heading') headings.push(`${'#'.repeat((t as Tokens.Heading).depth)} ${(t as Tokens.Heading).text}`);
    });
    expect(headings[0]).toMatch(/^# Post-mortem/);
    for (const h of headings.slice(1)) expect(FIXED_HEADINGS.map((f) => f)).toContain(h.replace(/^#+ /, ''));
  });

  it('has a chronology line per moment shown, all in one list per day', () => {
    const tokens = marked.lexer(md);
    const start = tokens.findIndex((t) => t.type === 'heading' && (t as Tokens.Heading).text === 'Chronology');
    const end = tokens.findIndex((t, i) => i > start && t.type === 'heading');
    const lists = tokens.slice(start, end).filter((t): t is Tokens.List => t.type === 'list');
    const items = lists.flatMap((l) => l.items);
    expect(items.length).toBeGreaterThan(0);
    for (const item of items) expect(item.text).toMatch(/^\d\d:\d\d:\d\d( – \d\d:\d\d:\d\d)? — /);
    expect(items.length).toBe(
      md
        .split('## Chronology')[1]!
        .split('\n## ')[0]!
        .split('\n')
        .filter((l) => l.startsWith('- ')).length,
    );
  });

  it('renders no HTML but details, summary and br', () => {
    const html = marked.parse(md, { async: false });
    const tags = new Set([...html.matchAll(/<\/?([a-z0-9]+)/gi)].map((m) => m[1]!.toLowerCase()));
    const allowed = new Set([
      'h1',
      'h2',
      'h3',
      'p',
      'ul',
      'ol',
      'li',
      'strong',
      'em',
      'code',
      'pre',
      'table',
      'thead',
      'tbody',
      'tr',
      'th',
      'td',
      'details',
      'summary',
      'br',
      'a',
    ]);
    for (const tag of tags) expect(allowed, `<${tag}> in the HTML`).toContain(tag);
    expect(html).not.toMatch(/<a href="javascript/i);
  });
});

describe('markdown-hostile text reads back exactly', () => {
  const r = report('hostile');
  const md = renderMarkdown(r);
  const html = marked.parse(md, { async: false });

  it('keeps the title as text in the one h1', () => {
    const h1 = /<h1>(.*)<\/h1>/.exec(html)?.[1] ?? '';
    expect(visible(h1)).toBe(`Post-mortem: ${r.runbook.title}`);
    expect(html.match(/<h1>/g)).toHaveLength(1);
  });

  it('keeps every note whole, in one list item, with its line breaks', () => {
    const section = html.split('<h2>Notes</h2>')[1]!.split('<h2>')[0]!;
    const items = [...section.matchAll(/<li>([\s\S]*?)<\/li>/g)].map((m) => m[1]!);
    expect(items).toHaveLength(r.notes.length);
    r.notes.forEach((note, i) => {
      const text = visible(items[i]!)
        .replace(/^\d\d:\d\d — /, '')
        .replace(/ \([^()]*@[^]*\)$/, '');
      const expected = note.text
        .split('\n')
        .map((l) => l.replace(/ {2,}/g, ' ').trim())
        .join('\n');
      expect(text).toBe(expected);
    });
  });

  it('keeps step titles with pipes in one table cell', () => {
    const table = tableWithHeader(md, '#', 'Step')!;
    const cells = table.rows.map((row) => visible(marked.parseInline(row[1]!.text, { async: false })));
    expect(cells[0]).toBe('Check | the <b>pipes</b> | twice (pipes)');
    expect(cells[1]).toBe('Run `rm -rf /tmp/x*` _carefully_ (backticks)');
  });

  it('keeps output with fences and </details> inside its code block', () => {
    const block = /<details><summary>[^<]*<\/summary>\s*<pre><code class="language-text">([\s\S]*?)<\/code><\/pre>\s*<\/details>/.exec(html);
    expect(block).not.toBeNull();
    expect(visible(block![1]!).trimEnd()).toBe(r.deviations.failedAttempts[0]!.tail);
  });

  it('shows an edited command with backtick runs as a diff of both versions', () => {
    const diff = /<pre><code class="language-diff">([\s\S]*?)<\/code><\/pre>/.exec(html);
    const e = r.deviations.editedCommands[0]!;
    expect(visible(diff![1]!).trimEnd()).toBe(`- ${e.from}\n+ ${e.to}`);
  });
});

describe('drill history read by a GFM parser', () => {
  it('has one row a session of the runbook, eleven columns', () => {
    const history = buildHistory('mail-server', summaries);
    const table = tables(renderHistoryMarkdown(history))[0]!;
    expect(table.header).toHaveLength(11);
    expect(table.rows).toHaveLength(history.sessions.length);
    expect(history.sessions.length).toBe(summaries.filter((s) => s.runbook.id === 'mail-server').length);
    for (const row of table.rows) expect(row).toHaveLength(11);
  });
});
