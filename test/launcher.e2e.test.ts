/**
 * bin/drbook.cjs and what it runs: the bundle dist/drbook.cjs and its V8 code cache, as
 * npm run build makes them (scripts/build-bin.mjs). The cache is only a speed-up: drbook
 * must behave the same with it, without it, or with one V8 rejects.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VERSION } from '../src/version.js';
import { codeCacheAccepted } from './helpers/code-cache.js';
import { BIN, ensureBuilt, REPO, STACK_TRACE } from './helpers/run-cli.js';

const bundle = join(REPO, 'dist', 'drbook.cjs');
const temps: string[] = [];

/** A copy of the bin beside a copy of the bundle, with the cache as given (none: undefined). */
function install(cache: Buffer | string | undefined, withBundle = true): string {
  const dir = mkdtempSync(join(tmpdir(), 'drbook-launcher-'));
  temps.push(dir);
  mkdirSync(join(dir, 'bin'));
  mkdirSync(join(dir, 'dist'));
  copyFileSync(BIN, join(dir, 'bin', 'drbook.cjs'));
  copyFileSync(join(REPO, 'package.json'), join(dir, 'package.json'));
  if (withBundle) copyFileSync(bundle, join(dir, 'dist', 'drbook.cjs'));
  // The bash parser's wasm, as the build ships it beside the bundle (runbooks with {{name}}).
  if (withBundle) cpSync(join(REPO, 'dist', 'wasm'), join(dir, 'dist', 'wasm'), { recursive: true });
  if (cache !== undefined) writeFileSync(join(dir, 'dist', 'drbook.cjs.cache'), cache);
  return join(dir, 'bin', 'drbook.cjs');
}

/** Every 997th byte of the V8 data flipped: a cache V8 itself might take and crash on. */
function damaged(cache: Buffer): Buffer {
  const copy = Buffer.from(cache);
  for (let i = 12 + 500; i < copy.length; i += 997) copy[i] = copy[i]! ^ 0xff;
  return copy;
}

/**
 * V8's data with its version hash changed, as a cache made by another node looks, inside a
 * correct header: drbook's check passes it, and V8 itself must refuse it.
 */
function fromAnotherNode(cache: Buffer): Buffer {
  const data = Buffer.from(cache.subarray(12));
  data.writeUInt32LE(data.readUInt32LE(4) ^ 0x5a5a5a5a, 4); // V8's header: magic, then version hash
  const copy = Buffer.from(cache.subarray(0, 12));
  copy.writeUInt32LE(crc32(data), 8);
  return Buffer.concat([copy, data]);
}

/** The same cache, labelled as made for a bundle with another CRC-32. */
function forAnotherBundle(cache: Buffer): Buffer {
  const copy = Buffer.from(cache);
  copy.writeUInt32LE((copy.readUInt32LE(4) + 1) >>> 0, 4);
  return copy;
}

function drbook(bin: string, args: string[]) {
  const home = mkdtempSync(join(tmpdir(), 'drbook-launcher-home-'));
  temps.push(home);
  return spawnSync(process.execPath, [bin, ...args], {
    cwd: REPO,
    encoding: 'utf8',
    env: { ...process.env, DRBOOK_HOME: home, NO_COLOR: '1' },
    timeout: 30_000,
  });
}

beforeAll(ensureBuilt);
afterAll(() => {
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
});

describe('the build', () => {
  it('makes a bundle of ASCII only, so that bin/drbook.cjs may read it as latin1', () => {
    const bytes = readFileSync(bundle);
    const firstNonAscii = bytes.findIndex((b) => b > 0x7f);
    expect(firstNonAscii).toBe(-1);
  });

  it('makes a code cache that this node accepts for this bundle', () => {
    expect(statSync(`${bundle}.cache`).size).toBeGreaterThan(100_000);
    expect(codeCacheAccepted(REPO)).toEqual({ accepted: true, why: '' });
  });
});

describe('bin/drbook.cjs', () => {
  const runbook = join(REPO, 'runbooks', 'mail-server.yml');

  it('answers --version and -V from package.json without reading the bundle', () => {
    const bin = install(undefined, false);
    for (const flag of ['--version', '-V']) {
      const result = drbook(bin, [flag]);
      expect(result.status).toBe(0);
      expect(result.stdout).toBe(`${VERSION}\n`);
    }
  });

  it.each([
    ['the cache the build made', () => readFileSync(`${bundle}.cache`)],
    ['no cache', () => undefined],
    ['a cache of garbage', () => 'not a code cache'],
    ['a truncated cache', () => readFileSync(`${bundle}.cache`).subarray(0, 5000)],
    ['a cache damaged on disk', () => damaged(readFileSync(`${bundle}.cache`))],
    ['the cache of another bundle', () => forAnotherBundle(readFileSync(`${bundle}.cache`))],
    ['a cache another node version made', () => fromAnotherNode(readFileSync(`${bundle}.cache`))],
  ])('gives the same answers with %s', (_label, cache) => {
    const bin = install(cache());
    const valid = drbook(bin, ['validate', runbook]);
    expect(valid.stderr).toBe('1 runbook checked: all valid (0 errors, 0 warnings)\n');
    expect(valid.status).toBe(0);
    const bad = drbook(bin, ['show', 'no-such-runbook']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).not.toMatch(STACK_TRACE);
  });

  it('--version into a closed pipe: one line, exit 2, no stack trace', () => {
    const bin = install(undefined, false);
    const closed = spawnSync('bash', ['-c', `"${process.execPath}" "${bin}" --version | (exec 0<&-; true); echo "status=\${PIPESTATUS[0]}"`], {
      encoding: 'utf8',
    });
    expect(closed.stdout).toBe('status=2\n');
    expect(closed.stderr).toMatch(/^drbook: cannot write the version: EPIPE\n$/);
  });

  const source = () => readFileSync(bundle, 'latin1');
  // The build minifies white space: statements end with ';', not with a line.
  const statementStarts = () => [...source().matchAll(/;var require_/g)].map((m) => m.index! + 1);
  it.each([
    ['cut in the middle of a statement', () => source().slice(0, 100_000)],
    ['cut between two statements (it still parses)', () => source().slice(0, statementStarts()[50])],
    ['empty', () => ''],
    ['with a line after its last line', () => `${source()}more();\n`],
    ['edited so that it throws on its first run', () => `undefinedName();\n${source()}`],
  ])('with a bundle %s: one line that says to build, exit 2, no stack trace', (_label, text) => {
    const bin = install(undefined);
    writeFileSync(join(bin, '..', '..', 'dist', 'drbook.cjs'), text(), 'latin1');
    for (const args of [['validate', runbook], ['list']]) {
      const result = drbook(bin, args);
      expect(result.status).toBe(2);
      expect(result.stderr).toMatch(/^drbook: .*dist\/drbook\.cjs is damaged \(.+\): run npm run build\n$/);
      expect(result.stdout).toBe('');
    }
  });

  it('does not run the cache of a bundle edited in place to the same length: the edit shows', () => {
    const bin = install(readFileSync(`${bundle}.cache`));
    const edited = source().replace('list the runbooks of', 'LIST THE RUNBOOKS OF');
    expect(edited.length).toBe(source().length);
    writeFileSync(join(bin, '..', '..', 'dist', 'drbook.cjs'), edited, 'latin1');
    const result = drbook(bin, ['--help']);
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('LIST THE RUNBOOKS OF');
  });

  it('without the bundle: one line that says to build, exit 2, no stack trace', () => {
    const bin = install(undefined, false);
    const result = drbook(bin, ['validate', runbook]);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/^drbook: cannot read .*dist\/drbook\.cjs \(ENOENT\): run npm run build\n$/);
    expect(result.stderr).not.toMatch(STACK_TRACE);
  });

  it('does not pass the build-only cache variable on to the commands a run starts', () => {
    const bin = install(readFileSync(`${bundle}.cache`));
    const dir = mkdtempSync(join(tmpdir(), 'drbook-launcher-rb-'));
    temps.push(dir);
    const out = join(dir, 'env.txt');
    writeFileSync(
      join(dir, 'envcheck.yml'),
      `drbook: 1\ntitle: Env check\nsteps:\n  - id: env\n    title: Print the variable\n    run: echo "cache=\${DRBOOK_CODE_CACHE_OUT:-unset}" > ${out}\n`,
    );
    const cacheOut = join(dir, 'written.cache');
    const home = mkdtempSync(join(tmpdir(), 'drbook-launcher-home-'));
    temps.push(home);
    const result = spawnSync(process.execPath, [bin, 'run', join(dir, 'envcheck.yml'), '--yes'], {
      encoding: 'utf8',
      env: { ...process.env, DRBOOK_HOME: home, NO_COLOR: '1', DRBOOK_CODE_CACHE_OUT: cacheOut },
      timeout: 30_000,
    });
    expect(result.status, result.stderr).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe('cache=unset\n');
    // And the cache the build asked for was written.
    expect(statSync(cacheOut).size).toBeGreaterThan(100_000);
  });
});
