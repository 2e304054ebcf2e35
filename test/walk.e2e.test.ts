/**
 * The walk end to end: the built binary, in a real pseudo-terminal (tmux), answered by
 * keys, each session with its own DRBOOK_HOME, and every journal it writes checked event
 * by event (types in order, seq 1..N, the prev hash chain, modes and outcomes).
 *
 * Every wait is for text on the screen, with a deadline: no sleep-and-hope.
 *
 * The binary runs from a private snapshot of the build (bin/, dist/, package.json and a
 * link to node_modules), so another test file rebuilding dist/ at the same time cannot
 * hand this one a half-written module.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import {
  closeSync,
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { EventOf, EventType, JournalEvent } from '../src/core/journal-events.js';
import type * as JournalParse from '../src/core/journal-parse.js';
import type { SessionSummary } from '../src/core/session-summary.js';
import { startTmux, tmuxAvailable, type TmuxSession } from './helpers/tmux.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const fixtures = join(root, 'test', 'fixtures', 'walk');
const mailServer = join(root, 'runbooks', 'mail-server.yml');

let snapshot: string;
let drbook: string;
let journalParse: typeof JournalParse;

const temps: string[] = [];
const sessions: TmuxSession[] = [];
/** Processes a test's commands started: whatever a failed test leaves running is stopped. */
const leftovers: { pid: number; start: string | undefined }[] = [];

function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `drbook-walk-${prefix}-`));
  temps.push(dir);
  return dir;
}

// ---------------------------------------------------------------------------------------
// The build

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((name) => join(dir, name))
    .filter((path) => statSync(path).isFile());
}

/**
 * A private copy of the built binary, so nothing another process does to dist/ meanwhile
 * can reach these tests. test/global-setup.ts built dist/ before any test file ran; the
 * copy is checked against a file being written while it was taken.
 */
function prepareSnapshot(): string {
  const dir = mkdtempSync(join(tmpdir(), 'drbook-walk-bin-'));
  temps.push(dir);
  const dist = join(dir, 'dist');
  // Not the single file (drbook.mjs) nor files being written: bundle.e2e.test.ts rebuilds the
  // single file meanwhile, through a temporary file, and the walk needs neither.
  const needed = (path: string) => !/\.tmp\.|drbook\.mjs$/.test(path);
  const before = Date.now();
  cpSync(join(root, 'dist'), dist, { recursive: true, filter: needed });
  const changed = filesUnder(dist).filter((f) => statSync(join(root, 'dist', relative(dist, f))).mtimeMs >= before);
  if (changed.length > 0) throw new Error(`dist/ changed while the tests copied it (${changed[0]}): is a build running?`);
  if (!existsSync(join(dist, 'drbook.cjs'))) throw new Error(`${join(root, 'dist', 'drbook.cjs')} is missing: run npm run build`);
  mkdirSync(join(dir, 'bin'));
  copyFileSync(join(root, 'bin', 'drbook.cjs'), join(dir, 'bin', 'drbook.cjs'));
  copyFileSync(join(root, 'package.json'), join(dir, 'package.json'));
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'), 'dir');
  return dir;
}

// ---------------------------------------------------------------------------------------
// The terminal

interface Walker {
  s: TmuxSession;
  home: string;
  work: string;
}

/** drbook ARGS in a fresh pseudo-terminal, with its own DRBOOK_HOME and working directory. */
async function drbookInTerminal(args: string[], options: { env?: Record<string, string | undefined>; work?: string } = {}): Promise<Walker> {
  const home = tempDir('home');
  const work = options.work ?? tempDir('work');
  const s = await startTmux({
    cmd: process.execPath,
    args: [drbook, ...args],
    cwd: work,
    cols: 120,
    rows: 50,
    env: {
      DRBOOK_HOME: home,
      DRBOOK_DIR: undefined,
      NO_COLOR: undefined,
      FORCE_COLOR: undefined,
      DNS_API_TOKEN: undefined,
      WALK_API_TOKEN: undefined,
      ...options.env,
    },
  });
  sessions.push(s);
  return { s, home, work };
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Polls the screen until `check` holds, or throws with the screen and what was awaited. */
async function waitUntil(s: TmuxSession, what: string, check: (screen: string) => boolean, timeoutMs = 10_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const screen = await s.screen();
    if (check(screen)) return screen;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; the screen was:\n${screen.replace(/\n+$/, '')}`);
    await new Promise((resolve) => setTimeout(resolve, 40));
  }
}

/** Lines where a prompt with this text was answered (@inquirer marks them ✔). */
function answered(screen: string, prompt: string): number {
  return screen.match(new RegExp(`^✔ ${escapeRegExp(prompt)}`, 'gm'))?.length ?? 0;
}

/** Waits until the question is asked (its line starts with `?`): only then are keys read, earlier ones are thrown away. */
async function asked(s: TmuxSession, prompt: string): Promise<string> {
  const active = new RegExp(`^\\? ${escapeRegExp(prompt)}`, 'm');
  return waitUntil(s, `the question "${prompt}"`, (screen) => active.test(screen));
}

/** Waits for the question, types the keys, and waits until it shows as answered. */
async function answer(s: TmuxSession, prompt: string, ...keys: string[]): Promise<string> {
  const before = answered(await asked(s, prompt), prompt);
  await s.sendKeys(...keys);
  return waitUntil(s, `an answer to "${prompt}"`, (screen) => answered(screen, prompt) > before);
}

const stepPrompt = (position: number, total: number): string => `Step ${position}/${total}: what now?`;
const FAILED = 'The step failed. What now?';

// ---------------------------------------------------------------------------------------
// The journal

interface Session {
  id: string;
  events: JournalEvent[];
  /** `type step` for each event (just `type` for events of no step): the walk at a glance. */
  trail: string[];
}

/** The one session in DRBOOK_HOME, its journal checked line by line. */
function readSession(home: string): Session {
  const dir = join(home, 'sessions');
  const files = readdirSync(dir).filter((f) => f.endsWith('.jsonl'));
  expect(files, 'one session journal').toHaveLength(1);
  const id = files[0]!.replace(/\.jsonl$/, '');
  const text = readFileSync(join(dir, files[0]!), 'utf8');
  expect(text.endsWith('\n'), 'the last line is complete').toBe(true);
  const parsed = journalParse.parseJournal(text);
  expect(parsed.bad).toEqual([]);
  expect(parsed.tornTail).toBeUndefined();
  const { events } = parsed;
  expect(events.length).toBe(text.split('\n').length - 1);
  expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
  expect(journalParse.verifyChain(parsed)).toMatchObject({ ok: true });
  expect(events[0]?.prev).toBeNull();
  let last = 0;
  for (const e of events) {
    expect(e.v).toBe(1);
    expect(e.ts).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    const at = Date.parse(e.ts);
    expect(at).toBeGreaterThanOrEqual(last);
    last = at;
  }
  const started = only(events, 'session.started');
  expect(started.session).toBe(id);
  expect(events[0]).toBe(started);
  const trail = events.map((e) => {
    const step = (e as { step?: string }).step;
    return step === undefined ? e.type : `${e.type} ${step}`;
  });
  return { id, events, trail };
}

function all<T extends EventType>(events: JournalEvent[], type: T): EventOf<T>[] {
  return events.filter((e): e is EventOf<T> => e.type === type);
}

function only<T extends EventType>(events: JournalEvent[], type: T, step?: string): EventOf<T> {
  const found = all(events, type).filter((e) => step === undefined || (e as { step?: string }).step === step);
  expect(found, `one ${type}${step ? ` of ${step}` : ''}`).toHaveLength(1);
  return found[0]!;
}

/** The events of one command run: started, spawned, finished. */
const ran = (step: string): string[] => [`command.started ${step}`, `command.spawned ${step}`, `command.finished ${step}`];

/** The fields of /proc/PID/stat after the command name: state first, start time 20th. */
function procStat(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** Whether a process exists and has not exited (a zombie waiting for its reaper is gone). */
function alive(pid: number): boolean {
  if (!existsSync('/proc/self/stat')) {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  }
  const fields = procStat(pid);
  return fields !== undefined && fields[0] !== 'Z';
}

function readPids(file: string): number[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map(Number);
}

/** drbook without a terminal: stdin is /dev/null, output piped. */
function drbookNoTerminal(args: string[], home: string, cwd: string): { status: number | null; stdout: string; stderr: string; ms: number } {
  const devNull = openSync('/dev/null', 'r');
  const started = Date.now();
  try {
    const result = spawnSync(process.execPath, [drbook, ...args], {
      cwd,
      env: { ...process.env, DRBOOK_HOME: home, DRBOOK_DIR: undefined, NO_COLOR: '1' },
      stdio: [devNull, 'pipe', 'pipe'],
      encoding: 'utf8',
      timeout: 20_000,
    });
    return { status: result.status, stdout: result.stdout, stderr: result.stderr, ms: Date.now() - started };
  } finally {
    closeSync(devNull);
  }
}

// ---------------------------------------------------------------------------------------

beforeAll(async () => {
  snapshot = prepareSnapshot();
  drbook = join(snapshot, 'bin', 'drbook.cjs');
  journalParse = (await import(pathToFileURL(join(snapshot, 'dist', 'core', 'journal-parse.js')).href)) as typeof JournalParse;
}, 120_000);

afterEach(async () => {
  await Promise.all(sessions.splice(0).map((s) => s.kill()));
  // Only a process that is still the one the test saw: a pid may have been reused since.
  for (const { pid, start } of leftovers.splice(0)) {
    if (start === undefined || !alive(pid) || procStat(pid)?.[19] !== start) continue;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // It ended meanwhile.
    }
  }
});

afterAll(() => {
  for (const dir of temps.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!tmuxAvailable())('the walk in a terminal, by keys', () => {
  it('rehearses the whole mail-server runbook', { timeout: 90_000 }, async () => {
    const token = 'drill-token-5f0b2c';
    const { s, home } = await drbookInTerminal(['rehearse', mailServer, '--run-safe']);
    const T = 17;

    // 1. Manual step with a question.
    let screen = await asked(s, stepPrompt(1, T));
    expect(screen).toMatch(/^Rehearsal of Restore the mail server on a new host \(17 steps\) — session \d{8}T\d{6}Z-mail-server$/m);
    expect(screen).toContain('[1/17] Read the monitoring alert\nREHEARSAL\n');
    expect(screen).toContain('d) done: I did it (default)');
    await answer(s, stepPrompt(1, T), 'd', 'Enter');
    await answer(s, 'Does the monitoring show mail.example.org down', 'y', 'Enter');

    // 2. A safe read-only probe: --run-safe executes it, and exit 1 is what it expects.
    screen = await asked(s, stepPrompt(2, T));
    expect(screen).toContain('$ ./scripts/probe-smtp.sh mail.example.org 25\nREHEARSAL: this safe command will be executed (--run-safe)');
    await answer(s, stepPrompt(2, T), 'r', 'Enter');

    // 3. Not safe: shown, never executed; its question is still asked.
    screen = await asked(s, stepPrompt(3, T));
    expect(screen).toContain('nc: connect to mail.example.org port 25 (tcp) timed out: no answer');
    expect(screen).toMatch(/^✔ exit 1 \(expected\) after /m);
    expect(screen).toContain('SIGNUP_EMAIL_VERIFICATION=false\nREHEARSAL: this command will not be executed');
    await answer(s, stepPrompt(3, T), 'r', 'Enter');
    await answer(s, 'Can a test account sign up on app.example.org', 'y', 'Enter');

    // 4. A note first, then done.
    await answer(s, stepPrompt(4, T), 'n', 'Enter');
    await asked(s, 'Note (recorded in the timeline):');
    await s.type('status page posted at 02:50');
    await answer(s, 'Note (recorded in the timeline):', 'Enter');
    await answer(s, stepPrompt(4, T), 'd', 'Enter');
    await answer(s, 'Is the incident posted on the status page and relayed?', 'y', 'Enter');

    // 5. The IPv4 asked at its step: a refused value first, then a good one.
    const ipPrompt = 'IPv4 address of the new server';
    await asked(s, ipPrompt);
    await s.type('10.0.0');
    await s.sendKeys('Enter');
    screen = await waitUntil(s, 'the pattern refusal', (text) => text.includes('must match ^\\d{1,3}(\\.\\d{1,3}){3}$'));
    expect(answered(screen, ipPrompt)).toBe(0);
    await s.sendKeys('C-u');
    await s.type('192.0.2.10');
    screen = await answer(s, ipPrompt, 'Enter');
    expect(screen).toMatch(/^✔ IPv4 address of the new server .*\[new_ip\] 192\.0\.2\.10$/m);
    // A step that only asks is done by the answer: no "done" key.

    // 6-10.
    await answer(s, stepPrompt(6, T), 'r', 'Enter');
    await answer(s, stepPrompt(7, T), 'd', 'Enter');
    await answer(s, 'Can you log in to 192.0.2.10 as your own user with sudo?', 'y', 'Enter');
    await answer(s, stepPrompt(8, T), 'r', 'Enter');
    screen = await answer(s, stepPrompt(9, T), 'r', 'Enter');
    // The backup time was captured by the safe step 8, which really ran.
    expect(screen).toMatch(/borg extract --list ::mail-\d{4}-\d{2}-\d{2}T01:00:00Z /);
    await answer(s, stepPrompt(10, T), 'r', 'Enter');

    // 11. The DNS plan, a choice moved with the arrow keys.
    const planPrompt = 'How does DNS move to the new server? [dns_plan]';
    screen = await asked(s, planPrompt);
    expect(screen).toContain('❯ reuse: Point the old name at the new IP (recommended)');
    screen = await answer(s, planPrompt, 'Down', 'Enter');
    expect(screen).toMatch(/^✔ How does DNS move to the new server\? \[dns_plan\] rename$/m);

    // 12 is skipped by its condition; 13 is not executed in a drill, so its token is not
    // asked: it shows as <dns_token>.
    screen = await asked(s, stepPrompt(13, T));
    expect(screen).toContain('[12/17] Point mail.example.org at 192.0.2.10: skipped, dns_plan is rename (dns_plan == reuse)');
    expect(screen).not.toContain('DNS API token');
    expect(screen).toContain("$ DNS_API_TOKEN='<dns_token>' ./scripts/dns-set.sh A mail2.example.org 192.0.2.10 300");
    await answer(s, stepPrompt(13, T), 'r', 'Enter');

    // 14-17.
    await answer(s, stepPrompt(14, T), 'r', 'Enter');
    await answer(s, stepPrompt(15, T), 'r', 'Enter');
    await answer(s, 'Did a test mail sent by each application arrive?', 'y', 'Enter');
    await answer(s, stepPrompt(16, T), 'd', 'Enter');
    await answer(s, 'Is the incident resolved on the status page and relayed?', 'y', 'Enter');
    await answer(s, stepPrompt(17, T), 'r', 'Enter');
    await answer(s, 'Did a test sign-up on app.example.org receive its confirmation mail?', 'y', 'Enter');

    expect(await s.waitForExit()).toBe(0);
    screen = await s.screen();
    expect(screen).toContain('Rehearsal completed: 16 done, 0 done by hand, 1 skipped, 0 failed');
    expect(screen.match(/^REHEARSAL$/gm)).toHaveLength(16);
    expect(screen).not.toContain(token);

    const { id, events, trail } = readSession(home);
    expect(screen).toContain(`Next: drbook export ${id} > postmortem.md`);
    expect(only(events, 'session.started')).toMatchObject({ mode: 'rehearsal', runbook: { id: 'mail-server', steps: 17, rto: '4h' } });
    expect(trail).toEqual([
      'session.started',
      'var.set monitoring-alert',
      'step.started monitoring-alert',
      'decision monitoring-alert',
      'step.finished monitoring-alert',
      'step.started confirm-outage',
      ...ran('confirm-outage'),
      'step.finished confirm-outage',
      'var.set mitigate-signup',
      'step.started mitigate-signup',
      'command.rehearsed mitigate-signup',
      'decision mitigate-signup',
      'step.finished mitigate-signup',
      'step.started announce-incident',
      'note announce-incident',
      'decision announce-incident',
      'step.finished announce-incident',
      'var.set order-server',
      'step.started order-server',
      'step.finished order-server',
      'step.started ansible-reinstall',
      'command.rehearsed ansible-reinstall',
      'step.finished ansible-reinstall',
      'step.started manual-users-ssh',
      'decision manual-users-ssh',
      'step.finished manual-users-ssh',
      'step.started find-backup',
      ...ran('find-backup'),
      'var.set find-backup',
      'step.finished find-backup',
      'step.started restore-backup',
      'command.rehearsed restore-backup',
      'step.finished restore-backup',
      'step.started first-test',
      ...ran('first-test'),
      'step.finished first-test',
      'var.set choose-dns',
      'step.started choose-dns',
      'step.finished choose-dns',
      'step.finished dns-reuse',
      'var.set dns-rename',
      'var.set dns-rename',
      'step.started dns-rename',
      'command.rehearsed dns-rename',
      'step.finished dns-rename',
      'step.started tls-certificate',
      'command.rehearsed tls-certificate',
      'step.finished tls-certificate',
      'step.started reconfigure-apps',
      'command.rehearsed reconfigure-apps',
      'decision reconfigure-apps',
      'step.finished reconfigure-apps',
      'step.started announce-recovery',
      'decision announce-recovery',
      'step.finished announce-recovery',
      'step.started reenable-signup',
      'command.rehearsed reenable-signup',
      'decision reenable-signup',
      'step.finished reenable-signup',
      'session.ended',
    ]);

    // Only the safe steps ran; every other command was rehearsed and never started.
    const safe = ['confirm-outage', 'find-backup', 'first-test'];
    expect(all(events, 'command.started').map((e) => e.step)).toEqual(safe);
    expect(all(events, 'command.finished').map((e) => [e.step, e.ok])).toEqual(safe.map((step) => [step, true]));
    expect(only(events, 'command.finished', 'confirm-outage')).toMatchObject({ exitCode: 1, signal: null });
    expect(all(events, 'command.rehearsed').map((e) => e.step)).toEqual([
      'mitigate-signup',
      'ansible-reinstall',
      'restore-backup',
      'dns-rename',
      'tls-certificate',
      'reconfigure-apps',
      'reenable-signup',
    ]);
    expect(only(events, 'command.rehearsed', 'dns-rename').command).toBe("DNS_API_TOKEN='<dns_token>' ./scripts/dns-set.sh A mail2.example.org 192.0.2.10 300");

    expect(all(events, 'var.set').map((e) => [e.name, e.value, e.source])).toEqual([
      ['mail_host', 'mail.example.org', 'default'],
      ['app_host', 'app.example.org', 'default'],
      ['new_ip', '192.0.2.10', 'prompt'],
      ['backup_taken_at', expect.stringMatching(/^\d{4}-\d{2}-\d{2}T01:00:00Z$/), 'capture'],
      ['dns_plan', 'rename', 'prompt'],
      ['new_mail_host', 'mail2.example.org', 'default'],
      ['dns_token', '<dns_token>', 'placeholder'],
    ]);
    // A drill needs no secret: none was asked, none journaled.
    expect(
      all(events, 'var.set')
        .filter((e) => e.secret === true)
        .map((e) => e.name),
    ).toEqual([]);
    expect(only(events, 'note')).toMatchObject({ text: 'status page posted at 02:50', step: 'announce-incident', by: 'operator', source: 'walk' });
    expect(all(events, 'decision').every((e) => e.answer === 'yes')).toBe(true);
    expect(all(events, 'decision')).toHaveLength(7);
    const outcomes = all(events, 'step.finished').map((e) => `${e.step}=${e.outcome}`);
    expect(outcomes.filter((o) => !o.endsWith('=done'))).toEqual(['dns-reuse=skipped']);
    expect(outcomes).toHaveLength(17);
    expect(only(events, 'step.finished', 'dns-reuse').reason).toBe('when: dns_plan == reuse is false (dns_plan is rename)');
    expect(only(events, 'session.ended')).toMatchObject({ status: 'completed', done: 16, skipped: 1, failed: 0, markedDone: 0 });
    for (const file of filesUnder(home)) expect(readFileSync(file, 'utf8'), file).not.toContain(token);
  });

  it('live: a failed command is edited in the prefilled editor, retried, and succeeds', async () => {
    const work = tempDir('work');
    writeFileSync(join(work, 'proxy.conf'), 'listen 443 ssl\n');
    const { s, home } = await drbookInTerminal(['run', join(fixtures, 'edit.yml')], { work });

    let screen = await asked(s, stepPrompt(1, 2));
    expect(screen).toMatch(/^Live run of Reload the proxy after a config change \(2 steps\) — session /m);
    expect(screen).not.toContain('REHEARSAL');
    await answer(s, stepPrompt(1, 2), 'r', 'Enter');
    screen = await asked(s, FAILED);
    expect(screen).toContain('cat: proxy-old.conf: No such file or directory');
    expect(screen).toContain('✖ Step 1/2 failed: exit code 1');
    await answer(s, FAILED, 'e', 'Enter');

    // The editor holds the command as written; clear it by keys and type the fix.
    const editPrompt = 'Edit the command (values as {{name}}; the change is recorded):';
    screen = await asked(s, editPrompt);
    expect(screen).toMatch(/^\? Edit the command .*: cat proxy-old\.conf$/m);
    await s.sendKeys('C-u');
    await waitUntil(s, 'the cleared editor', (text) => /^\? Edit the command .*: \(cat proxy-old\.conf\)$/m.test(text));
    await s.type('cat proxy.conf');
    screen = await answer(s, editPrompt, 'Enter');
    expect(screen).toMatch(/^✔ Edit the command .*: cat proxy\.conf$/m);
    // The edited command is shown as it will run, then confirmed.
    screen = await asked(s, 'Run the edited command?');
    expect(screen).toMatch(/^\$ cat proxy\.conf$/m);
    await answer(s, 'Run the edited command?', 'Enter');

    screen = await asked(s, stepPrompt(2, 2));
    expect(screen).toMatch(/^listen 443 ssl$/m);
    await answer(s, stepPrompt(2, 2), 'r', 'Enter');
    expect(await s.waitForExit()).toBe(0);
    expect(await s.screen()).toContain('Run completed: 2 done, 0 done by hand, 0 skipped, 0 failed');

    const { events, trail } = readSession(home);
    expect(only(events, 'session.started').mode).toBe('live');
    expect(trail).toEqual([
      'session.started',
      'step.started check-config',
      ...ran('check-config'),
      'decision check-config',
      'decision check-config',
      'command.edited check-config',
      ...ran('check-config'),
      'step.finished check-config',
      'step.started reload',
      ...ran('reload'),
      'step.finished reload',
      'session.ended',
    ]);
    const [first, second] = all(events, 'command.finished').filter((e) => e.step === 'check-config');
    expect(first).toMatchObject({
      attempt: 1,
      exitCode: 1,
      signal: null,
      ok: false,
      reason: 'exit code 1',
      tail: 'cat: proxy-old.conf: No such file or directory',
    });
    expect(all(events, 'decision')).toMatchObject([
      { step: 'check-config', question: 'After failure (exit code 1): what next?', answer: 'edit' },
      { step: 'check-config', question: 'Run the edited command?', answer: 'yes' },
    ]);
    expect(only(events, 'command.edited')).toMatchObject({ step: 'check-config', attempt: 2, from: 'cat proxy-old.conf', to: 'cat proxy.conf' });
    expect(all(events, 'command.started').map((e) => [e.attempt, e.command, e.log])).toEqual([
      [1, 'cat proxy-old.conf', '01-check-config.log'],
      [2, 'cat proxy.conf', '01-check-config.2.log'],
      [1, 'echo reloaded', '02-reload.log'],
    ]);
    expect(second).toMatchObject({ attempt: 2, exitCode: 0, ok: true, tail: 'listen 443 ssl' });
    expect(all(events, 'step.finished').map((e) => e.outcome)).toEqual(['done', 'done']);
    expect(only(events, 'session.ended')).toMatchObject({ status: 'completed', done: 2, failed: 0 });
  });

  it('live: Ctrl-C stops a long command and all it started, then asks what next', async () => {
    const work = tempDir('work');
    const pidfile = join(work, 'pids');
    const { s, home } = await drbookInTerminal(['run', join(fixtures, 'interrupt.yml'), '--var', `pidfile=${pidfile}`], { work });

    await answer(s, stepPrompt(1, 2), 'r', 'Enter');
    await waitUntil(s, 'the command to start its processes', (text) => /^copy started$/m.test(text));
    // The shell, its background sleep, and the foreground sleep.
    const pids = readPids(pidfile);
    leftovers.push(...pids.map((pid) => ({ pid, start: procStat(pid)?.[19] })));
    expect(pids).toHaveLength(3);
    expect(pids.filter(alive)).toEqual(pids);

    await s.sendKeys('C-c');
    const screen = await asked(s, FAILED);
    // The terminal echoes the key as ^C just before drbook's line.
    expect(screen).toMatch(/^(\^C)?✖ interrupted after [\d.]+s \(SIGINT\)$/m);
    expect(screen).toContain('✖ Step 1/2 failed: interrupted (Ctrl-C)');
    // drbook asks only once the whole tree is gone.
    expect(pids.filter(alive)).toEqual([]);

    await answer(s, FAILED, 'a', 'Enter');
    await answer(s, 'Abort the runbook?', 'Enter');
    await answer(s, 'Why abort?', 'Enter');
    expect(await s.waitForExit()).toBe(1);
    expect(await s.screen()).toContain('Aborted at copy-archive: 0 done, 0 done by hand, 0 skipped, 1 failed');

    const { events, trail } = readSession(home);
    expect(trail).toEqual([
      'session.started',
      'var.set',
      'step.started copy-archive',
      ...ran('copy-archive'),
      'decision copy-archive',
      'decision copy-archive',
      'step.finished copy-archive',
      'session.ended',
    ]);
    expect(only(events, 'command.spawned').pid).toBe(pids[0]);
    expect(only(events, 'command.finished')).toMatchObject({ attempt: 1, ok: false, interrupted: true, reason: 'interrupted (Ctrl-C)', tail: 'copy started' });
    // The abort is confirmed (no reason given), then the choice is journaled.
    expect(all(events, 'decision').map((d) => [d.question, d.answer])).toEqual([
      ['Abort the runbook?', 'yes'],
      ['After failure (interrupted (Ctrl-C)): what next?', 'abort'],
    ]);
    expect(only(events, 'session.ended')).not.toHaveProperty('reason');
    expect(only(events, 'step.finished')).toMatchObject({ step: 'copy-archive', outcome: 'failed', reason: 'interrupted (Ctrl-C)' });
    expect(only(events, 'session.ended')).toMatchObject({ status: 'aborted', done: 0, failed: 1 });
  });

  it('live: Ctrl-C at a prompt pauses the session, exit 130', async () => {
    const { s, home } = await drbookInTerminal(['run', join(fixtures, 'basic.yml')]);
    await answer(s, stepPrompt(1, 3), 'r', 'Enter');
    await asked(s, stepPrompt(2, 3));
    await s.sendKeys('C-c');
    expect(await s.waitForExit()).toBe(130);

    const { id, events, trail } = readSession(home);
    const screen = await s.screen();
    expect(screen).toContain('Paused: 1 done, 0 done by hand, 0 skipped, 0 failed');
    expect(screen).toContain(`Next: drbook resume ${id}`);
    expect(trail).toEqual([
      'session.started',
      'step.started stop-cache',
      ...ran('stop-cache'),
      'step.finished stop-cache',
      'step.started tell-team',
      'session.paused tell-team',
    ]);
    expect(events[events.length - 1]).toMatchObject({ type: 'session.paused', step: 'tell-team', reason: 'Ctrl-C at a prompt' });

    const listed = JSON.parse(
      execFileSync(process.execPath, [drbook, 'sessions', '--json'], { env: { ...process.env, DRBOOK_HOME: home }, encoding: 'utf8' }),
    ) as SessionSummary[];
    expect(listed.map((x) => [x.id, x.status, x.currentStep])).toEqual([[id, 'paused', 'tell-team']]);
  });

  it('live: a command that asks something is answered at the terminal', async () => {
    const { s, home } = await drbookInTerminal(['run', join(fixtures, 'prompt.yml')]);
    await answer(s, stepPrompt(1, 1), 'r', 'Enter');
    await waitUntil(s, "the command's own question", (text) => /^Continue\?\s*$/m.test(text));
    await s.type('yes');
    await s.sendKeys('Enter');
    await waitUntil(s, 'the answer reaching the command', (text) => /^purge tool got yes$/m.test(text));
    expect(await s.waitForExit()).toBe(0);

    const { events, trail } = readSession(home);
    expect(trail).toEqual(['session.started', 'step.started purge', ...ran('purge'), 'step.finished purge', 'session.ended']);
    expect(only(events, 'command.finished')).toMatchObject({ exitCode: 0, ok: true });
    expect(only(events, 'command.finished').tail).toContain('purge tool got yes');
    expect(only(events, 'session.ended')).toMatchObject({ status: 'completed', done: 1 });
  });

  it('live: a secret from the environment shows as *** and is written nowhere', async () => {
    const secret = 'Zq7-walk-secret-4e1d';
    const { s, home } = await drbookInTerminal(['run', join(fixtures, 'secret.yml')], { env: { WALK_API_TOKEN: secret } });
    let screen = await asked(s, stepPrompt(1, 1));
    expect(screen).toContain('Authenticates with *** (never shown).');
    expect(screen).toContain('$ echo calling the API with token ***; echo auth header Bearer *** >&2');
    await answer(s, stepPrompt(1, 1), 'r', 'Enter');
    expect(await s.waitForExit()).toBe(0);
    screen = await s.screen();
    expect(screen).toMatch(/^calling the API with token \*\*\*$/m);
    expect(screen).toMatch(/^auth header Bearer \*\*\*$/m);
    expect(screen).not.toContain(secret);

    const { events, trail } = readSession(home);
    expect(trail).toEqual(['session.started', 'var.set', 'step.started call-api', ...ran('call-api'), 'step.finished call-api', 'session.ended']);
    expect(only(events, 'var.set')).toMatchObject({ name: 'api_token', value: '***', source: 'env', secret: true });
    expect(only(events, 'command.started').command).toBe('echo calling the API with token ***; echo auth header Bearer *** >&2');
    expect(only(events, 'command.finished').tail).toContain('auth header Bearer ***');
    const files = filesUnder(home);
    expect(files.some((f) => f.endsWith('01-call-api.log'))).toBe(true);
    for (const file of files) expect(readFileSync(file, 'utf8'), file).not.toContain(secret);
  });

  it('live: keys typed while a command runs do not answer the next question', async () => {
    const { s, home } = await drbookInTerminal(['run', join(fixtures, 'typeahead.yml')]);
    await answer(s, stepPrompt(1, 2), 'r', 'Enter');
    await waitUntil(s, 'the command to run', (text) => /^replica catching up$/m.test(text));
    // An abort and a half-typed one, meant for nobody.
    await s.sendKeys('a', 'Enter', 'a');
    expect(await s.screen(), 'the keys must be typed before the next question').not.toContain(stepPrompt(2, 2));
    const screen = await asked(s, stepPrompt(2, 2));
    expect(answered(screen, stepPrompt(2, 2))).toBe(0);
    await answer(s, stepPrompt(2, 2), 'Enter');
    expect(await s.waitForExit()).toBe(0);

    const { events, trail } = readSession(home);
    expect(trail).toEqual([
      'session.started',
      'step.started wait-replica',
      ...ran('wait-replica'),
      'step.finished wait-replica',
      'step.started promote',
      ...ran('promote'),
      'step.finished promote',
      'session.ended',
    ]);
    expect(all(events, 'decision')).toEqual([]);
    expect(only(events, 'session.ended')).toMatchObject({ status: 'completed', done: 2 });
  });
});

describe('the walk without a terminal', () => {
  it.each(['run', 'rehearse'])('%s without --yes and with stdin not a terminal stops at once: exit 2, no session', (command) => {
    const home = tempDir('home');
    const result = drbookNoTerminal([command, join(fixtures, 'basic.yml')], home, tempDir('work'));
    expect(result.status).toBe(2);
    expect(result.ms).toBeLessThan(10_000);
    expect(result.stderr).toContain('--yes');
    expect(result.stderr).toContain('needs a terminal');
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stdout).toBe('');
    expect(filesUnder(home)).toEqual([]);
    expect(existsSync(join(home, 'sessions'))).toBe(false);
  });

  it('run --yes completes without a terminal and names the session and the export command', () => {
    const home = tempDir('home');
    const result = drbookNoTerminal(['run', join(fixtures, 'basic.yml'), '--yes'], home, tempDir('work'));
    expect(result.status, result.stderr).toBe(0);
    const { id, events, trail } = readSession(home);
    expect(id).toMatch(/^\d{8}T\d{6}Z-walk-basic$/);
    expect(result.stderr).toContain('Run completed: 3 done, 0 done by hand, 0 skipped, 0 failed');
    expect(result.stderr).toContain(`Session: ${id}`);
    expect(result.stderr).toContain(`Next: drbook export ${id} > postmortem.md`);
    expect(result.stdout).toContain('[2/3] Tell the team');
    expect(result.stdout).toMatch(/^cache started$/m);

    expect(only(events, 'session.started')).toMatchObject({ mode: 'live', runbook: { id: 'walk-basic', steps: 3, rto: '10m' } });
    expect(trail).toEqual([
      'session.started',
      'step.started stop-cache',
      ...ran('stop-cache'),
      'step.finished stop-cache',
      'step.started tell-team',
      'decision tell-team',
      'step.finished tell-team',
      'step.started start-cache',
      ...ran('start-cache'),
      'step.finished start-cache',
      'session.ended',
    ]);
    expect(only(events, 'decision')).toMatchObject({ question: 'Is the team told?', answer: 'yes' });
    expect(all(events, 'command.finished').map((e) => [e.ok, e.tail])).toEqual([
      [true, 'cache stopped'],
      [true, 'cache started'],
    ]);
    expect(only(events, 'session.ended')).toMatchObject({ status: 'completed', done: 3, skipped: 0, failed: 0, markedDone: 0 });
  });
});
