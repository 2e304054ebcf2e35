/**
 * A pseudo-terminal for timing, through util-linux `script`: the command's terminal output
 * arrives on a pipe as it is written, so the moment a prompt appears is stamped when its
 * bytes arrive. (The tmux harness of the tests polls the screen every 40 ms: fine for
 * tests, too coarse to time a start-up of 100-300 ms.)
 */
import { spawn, spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';

export const scriptWorks = spawnSync('script', ['-qfec', 'true', '/dev/null'], { stdio: 'ignore' }).status === 0;

function quote(word) {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * Starts `cmd args` in a pseudo-terminal and resolves with the milliseconds until its
 * output matches `pattern` (or, without a pattern, until it exits). Then it types Ctrl-C,
 * as an operator leaving the prompt would, and waits for the exit, so no process outlives
 * the sample.
 */
export function timeToScreen(cmd, args, { pattern, env, cwd, timeoutMs = 30_000 } = {}) {
  const line = `exec ${[cmd, ...args].map(quote).join(' ')}`;
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn('script', ['-qfec', line, '/dev/null'], { env: { TERM: 'xterm-256color', ...env }, cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let seen = '';
    let matchedAt;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${line}: no ${pattern} within ${timeoutMs} ms; the terminal showed:\n${seen.slice(-2000)}`));
    }, timeoutMs);
    child.stdout.on('data', (chunk) => {
      if (matchedAt !== undefined || pattern === undefined) return;
      seen += chunk;
      if (pattern.test(seen)) {
        matchedAt = performance.now() - started;
        child.stdin.write('\x03');
      }
    });
    child.stderr.resume();
    child.on('error', reject);
    child.on('close', () => {
      clearTimeout(timer);
      const ms = pattern === undefined ? performance.now() - started : matchedAt;
      if (ms === undefined) reject(new Error(`${line} exited before showing ${pattern}; the terminal showed:\n${seen.slice(-2000)}`));
      else resolve({ ms });
    });
  });
}
