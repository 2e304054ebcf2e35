/**
 * `drbook bundle`: the offline copy. Bundles runbooks into a temp dir, moves the bundle
 * where no node_modules can help it, and runs its drbook.mjs there with plain node.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VERSION } from '../src/version.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const fixtures = join(root, 'test', 'fixtures', 'bundle');
const runner = join(fixtures, 'run-bundle.mjs');
const work = mkdtempSync(join(tmpdir(), 'drbook-bundle-test-'));
const stateHome = join(work, 'state');

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

function node(args: string[], cwd: string): Run {
  const env: NodeJS.ProcessEnv = { ...process.env, DRBOOK_HOME: stateHome, NO_COLOR: '1' };
  delete env.DRBOOK_DIR;
  delete env.FORCE_COLOR;
  const result = spawnSync(process.execPath, args, { cwd, env, encoding: 'utf8', timeout: 60_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** `drbook bundle ARGS` through the CLI once it has the command, else through runBundle in dist/. */
let cliHasBundle = false;
function bundle(args: string[], cwd = work): Run {
  return cliHasBundle ? node([join(root, 'bin', 'drbook.cjs'), 'bundle', ...args], cwd) : node([runner, ...args], cwd);
}

function filesUnder(dir: string, prefix = ''): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? filesUnder(join(dir, e.name), `${prefix}${e.name}/`) : [`${prefix}${e.name}`]))
    .sort();
}

function snapshot(dir: string): Record<string, string> {
  return Object.fromEntries(
    filesUnder(dir).map((f) => [
      f,
      createHash('sha256')
        .update(readFileSync(join(dir, f)))
        .digest('hex'),
    ]),
  );
}

/** A copy of a fixture tree in the temp dir, so tests can edit it. */
function fixture(name: string): string {
  const target = join(work, `src-${name}-${Math.random().toString(36).slice(2, 8)}`);
  cpSync(join(fixtures, name), target, { recursive: true });
  return join(target, 'runbooks');
}

function leftovers(out: string): string[] {
  const base = out.split('/').pop()!;
  return readdirSync(dirname(out)).filter((e) => e.startsWith(`${base}.tmp-`) || e.startsWith(`${base}.old-`));
}

function deadPid(): number {
  for (let pid = 4_000_000; pid > 1000; pid -= 7919) {
    try {
      process.kill(pid, 0);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ESRCH') return pid;
    }
  }
  throw new Error('no free pid found');
}

function hasNodeModulesAbove(dir: string): boolean {
  for (let d = dir; ; d = dirname(d)) {
    if (existsSync(join(d, 'node_modules'))) return true;
    if (dirname(d) === d) return false;
  }
}

beforeAll(() => {
  if (!existsSync(join(root, 'dist', 'commands', 'bundle.js'))) throw new Error('the build did not produce dist/commands/bundle.js');
  cliHasBundle = node([join(root, 'bin', 'drbook.cjs'), 'bundle', '--help'], root).stdout.includes('--check');
}, 120_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('drbook bundle', () => {
  it('bundles runbooks and docs into a dir whose drbook.mjs runs with only node, anywhere', () => {
    const source = fixture('ok');
    const out = join(work, 'usb', 'bundle');
    const made = bundle(['--dir', source, '-o', out]);
    expect(made.stderr).toBe('');
    expect(made.status).toBe(0);
    expect(made.stdout).toContain('bundled 2 runbooks, 4 docs and 1 script or other file');
    // A doc kept in the runbooks directory is one of its files too: also beside the runbooks.
    expect(made.stdout).toMatch(/file +runbooks\/notes\/restore notes\.md\n/);
    // In a checkout the freshest code: esbuild over src/, also from the bundled bin.
    expect(made.stdout).toContain('(drbook.mjs built with esbuild from');

    expect(filesUnder(out)).toEqual([
      'INDEX.md',
      'SHA256SUMS',
      'docs/ansible.md',
      'docs/dns/backups.md',
      'docs/mail/backups.md',
      'docs/restore notes.md',
      'drbook.mjs',
      'runbooks/dns.yaml',
      'runbooks/mail-server.yml',
      'runbooks/notes/restore notes.md',
    ]);
    expect(leftovers(out)).toEqual([]);
    expect(readFileSync(join(out, 'docs', 'dns', 'backups.md'), 'utf8')).toBe(readFileSync(join(source, '..', 'wiki', 'dns', 'backups.md'), 'utf8'));

    // Paths point into docs/, anchors kept, everything else byte for byte.
    const mail = readFileSync(join(out, 'runbooks', 'mail-server.yml'), 'utf8');
    expect(mail).toBe(readFileSync(join(source, 'mail-server.yml'), 'utf8').replace("path: 'notes/restore notes.md'", "path: '../docs/restore notes.md'"));
    const dns = readFileSync(join(out, 'runbooks', 'dns.yaml'), 'utf8');
    expect(dns).toContain('path: "../docs/dns/backups.md"');
    expect(dns).toContain('path: ../docs/ansible.md#style');

    const index = readFileSync(join(out, 'INDEX.md'), 'utf8');
    expect(index).toMatch(new RegExp(`^# Recovery bundle\\n\\nMade \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d UTC by drbook ${VERSION.replace(/\./g, '\\.')} `));
    expect(index).toContain('- [Restore the mail server on a new host](#runbook-mail-server)');
    expect(index).toContain('- [ ] **1. Confirm the outage** `confirm-outage`');
    expect(index).toContain('[Restoring mail backups](<docs/mail/backups.md#restore>)');
    expect(index).toContain('[Restore notes](<docs/restore notes.md>)');
    expect(index).toContain('## Not in this bundle');
    expect(index).toContain('- <https://status.example.org/internal> — `mail-server` step 1 `confirm-outage` (Monitoring dashboard)');
    expect(index).toContain('- <https://dns.example.net/console> — `dns` step 2 `check` (Provider console)');
    expect(index).toContain('offline copy: [docs/ansible.md](<docs/ansible.md>)');
    expect(index).toContain('- `docs/ansible.md` links `img/network.png`');
    expect(index).toContain('`mail-server` step 2 `provision`: `../ansible`');

    const sums = readFileSync(join(out, 'SHA256SUMS'), 'utf8');
    expect(sums.trimEnd().split('\n')).toHaveLength(9);
    if (spawnSync('sha256sum', ['--version']).status === 0) {
      const checked = spawnSync('sha256sum', ['-c', 'SHA256SUMS'], { cwd: out, encoding: 'utf8' });
      expect(checked.stdout + checked.stderr).not.toContain('FAILED');
      expect(checked.status).toBe(0);
    }

    // Somewhere no node_modules can be found, run from another directory and from inside.
    const stick = mkdtempSync(join(tmpdir(), 'drbook-stick-'));
    const elsewhere = mkdtempSync(join(tmpdir(), 'drbook-elsewhere-'));
    try {
      cpSync(out, join(stick, 'bundle'), { recursive: true });
      const single = join(stick, 'bundle', 'drbook.mjs');
      expect(hasNodeModulesAbove(join(stick, 'bundle'))).toBe(false);
      expect(statSync(single).mode & 0o111).not.toBe(0);

      expect(node([single, '--version'], elsewhere).stdout.trim()).toBe(VERSION);
      const validated = node([single, 'validate'], elsewhere);
      expect(validated.stderr).toContain('2 runbooks checked: all valid');
      expect(validated.status).toBe(0);

      const listed = node([single, 'list', '--json'], join(stick, 'bundle'));
      expect(listed.status).toBe(0);
      expect((JSON.parse(listed.stdout) as { id: string }[]).map((r) => r.id)).toEqual(['dns', 'mail-server']);

      const shown = node([single, 'show', 'mail-server', '--format', 'md'], join(stick, 'bundle'));
      expect(shown.status).toBe(0);
      expect(shown.stdout).toContain('[Restoring mail backups](<docs/mail/backups.md#restore>)');

      const rehearsed = node([single, 'rehearse', 'mail-server', '--yes'], elsewhere);
      expect(rehearsed.stderr + rehearsed.stdout).toContain(join(stick, 'bundle', 'docs', 'mail', 'backups.md'));
      expect(rehearsed.status).toBe(0);
      // The journal goes to the usual state dir, not into the bundle.
      const sessions = readdirSync(join(stateHome, 'sessions')).filter((f) => f.endsWith('-mail-server.jsonl'));
      expect(sessions.length).toBeGreaterThan(0);
      expect(filesUnder(join(stick, 'bundle'))).toEqual(filesUnder(out));
    } finally {
      rmSync(stick, { recursive: true, force: true });
      rmSync(elsewhere, { recursive: true, force: true });
    }
  });

  it('--check says what changed, is missing or was added', () => {
    const out = join(work, 'checked');
    expect(bundle(['--dir', fixture('ok'), '-o', out]).status).toBe(0);
    const clean = bundle(['--check', out]);
    expect(clean.stdout).toContain('OK, all 9 files match SHA256SUMS');
    expect(clean.status).toBe(0);

    appendFileSync(join(out, 'docs', 'mail', 'backups.md'), '\nrm -rf / # an edit nobody reviewed\n');
    rmSync(join(out, 'runbooks', 'dns.yaml'));
    writeFileSync(join(out, 'runbooks', 'new.yml'), 'drbook: 1\n');
    const tampered = bundle(['--check', out]);
    expect(tampered.stdout).toContain('changed: docs/mail/backups.md');
    expect(tampered.stdout).toContain('missing: runbooks/dns.yaml');
    expect(tampered.stdout).toContain('extra: runbooks/new.yml (not listed in SHA256SUMS)');
    expect(tampered.stdout).toContain('1 changed, 1 missing, 1 not listed');
    expect(tampered.status).toBe(1);

    const notBundle = bundle(['--check', join(work, 'state')]);
    expect(notBundle.stderr).toContain('has no SHA256SUMS');
    expect(notBundle.status).toBe(2);
  });

  it('re-running into the same DIR updates it in place', () => {
    const source = fixture('ok');
    const out = join(work, 'updated');
    expect(bundle(['--dir', source, '-o', out]).status).toBe(0);
    writeFileSync(join(source, '..', 'docs', 'ansible.md'), '# Ansible playbooks, revised\n');
    rmSync(join(source, 'dns.yaml'));

    const again = bundle(['--dir', source, '-o', out]);
    expect(again.status).toBe(0);
    expect(again.stdout).toMatch(/updated the previous bundle: \d+ changed \([^)]*docs\/ansible\.md/);
    // With dns.yaml gone, mail/backups.md no longer collides and takes the plain name.
    expect(again.stdout).toContain('removed (docs/dns/backups.md, docs/mail/backups.md, runbooks/dns.yaml)');
    expect(readFileSync(join(out, 'runbooks', 'mail-server.yml'), 'utf8')).toContain('path: ../docs/backups.md#restore');
    expect(readFileSync(join(out, 'docs', 'ansible.md'), 'utf8')).toBe('# Ansible playbooks, revised\n');
    expect(existsSync(join(out, 'runbooks', 'dns.yaml'))).toBe(false);
    expect(leftovers(out)).toEqual([]);
    expect(bundle(['--check', out]).status).toBe(0);
  });

  it('refuses an invalid runbook with its file:line:col errors and leaves the bundle untouched', () => {
    const out = join(work, 'kept');
    expect(bundle(['--dir', fixture('ok'), '-o', out]).status).toBe(0);
    const before = snapshot(out);
    const invalid = fixture('invalid');

    const refused = bundle(['--dir', invalid, '-o', out]);
    expect(refused.stderr).toMatch(/runbooks\/broken\.yml:5:33: error: docs\.missing\.path: \.\.\/docs\/nowhere\.md does not exist/);
    expect(refused.stderr).toMatch(/runbooks\/broken\.yml:9:\d+: error: steps\[0\] \(one\)\.run: unknown variable \{\{nobody\}\}/);
    expect(refused.stderr).toContain('refusing to bundle: 1 of 2 runbooks invalid (2 errors above); nothing was written');
    expect(refused.status).toBe(1);
    expect(snapshot(out)).toEqual(before);
    expect(leftovers(out)).toEqual([]);
  });

  it('refuses two runbooks with one id: the bundled drbook.mjs could not choose between them', () => {
    const dir = fixture('ok');
    writeFileSync(join(dir, 'old-mail.yml'), 'drbook: 1\nid: mail-server\ntitle: Old\nsteps:\n  - id: a\n    title: A\n');
    const out = join(work, 'dup-ids');
    const refused = bundle(['--dir', dir, '-o', out]);
    expect(refused.stderr).toMatch(
      /runbooks\/old-mail\.yml:2:5: error: duplicate runbook id "mail-server", also the id of \S*runbooks\/mail-server\.yml:\d+:\d+/,
    );
    expect(refused.stderr).toContain('refusing to bundle: 2 runbooks above share an id');
    expect(refused.status).toBe(1);
    expect(existsSync(out)).toBe(false);
  });

  it('repairs a bundle interrupted between its two renames', () => {
    const source = fixture('ok');
    const out = join(work, 'crashed');
    expect(bundle(['--dir', source, '-o', out]).status).toBe(0);
    const before = snapshot(out);
    // What a crash between `rename DIR DIR.old-PID` and `rename DIR.tmp-PID DIR` leaves.
    const pid = deadPid();
    renameSync(out, `${out}.old-${pid}`);
    mkdirSync(`${out}.tmp-${pid}`);
    writeFileSync(`${out}.tmp-${pid}/INDEX.md`, 'half');

    const check = bundle(['--check', out]);
    expect(check.stderr).toContain(`crashed.old-${pid} holds the previous bundle`);
    expect(check.status).toBe(2);

    const repaired = bundle(['--dir', source, '-o', out]);
    expect(repaired.stdout).toContain(`repaired: put the previous bundle back from`);
    expect(repaired.status).toBe(0);
    expect(leftovers(out)).toEqual([]);
    expect(Object.keys(snapshot(out))).toEqual(Object.keys(before));
    expect(bundle(['--check', out]).status).toBe(0);
  });

  it('bundles into a directory inside the runbooks directory without copying itself', () => {
    const source = fixture('ok');
    const out = join(source, 'offline');
    for (let i = 0; i < 2; i++) expect(bundle(['--dir', source, '-o', out]).status).toBe(0);
    expect(filesUnder(join(out, 'runbooks')).filter((f) => f.includes('offline') || f.includes('.tmp-'))).toEqual([]);
  });

  it('never replaces a directory that is not a bundle', () => {
    const out = join(work, 'home');
    mkdirSync(out);
    writeFileSync(join(out, 'precious.txt'), 'keep me');
    const refused = bundle(['--dir', fixture('ok'), '-o', out]);
    expect(refused.stderr).toContain('is not a drbook bundle');
    expect(refused.status).toBe(2);
    expect(filesUnder(out)).toEqual(['precious.txt']);
    expect(leftovers(out)).toEqual([]);
  });

  it.skipIf(!readdirSync(join(root, 'runbooks')).some((f) => /\.ya?ml$/.test(f)))("bundles the repository's own runbooks", () => {
    const out = join(work, 'repo');
    const made = bundle(['--dir', join(root, 'runbooks'), '-o', out]);
    expect(made.status).toBe(0);
    const validated = node([join(out, 'drbook.mjs'), 'validate'], mkdtempSync(join(work, 'cwd-')));
    expect(validated.status).toBe(0);
    expect(bundle(['--check', out]).status).toBe(0);
    // The scripts the steps call come along, executable, so a live run works from the bundle.
    expect(statSync(join(out, 'runbooks', 'scripts', 'dns-check.sh')).mode & 0o111).not.toBe(0);
    const run = node([join(out, 'drbook.mjs'), 'run', 'dns-failover', '--yes'], mkdtempSync(join(work, 'cwd-')));
    expect(run.stderr).toContain('Run completed');
    expect(run.status).toBe(0);
  });

  it('from its own drbook.mjs, bundles again with the same single file', (ctx) => {
    if (!cliHasBundle) ctx.skip();
    const out = join(work, 'first');
    expect(bundle(['--dir', fixture('ok'), '-o', out]).status).toBe(0);
    const elsewhere = mkdtempSync(join(work, 'cwd-'));
    const second = node([join(out, 'drbook.mjs'), 'bundle', '-o', join(work, 'second')], elsewhere);
    expect(second.status).toBe(0);
    expect(second.stdout).toContain('copied from the running');
    // By hash: a deep equality over the 4.6 MB file's bytes took most of a minute on a busy machine.
    const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
    expect(sha(join(work, 'second', 'drbook.mjs'))).toBe(sha(join(out, 'drbook.mjs')));
  });
});

describe('npm run build:single', () => {
  it('writes dist/drbook.mjs: one readable file that runs from an empty directory', () => {
    execFileSync(process.execPath, [join(root, 'scripts', 'build-single.mjs')], { cwd: root, stdio: 'pipe' });
    const single = join(root, 'dist', 'drbook.mjs');
    const text = readFileSync(single, 'utf8');
    expect(text.startsWith('#!/usr/bin/env node\n')).toBe(true);
    expect(text).toContain('const require = __drbookCreateRequire(import.meta.url);');
    // Not minified: stack traces from it must stay readable.
    expect(text).toContain('// src/commands/validate.ts');
    // Every dependency inlined: the only imports left are Node's own modules.
    const specifiers = [...text.matchAll(/^import\s[^;]*?from\s*["']([^"']+)["']/gm)].map((m) => m[1]!);
    expect(specifiers.filter((s) => !s.startsWith('node:') && !builtinModules.includes(s))).toEqual([]);
    const empty = mkdtempSync(join(work, 'empty-'));
    expect(node([single, '--version'], empty).stdout.trim()).toBe(VERSION);
  });
});
