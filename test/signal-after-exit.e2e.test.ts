/**
 * A signal that reaches drbook after the command's shell has exited on its own, while drbook
 * still drains the output a process it left behind keeps writing (a daemon holding the
 * pipe): the command had finished, so its result is journaled as it was, and `resume --yes`
 * does not run it a second time. The instant is a condition (the shell reaped), not a timer.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JournalEvent } from '../src/core/journal-events.js';
import { parseJournal } from '../src/core/journal-parse.js';
import { BIN, ensureBuilt, FIXTURES, runCli } from './helpers/run-cli.js';

const RUNBOOK = join(FIXTURES, 'attack', 'daemon-keeps-pipe.yml');
const DEADLINE_MS = 20_000;
const SIGNALS = { SIGTERM: 15, SIGHUP: 1, SIGQUIT: 3 } as const;

let scratch: string;
let counter = 0;

beforeAll(async () => {
  await ensureBuilt();
  scratch = mkdtempSync(join(tmpdir(), 'drbook-after-exit-'));
}, 180_000);

afterAll(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

async function until<T>(what: string, probe: () => T | undefined | false): Promise<T> {
  const deadline = Date.now() + DEADLINE_MS;
  for (;;) {
    const value = probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

function events(home: string): JournalEvent[] {
  const dir = join(home, 'sessions');
  if (!existsSync(dir)) return [];
  const name = readdirSync(dir).find((n) => n.endsWith('.jsonl'));
  return name === undefined ? [] : parseJournal(readFileSync(join(dir, name), 'utf8')).events;
}

function lines(path: string): string[] {
  return existsSync(path)
    ? readFileSync(path, 'utf8')
        .split('\n')
        .filter((l) => l !== '')
    : [];
}

describe('a signal after the command exited, while its leftover output drains', () => {
  for (const [signal, number] of Object.entries(SIGNALS) as Array<[keyof typeof SIGNALS, number]>) {
    it(`${signal}: the command counts as finished, exit ${128 + number}, resume --yes does not run it again`, async () => {
      const dir = join(scratch, String(++counter));
      mkdirSync(dir, { recursive: true });
      const home = join(dir, 'home');
      const side = join(dir, 'side');
      const shellFile = join(dir, 'shell');
      const env = {
        PATH: process.env.PATH ?? '',
        HOME: home,
        DRBOOK_HOME: home,
        DRBOOK_TEST_SIDE: side,
        DRBOOK_TEST_SHELL: shellFile,
        NO_COLOR: '1',
        LANG: 'C.UTF-8',
      };
      const child = spawn(process.execPath, [BIN, 'run', RUNBOOK, '--yes'], { cwd: dir, env, detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
      const closed = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
      const shell = await until('the shell to start', () => {
        const text = existsSync(shellFile) ? readFileSync(shellFile, 'utf8').trim() : '';
        return text === '' ? false : Number(text);
      });
      // Reaped by drbook (gone from /proc): drbook has seen it exit; the ticker still writes.
      await until('the shell to be reaped', () => !existsSync(`/proc/${shell}`));
      process.kill(child.pid!, signal);
      const code = await closed;
      expect(code, stderr).toBe(128 + number);
      expect(stderr).not.toMatch(/internal error/);
      const finished = events(home).filter((e) => e.type === 'command.finished' && e.step === 'start');
      expect(finished).toHaveLength(1);
      expect(finished[0]).toMatchObject({ exitCode: 0, ok: true });
      expect(lines(side)).toEqual(['line']);

      const resumed = await runCli(['resume', '--yes'], { cwd: dir, env, timeoutMs: DEADLINE_MS });
      expect(resumed.code, resumed.stderr).toBe(0);
      expect(lines(side)).toEqual(['line']);
      const after = events(home);
      expect(after.filter((e) => e.type === 'command.started' && e.step === 'start')).toHaveLength(1);
      expect(after[after.length - 1]).toMatchObject({ type: 'session.ended', status: 'completed' });
    }, 60_000);
  }
});
