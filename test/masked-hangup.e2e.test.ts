/**
 * A closed terminal (`tmux kill-session`) while a command runs in the terminal's foreground:
 * the hangup reaches the command's group. A shell that survives it (a trap) and exits 0
 * because `|| true` masks the restore's death must not count as finished: the terminal was
 * gone when it exited, so the command was cut, and `resume --yes` runs it again.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { BIN, FIXTURES, runCli } from './helpers/run-cli.js';
import { lines, probeCase, scratchDir, sessionEvents, until } from './helpers/probes.js';
import { startTmux, tmuxAvailable } from './helpers/tmux.js';

const RUNBOOK = join(FIXTURES, 'attack', 'masked-hangup.yml');
const DEADLINE_MS = 20_000;

const scratchRoot = scratchDir('drbook-masked-hup-');

describe('a closed terminal whose hangup the command masks', () => {
  it.skipIf(!tmuxAvailable())(
    'the command counts as cut, not done: resume --yes runs it again',
    async () => {
      const { dir, home, marks, hold, env } = probeCase(join(scratchRoot(), 'case'));
      onTestFinished(() => writeFileSync(hold, ''));
      const tmux = await startTmux({ cmd: process.execPath, args: [BIN, 'run', RUNBOOK, '--yes'], env, cwd: dir });
      try {
        await until('the command to start', () => lines(marks).length === 1);
        const started = sessionEvents(home).find((e) => e.type === 'session.started');
        const driver = started?.type === 'session.started' ? started.pid : undefined;
        expect(driver).toBeDefined();
        const clientEnv = { ...process.env };
        delete clientEnv.TMUX;
        execFileSync('tmux', ['-L', tmux.socket, 'kill-session', '-t', 'main'], { env: clientEnv });
        await until('drbook to end', () => !existsSync(`/proc/${driver}`));
      } finally {
        await tmux.kill();
      }
      const finished = sessionEvents(home).filter((e) => e.type === 'command.finished' && e.step === 'restore');
      // Journaled as cut, or not at all (drbook gone first under load): never as a success.
      for (const event of finished) expect(event).toMatchObject({ ok: false });
      writeFileSync(hold, '');
      const resumed = await runCli(['resume', '--yes'], { cwd: dir, env, timeoutMs: DEADLINE_MS });
      expect(resumed.code, resumed.stderr).toBe(0);
      expect(lines(marks).filter((l) => l.startsWith('start '))).toHaveLength(2);
    },
    60_000,
  );
});
