/**
 * Probes written from outside: leaks found by trying what an attacker or an unlucky
 * operator would, each kept as a test. A file name in the runbooks directory (a shared
 * or cloned tree) is as untrusted as a runbook's text.
 */
import { chmodSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { BIN, ensureBuilt, makeSandbox, runCli, type Sandbox } from './helpers/run-cli.js';
import { startTmux, tmuxAvailable, type TmuxSession } from './helpers/tmux.js';

/** What a terminal would act on: C0 (but newline and tab), DEL, C1, and the bidi controls. */
const RAW = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;

let box: Sandbox;
let tmux: TmuxSession | undefined;
beforeAll(ensureBuilt);
afterEach(async () => {
  await tmux?.kill();
  tmux = undefined;
  box?.cleanup();
});

describe('error messages', () => {
  it('show a runbook file name, a session id or a var name given with escape sequences as text', async () => {
    box = makeSandbox();
    const env = { DRBOOK_HOME: box.home, DRBOOK_DIR: box.dir };
    writeFileSync(join(box.dir, 'evil\u001b]0;HJ\u0007\u202e.yml'), 'drbook: 1\ntitle: t\nsteps:\n  - { id: a, title: a }\n');
    writeFileSync(join(box.dir, 'ok.yml'), 'drbook: 1\ntitle: t\nsteps:\n  - { id: a, title: a, run: "true" }\n');
    const cases = [
      ['show', 'nope'],
      ['run', join(box.dir, 'evil\u001b]0;HJ\u0007\u202e.yml'), '--yes'],
      ['export', 'nope\u001b]0;HJ\u0007'],
      ['run', 'ok', '--yes', '--var', 'zz\u001b[2J=1'],
    ];
    for (const args of cases) {
      const result = await runCli(args, { cwd: box.cwd, env });
      expect(result.code, args.join(' ')).not.toBe(0);
      expect(result.stderr, args.join(' ')).toMatch(/^drbook: /m);
      expect(RAW.test(result.stdout + result.stderr), `${args.join(' ')}: ${JSON.stringify(result.stderr)}`).toBe(false);
    }
  }, 60_000);
});

describe('file names with escape sequences in the runbooks directory', () => {
  it('reach the terminal as text through validate, the secret warning of run, and the bundle summary', async () => {
    box = makeSandbox();
    const env = { DRBOOK_HOME: box.home, DRBOOK_DIR: box.dir, PW: 'Tr0ub4dor-and-3' };
    const name = 'e\u001b]0;HJ\u0007\u202e';
    writeFileSync(
      join(box.dir, `${name}.yml`),
      `drbook: 1
id: e
title: t
vars:
  pw: { secret: true, env: PW, description: "the old one was Tr0ub4dor-and-3" }
steps:
  - id: a
    title: a
    env: { P: "{{pw}}" }
    run: "true"
    undo: "true"
    docs: [{ title: d, path: "e\\e]0;HJ\\a\\u202e.md" }]
`,
    );
    writeFileSync(join(box.dir, `${name}.md`), '# doc\n');
    const runs = [
      ['validate'],
      ['run', join(box.dir, `${name}.yml`), '--yes'],
      ['bundle', '-o', join(box.cwd, 'bundle')],
      ['bundle', '--check', join(box.cwd, 'bundle')],
    ];
    for (const args of runs) {
      const result = await runCli(args, { cwd: box.cwd, env });
      expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(0);
      // Each names the file (bundle --check only says that all files match).
      if (args[1] !== '--check') expect(result.stdout + result.stderr).toContain('e\\e]0;HJ^G\\u202e');
      expect(RAW.test(result.stdout + result.stderr), `${args.join(' ')}: ${JSON.stringify(result.stdout + result.stderr)}`).toBe(false);
    }
  }, 60_000);
});

/** The built CLI under a umask of 000, as a careless shell or a cron job has it. */
function runWithUmask000(args: string[], cwd: string, env: Record<string, string>): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', 'umask 000; exec "$@"', 'sh', process.execPath, BIN, ...args], {
      cwd,
      env: { PATH: process.env.PATH, HOME: cwd, NO_COLOR: '1', ...env },
      stdio: 'ignore',
    });
    child.on('error', reject);
    child.on('close', resolve);
  });
}

describe('a bundle written under umask 000', () => {
  it('has no directory others can write to: in one, anyone could swap drbook.mjs or SHA256SUMS', async () => {
    box = makeSandbox();
    mkdirSync(join(box.dir, 'scripts'));
    writeFileSync(join(box.dir, 'r.yml'), 'drbook: 1\ntitle: r\nsteps:\n  - { id: a, title: a, run: ./scripts/fix.sh }\n');
    writeFileSync(join(box.dir, 'scripts', 'fix.sh'), '#!/bin/sh\necho fixed\n');
    chmodSync(join(box.dir, 'scripts', 'fix.sh'), 0o755);
    const out = join(box.cwd, 'usb', 'drbook');
    expect(await runWithUmask000(['bundle', '--dir', box.dir, '-o', out], box.cwd, { DRBOOK_HOME: box.home })).toBe(0);
    const loose: string[] = [];
    for (const dir of [
      join(box.cwd, 'usb'),
      out,
      ...readdirSync(out, { recursive: true, withFileTypes: true })
        .filter((e) => e.isDirectory())
        .map((e) => join(e.parentPath, e.name)),
    ]) {
      const mode = statSync(dir).mode & 0o777;
      if (mode & 0o022) loose.push(`${dir} ${mode.toString(8)}`);
    }
    expect(loose).toEqual([]);
    expect(statSync(join(out, 'runbooks', 'scripts', 'fix.sh')).mode & 0o777).toBe(0o755);
  }, 60_000);
});

describe('the advice when --yes needs a secret', () => {
  it('names --var NAME=- (stdin), never a value on the command line, for run and resume', async () => {
    box = makeSandbox();
    const env = { DRBOOK_HOME: box.home, DRBOOK_DIR: box.dir };
    writeFileSync(
      join(box.dir, 's.yml'),
      'drbook: 1\ntitle: s\nvars:\n  pw: { secret: true }\n  host: { }\nsteps:\n  - { id: a, title: a, run: "echo {{pw}} {{host}}" }\n  - { id: b, title: b, run: \'test -e ok && echo {{pw}}\' }\n',
    );
    const run = await runCli(['run', 's', '--yes', '--var', 'host=h1'], { cwd: box.cwd, env });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--var pw=-');
    expect(run.stderr).not.toMatch(/--var pw=(\.\.\.|value)/);

    // A session that had the secret and aborted at b: resume --yes must be given it again.
    const started = await runCli(['run', 's', '--yes', '--var', 'pw=-', '--var', 'host=h1'], { cwd: box.cwd, env, input: 'Tr0ub4dor-and-3\n' });
    expect(started.code, started.stderr).toBe(1);
    const session = /Session: (\S+)/.exec(started.stderr)![1]!;
    writeFileSync(join(box.cwd, 'ok'), '');
    const reopened = await runCli(['resume', session, '--reopen', '--yes'], { cwd: box.cwd, env });
    expect(reopened.code).toBe(2);
    expect(reopened.stderr).toContain('never stored');
    expect(reopened.stderr).toContain('--var pw=-');
    expect(reopened.stderr).not.toMatch(/--var pw=(\.\.\.|value)/);
  }, 60_000);
});

describe('help examples', () => {
  it('give the secret of the example (dns_token) as --var dns_token=-, never as a value', async () => {
    for (const command of ['run', 'resume', 'undo']) {
      const help = await runCli([command, '--help']);
      expect(help.code).toBe(0);
      expect(help.stdout, command).not.toMatch(/--var dns_token=(?!-)/);
    }
  }, 30_000);
});

describe('a secret typed into the wrong prompt first', () => {
  it.skipIf(!tmuxAvailable())(
    'is masked in the export once the session knows it is a secret',
    async () => {
      box = makeSandbox();
      const env = { DRBOOK_HOME: box.home, DRBOOK_DIR: box.dir, NO_COLOR: '1' };
      const secret = 'Tr0ub4dor-and-3';
      writeFileSync(
        join(box.dir, 'wrong.yml'),
        `drbook: 1
title: wrong prompt
vars:
  host: { prompt: Host name }
  pw: { secret: true, prompt: Password }
steps:
  - { id: a, title: "Reach {{host}}", run: "echo reaching {{host}}" }
  - { id: b, title: b, ask: [pw], env: { P: "{{pw}}" }, run: "echo using pw" }
`,
      );
      tmux = await startTmux({ cmd: process.execPath, args: [BIN, 'run', 'wrong'], cwd: box.cwd, env });
      // The operator pastes the password into the host prompt, runs step a, then gives it where it belongs.
      await tmux.waitFor('? Host name');
      await tmux.type(secret);
      await tmux.sendKeys('Enter');
      await tmux.waitFor('? Step 1/2');
      await tmux.sendKeys('Enter');
      await tmux.waitFor('? Password');
      await tmux.type(secret);
      await tmux.sendKeys('Enter');
      await tmux.waitFor('? Step 2/2');
      await tmux.sendKeys('Enter');
      await tmux.waitFor('Run completed');
      expect(await tmux.waitForExit()).toBe(0);

      // The journal and step a's log were written before the value was known to be a secret;
      // the export, the document people share, is made after: it must not show it.
      const md = await runCli(['export'], { cwd: box.cwd, env });
      expect(md.code, md.stderr).toBe(0);
      expect(md.stdout).toContain('Reach ***');
      expect(md.stdout).not.toContain(secret);
      const json = await runCli(['export', '--format', 'json'], { cwd: box.cwd, env });
      expect(json.code, json.stderr).toBe(0);
      expect(json.stdout).not.toContain(secret);
    },
    60_000,
  );
});

describe('a title with line breaks', () => {
  it('cannot print a fake command block before the real one, nor a fake row in list', async () => {
    box = makeSandbox();
    const env = { DRBOOK_HOME: box.home, DRBOOK_DIR: box.dir };
    writeFileSync(
      join(box.dir, 'nl.yml'),
      'drbook: 1\ntitle: "ok\\nfake row"\nsteps:\n  - id: a\n    title: "Check disk\\n\\nCommand:\\n$ echo harmless"\n    run: "echo real"\n',
    );
    const validated = await runCli(['validate', join(box.dir, 'nl.yml')], { cwd: box.cwd, env });
    expect(validated.stdout).toMatch(/nl\.yml:5:12: warning: a title is one line/);
    const rehearsed = await runCli(['rehearse', 'nl', '--yes'], { cwd: box.cwd, env });
    expect(rehearsed.code, rehearsed.stderr).toBe(0);
    expect(rehearsed.stdout).not.toMatch(/^\$ echo harmless/m);
    expect(rehearsed.stdout).toContain('[1/1] Check disk^J^JCommand:^J$ echo harmless');
    expect(rehearsed.stdout).toContain('Rehearsal of ok^Jfake row');
    const list = await runCli(['list'], { cwd: box.cwd, env });
    expect(list.stdout).not.toMatch(/^fake row/m);
  }, 30_000);
});
