#!/usr/bin/env node
// `npm run build:single`: dist/drbook.mjs, the whole CLI as one file that runs with plain
// node. It uses the same esbuild settings as `drbook bundle` (from the compiled
// dist/adapters/single-file.js), so a release and a bundle carry the same file.
import { existsSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const adapter = join(root, 'dist', 'adapters', 'single-file.js');
const entry = join(root, 'src', 'main.ts');
const outFile = join(root, 'dist', 'drbook.mjs');

if (!existsSync(adapter)) {
  process.stderr.write('build-single: dist/ is not built: run npm run build first\n');
  process.exit(2);
}
const { buildSingleFile } = await import(pathToFileURL(adapter).href);
// Built beside, then renamed: a bin pointing at dist/drbook.mjs never sees half a file.
const partial = join(root, 'dist', `.drbook-${process.pid}.tmp.mjs`);
const started = performance.now();
try {
  await buildSingleFile(entry, partial);
  renameSync(partial, outFile);
} catch (error) {
  rmSync(partial, { force: true });
  process.stderr.write(`build-single: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(error?.exitCode ?? 1);
}
process.stdout.write(`dist/drbook.mjs built and checked in ${Math.round(performance.now() - started)} ms\n`);
