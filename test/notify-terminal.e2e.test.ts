/**
 * A failing sink as the operator sees it: the built binary in tmux, a step's question open,
 * a sink answering 503 again and again in the background. The failure is one line on the
 * screen however many retries follow, the question still takes its answer, and the walk
 * ends normally. Every wait is for text on the screen or a request at the server.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BIN } from './helpers/run-cli.js';
import { startSinkServer, type SinkServer } from './helpers/sink-server.js';
import { startTmux, tmuxAvailable, type TmuxSession } from './helpers/tmux.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

describe.skipIf(!tmuxAvailable())('a failing sink in a terminal walk', () => {
  it('says so once while it retries behind the question, and the walk goes on', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'drbook-notify-tty-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const hook: SinkServer = await startSinkServer(() => ({ status: 503 }));
    cleanups.push(() => hook.close());
    const runbook = join(dir, 'rb.yml');
    writeFileSync(
      runbook,
      `drbook: 1
id: tty
title: In a terminal
notify:
  - { type: webhook, url_env: T_HOOK, token_env: T_HOOK_KEY, interval: 0s, backoff: 50ms }
steps:
  - { id: call, title: Call the provider, confirm: Did the provider answer? }
  - { id: post, title: Post the status page }
`,
    );
    const s: TmuxSession = await startTmux({
      cmd: process.execPath,
      args: [BIN, 'run', runbook],
      cwd: dir,
      env: { DRBOOK_HOME: join(dir, 'home'), NO_COLOR: '1', FORCE_COLOR: undefined, T_HOOK: hook.url, T_HOOK_KEY: 'k' },
    });
    cleanups.push(() => s.kill());
    await s.waitFor('Step 1/2: what now?');
    // Several tries behind the open question.
    await hook.waitFor('three tries', () => hook.requests.length >= 3);
    const during = await s.waitFor('notify: webhook: HTTP 503; retrying in the background');
    expect(during.match(/notify: webhook: HTTP 503/g)).toHaveLength(1);
    await s.sendKeys('Enter');
    await s.waitFor('Did the provider answer?');
    await s.sendKeys('Enter');
    await s.waitFor('Step 2/2: what now?');
    await s.sendKeys('Enter');
    const end = await s.waitFor(/notify: \d+ events not sent to webhook yet: drbook notify \S+ --flush/);
    expect(await s.waitForExit()).toBe(0);
    expect(end.match(/notify: webhook: HTTP 503/g)).toHaveLength(1);
    expect(end).not.toMatch(/^\s+at /m);
    const sessions = join(dir, 'home', 'sessions');
    const file = readdirSync(sessions).find((f) => f.endsWith('.jsonl'))!;
    const events = readFileSync(join(sessions, file), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; outcome?: string; kind?: string });
    expect(events.filter((e) => e.type === 'step.finished').map((e) => e.outcome)).toEqual(['done', 'done']);
    expect(events.filter((e) => e.type === 'notify.failed').map((e) => e.kind)).toEqual(['http-5xx']);
  });
});
