/**
 * The cursor file beside the journal, as an outside hand may leave it: a sink entry that is not
 * a cursor (a string seq, a negative count, a list) reads as that sink at the start, so its
 * events are sent again under their idempotency keys instead of being taken as delivered.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cursorPath, readCursor } from '../src/adapters/notify/cursor-file.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function journalWithCursor(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'drbook-cursor-'));
  dirs.push(dir);
  const journal = join(dir, 'S.jsonl');
  writeFileSync(cursorPath(journal), text);
  return journal;
}

describe('readCursor', () => {
  it('keeps a well-formed sink entry as written', () => {
    const journal = journalWithCursor(JSON.stringify({ v: 1, sinks: { slack: { delivered: 7, sent: 3, inflight: { from: 8, to: 9, key: 'k' } } } }));
    expect(readCursor(journal).cursor.sinks).toEqual({ slack: { delivered: 7, sent: 3, inflight: { from: 8, to: 9, key: 'k' } } });
  });

  it.each([
    ['a string seq', { delivered: 'zz', sent: 3 }],
    ['a missing sent count', { delivered: 4 }],
    ['a negative seq', { delivered: -1, sent: 0 }],
    ['a fractional seq', { delivered: 2.5, sent: 1 }],
    ['a list', [1, 2]],
    ['a number', 5],
    ['a torn inflight', { delivered: 2, sent: 1, inflight: { from: 'a' } }],
  ])('drops a sink entry with %s: that sink starts over', (_what, entry) => {
    const journal = journalWithCursor(JSON.stringify({ v: 1, sinks: { slack: entry, matrix: { delivered: 5, sent: 2 } } }));
    const { cursor, exists } = readCursor(journal);
    expect(exists).toBe(true);
    expect(cursor.sinks.slack).toBeUndefined();
    expect(cursor.sinks.matrix).toEqual({ delivered: 5, sent: 2 });
  });

  it('reads a sinks list (not a map) as no sink delivered', () => {
    const journal = journalWithCursor(JSON.stringify({ v: 1, sinks: [{ delivered: 9, sent: 9 }] }));
    expect(readCursor(journal).cursor.sinks).toEqual({});
  });
});
