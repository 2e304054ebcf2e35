/**
 * The incident-grade post-mortem: the gantt checked by mermaid's own parser, the markdown by
 * marked, milestones in order or not, evidence copied safely, and `mark`/`attach` end to end.
 */
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { marked } from 'marked';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyEvidence, EvidenceError } from '../src/adapters/evidence-copy.js';
import { readLogTail } from '../src/adapters/log-tail.js';
import { FileJournal } from '../src/adapters/file-journal.js';
import type { JournalEvent } from '../src/core/journal-events.js';
import { parseJournal } from '../src/core/journal-parse.js';
import { outOfOrder } from '../src/core/milestones.js';
import { buildHistory, buildReport, renderMarkdown, summarizeDrill } from '../src/core/export/index.js';
import { label, MAX_BARS } from '../src/core/export/gantt.js';
import { ensureBuilt, runCli } from './helpers/run-cli.js';

const journals = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'journals');
const report = (name: string, timeZone?: string) =>
  buildReport(parseJournal(readFileSync(join(journals, `${name}.jsonl`), 'utf8')), timeZone ? { timeZone } : {});

function mermaidBlock(md: string): string {
  const match = /```mermaid\n([\s\S]*?)\n```/.exec(md);
  if (!match) throw new Error('no mermaid block');
  return match[1]!;
}

interface GanttTask {
  task: string;
  startTime: Date;
  endTime: Date;
  milestone?: boolean;
}

async function ganttTasks(source: string): Promise<GanttTask[]> {
  const mermaid = (await import('mermaid')).default;
  mermaid.initialize({ startOnLoad: false });
  await mermaid.parse(source);
  const diagram = await mermaid.mermaidAPI.getDiagramFromText(source);
  return (diagram.db as unknown as { getTasks(): GanttTask[] }).getTasks();
}

describe('the gantt chart', () => {
  it('parses with mermaid: every step bar and milestone at its time, across midnight', async () => {
    const r = report('incident-mail');
    const tasks = await ganttTasks(mermaidBlock(renderMarkdown(r)));
    const bars = tasks.filter((t) => !t.milestone);
    const markers = tasks.filter((t) => t.milestone);
    expect(bars.map((t) => t.task.trim())).toEqual([
      '1. Confirm the outage',
      '3. Restore the last backup',
      '4. Start the mail services',
      '5. Switch the MX record',
    ]);
    expect(markers.map((t) => t.task.trim())).toEqual(['Impact started', 'Detected', 'Mitigated', 'Resolved']);
    for (const t of tasks) {
      expect(Number.isFinite(t.startTime.getTime())).toBe(true);
      expect(t.endTime.getTime()).toBeGreaterThanOrEqual(t.startTime.getTime());
    }
    // The restore ran over midnight (Paris): 23:40:46 to 00:22:27 the next day, 41m 41s.
    const restore = bars[1]!;
    expect(restore.endTime.getTime() - restore.startTime.getTime()).toBe(41 * 60_000 + 41_000);
  });

  it('200 steps become at most MAX_BARS bars, with a note, and still parse', async () => {
    const md = renderMarkdown(report('gantt-200'));
    const tasks = await ganttTasks(mermaidBlock(md));
    const bars = tasks.filter((t) => !t.milestone);
    expect(bars.length).toBeLessThanOrEqual(MAX_BARS);
    expect(bars[0]!.task.trim()).toBe('Steps 1–5');
    expect(md).toContain('200 steps, grouped 5 to a bar');
    expect(tasks.filter((t) => t.milestone).map((t) => t.task.trim())).toEqual(['Resolved']);
  });

  it('every fixture journal gives a gantt mermaid parses, one bar per step that ran', async () => {
    const { readdirSync } = await import('node:fs');
    for (const file of readdirSync(journals).filter((f) => f.endsWith('.jsonl'))) {
      const r = report(file.replace(/\.jsonl$/, ''));
      const md = renderMarkdown(r);
      if (!md.includes('```mermaid')) continue;
      const tasks = await ganttTasks(mermaidBlock(md));
      for (const t of tasks) expect(Number.isFinite(t.startTime.getTime()), `${file}: ${t.task}`).toBe(true);
      const ran = r.stepRows.filter((row) => row.start !== null && !(row.outcome === 'skipped' && (row.durationMs ?? 0) === 0)).length;
      expect(tasks.filter((t) => !t.milestone).length, file).toBe(Math.ceil(ran / Math.ceil(ran / MAX_BARS)));
    }
  });

  it('a hostile title cannot break the grammar', async () => {
    expect(label('a: b; c # d %% e\nsection x')).toBe('a b c d e section x');
    const source = [
      'gantt',
      '  dateFormat YYYY-MM-DD HH:mm:ss',
      '  section Steps',
      `  1. ${label('x: y ; #z %%w\ntitle q')} :done, s1, 2026-01-01 00:00:00, 2026-01-01 00:00:05`,
    ].join('\n');
    const tasks = await ganttTasks(source);
    expect(tasks).toHaveLength(1);
    expect(tasks[0]!.task.trim()).toBe('1. x y z w title q');
  });
});

describe('key times', () => {
  it('the markdown of each new golden parses with marked and has its sections', () => {
    for (const [name, tz] of [['incident-mail'], ['incident-mail', 'Asia/Tokyo'], ['incident-order'], ['gantt-200']] as const) {
      const md = renderMarkdown(report(name, tz));
      const headings = marked.lexer(md).flatMap((t) => (t.type === 'heading' ? [t.text] : []));
      expect(headings).toContain('Key times');
      expect(headings).toContain('Timeline');
    }
  });

  it('RTO from impact started to resolved; RPO missed with the loss window', () => {
    const r = report('incident-mail');
    expect(r.version).toBe(2);
    expect(r.rto).toMatchObject({ from: 'impact-started', to: 'resolved', met: true });
    expect(r.rto!.measuredMs).toBe(Date.parse(r.keyTimes.milestones[3]!.at.utc) - Date.parse('2026-03-10T22:01:00Z'));
    expect(r.keyTimes.timeToDetectMs).toBe(19 * 60_000 + 30_000);
    expect(r.recoveryPoint).toMatchObject({ met: false, lossMs: 91 * 60_000, until: 'impact-started' });
    expect(r.notApplicable.map((s) => s.title)).toEqual(['Point mail.example.org at <new_ip>']);
    expect(r.deviations.skippedSteps).toEqual([]);
    expect(r.evidence).toHaveLength(1);
  });

  it('out-of-order milestones are shown, a re-mark replaces the earlier one; RPO met', () => {
    const r = report('incident-order');
    expect(r.keyTimes.outOfOrder).toEqual(['detected (2026-06-01T11:50:00.000Z) is before impact-started (2026-06-01T11:52:00.000Z)']);
    expect(r.keyTimes.milestones[0]).toMatchObject({ name: 'impact-started', replaces: 1, by: 'bo@noc' });
    expect(r.keyTimes.timeToDetectMs).toBe(-2 * 60_000);
    expect(r.recoveryPoint).toMatchObject({ met: true, lossMs: 6 * 60_000 + 30_000 });
    expect(renderMarkdown(r)).toContain('**Out of order:**');
  });

  it('outOfOrder compares every pair', () => {
    const at = (iso: string) => ({ at: iso });
    expect(
      outOfOrder(
        new Map([
          ['impact-started', at('2026-01-01T10:00:00Z')],
          ['resolved', at('2026-01-01T09:00:00Z')],
        ]),
      ),
    ).toHaveLength(1);
    expect(
      outOfOrder(
        new Map([
          ['impact-started', at('2026-01-01T10:00:00Z')],
          ['detected', at('2026-01-01T10:00:00Z')],
        ]),
      ),
    ).toEqual([]);
  });
});

describe('drill comparisons leave out --yes sessions unless all are', () => {
  const summary = (name: string) => summarizeDrill(parseJournal(readFileSync(join(journals, `${name}.jsonl`), 'utf8')).events);
  const g1 = summary('mail-server-gameday-1');
  const g2 = summary('mail-server-gameday-2');
  const live = summary('completed-live');

  it('the step medians of an export', () => {
    const journal = parseJournal(readFileSync(join(journals, 'completed-live.jsonl'), 'utf8'));
    const people = buildReport(journal, { earlier: [g1, g2] }).deviations.timing;
    expect(people.length).toBeGreaterThan(0);
    // One scripted drill among them changes nothing; only scripted drills before: no comparison.
    expect(buildReport(journal, { earlier: [g1, { ...g2, yes: true }] }).deviations.timing.every((t) => t.sessions === 1)).toBe(true);
    expect(
      buildReport(journal, {
        earlier: [
          { ...g1, yes: true },
          { ...g2, yes: true },
        ],
      }).deviations.timing,
    ).toEqual([]);
  });

  it('the drill history: change and trends', () => {
    const mixed = buildHistory('mail-server', [g1, { ...g2, yes: true }, live]);
    const scripted = mixed.sessions.find((s) => s.session === g2.session)!;
    expect(scripted.yes).toBe(true);
    expect(scripted.changeMs).toBeNull();
    const trend = mixed.trends.find((t) => t.mode === 'live')!;
    expect(trend.sessions).toBe(mixed.sessions.filter((s) => s.mode === 'live' && !s.yes).length);
    const allYes = buildHistory(
      'mail-server',
      [g1, g2, live].map((s) => ({ ...s, yes: true })),
    );
    expect(allYes.trends.find((t) => t.mode === 'live')!.sessions).toBe(allYes.sessions.filter((s) => s.mode === 'live').length);
  });
});

describe('evidence copies', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'drbook-evidence-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('copies 0600 with its sha256, numbered, never overwriting', () => {
    const source = join(dir, 'df output.txt');
    writeFileSync(source, 'sda1 100%\n');
    const session = join(dir, 's1');
    const a = copyEvidence(source, session);
    const b = copyEvidence(source, session);
    expect(a.file).toBe('evidence/01-df_output.txt');
    expect(b.file).toBe('evidence/02-df_output.txt');
    expect(a.sha256).toBe(createHash('sha256').update('sda1 100%\n').digest('hex'));
    expect(a.bytes).toBe(10);
    expect(statSync(join(session, a.file)).mode & 0o777).toBe(0o600);
  });

  it('refuses an evidence directory that is a symlink, and a planted link is not followed', () => {
    const source = join(dir, 'log.txt');
    writeFileSync(source, 'x');
    const elsewhere = join(dir, 'elsewhere');
    mkdirSync(elsewhere);
    const session = join(dir, 's2');
    mkdirSync(session);
    symlinkSync(elsewhere, join(session, 'evidence'));
    expect(() => copyEvidence(source, session)).toThrow(EvidenceError);
    // A link planted under the first free name: O_EXCL|O_NOFOLLOW skips it, the target stays untouched.
    const session3 = join(dir, 's3');
    mkdirSync(join(session3, 'evidence'), { recursive: true });
    const victim = join(dir, 'victim');
    writeFileSync(victim, 'keep');
    symlinkSync(victim, join(session3, 'evidence', '01-log.txt'));
    const copied = copyEvidence(source, session3);
    expect(copied.file).toBe('evidence/02-log.txt');
    expect(readFileSync(victim, 'utf8')).toBe('keep');
    expect(lstatSync(join(session3, 'evidence', '01-log.txt')).isSymbolicLink()).toBe(true);
  });

  it('follows a symlinked source to its content; refuses a directory or a FIFO', () => {
    const real = join(dir, 'real.log');
    writeFileSync(real, 'content');
    symlinkSync(real, join(dir, 'link.log'));
    expect(copyEvidence(join(dir, 'link.log'), join(dir, 's4')).bytes).toBe(7);
    expect(() => copyEvidence(dir, join(dir, 's4'))).toThrow(/not a regular file/);
    execFileSync('mkfifo', [join(dir, 'fifo')]);
    expect(() => copyEvidence(join(dir, 'fifo'), join(dir, 's4'))).toThrow(/not a regular file/);
    chmodSync(real, 0o000);
    if (process.getuid?.() !== 0) expect(() => copyEvidence(real, join(dir, 's4'))).toThrow(/cannot read/);
  });
});

describe('log tails for an attempt drbook stopped during', () => {
  it('reads the last lines of the log, never outside the session directory or through a link', () => {
    const dir = mkdtempSync(join(tmpdir(), 'drbook-logs-'));
    try {
      const session = join(dir, 'session');
      mkdirSync(session);
      writeFileSync(join(session, 'restore.2.log'), Array.from({ length: 500 }, (_, i) => `line ${i + 1}`).join('\n') + '\n');
      const tail = readLogTail(session, 'restore.2.log');
      expect(tail!.tail.split('\n')).toEqual(Array.from({ length: 20 }, (_, i) => `line ${481 + i}`));
      expect(tail!.bytes).toBe(statSync(join(session, 'restore.2.log')).size);
      writeFileSync(join(dir, 'secret.txt'), 'outside');
      expect(readLogTail(session, '../secret.txt')).toBeNull();
      symlinkSync(join(dir, 'secret.txt'), join(session, 'link.log'));
      expect(readLogTail(session, 'link.log')).toBeNull();
      expect(readLogTail(session, 'missing.log')).toBeNull();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('drbook mark and attach', () => {
  let dir: string;
  beforeAll(async () => {
    await ensureBuilt();
    dir = mkdtempSync(join(tmpdir(), 'drbook-mark-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function openSession(home: string): string {
    const id = '20260311T090512Z-mail-server';
    const journal = FileJournal.create(home, id);
    journal.append({
      type: 'session.started',
      session: id,
      runbook: { id: 'mail-server', title: 'Restore the mail server', path: '/nonexistent/mail-server.yml', sha256: 'f'.repeat(64), steps: 3 },
      mode: 'live',
      operator: { user: 'alice', host: 'laptop' },
      tz: 'Europe/Paris',
      tzOffsetMinutes: 60,
      drbook: '0.1.0',
      pid: 999_999,
    });
    journal.append({ type: 'step.started', step: 'confirm-outage', index: 0, title: 'Confirm the outage' });
    journal.close();
    return journal.path;
  }
  const events = (path: string): JournalEvent[] => parseJournal(readFileSync(path, 'utf8')).events;

  it('marks milestones with occurred and recorded times, warns when out of order, refuses an unknown one', async () => {
    const home = join(dir, 'home1');
    const path = openSession(home);
    const env = { DRBOOK_HOME: home };
    expect((await runCli(['mark', 'detected', '--at', new Date(Date.now() - 60_000).toISOString(), 'pager', 'answered'], { cwd: dir, env })).code).toBe(0);
    const late = await runCli(['mark', 'impact-started', '--at', '2999-01-01T00:00Z'], { cwd: dir, env });
    expect(late.code).toBe(2);
    const after = await runCli(['mark', 'impact-started'], { cwd: dir, env });
    expect(after.code).toBe(0);
    expect(after.stderr).toMatch(/warning: out of order: detected .* is before impact-started/);
    const bad = await runCli(['mark', 'fixed'], { cwd: dir, env });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('unknown milestone "fixed"');
    const marks = events(path).filter((e) => e.type === 'milestone');
    expect(marks.map((m) => [m.milestone, m.text ?? null, m.step, m.source, m.at === undefined])).toEqual([
      ['detected', 'pager answered', 'confirm-outage', 'cli', false],
      ['impact-started', null, 'confirm-outage', 'cli', true],
    ]);
  });

  it('attaches a file: copy 0600 in the session directory, sha256 and size journaled, listed in the export', async () => {
    const home = join(dir, 'home2');
    const path = openSession(home);
    const file = join(dir, 'screenshot.png');
    writeFileSync(file, Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 1, 2, 3]));
    const result = await runCli(['attach', file, '--note', 'status page at 01:55'], { cwd: dir, env: { DRBOOK_HOME: home } });
    expect(result.code).toBe(0);
    const ev = events(path).find((e) => e.type === 'evidence');
    expect(ev).toMatchObject({ file: 'evidence/01-screenshot.png', name: 'screenshot.png', bytes: 8, step: 'confirm-outage', note: 'status page at 01:55' });
    const copy = join(path.replace(/\.jsonl$/, ''), 'evidence', '01-screenshot.png');
    expect(statSync(copy).mode & 0o777).toBe(0o600);
    expect(createHash('sha256').update(readFileSync(copy)).digest('hex')).toBe((ev as { sha256: string }).sha256);
    const exported = await runCli(['export', '20260311T090512Z-mail-server'], { cwd: dir, env: { DRBOOK_HOME: home } });
    expect(exported.stdout).toContain('## Evidence');
    expect(exported.stdout).toContain('`evidence/01-screenshot.png`');
    const missing = await runCli(['attach', join(dir, 'nope')], { cwd: dir, env: { DRBOOK_HOME: home } });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('cannot read');
  });
});
