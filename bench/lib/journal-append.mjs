#!/usr/bin/env node
/**
 * One sample of journal appends, in its own process so each sample starts cold alike:
 *
 *   node journal-append.mjs drbook|raw DIR EVENTS
 *
 * drbook: FileJournal.append from the built dist/ (append lock, JSON, hash chain, fsync).
 * raw:    the floor on the same disk: one writeSync of a line as long, then fsyncSync.
 * Prints {"events": N, "ms": T, "perSecond": R}.
 */
import { closeSync, constants, fsyncSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

const [mode, dir, count] = process.argv.slice(2);
const events = Number(count);
const note = (i) => ({ type: 'note', text: `Note ${i}: the replica answers again, lag 0 s`, by: 'operator', source: 'cli' });

let ms;
if (mode === 'drbook') {
  const { FileJournal } = await import('../../dist/adapters/file-journal.js');
  const journal = FileJournal.create(dir, `20260311T080000Z-append-${process.pid}`);
  journal.append({
    type: 'session.started',
    session: 'bench',
    runbook: { id: 'bench', title: 'Bench', path: 'bench.yml', sha256: 'a'.repeat(64), steps: 1 },
    mode: 'live',
    operator: { user: 'bench', host: 'bench' },
    tz: 'UTC',
    tzOffsetMinutes: 0,
    drbook: '0.1.0',
    pid: process.pid,
  });
  const started = performance.now();
  for (let i = 0; i < events; i++) journal.append(note(i));
  ms = performance.now() - started;
  journal.close();
} else if (mode === 'raw') {
  // As long as drbook's line: the same bytes go to the disk.
  const line = Buffer.from(`${JSON.stringify({ v: 1, seq: 1, ts: new Date().toISOString(), prev: 'f'.repeat(64), ...note(0) })}\n`);
  const fd = openSync(join(dir, `raw-${process.pid}.jsonl`), constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT, 0o600);
  const started = performance.now();
  for (let i = 0; i < events; i++) {
    writeSync(fd, line);
    fsyncSync(fd);
  }
  ms = performance.now() - started;
  closeSync(fd);
} else {
  process.stderr.write('usage: journal-append.mjs drbook|raw DIR EVENTS\n');
  process.exit(2);
}
process.stdout.write(`${JSON.stringify({ events, ms, perSecond: (events * 1000) / ms })}\n`);
