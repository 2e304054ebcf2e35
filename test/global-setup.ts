import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { codeCacheAccepted } from './helpers/code-cache.js';
import { tmuxAvailable } from './helpers/tmux.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Builds dist/ once, before any test file runs, and only when a source is newer than the
 * build: tsc, then the bundle bin/drbook.cjs runs (scripts/build-bin.mjs), as npm run
 * build does; the bundle alone when its code cache was made by another node (after
 * switching node versions). Test files never build: a rebuild while another worker runs
 * the binary hands it half-written modules. `npm test` builds first, so in CI this finds
 * dist/ fresh.
 */
export default function setup(): void {
  // CI sets this: there, a missing tmux must fail the run rather than skip the terminal tests.
  if (process.env.DRBOOK_REQUIRE_TMUX === '1' && !tmuxAvailable()) {
    throw new Error('DRBOOK_REQUIRE_TMUX=1 but tmux is not on PATH: the terminal tests cannot run');
  }
  const built = [join(root, 'dist', 'main.js'), join(root, 'dist', 'drbook.cjs')];
  const newest = Math.max(newestSource(join(root, 'src')), statSync(join(root, 'scripts', 'build-bin.mjs')).mtimeMs);
  const fresh = built.every((file) => existsSync(file) && statSync(file).mtimeMs >= newest);
  if (fresh && codeCacheAccepted(root).accepted) return;
  if (!fresh)
    execFileSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'tsconfig.build.json')], {
      cwd: root,
      stdio: 'inherit',
    });
  execFileSync(process.execPath, [join(root, 'scripts', 'build-bin.mjs')], { cwd: root, stdio: 'inherit' });
}

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}
