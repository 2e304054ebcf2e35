#!/usr/bin/env node
'use strict';
/**
 * drbook's command: runs dist/drbook.cjs, the whole CLI bundled into one CommonJS file by
 * scripts/build-bin.mjs, compiled with the V8 code cache the build saved beside it.
 *
 * Why not import dist/main.js: drbook is started at the worst moment, often on a small
 * rescue box, and loading the stack module by module cost over 3x node's own start
 * (npm run bench). One file skips resolving and reading a hundred modules; the code cache
 * skips compiling what the build already compiled (Node 20 has no compile cache of its
 * own); and CommonJS, here and in the bundle, skips starting the ES module loader. A cache
 * V8 rejects (made by another node version) is ignored: drbook compiles as usual, slower.
 */
const { readFileSync, writeFileSync, writeSync } = require('node:fs');
const { Module } = require('node:module');
const { join } = require('node:path');
const { Script } = require('node:vm');
const { crc32 } = require('node:zlib');

/**
 * The cache file: "DRBK", the CRC-32 of the bundle it was made for, the CRC-32 of the V8
 * data, then the data. V8 checks a cache's node version and the bundle's length only, and
 * may crash on damaged data: a cache of another bundle, or damaged on disk, is not used.
 */
const CACHE_MAGIC = 0x4b425244;
const CACHE_HEADER = 12;
/** The bundle's last line, written by scripts/build-bin.mjs (keep the two equal). */
const BUNDLE_END = Buffer.from('// drbook: end of the bundle\n');

/**
 * Optimize later than V8's default (4x its interrupt budget). A short command (validate,
 * show, the first prompt) otherwise starts optimizing yaml's parser on a background
 * thread, and node waits for that work at exit: about 9 ms of a 95 ms validate (npm run
 * bench). Long work (1 GB of output, a 100,000-event export) is optimized a little later.
 * The build makes the code cache under the same flag, as V8 requires of a cache. Only on
 * the V8 it was measured with (node 20's 11.x, default 67584): another V8 may have
 * another default, or name the flag otherwise and print an error at every start.
 */
const V8_FLAGS = '--interrupt-budget=270336';
const V8_FLAGS_APPLY = process.versions.v8.startsWith('11.');
/** Baseline wasm code only, every function compiled at once (see launch; equal to WASM_FLAGS in src/adapters/shell-parser.ts). */
const WASM_FLAGS = '--liftoff-only --no-wasm-lazy-compilation';

const bundle = join(__dirname, '..', 'dist', 'drbook.cjs');
const args = process.argv.slice(2);

// --version alone is answered before the bundle is read: it must cost node's start only.
if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
  try {
    writeSync(1, `${require('../package.json').version}\n`);
  } catch (error) {
    process.stderr.write(`drbook: cannot write the version: ${error.code || error.message}\n`);
    process.exitCode = 2;
  }
} else {
  launch();
}

function launch() {
  let bytes;
  try {
    bytes = readFileSync(bundle);
  } catch (error) {
    process.stderr.write(`drbook: cannot read ${bundle} (${error.code || error.message}): run npm run build\n`);
    process.exitCode = 2;
    return;
  }
  const damaged = (why) => {
    process.stderr.write(`drbook: ${bundle} is damaged (${why}): run npm run build\n`);
    process.exitCode = 2;
  };
  // Cut between two statements, the file would still parse, and run as a drbook that does
  // nothing and exits 0.
  if (!bytes.subarray(bytes.length - BUNDLE_END.length).equals(BUNDLE_END)) return damaged('it is cut short');
  const bundleCrc = crc32(bytes);
  if (V8_FLAGS_APPLY) require('node:v8').setFlagsFromString(V8_FLAGS);
  // The bash parser is WebAssembly: V8 compiles its hot functions again with TurboFan on a
  // background thread, and node waits for that at exit: 500 ms of a 620 ms validate of a
  // runbook with placeholders, for a parse that takes a few ms. And it compiles all its
  // functions up front, on background threads while drbook reads the runbook, rather than
  // each on this thread at its first call. Set here, before the code cache is read, because
  // V8 checks a cache against the flags (src/adapters/shell-parser.ts sets them too, for
  // the other builds). Both flags exist in every V8 of node >= 20.
  require('node:v8').setFlagsFromString(WASM_FLAGS);
  let script;
  try {
    // The bundle is ASCII (esbuild escapes the rest), and latin1 is the cheapest decoding.
    script = new Script(Module.wrap(bytes.toString('latin1')), { filename: bundle, cachedData: readCache(`${bundle}.cache`, bundleCrc) });
  } catch (error) {
    // An edited bundle: say what to do, not where the parser stopped.
    return damaged(String(error.message).split('\n')[0]);
  }
  // Set by the build only: where to save the cache of what this run compiled.
  const cacheOut = process.env.DRBOOK_CODE_CACHE_OUT;
  if (cacheOut) {
    delete process.env.DRBOOK_CODE_CACHE_OUT; // not passed on to the commands drbook runs
    process.on('exit', () => writeFileSync(cacheOut, cacheFile(bundleCrc, script.createCachedData())));
  }
  const bundleModule = { exports: {} };
  try {
    script.runInThisContext()(bundleModule.exports, Module.createRequire(bundle), bundleModule, bundle, join(bundle, '..'));
  } catch (error) {
    // drbook's own errors are all caught inside it (src/main.ts): one escaping from the
    // bundle's first run means the file is not what the build made.
    damaged(String(error && error.message).split('\n')[0]);
  }
}

function cacheFile(bundleCrc, data) {
  const header = Buffer.alloc(CACHE_HEADER);
  header.writeUInt32LE(CACHE_MAGIC, 0);
  header.writeUInt32LE(bundleCrc, 4);
  header.writeUInt32LE(crc32(data), 8);
  return Buffer.concat([header, data]);
}

function readCache(file, bundleCrc) {
  let bytes;
  try {
    bytes = readFileSync(file);
  } catch {
    return undefined; // no cache: compile as usual
  }
  if (bytes.length <= CACHE_HEADER || bytes.readUInt32LE(0) !== CACHE_MAGIC || bytes.readUInt32LE(4) !== bundleCrc) return undefined;
  const data = bytes.subarray(CACHE_HEADER);
  return crc32(data) === bytes.readUInt32LE(8) ? data : undefined;
}
