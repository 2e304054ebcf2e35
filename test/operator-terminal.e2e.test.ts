/**
 * What the terminal does to a walk and what a walk does to the terminal, in a real
 * pseudo-terminal (tmux): an editor that fails or is killed cancels the edit; a command
 * that leaves the terminal raw, in the alternate screen, with the cursor hidden, is undone;
 * Ctrl-D at a prompt pauses plainly; a paste of several lines is not taken as one line.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BIN, ensureBuilt } from './helpers/run-cli.js';
import { startTmux, tmuxAvailable, type TmuxSession } from './helpers/tmux.js';

let session: TmuxSession | undefined;
let scratch: string | undefined;
beforeAll(ensureBuilt);
afterEach(async () => {
  await session?.kill();
  session = undefined;
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

function tmuxOut(s: TmuxSession, ...args: string[]): string {
  const env = { ...process.env };
  delete env.TMUX;
  delete env.TMUX_PANE;
  return execFileSync('tmux', ['-L', s.socket, ...args], { env, encoding: 'utf8' });
}

function journal(home: string): string {
  const dir = join(home, 'sessions');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.jsonl'))
    .map((f) => readFileSync(join(dir, f), 'utf8'))
    .join('');
}

const MULTI = `drbook: 1
id: rb
title: Edit
steps:
  - id: multi
    title: Multi-line failing
    run: |
      echo first
      false
`;

describe.skipIf(!tmuxAvailable())('the operator terminal', () => {
  it('an editor that exits 1 or is killed cancels the edit: nothing runs, nothing is journaled as edited, the file was private', async () => {
    scratch = mkdtempSync(join(tmpdir(), 'drbook-ux-'));
    const home = join(scratch, 'home');
    const ran = join(scratch, 'ran.log');
    const seen = join(scratch, 'seen.log');
    writeFileSync(join(scratch, 'rb.yml'), MULTI);
    const cq = join(scratch, 'cq.sh');
    writeFileSync(cq, `#!/bin/sh\nstat -c '%a' "$1" "$(dirname "$1")" >> ${seen}\necho 'echo EDIT-RAN >> ${ran}' > "$1"\nexit 1\n`);
    const killed = join(scratch, 'killed.sh');
    writeFileSync(killed, `#!/bin/sh\necho 'echo EDIT-RAN >> ${ran}' > "$1"\nprintf '\\033[?1049h\\033[?25l'\nkill -9 $$\n`);
    chmodSync(cq, 0o755);
    chmodSync(killed, 0o755);
    session = await startTmux({ cmd: process.execPath, args: [BIN, 'run', 'rb.yml'], cwd: scratch, env: { DRBOOK_HOME: home, NO_COLOR: '1', VISUAL: cq } });
    const s = session;
    await s.waitFor('what now?');
    await s.sendKeys('Enter');
    await s.waitFor('The step failed. What now?');
    await s.sendKeys('e', 'Enter');
    await s.waitFor(/edit cancelled: .*cq\.sh exited with code 1/);
    await s.waitFor(/Nothing was run\.[\s\S]*The step failed\. What now\?/);
    expect(readFileSync(seen, 'utf8').trim().split('\n')).toEqual(['600', '700']);
    await s.sendKeys('a', 'Enter');
    await s.waitFor('Abort the runbook?');
    await s.sendKeys('Enter');
    await s.waitFor('Why abort?');
    await s.sendKeys('Enter');
    await s.waitForExit();
    expect(existsSync(ran)).toBe(false);
    expect(journal(home)).not.toContain('command.edited');

    await s.kill();
    session = await startTmux({ cmd: process.execPath, args: [BIN, 'run', 'rb.yml'], cwd: scratch, env: { DRBOOK_HOME: home, NO_COLOR: '1', VISUAL: killed } });
    const k = session;
    await k.waitFor('what now?');
    await k.sendKeys('Enter');
    await k.waitFor('The step failed. What now?');
    await k.sendKeys('e', 'Enter');
    await k.waitFor(/edit cancelled: .*killed\.sh was killed \(SIGKILL\)/);
    expect(tmuxOut(k, 'display', '-p', '-t', 'main', '#{alternate_on} #{cursor_flag}').trim()).toBe('0 1');
    expect(existsSync(ran)).toBe(false);
  });

  it('a command that leaves the terminal raw, in the alternate screen, cursor hidden: given back before the next question', async () => {
    scratch = mkdtempSync(join(tmpdir(), 'drbook-ux-'));
    const home = join(scratch, 'home');
    writeFileSync(
      join(scratch, 'rb.yml'),
      `drbook: 1
id: crash
title: Crash
steps:
  - id: tui
    title: A TUI that is killed
    run: |
      printf '\\033[?1049h\\033[?25l'
      stty raw -echo
      kill -9 $$
`,
    );
    session = await startTmux({
      cmd: 'sh',
      args: ['-c', `${process.execPath} ${BIN} run rb.yml; stty -a | grep -o -- '-\\?icanon' | head -1`],
      cwd: scratch,
      env: { DRBOOK_HOME: home, NO_COLOR: '1' },
    });
    const s = session;
    await s.waitFor('what now?');
    await s.sendKeys('Enter');
    await s.waitFor('The step failed. What now?');
    // No staircase: every choice starts at the left edge.
    const screen = await s.waitFor('a) abort the runbook');
    expect(screen).toMatch(/^ {2}s\) skip this step$/m);
    expect(tmuxOut(s, 'display', '-p', '-t', 'main', '#{alternate_on} #{cursor_flag}').trim()).toBe('0 1');
    await s.sendKeys('s', 'Enter');
    await s.waitForExit();
    // The shell after drbook has its line settings back.
    expect(await s.screen()).toMatch(/^icanon$/m);
  });

  it('Ctrl-D at a prompt pauses plainly (no internal error), with the reason in the journal', async () => {
    scratch = mkdtempSync(join(tmpdir(), 'drbook-ux-'));
    const home = join(scratch, 'home');
    writeFileSync(join(scratch, 'rb.yml'), MULTI);
    session = await startTmux({ cmd: process.execPath, args: [BIN, 'run', 'rb.yml'], cwd: scratch, env: { DRBOOK_HOME: home, NO_COLOR: '1' } });
    const s = session;
    await s.waitFor('what now?');
    await s.sendKeys('C-d');
    expect(await s.waitForExit()).toBe(130);
    const screen = await s.screen();
    expect(screen).toContain('Ctrl-D: end of input.');
    expect(screen).not.toContain('internal error');
    expect(journal(home)).toContain('"reason":"end of input (Ctrl-D) at a prompt"');
  });

  it('Ctrl-Z at a prompt where drbook cannot be stopped: the same question still takes its answer', async () => {
    scratch = mkdtempSync(join(tmpdir(), 'drbook-ux-'));
    const home = join(scratch, 'home');
    writeFileSync(join(scratch, 'rb.yml'), MULTI);
    session = await startTmux({ cmd: process.execPath, args: [BIN, 'run', 'rb.yml'], cwd: scratch, env: { DRBOOK_HOME: home, NO_COLOR: '1' } });
    const s = session;
    await s.waitFor('what now?');
    await s.sendKeys('C-z');
    await s.sendKeys('a', 'Enter');
    await s.waitFor('Abort the runbook?');
    await s.sendKeys('Enter');
    await s.waitFor('Why abort?');
    await s.sendKeys('Enter');
    expect(await s.waitForExit()).toBe(1);
    expect(await s.screen()).not.toContain('internal error');
  });

  it('a paste of several lines at a var prompt is not taken: said, and asked again', async () => {
    scratch = mkdtempSync(join(tmpdir(), 'drbook-ux-'));
    const home = join(scratch, 'home');
    writeFileSync(
      join(scratch, 'rb.yml'),
      `drbook: 1
id: v
title: Vars
vars:
  name: { prompt: Name }
steps:
  - id: a
    title: Say it
    run: echo "got {{name}}"
`,
    );
    session = await startTmux({ cmd: process.execPath, args: [BIN, 'run', 'rb.yml'], cwd: scratch, env: { DRBOOK_HOME: home, NO_COLOR: '1' } });
    const s = session;
    await s.waitFor('Name [name]');
    writeFileSync(join(scratch, 'paste.txt'), 'line one\nline two\n');
    tmuxOut(s, 'load-buffer', join(scratch, 'paste.txt'));
    tmuxOut(s, 'paste-buffer', '-t', 'main');
    await s.waitFor('the pasted text had 2 lines, and this answer is one line: it was not taken');
    await s.type('single');
    await s.sendKeys('Enter');
    await s.waitFor('what now?');
    await s.sendKeys('Enter');
    expect(await s.waitForExit()).toBe(0);
    expect(await s.screen()).toContain('got single');
    expect(journal(home)).not.toContain('line one');
  });
});
