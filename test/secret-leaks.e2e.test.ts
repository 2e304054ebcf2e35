/**
 * Secret leaks through the built binary: a secret read from a pipe (never on any process's
 * command line), a note carrying it written by another process while the session runs, a
 * short secret refused, a vars file others can read refused, a secret on --var warned about.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, makeSandbox, runCli, type Sandbox } from './helpers/run-cli.js';

const SECRET = 'Tr0ub4dor-and-3';

let box: Sandbox;
beforeAll(ensureBuilt);
afterEach(() => box?.cleanup());

function runbook(dir: string, body = ''): string {
  const file = join(dir, 'pw.yml');
  writeFileSync(
    file,
    `drbook: 1
id: pw
title: Uses a password
vars:
  pw: { secret: true, env: PW_FROM_ENV }
steps:
  - id: use
    title: Use the password
    env: { PW: '{{pw}}' }
    run: |
      printf 'the pw is %s\\n' "$PW"
      printf 'err %s\\n' "$PW" >&2
      printf 'inline %s\\n' {{pw}}
      while [ ! -e "$STOP_FILE" ]; do sleep 0.05; done
${body}`,
  );
  return file;
}

function journalText(home: string): string {
  const sessions = join(home, 'sessions');
  const name = existsSync(sessions) ? readdirSync(sessions).find((n) => n.endsWith('.jsonl')) : undefined;
  // Not there yet while the session starts: nothing written.
  return name === undefined ? '' : readFileSync(join(sessions, name), 'utf8');
}

/** Every file under dir, recursively, as text. */
function allText(dir: string): string {
  let out = '';
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) out += readFileSync(join(entry.parentPath, entry.name), 'utf8');
  }
  return out;
}

/** The command lines of every process this user can see. */
function everyCommandLine(): string {
  let out = '';
  for (const pid of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      out += readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ') + '\n';
    } catch {
      // gone already
    }
  }
  return out;
}

async function waitFor<T>(what: string, probe: () => T | undefined, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('a secret read with --var pw=- from a pipe', () => {
  it('is in no process command line, and a note carrying it from another process is masked', async () => {
    box = makeSandbox();
    const file = runbook(box.dir);
    const stop = join(box.cwd, 'stop');
    const env = { DRBOOK_HOME: box.home, STOP_FILE: stop };
    const run = runCli(['run', file, '--yes', '--var', 'pw=-'], { cwd: box.cwd, env, input: `${SECRET}\n`, timeoutMs: 60_000 });
    try {
      // The command is running (its text holds the secret: {{pw}} in run) while we look.
      await waitFor('the command to run', () =>
        existsSync(join(box.home, 'sessions')) && journalText(box.home).includes('command.spawned') ? true : undefined,
      );
      const lines = everyCommandLine();
      expect(lines).toContain('--var pw=-');
      expect(lines).not.toContain(SECRET);
      const ps = spawnSync('ps', ['-eo', 'args'], { encoding: 'utf8' });
      if (ps.status === 0) {
        expect(ps.stdout).toContain('--var pw=-');
        expect(ps.stdout).not.toContain(SECRET);
      }

      const note = await runCli(['note', `rotated ${SECRET} just now; old=${SECRET}x`], { cwd: box.cwd, env: { DRBOOK_HOME: box.home } });
      expect(note.code, note.stderr).toBe(0);
      // mark and attach descriptions are masked the same way.
      const mark = await runCli(['mark', 'detected', `paged with ${SECRET}`], { cwd: box.cwd, env: { DRBOOK_HOME: box.home } });
      expect(mark.code, mark.stderr).toBe(0);
      writeFileSync(join(box.cwd, 'evidence.txt'), 'df output\n');
      const attach = await runCli(['attach', join(box.cwd, 'evidence.txt'), '--note', `login was ${SECRET}`], { cwd: box.cwd, env: { DRBOOK_HOME: box.home } });
      expect(attach.code, attach.stderr).toBe(0);
    } finally {
      // Even when a check fails: the command must not wait for a file in a removed sandbox.
      writeFileSync(stop, '');
    }
    const result = await run;
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout + result.stderr).not.toContain(SECRET);

    const journal = journalText(box.home);
    expect(journal).toContain('"fingerprints"');
    expect(journal).toContain('"text":"rotated *** just now; old=***x"');
    expect(journal).toContain('"text":"paged with ***"');
    expect(journal).toContain('"note":"login was ***"');
    expect(allText(box.home)).not.toContain(SECRET);
    expect(allText(box.home)).toContain('the pw is ***');
    expect(allText(box.home)).toContain('inline ***');
  }, 90_000);
});

describe('short secrets', () => {
  it('refuses a 1-letter secret from --var and from the environment, and --allow-short-secret takes it', async () => {
    box = makeSandbox();
    const file = runbook(box.dir);
    const env = { DRBOOK_HOME: box.home, STOP_FILE: '/' };
    const fromVar = await runCli(['run', file, '--yes', '--var', 'pw=-'], { cwd: box.cwd, env, input: 'x\n' });
    expect(fromVar.code).toBe(2);
    expect(fromVar.stderr).toMatch(/pw is a secret of 1 character: secrets shorter than 6 are refused.*--allow-short-secret/);
    const fromEnv = await runCli(['run', file, '--yes'], { cwd: box.cwd, env: { ...env, PW_FROM_ENV: 'x' } });
    expect(fromEnv.code).toBe(2);
    expect(fromEnv.stderr).toMatch(/^drbook: \$PW_FROM_ENV: pw is a secret of 1 character/m);
    expect(existsSync(join(box.home, 'sessions')) ? readdirSync(join(box.home, 'sessions')).filter((n) => n.endsWith('.jsonl')) : []).toEqual([]);

    const allowed = await runCli(['run', file, '--yes', '--allow-short-secret'], { cwd: box.cwd, env: { ...env, PW_FROM_ENV: 'x' } });
    expect(allowed.code, allowed.stderr).toBe(0);
    // Masked as a whole word only: `exit` and `Uses` keep their letters.
    expect(allowed.stdout + allowed.stderr).toContain('the pw is ***');
    const journal = journalText(box.home);
    expect(journal).toContain('"title":"Uses a password"');
  }, 60_000);

  it('warns when the secret value appears in the runbook text', async () => {
    box = makeSandbox();
    const file = runbook(box.dir, '  - id: later\n    title: Later\n    confirm: the old one was hunter2-xyz\n');
    const result = await runCli(['run', file, '--yes'], { cwd: box.cwd, env: { DRBOOK_HOME: box.home, STOP_FILE: '/', PW_FROM_ENV: 'hunter2-xyz' } });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/warning: the value of the secret pw also appears in .*pw\.yml/);
  }, 60_000);
});

describe('secrets off the command line', () => {
  it('warns when a secret is given as --var name=value', async () => {
    box = makeSandbox();
    const file = runbook(box.dir);
    const result = await runCli(['run', file, '--yes', '--var', `pw=${SECRET}`], { cwd: box.cwd, env: { DRBOOK_HOME: box.home, STOP_FILE: '/' } });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/warning: --var pw=\.\.\.: a secret on the command line is visible .*--var pw=-/);
    expect(result.stderr).not.toContain(SECRET);
  }, 60_000);

  it('refuses a vars file holding a secret unless its mode is 0600', async () => {
    box = makeSandbox();
    const file = runbook(box.dir);
    const vars = join(box.cwd, 'vars.yml');
    writeFileSync(vars, `pw: ${SECRET}\n`);
    chmodSync(vars, 0o644);
    const env = { DRBOOK_HOME: box.home, STOP_FILE: '/' };
    const open = await runCli(['run', file, '--yes', '--vars-file', vars], { cwd: box.cwd, env });
    expect(open.code).toBe(2);
    expect(open.stderr).toMatch(/--vars-file .*vars\.yml: holds the secret pw but has mode 0644: .*chmod 600/);
    chmodSync(vars, 0o600);
    const ok = await runCli(['run', file, '--yes', '--vars-file', vars], { cwd: box.cwd, env });
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stderr).not.toContain('warning: --var');
    rmSync(vars);
  }, 60_000);
});
