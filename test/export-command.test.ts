/**
 * `drbook export` as a command: sessions found in DRBOOK_HOME, output to stdout or to a file
 * written atomically with mode 0600, and one clear error (exit 2) for each bad input.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { runExport } from '../src/commands/export.js';
import { DrbookError } from '../src/core/errors.js';

const root = dirname(fileURLToPath(import.meta.url));
const fixtures = join(root, 'fixtures', 'journals');
const golden = join(root, 'golden', 'export');

let home: string;
let savedHome: string | undefined;
let stdout: string;
let stderr: string;

/** Copies each fixture journal in as `<session id>.jsonl`, the way drbook stores them. */
function installFixtures(): Map<string, string> {
  const ids = new Map<string, string>();
  mkdirSync(join(home, 'sessions'), { recursive: true });
  for (const file of readdirSync(fixtures).filter((f) => f.endsWith('.jsonl'))) {
    const first = JSON.parse(readFileSync(join(fixtures, file), 'utf8').split('\n')[0]!) as { session: string };
    copyFileSync(join(fixtures, file), join(home, 'sessions', `${first.session}.jsonl`));
    ids.set(file.replace(/\.jsonl$/, ''), first.session);
  }
  return ids;
}

beforeEach(() => {
  home = mkdtempSync(join(tmpdir(), 'drbook-export-'));
  savedHome = process.env.DRBOOK_HOME;
  process.env.DRBOOK_HOME = home;
  stdout = '';
  stderr = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout += String(chunk);
    return true;
  });
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  });
});

afterEach(() => {
  vi.restoreAllMocks();
  if (savedHome === undefined) delete process.env.DRBOOK_HOME;
  else process.env.DRBOOK_HOME = savedHome;
  rmSync(home, { recursive: true, force: true });
});

async function usageError(run: Promise<number>): Promise<DrbookError> {
  const error = await run.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DrbookError);
  expect((error as DrbookError).exitCode).toBe(2);
  return error as DrbookError;
}

describe('drbook export', () => {
  it('prints the post-mortem of a session, compared with earlier sessions in DRBOOK_HOME', async () => {
    const ids = installFixtures();
    expect(await runExport(ids.get('completed-live'), {})).toBe(0);
    expect(stdout).toBe(readFileSync(join(golden, 'completed-live.md'), 'utf8'));
    expect(stderr).toBe('');
  });

  it('exports the latest session by default', async () => {
    const ids = installFixtures();
    const [latestName] = [...ids].sort((a, b) => (a[1] < b[1] ? 1 : -1))[0]!;
    await runExport(undefined, {});
    expect(stdout).toBe(readFileSync(join(golden, `${latestName}.md`), 'utf8'));
  });

  it('prints JSON with --format json and takes --tz', async () => {
    const ids = installFixtures();
    await runExport(ids.get('completed-live'), { format: 'json', tz: 'asia/tokyo' });
    const report = JSON.parse(stdout) as { format: string; version: number; timeZone: { name: string }; start: { local: string } };
    expect(report).toMatchObject({ format: 'drbook-export', version: 2, timeZone: { name: 'Asia/Tokyo' }, start: { local: '2026-03-11 17:05:12' } });
  });

  it('writes -o FILE atomically, mode 0600, replacing a file that was there', async () => {
    const ids = installFixtures();
    const out = join(home, 'pm.md');
    writeFileSync(out, 'old', { mode: 0o644 });
    expect(await runExport(ids.get('failed-edited'), { output: out })).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe(readFileSync(join(golden, 'failed-edited.md'), 'utf8'));
    expect(statSync(out).mode & 0o777).toBe(0o600);
    expect(readdirSync(home).filter((f) => f.includes('.tmp'))).toEqual([]);
    expect(stdout).toBe('');
  });

  it('says so when -o cannot be written, and leaves no temp file', async () => {
    const ids = installFixtures();
    const error = await usageError(runExport(ids.get('aborted'), { output: join(home, 'no', 'such', 'dir', 'pm.md') }));
    expect(error.message).toMatch(/^cannot write .*pm\.md: no such file or directory$/);
  });

  it('refuses an unknown --format and an unknown --tz zone, naming it', async () => {
    installFixtures();
    expect((await usageError(runExport(undefined, { format: 'pdf' }))).message).toBe('unknown --format "pdf": use md or json');
    expect((await usageError(runExport(undefined, { tz: 'Mars/Olympus_Mons' }))).message).toMatch(/^unknown time zone "Mars\/Olympus_Mons" for --tz/);
  });

  it('says when there is no such session, or none at all', async () => {
    expect((await usageError(runExport(undefined, {}))).message).toMatch(/no sessions yet/);
    installFixtures();
    expect((await usageError(runExport('19990101T000000Z-nothing', {}))).message).toMatch(/no session 19990101T000000Z-nothing/);
  });

  it('exports a journal with a torn last line, with the warning on stderr', async () => {
    const ids = installFixtures();
    const id = ids.get('aborted')!;
    const path = join(home, 'sessions', `${id}.jsonl`);
    writeFileSync(path, `${readFileSync(path, 'utf8')}{"v":1,"seq":19,"ts":"2026-06`);
    expect(await runExport(id, {})).toBe(0);
    expect(stdout).toBe(readFileSync(join(golden, 'aborted.md'), 'utf8'));
    expect(stderr).toMatch(/torn last line/);
  });

  it('refuses a file that is not a drbook session', async () => {
    mkdirSync(join(home, 'sessions'), { recursive: true });
    writeFileSync(
      join(home, 'sessions', '20260101T000000Z-x.jsonl'),
      '{"v":1,"seq":1,"ts":"2026-01-01T00:00:00.000Z","prev":null,"type":"note","text":"hi","by":"a","source":"cli"}\n',
    );
    expect((await usageError(runExport(undefined, {}))).message).toMatch(
      /the first event is note, not session.started: the journal.s beginning is missing.*refused/,
    );
  });
});

describe('drbook export --all', () => {
  it('prints the drill history of a runbook by id or by file', async () => {
    installFixtures();
    await runExport(undefined, { all: 'mail-server' });
    expect(stdout).toBe(readFileSync(join(golden, 'history-mail-server.md'), 'utf8'));
    stdout = '';
    await runExport(undefined, { all: 'runbooks/mail-server.yml', format: 'json' });
    expect(JSON.parse(stdout)).toMatchObject({ format: 'drbook-history', version: 2, runbook: { id: 'mail-server' } });
  });

  it('refuses an unknown runbook, and a session given with --all', async () => {
    installFixtures();
    expect((await usageError(runExport(undefined, { all: 'nope' }))).message).toMatch(/^no session of runbook "nope" in /);
    expect((await usageError(runExport('x', { all: 'mail-server' }))).message).toMatch(/not both/);
    expect(existsSync(join(home, 'sessions'))).toBe(true);
  });
});
