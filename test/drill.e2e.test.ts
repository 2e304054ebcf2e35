/**
 * The forge drill (scripts/drill.sh), run for real: a forge of bare repositories is built,
 * backed up, loses the pushes after the backup and then the forge itself, and the built
 * drbook walks runbooks/git-forge-restore.yml to restore it. Each run has its own temp
 * directory, HOME (so the machine's git config cannot reach git) and DRBOOK_HOME, and
 * fixed commit dates, so every commit id is the same on every machine.
 *
 * The post-mortem is compared with test/golden/export/drill-git-forge-restore.md once
 * times, durations, paths and the operator are normalised. After a deliberate change of the
 * runbook, the drill or the export:
 *
 *   UPDATE_GOLDEN=1 npx vitest run test/drill.e2e
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir, userInfo } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, REPO } from './helpers/run-cli.js';

const DRILL = join(REPO, 'scripts', 'drill.sh');
const RUNBOOK = join(REPO, 'runbooks', 'git-forge-restore.yml');
const GOLDEN = join(REPO, 'test', 'golden', 'export', 'drill-git-forge-restore.md');
const COMMIT_DATE = '2026-03-10T01:00:00Z';

const scratch = mkdtempSync(join(tmpdir(), 'drbook-drill-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

let homes = 0;

/** A fresh machine: only PATH is inherited; git and drbook get their own home. */
function environment(dir: string): NodeJS.ProcessEnv {
  const home = join(scratch, `home-${++homes}`);
  mkdirSync(home);
  return {
    PATH: process.env.PATH,
    HOME: home,
    TZ: 'UTC',
    LANG: 'C.UTF-8',
    NO_COLOR: '1',
    GIT_AUTHOR_DATE: COMMIT_DATE,
    GIT_COMMITTER_DATE: COMMIT_DATE,
    DRBOOK_HOME: join(dir, 'drbook-home'),
  };
}

interface Drill {
  dir: string;
  status: number | null;
  stdout: string;
  stderr: string;
}

function drill(name: string, ...args: string[]): Drill {
  const dir = join(scratch, name);
  const r = spawnSync('bash', [DRILL, ...args, dir], { env: environment(dir), encoding: 'utf8', timeout: 60_000 });
  return { dir: realpathSync(dir), status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function git(gitDir: string, ...args: string[]): string {
  return execFileSync('git', [`--git-dir=${gitDir}`, ...args], { encoding: 'utf8', env: { PATH: process.env.PATH, HOME: scratch, GIT_CONFIG_NOSYSTEM: '1' } });
}

function drbook(dir: string, env: NodeJS.ProcessEnv, ...args: string[]) {
  return spawnSync(process.execPath, [BIN, ...args], { cwd: dir, env, encoding: 'utf8', timeout: 60_000 });
}

/** The backup set the restore must use: the latest one with COMPLETE. */
function latestSet(dir: string): string {
  const sets = readdirSync(join(dir, 'backups'))
    .filter((s) => existsSync(join(dir, 'backups', s, 'COMPLETE')))
    .sort();
  return join(dir, 'backups', sets.at(-1)!);
}

interface Manifest {
  heads: Map<string, string>;
  refs: Map<string, string[]>;
}

function readManifest(set: string): Manifest {
  const heads = new Map<string, string>();
  const refs = new Map<string, string[]>();
  for (const line of readFileSync(join(set, 'manifest'), 'utf8').trim().split('\n')) {
    const [kind, repo, a, b] = line.split(' ') as [string, string, string, string?];
    if (kind === 'repo') heads.set(repo, a);
    else refs.set(repo, [...(refs.get(repo) ?? []), `${a} ${b!}`]);
  }
  return { heads, refs };
}

/** Times, durations, the drill's paths and the operator: what differs between two runs. */
function normalise(md: string, dir: string): string {
  const operator = `${userInfo().username}@${hostname()}`;
  let firstDay = true;
  return (
    md
      .split(dir)
      .join('<DIR>')
      .split(REPO)
      .join('<REPO>')
      .split(operator)
      .join('<operator>')
      .replace(/\d{8}T\d{6}Z/g, '<STAMP>')
      .replace(/\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z/g, '<ISO>')
      .replace(/\d{4}-\d{2}-\d{2} \d{2}:\d{2}(:\d{2})?/g, '<DATE TIME>')
      .replace(/\b\d{2}:\d{2}(:\d{2})?\b/g, '<TIME>')
      // Every duration but the runbook's own objectives (RTO 30m, RPO 24h).
      .replace(/(?<!(?:RTO|RPO)(?::\*\*)? )\b(?:\d+[dhm] )*\d+(?:\.\d+)?[dhms]\b/g, '<DUR>')
      .replace(/^- <TIME> – <TIME> — /gm, '- <TIME> — ') // a step that crossed a second
      .replace(/(Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day \d{1,2} [A-Z][a-z]+ \d{4}/g, '<DAY>')
      .replace(/ – <DAY> /g, ' – ') // a drill that runs across midnight
      .replace(/^\*\*<DAY>\*\*\n\n/gm, (line) => (firstDay ? ((firstDay = false), line) : ''))
      .replace(/final hash `[0-9a-f]{64}`/, 'final hash `<HASH>`')
  );
}

describe('the forge drill', () => {
  let clean: Drill;

  beforeAll(() => {
    clean = drill('clean');
  }, 60_000);

  it('restores the forge: exit 0, every repository checked by the drill', () => {
    expect(clean.status, clean.stderr).toBe(0);
    expect(clean.stderr).toContain('Run completed: 13 done, 0 done by hand, 0 skipped, 0 failed');
    expect(clean.stderr).toContain('drill: every restored repository passes git fsck --full and its refs equal the manifest');
    expect(clean.stderr).toMatch(/^drill: Recovery time: \d+\.\ds, from impact started to resolved; RTO 30m: met, 29m [\d.]+s to spare$/m);
    expect(clean.stderr).toMatch(/^drill: Data-loss window: \d+\.\ds, from the recovery point to impact started .*; RPO 24h: met, 23h 59m [\d.]+s to spare$/m);
  });

  it('restored every repository of the manifest: fsck clean, the same refs and HEAD', () => {
    const set = latestSet(clean.dir);
    const { heads, refs } = readManifest(set);
    expect([...heads.keys()].sort()).toEqual(['app', 'infra', 'website']);
    const restored = join(clean.dir, 'forge-restored');
    expect(readdirSync(restored).sort()).toEqual(['app.git', 'infra.git', 'website.git']);
    for (const [repo, head] of heads) {
      const gitDir = join(restored, `${repo}.git`);
      expect(git(gitDir, 'fsck', '--full', '--strict', '--no-dangling', '--no-progress')).toBe('');
      expect(git(gitDir, 'for-each-ref', '--format=%(objectname) %(refname)').trim().split('\n').sort()).toEqual(refs.get(repo)!.sort());
      expect(git(gitDir, 'symbolic-ref', 'HEAD').trim()).toBe(head);
    }
    // Branches and tags, annotated and lightweight, came back; hooks and config too.
    expect(refs.get('app')!.map((r) => r.split(' ')[1])).toEqual(expect.arrayContaining(['refs/heads/main', 'refs/heads/release/1.x', 'refs/tags/v1.0']));
    expect(git(join(restored, 'app.git'), 'cat-file', '-t', 'refs/tags/v1.0').trim()).toBe('tag');
    expect(git(join(restored, 'app.git'), 'config', 'receive.denyNonFastForwards').trim()).toBe('true');
    expect(existsSync(join(restored, 'app.git', 'hooks', 'pre-receive'))).toBe(true);
    // The forge URL leads to the restored forge.
    expect(realpathSync(join(clean.dir, 'forge-url'))).toBe(restored);
  });

  it('the commits pushed after the backup are really gone, and the post-mortem names each one', () => {
    const lost = readFileSync(join(clean.dir, 'lost-commits.txt'), 'utf8').trim().split('\n');
    expect(lost.length).toBeGreaterThan(0);
    const md = readFileSync(join(clean.dir, 'postmortem.md'), 'utf8');
    for (const line of lost) {
      const [repo, id, ...subject] = line.split(' ') as [string, string, ...string[]];
      expect(() => git(join(clean.dir, 'forge-restored', `${repo}.git`), 'cat-file', '-e', `${id}^{commit}`)).toThrow();
      expect(md).toContain(`${id} ${subject.join(' ')}`);
    }
  });

  it('the data-loss window runs from the backup to the destruction, against the RPO', () => {
    const env = environment(clean.dir);
    const r = drbook(clean.dir, env, 'export', '--format', 'json');
    expect(r.status, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as { recoveryPoint: { value: string; until: string; lossMs: number; met: boolean; targetMs: number }; status: string };
    const backupTime = readFileSync(join(latestSet(clean.dir), 'time'), 'utf8').trim();
    const destroyedAt = readFileSync(join(clean.dir, 'destroyed-at'), 'utf8').trim();
    expect(report.status).toBe('completed');
    expect(report.recoveryPoint).toMatchObject({ value: backupTime, until: 'impact-started', met: true, targetMs: 24 * 3600_000 });
    expect(report.recoveryPoint.lossMs).toBe(Date.parse(destroyedAt) - Date.parse(backupTime));
  });

  it('its post-mortem matches the golden file, times normalised', () => {
    const actual = normalise(readFileSync(join(clean.dir, 'postmortem.md'), 'utf8'), clean.dir);
    if (process.env.UPDATE_GOLDEN === '1' || !existsSync(GOLDEN)) {
      mkdirSync(dirname(GOLDEN), { recursive: true });
      writeFileSync(GOLDEN, actual);
      if (process.env.UPDATE_GOLDEN !== '1') throw new Error(`${GOLDEN} did not exist: written, review it and commit it`);
    }
    expect(actual, 'UPDATE_GOLDEN=1 rewrites it').toBe(readFileSync(GOLDEN, 'utf8'));
  });

  // Last: it changes the restored forge.
  it("the developers' clones push the lost commits again, through the forge URL, as the last step asks", () => {
    const lost = readFileSync(join(clean.dir, 'lost-commits.txt'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => l.split(' ') as [string, string]);
    for (const repo of new Set(lost.map(([r]) => r))) {
      execFileSync('git', ['-C', join(clean.dir, 'clones', repo), 'push', '-q', 'origin', '--all'], {
        env: { PATH: process.env.PATH, HOME: scratch, GIT_CONFIG_NOSYSTEM: '1' },
        stdio: 'pipe',
      });
    }
    for (const [repo, id] of lost) expect(git(join(clean.dir, 'forge-restored', `${repo}.git`), 'cat-file', '-t', id).trim()).toBe('commit');
  });
});

describe('the forge drill with a truncated bundle', () => {
  it('the check stops the walk (exit 1), and drbook undo --yes puts the forge URL back', () => {
    const setup = drill('broken', '--setup-only', '--break', 'app');
    expect(setup.status, setup.stderr).toBe(0);
    expect(setup.stderr).toMatch(/bundle of app truncated to \d+ of \d+ bytes/);
    const { dir } = setup;
    const env = environment(dir);
    const url = join(dir, 'forge-url');
    expect(readlinkSync(url)).toBe('forge');

    const vars = ['--var', 'backup_dir=backups', '--var', 'forge_root=forge-restored', '--var', 'forge_url=forge-url'];
    const run = drbook(dir, env, 'run', RUNBOOK, ...vars, '--yes');
    expect(run.status, run.stderr).toBe(1);
    expect(run.stderr).toContain(`BAD: backups/${basename(latestSet(dir))}/app.bundle`);
    expect(run.stderr).toContain('Aborted at verify-bundles: 5 done, 0 done by hand, 0 skipped, 1 failed');
    // Nothing restored; the URL shows the maintenance notice until someone undoes.
    expect(readdirSync(join(dir, 'forge-restored'))).toEqual([]);
    expect(readlinkSync(url)).toBe('forge-url.maintenance');

    const undo = drbook(dir, env, 'undo', '--yes');
    expect(undo.status, undo.stderr).toBe(0);
    expect(undo.stderr).toContain('Undo completed: 1 undone');
    expect(readlinkSync(url)).toBe('forge');

    const md = drbook(dir, env, 'export').stdout;
    expect(md).toContain('**Step 6/13: Check every bundle of the set**, attempt 1');
    expect(md).toMatch(/## Rolled back\n\n- \d{2}:\d{2} — Step 4\/13: Point the forge URL at the maintenance notice — undone/);
  });

  it('scripts/drill.sh --break runs that whole check itself', () => {
    const r = drill('broken-full', '--break', 'infra');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain('drill: the walk stopped on the truncated bundle (exit 1)');
    expect(r.stderr).toContain(`drill: drbook undo put the forge URL back: ${join(r.dir, 'forge-url')} -> forge`);
    expect(readlinkSync(join(r.dir, 'forge-url'))).toBe('forge');
  });
});

describe('the forge runbook walked by hand on backup sets the drill does not make', () => {
  it('a set with no hooks/ and no config/ (a forge without server-side hooks) restores, saying none were kept', () => {
    const setup = drill('no-hooks', '--setup-only');
    expect(setup.status, setup.stderr).toBe(0);
    const { dir } = setup;
    const set = latestSet(dir);
    rmSync(join(set, 'hooks'), { recursive: true });
    rmSync(join(set, 'config'), { recursive: true });
    const env = environment(dir);
    const vars = ['--var', 'backup_dir=backups', '--var', 'forge_root=forge-restored', '--var', 'forge_url=forge-url'];
    const run = drbook(dir, env, 'run', RUNBOOK, ...vars, '--yes');
    expect(run.status, run.stderr).toBe(0);
    const output = run.stdout + run.stderr;
    expect(output).not.toContain('too many arguments');
    expect(output).toContain('hooks: none kept in the set');
    expect(output).toContain('config: none kept in the set');
    expect(run.stderr).toContain('Run completed: 13 done, 0 done by hand, 0 skipped, 0 failed');
    expect(realpathSync(join(dir, 'forge-url'))).toBe(join(dir, 'forge-restored'));
  });
});

describe('the forge runbook refuses what it must not restore, and undo puts the forge URL back', () => {
  const cases: { name: string; step: string; message: RegExp; spoil: (dir: string, set: string) => void; kept?: (dir: string) => void }[] = [
    {
      name: 'a bundle corrupted in the middle, its size unchanged',
      step: 'Aborted at verify-bundles: 5 done',
      message: /BAD: backups\/\d{8}T\d{6}Z\/app\.bundle/,
      spoil: (_dir, set) => {
        const bundle = join(set, 'app.bundle');
        const bytes = readFileSync(bundle);
        bytes.fill(0x58, bytes.length >> 1, (bytes.length >> 1) + 8);
        writeFileSync(bundle, bytes);
      },
    },
    {
      name: 'a manifest that disagrees with the bundle on one ref',
      step: 'Aborted at compare-refs: 9 done',
      message: /refs differ in app:\n[\s\S]*< ref app 0{40} refs\/heads\/main/,
      spoil: (_dir, set) => {
        const manifest = join(set, 'manifest');
        writeFileSync(
          manifest,
          readFileSync(manifest, 'utf8').replace(/^ref app [0-9a-f]{40} refs\/heads\/main$/m, `ref app ${'0'.repeat(40)} refs/heads/main`),
        );
      },
    },
    {
      name: 'a forge root that already holds files',
      step: 'Aborted at prepare-root: 4 done',
      message: /forge-restored is not empty: give an empty or new directory/,
      spoil: (dir) => {
        mkdirSync(join(dir, 'forge-restored'));
        writeFileSync(join(dir, 'forge-restored', 'precious'), 'keep\n');
      },
      kept: (dir) =>
        expect(readdirSync(join(dir, 'forge-restored')).map((f) => [f, readFileSync(join(dir, 'forge-restored', f), 'utf8')])).toEqual([
          ['precious', 'keep\n'],
        ]),
    },
  ];
  for (const { name, step, message, spoil, kept } of cases) {
    it(name, () => {
      const setup = drill(`spoilt-${cases.findIndex((c) => c.name === name)}`, '--setup-only');
      expect(setup.status, setup.stderr).toBe(0);
      const { dir } = setup;
      spoil(dir, latestSet(dir));
      const env = environment(dir);
      const vars = ['--var', 'backup_dir=backups', '--var', 'forge_root=forge-restored', '--var', 'forge_url=forge-url'];
      const run = drbook(dir, env, 'run', RUNBOOK, ...vars, '--yes');
      expect(run.status, run.stderr).toBe(1);
      expect(run.stdout + run.stderr).toMatch(message);
      expect(run.stderr).toContain(step);
      expect(readlinkSync(join(dir, 'forge-url'))).toBe('forge-url.maintenance');
      const undo = drbook(dir, env, 'undo', '--yes');
      expect(undo.status, undo.stderr).toBe(0);
      expect(readlinkSync(join(dir, 'forge-url'))).toBe('forge');
      kept?.(dir);
    });
  }
});

describe('the forge runbook with a forge URL that is a real directory, not a symlink', () => {
  it('stops before writing anything into it', () => {
    const setup = drill('url-dir', '--setup-only');
    expect(setup.status, setup.stderr).toBe(0);
    const { dir } = setup;
    const url = join(dir, 'forge-url');
    rmSync(url);
    mkdirSync(url);
    writeFileSync(join(url, 'served'), 'live\n');
    const env = environment(dir);
    const vars = ['--var', 'backup_dir=backups', '--var', 'forge_root=forge-restored', '--var', 'forge_url=forge-url'];
    const run = drbook(dir, env, 'run', RUNBOOK, ...vars, '--yes');
    expect(run.status, run.stderr).toBe(1);
    expect(run.stdout + run.stderr).toContain('forge-url is not a symlink: move it aside');
    expect(run.stderr).toContain('Aborted at read-forge-url: 2 done');
    expect(readdirSync(url)).toEqual(['served']);
    expect(existsSync(join(dir, 'forge-url.maintenance'))).toBe(false);
  });
});
