/**
 * What a first real trial found in the printed checklist and the drills: `show` names
 * where every env value comes from and what every choice means, and `rehearse --yes`
 * refuses a drill that would skip every branch.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makeSandbox, runCli, type Sandbox } from './helpers/run-cli.js';

const boxes: Sandbox[] = [];
afterEach(() => {
  for (const box of boxes.splice(0)) box.cleanup();
});

function sandboxWith(name: string, text: string): { box: Sandbox; file: string } {
  const box = makeSandbox();
  boxes.push(box);
  const file = join(box.dir, name);
  writeFileSync(file, text);
  return { box, file };
}

const env = (box: Sandbox) => ({ cwd: box.cwd, env: { DRBOOK_HOME: box.home, DRBOOK_DIR: box.dir, HOME: box.home } });

const ENVY = `drbook: 1
id: envy
title: Envy
vars:
  token: { env: DNS_TOKEN, secret: true }
  plan: { default: a, choices: { a: Plan A, b: "Plan B, the other" } }
  zone: { prompt: Zone?, default: example.org }
steps:
  - id: s1
    title: Set
    run: ./dns-set "$TOKEN"
    env: { TOKEN: "{{token}}", ZONE: "{{zone}}", LANG: C }
    capture: out
  - id: s2
    title: Use
    run: echo "$OUT"
    env: { OUT: "x{{out}}\`y" }
`;

const BRANCH = `drbook: 1
id: branch
title: Branch
vars:
  plan: { choices: { a: Plan A, b: Plan B } }
steps:
  - id: pick
    title: Pick
    ask: [plan]
  - id: do-a
    title: Do A
    when: plan == a
    run: echo A
  - id: do-b
    title: Do B
    when: plan == b
    run: echo B
`;

describe('show: env and choices', () => {
  it('text: each env entry with where its value comes from, each choice with its meaning', async () => {
    const { box, file } = sandboxWith('envy.yml', ENVY);
    const r = await runCli(['show', file], env(box));
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('plan: one of: a (Plan A), b (Plan B, the other); default a');
    expect(r.stdout).toContain('env TOKEN={{token}}  <- var token, secret: $DNS_TOKEN, else asked');
    expect(r.stdout).toContain('env ZONE={{zone}}  <- var zone: asked, else default example.org');
    expect(r.stdout).toContain('env LANG=C  <- as written in the runbook');
    expect(r.stdout).toContain('env OUT=x{{out}}`y  <- output of step s1');
  });

  it('md: the same, as a list under the command, code spans that survive a backtick', async () => {
    const { box, file } = sandboxWith('envy.yml', ENVY);
    const r = await runCli(['show', file, '--format', 'md'], env(box));
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('one of: a (Plan A), b (Plan B, the other)');
    expect(r.stdout).toContain('- `TOKEN={{token}}`: var token, secret: $DNS_TOKEN, else asked');
    expect(r.stdout).toContain('- ``OUT=x{{out}}`y``: output of step s1');
  });

  it('the bundle index carries the same', async () => {
    const { box } = sandboxWith('envy.yml', ENVY);
    const out = join(box.cwd, 'b');
    const r = await runCli(['bundle', '-o', out], env(box));
    expect(r.code, r.stderr).toBe(0);
    const { readFileSync } = await import('node:fs');
    const index = readFileSync(join(out, 'INDEX.md'), 'utf8');
    expect(index).toContain('`LANG=C`: as written in the runbook');
    expect(index).toContain('b (Plan B, the other)');
  });
});

const BACKOUT = `drbook: 1
id: backout
title: Back out
steps:
  - id: wait
    title: Wait for DNS
    run: dig +short mail.example.org
    until: { interval: 10s, timeout: 5m }
    undo: ./dns-set --revert
  - id: sign
    title: Put up the sign
    undo: Take the sign down
  - id: last
    title: Last
    run: echo go
    undo: { run: "echo back\\necho again", confirm: Is it back? }
`;

describe('show: until and undo', () => {
  it('text: the poll, each undo command, a manual undo, the undo confirmation', async () => {
    const { box, file } = sandboxWith('backout.yml', BACKOUT);
    const r = await runCli(['show', file], env(box));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('repeats every 10s until it succeeds, up to 5m');
    expect(r.stdout).toContain('undo: $ ./dns-set --revert');
    expect(r.stdout).toContain('undo by hand: Take the sign down');
    expect(r.stdout).toMatch(/undo: \$ echo back\n\s+echo again/);
    expect(r.stdout).toContain('undo ? Is it back?');
  });

  it('md and the bundle index: the same, the undo commands fenced', async () => {
    const { box, file } = sandboxWith('backout.yml', BACKOUT);
    const md = await runCli(['show', file, '--format', 'md'], env(box));
    expect(md.code, md.stderr).toBe(0);
    const out = join(box.cwd, 'b');
    expect((await runCli(['bundle', '-o', out], env(box))).code).toBe(0);
    const { readFileSync } = await import('node:fs');
    for (const text of [md.stdout, readFileSync(join(out, 'INDEX.md'), 'utf8')]) {
      expect(text).toContain('repeats every 10s until it succeeds, up to 5m');
      expect(text).toContain('Undo:\n\n  ```sh\n  ./dns-set --revert\n  ```');
      expect(text).toContain('Undo (by hand): Take the sign down');
      expect(text).toContain('```sh\n  echo back\n  echo again\n  ```');
      expect(text).toContain('- [ ] Is it back?');
    }
  });
});

describe('rehearse --yes and a when: nobody decided', () => {
  it('refuses up front and names the --var with its choices; nothing is journaled', async () => {
    const { box, file } = sandboxWith('branch.yml', BRANCH);
    const r = await runCli(['rehearse', file, '--yes'], env(box));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--yes cannot choose the branch to rehearse: when: uses plan.*give --var plan=a\|b/);
    const s = await runCli(['sessions', '--json'], env(box));
    expect(JSON.parse(s.stdout)).toEqual([]);
  });

  it('with the --var it rehearses that branch', async () => {
    const { box, file } = sandboxWith('branch.yml', BRANCH);
    const r = await runCli(['rehearse', file, '--yes', '--var', 'plan=b'], env(box));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('echo B');
    expect(r.stdout).toMatch(/Do A: skipped/);
  });

  it('a default decides the branch: no refusal', async () => {
    const { box, file } = sandboxWith('branch.yml', BRANCH.replace('plan: { choices', 'plan: { default: a, choices'));
    const r = await runCli(['rehearse', file, '--yes'], env(box));
    expect(r.code, r.stderr).toBe(0);
  });
});

describe('resume --reopen and --runbook', () => {
  const REOPEN = `drbook: 1
id: re
title: Reopen me
steps:
  - id: one
    title: One
    run: echo one
  - id: two
    title: Two
    run: test -e ok
  - id: three
    title: Three
    run: echo three
`;

  it('an aborted session goes on in the same journal with a moved runbook; sessions and export follow', async () => {
    const { box, file } = sandboxWith('re.yml', REOPEN);
    const first = await runCli(['run', file, '--yes'], env(box));
    expect(first.code).toBe(1);
    const [session] = JSON.parse((await runCli(['sessions', '--json'], env(box))).stdout) as { id: string; status: string }[];
    expect(session!.status).toBe('aborted');

    // Without --reopen: told how.
    const plain = await runCli(['resume', session!.id, '--yes'], env(box));
    expect(plain.code).toBe(2);
    expect(plain.stderr).toContain(`drbook resume ${session!.id} --reopen`);

    // The runbook moved: its old place is gone; --runbook gives the new one.
    const { renameSync, mkdirSync, writeFileSync: write } = await import('node:fs');
    const moved = join(box.cwd, 'mounted');
    mkdirSync(moved);
    renameSync(file, join(moved, 're.yml'));
    write(join(box.cwd, 'ok'), '');
    const gone = await runCli(['resume', session!.id, '--reopen', '--yes'], env(box));
    expect(gone.code).toBe(2);
    expect(gone.stderr).toContain('--runbook PATH');

    // Another runbook at the new place is refused.
    write(join(box.cwd, 'other.yml'), REOPEN.replace('id: re', 'id: other'));
    const wrong = await runCli(['resume', session!.id, '--reopen', '--yes', '--runbook', join(box.cwd, 'other.yml')], env(box));
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain('is runbook "other"');

    const again = await runCli(['resume', session!.id, '--reopen', '--yes', '--runbook', join(moved, 're.yml')], env(box));
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('Runbook read from');
    expect(again.stdout).toContain('three');

    const [after] = JSON.parse((await runCli(['sessions', '--json'], env(box))).stdout) as { id: string; status: string }[];
    expect(after).toMatchObject({ id: session!.id, status: 'completed' });
    const exported = await runCli(['export', session!.id], env(box));
    expect(exported.stdout).toMatch(/Session aborted/);
    expect(exported.stdout).toMatch(/Reopened \(it had ended aborted\) after a gap of .*; runbook read from `.*mounted\/re\.yml`/);
    expect(exported.stdout).toMatch(/\*\*End:\*\* .*\(completed\)/);
    const json = JSON.parse((await runCli(['export', session!.id, '--format', 'json'], env(box))).stdout) as { summary?: { status?: string } };
    expect(JSON.stringify(json)).toContain('"reopened":true');
  });

  it('--runbook: a moved runbook that also changed gets the sha256 warning', async () => {
    const { box, file } = sandboxWith('re.yml', REOPEN);
    expect((await runCli(['run', file, '--yes'], env(box))).code).toBe(1);
    const [session] = JSON.parse((await runCli(['sessions', '--json'], env(box))).stdout) as { id: string }[];
    const { mkdirSync, rmSync } = await import('node:fs');
    mkdirSync(join(box.cwd, 'usb'));
    writeFileSync(join(box.cwd, 'usb', 're.yml'), REOPEN.replace('title: Two', 'title: Two, fixed'));
    rmSync(file);
    writeFileSync(join(box.cwd, 'ok'), '');
    const r = await runCli(['resume', session!.id, '--reopen', '--yes', '--runbook', join(box.cwd, 'usb', 're.yml')], env(box));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout + r.stderr).toMatch(/usb\/re\.yml changed since the session started \(sha256 \w+ → \w+\)/);
    expect(r.stdout).toContain('Two, fixed');
  });

  it('--reopen asks again for the secret of the step it walks again, and only that one', async () => {
    const { box, file } = sandboxWith(
      'sec.yml',
      `drbook: 1
id: sec
title: Secret again
vars:
  early: { env: EARLY_TOKEN, secret: true }
  tok: { env: TOK, secret: true }
steps:
  - id: one
    title: One
    run: test -n {{early}}
  - id: two
    title: Two
    run: test -e ok && test -n {{tok}}
`,
    );
    const withEnv = (extra: Record<string, string>) => ({ ...env(box), env: { ...env(box).env, ...extra } });
    const first = await runCli(['run', file, '--yes'], withEnv({ EARLY_TOKEN: 'e-s3cret', TOK: 't-s3cret' }));
    expect(first.code).toBe(1);
    const [session] = JSON.parse((await runCli(['sessions', '--json'], env(box))).stdout) as { id: string }[];
    writeFileSync(join(box.cwd, 'ok'), '');
    // The failed step is walked again: its secret is needed; the finished step's is not.
    const refused = await runCli(['resume', session!.id, '--reopen', '--yes'], env(box));
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('give --var tok=- (read from stdin) (or $TOK)');
    expect(refused.stderr).not.toContain('early');
    const again = await runCli(['resume', session!.id, '--reopen', '--yes'], withEnv({ TOK: 't-s3cret' }));
    expect(again.code, again.stderr).toBe(0);
  });

  it('--reopen needs a session id, and refuses one that is not aborted', async () => {
    const { box, file } = sandboxWith('re.yml', REOPEN);
    const none = await runCli(['resume', '--reopen', '--yes'], env(box));
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('--reopen needs the SESSION');
    writeFileSync(join(box.cwd, 'ok'), '');
    await runCli(['run', file, '--yes'], env(box));
    const [done] = JSON.parse((await runCli(['sessions', '--json'], env(box))).stdout) as { id: string }[];
    const refused = await runCli(['resume', done!.id, '--reopen', '--yes'], env(box));
    expect(refused.code).toBe(2);
  });
});

describe('getting drbook on PATH, and help with examples', () => {
  it('the README says how to install it, and npx only inside the clone', async () => {
    const { readFileSync } = await import('node:fs');
    const { REPO } = await import('./helpers/run-cli.js');
    const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
    expect(readme).toContain('npm install -g .');
    expect(readme).toContain('npm link');
    expect(readme).toMatch(/`npx drbook` works only inside this\s+directory/);
  });

  it.each(['list', 'validate', 'show', 'run', 'rehearse', 'resume', 'undo', 'note', 'sessions', 'verify', 'export', 'bundle', 'schema'])(
    'drbook %s --help ends with examples',
    async (command) => {
      const r = await runCli([command, '--help']);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`\\nExamples:\\n(  \\$ drbook ${command}.*\\n|  \\$ .*drbook ${command}.*\\n)+$`));
    },
  );
});
