/**
 * Every kind of broken runbook an operator or an attacker can hand to drbook: each must
 * give a clear `file:line:col: error:` and exit 1 or 2 — no stack trace, no hang. Small
 * cases are committed under fixtures/malformed; the big and binary ones are generated
 * here into a temp dir, so the repository does not carry 10 MB of garbage.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadRunbookFile } from '../src/adapters/runbook-files.js';
import { ensureBuilt, FIXTURES, runCli, STACK_TRACE, type CliResult } from './helpers/run-cli.js';

const COMMITTED = join(FIXTURES, 'malformed');

/** What each committed file must say first: the problem a reader needs to see. */
const EXPECTED: Record<string, RegExp> = {
  'ansible-playbook.yml': /^1:1: error: a runbook is a mapping of keys/,
  'bad-indentation.yml': /^5:12: error: YAML: Nested mappings are not allowed/,
  'bom-then-error.yml': /^1:9: error: unsupported format version 2/,
  'complex-key.yml': /^1:1: error: runbook: missing required field `title`/,
  'control-chars.yml': /^2:14: error: YAML: control character U\+0007/,
  'crlf-unknown-field.yml': /^6:5: error: steps\[0\]\.comand: unknown field `comand` \(did you mean `run`\?\)/,
  'duplicate-keys.yml': /^7:5: error: YAML: duplicate key "run" \(first at line 6\)/,
  'empty.yml': /^1:1: error: the file is empty/,
  'every-meaning-error.yml': /^3:6: error: rto: cannot read duration "soon"/,
  'html-page.yml': /^1:1: error: YAML: /,
  'huge-version.yml': /^1:9: error: unsupported format version 1e\+23/,
  'json-broken.yml': /^1:51: error: steps\[0\]\.title: is empty/,
  'markdown-checklist.yml': /^3:7: error: YAML: /,
  'merge-into-scalar.yml': /^4:5: error: YAML: Merge sources must be maps/,
  'null-everywhere.yml': /^1:1: error: the format version is empty/,
  'numeric-ids.yml': /^2:5: error: id: expected string, received number/,
  'only-comments.yml': /^1:1: error: the file is empty/,
  'self-alias.yml': /^6:11: error: steps\[0\]\.docs\[0\]\.id: unknown field/,
  'steps-not-a-list.yml': /^4:3: error: steps: expected array, received object/,
  'tab-indentation.yml': /^4:1: error: YAML: Tabs are not allowed as indentation/,
  'top-level-list.yml': /^1:1: error: a runbook is a mapping of keys/,
  'top-level-string.yml': /^1:1: error: missing format version/,
  'truncated-after-steps.yml': /^3:1: error: steps: is empty \(expected array\)/,
  'truncated-header.yml': /^1:1: error: a runbook is a mapping of keys/,
  'truncated-in-flow.yml': /^3:7: error: YAML: Flow sequence .* end with a \]/,
  'truncated-in-quote.yml': /^2:8: error: YAML: Missing closing "quote/,
  'truncated-mid-key.yml': /^5:5: error: YAML: Implicit map keys need to be followed by map values/,
  'two-documents.yml': /^6:1: error: YAML: a runbook file holds one YAML document/,
  'unclosed-block.yml': /^6:10: error: steps\[0\]\.run: must not be empty/,
  'unknown-fields-everywhere.yml': /^1:1: error: runbook: missing required field `title`/,
  'unresolved-alias.yml': /^4:5: error: YAML: Unresolved alias/,
  'whitespace-only.yml': /^1:1: error: the file is empty/,
  'wrong-types-docs.yml': /^4:15: error: docs\.a\.title: expected string, received number/,
  'wrong-types-step.yml': /^4:9: error: steps\[0\]\.id: expected string, received number/,
  'wrong-types-top.yml': /^1:9: error: unsupported format version "yes"/,
  'wrong-types-var.yml': /^4:16: error: vars\.a\.prompt: expected string, received number/,
  'yaml11-booleans.yml': /^7:11: error: steps\[0\]\.safe: expected boolean, received string/,
};

/** A deterministic byte stream, so a failure reproduces. */
function bytes(length: number, seed: number, allowZero: boolean): Buffer {
  const out = Buffer.alloc(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = allowZero ? x & 0xff : (x % 255) + 1;
  }
  return out;
}

function steps(count: number, id: (i: number) => string): string {
  let text = 'drbook: 1\ntitle: Generated\nsteps:\n';
  for (let i = 0; i < count; i++) text += `  - id: ${id(i)}\n    title: Step ${i}\n`;
  return text;
}

/**
 * Generated at test time: name, content, and what the first problem must say. The heavy
 * ones (a second of parsing by design: 50 000 keys took far beyond the 10 s deadline
 * before the loader was fixed) run once, through `validate`, to keep the suite fast.
 */
const GENERATED: { name: string; make: () => string | Buffer; expect: RegExp; heavy?: boolean }[] = [
  { name: 'huge-10mb.yml', make: () => steps(420_000, (i) => `s${i}`), expect: /^1:1: error: is (1\d\.\d MB: )?too large for a runbook \(limit 4 MB\)/ },
  {
    name: 'many-duplicate-ids.yml',
    make: () => steps(10_000, () => 'same'),
    expect: /^6:9: error: steps\[1\] \(same\): duplicate step id "same"/,
    heavy: true,
  },
  {
    name: 'many-unknown-keys.yml',
    make: () => steps(1, () => 'a') + Array.from({ length: 50_000 }, (_, i) => `k${i}: 1\n`).join(''),
    expect: /^6:1: error: k0: unknown field `k0`/,
    heavy: true,
  },
  {
    name: 'many-duplicate-keys.yml',
    make: () => steps(1, () => 'a') + 'title: again\n'.repeat(50_000),
    expect: /^6:1: error: YAML: duplicate key "title" \(first at line 2\)/,
    heavy: true,
  },
  { name: 'long-line-2mb.yml', make: () => `drbook: 1\ntitle: ${'x'.repeat(2_000_000)}\n`, expect: /^1:1: error: runbook: missing required field `steps`/ },
  {
    name: 'long-implicit-key.yml',
    make: () => `drbook: 1\ntitle: T\n${'k'.repeat(5_000)}: 1\n`,
    expect: /^3:1: error: YAML: The : indicator must be at most 1024 chars/,
  },
  {
    name: 'long-key-1mb.yml',
    make: () => `drbook: 1\ntitle: T\n? ${'k'.repeat(1_000_000)}\n: 1\nsteps:\n  - id: a\n    title: A\n`,
    expect: /^3:3: error: k{57}\.\.\.: unknown field `k{57}\.\.\.`$/,
  },
  {
    name: 'deep-flow-100k.yml',
    make: () => `drbook: 1\ntitle: T\nsteps: ${'['.repeat(100_000)}${']'.repeat(100_000)}\n`,
    expect: /^\d+:\d+: error: YAML: nested too deeply to read/,
    heavy: true,
  },
  {
    name: 'deep-flow-maps-20k.yml',
    make: () => `drbook: 1\ntitle: T\nsteps: ${'{a: '.repeat(20_000)}1${'}'.repeat(20_000)}\n`,
    expect: /^\d+:\d+: error: YAML: nested too deeply to read/,
  },
  {
    name: 'deep-block-900.yml',
    make: () => 'drbook: 1\ntitle: T\nsteps:\n' + Array.from({ length: 900 }, (_, i) => ' '.repeat(2 * i + 2) + '-').join('\n') + ' x\n',
    expect: /^\d+:\d+: error: YAML: nest(ed too deeply to read|ed more than 64 levels deep)/,
  },
  {
    name: 'deep-100.yml',
    make: () => `drbook: 1\ntitle: T\nsteps:\n  - id: a\n    title: A\n    env: ${'['.repeat(100)}${']'.repeat(100)}\n`,
    expect: /^6:71: error: YAML: nested more than 64 levels deep/,
  },
  {
    name: 'alias-bomb.yml',
    make: () => {
      let text = 'drbook: 1\ntitle: T\na0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n';
      for (let i = 1; i <= 12; i++)
        text += `a${i}: &a${i} [${Array(9)
          .fill(`*a${i - 1}`)
          .join(', ')}]\n`;
      return text + 'steps:\n  - id: a\n    title: A\n';
    },
    expect: /^4:10: error: YAML: aliases expand to too many nodes \(an "alias bomb"\)/,
  },
  {
    name: 'alias-bomb-merge.yml',
    make: () => {
      let text = 'drbook: 1\ntitle: T\nx0: &x0 { a: 1, b: 2 }\n';
      for (let i = 1; i <= 12; i++)
        text += `x${i}: &x${i}\n  <<: [${Array(9)
          .fill(`*x${i - 1}`)
          .join(', ')}]\n  k: [${Array(9)
          .fill(`*x${i - 1}`)
          .join(', ')}]\n`;
      return text + 'steps:\n  - id: a\n    title: A\n';
    },
    expect: /^5:8: error: YAML: aliases expand to too many nodes/,
  },
  { name: 'binary-with-nul.yml', make: () => bytes(64 * 1024, 42, true), expect: /^1:1: error: is not a text file \(it holds NUL bytes\)/ },
  { name: 'binary-without-nul.yml', make: () => bytes(64 * 1024, 7, false), expect: /^1:1: error: is not a UTF-8 text file/ },
  {
    name: 'utf16.yml',
    make: () => Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('drbook: 1\ntitle: T\n', 'utf16le')]),
    expect: /^1:1: error: is not a text file/,
  },
  {
    name: 'latin1.yml',
    make: () => Buffer.from('drbook: 1\ntitle: Récupération\nsteps:\n  - id: a\n    title: A\n', 'latin1'),
    expect: /^1:1: error: is not a UTF-8 text file/,
  },
  { name: 'truncated-utf8.yml', make: () => Buffer.from('drbook: 1\ntitle: 日本', 'utf8').subarray(0, -1), expect: /^1:1: error: is not a UTF-8 text file/ },
  {
    name: 'random-unicode.yml',
    make: () => {
      const raw = bytes(32 * 1024, 99, false);
      let text = '';
      for (let i = 0; i + 1 < raw.length; i += 2) text += String.fromCodePoint(0x20 + (((raw[i]! << 8) | raw[i + 1]!) % 0xd000));
      return text;
    },
    expect: /^\d+:\d+: error: /,
  },
];

interface Case {
  name: string;
  path: string;
  expect: RegExp;
  heavy: boolean;
}

/** Light files in workDir (list and --json read them all), heavy ones beside it. */
let workDir: string;
let lightDir: string;
const cases: Case[] = [];
const light = () => cases.filter((c) => !c.heavy);

/** `show` on a sample: it shares validate's loading, and each spawn costs a node start. */
const SHOW_SAMPLE = [
  'empty.yml',
  'truncated-in-quote.yml',
  'wrong-types-step.yml',
  'every-meaning-error.yml',
  'control-chars.yml',
  'huge-10mb.yml',
  'deep-flow-100k.yml',
  'alias-bomb.yml',
  'binary-with-nul.yml',
  'binary-without-nul.yml',
];

/** Runs the spawns a few at a time: all at once would measure the machine, not drbook. */
async function pool<T, R>(items: T[], run: (item: T) => Promise<R>): Promise<R[]> {
  const limit = Math.max(2, Math.min(8, availableParallelism()));
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await run(items[i]!);
      }
    }),
  );
  return results;
}

function expectCleanFailure(result: CliResult, label: string) {
  const output = `${label}\nexit ${result.code} signal ${result.signal}\nstdout:\n${result.stdout.slice(0, 2000)}\nstderr:\n${result.stderr.slice(0, 2000)}`;
  expect(result.timedOut, `hung: ${output}`).toBe(false);
  expect([1, 2], output).toContain(result.code);
  expect(result.stdout + result.stderr, output).not.toMatch(STACK_TRACE);
}

beforeAll(async () => {
  await ensureBuilt();
  workDir = mkdtempSync(join(tmpdir(), 'drbook-malformed-'));
  lightDir = join(workDir, 'light');
  mkdirSync(lightDir);
  mkdirSync(join(workDir, 'heavy'));
  for (const name of readdirSync(COMMITTED).sort()) {
    // Copies sit beside the generated files, so `list` sees the whole corpus in one dir.
    copyFileSync(join(COMMITTED, name), join(lightDir, name));
    cases.push({ name, path: join(COMMITTED, name), expect: EXPECTED[name] ?? /^$/, heavy: false });
  }
  for (const g of GENERATED) {
    const path = join(workDir, g.heavy ? 'heavy' : 'light', g.name);
    writeFileSync(path, g.make());
    cases.push({ name: g.name, path, expect: g.expect, heavy: g.heavy === true });
  }
}, 120_000);

afterAll(() => {
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

describe('the malformed corpus', () => {
  it('holds at least 30 runbooks, each committed one with its expectation', () => {
    expect(cases.length).toBeGreaterThanOrEqual(30);
    expect(readdirSync(COMMITTED).sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  it('each file loads as problems, never a runbook, its first one the expected', async () => {
    for (const c of light()) {
      const loaded = await loadRunbookFile(c.path);
      expect(loaded.runbook, c.name).toBeUndefined();
      const first = loaded.problems[0];
      expect(first, c.name).toBeDefined();
      const shown = `${first!.line}:${first!.col}: ${first!.severity}: ${first!.message}`;
      expect(shown, c.name).toMatch(c.expect);
      for (const p of loaded.problems) {
        expect(p.line, c.name).toBeGreaterThanOrEqual(1);
        expect(p.col, c.name).toBeGreaterThanOrEqual(1);
        expect(p.message, c.name).not.toMatch(/[\n\r]/);
        expect(p.message.length, c.name).toBeLessThanOrEqual(500);
      }
    }
  }, 60_000);

  it('`drbook validate FILE`: exit 1, `file:line:col: error:` on stdout, a summary on stderr', async () => {
    const results = await pool(cases, (c) => runCli(['validate', c.path], { cwd: workDir }));
    cases.forEach((c, i) => {
      const result = results[i]!;
      expectCleanFailure(result, `validate ${c.name}`);
      expect(result.code, c.name).toBe(1);
      const shown = c.path.startsWith(workDir) ? relative(workDir, c.path) : c.path;
      const first = result.stdout.split('\n')[0]!;
      expect(first.startsWith(`${shown}:`), `${c.name}: ${first.slice(0, 300)}`).toBe(true);
      expect(first.slice(shown.length + 1), c.name).toMatch(c.expect);
      expect(result.stderr, c.name).toMatch(/^1 runbook checked: 1 invalid \(\d+ errors?, \d+ warnings?\)\n$/);
    });
  }, 120_000);

  it('`drbook show FILE`: exit 1 with the problems and one line saying why', async () => {
    const sample = cases.filter((c) => SHOW_SAMPLE.includes(c.name));
    expect(sample.length).toBe(SHOW_SAMPLE.length);
    const results = await pool(sample, (c) => runCli(['show', c.path], { cwd: workDir }));
    sample.forEach((c, i) => {
      const result = results[i]!;
      expectCleanFailure(result, `show ${c.name}`);
      expect(result.code, c.name).toBe(1);
      expect(result.stdout, c.name).toBe('');
      expect(result.stderr, c.name).toMatch(/: error: /);
      expect(result.stderr, c.name).toMatch(/^drbook: .* is not a valid runbook \(\d+ errors?\); fix it, then check with: drbook validate /m);
    });
  }, 120_000);

  it('`drbook validate --json` over the whole corpus: every file invalid, parseable JSON', async () => {
    const result = await runCli(['validate', '--json', lightDir], { cwd: workDir });
    expectCleanFailure(result, 'validate --json');
    const report = JSON.parse(result.stdout) as { ok: boolean; files: { file: string; valid: boolean; errors: number }[]; problems: unknown[] };
    expect(report.ok).toBe(false);
    expect(report.files.length).toBe(light().length);
    for (const file of report.files) {
      expect(file.valid, file.file).toBe(false);
      expect(file.errors, file.file).toBeGreaterThan(0);
    }
  }, 60_000);

  it('`drbook list` over the corpus: exit 0, every runbook flagged invalid', async () => {
    const [text, json] = await Promise.all([
      runCli(['list', '--dir', lightDir], { cwd: workDir }),
      runCli(['list', '--json'], { cwd: workDir, env: { DRBOOK_DIR: lightDir } }),
    ]);
    for (const result of [text, json]) {
      expect(result.timedOut).toBe(false);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout + result.stderr).not.toMatch(STACK_TRACE);
    }
    expect(text.stdout.split('\n').filter((l) => l.includes('INVALID (')).length).toBe(light().length);
    const rows = JSON.parse(json.stdout) as { id: string; valid: boolean; steps: number | null }[];
    expect(rows.length).toBe(light().length);
    expect(rows.every((r) => !r.valid && r.steps === null)).toBe(true);
  }, 60_000);
});
