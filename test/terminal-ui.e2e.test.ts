/**
 * The terminal UI in a real pseudo-terminal (tmux): what the operator sees and what their
 * keys do, including Ctrl-C, keys typed while a command ran, NO_COLOR and narrow screens.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTmux, tmuxAvailable, type TmuxOptions, type TmuxSession } from './helpers/tmux.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const driver = join(root, 'test', 'fixtures', 'ui-driver.mjs');
const built = join(root, 'dist', 'adapters', 'terminal-ui.js');

const sessions: TmuxSession[] = [];

async function drive(mode: 'all' | 'typeahead' | 'step', options: Partial<TmuxOptions> = {}): Promise<TmuxSession> {
  const session = await startTmux({
    cmd: process.execPath,
    args: [driver, mode],
    cwd: root,
    ...options,
    // Colour is decided by each test, not by whatever the test runner inherited.
    env: { NO_COLOR: undefined, FORCE_COLOR: undefined, ...options.env },
  });
  sessions.push(session);
  return session;
}

type Stage = 'action' | 'failure' | 'new_ip' | 'dns_token' | 'dns_plan' | 'confirm' | 'command';
const STAGES: { stage: Stage; prompt: string; keys: string[] }[] = [
  { stage: 'action', prompt: 'Step 5/12: what now?', keys: ['Enter'] },
  { stage: 'failure', prompt: 'The step failed. What now?', keys: ['Enter'] },
  { stage: 'new_ip', prompt: 'IPv4 address of the new server', keys: ['10.0.0.7', 'Enter'] },
  { stage: 'dns_token', prompt: 'DNS API token', keys: ['abcd', 'Enter'] },
  { stage: 'dns_plan', prompt: 'Choose dns_plan', keys: ['Enter'] },
  { stage: 'confirm', prompt: 'Is the incident posted', keys: ['Enter'] },
  { stage: 'command', prompt: 'Edit the command', keys: ['Enter'] },
];

/** Answers every question before `stage` with its default, then waits for that question. */
async function reach(session: TmuxSession, stage: Stage): Promise<void> {
  for (const s of STAGES) {
    await session.waitFor(s.prompt);
    if (s.stage === stage) return;
    await session.sendKeys(...s.keys);
    await session.waitFor(`ANSWER ${s.stage}=`);
  }
}

describe.skipIf(!tmuxAvailable())('terminal UI in a pseudo-terminal', () => {
  beforeAll(() => {
    if (!existsSync(built)) throw new Error(`the build did not produce ${built}`);
  }, 120_000);

  afterEach(async () => {
    await Promise.all(sessions.splice(0).map((s) => s.kill()));
  });

  it('shows the step, then takes one-key answers', async () => {
    const s = await drive('all');
    const screen = await s.waitFor('Step 5/12: what now?');
    expect(screen).toContain('[5/12] Point mail.example.org at the new IP');
    expect(screen).toContain('Change the A record at the registrar.');
    expect(screen).toContain('check with dig +short mail.example.org');
    expect(screen).toContain('DNS provider runbook\n    /srv/docs/dns.md#change-a-record\n    https://wiki.example.org/dns');
    expect(screen).toContain('Command (runs in /srv/ops/tools):\n$ ./dns-set A mail.example.org 10.0.0.7');
    expect(screen).toContain('d) mark done: I did it by hand');

    await s.sendKeys('x', 'Enter');
    await s.waitFor(`isn't an available option`);
    await s.sendKeys('BSpace', 's', 'Enter');
    await s.waitFor('ANSWER action=skip');

    const failed = await s.waitFor('The step failed. What now?');
    expect(failed).toContain('exit 2 after 1.2s');
    expect(failed).toContain('Step 5/12 failed: exit 2 (expected 0)');
    await s.sendKeys('e', 'Enter');
    await s.waitFor('ANSWER failure=edit');
  });

  it('refuses a value that does not match the pattern, says why, and asks again', async () => {
    const s = await drive('all');
    await reach(s, 'new_ip');
    await s.sendKeys('10.0.0', 'Enter');
    const refused = await s.waitFor('must match ^\\d{1,3}(\\.\\d{1,3}){3}$');
    expect(refused).not.toContain('ANSWER new_ip=');
    // The refused text stays on the line to be fixed, not retyped.
    await s.sendKeys('.9', 'Enter');
    await s.waitFor('ANSWER new_ip=10.0.0.9');
  });

  it('masks a secret as it is typed', async () => {
    const s = await drive('all');
    await reach(s, 'dns_token');
    await s.type('hunter2-secret');
    await s.waitFor('*'.repeat(14));
    await s.sendKeys('Enter');
    const screen = await s.waitFor('ANSWER dns_token=<14 chars>');
    expect(screen).not.toContain('hunter2');
  });

  it('moves a select with the arrow keys', async () => {
    const s = await drive('all');
    await reach(s, 'dns_plan');
    const menu = await s.waitFor('wait: Wait for the provider');
    expect(menu).toContain('reuse: Point the old name at the new IP');
    await s.sendKeys('Down', 'Down', 'Up', 'Down', 'Enter');
    await s.waitFor('ANSWER dns_plan=wait');
  });

  it('confirms, edits a prefilled command, and exits cleanly', async () => {
    const s = await drive('all');
    await reach(s, 'confirm');
    await s.sendKeys('n', 'Enter');
    await s.waitFor('ANSWER confirm=false');
    await s.waitFor('Edit the command');
    await s.sendKeys('BSpace', '9', 'Enter');
    await s.waitFor('ANSWER command=./dns-set A mail.example.org 10.0.0.9');
    const screen = await s.waitFor('DONE');
    expect(screen).toContain('Warning: the runbook file changed since the session started');
    expect(await s.waitForExit()).toBe(0);
  });

  it.each(['action', 'dns_token', 'dns_plan'] as const)('Ctrl-C at the %s prompt pauses: exit 130', async (stage) => {
    const s = await drive('all');
    await reach(s, stage);
    await s.sendKeys('C-c');
    await s.waitFor('INTERRUPTED');
    expect(await s.waitForExit()).toBe(130);
  });

  it('throws away keys typed while a command ran', async () => {
    const s = await drive('typeahead');
    await s.waitFor('Ready to run it?');
    await s.sendKeys('Enter');
    await s.waitFor('SLEEPING');
    // A whole answer (abort) and a half-typed one, both meant for nobody.
    await s.sendKeys('a', 'Enter', 'a');
    expect(await s.screen(), 'the keys must be typed before the prompt appears').not.toContain('what now?');
    await s.waitFor('Step 5/12: what now?');
    await s.sendKeys('Enter');
    await s.waitFor(/ANSWER action=\w+/);
    expect(await s.screen()).toContain('ANSWER action=run');
    expect(await s.waitForExit()).toBe(0);
  });

  it('honours NO_COLOR: no escape sequence on the screen', async () => {
    const colored = await drive('step');
    await colored.waitFor('Step 5/12: what now?');
    // The control: without NO_COLOR the same screen does carry colour.
    expect(await colored.screen({ escapes: true })).toMatch(/\x1b\[/);

    const plain = await drive('step', { env: { NO_COLOR: '1' } });
    await plain.waitFor('Step 5/12: what now?');
    expect(await plain.screen({ escapes: true })).not.toMatch(/\x1b/);
    await plain.sendKeys('s', 'Enter');
    await plain.waitFor('ANSWER action=skip');
  });

  it('asks line by line on TERM=dumb, with no escape sequences', async () => {
    const s = await drive('all', { env: { TERM: 'dumb' } });
    await s.waitFor('Choice [r]:');
    await s.sendKeys('d', 'Enter');
    await s.waitFor('ANSWER action=done');
    // Wait for the next question itself: keys sent before it is asked are thrown away.
    await s.waitFor('The step failed. What now?');
    await s.sendKeys('s', 'Enter');
    await s.waitFor('ANSWER failure=skip');
    await s.waitFor('[new_ip]:');
    await s.sendKeys('nope', 'Enter');
    await s.waitFor('> must match');
    await s.sendKeys('10.1.2.3', 'Enter');
    await s.waitFor('ANSWER new_ip=10.1.2.3');
    await s.waitFor('[dns_token]:');
    await s.type('s3cret-value');
    await s.sendKeys('Enter');
    await s.waitFor('ANSWER dns_token=<12 chars>');
    await s.waitFor('Number or value:');
    await s.sendKeys('2', 'Enter');
    await s.waitFor('ANSWER dns_plan=rename');
    await s.waitFor('[Y/n]');
    await s.sendKeys('Enter');
    await s.waitFor('ANSWER confirm=true');
    await s.waitFor('Edit the command:');
    await s.sendKeys('Enter');
    await s.waitFor('ANSWER command=./dns-set A mail.example.org 10.0.0.7');
    expect(await s.waitForExit()).toBe(0);
    const screen = await s.screen({ escapes: true });
    expect(screen).not.toMatch(/\x1b/);
    expect(screen).not.toContain('s3cret');
  });

  it('fits a 40-column terminal', async () => {
    const s = await drive('step', { cols: 40 });
    const screen = await s.waitFor('r) run the command now');
    expect(screen).toContain('[5/12] Point mail.example.org at the new\nIP');
    expect(screen).toContain('$ ./dns-set A mail.example.org 10.0.0.7');
    // Paths and URLs are never broken, so they can be copied whole.
    expect(screen).toContain('    https://status.example.org/internal');
    await s.sendKeys('r', 'Enter');
    await s.waitFor('ANSWER action=run');
    expect(await s.waitForExit()).toBe(0);
  });
});
