/**
 * `drbook bundle` copies only what it should: docs and scripts that resolve, after
 * symlinks, inside the runbooks directory or the docs root; with their modes; every one
 * named; and `--check` fails when a script a step calls is not in the bundle.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { calledScripts } from '../src/core/called-scripts.js';
import { BIN, ensureBuilt } from './helpers/run-cli.js';

const work = mkdtempSync(join(tmpdir(), 'drbook-contain-'));
beforeAll(ensureBuilt);
afterAll(() => rmSync(work, { recursive: true, force: true }));

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

function drbook(args: string[], cwd: string, bin = BIN): Run {
  const env: NodeJS.ProcessEnv = { ...process.env, DRBOOK_HOME: join(work, 'state'), NO_COLOR: '1' };
  delete env.DRBOOK_DIR;
  const result = spawnSync(process.execPath, [bin, ...args], { cwd, env, encoding: 'utf8', timeout: 60_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

let count = 0;
/** A repository: `repo/runbooks/rb.yml` with the given docs and steps, `repo/docs/`. */
function repo(docs: Record<string, string>, steps = '  - id: s\n    title: S\n    confirm: ok?\n'): { root: string; runbooks: string; file: string } {
  const root = join(work, `repo-${++count}`, 'repo');
  const runbooks = join(root, 'runbooks');
  mkdirSync(runbooks, { recursive: true });
  mkdirSync(join(root, 'docs'));
  const docLines = Object.entries(docs).map(([key, path]) => `  ${key}: { title: ${key}, path: ${JSON.stringify(path)} }`);
  const file = join(runbooks, 'rb.yml');
  writeFileSync(file, `drbook: 1\nid: rb\ntitle: RB\n${docLines.length ? `docs:\n${docLines.join('\n')}\n` : ''}steps:\n${steps}`);
  return { root, runbooks, file };
}

function modeOf(path: string): number {
  return statSync(path).mode & 0o777;
}

describe('bundle containment', () => {
  it('refuses a ../ path that leaves the docs root, naming the doc with its position, and writes nothing', () => {
    const r = repo({ ok: '../docs/ok.md', escape: '../../../outside.txt' });
    writeFileSync(join(r.root, 'docs', 'ok.md'), '# ok\n');
    writeFileSync(join(r.root, '..', '..', 'outside.txt'), 'not for the stick\n');
    const out = join(work, `out-${count}`);
    const result = drbook(['bundle', '--dir', r.runbooks, '-o', out], r.root);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(
      /rb\.yml:6:\d+: error: the doc "\.\.\/\.\.\/\.\.\/outside\.txt" cannot be bundled: it resolves to \S*outside\.txt, outside the docs root \S*repo-\d+\/repo/,
    );
    expect(result.stderr).toMatch(/refusing to bundle: 1 file above cannot be bundled.*nothing was written/);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(out)).toBe(false);
    expect(existsSync(`${out}.tmp-`)).toBe(false);

    // --docs-root widens the root on purpose.
    const widened = drbook(['bundle', '--dir', r.runbooks, '-o', out, '--docs-root', join(r.root, '..', '..')], r.root);
    expect(widened.status, widened.stderr).toBe(0);
    expect(readFileSync(join(out, 'docs', 'outside.txt'), 'utf8')).toBe('not for the stick\n');
  });

  it('refuses an absolute path and a symlink to /etc/shadow, as a doc or beside the runbooks', () => {
    const r = repo({ passwd: '/etc/passwd', shadow: '../docs/shadow.md' });
    symlinkSync('/etc/shadow', join(r.root, 'docs', 'shadow.md'));
    symlinkSync('/etc/shadow', join(r.runbooks, 'creds'));
    const out = join(work, `out-${count}`);
    const result = drbook(['bundle', '--dir', r.runbooks, '-o', out], r.root);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/rb\.yml:5:\d+: error: the doc "\/etc\/passwd" cannot be bundled: it resolves to \/etc\/passwd, outside/);
    expect(result.stderr).toMatch(/rb\.yml:6:\d+: error: the doc "\.\.\/docs\/shadow\.md" cannot be bundled: it resolves to \/etc\/shadow, outside/);
    expect(result.stderr).toMatch(/creds: error: cannot be bundled: a symlink to \/etc\/shadow, outside/);
    expect(result.stderr).toContain('refusing to bundle: 3 files above cannot be bundled');
    expect(existsSync(out)).toBe(false);
  });

  it('refuses a symlink that leads nowhere instead of leaving it out silently', () => {
    const r = repo({});
    symlinkSync(join(r.root, 'gone.sh'), join(r.runbooks, 'dangling.sh'));
    const out = join(work, `out-${count}`);
    const result = drbook(['bundle', '--dir', r.runbooks, '-o', out], r.root);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/dangling\.sh: error: cannot be bundled: a symlink that leads nowhere/);
    expect(existsSync(out)).toBe(false);
  });

  it('copies a symlinked script as content, names it, keeps every mode, and the script runs from the bundle', () => {
    const steps = '  - id: restore\n    title: Restore\n    cwd: .\n    run: ./scripts/restore.sh && bash tools/helper.sh\n';
    const r = repo({ guide: '../docs/guide.md', secret: '../docs/private.md', linked: '../docs/linked.md' }, steps);
    writeFileSync(join(r.root, 'docs', 'guide.md'), '# guide\n');
    writeFileSync(join(r.root, 'docs', 'private.md'), '# private\n');
    chmodSync(join(r.root, 'docs', 'guide.md'), 0o640);
    chmodSync(join(r.root, 'docs', 'private.md'), 0o600);
    mkdirSync(join(r.root, 'shared'));
    writeFileSync(join(r.root, 'shared', 'linked-source.md'), '# linked\n');
    symlinkSync('../shared/linked-source.md', join(r.root, 'docs', 'linked.md'));
    chmodSync(r.file, 0o600);
    // The script lives outside the runbooks directory but inside the docs root (the repo).
    writeFileSync(join(r.root, 'shared', 'restore.sh'), '#!/bin/sh\necho RESTORED-FROM-BUNDLE\n');
    chmodSync(join(r.root, 'shared', 'restore.sh'), 0o750);
    mkdirSync(join(r.runbooks, 'scripts'));
    symlinkSync('../../shared/restore.sh', join(r.runbooks, 'scripts', 'restore.sh'));
    mkdirSync(join(r.runbooks, 'tools'));
    writeFileSync(join(r.runbooks, 'tools', 'helper.sh'), 'echo HELPER-RAN\n');
    chmodSync(join(r.runbooks, 'tools', 'helper.sh'), 0o600);

    const out = join(work, `out-${count}`);
    const made = drbook(['bundle', '--dir', r.runbooks, '-o', out], r.root);
    expect(made.status, made.stderr).toBe(0);
    // Every doc and every file named, the symlinks said so.
    expect(made.stdout).toContain('3 docs and 2 scripts or other files');
    expect(made.stdout).toMatch(/doc +docs\/guide\.md +from \S*docs\/guide\.md\n/);
    expect(made.stdout).toMatch(/doc +docs\/private\.md +from /);
    expect(made.stdout).toMatch(/doc +docs\/linked\.md +from \S*docs\/linked\.md \(a symlink: the content of \S*shared\/linked-source\.md\)/);
    expect(made.stdout).toMatch(/file +runbooks\/scripts\/restore\.sh +\(through a symlink: the content of \S*shared\/restore\.sh\)/);
    expect(made.stdout).toMatch(/file +runbooks\/tools\/helper\.sh\n/);

    const script = join(out, 'runbooks', 'scripts', 'restore.sh');
    expect(lstatSync(script).isSymbolicLink()).toBe(false);
    expect(modeOf(script)).toBe(0o750);
    expect(modeOf(join(out, 'runbooks', 'tools', 'helper.sh'))).toBe(0o600);
    expect(modeOf(join(out, 'docs', 'guide.md'))).toBe(0o640);
    expect(modeOf(join(out, 'docs', 'private.md'))).toBe(0o600);
    expect(modeOf(join(out, 'runbooks', 'rb.yml'))).toBe(0o600);
    expect(readFileSync(join(out, 'docs', 'linked.md'), 'utf8')).toBe('# linked\n');

    const check = drbook(['bundle', '--check', out], r.root);
    expect(check.status, check.stdout).toBe(0);

    // The repository is gone; the bundle alone runs the step.
    rmSync(join(work, `repo-${count}`), { recursive: true, force: true });
    const empty = mkdtempSync(join(work, 'empty-'));
    const run = drbook(['run', 'rb', '--yes'], empty, join(out, 'drbook.mjs'));
    expect(run.status, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toContain('RESTORED-FROM-BUNDLE');
    expect(run.stdout).toContain('HELPER-RAN');
  });

  it('--check fails when a script a step calls is not in the bundle, or not executable, though every checksum matches', () => {
    const steps = '  - id: restore\n    title: Restore\n    cwd: .\n    run: |\n      ./scripts/absent.sh --now\n      sudo -E ./scripts/noexec.sh\n';
    const r = repo({}, steps);
    mkdirSync(join(r.runbooks, 'scripts'));
    writeFileSync(join(r.runbooks, 'scripts', 'noexec.sh'), 'echo hi\n');
    chmodSync(join(r.runbooks, 'scripts', 'noexec.sh'), 0o644);
    const out = join(work, `out-${count}`);
    const made = drbook(['bundle', '--dir', r.runbooks, '-o', out], r.root);
    expect(made.status, made.stderr).toBe(0);
    expect(made.stdout).toContain('warning: missing script: runbooks/rb.yml step restore calls ./scripts/absent.sh');
    const check = drbook(['bundle', '--check', out], r.root);
    expect(check.status).toBe(1);
    expect(check.stdout).toContain('missing script: runbooks/rb.yml step restore calls ./scripts/absent.sh, not in the bundle');
    expect(check.stdout).toContain('not executable: runbooks/rb.yml step restore runs ./scripts/noexec.sh');
    expect(check.stdout).not.toMatch(/^(changed|missing|extra): /m);
  });

  it('copies a script that is also linked as a doc beside the runbooks too, so the run from the bundle finds it', { timeout: 120_000 }, () => {
    const steps = '  - id: restore\n    title: Restore\n    cwd: .\n    run: ./scripts/restore.sh\n';
    const r = repo({ script: 'scripts/restore.sh', ok: '../docs/ok.md' }, steps);
    mkdirSync(join(r.runbooks, 'scripts'));
    writeFileSync(join(r.runbooks, 'scripts', 'restore.sh'), '#!/bin/sh\necho RESTORED-FROM-BUNDLE\n');
    chmodSync(join(r.runbooks, 'scripts', 'restore.sh'), 0o755);
    writeFileSync(join(r.root, 'docs', 'ok.md'), '# ok\n');
    // A doc reached through a symlink in the runbooks directory is a file of that directory too: named, not dropped.
    symlinkSync('../docs/ok.md', join(r.runbooks, 'link.md'));
    const out = join(work, `out-${count}`);
    const made = drbook(['bundle', '--dir', r.runbooks, '-o', out], r.root);
    expect(made.status, made.stderr).toBe(0);
    expect(made.stdout).not.toContain('warning');
    expect(made.stdout).toMatch(/doc +docs\/restore\.sh +from \S*runbooks\/scripts\/restore\.sh\n/);
    expect(made.stdout).toMatch(/file +runbooks\/scripts\/restore\.sh\n/);
    expect(made.stdout).toMatch(/file +runbooks\/link\.md +\(through a symlink: the content of \S*docs\/ok\.md\)/);
    expect(modeOf(join(out, 'runbooks', 'scripts', 'restore.sh'))).toBe(0o755);
    expect(readFileSync(join(out, 'runbooks', 'link.md'), 'utf8')).toBe('# ok\n');

    const check = drbook(['bundle', '--check', out], r.root);
    expect(check.status, check.stdout).toBe(0);
    const empty = mkdtempSync(join(work, 'empty-'));
    const run = drbook(['run', 'rb', '--dir', join(out, 'runbooks'), '--yes'], empty, join(out, 'drbook.mjs'));
    expect(run.status, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toContain('RESTORED-FROM-BUNDLE');
  });
});

describe('where the bundle goes, and names a stick cannot tell apart', () => {
  it('-o a symlink to a bundle updates the bundle it leads to and keeps the link; a link that leads nowhere is refused', { timeout: 120_000 }, () => {
    const r = repo({});
    const stick = join(work, `stick-${count}`);
    mkdirSync(stick);
    const real = join(stick, 'drbook');
    expect(drbook(['bundle', '--dir', r.runbooks, '-o', real], r.root).status).toBe(0);
    const link = join(r.root, 'usb');
    symlinkSync(real, link);
    writeFileSync(join(r.runbooks, 'added.sh'), 'echo added\n');

    const again = drbook(['bundle', '--dir', r.runbooks, '-o', link], r.root);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stdout).toContain(`usb is a symlink: the bundle is written where it leads, ${real} (the link stays)`);
    expect(again.stdout).toMatch(/updated the previous bundle: .*1 added \(runbooks\/added\.sh\)/);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readFileSync(join(real, 'runbooks', 'added.sh'), 'utf8')).toBe('echo added\n');
    expect(drbook(['bundle', '--check', real], r.root).status).toBe(0);
    expect(readdirSync(r.root).sort()).toEqual(['docs', 'runbooks', 'usb']);
    expect(readdirSync(stick)).toEqual(['drbook']);

    const dangling = join(r.root, 'unmounted');
    symlinkSync(join(work, 'not-mounted', 'drbook'), dangling);
    const refused = drbook(['bundle', '--dir', r.runbooks, '-o', dangling], r.root);
    expect(refused.stderr).toMatch(
      /^drbook: unmounted is a symlink to \S*not-mounted\/drbook, which does not exist \(a disk not mounted\?\): mount or create it, or choose another -o; nothing was written\n$/,
    );
    expect(refused.status).toBe(2);
    expect(lstatSync(dangling).isSymbolicLink()).toBe(true);
    expect(existsSync(join(work, 'not-mounted'))).toBe(false);
  });

  it('refuses runbooks or scripts whose names differ only in letter case or Unicode normalization, naming both', () => {
    const r = repo({});
    writeFileSync(join(r.runbooks, 'RB.yml'), 'drbook: 1\nid: rb-upper\ntitle: RB upper\nsteps:\n  - id: s\n    title: S\n    confirm: ok?\n');
    mkdirSync(join(r.runbooks, 'scripts'));
    writeFileSync(join(r.runbooks, 'scripts', 'caf\u00e9.sh'), 'echo nfc\n');
    writeFileSync(join(r.runbooks, 'scripts', 'cafe\u0301.sh'), 'echo nfd\n');
    const out = join(work, `out-${count}`);
    const result = drbook(['bundle', '--dir', r.runbooks, '-o', out], r.root);
    expect(result.stderr).toMatch(
      /RB\.yml and \S*rb\.yml: error: cannot both be bundled: runbooks\/RB\.yml and runbooks\/rb\.yml differ only in letter case, one name on a FAT, exFAT or APFS stick: rename one\n/,
    );
    expect(result.stderr).toContain(
      'runbooks/scripts/cafe\u0301.sh and runbooks/scripts/caf\u00e9.sh differ only in Unicode normalization (one is NFC, the other NFD, as macOS writes names)',
    );
    expect(result.stderr).toMatch(/refusing to bundle: 2 pairs of names above would be one file on the stick; nothing was written\n$/);
    expect(result.status).toBe(1);
    expect(existsSync(out)).toBe(false);
  });

  it('gives two docs named alike in NFC and NFD distinct names under docs/', { timeout: 120_000 }, () => {
    const r = repo({ nfc: '../docs/caf\u00e9.md', nfd: '../docs/cafe\u0301.md' });
    writeFileSync(join(r.root, 'docs', 'caf\u00e9.md'), 'nfc\n');
    writeFileSync(join(r.root, 'docs', 'cafe\u0301.md'), 'nfd\n');
    const out = join(work, `out-${count}`);
    const made = drbook(['bundle', '--dir', r.runbooks, '-o', out], r.root);
    expect(made.status, made.stderr).toBe(0);
    expect(readdirSync(join(out, 'docs')).sort()).toEqual(['cafe\u0301-2.md', 'caf\u00e9.md']);
    expect(readFileSync(join(out, 'docs', 'cafe\u0301-2.md'), 'utf8')).toBe('nfd\n');
    expect(readFileSync(join(out, 'runbooks', 'rb.yml'), 'utf8')).toContain('../docs/cafe\u0301-2.md');
  });
});

describe('the scripts a command calls', () => {
  const table: [string, { path: string; direct: boolean }[]][] = [
    ['./restore.sh', [{ path: './restore.sh', direct: true }]],
    ['scripts/x.sh --flag a/b', [{ path: 'scripts/x.sh', direct: true }]],
    [
      'FOO=1 sudo -E ./a.sh && bash b.sh | sh -c "./not-this.sh"',
      [
        { path: './a.sh', direct: true },
        { path: 'b.sh', direct: false },
      ],
    ],
    [
      '. ./env.sh; source lib/common.sh',
      [
        { path: './env.sh', direct: false },
        { path: 'lib/common.sh', direct: false },
      ],
    ],
    [
      'python3 tools/check.py; python3 -m http.server; node x.mjs',
      [
        { path: 'tools/check.py', direct: false },
        { path: 'x.mjs', direct: false },
      ],
    ],
    ['/usr/bin/env ls; ~/bin/x; $DIR/x.sh; ./{{name}}.sh; ./*.sh', []],
    ['echo "./quoted.sh; ./b.sh" > out/file', []],
    ['cat <<EOF > x\n./in-heredoc.sh\nEOF\n./after.sh # ./comment.sh', [{ path: './after.sh', direct: true }]],
    [
      'if ./check.sh; then ./yes.sh; fi',
      [
        { path: './check.sh', direct: true },
        { path: './yes.sh', direct: true },
      ],
    ],
    ['ssh host scripts/remote.sh; curl https://x.example/a.sh', []],
  ];
  it.each(table)('%j', (command, expected) => {
    expect(calledScripts(command)).toEqual(expected);
  });
});
