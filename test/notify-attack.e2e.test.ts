/**
 * Sinks that answer in ways a webhook URL can go wrong in practice: a redirect (the URL moved,
 * http to https) and a URL carrying user:password. Neither will ever succeed as configured, so
 * the sink stops at once with a message saying why, instead of retrying as "cannot connect".
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { JournalEvent } from '../src/core/journal-events.js';
import { parseJournal } from '../src/core/journal-parse.js';
import { ensureBuilt, runCli, STACK_TRACE, type Sandbox } from './helpers/run-cli.js';
import { sinkFixtures } from './helpers/sink-server.js';

beforeAll(ensureBuilt);

const { server, sandbox } = sinkFixtures();

function failures(box: Sandbox): Extract<JournalEvent, { type: 'notify.failed' }>[] {
  const dir = join(box.home, 'sessions');
  const file = readdirSync(dir).find((f) => f.endsWith('.jsonl'))!;
  return parseJournal(readFileSync(join(dir, file), 'utf8')).events.filter(
    (e): e is Extract<JournalEvent, { type: 'notify.failed' }> => e.type === 'notify.failed',
  );
}

async function walk(box: Sandbox, url: string) {
  const runbook = join(box.dir, 'mail.yml');
  writeFileSync(
    runbook,
    'drbook: 1\nid: mail\ntitle: Mail\nnotify:\n  - { type: slack, url_env: T_SLACK, interval: 0s, backoff: 10ms }\nsteps:\n  - id: a\n    title: A\n    run: echo a\n',
  );
  return runCli(['run', runbook, '--yes'], {
    cwd: box.cwd,
    timeoutMs: 20_000,
    env: { HOME: box.home, DRBOOK_HOME: box.home, DRBOOK_DIR: box.dir, T_SLACK: url },
  });
}

describe('a sink URL that can never be delivered to as written', () => {
  it('a 3xx answer stops the sink after one request, journaled as a redirect, not retried as a network error', async () => {
    const box = sandbox();
    const sink = await server(() => ({ status: 301, headers: { Location: 'https://elsewhere.example/hook' } }));
    const result = await walk(box, `${sink.url}/hook`);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).not.toMatch(STACK_TRACE);
    expect(sink.requests).toHaveLength(1);
    const failed = failures(box);
    expect(failed.map((f) => [f.kind, f.permanent])).toEqual([['redirect', true]]);
    expect(failed[0]!.message).toMatch(/HTTP 301.*redirect/);
    expect(result.stdout + result.stderr).toMatch(/notify: slack stopped: HTTP 301.*redirect/);
  });

  it('user:password in the URL stops the sink before any request, and the password reaches neither screen nor journal', async () => {
    const box = sandbox();
    const sink = await server();
    const password = 'pw-SECRET-9183';
    const result = await walk(box, sink.url.replace('http://', `http://ops:${password}@`) + '/hook');
    expect(result.code, result.stderr).toBe(0);
    expect(sink.requests).toHaveLength(0);
    const failed = failures(box);
    expect(failed.map((f) => [f.kind, f.permanent])).toEqual([['config', true]]);
    expect(failed[0]!.message).toMatch(/\$T_SLACK .*user:password/);
    expect(result.stdout + result.stderr).toMatch(/notify: slack stopped: \$T_SLACK .*user:password/);
    const dir = join(box.home, 'sessions');
    for (const f of readdirSync(dir, { recursive: true, withFileTypes: true })) {
      if (f.isFile()) expect(readFileSync(join(f.parentPath, f.name), 'utf8')).not.toContain(password);
    }
    expect(result.stdout + result.stderr).not.toContain(password);
  });

  it.each([
    ['seconds', () => '3600'],
    ['a date', () => new Date(Date.now() + 86_400_000).toUTCString()],
  ])('notify --flush does not sit out a Retry-After of an hour (%s): it ends after one request, exit 1, saying when to retry', async (_what, retryAfter) => {
    const box = sandbox();
    const down = await server(() => 'drop');
    const walked = await walk(box, `${down.url}/hook`);
    expect(walked.code, walked.stderr).toBe(0);
    const sink = await server(() => ({ status: 429, headers: { 'Retry-After': retryAfter() } }));
    const flushed = await runCli(['notify', '--flush'], {
      cwd: box.cwd,
      timeoutMs: 25_000,
      env: { HOME: box.home, DRBOOK_HOME: box.home, DRBOOK_DIR: box.dir, T_SLACK: `${sink.url}/hook` },
    });
    expect(flushed.code, flushed.stderr).toBe(1);
    expect(flushed.stderr).not.toMatch(STACK_TRACE);
    expect(sink.requests).toHaveLength(1);
    expect(flushed.stdout + flushed.stderr).toMatch(/HTTP 429 too many requests, retry after/);
    expect(flushed.stderr).toMatch(/still waiting: slack 3/);
  });
});
