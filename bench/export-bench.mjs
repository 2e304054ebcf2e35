#!/usr/bin/env node
/**
 * Export of large journals: generates sessions of 10,000 and 100,000 events (steps with
 * commands, retries, notes, pauses) with a valid hash chain, then times parsing, building
 * the report and rendering markdown and JSON from the built dist/.
 *
 *   npx tsc -p tsconfig.build.json && node bench/export-bench.mjs [events...]
 */
import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';

const { parseJournal } = await import('../dist/core/journal-parse.js');
const { buildReport, renderMarkdown, renderJson } = await import('../dist/core/export/index.js');

const sizes = process.argv.slice(2).map(Number).filter((n) => n > 0);
if (sizes.length === 0) sizes.push(10_000, 100_000);

/** A journal of about `target` events, as text, as drbook would write it. */
function generate(target) {
  const lines = [];
  let prev = null;
  let t = Date.parse('2026-03-11T08:00:00.000Z');
  const push = (body, advanceMs = 1500) => {
    t += advanceMs;
    const line = JSON.stringify({ v: 1, seq: lines.length + 1, ts: new Date(t).toISOString(), prev, ...body });
    prev = createHash('sha256').update(line).digest('hex');
    lines.push(line);
  };
  // About 6 events a step on average: estimate the step count from the target.
  const steps = Math.max(1, Math.floor(target / 6.2));
  push({
    type: 'session.started',
    session: '20260311T080000Z-bench',
    runbook: { id: 'bench', title: 'A very long runbook', path: 'runbooks/bench.yml', sha256: 'a'.repeat(64), steps, rto: '8h' },
    mode: 'live',
    operator: { user: 'bench', host: 'bench-host' },
    tz: 'Europe/Paris',
    tzOffsetMinutes: 60,
    drbook: '0.1.0',
    pid: 1,
  });
  push({ type: 'var.set', name: 'token', value: '***', source: 'env', secret: true });
  for (let i = 0; i < steps && lines.length < target - 2; i++) {
    const step = `step-${i}`;
    const began = t;
    push({ type: 'step.started', step, index: i, title: `Step number ${i} | with <html> and \`code\`` });
    // Every 7th step fails a few times before it passes: retries, decisions, an edit sometimes.
    const failures = i % 7 === 3 ? 1 + (i % 5) : 0;
    for (let a = 1; a <= failures + 1; a++) {
      const ok = a > failures;
      push({ type: 'command.started', step, attempt: a, command: `./do-thing --step ${i} --token *** | tee /tmp/out-${i}`, cwd: '/srv', log: `${step}.${a}.log` });
      push({ type: 'command.spawned', step, attempt: a, pid: 1000 + i, procStart: '123' }, 20);
      push(
        {
          type: 'command.finished',
          step,
          attempt: a,
          exitCode: ok ? 0 : 2,
          signal: null,
          durationMs: 4000,
          ok,
          ...(ok ? {} : { reason: 'exit code 2' }),
          tail: ok ? 'done' : `line 1 of output\nline 2 with \`backticks\` and | pipes\nerror: step ${i} failed`,
          outputBytes: 4096,
        },
        4000,
      );
      if (!ok) {
        const edit = a === 2;
        push({ type: 'decision', step, question: 'After failure (exit code 2): what next?', answer: edit ? 'edit' : 'retry' });
        if (edit) push({ type: 'command.edited', step, attempt: a + 1, from: `./do-thing --step ${i}`, to: `./do-thing --step ${i} --force` });
      }
    }
    if (i % 40 === 0) push({ type: 'note', text: `Note at step ${i}: # not a heading, | not a cell |`, step, by: 'operator', source: 'walk' });
    if (i % 500 === 250) {
      push({ type: 'session.paused', step, reason: 'Ctrl-C at a prompt' });
      push({ type: 'session.resumed', gapMs: 600_000, step, pid: 2 }, 600_000);
    }
    push({ type: 'step.finished', step, index: i, outcome: 'done', durationMs: t - began });
  }
  push({ type: 'session.ended', status: 'completed', done: steps, skipped: 0, failed: 0, markedDone: 0, durationMs: t - Date.parse('2026-03-11T08:00:00.000Z') });
  return `${lines.join('\n')}\n`;
}

function time(label, fn) {
  const start = performance.now();
  const value = fn();
  return { label, ms: performance.now() - start, value };
}

for (const size of sizes) {
  const text = generate(size);
  const parsed = time('parse', () => parseJournal(text));
  const report = time('build report', () => buildReport(parsed.value));
  const md = time('render markdown', () => renderMarkdown(report.value));
  const json = time('render JSON', () => renderJson(report.value));
  const total = parsed.ms + report.ms + md.ms + json.ms;
  const mb = (n) => `${(n / 1024 / 1024).toFixed(1)} MB`;
  console.log(`${parsed.value.events.length} events (${mb(text.length)} journal): ${total.toFixed(0)} ms in all`);
  for (const phase of [parsed, report, md, json]) console.log(`  ${phase.label.padEnd(16)} ${phase.ms.toFixed(0).padStart(6)} ms`);
  console.log(`  markdown ${mb(md.value.length)}, JSON ${mb(json.value.length)}, chain ${report.value.journal.chainVerifies ? 'verifies' : 'BROKEN'}, heap ${mb(process.memoryUsage().heapUsed)}`);
}
