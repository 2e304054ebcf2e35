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
const { readFileSync, writeFileSync } = require('node:fs');
const { Module } = require('node:module');
const { join } = require('node:path');
const { constants, Script } = require('node:vm');

const bundle = join(__dirname, '..', 'dist', 'drbook.cjs');
const args = process.argv.slice(2);

// --version alone is answered before the bundle is read: it must cost node's start only.
if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
  process.stdout.write(`${require('../package.json').version}\n`);
} else {
  launch();
}

function launch() {
  let source;
  try {
    // The bundle is ASCII (esbuild escapes the rest), and latin1 is the cheapest decoding.
    source = readFileSync(bundle, 'latin1');
  } catch (error) {
    process.stderr.write(`drbook: cannot read ${bundle} (${error.code || error.message}): run npm run build\n`);
    process.exitCode = 2;
    return;
  }
  let cachedData;
  try {
    cachedData = readFileSync(`${bundle}.cache`);
  } catch {
    // No cache: compile as usual.
  }
  const script = new Script(Module.wrap(source), {
    filename: bundle,
    cachedData,
    // The bundle keeps one dynamic import (esbuild, for `drbook bundle`), resolved as usual.
    importModuleDynamically: constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  });
  // Set by the build only: where to save the cache of what this run compiled.
  const cacheOut = process.env.DRBOOK_CODE_CACHE_OUT;
  if (cacheOut) {
    delete process.env.DRBOOK_CODE_CACHE_OUT; // not passed on to the commands drbook runs
    process.on('exit', () => writeFileSync(cacheOut, script.createCachedData()));
  }
  const bundleModule = { exports: {} };
  script.runInThisContext()(bundleModule.exports, Module.createRequire(bundle), bundleModule, bundle, join(bundle, '..'));
}
