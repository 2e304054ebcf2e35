/**
 * Timing of whole processes, and the few statistics the table shows. Everything is a
 * spawned process timed from spawn() to its exit: the start-up of node is part of what is
 * measured, for drbook and for its baseline alike.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

/** GNU time reports the peak RSS of the process it waits for (`%M`, in KB). */
export const GNU_TIME = '/usr/bin/time';
export const gnuTimeWorks = spawnSync(GNU_TIME, ['-f', '%M', 'true'], { stdio: 'pipe' }).status === 0;

/**
 * Runs a command to its end, its output to /dev/null and its stderr kept for the error
 * message if it fails. With `rss: true` it also returns the peak RSS in MB: through GNU
 * time when it exists, else by polling the child's VmHWM (a high-water mark, so a late
 * poll still sees the peak).
 */
export function timeRun(cmd, args, { env, cwd, stdio = ['ignore', 'ignore', 'pipe'], rss = false, okCodes = [0] } = {}) {
  let rssFile;
  let file = cmd;
  let argv = args;
  if (rss && gnuTimeWorks) {
    rssFile = join(mkdtempSync(join(tmpdir(), 'drbook-bench-rss-')), 'rss');
    file = GNU_TIME;
    argv = ['-f', '%M', '-o', rssFile, cmd, ...args];
  }
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(file, argv, { env, cwd, stdio });
    let hwmKb = 0;
    const poll = rss && !gnuTimeWorks ? setInterval(() => (hwmKb = Math.max(hwmKb, readHwm(child.pid))), 20) : undefined;
    let stderr = '';
    child.stderr?.on('data', (chunk) => {
      if (stderr.length < 4000) stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const ms = performance.now() - started;
      if (poll) clearInterval(poll);
      let rssMb;
      if (rssFile) {
        // GNU time prints "Command exited with non-zero status N" before the figure.
        const lines = readFileSync(rssFile, 'utf8').trim().split('\n');
        rssMb = Number(lines[lines.length - 1]) / 1024;
        rmSync(join(rssFile, '..'), { recursive: true, force: true });
      } else if (rss) rssMb = hwmKb / 1024;
      if (!okCodes.includes(code)) {
        reject(new Error(`${[cmd, ...args].join(' ')} exited with ${code ?? signal}${stderr ? `: ${stderr.trim()}` : ''}`));
        return;
      }
      resolve({ ms, rssMb, code });
    });
  });
}

function readHwm(pid) {
  try {
    const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) : 0;
  } catch {
    return 0;
  }
}

/**
 * Runs each variant `runs` times, interleaved (a, b, c, a, b, c…) and alternating the
 * order every round, so a machine that gets busier or quieter during the run moves all of
 * them alike. `warmup` untimed rounds first fill the file cache. Each variant is an async
 * function returning one sample (a number, or an object with the number in `value`).
 */
export async function interleaved(variants, { runs, warmup = 1 }) {
  const names = Object.keys(variants);
  const samples = Object.fromEntries(names.map((n) => [n, []]));
  for (let round = 0; round < warmup + runs; round++) {
    const order = round % 2 === 0 ? names : [...names].reverse();
    for (const name of order) {
      const sample = await variants[name]();
      if (round >= warmup) samples[name].push(sample);
    }
  }
  return samples;
}

/** Median, min and max of numbers. */
export function summary(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { median, min: sorted[0], max: sorted[sorted.length - 1], runs: sorted.length, samples: values };
}
