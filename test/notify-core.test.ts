/**
 * The pure parts of notifications: what each event becomes, what a sink waits for, how a
 * batch in flight is sent again, what an answer means, the backoff, and the checks of a
 * `notify:` list as `file:line:col` problems in a runbook and in config.yml.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readHomeConfig } from '../src/adapters/notify/sinks-config.js';
import type { EventBody, JournalEvent } from '../src/core/journal-events.js';
import { hashLine } from '../src/core/journal-parse.js';
import { formatProblem } from '../src/core/model.js';
import { resolveSinks } from '../src/core/notify/config.js';
import { backoffMs, buildOutbox, classify, nextBatch, parseRetryAfter, pendingFor, type SinkCursor } from '../src/core/notify/outbox.js';
import { buildRequest, gitlabRefusal, parseIncidentRef, webhookSignature } from '../src/core/notify/requests.js';
import { loadRunbookText } from '../src/core/runbook-loader.js';

function journal(bodies: EventBody[]): { events: JournalEvent[]; lines: string[] } {
  const events: JournalEvent[] = [];
  const lines: string[] = [];
  let prev: string | null = null;
  bodies.forEach((body, i) => {
    const event = { v: 1, seq: i + 1, ts: `2026-03-11T09:0${i}:00.000Z`, prev, ...body } as JournalEvent;
    const line = JSON.stringify(event);
    events.push(event);
    lines.push(line);
    prev = hashLine(line);
  });
  return { events, lines };
}

const SESSION: EventBody = {
  type: 'session.started',
  session: '20260311T090000Z-mail',
  runbook: { id: 'mail', title: 'Mail', path: '/r/mail.yml', sha256: 'a'.repeat(64), steps: 3, rto: '2h' },
  mode: 'live',
  operator: { user: 'ops', host: 'rescue' },
  tz: 'UTC',
  tzOffsetMinutes: 0,
  drbook: '0.1.0',
  pid: 1,
};

const WALK = journal([
  SESSION,
  { type: 'var.set', name: 'token', value: '***', source: 'env', secret: true },
  { type: 'step.started', step: 'dns', index: 0, title: 'Point DNS with ***' },
  { type: 'step.finished', step: 'dns', index: 0, outcome: 'failed', reason: 'exit 1', durationMs: 1500 },
  { type: 'decision', step: 'dns', question: 'dns failed: what now?', answer: 'skip' },
  { type: 'step.finished', step: 'dns', index: 0, outcome: 'skipped', reason: 'operator', durationMs: 2000 },
  { type: 'step.finished', step: 'mx', index: 1, outcome: 'skipped', reason: 'when: plan == reuse is false', title: 'Move MX', durationMs: 0 },
  { type: 'note', text: 'provider confirms the fire', at: '2026-03-11T01:50:00.000Z', by: 'ops@laptop', source: 'cli' },
  { type: 'milestone', milestone: 'mitigated', text: 'mail flows', by: 'ops@rescue', source: 'cli' },
  { type: 'evidence', file: 'evidence/01-df.txt', name: 'df.txt', sha256: 'b'.repeat(64), bytes: 812, by: 'ops@rescue' },
  { type: 'notify.failed', sink: 'slack', kind: 'network', message: 'cannot connect (ECONNREFUSED)' },
  { type: 'session.ended', status: 'completed', done: 0, skipped: 2, failed: 0, markedDone: 0, durationMs: 125_000 },
]);

const [slack, webhook, gitlab] = resolveSinks([
  {
    origin: 'test',
    defs: [
      { type: 'slack', url_env: 'S' },
      { type: 'webhook', url_env: 'W', token_env: 'K', events: ['step.failed', 'milestone'] },
      { type: 'gitlab', url_env: 'G', token_env: 'T', incident_env: 'I' },
    ],
  },
]);

describe('the outbox', () => {
  const outbox = buildOutbox(WALK.events, WALK.lines);

  it('turns each sendable event into one masked line, and leaves out the rest', () => {
    expect(outbox.events.map((e) => [e.seq, e.kind, e.text])).toEqual([
      [1, 'session.started', 'Live run of mail "Mail" started by ops@rescue (3 steps, RTO 2h)'],
      [4, 'step.failed', '✗ [1/3] Point DNS with *** failed: exit 1'],
      [5, 'decision', '? dns failed: what now? → skip (dns)'],
      [6, 'step.skipped', '↷ [1/3] Point DNS with *** skipped: operator'],
      [7, 'step.skipped', '↷ [2/3] Move MX skipped: when: plan == reuse is false'],
      [8, 'note', 'Note by ops@laptop (at 01:50 UTC, added later): provider confirms the fire'],
      [9, 'milestone', 'Milestone: Mitigated: mail flows'],
      [10, 'evidence', 'Evidence attached: df.txt (812 bytes, sha256 bbbbbbbbbbbbbbbb…)'],
      [12, 'session.ended', 'Session completed: 0 done, 0 by hand, 2 skipped, 0 failed; total 2m 5s'],
    ]);
    expect(outbox.events.find((e) => e.kind === 'note')!.occurredAt).toBe('2026-03-11T01:50:00.000Z');
    expect(outbox.events.find((e) => e.kind === 'evidence')!.fields).toEqual({
      type: 'evidence',
      name: 'df.txt',
      sha256: 'b'.repeat(64),
      bytes: 812,
      by: 'ops@rescue',
    });
    expect(outbox.events[1]!.hash).toBe(hashLine(WALK.lines[3]!));
  });

  it('a sink waits for its selected events after its cursor; a rehearsal only for sinks that asked', () => {
    expect(pendingFor(webhook!, outbox, { delivered: 0, sent: 0 }).map((e) => e.seq)).toEqual([4, 9]);
    expect(pendingFor(webhook!, outbox, { delivered: 4, sent: 1 }).map((e) => e.seq)).toEqual([9]);
    const drill = buildOutbox(...(Object.values(journal([{ ...SESSION, mode: 'rehearsal' } as EventBody])) as [JournalEvent[], string[]]));
    expect(pendingFor(slack!, drill, { delivered: 0, sent: 0 })).toEqual([]);
    const [loud] = resolveSinks([{ origin: 't', defs: [{ type: 'slack', url_env: 'S', rehearsals: true }] }]);
    expect(pendingFor(loud!, drill, { delivered: 0, sent: 0 })).toHaveLength(1);
  });

  it('batches chat lines, sends timeline events one by one, and resends a batch in flight as it was', () => {
    const all = pendingFor(slack!, outbox, { delivered: 0, sent: 0 });
    const first = nextBatch(slack!, all, { delivered: 0, sent: 0 })!;
    expect(first.events).toHaveLength(9);
    expect(first.key).toBe(all[8]!.hash);
    expect(nextBatch(gitlab!, all, { delivered: 0, sent: 0 })!.events.map((e) => e.seq)).toEqual([1]);
    // More events arrived after the crash: the batch in flight is still sent alone, under its key.
    const cursor: SinkCursor = { delivered: 0, sent: 0, inflight: { from: 1, to: 4, key: 'k-first' } };
    const again = nextBatch(slack!, all, cursor)!;
    expect(again.events.map((e) => e.seq)).toEqual([1, 4]);
    expect(again.key).toBe('k-first');
  });
});

describe('answers and waits', () => {
  it.each([
    [{ status: 503 }, 'http-5xx', false],
    [{ status: 429, retryAfterMs: 2000 }, 'rate-limited', false],
    [{ status: 401 }, 'http-4xx', true],
    [{ status: 404 }, 'http-4xx', true],
    [{ status: 408 }, 'http-4xx', false],
    [{ timedOut: true }, 'timeout', false],
    [{ errorCode: 'ENOTFOUND' }, 'dns', false],
    [{ errorCode: 'ECONNREFUSED' }, 'network', false],
  ])('%j is %s (permanent: %s)', (answer, kind, permanent) => {
    const failure = classify(answer);
    expect(failure.kind).toBe(kind);
    expect(failure.permanent).toBe(permanent);
  });

  it('doubles the backoff up to its ceiling, and obeys Retry-After in seconds or as a date', () => {
    expect([1, 2, 3, 4].map((n) => backoffMs({ backoffMs: 2000 }, n))).toEqual([2000, 4000, 8000, 16000]);
    expect(backoffMs({ backoffMs: 2000 }, 30)).toBe(300_000);
    expect(backoffMs({ backoffMs: 2000 }, 1, 7000)).toBe(7000);
    expect(parseRetryAfter('3', 0)).toBe(3000);
    expect(parseRetryAfter('Wed, 11 Mar 2026 09:00:10 GMT', Date.parse('2026-03-11T09:00:00Z'))).toBe(10_000);
    expect(parseRetryAfter('soon', 0)).toBeUndefined();
  });

  it('reads GitLab refusals inside a 200, and incident references', () => {
    expect(gitlabRefusal('{"data":{"timelineEventCreate":{"timelineEvent":{"id":"x"},"errors":[]}}}')).toBeUndefined();
    expect(gitlabRefusal('{"data":{"timelineEventCreate":{"timelineEvent":null,"errors":["Note is too long"]}}}')).toBe('Note is too long');
    expect(gitlabRefusal('{"errors":[{"message":"The resource that you are attempting to access does not exist"}]}')).toMatch(/does not exist/);
    expect(parseIncidentRef('infra/mail#42')).toEqual({ project: 'infra/mail', iid: '42' });
    expect(parseIncidentRef('123')).toEqual({ id: 'gid://gitlab/Issue/123' });
    expect(parseIncidentRef('#42')).toBeUndefined();
  });

  it('signs the webhook body it sends, with the event hash as the idempotency key', () => {
    const outbox = buildOutbox(WALK.events, WALK.lines);
    const batch = nextBatch(webhook!, pendingFor(webhook!, outbox, { delivered: 0, sent: 0 }), { delivered: 0, sent: 0 })!;
    const request = buildRequest(webhook!, { url: 'http://127.0.0.1/x', token: 'key' }, outbox.session!, batch, 'drbook/test');
    expect(request.headers['Idempotency-Key']).toBe(hashLine(WALK.lines[3]!));
    expect(request.headers['X-Drbook-Signature-256']).toBe(webhookSignature('key', request.body));
    // The published HMAC-SHA256 test vector: a receiver's own HMAC library gives the same.
    expect(webhookSignature('key', 'The quick brown fox jumps over the lazy dog')).toBe(
      'sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8',
    );
  });
});

describe('checks of a notify: list', () => {
  it('a runbook: each problem at its line and column', () => {
    const text = [
      'drbook: 1',
      'title: T',
      'notify:',
      '  - type: matrix',
      '    url_env: M',
      '    token: abc',
      '  - { type: slack, url_env: S, events: [step, typo] }',
      'steps:',
      '  - { id: a, title: A }',
      '',
    ].join('\n');
    const { problems } = loadRunbookText(text, {
      file: 'rb.yml',
      absFile: '/tmp/rb.yml',
      sha256: '0'.repeat(64),
      fileExists: () => true,
      shellSites: () => [],
    });
    expect(problems.map(formatProblem)).toEqual([
      'rb.yml:4:5: error: notify[0]: a matrix sink needs `room` (the room id, e.g. !abc123:example.org)',
      'rb.yml:4:5: error: notify[0]: a matrix sink needs `token_env` (the environment variable holding the access token)',
      'rb.yml:6:5: error: notify[0].token: a URL or token never goes in a file: put it in an environment variable and name that variable with token_env',
      expect.stringMatching(/^rb\.yml:7:47: error: notify\[1\]\.events\[1\]: must be one of all, session, step, .* \(not "typo"\)$/),
    ]);
  });

  it('DRBOOK_HOME/config.yml: the same checks, with its own positions', () => {
    const home = mkdtempSync(join(tmpdir(), 'drbook-config-'));
    try {
      writeFileSync(join(home, 'config.yml'), 'colour: auto\nnotify:\n  - type: gitlab\n    url_env: G\n    interval: fast\n');
      const config = readHomeConfig(home);
      expect(config.errors).toBe(true);
      expect(config.source).toBeUndefined();
      const file = join(home, 'config.yml');
      expect(config.problems).toEqual([
        `${file}:1:1: warning: unknown setting \`colour\` (known: notify), ignored`,
        `${file}:3:5: error: notify[0]: a gitlab sink needs \`token_env\` (the environment variable holding a token with the api scope)`,
        `${file}:3:5: error: notify[0]: a gitlab sink needs \`incident_env\` (the environment variable naming the incident: group/project#42)`,
        `${file}:5:15: error: notify[0].interval: cannot read duration "fast": use forms like 500ms, 1s, 2m`,
      ]);
      writeFileSync(join(home, 'config.yml'), 'notify:\n  - { type: slack, url_env: S }\n');
      expect(readHomeConfig(home).source?.defs).toEqual([{ type: 'slack', url_env: 'S' }]);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});
