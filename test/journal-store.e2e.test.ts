import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileJournal, readJournalFile } from '../src/adapters/file-journal.js';
import { acquireDriverLock, APPEND_LOCK_STALE_MS, appendLockPath, driverLockPath, readDriverLock } from '../src/adapters/file-lock.js';
import {
  ensureSessionsDir,
  listSessionIds,
  newSessionId,
  resolveSessionId,
  sessionJournalPath,
  sessionOutputDir,
  sessionsDir,
  stateHome,
} from '../src/adapters/state-home.js';
import { DrbookError } from '../src/core/errors.js';
import type { EventBody, JournalEvent } from '../src/core/journal-events.js';
import { hashLine, parseJournal, verifyChain } from '../src/core/journal-parse.js';
import type { Clock } from '../src/core/ports.js';

const root = resolve(import.meta.dirname, '..');
const writer = join(root, 'test', 'fixtures', 'journal-writer.mjs');
let scratch: string;
let counter = 0;

/** A fresh DRBOOK_HOME for one test. */
function freshHome(): string {
  return join(scratch, `home-${++counter}`);
}

function note(text: string): EventBody {
  return { type: 'note', text, by: 'tester', source: 'cli' };
}

function fileLines(path: string): string[] {
  const text = readFileSync(path, 'utf8');
  expect(text.endsWith('\n')).toBe(true);
  return text.slice(0, -1).split('\n');
}

function writerOf(e: JournalEvent): string {
  return e.type === 'note' ? e.by : 'parent';
}

function expectDrbookError(fn: () => unknown, pattern: RegExp): DrbookError {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(DrbookError);
  const error = caught as DrbookError;
  expect(error.exitCode).toBe(2);
  expect(error.message).toMatch(pattern);
  expect(error.message).not.toContain('\n');
  return error;
}

beforeAll(() => {
  // The child processes run the build, made once by test/global-setup.ts.
  for (const f of ['adapters/file-journal.js', 'adapters/file-lock.js', 'adapters/state-home.js']) {
    if (!existsSync(join(root, 'dist', f))) throw new Error(`the build did not produce dist/${f}`);
  }
  scratch = mkdtempSync(join(tmpdir(), 'drbook-journal-'));
});

afterAll(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

describe('state home', () => {
  it('follows DRBOOK_HOME, then XDG_STATE_HOME, then ~/.local/state', () => {
    expect(stateHome({ DRBOOK_HOME: '/srv/drbook', XDG_STATE_HOME: '/x' })).toBe('/srv/drbook');
    expect(stateHome({ XDG_STATE_HOME: '/x/state', HOME: '/home/op' })).toBe('/x/state/drbook');
    expect(stateHome({ XDG_STATE_HOME: 'relative', HOME: '/home/op' })).toBe('/home/op/.local/state/drbook');
    expect(stateHome({ HOME: '/home/op' })).toBe('/home/op/.local/state/drbook');
  });

  it('creates the sessions directory 0700, parents included', () => {
    const home = join(freshHome(), 'deep', 'er');
    const dir = ensureSessionsDir(home);
    expect(dir).toBe(sessionsDir(home));
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(ensureSessionsDir(home)).toBe(dir);
  });

  it('explains an unusable home in one line, naming the path and DRBOOK_HOME', () => {
    const file = join(scratch, 'a-file');
    writeFileSync(file, 'x');
    const error = expectDrbookError(() => ensureSessionsDir(join(file, 'home')), /DRBOOK_HOME/);
    expect(error.message).toContain(join(file, 'home', 'sessions'));
    // Node's recursive mkdir spins forever here; ours must fail at once.
    expectDrbookError(() => ensureSessionsDir('/proc/self/drbook-test'), /sessions directory/);
  });

  it('names sessions by UTC start and runbook, -2, -3 on a collision', () => {
    const home = freshHome();
    const now = new Date('2026-03-11T09:05:12.345Z');
    const first = newSessionId('mail-server', now, home);
    expect(first).toBe('20260311T090512Z-mail-server');
    FileJournal.create(home, first).close();
    const second = newSessionId('mail-server', now, home);
    expect(second).toBe('20260311T090512Z-mail-server-2');
    FileJournal.create(home, second).close();
    expect(newSessionId('mail-server', now, home)).toBe('20260311T090512Z-mail-server-3');
    // An output directory alone also takes the name.
    mkdirSync(join(sessionsDir(home), '20260311T090512Z-mail-server-3'));
    expect(newSessionId('mail-server', now, home)).toBe('20260311T090512Z-mail-server-4');
    expect(newSessionId('mail-server', new Date('2026-03-11T09:05:13Z'), home)).toBe('20260311T090513Z-mail-server');
    expectDrbookError(() => FileJournal.create(home, first), /already exists/);
  });

  it('lists sessions oldest first, -10 after -9', () => {
    const home = freshHome();
    const ids = ['20260311T090512Z-a', '20260311T090512Z-a-10', '20260311T090512Z-a-9', '20250101T000000Z-b', '20260311T090511Z-c'];
    for (const id of ids) FileJournal.create(home, id).close();
    expect(listSessionIds(home)).toEqual(['20250101T000000Z-b', '20260311T090511Z-c', '20260311T090512Z-a', '20260311T090512Z-a-9', '20260311T090512Z-a-10']);
    expect(listSessionIds(freshHome())).toEqual([]);
  });

  it('resolves a session by id, prefix, path, runbook id or as the latest matching', () => {
    const home = freshHome();
    const start = (id: string, runbook: string, ended: boolean): void => {
      const j = FileJournal.create(home, id);
      j.append({
        type: 'session.started',
        session: id,
        runbook: { id: runbook, title: runbook, path: `/rb/${runbook}.yaml`, sha256: 'a'.repeat(64), steps: 1 },
        mode: 'live',
        operator: { user: 'op', host: 'h' },
        tz: 'UTC',
        tzOffsetMinutes: 0,
        drbook: '0.1.0',
        pid: 1,
      });
      if (ended) j.append({ type: 'session.ended', status: 'completed', done: 1, skipped: 0, failed: 0, markedDone: 0, durationMs: 5 });
      j.close();
    };
    start('20260310T080000Z-db', 'db', false);
    start('20260311T090000Z-db-2', 'db-2', true);
    start('20260311T090000Z-db', 'db', true);
    start('20260312T100000Z-mail', 'mail', true);

    expect(resolveSessionId(home)).toBe('20260312T100000Z-mail');
    const unfinished = (s: { status: string }): boolean => s.status !== 'completed' && s.status !== 'aborted';
    expect(resolveSessionId(home, undefined, unfinished)).toBe('20260310T080000Z-db');
    expect(resolveSessionId(home, '20260311T090000Z-db')).toBe('20260311T090000Z-db');
    expect(resolveSessionId(home, '20260312')).toBe('20260312T100000Z-mail');
    expectDrbookError(() => resolveSessionId(home, '20260311'), /ambiguous.*20260311T090000Z-db/);
    // The filter settles an ambiguous prefix.
    expect(resolveSessionId(home, '2026031', unfinished)).toBe('20260310T080000Z-db');
    // A runbook id: its latest session, and `db` is not runbook `db-2`.
    expect(resolveSessionId(home, 'db')).toBe('20260311T090000Z-db');
    expect(resolveSessionId(home, 'db-2')).toBe('20260311T090000Z-db-2');
    expect(resolveSessionId(home, sessionJournalPath(home, '20260310T080000Z-db'))).toBe('20260310T080000Z-db');
    expectDrbookError(() => resolveSessionId(home, 'nope'), /no session nope/);
    expectDrbookError(() => resolveSessionId(home, undefined, () => false), /no matching session/);
    expectDrbookError(() => resolveSessionId(freshHome()), /no sessions yet/);

    // A journal kept elsewhere is named by its path, which the path helpers accept.
    const elsewhere = join(scratch, 'copied.jsonl');
    writeFileSync(elsewhere, readFileSync(sessionJournalPath(home, '20260310T080000Z-db')));
    const id = resolveSessionId(home, elsewhere);
    expect(sessionJournalPath(home, id)).toBe(elsewhere);
    expect(sessionOutputDir(home, id)).toBe(join(scratch, 'copied'));
  });
});

describe('FileJournal', () => {
  it('creates the journal 0600 and the output directory 0700', () => {
    const home = freshHome();
    const j = FileJournal.create(home, 's1');
    expect(j.path).toBe(join(home, 'sessions', 's1.jsonl'));
    expect(j.sessionId).toBe('s1');
    expect(j.outputDir).toBe(join(home, 'sessions', 's1'));
    expect(statSync(j.path).mode & 0o777).toBe(0o600);
    expect(statSync(j.outputDir).mode & 0o777).toBe(0o700);
    expect(statSync(sessionsDir(home)).mode & 0o777).toBe(0o700);
    j.close();
    j.close();
  });

  it('chains seq and prev across appends and across two writers of one file', () => {
    let t = Date.parse('2026-03-11T09:05:12.000Z');
    const clock: Clock = { now: () => new Date((t += 1500)), monotonic: () => 0 };
    const a = FileJournal.create(freshHome(), 's', clock);
    const e1 = a.append(note('one'));
    expect(e1).toMatchObject({ v: 1, seq: 1, ts: '2026-03-11T09:05:13.500Z', prev: null, type: 'note', text: 'one' });
    // Meta keys first, as documented.
    expect(Object.keys(e1).slice(0, 5)).toEqual(['v', 'seq', 'ts', 'prev', 'type']);
    const b = FileJournal.open(a.path, clock);
    const e2 = b.append(note('two'));
    const e3 = a.append(note('three'));
    const e4 = a.append(note('four'));
    const e5 = b.append(note('five'));
    const lines = fileLines(a.path);
    expect(lines.map((l) => (JSON.parse(l) as JournalEvent).seq)).toEqual([1, 2, 3, 4, 5]);
    expect([e2.prev, e3.prev, e4.prev, e5.prev]).toEqual(lines.slice(0, 4).map(hashLine));
    expect(lines[0]).toBe(JSON.stringify(e1));
    expect(verifyChain(parseJournal(readFileSync(a.path, 'utf8'))).ok).toBe(true);
    a.close();
    b.close();
  });

  it('detects a tampered middle line at the line after it', () => {
    const j = FileJournal.create(freshHome(), 's');
    for (let i = 1; i <= 5; i++) j.append(note(`note ${i}`));
    j.close();
    const before = readJournalFile(j.path);
    expect(verifyChain(before)).toMatchObject({ ok: true, finalHash: hashLine(before.lines[4]!) });
    expect(before.warnings).toEqual([]);

    writeFileSync(j.path, readFileSync(j.path, 'utf8').replace('"note 3"', '"note 3, edited"'));
    const after = readJournalFile(j.path);
    expect(verifyChain(after)).toMatchObject({ ok: false, brokenAt: 4, brokenLine: 4 });
    expect(after.warnings).toEqual([
      `${j.path}:4: warning: the hash chain breaks here: a line before it was changed, removed or inserted after it was written`,
    ]);
  });

  it('ignores a torn last line with a warning, and the next append starts on a fresh line', () => {
    const j = FileJournal.create(freshHome(), 's');
    for (let i = 1; i <= 3; i++) j.append(note(`note ${i}`));
    const torn = JSON.stringify({ v: 1, seq: 4, ts: '2026-03-11T09:05:12.000Z', prev: null, type: 'note', text: 'cut' }).slice(0, 40);
    appendFileSync(j.path, torn);
    const before = readFileSync(j.path, 'utf8');

    const read = readJournalFile(j.path);
    expect(read.events).toHaveLength(3);
    expect(read.tornTail).toEqual({ line: 4, bytes: 40 });
    expect(read.warnings).toEqual([`${j.path}:4: warning: ignored a torn last line (40 bytes), probably cut by a crash`]);
    // Reading never repairs.
    expect(readFileSync(j.path, 'utf8')).toBe(before);

    // The same writer (its cached end is stale) and a fresh one both see the torn line.
    const e4 = j.append(note('after the crash'));
    expect(e4.seq).toBe(4);
    expect(e4.prev).toBe(hashLine(read.lines[2]!));
    const other = FileJournal.open(j.path);
    const e5 = other.append(note('from elsewhere'));
    expect(e5.seq).toBe(5);
    other.close();
    j.close();

    const text = readFileSync(j.path, 'utf8');
    expect(text.startsWith(before + '\n')).toBe(true);
    const lines = fileLines(j.path);
    expect(lines[3]).toBe(torn);
    expect(lines).toHaveLength(6);
    const parsed = readJournalFile(j.path);
    expect(parsed.events.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(parsed.tornTail).toBeUndefined();
    expect(parsed.bad).toEqual([{ line: 4, reason: 'not valid JSON' }]);
    expect(verifyChain(parsed).ok).toBe(true);
  });

  it('chains after a torn line even when the whole file is one torn line', () => {
    const home = freshHome();
    const path = sessionJournalPath(home, 's');
    ensureSessionsDir(home);
    writeFileSync(path, '{"v":1,"seq":1,');
    const j = FileJournal.open(path);
    expect(j.append(note('first real'))).toMatchObject({ seq: 1, prev: null });
    j.close();
    expect(readFileSync(path, 'utf8')).toMatch(/^\{"v":1,"seq":1,\n\{"v":1,"seq":1,"ts":/);
  });

  it('finds the last line of a long journal whose lines span read chunks', () => {
    const j = FileJournal.create(freshHome(), 's');
    const big = 'x'.repeat(150_000);
    j.append(note(big));
    j.append(note(`é ${big}`));
    const other = FileJournal.open(j.path);
    const e = other.append(note('after'));
    expect(e.seq).toBe(3);
    expect(e.prev).toBe(hashLine(fileLines(j.path)[1]!));
    expect(verifyChain(readJournalFile(j.path)).ok).toBe(true);
    j.close();
    other.close();
  });

  it('keeps every line whole and the chain one chain with 5 processes appending at once', async () => {
    const j = FileJournal.create(freshHome(), 'busy');
    const writers = ['w1', 'w2', 'w3', 'w4'];
    const perWriter = 500;
    const done = writers.map(
      (w) =>
        new Promise<{ code: number | null; stderr: string }>((resolveDone) => {
          const child = spawn(process.execPath, [writer, 'append', j.path, w, String(perWriter)], { stdio: ['ignore', 'ignore', 'pipe'] });
          let stderr = '';
          child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
          child.on('exit', (code) => resolveDone({ code, stderr }));
        }),
    );
    let parentCount = 0;
    let running = true;
    void Promise.all(done).then(() => (running = false));
    while (running || parentCount < 50) {
      j.append({ type: 'decision', question: 'parent', answer: String(parentCount++) });
      if (parentCount % 10 === 0) {
        // Readers take no lock; a line being written must not show as torn to them.
        const midway = readJournalFile(j.path);
        expect(midway.warnings).toEqual([]);
        expect(verifyChain(midway).ok).toBe(true);
      }
      await new Promise((r) => setTimeout(r, 1));
    }
    const results = await Promise.all(done);
    for (const r of results) expect(r).toEqual({ code: 0, stderr: '' });
    j.close();

    const lines = fileLines(j.path);
    expect(lines).toHaveLength(writers.length * perWriter + parentCount);
    const events = lines.map((l) => JSON.parse(l) as JournalEvent);
    events.forEach((e, i) => expect(e.seq).toBe(i + 1));
    for (const w of writers) {
      const mine = events.filter((e) => e.type === 'note' && e.by === w);
      expect(mine.map((e) => (e.type === 'note' ? e.text : ''))).toEqual(Array.from({ length: perWriter }, (_, i) => `${w} ${i}`));
      for (let i = 1; i < mine.length; i++) expect(mine[i]!.ts >= mine[i - 1]!.ts).toBe(true);
    }
    let switches = 0;
    for (let i = 1; i < events.length; i++) if (writerOf(events[i]!) !== writerOf(events[i - 1]!)) switches++;
    // The writers did take turns: this test exercised concurrency, not five queued runs.
    expect(switches).toBeGreaterThan(8);
    const parsed = readJournalFile(j.path);
    expect(parsed.warnings).toEqual([]);
    expect(verifyChain(parsed).ok).toBe(true);
    expect(existsSync(appendLockPath(j.path))).toBe(false);
  });

  it('breaks an append lock left by a dead process, or one older than the stale age', () => {
    const j = FileJournal.create(freshHome(), 's');
    const dead = spawnSync(process.execPath, ['-e', '0']).pid;
    writeFileSync(appendLockPath(j.path), JSON.stringify({ pid: dead, host: hostname(), since: new Date().toISOString() }));
    // A holder believed alive would be waited for until the stale age (minutes), far past
    // this test's timeout: returning at all shows the dead holder's lock was broken at once.
    j.append(note('past a dead holder'));

    // A live holder (this very process, as far as the file says) that has held it too long.
    writeFileSync(appendLockPath(j.path), JSON.stringify({ pid: process.pid, host: hostname(), since: new Date().toISOString() }));
    const old = new Date(Date.now() - APPEND_LOCK_STALE_MS - 10_000);
    utimesSync(appendLockPath(j.path), old, old);
    j.append(note('past an old lock'));
    expect(existsSync(appendLockPath(j.path))).toBe(false);
    expect(readJournalFile(j.path).events).toHaveLength(2);
    j.close();
  });

  it('fails with exit 2 and one line when the disk is full, leaving no lock behind', () => {
    const home = freshHome();
    const path = join(ensureSessionsDir(home), 'full.jsonl');
    symlinkSync('/dev/full', path);
    const j = FileJournal.open(path);
    expectDrbookError(() => j.append(note('lost')), /cannot write to the journal .*full\.jsonl: no space left/);
    expect(existsSync(appendLockPath(path))).toBe(false);
    j.close();
  });

  it('fails with exit 2 on a closed or broken descriptor, a directory, a path under a file', () => {
    const j = FileJournal.create(freshHome(), 's');
    j.close();
    expectDrbookError(() => j.append(note('late')), /closed/);

    const k = FileJournal.create(freshHome(), 's');
    // An invalid descriptor (EBADF) without closing one that something else may now own.
    (k as unknown as { fd: number }).fd = 987_654;
    expectDrbookError(() => k.append(note('x')), /cannot write to the journal/);

    const dir = join(scratch, `dir-${++counter}.jsonl`);
    mkdirSync(dir);
    expectDrbookError(() => FileJournal.open(dir), /cannot write to the journal .*is a directory/);
    expectDrbookError(() => FileJournal.open(join(scratch, 'missing.jsonl')), /no journal at/);

    const file = join(scratch, `plain-${++counter}`);
    writeFileSync(file, '');
    expectDrbookError(() => FileJournal.create(join(file, 'home'), 's'), /not a directory.*DRBOOK_HOME|DRBOOK_HOME/);
    expectDrbookError(() => readJournalFile(join(file, 'x.jsonl')), /cannot read the journal/);
  });

  it('fails with exit 2 in a read-only directory', (ctx) => {
    const home = freshHome();
    const j = FileJournal.create(home, 's');
    j.append(note('before'));
    const dir = sessionsDir(home);
    // chmod does not stop root: as root, make the directory a read-only bind mount of itself.
    const asRoot = process.getuid?.() === 0;
    try {
      if (asRoot) execFileSync('mount', ['--bind', '-o', 'ro', dir, dir], { stdio: 'pipe' });
      else execFileSync('chmod', ['0500', dir]);
    } catch {
      j.close();
      ctx.skip();
    }
    try {
      // A writer that was already open cannot take the append lock any more.
      expectDrbookError(() => j.append(note('after')), /cannot lock the journal s\.jsonl: .*(read-only|permission denied)/);
      if (asRoot) expectDrbookError(() => FileJournal.open(j.path), /cannot write to the journal .*read-only file system/);
      expectDrbookError(() => FileJournal.create(home, 's2'), /cannot write to the journal .*s2\.jsonl: (read-only|permission denied)/);
      // Reading still works.
      expect(readJournalFile(j.path).events).toHaveLength(1);
    } finally {
      if (asRoot) execFileSync('umount', [dir]);
      else execFileSync('chmod', ['0700', dir]);
      j.close();
    }
  });

  it('warns about a journal written by a newer format', () => {
    const j = FileJournal.create(freshHome(), 's');
    j.append(note('v1'));
    j.close();
    appendFileSync(j.path, JSON.stringify({ v: 2, seq: 2, ts: '2030-01-01T00:00:00.000Z', prev: null, type: 'hologram' }) + '\n');
    const read = readJournalFile(j.path);
    expect(read.warnings.some((w) => w.includes('journal format 2 by a newer drbook'))).toBe(true);
  });
});

describe('driver lock', () => {
  function holdLock(path: string): Promise<{ pid: number; kill: () => Promise<void> }> {
    return new Promise((resolveHeld, reject) => {
      const child = spawn(process.execPath, [writer, 'hold-lock', path], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.stdout.on('data', (d: Buffer) => {
        if (d.toString().includes('locked')) {
          resolveHeld({
            pid: child.pid!,
            kill: () =>
              new Promise((resolveKilled) => {
                child.on('exit', () => resolveKilled());
                child.kill('SIGKILL');
              }),
          });
        }
      });
      child.on('exit', (code) => reject(new Error(`holder exited ${code}: ${stderr}`)));
    });
  }

  it('refuses while a live process drives the session, takes over once it died', async () => {
    const j = FileJournal.create(freshHome(), '20260311T090512Z-mail');
    const holder = await holdLock(j.path);
    try {
      expectDrbookError(
        () => acquireDriverLock(j.path),
        new RegExp(`session 20260311T090512Z-mail is being driven by pid ${holder.pid} on host ${hostname()}`),
      );
      expect(readDriverLock(j.path)).toMatchObject({ pid: holder.pid, host: hostname(), alive: true });
    } finally {
      await holder.kill();
    }
    // kill -9: the holder could not clean up.
    expect(readDriverLock(j.path)).toMatchObject({ pid: holder.pid, alive: false });
    const lock = acquireDriverLock(j.path);
    expect(lock.tookOverFrom).toEqual({ pid: holder.pid, host: hostname() });
    expect(readDriverLock(j.path)).toMatchObject({ pid: process.pid, alive: true });
    // This process cannot drive it twice either.
    expectDrbookError(() => acquireDriverLock(j.path), new RegExp(`pid ${process.pid}`));
    lock.release();
    lock.release();
    expect(existsSync(driverLockPath(j.path))).toBe(false);
    expect(readDriverLock(j.path)).toBeUndefined();
    j.close();
  });

  it('takes over from a pid that has exited', () => {
    const j = FileJournal.create(freshHome(), 's');
    const dead = spawnSync(process.execPath, ['-e', '0']).pid;
    writeFileSync(driverLockPath(j.path), JSON.stringify({ pid: dead, host: hostname(), since: '2026-03-11T09:05:12.000Z' }));
    const lock = acquireDriverLock(j.path);
    expect(lock.tookOverFrom).toEqual({ pid: dead, host: hostname() });
    const held = JSON.parse(readFileSync(driverLockPath(j.path), 'utf8')) as { pid: number; host: string; since: string };
    expect(held).toMatchObject({ pid: process.pid, host: hostname() });
    expect(Number.isNaN(Date.parse(held.since))).toBe(false);
    lock.release();
    j.close();
  });

  it('refuses another host unless forced, and says how to force', () => {
    const j = FileJournal.create(freshHome(), 's');
    writeFileSync(driverLockPath(j.path), JSON.stringify({ pid: 4242, host: 'other.example', since: '2026-03-11T09:05:12.000Z' }));
    expectDrbookError(() => acquireDriverLock(j.path), /driven by pid 4242 on host other\.example since 2026-03-11T09:05:12\.000Z.*--force/);
    expect(readDriverLock(j.path)).toMatchObject({ pid: 4242, host: 'other.example', alive: true });
    const lock = acquireDriverLock(j.path, { force: true });
    expect(lock.tookOverFrom).toEqual({ pid: 4242, host: 'other.example' });
    lock.release();
    j.close();
  });

  it('releases only a lock that is still its own', () => {
    const j = FileJournal.create(freshHome(), 's');
    const lock = acquireDriverLock(j.path);
    // Someone forced it over meanwhile.
    const theirs = JSON.stringify({ pid: 4242, host: 'other.example', since: '2026-03-11T09:05:12.000Z' });
    writeFileSync(driverLockPath(j.path), theirs);
    lock.release();
    expect(readFileSync(driverLockPath(j.path), 'utf8')).toBe(theirs);
    j.close();
  });
});
