#!/usr/bin/env node
// Part of `npm run build`, after tsc: dist/drbook.cjs, the CLI that bin/drbook.cjs runs,
// and dist/drbook.cjs.cache, the V8 code cache that spares it compiling at each start.
//
// The cache holds what V8 compiled while drbook ran, so it is made by running drbook on
// scripts/warm-up/warm-up.yml: validate, show, a rehearsal, a live run (its commands only
// print), sessions, export. Each run starts from the cache of the run before and saves it
// again, so the last one holds them all. Nothing of these runs is kept.
import { execFileSync } from 'node:child_process';
import { closeSync, copyFileSync, existsSync, fsyncSync, mkdirSync, mkdtempSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const adapter = join(dist, 'adapters', 'single-file.js');
const outFile = join(dist, 'drbook.cjs');
const cacheFile = `${outFile}.cache`;
/** The bundle's last line; bin/drbook.cjs checks it (keep the two equal). */
const BUNDLE_END = '// drbook: end of the bundle\n';

if (!existsSync(adapter)) fail('dist/ is not built: run tsc -p tsconfig.build.json first');
const started = performance.now();
const esbuild = await import('esbuild');
const { singleFileBuildOptions } = await import(pathToFileURL(adapter).href);

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
    // Less to read and decode at each start (2.5 MB -> 1.8 MB, about 7 ms of a run): white
    // space and syntax only. Names are kept, so a stack trace of a bug still names functions.
    minifyWhitespace: true,
    minifySyntax: true,
    write: true,
    outfile: partial,
    // CommonJS has no import.meta; the modules that ask for their own URL get the bundle's.
    // "use strict" first: after the banner's statement esbuild's own would not count, and
    // the modules bundled here are ES modules, strict by definition.
    banner: {
      js: "'use strict';\n// drbook: the CLI bundled for bin/drbook.cjs (npm run build).\nconst __drbookBundleUrl = require('node:url').pathToFileURL(__filename).href;\nconst __drbookRequire = require;",
    },
    define: { __DRBOOK_SINGLE_FILE__: 'false', 'import.meta.url': '__drbookBundleUrl' },
  });
  // With charset ascii esbuild escapes strings, regexes and names, but keeps the few
  // comments it does not drop as written: escaped as well, so that reading the file as
  // latin1 gives exactly its text.
  // web-tree-sitter asks for node's own modules with import(), which a script compiled from
  // a code cache cannot do: in CommonJS, require gives the same modules.
  const text = readFileSync(partial, 'utf8')
    .replace(/await import\("(module|fs\/promises)"\)/g, '__drbookRequire("$1")')
    .replace(/[^\x00-\x7f]/gu, (c) => `\\u{${c.codePointAt(0).toString(16)}}`);
  // The last line tells bin/drbook.cjs the file is whole: a file cut between two statements
  // still parses, and would run as a drbook that does nothing and exits 0.
  writeDurable(partial, `${text.replace(/\n*$/, '\n')}${BUNDLE_END}`);
  renameSync(partial, outFile);
} catch (error) {
  rmSync(partial, { force: true });
  fail(error instanceof Error ? error.message : String(error));
}

// Everything runs in a temporary directory, on scripts/warm-up/warm-up.yml only (never on a
// runbook of the checkout, which may be a real one), with an environment of our own: no
// NODE_OPTIONS, whose V8 flags would make a cache that plain runs reject.
const partialCache = join(dist, `.drbook-${process.pid}.tmp.cache`);
let work;
let warmed = 0;
try {
  work = mkdtempSync(join(tmpdir(), 'drbook-build-'));
  const runbooks = join(work, 'runbooks');
  mkdirSync(runbooks);
  copyFileSync(join(root, 'scripts', 'warm-up', 'warm-up.yml'), join(runbooks, 'warm-up.yml'));
  // One runbook with mistakes, so that the code of validation errors is compiled too.
  writeFileSync(join(work, 'broken.yml'), 'drbook: 1\ntitle: Broken\nsteps:\n  - id: Bad Id\n    title: ""\n    run: echo {{nowhere}}\n    colour: red\n');
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: work,
    DRBOOK_HOME: join(work, 'home'),
    DRBOOK_DIR: runbooks,
    NO_COLOR: '1',
    DRBOOK_CODE_CACHE_OUT: partialCache,
  };
  /** One run of drbook; the cache it saves at exit becomes the one the next run starts from. */
  const warm = (args, okCodes = [0]) => {
    let stdout = '';
    try {
      stdout = execFileSync(process.execPath, [join(root, 'bin', 'drbook.cjs'), ...args], {
        cwd: work,
        env,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
        timeout: 60_000,
      });
    } catch (error) {
      if (!okCodes.includes(error.status)) throw Object.assign(error, { warmArgs: args });
    }
    renameSync(partialCache, cacheFile);
    warmed++;
    return stdout;
  };
  warm(['--help']);
  warm(['validate']);
  warm(['validate', join(work, 'broken.yml')], [1]);
  warm(['list']);
  warm(['show', 'warm-up']);
  warm(['rehearse', 'warm-up', '--yes']);
  warm(['run', 'warm-up', '--yes']);
  const sessions = JSON.parse(warm(['sessions', '--json']));
  warm(['export', sessions[sessions.length - 1].id]);
} catch (error) {
  // Without a cache, or with the cache of the runs that worked, drbook works, only slower:
  // say why, but do not fail the build.
  rmSync(partialCache, { force: true });
  const said = [error?.stderr, error?.stdout].map((text) => String(text ?? '').trim()).filter(Boolean);
  const why =
    said.length > 0
      ? said
          .map((text) =>
            text
              .split('\n')
              .filter((line) => line.trim())
              .slice(-2)
              .join(' / '),
          )
          .join(' / ')
      : String(error?.message ?? error).split('\n')[0];
  const what = error?.warmArgs ? `drbook ${error.warmArgs.join(' ')} failed: ` : '';
  process.stderr.write(`build-bin: the code cache covers only the first ${warmed} warm-up runs (drbook may start slower): ${what}${why}\n`);
} finally {
  if (work) rmSync(work, { recursive: true, force: true });
}
process.stdout.write(`dist/drbook.cjs built${existsSync(cacheFile) ? ' with its code cache' : ''} in ${Math.round(performance.now() - started)} ms\n`);

/** Written and fsynced before the rename that publishes it: a power cut leaves the old file or the whole new one. */
function writeDurable(file, text) {
  const fd = openSync(file, 'w');
  try {
    writeFileSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function fail(message) {
  process.stderr.write(`build-bin: ${message}\n`);
  process.exit(1);
}
