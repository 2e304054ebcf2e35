/**
 * A signal that reaches drbook after the command's shell has exited on its own, while drbook
 * still drains the output a process it left behind keeps writing (a daemon holding the
 * pipe): the command had finished, so its result is journaled as it was, and `resume --yes`
 * does not run it a second time. The instant is a condition (the shell reaped), not a timer.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, FIXTURES, runCli } from './helpers/run-cli.js';
import { lines, probeCase, scratchDir, sessionEvents, until } from './helpers/probes.js';

const RUNBOOK = join(FIXTURES, 'attack', 'daemon-keeps-pipe.yml');
const DEADLINE_MS = 20_000;
const SIGNALS = { SIGTERM: 15, SIGHUP: 1, SIGQUIT: 3 } as const;

let counter = 0;

const scratchRoot = scratchDir('drbook-after-exit-');

describe('a signal after the command exited, while its leftover output drains', () => {
  for (const [signal, number] of Object.entries(SIGNALS) as Array<[keyof typeof SIGNALS, number]>) {
    it(`${signal}: the command counts as finished, exit ${128 + number}, resume --yes does not run it again`, async () => {
      const dir = join(scratchRoot(), String(++counter));
      const side = join(dir, 'side');
      const shellFile = join(dir, 'shell');
      const { home, env } = probeCase(dir, { DRBOOK_TEST_SIDE: side, DRBOOK_TEST_SHELL: shellFile });
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
      const finished = sessionEvents(home).filter((e) => e.type === 'command.finished' && e.step === 'start');
      expect(finished).toHaveLength(1);
      expect(finished[0]).toMatchObject({ exitCode: 0, ok: true });
      expect(lines(side)).toEqual(['line']);

      const resumed = await runCli(['resume', '--yes'], { cwd: dir, env, timeoutMs: DEADLINE_MS });
      expect(resumed.code, resumed.stderr).toBe(0);
      expect(lines(side)).toEqual(['line']);
      const after = sessionEvents(home);
      expect(after.filter((e) => e.type === 'command.started' && e.step === 'start')).toHaveLength(1);
      expect(after[after.length - 1]).toMatchObject({ type: 'session.ended', status: 'completed' });
    }, 60_000);
  }
});
