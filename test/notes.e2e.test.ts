/**
 * `drbook note` from other terminals: many writers appending to one session while its run
 * writes, and backdated notes (`--at`) that keep both when it happened and when it was
 * written.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileJournal } from '../src/adapters/file-journal.js';
import type { EventBody, JournalEvent } from '../src/core/journal-events.js';
import { parseJournal, verifyChain } from '../src/core/journal-parse.js';
import { parseNoteTime } from '../src/core/zone-time.js';
import { BIN, ensureBuilt, FIXTURES, runCli } from './helpers/run-cli.js';

const WRITER = join(FIXTURES, 'sessions', 'note-writer.mjs');

let scratch: string;
let counter = 0;

beforeAll(async () => {
  await ensureBuilt();
  scratch = mkdtempSync(join(tmpdir(), 'drbook-notes-'));
}, 180_000);

afterAll(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

function freshDir(): { dir: string; home: string } {
  const dir = join(scratch, `case-${++counter}`);
  mkdirSync(dir);
  return { dir, home: join(dir, 'home') };
}

interface Exit {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `node ARGS`, collecting its output; killed at the deadline. */
function node(args: string[], env: Record<string, string>, timeoutMs: number, cwd = scratch): Promise<Exit> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      cwd,
      env: { PATH: process.env.PATH ?? '', LANG: 'C.UTF-8', NO_COLOR: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
  });
}

async function waitUntil<T>(what: string, probe: () => T | undefined, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function onlyJournal(home: string): string | undefined {
  const sessions = join(home, 'sessions');
  if (!existsSync(sessions)) return undefined;
  const name = readdirSync(sessions).find((n) => n.endsWith('.jsonl'));
  return name === undefined ? undefined : join(sessions, name);
}

function events(path: string): JournalEvent[] {
  return parseJournal(readFileSync(path, 'utf8')).events;
}

describe('four writers, 2,000 notes, while a run writes', () => {
  it('keeps every note, every line whole, seq in file order and the chain intact', async () => {
    const { dir, home } = freshDir();
    const stop = join(dir, 'stop');
    // Steps that take 0.1 s each until told to stop, then go as fast as they can: the run
    // writes all the time the notes are written, and ends soon after.
    const steps = Array.from({ length: 150 }, (_, i) => `  - id: s${i + 1}\n    title: Step ${i + 1}\n    run: '[ -e "$DRBOOK_TEST_STOP" ] || sleep 0.1'\n`);
    const runbook = join(dir, 'busy.yml');
    writeFileSync(runbook, `drbook: 1\nid: busy\ntitle: A run that keeps writing\nsteps:\n${steps.join('')}`);
    const env = { DRBOOK_HOME: home, HOME: dir, DRBOOK_TEST_STOP: stop };
    const started = performance.now();
    const run = node([BIN, 'run', runbook, '--yes'], env, 120_000, dir);
    const path = await waitUntil('the journal of the run', () => onlyJournal(home));
    const id = path.replace(/^.*\//, '').replace(/\.jsonl$/, '');
    await waitUntil('the run to be walking', () => (events(path).length >= 10 ? true : undefined));

    // Writers 1 to 3: FileJournal, 500 notes each, the journal opened afresh for each note.
    // Writer 4: drbook's command line, 500 notes: 400 through its command tree in one
    // process, and 100 as separate `drbook note` processes, four terminals of 25 each.
    const writers = [
      node([WRITER, 'journal', path, 'w1', '500'], env, 90_000),
      node([WRITER, 'journal', path, 'w2', '500'], env, 90_000),
      node([WRITER, 'journal', path, 'w3', '500'], env, 90_000),
      node([WRITER, 'cli', id, 'w4-cli', '400'], env, 90_000),
      ...[1, 2, 3, 4].map(async (lane) => {
        for (let i = 1; i <= 25; i++) {
          const result = await node([BIN, 'note', '--session', id, `w4-bin${lane} ${i}`], env, 30_000);
          if (result.code !== 0) return result;
        }
        return { code: 0, stdout: `done w4-bin${lane} 25\n`, stderr: '' };
      }),
    ];
    const timed = writers.map(async (writer) => {
      const result = await writer;
      return { ...result, ms: performance.now() - started };
    });
    const results = await Promise.all(timed);
    const notesMs = performance.now() - started;
    for (const result of results) expect(result.code, result.stdout + result.stderr).toBe(0);
    writeFileSync(stop, '');
    const ran = await run;
    expect(ran.code, ran.stderr).toBe(0);

    const text = readFileSync(path, 'utf8');
    const lines = text.split('\n');
    expect(lines.pop()).toBe(''); // ends with a newline: no torn line
    // Every line is one whole JSON event.
    const all = lines.map((line, i) => {
      expect(() => JSON.parse(line), `line ${i + 1}`).not.toThrow();
      return JSON.parse(line) as JournalEvent;
    });
    const parsed = parseJournal(text);
    expect(parsed.bad).toEqual([]);
    expect(parsed.tornTail).toBeUndefined();
    expect(parsed.events).toHaveLength(all.length);
    // seq is 1..N in file order, across every writer.
    expect(all.map((e) => e.seq)).toEqual(all.map((_, i) => i + 1));
    expect(verifyChain(parsed).ok).toBe(true);

    // All 2,000 notes, each once.
    const notes = all.filter((e): e is Extract<JournalEvent, { type: 'note' }> => e.type === 'note');
    expect(notes).toHaveLength(2000);
    const expected = [
      ...['w1', 'w2', 'w3'].flatMap((w) => Array.from({ length: 500 }, (_, i) => `${w} ${i + 1}`)),
      ...Array.from({ length: 400 }, (_, i) => `w4-cli ${i + 1}`),
      ...[1, 2, 3, 4].flatMap((lane) => Array.from({ length: 25 }, (_, i) => `w4-bin${lane} ${i + 1}`)),
    ];
    expect(notes.map((n) => n.text).sort()).toEqual(expected.sort());

    // Timestamps: valid, within the test, and per writer in the order it wrote.
    const t0 = Date.parse(all[0]!.ts);
    for (const e of all) {
      expect(e.ts).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
      expect(Date.parse(e.ts)).toBeGreaterThanOrEqual(t0);
      expect(Date.parse(e.ts)).toBeLessThanOrEqual(Date.now());
    }
    const streams = new Map<string, JournalEvent[]>();
    for (const n of notes) {
      const stream = n.text.split(' ')[0]!;
      streams.set(stream, [...(streams.get(stream) ?? []), n]);
    }
    expect([...streams.keys()].sort()).toEqual(['w1', 'w2', 'w3', 'w4-bin1', 'w4-bin2', 'w4-bin3', 'w4-bin4', 'w4-cli']);
    for (const [stream, list] of streams) {
      // In file order, each writer's notes come in the order it wrote them, with times that never go back.
      expect(
        list.map((n) => Number((n as { text: string }).text.split(' ')[1])),
        stream,
      ).toEqual(list.map((_, i) => i + 1));
      for (let i = 1; i < list.length; i++) expect(Date.parse(list[i]!.ts), `${stream} note ${i + 1}`).toBeGreaterThanOrEqual(Date.parse(list[i - 1]!.ts));
    }
    // The notes of the command line name the step the run was on.
    expect(notes.filter((n) => n.text.startsWith('w4-') && n.step !== undefined).length).toBeGreaterThan(0);

    // The run wrote while the notes were written, and its own story is whole.
    const firstNote = notes[0]!.seq;
    const lastNote = notes[notes.length - 1]!.seq;
    const driverDuring = all.filter((e) => e.type !== 'note' && e.seq > firstNote && e.seq < lastNote);
    expect(driverDuring.length).toBeGreaterThan(50);
    const finished = all.filter((e) => e.type === 'step.finished');
    expect(finished).toHaveLength(150);
    expect(new Set(finished.map((e) => (e as { step: string }).step)).size).toBe(150);
    expect(all[all.length - 1]).toMatchObject({ type: 'session.ended', status: 'completed', done: 150 });

    const verify = await runCli(['verify', id, '--json'], { cwd: dir, env: { DRBOOK_HOME: home } });
    expect(verify.code, verify.stderr).toBe(0);
    expect(JSON.parse(verify.stdout)).toMatchObject({ ok: true, events: all.length, badLines: [], tornLastLine: false });
    process.stdout.write(
      `notes: 2000 notes by 4 writers (${streams.size} streams) and ${all.length - 2000} run events in ${all.length} lines; ` +
        `${driverDuring.length} run events between the first and the last note; notes written in ${Math.round(notesMs)} ms ` +
        `(writers done after ${results.map((r) => Math.round(r.ms)).join(', ')} ms)\n`,
    );
  }, 150_000);
});

/** A session that is open (interrupted: no driver, no end), written as drbook writes one. */
function openSession(home: string, tz: string, id = '20260311T090512Z-mail-server'): string {
  const journal = FileJournal.create(home, id);
  const started: EventBody = {
    type: 'session.started',
    session: id,
    runbook: { id: 'mail-server', title: 'Restore the mail server', path: '/nonexistent/mail-server.yml', sha256: 'f'.repeat(64), steps: 3 },
    mode: 'live',
    operator: { user: 'alice', host: 'laptop' },
    tz,
    tzOffsetMinutes: 60,
    drbook: '0.1.0',
    pid: 999_999,
  };
  journal.append(started);
  journal.append({ type: 'step.started', step: 'confirm-outage', index: 0, title: 'Confirm the outage' });
  journal.close();
  return journal.path;
}

describe('drbook note', () => {
  it('--at HH:MM keeps when it happened (at) and when it was written (ts), in the session zone', async () => {
    const { dir, home } = freshDir();
    const path = openSession(home, 'Europe/Paris');
    const before = Date.now();
    const result = await runCli(['note', '--at', '01:50', 'the', 'first', 'alert', 'came', 'at', '01:50'], {
      cwd: dir,
      env: { DRBOOK_HOME: home, TZ: 'America/New_York' },
    });
    expect(result.code, result.stderr).toBe(0);
    const note = events(path).at(-1)!;
    expect(note).toMatchObject({ type: 'note', text: 'the first alert came at 01:50', step: 'confirm-outage', source: 'cli' });
    if (note.type !== 'note') throw new Error('not a note');
    expect(note.by).toMatch(/^.+@.+$/);
    // ts: when it was written; at: 01:50 in the session's zone (Paris, not the terminal's New York).
    expect(Date.parse(note.ts)).toBeGreaterThanOrEqual(before - 1000);
    expect(note.at).toBe((parseNoteTime('01:50', new Date(note.ts), 'Europe/Paris') as Date).toISOString());
    expect(Date.parse(note.at!)).toBeLessThanOrEqual(Date.parse(note.ts));
    expect(result.stderr).toContain(`noted in 20260311T090512Z-mail-server at 01:50 (${note.at})`);
  });

  it('--at with an ISO time, with or without an offset', async () => {
    const { dir, home } = freshDir();
    const path = openSession(home, 'Europe/Paris');
    const env = { DRBOOK_HOME: home };
    expect((await runCli(['note', '--at', '2026-03-11T01:50:00+01:00', 'with an offset'], { cwd: dir, env })).code).toBe(0);
    expect((await runCli(['note', '--at', '2026-03-11 01:50', 'a Paris wall time'], { cwd: dir, env })).code).toBe(0);
    expect((await runCli(['note', '--at', '2025-07-14T22:00', 'summer time'], { cwd: dir, env })).code).toBe(0);
    const notes = events(path).filter((e) => e.type === 'note');
    expect(notes.map((n) => [(n as { text: string }).text, (n as { at?: string }).at])).toEqual([
      ['with an offset', '2026-03-11T00:50:00.000Z'],
      ['a Paris wall time', '2026-03-11T00:50:00.000Z'],
      ['summer time', '2025-07-14T20:00:00.000Z'],
    ]);
    for (const n of notes) expect(Date.parse(n.ts)).toBeGreaterThan(Date.parse((n as { at: string }).at));
  });

  it('refuses a time it cannot read, or in the future, and writes nothing', async () => {
    const { dir, home } = freshDir();
    const path = openSession(home, 'UTC');
    const size = readFileSync(path).length;
    for (const [at, message] of [
      ['25:00', '--at 25:00: not a time of day'],
      ['yesterday', '--at yesterday: give HH:MM, HH:MM:SS or an ISO time'],
      ['2026-02-30T10:00', '--at 2026-02-30T10:00: no such date'],
      ['2999-01-01T00:00Z', '--at 2999-01-01T00:00Z: that is in the future'],
    ] as const) {
      const result = await runCli(['note', '--at', at, 'text'], { cwd: dir, env: { DRBOOK_HOME: home } });
      expect(result.code, at).toBe(2);
      expect(result.stderr).toContain(`drbook: ${message}`);
      expect(result.stderr).not.toMatch(/^\s+at /m);
    }
    expect(readFileSync(path).length).toBe(size);
  });

  it('goes to the open session by default, to a finished one only with --session', async () => {
    const { dir, home } = freshDir();
    const env = { DRBOOK_HOME: home };
    const none = await runCli(['note', 'nothing to note to'], { cwd: dir, env });
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('no open session (running, paused or interrupted) to add the note to');

    const runbook = join(dir, 'one.yml');
    writeFileSync(runbook, 'drbook: 1\nid: one\ntitle: One step\nsteps:\n  - id: only\n    title: Only\n    run: "true"\n');
    expect((await runCli(['run', runbook, '--yes'], { cwd: dir, env })).code).toBe(0);
    const finished = onlyJournal(home)!;
    const id = finished.replace(/^.*\//, '').replace(/\.jsonl$/, '');
    const refused = await runCli(['note', 'after the end'], { cwd: dir, env });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('no open session (running, paused or interrupted)');
    const late = await runCli(['note', '--session', id, 'for the post-mortem'], { cwd: dir, env });
    expect(late.code, late.stderr).toBe(0);
    expect(events(finished).at(-1)).toMatchObject({ type: 'note', text: 'for the post-mortem', source: 'cli' });

    const open = openSession(home, 'UTC', '20990101T000000Z-mail-server');
    const ok = await runCli(['note', 'to', 'the', 'open', 'one'], { cwd: dir, env });
    expect(ok.code, ok.stderr).toBe(0);
    expect(events(open).at(-1)).toMatchObject({ type: 'note', text: 'to the open one', step: 'confirm-outage' });
    expect(events(finished).at(-1)).toMatchObject({ text: 'for the post-mortem' });
  });

  it('with two open sessions, names them and asks which one instead of picking one', async () => {
    const { dir, home } = freshDir();
    const env = { DRBOOK_HOME: home };
    const first = openSession(home, 'UTC', '20990101T000000Z-mail-server');
    const second = openSession(home, 'UTC', '20990101T000100Z-mail-server');
    const sizes = [first, second].map((path) => readFileSync(path).length);
    const refused = await runCli(['note', 'which one?'], { cwd: dir, env });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(
      '2 sessions are paused or interrupted (20990101T000000Z-mail-server, 20990101T000100Z-mail-server): say which one to add the note to with --session ID',
    );
    expect([first, second].map((path) => readFileSync(path).length)).toEqual(sizes);
    const named = await runCli(['note', '--session', '20990101T000000Z-mail-server', 'this one'], { cwd: dir, env });
    expect(named.code, named.stderr).toBe(0);
    expect(events(first).at(-1)).toMatchObject({ type: 'note', text: 'this one' });
  });
});
