/**
 * The question about a command cut by drbook's death (`kill -9` of drbook and its command):
 * resume shows the last 20 lines of its log first; without `idempotent: true` there is no
 * default (Enter alone asks again); with it, Enter runs it again; the answer is journaled.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JournalEvent } from '../src/core/journal-events.js';
import { parseJournal } from '../src/core/journal-parse.js';
import { BIN, ensureBuilt, runCli } from './helpers/run-cli.js';
import { startTmux, tmuxAvailable, type TmuxSession } from './helpers/tmux.js';

let scratch: string;
let counter = 0;
const screens: TmuxSession[] = [];

beforeAll(async () => {
  await ensureBuilt();
  scratch = mkdtempSync(join(tmpdir(), 'drbook-inflight-'));
}, 180_000);

afterAll(async () => {
  for (const s of screens) await s.kill();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

function events(home: string): JournalEvent[] {
  const dir = join(home, 'sessions');
  const name = existsSync(dir) ? readdirSync(dir).find((n) => n.endsWith('.jsonl')) : undefined;
  return name === undefined ? [] : parseJournal(readFileSync(join(dir, name), 'utf8')).events;
}

async function until(what: string, probe: () => boolean): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A session whose restore step printed 25 lines, then was killed with drbook mid-command. */
async function cutSession(idempotent: boolean): Promise<{ home: string; cwd: string }> {
  const cwd = join(scratch, `case-${++counter}`);
  const home = join(cwd, 'home');
  mkdirSync(cwd, { recursive: true });
  writeFileSync(
    join(cwd, 'rb.yml'),
    [
      'drbook: 1',
      'id: cut',
      'title: A restore cut short',
      'steps:',
      '  - id: restore',
      '    title: Restore the tables',
      ...(idempotent ? ['    idempotent: true'] : []),
      '    run: for i in $(seq 1 25); do echo "restored table $i"; done; echo ran >> "$DRBOOK_HOME/ran"; [ -e "$DRBOOK_HOME/fast" ] || sleep 30',
      '',
    ].join('\n'),
  );
  const env = { PATH: process.env.PATH ?? '', HOME: home, DRBOOK_HOME: home, NO_COLOR: '1', LANG: 'C.UTF-8' };
  const child = spawn(process.execPath, [BIN, 'run', 'rb.yml', '--yes'], { cwd, env, detached: true, stdio: 'ignore' });
  const closed = new Promise((resolve) => child.once('close', resolve));
  await until('the 25 lines in the log', () => {
    const dir = join(home, 'sessions');
    if (!existsSync(dir)) return false;
    const out = readdirSync(dir).find((n) => !n.includes('.'));
    if (out === undefined || !existsSync(join(dir, out, '01-restore.log'))) return false;
    return readFileSync(join(dir, out, '01-restore.log'), 'utf8').includes('restored table 25') && existsSync(join(home, 'ran'));
  });
  // drbook and its command die at once, as on a power cut of the shell that ran them: the
  // command's process group (its own, journaled) with drbook's.
  const spawned = events(home).find((e) => e.type === 'command.spawned');
  process.kill(-child.pid!, 'SIGKILL');
  if (spawned?.type === 'command.spawned' && spawned.pgid !== undefined) {
    const pgid = spawned.pgid;
    process.kill(-pgid, 'SIGKILL');
    const member = (pid: string): boolean => {
      try {
        const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
        return Number(f[2]) === pgid && f[0] !== 'Z';
      } catch {
        return false;
      }
    };
    await until('the command to die', () => !readdirSync('/proc').some((n) => /^\d+$/.test(n) && member(n)));
  }
  await closed;
  writeFileSync(join(home, 'fast'), '');
  return { home, cwd };
}

async function resumeIn(home: string, cwd: string): Promise<TmuxSession> {
  const s = await startTmux({
    cmd: process.execPath,
    args: [BIN, 'resume'],
    cwd,
    env: { DRBOOK_HOME: home, HOME: home, NO_COLOR: '1', FORCE_COLOR: undefined, TERM: 'xterm-256color' },
  });
  screens.push(s);
  return s;
}

describe.skipIf(!tmuxAvailable())('resume asks about a command drbook was killed in', () => {
  it('shows the last 20 lines of its log, has no default, and journals the answer', async () => {
    const { home, cwd } = await cutSession(false);
    const s = await resumeIn(home, cwd);
    const screen = await s.waitFor('did it complete?');
    expect(screen).toContain('The last lines of its output log (01-restore.log)');
    expect(screen).toContain('restored table 25');
    expect(screen).toContain('restored table 6');
    expect(screen).not.toMatch(/restored table 5\b/);
    expect(screen).not.toContain('(default)');
    await s.waitFor('Type a letter, then Enter.');
    await s.sendKeys('Enter');
    await s.waitFor('Please input a value');
    // Still unanswered: nothing journaled, nothing run.
    expect(events(home).filter((e) => e.type === 'decision')).toEqual([]);
    expect(readFileSync(join(home, 'ran'), 'utf8')).toBe('ran\n');
    await s.type('r');
    await s.sendKeys('Enter');
    // "Run it again" was the answer: the step runs, it is not asked about a second time.
    await s.waitFor('Run completed');
    expect(await s.waitForExit()).toBe(0);
    expect(await s.screen()).not.toContain('what now?');
    const decision = events(home).filter((e) => e.type === 'decision' && e.step === 'restore');
    expect(decision).toMatchObject([{ question: 'The command was in flight when drbook stopped: did it complete?', answer: 'run it again' }]);
    expect(readFileSync(join(home, 'ran'), 'utf8')).toBe('ran\nran\n');
  }, 60_000);

  it('Ctrl-C at the question keeps it: the next resume asks the same, no default, and nothing ran twice; resume --yes leaves it too', async () => {
    const { home, cwd } = await cutSession(false);
    const first = await resumeIn(home, cwd);
    await first.waitFor('did it complete?');
    await first.waitFor('Type a letter, then Enter.');
    await first.sendKeys('C-c');
    expect(await first.waitForExit()).toBe(130);
    // Still in flight for sessions, its end (exit code unknown) journaled once.
    const env = { DRBOOK_HOME: home, HOME: home, NO_COLOR: '1' };
    const listed = await runCli(['sessions', '--json'], { cwd, env });
    expect(JSON.parse(listed.stdout)[0]).toMatchObject({ status: 'paused', inFlight: { step: 'restore', ended: {} } });
    // --yes has no answer to a question with no default: paused again, nothing run.
    const scripted = await runCli(['resume', '--yes'], { cwd, env, timeoutMs: 20_000 });
    expect(scripted.code, scripted.stdout + scripted.stderr).toBe(130);
    expect(scripted.stdout + scripted.stderr).toContain('--yes cannot say whether its command completed');
    expect(readFileSync(join(home, 'ran'), 'utf8')).toBe('ran\n');

    const again = await resumeIn(home, cwd);
    await again.waitFor('did it complete?');
    await again.waitFor('Type a letter, then Enter.');
    const screen = await again.screen();
    expect(screen).not.toContain('(default)');
    expect(screen).toContain('it completed on its own: mark done');
    await again.type('c');
    await again.sendKeys('Enter');
    await again.waitFor('Run completed');
    expect(await again.waitForExit()).toBe(0);
    expect(readFileSync(join(home, 'ran'), 'utf8')).toBe('ran\n');
    const all = events(home);
    expect(all.filter((e) => e.type === 'command.finished' && e.step === 'restore')).toHaveLength(1);
    expect(all.filter((e) => e.type === 'decision' && e.step === 'restore')).toMatchObject([{ answer: 'it completed: mark done' }]);
    expect(all.find((e) => e.type === 'step.finished' && e.step === 'restore')).toMatchObject({ outcome: 'done' });
  }, 90_000);

  it('with idempotent: true, Enter alone runs it again', async () => {
    const { home, cwd } = await cutSession(true);
    const s = await resumeIn(home, cwd);
    const screen = await s.waitFor('did it complete?');
    await s.waitFor('Type a letter, then Enter.');
    expect(await s.screen()).toMatch(/retry the same command \(default\)/);
    expect(screen).toContain('restored table 25');
    await s.sendKeys('Enter');
    await s.waitFor('Run completed');
    expect(await s.waitForExit()).toBe(0);
    expect(await s.screen()).not.toContain('what now?');
    const decision = events(home).filter((e) => e.type === 'decision' && e.step === 'restore');
    expect(decision).toMatchObject([{ answer: 'run it again' }]);
  }, 60_000);
});

describe.skipIf(!tmuxAvailable())('a command that reads the terminal', () => {
  it('gets what is typed (read -s, as sudo asks), with the fatal-signal handling in place', async () => {
    const cwd = join(scratch, `case-${++counter}`);
    const home = join(cwd, 'home');
    mkdirSync(cwd, { recursive: true });
    writeFileSync(
      join(cwd, 'rb.yml'),
      [
        'drbook: 1',
        'id: secret-read',
        'title: A command that asks at the terminal',
        'steps:',
        '  - id: ask',
        '    title: Ask for the password as sudo would',
        '    run: |',
        '      IFS= read -r -s -p "Password for restore: " pw; echo; printf "got %s characters\\n" "${#pw}"; [ "$pw" = "s3cr et!" ]',
        '',
      ].join('\n'),
    );
    const s = await startTmux({
      cmd: process.execPath,
      args: [BIN, 'run', 'rb.yml', '--yes'],
      cwd,
      env: { DRBOOK_HOME: home, HOME: home, NO_COLOR: '1', FORCE_COLOR: undefined, TERM: 'xterm-256color' },
    });
    screens.push(s);
    // The prompt itself (at the start of a line), not the command drbook showed before it.
    await s.waitFor(/^Password for restore: /m);
    await s.type('s3cr et!');
    await s.sendKeys('Enter');
    expect(await s.waitForExit()).toBe(0);
    const screen = await s.screen();
    expect(screen).toContain('got 8 characters');
    // -s: what was typed was not echoed (the prompt goes to stderr and the echo's newline to
    // stdout, two pipes: their order on the screen is not fixed, so only the absence counts).
    expect(screen).not.toMatch(/^(?!\$ ).*s3cr/m);
    const finished = events(home).find((e) => e.type === 'command.finished' && e.step === 'ask');
    expect(finished).toMatchObject({ ok: true, exitCode: 0 });
  }, 60_000);
});
