import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Whether the node running this accepts dist/drbook.cjs.cache for dist/drbook.cjs, compiled
 * exactly as bin/drbook.cjs compiles it: under its V8 flags and wasm flags (V8 takes a cache only under the
 * flags it was made with), after the cache's 12-byte header. Checked in a plain node.
 */
export function codeCacheAccepted(root: string): { accepted: boolean; why: string } {
  const bundle = join(root, 'dist', 'drbook.cjs');
  if (!existsSync(`${bundle}.cache`)) return { accepted: false, why: 'no cache' };
  const flags = /const V8_FLAGS = '([^']+)'/.exec(readFileSync(join(root, 'bin', 'drbook.cjs'), 'utf8'))?.[1];
  if (flags === undefined) return { accepted: false, why: 'no V8_FLAGS in bin/drbook.cjs' };
  const wasmFlags = /const WASM_FLAGS = '([^']+)'/.exec(readFileSync(join(root, 'bin', 'drbook.cjs'), 'utf8'))?.[1];
  if (wasmFlags === undefined) return { accepted: false, why: 'no WASM_FLAGS in bin/drbook.cjs' };
  const check = `
    if (process.versions.v8.startsWith('11.')) require('node:v8').setFlagsFromString(${JSON.stringify(flags)});
    require('node:v8').setFlagsFromString(${JSON.stringify(wasmFlags)});
    const { readFileSync } = require('node:fs');
    const { Module } = require('node:module');
    const { Script } = require('node:vm');
    const file = ${JSON.stringify(bundle)};
    const cachedData = readFileSync(file + '.cache').subarray(12);
    const script = new Script(Module.wrap(readFileSync(file, 'latin1')), { filename: file, cachedData });
    process.stdout.write(String(script.cachedDataRejected));`;
  const result = spawnSync(process.execPath, ['-e', check], { encoding: 'utf8' });
  if (result.stdout === 'false') return { accepted: true, why: '' };
  return { accepted: false, why: result.stderr.trim().split('\n')[0] || 'rejected by V8' };
}
