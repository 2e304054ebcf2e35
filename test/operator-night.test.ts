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

  it.each(['list', 'validate', 'show', 'run', 'rehearse', 'resume', 'note', 'sessions', 'verify', 'export', 'bundle', 'schema'])('drbook %s --help ends with examples', async (command) => {
    const r = await runCli([command, '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`\\nExamples:\\n(  \\$ drbook ${command}.*\\n|  \\$ .*drbook ${command}.*\\n)+$`));
  });
});
