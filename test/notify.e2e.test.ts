/**
 * Notifications end to end: the built drbook against real HTTP servers on 127.0.0.1, one per
 * sink type, checking each request's exact method, path, headers and body; a sink down for
 * its first tries, a 429 with Retry-After, a 4xx that stops a sink, a `kill -9` while a
 * request is in flight followed by `drbook notify --flush` (each event acknowledged exactly
 * once, the in-flight one resent under the same idempotency key), and a sink that never
 * answers while the walk goes on to its end. Every wait is for a condition.
 */
import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { JournalEvent } from '../src/core/journal-events.js';
import { hashLine, parseJournal } from '../src/core/journal-parse.js';
import { BIN, ensureBuilt, runCli, STACK_TRACE, type Sandbox } from './helpers/run-cli.js';
import { sinkFixtures } from './helpers/sink-server.js';

beforeAll(ensureBuilt);

const { server, sandbox } = sinkFixtures();

function env(box: Sandbox, extra: Record<string, string>): Record<string, string> {
  return { HOME: box.home, DRBOOK_HOME: box.home, DRBOOK_DIR: box.dir, ...extra };
}

interface Journal {
  events: JournalEvent[];
  hashes: Map<number, string>;
}

function journalOf(box: Sandbox): Journal {
  const dir = join(box.home, 'sessions');
  const file = readdirSync(dir).find((f) => f.endsWith('.jsonl'))!;
  const parsed = parseJournal(readFileSync(join(dir, file), 'utf8'));
  const hashes = new Map(parsed.events.map((e, i) => [e.seq, hashLine(parsed.lines[i]!)]));
  return { events: parsed.events, hashes };
}

const SENDABLE = new Set([
  'session.started',
  'session.paused',
  'session.resumed',
  'session.ended',
  'step.finished',
  'decision',
  'note',
  'milestone',
  'evidence',
]);

function sendable(j: Journal): JournalEvent[] {
  return j.events.filter((e) => SENDABLE.has(e.type));
}

function json(body: string): Record<string, unknown> {
  return JSON.parse(body) as Record<string, unknown>;
}

describe('each sink type gets its documented request', () => {
  it('slack, matrix, gitlab and webhook: exact method, path, headers and body; text masked as in the journal', async () => {
    const box = sandbox();
    const slack = await server();
    const matrix = await server(() => ({ status: 200, body: '{"event_id":"$e"}' }));
    const gitlab = await server((r) =>
      r.body.includes('drbookIncident')
        ? { status: 200, body: JSON.stringify({ data: { project: { issue: { id: 'gid://gitlab/Issue/777' } } } }) }
        : {
            status: 200,
            body: JSON.stringify({ data: { timelineEventCreate: { timelineEvent: { id: 'gid://gitlab/IncidentManagement::TimelineEvent/1' }, errors: [] } } }),
          },
    );
    const hook = await server();
    const runbook = join(box.dir, 'mail.yml');
    writeFileSync(
      runbook,
      `drbook: 1
id: mail
title: Restore <mail> & co
vars:
  api_token: { env: T_SECRET, secret: true }
notify:
  - { type: slack, url_env: T_SLACK, interval: 0s }
  - { type: matrix, url_env: T_MATRIX, token_env: T_MATRIX_TOKEN, room: '!room:example.org', interval: 0s }
  - { type: gitlab, url_env: T_GITLAB, token_env: T_GITLAB_TOKEN, incident_env: T_INCIDENT, interval: 0s }
  - { type: webhook, url_env: T_HOOK, token_env: T_HOOK_KEY, events: [step, milestone] }
steps:
  - id: detect
    title: Detect with {{api_token}}
    run: echo detected
    milestone: detected
  - id: fix
    title: Fix <it>
    run: echo fixed
`,
    );
    const secret = 'tok-SECRET-4711';
    const result = await runCli(['run', runbook, '--yes'], {
      cwd: box.cwd,
      timeoutMs: 20_000,
      env: env(box, {
        T_SECRET: secret,
        T_SLACK: `${slack.url}/services/T0/B0/XXXX`,
        T_MATRIX: `${matrix.url}/`,
        T_MATRIX_TOKEN: 'matrix-token',
        T_GITLAB: gitlab.url,
        T_GITLAB_TOKEN: 'glpat-token',
        T_INCIDENT: 'ops/mail#42',
        T_HOOK: `${hook.url}/drbook`,
        T_HOOK_KEY: 'hook-key',
      }),
    });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).not.toMatch(STACK_TRACE);
    expect(result.stdout + result.stderr).not.toMatch(/notify:/);
    const j = journalOf(box);
    const events = sendable(j);
    const started = j.events[0] as Extract<JournalEvent, { type: 'session.started' }>;
    const kinds = events.map((e) => (e.type === 'step.finished' ? `step.${e.outcome}` : e.type));
    expect(kinds).toEqual(['session.started', 'step.done', 'milestone', 'step.done', 'session.ended']);
    const all = [slack, matrix, gitlab, hook].flatMap((s) => s.requests);
    for (const r of all) {
      expect(r.body).not.toContain(secret);
      expect(r.headers['user-agent']).toMatch(/^drbook\/\d/);
      expect(r.headers['content-type']).toBe('application/json');
    }

    // Slack: POST to the webhook URL, {"text"}: a header line, then a line an event, &<> escaped.
    const slackLines: string[] = [];
    for (const r of slack.requests) {
      expect(r.method).toBe('POST');
      expect(r.path).toBe('/services/T0/B0/XXXX');
      expect(r.headers.authorization).toBeUndefined();
      const body = json(r.body);
      expect(Object.keys(body)).toEqual(['text']);
      const [head, ...lines] = String(body.text).split('\n');
      expect(head).toBe(`drbook · mail · ${started.session}`);
      slackLines.push(...lines);
    }
    expect(slackLines).toHaveLength(5);
    expect(slackLines[0]).toBe(`Live run of mail "Restore &lt;mail&gt; &amp; co" started by ${started.operator.user}@${started.operator.host} (2 steps)`);
    expect(slackLines[1]).toMatch(/^✓ \[1\/2\] Detect with \*\*\* \(\d/);
    expect(slackLines[2]).toBe('Milestone: Detected');
    expect(slackLines[3]).toMatch(/^✓ \[2\/2\] Fix &lt;it&gt; \(\d/);
    expect(slackLines[4]).toMatch(/^Session completed: 2 done, 0 by hand, 0 skipped, 0 failed; total /);

    // Matrix: PUT …/rooms/{room}/send/m.room.message/{txnId}, the txnId from the batch's last event hash.
    const matrixLines: string[] = [];
    let lastSeq = 0;
    for (const r of matrix.requests) {
      expect(r.method).toBe('PUT');
      const m = /^\/_matrix\/client\/v3\/rooms\/!room%3Aexample\.org\/send\/m\.room\.message\/drbook-([0-9a-f]{64})$/.exec(r.path);
      expect(m, r.path).not.toBeNull();
      expect(r.headers.authorization).toBe('Bearer matrix-token');
      const body = json(r.body);
      expect(body.msgtype).toBe('m.text');
      const lines = String(body.body).split('\n').slice(1);
      matrixLines.push(...lines);
      const batchEvents = events.filter((e) => e.seq > lastSeq).slice(0, lines.length);
      lastSeq = batchEvents[batchEvents.length - 1]!.seq;
      expect(m![1]).toBe(j.hashes.get(lastSeq));
    }
    expect(matrixLines).toEqual(slackLines.map((l) => l.replace('&lt;mail&gt; &amp;', '<mail> &').replace('&lt;it&gt;', '<it>')));

    // GitLab: the incident looked up once, then one timelineEventCreate an event; milestones carry GitLab's tag.
    expect(gitlab.requests[0]!.path).toBe('/api/graphql');
    expect(json(gitlab.requests[0]!.body).variables).toEqual({ project: 'ops/mail', iid: '42' });
    const mutations = gitlab.requests.slice(1);
    expect(mutations).toHaveLength(5);
    mutations.forEach((r, i) => {
      expect(r.method).toBe('POST');
      expect(r.path).toBe('/api/graphql');
      expect(r.headers.authorization).toBe('Bearer glpat-token');
      const body = json(r.body) as { query: string; variables: { input: Record<string, unknown> } };
      expect(body.query).toMatch(/^mutation drbookTimelineEvent\(\$input: TimelineEventCreateInput!\) \{ timelineEventCreate\(input: \$input\)/);
      const input = body.variables.input;
      expect(input.incidentId).toBe('gid://gitlab/Issue/777');
      expect(input.occurredAt).toBe(events[i]!.ts);
      expect(String(input.note).startsWith('drbook mail: ')).toBe(true);
      if (events[i]!.type === 'milestone') expect(input.timelineEventTagNames).toEqual(['Impact detected']);
      else expect(input).not.toHaveProperty('timelineEventTagNames');
    });

    // Webhook: only the selected kinds, one event a request, the line's hash as the idempotency key, HMAC-SHA256 of the body.
    const selected = events.filter((e) => e.type === 'step.finished' || e.type === 'milestone');
    expect(hook.requests).toHaveLength(selected.length);
    hook.requests.forEach((r, i) => {
      const event = selected[i]!;
      expect(r.method).toBe('POST');
      expect(r.path).toBe('/drbook');
      expect(r.headers['idempotency-key']).toBe(j.hashes.get(event.seq));
      expect(r.headers['x-drbook-signature-256']).toBe(`sha256=${createHmac('sha256', 'hook-key').update(r.body).digest('hex')}`);
      const body = json(r.body);
      expect(body).toMatchObject({
        drbook: 1,
        id: j.hashes.get(event.seq),
        session: started.session,
        runbook: { id: 'mail', title: 'Restore <mail> & co' },
        mode: 'live',
        seq: event.seq,
        recordedAt: event.ts,
        occurredAt: event.ts,
      });
      expect(r.headers['x-drbook-event']).toBe(body.kind);
      expect((body.event as { type: string }).type).toBe(event.type);
    });

    // The status: nothing waiting anywhere, and the export says where the timeline went.
    const sessions = await runCli(['sessions'], { cwd: box.cwd, env: env(box, {}) });
    expect(sessions.stdout).toMatch(/NOTIFY\n.*slack sent, matrix sent, gitlab sent, webhook sent/);
    const exported = await runCli(['export'], { cwd: box.cwd, env: env(box, {}) });
    expect(exported.stdout).toContain(
      '- **Timeline sent to:** slack (slack, all 5 events); matrix (matrix, all 5 events); gitlab (gitlab, all 5 events); webhook (webhook, all 3 events)',
    );
  });
});

function hookRunbook(box: Sandbox, extra = '', steps = '  - { id: one, title: One, run: echo one }\n  - { id: two, title: Two, run: echo two }\n'): string {
  const file = join(box.dir, 'hook.yml');
  writeFileSync(
    file,
    `drbook: 1\nid: hook\ntitle: Hooked\nnotify:\n  - { type: webhook, url_env: T_HOOK, token_env: T_HOOK_KEY, interval: 0s, backoff: 50ms${extra} }\nsteps:\n${steps}`,
  );
  return file;
}

describe('failures', () => {
  it('a sink down for its first tries, then a 429 with Retry-After: journaled once per kind, one line on screen, every event delivered once', async () => {
    const box = sandbox();
    let down = true;
    let refusedAfterUp = 0;
    const hook = await server(() => {
      if (down) return 'drop';
      refusedAfterUp++;
      if (refusedAfterUp <= 2) return 'drop';
      if (refusedAfterUp === 3) return { status: 429, headers: { 'Retry-After': '1' } };
      return { status: 200 };
    });
    const e = env(box, { T_HOOK: hook.url, T_HOOK_KEY: 'k' });
    const walk = await runCli(['run', hookRunbook(box), '--yes'], { cwd: box.cwd, env: e, timeoutMs: 20_000 });
    expect(walk.code, walk.stderr).toBe(0);
    expect(walk.stderr).not.toMatch(STACK_TRACE);
    // Down the whole walk: tried again and again, said once, journaled once.
    expect(hook.requests.length).toBeGreaterThan(1);
    const screen = walk.stdout + walk.stderr;
    expect(screen.match(/notify: webhook: cannot connect/g)).toHaveLength(1);
    expect(screen).toMatch(/notify: \d+ events not sent to webhook yet: drbook notify \S+ --flush/);
    const during = journalOf(box).events.filter((x) => x.type === 'notify.failed');
    expect(during).toEqual([expect.objectContaining({ sink: 'webhook', kind: 'network' })]);
    const listed = await runCli(['sessions'], { cwd: box.cwd, env: e });
    expect(listed.stdout).toMatch(/webhook \d+ waiting/);

    down = false;
    const firstFlushRequest = hook.requests.length;
    const flush = await runCli(['notify', '--flush'], { cwd: box.cwd, env: e, timeoutMs: 30_000 });
    expect(flush.code, flush.stderr).toBe(0);
    expect(flush.stderr).not.toMatch(STACK_TRACE);
    expect(flush.stderr.match(/notify: webhook: HTTP 429 too many requests, retry after 1\.0s/g)).toHaveLength(1);
    const tries = hook.requests.slice(firstFlushRequest);
    // Same batch, same key, through two drops and the 429; the try after the 429 waited Retry-After.
    expect(new Set(tries.slice(0, 4).map((r) => r.headers['idempotency-key'])).size).toBe(1);
    expect(tries[3]!.at - tries[2]!.at).toBeGreaterThanOrEqual(1000);
    const j = journalOf(box);
    const acked = hook.requests.filter((r) => r.outcome === 200).map((r) => r.headers['idempotency-key']);
    expect(acked).toEqual(sendable(j).map((x) => j.hashes.get(x.seq)));
    const failures = j.events.filter((x) => x.type === 'notify.failed').map((x) => (x as { kind: string }).kind);
    expect(failures).toEqual(['network', 'rate-limited']);
    const after = await runCli(['notify'], { cwd: box.cwd, env: e });
    expect(after.stdout).toMatch(/webhook\s+webhook\s+\d+\s+0\s+all sent/);
  });

  it('a 4xx that will not succeed stops the sink at once, with one clear line and the events left waiting', async () => {
    const box = sandbox();
    const hook = await server(() => ({ status: 401, body: '{"error":"bad token"}' }));
    const e = env(box, { T_HOOK: hook.url, T_HOOK_KEY: 'k' });
    const walk = await runCli(['run', hookRunbook(box), '--yes'], { cwd: box.cwd, env: e, timeoutMs: 20_000 });
    expect(walk.code, walk.stderr).toBe(0);
    expect(hook.requests).toHaveLength(1);
    const screen = walk.stdout + walk.stderr;
    expect(screen.match(/notify: webhook stopped: HTTP 401; \d+ events? waiting: fix it, then drbook notify \S+ --flush/g)).toHaveLength(1);
    expect(screen).not.toContain(hook.url);
    const failed = journalOf(box).events.filter((x) => x.type === 'notify.failed');
    expect(failed).toEqual([expect.objectContaining({ sink: 'webhook', kind: 'http-4xx', permanent: true })]);
    const status = await runCli(['notify', '--json'], { cwd: box.cwd, env: e });
    const sinks = (JSON.parse(status.stdout) as { sinks: { waiting: number; stopped?: string }[] }).sinks;
    expect(sinks[0]!.stopped).toBe('HTTP 401');
    expect(sinks[0]!.waiting).toBe(sendable(journalOf(box)).length);
  });
});

describe('never lost, never twice, never in the way', () => {
  it('kill -9 while a request is in flight, then drbook notify --flush: each event acknowledged exactly once, the in-flight one under its first key', async () => {
    const box = sandbox();
    let holding = true;
    const hook = await server(() => (holding ? 'hold' : { status: 200 }));
    const matrix = await server(() => (holding ? 'hold' : { status: 200, body: '{"event_id":"$e"}' }));
    const runbook = hookRunbook(
      box,
      '',
      '  - { id: one, title: One, run: echo one }\n  - { id: two, title: Two, run: echo two, milestone: mitigated }\n  - { id: nap, title: Nap, run: sleep 60 }\n',
    );
    const text = readFileSync(runbook, 'utf8').replace(
      'steps:\n',
      "  - { type: matrix, url_env: T_MATRIX, token_env: T_MATRIX_TOKEN, room: '!r:example.org', interval: 0s, backoff: 50ms }\nsteps:\n",
    );
    writeFileSync(runbook, text);
    const e = env(box, { T_HOOK: hook.url, T_HOOK_KEY: 'k', T_MATRIX: matrix.url, T_MATRIX_TOKEN: 't' });
    const child = spawn(process.execPath, [BIN, 'run', runbook, '--yes'], {
      cwd: box.cwd,
      env: { PATH: process.env.PATH, NO_COLOR: '1', ...e },
      stdio: 'ignore',
      detached: true,
    });
    const exited = new Promise<void>((r) => child.on('exit', () => r()));
    await hook.waitFor('the webhook request in flight', () => hook.requests.length === 1);
    await matrix.waitFor('the matrix request in flight', () => matrix.requests.length === 1);
    await hook.waitFor('the nap step running', () => journalOf(box).events.some((x) => x.type === 'command.spawned' && x.step === 'nap'));
    process.kill(-child.pid!, 'SIGKILL');
    await exited;
    await hook.waitFor('the held requests to be dropped by the kill', () => hook.requests[0]!.outcome === 'gone' && matrix.requests[0]!.outcome === 'gone');
    const heldHook = hook.requests[0]!.headers['idempotency-key'];
    const heldTxn = matrix.requests[0]!.path;

    holding = false;
    const note = await runCli(['note', 'provider confirms the fire'], { cwd: box.cwd, env: e });
    expect(note.code, note.stderr).toBe(0);
    const flush = await runCli(['notify', '--flush'], { cwd: box.cwd, env: e, timeoutMs: 30_000 });
    expect(flush.code, flush.stderr).toBe(0);
    expect(flush.stderr).not.toMatch(STACK_TRACE);

    const j = journalOf(box);
    const expected = sendable(j);
    expect(expected.map((x) => x.type)).toEqual(['session.started', 'step.finished', 'step.finished', 'milestone', 'note']);
    // Webhook: the resend of the in-flight event carries its first key; every event acknowledged once, in order.
    expect(hook.requests[1]!.headers['idempotency-key']).toBe(heldHook);
    const acked = hook.requests.filter((r) => r.outcome === 200).map((r) => r.headers['idempotency-key']);
    expect(acked).toEqual(expected.map((x) => j.hashes.get(x.seq)));
    // Matrix: the in-flight batch again under the same txnId, then the rest; every line acknowledged once.
    expect(matrix.requests[1]!.path).toBe(heldTxn);
    const txns = matrix.requests.filter((r) => r.outcome === 200).map((r) => r.path);
    expect(new Set(txns).size).toBe(txns.length);
    const lines = matrix.requests.filter((r) => r.outcome === 200).flatMap((r) => String(json(r.body).body).split('\n').slice(1));
    expect(lines).toHaveLength(expected.length);
    expect(lines[0]).toMatch(/^Live run of hook "Hooked" started by /);
    expect(lines[4]).toMatch(/: provider confirms the fire$/);
    // A second flush has nothing left to send.
    const again = await runCli(['notify', '--flush'], { cwd: box.cwd, env: e });
    expect(again.code).toBe(0);
    expect(hook.requests.filter((r) => r.outcome === 200)).toHaveLength(expected.length);
  });

  it('a sink that never answers: the walk goes on to its end while the request hangs, and leaves the events for later', async () => {
    const box = sandbox();
    const mark = join(box.cwd, 'request-arrived');
    const hook = await server(() => {
      writeFileSync(mark, '');
      return 'hold';
    });
    // The first step waits until the sink has the request in hand: every later step runs while it hangs.
    const runbook = hookRunbook(
      box,
      '',
      `  - { id: wait, title: Wait for the request, run: 'while [ ! -e "${mark}" ]; do sleep 0.02; done' }\n  - { id: two, title: Two, run: echo two }\n  - { id: three, title: Three, run: echo three }\n`,
    );
    const walk = await runCli(['run', runbook, '--yes'], { cwd: box.cwd, env: env(box, { T_HOOK: hook.url, T_HOOK_KEY: 'k' }), timeoutMs: 30_000 });
    expect(walk.code, walk.stderr).toBe(0);
    const j = journalOf(box);
    const finished = j.events.filter((x) => x.type === 'step.finished').map((x) => [(x as { step: string }).step, (x as { outcome: string }).outcome]);
    expect(finished).toEqual([
      ['wait', 'done'],
      ['two', 'done'],
      ['three', 'done'],
    ]);
    expect(j.events.some((x) => x.type === 'session.ended')).toBe(true);
    // No request was ever answered: the walk never waited for one.
    expect(hook.requests.length).toBeGreaterThan(0);
    expect(hook.requests.every((r) => r.outcome === 'held' || r.outcome === 'gone')).toBe(true);
    expect(walk.stdout + walk.stderr).toContain(
      `notify: ${sendable(j).length} events not sent to webhook yet: drbook notify ${(j.events[0] as { session: string }).session} --flush`,
    );
    expect(walk.stderr).not.toMatch(STACK_TRACE);
  });
});
