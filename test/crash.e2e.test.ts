/**
 * Sessions that survive a `kill -9`: a real `drbook run --yes` of a runbook with quick and
 * sleeping steps is killed at 20 chosen instants (before, between and during commands,
 * inside journal appends, with a command left running, with a torn last line), then
 * `drbook resume --yes` finishes each session. Every instant is a condition, never a
 * timer: test/fixtures/sessions/kill-at.mjs holds the journal's append lock and lets drbook
 * write one line at a time, or waits for the command's own "start" mark.
 *
 * After each resume: the session completed; each step is journaled finished exactly once,
 * as done; a command that was in flight is closed as such and answered; a command that had
 * succeeded is not run again; a command left running is waited for, never run beside
 * itself; seq runs 1..n; the hash chain verifies, a dropped torn line being reported.
 */
import { execFile } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSessionSummary } from '../src/adapters/state-home.js';
import type { JournalEvent } from '../src/core/journal-events.js';
import { hashLine, parseJournal } from '../src/core/journal-parse.js';
import { ensureBuilt, FIXTURES, runCli, type CliResult } from './helpers/run-cli.js';

const SESSIONS = join(FIXTURES, 'sessions');
const RUNBOOK = join(SESSIONS, 'crash.yml');
const KILL_AT = join(SESSIONS, 'kill-at.mjs');
const STEPS = ['begin', 'nap-a', 'look', 'nap-b', 'end'] as const;
const NAPS = ['nap-a', 'nap-b'] as const;

/** The uninterrupted journal of crash.yml, line by line: what a kill after line N leaves. */
const LAYOUT: Record<number, string> = {
  1: 'session.started',
  2: 'step.started', // begin
  3: 'command.started',
  4: 'command.spawned',
  5: 'command.finished',
  6: 'step.finished',
  7: 'var.set', // nap, before nap-a starts
  8: 'step.started', // nap-a
  9: 'command.started', // drbook is in the fsync of this line: the process does not exist yet
  10: 'command.spawned',
  11: 'command.finished',
  12: 'step.finished',
  13: 'step.started', // look, a manual step with a confirmation
  14: 'decision',
  15: 'step.finished',
  25: 'step.finished', // end: every step done, session.ended not written
};

interface Scenario {
  name: string;
  mode: 'lines' | 'spawn' | 'marks';
  arg: string;
  /** The killed drbook's command runs on until resume has found it and waits for it. */
  orphan?: boolean;
  /** Half of the next line is appended after the kill: a write cut by the crash. */
  torn?: boolean;
}

const SCENARIOS: Scenario[] = [
  ...Array.from({ length: 15 }, (_, i): Scenario => ({ name: `after journal line ${i + 1} (${LAYOUT[i + 1]})`, mode: 'lines', arg: String(i + 1) })),
  { name: 'after every step, before session.ended', mode: 'lines', arg: '25' },
  { name: 'nap-a running, its pid not journaled yet (inside the command.spawned append)', mode: 'spawn', arg: 'nap-a', orphan: true },
  { name: 'nap-a running, mid-sleep', mode: 'marks', arg: 'nap-a', orphan: true },
  { name: 'nap-b running, mid-sleep', mode: 'marks', arg: 'nap-b', orphan: true },
  { name: 'after line 11, then half of line 12 torn by the crash', mode: 'lines', arg: '11', torn: true },
];

interface KillResult {
  mode: string;
  target: string | number;
  lines: number;
  journal: string;
  pid: number;
  last: string | null;
  commandPid?: number;
  ms: number;
}

interface Mark {
  kind: 'start' | 'end';
  step: string;
  pid: number;
  ns: bigint;
}

let scratch: string;
const report: string[] = [];
/** Release files of commands held running: all let go at the end, whatever happened. */
const releases: string[] = [];

beforeAll(async () => {
  await ensureBuilt();
  scratch = mkdtempSync(join(tmpdir(), 'drbook-crash-'));
}, 180_000);

afterAll(() => {
  for (const release of releases) if (existsSync(join(release, '..'))) writeFileSync(release, '');
  if (scratch) rmSync(scratch, { recursive: true, force: true });
  if (report.length > 0) process.stdout.write(`crash instants (kill → resume):\n${report.sort().join('\n')}\n`);
});

function killAt(scenario: Scenario, home: string, marks: string, release: string): Promise<KillResult> {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: home,
    DRBOOK_HOME: home,
    DRBOOK_TEST_MARKS: marks,
    NO_COLOR: '1',
    LANG: 'C.UTF-8',
    DRBOOK_TEST_FSYNC_MS: '5',
  };
  if (scenario.orphan) {
    env.DRBOOK_TEST_HOLD = release;
    env.DRBOOK_TEST_HOLD_STEP = scenario.arg;
  }
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [KILL_AT, RUNBOOK, scenario.mode, scenario.arg], { env, timeout: 30_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`kill-at.mjs ${scenario.mode} ${scenario.arg} failed: ${stderr || error.message}`));
      else resolve(JSON.parse(stdout) as KillResult);
    });
  });
}

/** Whether the kill came exactly at the instant asked for (the gate lets a line slip through on rare occasions). */
function exact(scenario: Scenario, kill: KillResult): boolean {
  if (scenario.mode === 'lines') return kill.lines === Number(scenario.arg);
  if (scenario.mode === 'spawn') return kill.last === 'command.started';
  return kill.last === 'command.spawned';
}

function readEvents(path: string): { text: string; events: JournalEvent[] } {
  const text = readFileSync(path, 'utf8');
  return { text, events: parseJournal(text).events };
}

function readMarks(path: string): Mark[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      const [kind, step, pid, ns] = l.split(' ');
      return { kind: kind as Mark['kind'], step: step!, pid: Number(pid), ns: BigInt(ns!) };
    });
}

function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/** Half of the line drbook would have written next (a step.finished), cut mid-way as a crash would. */
function tornLine(lastLine: string, lastEvent: JournalEvent): string {
  const next = JSON.stringify({
    v: 1,
    seq: lastEvent.seq + 1,
    ts: new Date().toISOString(),
    prev: hashLine(lastLine),
    type: 'step.finished',
    step: 'nap-a',
    index: 1,
    outcome: 'done',
    durationMs: 312,
  });
  return next.slice(0, Math.floor(next.length / 2));
}

describe('kill -9 at 20 instants, then resume --yes', () => {
  it.concurrent.each(SCENARIOS.map((s) => [s.name, s] as const))(
    '%s',
    async (_name, scenario) => {
      const t0 = performance.now();
      // 1. Kill drbook at the instant. A rare run where the gate was outpaced, or where
      // drbook could not start (dist/ rebuilt under it by a concurrent build), is redone.
      let kill: KillResult | undefined;
      let home = '';
      let marks = '';
      let release = '';
      let lastError: unknown;
      for (let attempt = 1; attempt <= 6 && (kill === undefined || !exact(scenario, kill)); attempt++) {
        const dir = mkdtempSync(join(scratch, 'case-'));
        home = join(dir, 'home');
        marks = join(dir, 'marks');
        release = join(dir, 'release');
        releases.push(release);
        kill = await killAt(scenario, home, marks, release).catch((error: unknown) => {
          lastError = error;
          return undefined;
        });
      }
      if (kill === undefined) throw lastError;
      expect(kill).toBeDefined();
      const k = kill!;
      expect(exact(scenario, k), `killed at line ${k.lines} (${k.last ?? 'empty'})`).toBe(true);
      if (scenario.mode === 'lines') expect(k.last).toBe(LAYOUT[k.lines]);
      const id = k.journal.replace(/^.*\//, '').replace(/\.jsonl$/, '');

      const before = readEvents(k.journal);
      const beforeLines = before.text.split('\n').filter((l) => l !== '');
      expect(beforeLines).toHaveLength(k.lines);
      // The killed drbook left its driver lock behind; its process is gone: interrupted.
      expect(loadSessionSummary(home, id).status).toBe('interrupted');
      const finishedOkBefore = new Set(before.events.filter((e) => e.type === 'command.finished' && e.ok).map((e) => (e as { step: string }).step));
      const openBefore = inFlight(before.events);

      if (scenario.torn) appendFileSync(k.journal, tornLine(beforeLines[beforeLines.length - 1]!, before.events[before.events.length - 1]!));
      if (scenario.orphan) {
        // The command outlived drbook: resume must find it still running and wait for it.
        expect(k.commandPid).toBeDefined();
        expect(alive(k.commandPid!)).toBe(true);
      }

      // 2. Resume, taking every default. A command spawned before the kill lives on in its
      // own session and may not have written its start mark yet on a loaded machine: wait for
      // it, so that the runs counted below as the resume's are the resume's.
      const spawnedNap = openBefore?.pid !== undefined && (NAPS as readonly string[]).includes(openBefore.step) ? openBefore.step : undefined;
      if (spawnedNap !== undefined) await waitUntil(() => readMarks(marks).some((m) => m.step === spawnedNap && m.kind === 'start'), 10_000);
      const resumeBegan = BigInt(Date.now()) * 1_000_000n;
      const resuming = runCli(['resume', '--yes'], { cwd: join(home, '..'), env: { DRBOOK_HOME: home, DRBOOK_TEST_MARKS: marks }, timeoutMs: 25_000 });
      if (scenario.orphan) {
        // The command is let go once resume has journaled that it waits for it.
        await waitUntil(() => readEvents(k.journal).events.some((e) => e.type === 'decision' && e.answer === 'wait'), 20_000);
        writeFileSync(release, '');
      }
      const resumed: CliResult = await resuming;
      const out = resumed.stdout + resumed.stderr;
      expect(resumed.code, out).toBe(0);
      expect(out).toContain(`took over the session from drbook pid ${k.pid}`);

      // 3. The journal tells one complete, consistent story.
      const after = readEvents(k.journal);
      const parsed = parseJournal(after.text);
      const events = parsed.events;
      expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
      const last = events[events.length - 1]!;
      expect(last.type).toBe('session.ended');
      expect(last).toMatchObject({ status: 'completed', done: 5, skipped: 0, failed: 0, markedDone: 0 });
      expect(events.filter((e) => e.type === 'session.resumed')).toHaveLength(1);
      for (const step of STEPS) {
        const finished = events.filter((e) => e.type === 'step.finished' && e.step === step);
        expect(finished, `step.finished of ${step}`).toHaveLength(1);
        expect(finished[0]).toMatchObject({ outcome: 'done' });
        // A command that succeeded is run once: it is never started again after its success.
        const ok = events.filter((e) => e.type === 'command.finished' && e.step === step && e.ok);
        if (step !== 'look') expect(ok, `successful commands of ${step}`).toHaveLength(1);
      }
      // Every command started is closed: by its own end, or on resume as in flight.
      const started = events.filter((e) => e.type === 'command.started');
      for (const s of started) {
        const { step, attempt } = s as { step: string; attempt: number };
        expect(
          events.filter((e) => e.type === 'command.finished' && e.step === step && e.attempt === attempt),
          `${step} attempt ${attempt}`,
        ).toHaveLength(1);
      }
      if (openBefore) {
        const closed = events.find((e) => e.type === 'command.finished' && e.step === openBefore.step && e.attempt === openBefore.attempt);
        expect(closed).toMatchObject({ ok: false, interrupted: true, exitCode: null });
        expect(
          events.some(
            (e) => e.type === 'decision' && e.step === openBefore.step && /in flight when drbook stopped/.test(e.question) && e.answer === 'run it again',
          ),
        ).toBe(true);
        expect(out).toContain('its command was running when drbook stopped');
      }

      // 4. Commands ran as often as they had to, and never two at once: after the resume
      // began, a command that had succeeded never again, any other exactly once.
      const runs = readMarks(marks);
      for (const step of NAPS) {
        const starts = runs.filter((m) => m.step === step && m.kind === 'start');
        const ends = runs.filter((m) => m.step === step && m.kind === 'end');
        expect(ends.map((m) => m.pid).sort(), `every run of ${step} ended`).toEqual(starts.map((m) => m.pid).sort());
        const byResume = starts.filter((m) => m.ns > resumeBegan);
        expect(starts.length - byResume.length, `runs of ${step} before the kill`).toBeLessThanOrEqual(1);
        expect(byResume, `runs of ${step} by resume`).toHaveLength(finishedOkBefore.has(step) ? 0 : 1);
        for (let i = 1; i < starts.length; i++) {
          const previousEnd = ends.find((m) => m.pid === starts[i - 1]!.pid)!;
          expect(starts[i]!.ns > previousEnd.ns, `${step} run ${i + 1} started after run ${i} ended`).toBe(true);
        }
      }
      if (scenario.orphan) {
        expect(out).toMatch(/still running on its own \(pids? \d+/);
        expect(events.some((e) => e.type === 'decision' && e.answer === 'wait')).toBe(true);
      }

      // 5. The chain verifies; a torn line that was dropped is reported, not hidden.
      const verify = await runCli(['verify', id, '--json'], { cwd: join(home, '..'), env: { DRBOOK_HOME: home }, timeoutMs: 15_000 });
      expect(verify.code, verify.stdout + verify.stderr).toBe(0);
      const check = JSON.parse(verify.stdout) as { ok: boolean; events: number; badLines: number[]; tornLastLine: boolean };
      expect(check.ok).toBe(true);
      expect(check.events).toBe(events.length);
      expect(check.tornLastLine).toBe(false);
      if (scenario.torn) {
        expect(out).toMatch(new RegExp(`${k.lines + 1}: warning: ignored a torn last line`));
        expect(check.badLines).toEqual([k.lines + 1]);
        expect(parsed.bad).toEqual([{ line: k.lines + 1, reason: 'not valid JSON' }]);
      } else {
        expect(check.badLines).toEqual([]);
      }
      expect(loadSessionSummary(home, id).status).toBe('completed');
      report.push(
        `${String(k.lines).padStart(2)} lines, last ${(k.last ?? '-').padEnd(16)} ${scenario.name}: ${runs.filter((m) => m.kind === 'start').length} command runs, resumed in ${Math.round(resumed.ms)} ms, ${Math.round(performance.now() - t0)} ms in all`,
      );
    },
    90_000,
  );
});

/** Resolves once `condition` holds, polling; after `timeoutMs` resolves anyway (the assertions that follow say what went wrong). */
async function waitUntil(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
}

/** The command started and not finished when the journal stops, as resume sees it. */
function inFlight(events: JournalEvent[]): { step: string; attempt: number; pid?: number } | undefined {
  let open: { step: string; attempt: number; pid?: number } | undefined;
  for (const e of events) {
    if (e.type === 'command.started') open = { step: e.step, attempt: e.attempt };
    else if (e.type === 'command.spawned' && open) open.pid = e.pid;
    else if (e.type === 'command.finished') open = undefined;
  }
  return open;
}
