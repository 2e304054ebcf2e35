/**
 * Golden files: fixture journals → exported markdown (and JSON for some), compared with the
 * committed files under test/golden/export/. After a deliberate change of the output:
 *
 *   UPDATE_GOLDEN=1 npx vitest run test/export-golden
 *
 * then read every changed file as a post-mortem before committing it.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseJournal, type ParsedJournal } from '../src/core/journal-parse.js';
import { buildHistory, buildReport, renderHistoryMarkdown, renderJson, renderMarkdown, summarizeDrill } from '../src/core/export/index.js';

const root = dirname(fileURLToPath(import.meta.url));
const journals = join(root, 'fixtures', 'journals');
const golden = join(root, 'golden', 'export');
const update = process.env.UPDATE_GOLDEN === '1';

function loadJournal(name: string): ParsedJournal {
  return parseJournal(readFileSync(join(journals, `${name}.jsonl`), 'utf8'));
}

function allSummaries() {
  return readdirSync(journals)
    .filter((f) => f.endsWith('.jsonl'))
    .sort()
    .map((f) => summarizeDrill(parseJournal(readFileSync(join(journals, f), 'utf8')).events));
}

function compare(file: string, actual: string): void {
  const path = join(golden, file);
  if (update || !existsSync(path)) {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, actual);
    if (!update) throw new Error(`${file} did not exist: written, review it and commit it`);
    return;
  }
  expect(actual, `${file} differs: UPDATE_GOLDEN=1 rewrites it`).toBe(readFileSync(path, 'utf8'));
}

interface Case {
  name: string;
  journal: string;
  tz?: string;
  json?: boolean;
  /** Command logs in the session directory, by journaled path. */
  logs?: Record<string, { tail: string; bytes: number; lastWriteMs: number }>;
}

const CASES: Case[] = [
  { name: 'completed-live', journal: 'completed-live', json: true },
  { name: 'completed-live.new-york', journal: 'completed-live', tz: 'America/New_York' },
  { name: 'rehearsal', journal: 'rehearsal' },
  { name: 'aborted', journal: 'aborted', json: true },
  { name: 'resumed', journal: 'resumed' },
  { name: 'backdated-midnight', journal: 'backdated-midnight' },
  { name: 'failed-edited', journal: 'failed-edited', json: true },
  { name: 'secrets', journal: 'secrets', json: true },
  { name: 'hostile', journal: 'hostile' },
  // Written by real walks of the built engine (test/export-walks.e2e.test.ts, UPDATE_E2E_FIXTURES=1).
  { name: 'e2e-live', journal: 'e2e-live' },
  { name: 'e2e-rehearsal', journal: 'e2e-rehearsal' },
  // Milestones across midnight, a backdated impact, RPO missed, evidence, Not applicable, a dropped driver.
  { name: 'incident-mail', journal: 'incident-mail', json: true },
  { name: 'incident-mail.tokyo', journal: 'incident-mail', tz: 'Asia/Tokyo' },
  // The attempt drbook stopped during: its log's tail, and how long it ran to its last output.
  {
    name: 'incident-mail.logs',
    journal: 'incident-mail',
    logs: {
      'restore.2.log': {
        tail: 'restoring <Snapshot 4f1c2a3b>\n[10:50] 41.20%  7512 files 880 MiB',
        bytes: 5120,
        lastWriteMs: Date.parse('2026-03-10T22:59:10.035Z'),
      },
    },
  },
  // Out-of-order milestones, a milestone marked twice, RPO met.
  { name: 'incident-order', journal: 'incident-order', json: true },
  // 200 steps: the gantt groups them.
  { name: 'gantt-200', journal: 'gantt-200' },
];

describe('export golden files', () => {
  const earlier = allSummaries();
  for (const c of CASES) {
    it(`${c.name}.md`, () => {
      const logs = c.logs;
      const report = buildReport(loadJournal(c.journal), {
        ...(c.tz ? { timeZone: c.tz } : {}),
        earlier,
        ...(logs ? { logTail: (log: string) => logs[log] ?? null } : {}),
      });
      compare(`${c.name}.md`, renderMarkdown(report));
      if (c.json) compare(`${c.name}.json`, renderJson(report));
    });
  }

  it('history of mail-server', () => {
    const history = buildHistory('mail-server', earlier);
    compare('history-mail-server.md', renderHistoryMarkdown(history));
    compare('history-mail-server.json', renderJson(history));
  });
});
