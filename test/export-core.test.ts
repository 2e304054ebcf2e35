import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseJournal, type ParsedJournal } from '../src/core/journal-parse.js';
import { buildHistory, buildReport, renderJson, renderMarkdown, summarizeDrill, NotASessionError } from '../src/core/export/index.js';
import { code, codeBlock, inline } from '../src/core/export/markdown-text.js';
import { lineDiff } from '../src/core/export/markdown.js';
import { checkRto } from '../src/core/export/summary.js';
import { canonicalTimeZone, ZoneClock } from '../src/core/export/time-zone.js';

const journals = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'journals');
const text = (name: string): string => readFileSync(join(journals, `${name}.jsonl`), 'utf8');
const load = (name: string): ParsedJournal => parseJournal(text(name));

describe('ZoneClock', () => {
  it('computes the offset per instant, across a DST change', () => {
    const paris = new ZoneClock('Europe/Paris');
    expect(paris.wall(Date.parse('2026-03-29T00:59:59Z'))).toMatchObject({ date: '2026-03-29', timeSeconds: '01:59:59', offset: '+01:00' });
    expect(paris.wall(Date.parse('2026-03-29T01:00:00Z'))).toMatchObject({ date: '2026-03-29', timeSeconds: '03:00:00', offset: '+02:00' });
    expect(paris.wall(Date.parse('2026-10-25T00:59:00Z')).offset).toBe('+02:00');
    expect(paris.wall(Date.parse('2026-10-25T01:00:00Z'))).toMatchObject({ time: '02:00', offset: '+01:00' });
  });

  it('handles negative and half-hour offsets and the local date', () => {
    expect(new ZoneClock('America/New_York').wall(Date.parse('2026-01-20T03:02:10Z'))).toMatchObject({
      date: '2026-01-19',
      time: '22:02',
      offset: '-05:00',
      weekday: 1,
    });
    expect(new ZoneClock('Asia/Kolkata').wall(Date.parse('2026-04-07T04:12:03Z'))).toMatchObject({ time: '09:42', offset: '+05:30' });
    expect(new ZoneClock('UTC').wall(0)).toMatchObject({ date: '1970-01-01', timeSeconds: '00:00:00', offset: '+00:00' });
  });

  it('names zones as Intl knows them and refuses unknown ones', () => {
    expect(canonicalTimeZone('utc')).toBe('UTC');
    expect(canonicalTimeZone('Europe/Paris')).toBe('Europe/Paris');
    expect(canonicalTimeZone('Mars/Olympus_Mons')).toBeUndefined();
    expect(canonicalTimeZone('')).toBeUndefined();
  });

  it('reads a zone Intl does not know at the offset it is given (UTC by default), and says so', () => {
    const clock = new ZoneClock('Etc/Unknown');
    expect(clock.zone).toBe('UTC');
    expect(clock.wall(Date.parse('2026-07-01T12:34:00Z'))).toMatchObject({ time: '12:34', offset: '+00:00' });
    // A zone newer than this node's time-zone data, recorded with its offset at the start.
    const atlantis = new ZoneClock('Europe/Atlantis', 540);
    expect(atlantis.zone).toBe('UTC+09:00');
    expect(atlantis.wall(Date.parse('2026-07-01T20:34:00Z'))).toMatchObject({ date: '2026-07-02', time: '05:34', offset: '+09:00' });
    expect(new ZoneClock('Europe/Paris', 540).zone).toBe('Europe/Paris');
  });

  it('takes a fixed offset by its name, UTC+09:00, as export --tz does', () => {
    expect(canonicalTimeZone('UTC+09:00')).toBe('UTC+09:00');
    expect(canonicalTimeZone('UTC-03:30')).toBe('UTC-03:30');
    expect(canonicalTimeZone('UTC+00:00')).toBe('UTC');
    expect(canonicalTimeZone('UTC+25:00')).toBeUndefined();
    expect(new ZoneClock('UTC-03:30').wall(Date.parse('2026-07-01T12:00:00Z'))).toMatchObject({ time: '08:30', offset: '-03:30' });
  });
});

describe('a journal whose zone Intl does not know', () => {
  it('exports at the offset the session recorded, and names it, where it used to fail with "Invalid time zone"', () => {
    // Earlier builds journaled "Etc/Unknown" when TZ was empty; a zone newer than node's data does the same.
    const journal = parseJournal(text('completed-live').replace(/"tz":"[^"]*","tzOffsetMinutes":-?\d+/, '"tz":"Etc/Unknown","tzOffsetMinutes":540'));
    const report = buildReport(journal);
    expect(report.timeZone).toMatchObject({ name: 'UTC+09:00', source: 'session', sessionZone: 'Etc/Unknown', offsetAtStart: '+09:00' });
    const md = renderMarkdown(report);
    expect(md).toContain('UTC+09:00');
    expect(md).not.toContain('UTC+09:00 (UTC+09:00)'); // the offset said once
    // The drill history of that session agrees with its own export.
    const summary = summarizeDrill(journal.events);
    const history = buildHistory(summary.runbook.id, [summary]);
    expect(history.timeZone).toBe('UTC+09:00');
    expect(history.sessions[0]!.start.offset).toBe('+09:00');
  });
});

describe('markdown text', () => {
  it.each([
    ['plain words', 'plain words'],
    ['a | b', 'a \\| b'],
    ['<script>alert(1)</script>', '&lt;script&gt;alert(1)&lt;/script&gt;'],
    ['R&D &amp;', 'R&amp;D &amp;amp;'],
    ['`code` *em* _em_ ~~del~~ $x$', '\\`code\\` \\*em\\* \\_em\\_ \\~\\~del\\~\\~ \\$x\\$'],
    ['dns_plan snake_case_name', 'dns_plan snake_case_name'],
    ['[a](b) ![c](d)', '\\[a\\](b) !\\[c\\](d)'],
    ['# title', '\\# title'],
    ['- item', '\\- item'],
    ['1. item', '1\\. item'],
    ['line one\nline two', 'line one<br>line two'],
    ['\n\n  indented    code\n\n', 'indented code'],
    // Typed text loses nothing: control sequences are written visibly, as on the screen.
    ['\u001b[31mred\u001b[0m\r\n', '\\\\e\\[31mred\\\\e\\[0m'],
    ['from the other terminal \u001b]0;NOTETITLE\u0007 ok', 'from the other terminal \\\\e\\]0;NOTETITLE^G ok'],
    ['a\u202eb', 'a\\\\u202eb'],
  ])('inline(%j) is %j', (input, expected) => {
    expect(inline(input)).toBe(expected);
  });

  it('makes code spans that hold backticks and, in tables, pipes', () => {
    expect(code('ls')).toBe('`ls`');
    expect(code('echo `date`')).toBe('`` echo `date` ``');
    expect(code('``` x')).toBe('```` ``` x ````');
    expect(code('a | b', { inTable: true })).toBe('`a \\| b`');
    expect(code('a\nb')).toBe('`a ⏎ b`');
    expect(code('')).toBe('*(empty)*');
  });

  it('makes fences longer than any backtick run inside', () => {
    expect(codeBlock('x\n```\ny', 'text')).toBe('````text\nx\n```\ny\n````');
    expect(codeBlock('plain')).toBe('```\nplain\n```');
  });

  it('diffs edited commands line by line, common lines as context', () => {
    expect(lineDiff('a\nb\nc', 'a\nB\nc')).toBe('  a\n- b\n+ B\n  c');
    expect(lineDiff('one', 'two')).toBe('- one\n+ two');
    expect(lineDiff('a', 'a\nb')).toBe('  a\n+ b');
  });
});

describe('RTO', () => {
  it('is met only by a completed session within the target', () => {
    expect(checkRto('2h', 3_600_000, true)).toEqual({
      target: '2h',
      targetMs: 7_200_000,
      met: true,
      marginMs: 3_600_000,
      from: 'session-start',
      to: 'session-end',
      measuredMs: 3_600_000,
    });
    expect(checkRto('1h30m', 6_000_000, true)).toMatchObject({ met: false, marginMs: 600_000 });
    expect(checkRto('2h', 60_000, false)).toMatchObject({ met: null, marginMs: 7_140_000 });
    expect(checkRto('2h', 9_000_000, false)).toMatchObject({ met: false, marginMs: 1_800_000 });
    expect(checkRto(undefined, 1, true)).toBeNull();
    expect(checkRto('soon', 1, true)).toBeNull();
  });
});

describe('buildReport', () => {
  it('places backdated notes at their time, marked with when they were written', () => {
    const r = buildReport(load('backdated-midnight'));
    const notes = r.chronology.filter((m) => m.kind === 'note');
    expect(notes.map((n) => n.at.local)).toEqual(['2026-03-28 23:50:00', '2026-03-29 01:55:00']);
    expect(notes.map((n) => (n.kind === 'note' ? n.notedAt?.local : undefined))).toEqual(['2026-03-29 00:19:58', '2026-03-29 03:04:02']);
    const times = r.chronology.map((m) => Date.parse(m.at.utc));
    expect(times).toEqual([...times].sort((a, b) => a - b));
    const md = renderMarkdown(r);
    expect(md).toContain('- 23:50:00 — Note by marien@phone: Monitoring SMS about web-1 arrived at 23:50, before the page _(noted at 2026-03-29 00:19)_');
    expect(md).toContain('_(noted at 03:04)_');
    expect(md.indexOf('**Saturday 28 March 2026**')).toBeLessThan(md.indexOf('**Sunday 29 March 2026**'));
  });

  it('keeps journal order for moments at the same instant', () => {
    const r = buildReport(load('completed-live'));
    const sameInstant = r.chronology.filter((m) => m.at.utc === '2026-03-11T08:05:16.545Z');
    expect(sameInstant.map((m) => m.kind)).toEqual(['var.set', 'step.started']);
    const seqs = r.chronology.filter((m) => m.kind !== 'note').map((m) => m.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
  });

  it('never shows a secret, even one a journal holds unmasked', () => {
    const parsed = load('secrets');
    const secret = 'tok_live_9f8e7d6c5b4a3210';
    expect(text('secrets')).toContain(secret);
    const r = buildReport(parsed);
    for (const out of [renderMarkdown(r), renderJson(r)]) {
      expect(out).not.toContain(secret);
      expect(out).not.toContain('9f8e7d6c');
    }
    expect(r.vars.find((v) => v.name === 'api_token')).toMatchObject({ value: '***', secret: true });
    expect(r.deviations.failedAttempts[0]!.tail).toContain('token=***');
    expect(r.deviations.failedAttempts[0]!.command).toContain('Bearer ***');
  });

  it('strips terminal colours from output tails in the markdown', () => {
    const md = renderMarkdown(buildReport(load('secrets')));
    expect(md).not.toMatch(/\u001b/);
    expect(md).toContain('HTTP/2 401\nwww-authenticate');
  });

  it('keeps output tails as they were, blank lines included', () => {
    const journal = text('aborted').replace('"tail":"ssh: connect to host db1 port 22: Connection timed out"', '"tail":"first\\n\\n\\n\\nlast"');
    const md = renderMarkdown(buildReport(parseJournal(journal)));
    expect(md).toContain('```text\nfirst\n\n\n\nlast\n```');
  });

  it('says when the chain does not verify', () => {
    const lines = text('aborted').trimEnd().split('\n');
    // Event 3 changed after it was written: event 4's `prev` no longer matches.
    lines[2] = lines[2]!.replace('{"v":1,', '{"v":1,"edited":true,');
    const r = buildReport(parseJournal(`${lines.join('\n')}\n`));
    expect(r.journal).toMatchObject({ chainVerifies: false, brokenAt: 4 });
    expect(renderMarkdown(r)).toContain('**the chain does not verify** (event 4');
  });

  it('exports a session that did not finish, with the time so far', () => {
    const lines = text('resumed').trimEnd().split('\n');
    const paused = lines.findIndex((l) => l.includes('"session.paused"'));
    const r = buildReport(parseJournal(`${lines.slice(0, paused + 1).join('\n')}\n`));
    expect(r.status).toBe('paused');
    expect(r.end).toBeNull();
    expect(r.rto).toMatchObject({ met: null });
    expect(r.steps).toMatchObject({ done: 1, unfinished: 1, notReached: 3 });
    const md = renderMarkdown(r);
    expect(md).toContain('Monday 19 January 2026 22:02, not finished: paused after 13m 15s, RTO 1h not reached yet.');
    expect(md).toContain('- **End:** not finished (paused; last event 2026-01-19 22:15:25)');
    expect(md).toContain('| 2 | Reach three key holders (`collect-shares`) | not finished |');
  });

  it('exports a journal with a torn last line from its complete events', () => {
    const torn = `${text('aborted')}{"v":1,"seq":19,"ts":"2026-06-02T0`;
    const parsed = parseJournal(torn);
    expect(parsed.tornTail).toBeDefined();
    expect(buildReport(parsed).journal.events).toBe(18);
  });

  it('refuses events that are not a session', () => {
    expect(() => buildReport({ events: [], lines: [] })).toThrow(NotASessionError);
    const lines = text('aborted').trimEnd().split('\n').slice(1);
    expect(() => buildReport(parseJournal(lines.join('\n')))).toThrow(/starts with step.started/);
  });

  it('compares step times only with earlier sessions of the same runbook and mode', () => {
    const all = ['mail-server-gameday-1', 'mail-server-gameday-2', 'rehearsal', 'completed-live', 'failed-edited'].map((n) => summarizeDrill(load(n).events));
    const r = buildReport(load('completed-live'), { earlier: all });
    const restore = r.deviations.timing.find((t) => t.step === 'restore-backup')!;
    // Game days took 83m and 65m: the median of those two, not of the rehearsal or this run.
    expect(restore).toMatchObject({ sessions: 2, medianMs: (all[0]!.stepDurations['restore-backup']! + all[1]!.stepDurations['restore-backup']!) / 2 });
    expect(buildReport(load('mail-server-gameday-1'), { earlier: all }).deviations.timing).toEqual([]);
  });

  it('folds a long run of identical failures in the chronology, and not a short one', () => {
    const md = renderMarkdown(buildReport(load('failed-edited')));
    expect(md).toContain('- 10:58:38 – 11:09:48 — … 4 more attempts failed the same way, and each time the answer was **retry**');
    expect(md).toContain('attempts 1 to 6, the same failure each time');
    const aborted = renderMarkdown(buildReport(load('aborted')));
    expect(aborted).not.toContain('more attempts');
  });

  it('shows times in another zone when asked, stating it once', () => {
    const r = buildReport(load('completed-live'), { timeZone: 'Asia/Tokyo' });
    expect(r.timeZone).toMatchObject({ name: 'Asia/Tokyo', source: 'option', sessionZone: 'Europe/Paris', offsetAtStart: '+09:00' });
    expect(r.start.local).toBe('2026-03-11 17:05:12');
    expect(renderMarkdown(r)).toContain('- **Times:** Asia/Tokyo (UTC+09:00); the session was recorded in Europe/Paris');
  });
});

describe('a margin to spare is never rounded up to the whole objective', () => {
  it('a data-loss window of 0.4s against a 24h RPO leaves 23h 59m 59s, not 1d', () => {
    const report = buildReport(load('incident-order'));
    const rp = report.recoveryPoint!;
    expect(rp.met).toBe(true);
    const md = renderMarkdown({ ...report, recoveryPoint: { ...rp, target: '24h', targetMs: 86_400_000, lossMs: 400 } });
    expect(md).toMatch(/^- Data-loss window: \*\*0\.4s\*\*.*; RPO 24h: met, 23h 59m 59s to spare/m);
  });

  it('a recovery of 0.6s against a 30m RTO leaves 29m 59s, not 30m', () => {
    const report = buildReport(load('incident-order'));
    const rto = report.rto!;
    expect(rto.met).toBe(true);
    const md = renderMarkdown({ ...report, rto: { ...rto, target: '30m', targetMs: 1_800_000, marginMs: 1_799_600, measuredMs: 400 } });
    expect(md).toMatch(/RTO 30m: met, 29m 59s to spare/);
  });
});
