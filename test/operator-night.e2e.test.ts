/**
 * The frictions of a first real night, end to end: the built binary in tmux, answered by
 * keys, every wait for text on the screen with a deadline, the journal read afterwards.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, symlinkSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { startTmux, tmuxAvailable, type TmuxSession } from './helpers/tmux.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = join(root, 'bin', 'drbook.cjs');
const sessions: TmuxSession[] = [];
const temps: string[] = [];

afterEach(async () => {
  await Promise.all(sessions.splice(0).map((s) => s.kill()));
  for (const dir of temps.splice(0)) rmSync(dir, { recursive: true, force: true });
});

interface Box {
  dir: string;
  home: string;
  runbook: string;
}

function box(yaml: string): Box {
  const dir = mkdtempSync(join(tmpdir(), 'drbook-night-'));
  temps.push(dir);
  const runbook = join(dir, 'rb.yml');
  writeFileSync(runbook, yaml);
  return { dir, home: join(dir, 'home'), runbook };
}

async function drbook(b: Box, args: string[], env: Record<string, string | undefined> = {}): Promise<TmuxSession> {
  const s = await startTmux({
    cmd: process.execPath,
    args: [bin, ...args],
    cwd: b.dir,
    env: { DRBOOK_HOME: b.home, NO_COLOR: '1', FORCE_COLOR: undefined, VISUAL: undefined, EDITOR: undefined, ...env },
  });
  sessions.push(s);
  return s;
}

interface Event {
  type: string;
  [key: string]: unknown;
}

function journal(b: Box): { id: string; events: Event[] } {
  const dir = join(b.home, 'sessions');
  const file = readdirSync(dir).find((f) => f.endsWith('.jsonl'))!;
  const events = readFileSync(join(dir, file), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Event);
  return { id: file.slice(0, -'.jsonl'.length), events };
}

describe.skipIf(!tmuxAvailable())("the operator's night, in a terminal", () => {
  it('a multi-line command is edited in $EDITOR; the retry succeeds and the journal holds both versions', async () => {
    const b = box(`drbook: 1
id: multi
title: Multi-line
steps:
  - id: fix
    title: A command with a wrong line
    run: |
      echo checking
      test -e /nonexistent/wrong-path
`);
    // The "editor": fixes the wrong line in the file it is given, as an operator would.
    const editor = join(b.dir, 'fix-editor.sh');
    writeFileSync(editor, `#!/bin/sh\nsed -i 's|test -e /nonexistent/wrong-path|test -d /|' "$1"\n`);
    chmodSync(editor, 0o755);
    const s = await drbook(b, ['run', b.runbook], { EDITOR: editor });
    await s.waitFor('Step 1/1: what now?');
    await s.sendKeys('Enter');
    await s.waitFor('The step failed. What now?');
    await s.sendKeys('e', 'Enter');
    await s.waitFor(`Opening ${editor} on the command`);
    // Shown as it will run, and run only once confirmed.
    await s.waitFor(/\$ echo checking\n {2}test -d \/\n\? Run the edited command\?/);
    await s.sendKeys('Enter');
    const screen = await s.waitFor('Run completed');
    // One failure only: the retry ran the fixed command.
    expect(screen.match(/failed: exit code 1/g)).toHaveLength(1);
    expect(await s.waitForExit()).toBe(0);

    const { events } = journal(b);
    const edited = events.find((e) => e.type === 'command.edited')!;
    expect(String(edited.from).trimEnd()).toBe('echo checking\ntest -e /nonexistent/wrong-path');
    expect(edited.to).toBe('echo checking\ntest -d /');
    const started = events.filter((e) => e.type === 'command.started').map((e) => String(e.command).trimEnd());
    expect(started).toEqual(['echo checking\ntest -e /nonexistent/wrong-path', 'echo checking\ntest -d /']);
    expect(events.filter((e) => e.type === 'command.finished').map((e) => e.ok)).toEqual([false, true]);
  });

  it('an editor that fails cancels the edit (nothing runs), and with none at all the command is typed on one line', async () => {
    const yaml = `drbook: 1
id: multi
title: Multi-line
steps:
  - id: fix
    title: Two lines
    run: |
      echo checking
      test -e /nonexistent/wrong-path
`;
    // An editor that exits 1 without writing (vim's :cq).
    const b = box(yaml);
    const s = await drbook(b, ['run', b.runbook], { EDITOR: '/bin/false' });
    await s.waitFor('Step 1/1: what now?');
    await s.sendKeys('Enter');
    await s.waitFor('The step failed. What now?');
    await s.sendKeys('e', 'Enter');
    await s.waitFor(/edit cancelled: \/bin\/false exited with code 1[\s\S]*The step failed\. What now\?/);
    // The command ran once: the failure question is asked again, nothing ran again.
    expect((await s.screen()).match(/exit 1 after/g)).toHaveLength(1);
    await s.sendKeys('a', 'Enter');
    await s.waitFor('Abort the runbook?');
    await s.sendKeys('Enter');
    await s.waitFor('Why abort?');
    await s.sendKeys('Enter');
    expect(await s.waitForExit()).toBe(1);
    expect(journal(b).events.filter((e) => e.type === 'command.edited')).toEqual([]);

    // No editor on PATH: the command is shown and typed again on one line.
    const c = box(yaml);
    // A PATH with the shells (and the sleep the terminal helper ends with), and no vi.
    const path = join(c.dir, 'bin');
    mkdirSync(path);
    for (const shell of ['bash', 'sh', 'sleep']) symlinkSync(execFileSync('sh', ['-c', `command -v ${shell}`], { encoding: 'utf8' }).trim(), join(path, shell));
    const t = await drbook(c, ['run', c.runbook], { PATH: path });
    await t.waitFor('Step 1/1: what now?');
    await t.sendKeys('Enter');
    await t.waitFor('The step failed. What now?');
    await t.sendKeys('e', 'Enter');
    await t.waitFor(/No editor found[\s\S]*Edit the command \(values/);
    await t.type('echo checking; test -d /');
    await t.sendKeys('Enter');
    await t.waitFor('Run the edited command?');
    await t.sendKeys('Enter');
    await t.waitFor('Run completed');
    expect(journal(c).events.find((e) => e.type === 'command.edited')).toMatchObject({ to: 'echo checking; test -d /' });
  });

  it('a single-line command is edited in place: cursor keys move inside it', async () => {
    const b = box(`drbook: 1
id: single
title: Single
steps:
  - id: fix
    title: One wrong flag
    run: test -f /
`);
    const s = await drbook(b, ['run', b.runbook], { EDITOR: '/bin/false' });
    await s.waitFor('Step 1/1: what now?');
    await s.sendKeys('Enter');
    await s.waitFor('The step failed. What now?');
    await s.sendKeys('e', 'Enter');
    await s.waitFor('Edit the command');
    // Home, past "test -", then replace the f by a d: the rest of the text stays.
    await s.sendKeys('Home', 'Right', 'Right', 'Right', 'Right', 'Right', 'Right', 'DC');
    await s.type('d');
    await s.sendKeys('Enter');
    await s.waitFor('Run the edited command?');
    await s.sendKeys('Enter');
    await s.waitFor('Run completed');
    const { events } = journal(b);
    expect(events.find((e) => e.type === 'command.edited')).toMatchObject({ from: 'test -f /', to: 'test -d /' });
  });

  it("a step's header, description and docs come before its question; an ask-only step ends with the answer", async () => {
    const b = box(`drbook: 1
id: ctx
title: Context
docs:
  provider: { title: Provider order page, url: https://provider.example/order }
vars:
  new_ip: { prompt: IPv4 address of the new server }
steps:
  - id: order
    title: Order a new server
    description: Order it in the provider console, then type its address.
    docs: [provider]
    ask: [new_ip]
  - id: use
    title: Use it
    run: echo using {{new_ip}}
`);
    const s = await drbook(b, ['run', b.runbook]);
    const asked = await s.waitFor('IPv4 address of the new server');
    const header = asked.indexOf('[1/2] Order a new server');
    expect(header).toBeGreaterThanOrEqual(0);
    expect(asked.indexOf('Order it in the provider console')).toBeGreaterThan(header);
    expect(asked.indexOf('https://provider.example/order')).toBeGreaterThan(header);
    expect(asked.indexOf('IPv4 address of the new server')).toBeGreaterThan(asked.indexOf('https://provider.example/order'));
    await s.type('192.0.2.10');
    await s.sendKeys('Enter');
    // No "done" key for the ask-only step: the next step comes.
    const next = await s.waitFor('Step 2/2: what now?');
    expect(next).not.toContain('Step 1/2: what now?');
    await s.sendKeys('Enter');
    await s.waitFor('Run completed');
    const finished = journal(b).events.filter((e) => e.type === 'step.finished');
    expect(finished.map((e) => [e.step, e.outcome])).toEqual([
      ['order', 'done'],
      ['use', 'done'],
    ]);
  });

  it('a drill asks for no secret and shows <name>; --run-safe asks for it where it really runs', async () => {
    const yaml = `drbook: 1
id: drill
title: Drill
vars:
  token: { prompt: DNS API token, secret: true }
steps:
  - id: check
    title: Read-only check
    run: test -n {{token}}
    safe: true
  - id: change
    title: Change DNS
    run: ./dns-set --token {{token}}
`;
    const b = box(yaml);
    const s = await drbook(b, ['rehearse', b.runbook]);
    const first = await s.waitFor('Step 1/2: what now?');
    expect(first).toContain("test -n '<token>'");
    await s.sendKeys('Enter');
    const second = await s.waitFor('Step 2/2: what now?');
    expect(second).toContain("./dns-set --token '<token>'");
    expect(second).not.toContain('DNS API token');
    await s.sendKeys('Enter');
    await s.waitFor('Rehearsal completed');

    const c = box(yaml);
    const t = await drbook(c, ['rehearse', c.runbook, '--run-safe']);
    await t.waitFor('DNS API token');
    await t.type('tok-s3cret');
    await t.sendKeys('Enter');
    await t.waitFor('Step 1/2: what now?');
    await t.sendKeys('Enter');
    const shown = await t.waitFor('Step 2/2: what now?');
    expect(shown).toContain('./dns-set --token ***');
    await t.sendKeys('Enter');
    await t.waitFor('Rehearsal completed');
    expect(
      readFileSync(
        join(
          c.home,
          'sessions',
          readdirSync(join(c.home, 'sessions')).find((f) => f.endsWith('.jsonl'))!,
        ),
        'utf8',
      ),
    ).not.toContain('tok-s3cret');
  });

  it('resume asks again only for the secrets the steps left use', async () => {
    const b = box(`drbook: 1
id: two-secrets
title: Two secrets
vars:
  a_tok: { prompt: Token for the first API, secret: true }
  b_tok: { prompt: Token for the second API, secret: true }
steps:
  - id: one
    title: First API
    run: test -n {{a_tok}}
  - id: two
    title: Second API
    run: test -n {{b_tok}}
  - id: three
    title: Last
    run: echo three
`);
    const s = await drbook(b, ['run', b.runbook]);
    await s.waitFor('Token for the first API');
    await s.type('first-s3cret');
    await s.sendKeys('Enter');
    await s.waitFor('Step 1/3: what now?');
    await s.sendKeys('Enter');
    await s.waitFor('Token for the second API');
    await s.type('second-s3cret');
    await s.sendKeys('Enter');
    await s.waitFor('Step 2/3: what now?');
    await s.sendKeys('C-c');
    expect(await s.waitForExit()).toBe(130);

    const { id } = journal(b);
    const r = await drbook(b, ['resume', id]);
    const asked = await r.waitFor('Token for the second API');
    expect(asked).toContain('Secrets are never stored: give b_tok again.');
    expect(asked).not.toContain('Token for the first API');
    await r.type('second-s3cret');
    await r.sendKeys('Enter');
    await r.waitFor('Step 2/3: what now?');
    await r.sendKeys('Enter');
    await r.waitFor('Step 3/3: what now?');
    await r.sendKeys('Enter');
    const end = await r.waitFor('Run completed');
    expect(end).not.toContain('Token for the first API');
    expect(await r.waitForExit()).toBe(0);
    const text = readFileSync(join(b.home, 'sessions', `${id}.jsonl`), 'utf8');
    expect(text).not.toMatch(/first-s3cret|second-s3cret/);
  });

  it('after a failure a note can be added, then the same question; abort asks to confirm and why; --reopen goes on in the same journal', async () => {
    const b = box(`drbook: 1
id: night
title: Night
steps:
  - id: one
    title: First
    run: echo one
  - id: two
    title: Needs the marker
    run: test -e marker
  - id: three
    title: Last
    run: echo three
`);
    const s = await drbook(b, ['run', b.runbook]);
    await s.waitFor('Step 1/3: what now?');
    await s.sendKeys('Enter');
    await s.waitFor('Step 2/3: what now?');
    await s.sendKeys('Enter');
    const failed = await s.waitFor('The step failed. What now?');
    expect(failed).toContain('n) add a note to the timeline');
    await s.sendKeys('n', 'Enter');
    await s.waitFor('Note (recorded in the timeline)');
    await s.type('marker missing: the backup mount is not there');
    await s.sendKeys('Enter');
    // The same question again, not a retry.
    await s.waitFor(/Note \(recorded in the timeline\)[\s\S]*The step failed\. What now\?/);
    await s.sendKeys('a', 'Enter');
    await s.waitFor('Abort the runbook?');
    await s.sendKeys('Enter');
    await s.waitFor('Why abort?');
    await s.type('wrong host, start again tomorrow');
    await s.sendKeys('Enter');
    await s.waitFor('Aborted at two');
    expect(await s.waitForExit()).toBe(1);

    const { id, events } = journal(b);
    expect(events.filter((e) => e.type === 'note').map((e) => e.text)).toEqual(['marker missing: the backup mount is not there']);
    expect(events.find((e) => e.type === 'session.ended')).toMatchObject({ status: 'aborted', reason: 'wrong host, start again tomorrow' });
    // One retry would have started the command twice: the note did not.
    expect(events.filter((e) => e.type === 'command.started' && e.step === 'two')).toHaveLength(1);

    writeFileSync(join(b.dir, 'marker'), '');
    const r = await drbook(b, ['resume', id, '--reopen']);
    const back = await r.waitFor('Step 2/3: what now?');
    expect(back).toContain(`Resuming ${id}`);
    await r.sendKeys('Enter');
    await r.waitFor('Step 3/3: what now?');
    await r.sendKeys('Enter');
    await r.waitFor('Run completed');
    expect(await r.waitForExit()).toBe(0);

    const after = journal(b);
    expect(after.id).toBe(id);
    expect(after.events.find((e) => e.type === 'session.resumed')).toMatchObject({ reopened: true });
    expect(after.events.filter((e) => e.type === 'session.ended').map((e) => e.status)).toEqual(['aborted', 'completed']);

    // One chronology: the note, the abort with its reason, the reopening, the end.
    const exported = execFileSync(process.execPath, [bin, 'export', id], {
      cwd: b.dir,
      env: { ...process.env, DRBOOK_HOME: b.home, NO_COLOR: '1' },
      encoding: 'utf8',
    });
    const lines = exported.split('\n');
    const at = (pattern: RegExp) => lines.findIndex((l) => pattern.test(l));
    expect(at(/marker missing: the backup mount is not there/)).toBeGreaterThanOrEqual(0);
    expect(at(/Session aborted.*reason: wrong host, start again tomorrow/)).toBeGreaterThan(at(/marker missing/));
    expect(at(/Reopened \(it had ended aborted\)/)).toBeGreaterThan(at(/Session aborted/));
    const data = JSON.parse(
      execFileSync(process.execPath, [bin, 'export', id, '--format', 'json'], { cwd: b.dir, env: { ...process.env, DRBOOK_HOME: b.home }, encoding: 'utf8' }),
    ) as unknown;
    expect(JSON.stringify(data)).toContain('"reason":"wrong host, start again tomorrow"');
  });
});
