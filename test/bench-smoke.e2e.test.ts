/**
 * Keeps `npm run bench` from rotting: its quickest form runs and writes the JSON the table
 * is made from. No timing is asserted: figures on a test machine mean nothing.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dir = mkdtempSync(join(tmpdir(), 'drbook-bench-smoke-'));

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('npm run bench', () => {
  it('runs --quick --only start and writes each figure with its baseline, ratio and target', () => {
    const json = join(dir, 'results.json');
    const table = execFileSync(process.execPath, [join(root, 'bench', 'run.mjs'), '--quick', '--only', 'start', '--json', json], {
      cwd: root,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    expect(table).toContain('start: --version');

    const results = JSON.parse(readFileSync(json, 'utf8'));
    expect(results.meta).toMatchObject({ node: process.version, quick: true, groups: ['start'] });
    expect(results.meta.cores).toBeGreaterThan(0);
    expect(Object.keys(results.rows).sort()).toEqual(['start.validate', 'start.validate.cold', 'start.validate.plain', 'start.version']);
    for (const [id, row] of Object.entries(results.rows) as [string, Record<string, unknown>][]) {
      // Every row, the first validate of a changed runbook included, is held to a ratio.
      expect(row, id).toMatchObject({ unit: 'ms', baseline: { label: 'node -e 0' }, target: { on: 'ratio', op: '<=' } });
      for (const key of ['median', 'min', 'max', 'ratio'] as const) expect(typeof row[key]).toBe('number');
      expect(typeof row.pass).toBe('boolean');
      expect(row.error).toBeUndefined();
    }
  }, 30_000);
});
