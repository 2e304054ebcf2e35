#!/usr/bin/env node
/**
 * Export of large journals: generates sessions of 10,000 and 100,000 events (steps with
 * commands, retries, notes, pauses) with a valid hash chain, then times parsing, building
 * the report and rendering markdown and JSON from the built dist/.
 *
 *   npx tsc -p tsconfig.build.json && node bench/export-bench.mjs [events...]
 */
import { performance } from 'node:perf_hooks';
import { journalText } from './lib/generate.mjs';

const { parseJournal } = await import('../dist/core/journal-parse.js');
const { buildReport, renderMarkdown, renderJson } = await import('../dist/core/export/index.js');

const sizes = process.argv
  .slice(2)
  .map(Number)
  .filter((n) => n > 0);
if (sizes.length === 0) sizes.push(10_000, 100_000);

function time(label, fn) {
  const start = performance.now();
  const value = fn();
  return { label, ms: performance.now() - start, value };
}

for (const size of sizes) {
  const { text } = journalText(size, '20260311T080000Z-bench');
  const parsed = time('parse', () => parseJournal(text));
  const report = time('build report', () => buildReport(parsed.value));
  const md = time('render markdown', () => renderMarkdown(report.value));
  const json = time('render JSON', () => renderJson(report.value));
  const total = parsed.ms + report.ms + md.ms + json.ms;
  const mb = (n) => `${(n / 1024 / 1024).toFixed(1)} MB`;
  console.log(`${parsed.value.events.length} events (${mb(text.length)} journal): ${total.toFixed(0)} ms in all`);
  for (const phase of [parsed, report, md, json]) console.log(`  ${phase.label.padEnd(16)} ${phase.ms.toFixed(0).padStart(6)} ms`);
  console.log(
    `  markdown ${mb(md.value.length)}, JSON ${mb(json.value.length)}, chain ${report.value.journal.chainVerifies ? 'verifies' : 'BROKEN'}, heap ${mb(process.memoryUsage().heapUsed)}`,
  );
}
