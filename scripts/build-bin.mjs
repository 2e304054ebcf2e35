#!/usr/bin/env node
// Part of `npm run build`, after tsc: dist/drbook.cjs, the CLI that bin/drbook.cjs runs,
// and dist/drbook.cjs.cache, the V8 code cache that spares it compiling at each start.
//
// The cache holds what V8 compiled while drbook ran, so it is made by running drbook on
// the bundled runbooks: validate, show, a rehearsal, a live run of dns-failover (its
// scripts only print), sessions, export. Each run starts from the cache of the run before
// and saves it again, so the last one holds them all. Nothing of these runs is kept.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const adapter = join(dist, 'adapters', 'single-file.js');
const outFile = join(dist, 'drbook.cjs');
const cacheFile = `${outFile}.cache`;

if (!existsSync(adapter)) fail('dist/ is not built: run tsc -p tsconfig.build.json first');
const started = performance.now();
const esbuild = await import('esbuild');
const { singleFileBuildOptions } = await import(adapter);

// Built beside, then renamed: bin/drbook.cjs never reads half a file. The old cache goes
// first: it was made for the old bundle.
const partial = join(dist, `.drbook-${process.pid}.tmp.cjs`);
rmSync(cacheFile, { force: true });
try {
  await esbuild.build({
    ...singleFileBuildOptions(join(root, 'src', 'main.ts')),
    format: 'cjs',
    // ASCII, so that bin/drbook.cjs can read it as latin1, the cheapest decoding.
    charset: 'ascii',
    write: true,
    outfile: partial,
    // CommonJS has no import.meta; the modules that ask for their own URL get the bundle's.
    banner: { js: "// drbook: the CLI bundled for bin/drbook.cjs (npm run build).\nconst __drbookBundleUrl = require('node:url').pathToFileURL(__filename).href;" },
    define: { __DRBOOK_SINGLE_FILE__: 'false', 'import.meta.url': '__drbookBundleUrl' },
  });
  // With charset ascii esbuild escapes strings, regexes and names, but keeps the few
  // comments it does not drop as written: escaped as well, so that reading the file as
  // latin1 gives exactly its text.
  const text = readFileSync(partial, 'utf8');
  writeFileSync(partial, text.replace(/[^\x00-\x7f]/gu, (c) => `\\u{${c.codePointAt(0).toString(16)}}`));
  renameSync(partial, outFile);
} catch (error) {
  rmSync(partial, { force: true });
  fail(error instanceof Error ? error.message : String(error));
}

const home = mkdtempSync(join(tmpdir(), 'drbook-build-'));
const partialCache = join(dist, `.drbook-${process.pid}.tmp.cache`);
try {
  const drbook = (...args) =>
    execFileSync(process.execPath, [join(root, 'bin', 'drbook.cjs'), ...args], {
      cwd: root,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, DRBOOK_HOME: home, DRBOOK_DIR: join(root, 'runbooks'), NO_COLOR: '1', DRBOOK_CODE_CACHE_OUT: partialCache },
      timeout: 60_000,
    });
  const warm = (...args) => {
    drbook(...args);
    renameSync(partialCache, cacheFile);
  };
  warm('--help');
  warm('validate');
  warm('list');
  warm('show', 'mail-server');
  warm('rehearse', 'mail-server', '--yes');
  warm('run', 'dns-failover', '--yes');
  const sessions = JSON.parse(drbook('sessions', '--json'));
  renameSync(partialCache, cacheFile);
  warm('export', sessions[sessions.length - 1].id);
} catch (error) {
  // Without a cache drbook works, only slower: say so, but do not fail the build.
  rmSync(partialCache, { force: true });
  rmSync(cacheFile, { force: true });
  const stderr = String(error?.stderr ?? '').trim().split('\n')[0];
  process.stderr.write(`build-bin: no code cache (drbook starts slower): ${stderr || error.message.split('\n')[0]}\n`);
} finally {
  rmSync(home, { recursive: true, force: true });
}
process.stdout.write(`dist/drbook.cjs built${existsSync(cacheFile) ? ' with its code cache' : ''} in ${Math.round(performance.now() - started)} ms\n`);

function fail(message) {
  process.stderr.write(`build-bin: ${message}\n`);
  process.exit(1);
}
