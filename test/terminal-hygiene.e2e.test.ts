/**
 * A runbook with OSC and CSI sequences in every text field, and a captured value carrying
 * one, walked in a real terminal (tmux): drbook's own lines show them as text (`\e]2;…`),
 * so the pane title stays what the last command set and the screen is never cleared.
 * Command output still reaches the terminal raw, as in a shell.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BIN, ensureBuilt, FIXTURES } from './helpers/run-cli.js';
import { startTmux, tmuxAvailable, type TmuxSession } from './helpers/tmux.js';

let session: TmuxSession | undefined;
let scratch: string | undefined;
beforeAll(ensureBuilt);
afterEach(async () => {
  await session?.kill();
  session = undefined;
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

function paneTitle(s: TmuxSession): string {
  const env = { ...process.env };
  delete env.TMUX;
  delete env.TMUX_PANE;
  return execFileSync('tmux', ['-L', s.socket, 'display', '-p', '-t', 'main', '#{pane_title}'], { env, encoding: 'utf8' }).trim();
}

/** The visible screen only (no scrollback): what a clear would have wiped. */
function visibleScreen(s: TmuxSession): string {
  const env = { ...process.env };
  delete env.TMUX;
  delete env.TMUX_PANE;
  return execFileSync('tmux', ['-L', s.socket, 'capture-pane', '-p', '-J', '-t', 'main'], { env, encoding: 'utf8' });
}

describe.skipIf(!tmuxAvailable())('terminal hygiene', () => {
  it('no runbook field, journal value or capture retitles or clears the terminal', async () => {
    scratch = mkdtempSync(join(tmpdir(), 'drbook-hygiene-'));
    const dir = join(scratch, 'runbooks');
    mkdirSync(dir);
    copyFileSync(join(FIXTURES, 'hygiene', 'evil.yml'), join(dir, 'evil.yml'));
    const drbook = `${process.execPath} ${BIN}`;
    // The walk first (its reset step sets the title as any shell command may), then every
    // command that prints runbook or journal text: list, show (text and md), sessions, validate.
    const script = [
      `${drbook} run evil --yes`,
      `${drbook} sessions`,
      `${drbook} list`,
      `${drbook} show evil`,
      `${drbook} show evil --format md`,
      `${drbook} validate evil.yml`,
      'echo ALL-DONE',
    ].join('; ');
    session = await startTmux({
      cmd: 'sh',
      args: ['-c', script],
      cwd: dir,
      cols: 220,
      rows: 400,
      env: { DRBOOK_HOME: join(scratch, 'home'), DRBOOK_DIR: dir, NO_COLOR: '1' },
    });
    await session.waitFor('ALL-DONE', { timeoutMs: 60_000 });
    await session.waitForExit({ timeoutMs: 30_000 });

    // The raw output of the reset step set this title; nothing drbook printed after it changed it.
    expect(paneTitle(session)).toBe('clean-title');
    // Nothing cleared the screen after the reset step printed its mark.
    const screen = visibleScreen(session);
    expect(screen).toContain('SCREEN-MARK');
    expect(screen).toContain('ALL-DONE');
    expect(screen).not.toContain('HIJACK-capture');

    // Each field shown as text: the walk (header, description, default, docs, captured value, command)...
    expect(screen).toContain('Live run of Evil \\e]2;HIJACK-title^G\\e[2J runbook');
    expect(screen).toContain('[1/3] Grab \\e]2;HIJACK-step^G\\e[2J');
    expect(screen).toContain('desc \\e]2;HIJACK-desc^G\\e[2J lab\\e]2;HIJACK-default^G\\e[2J');
    expect(screen).toContain('Doc \\e]2;HIJACK-doc^G');
    expect(screen).toContain('https://x.example/\\e]2;HIJACK-url^G');
    expect(screen).toContain('[3/3] Use cap\\e]2;RAW-OUTPUT-TITLE^G \\e[2J');
    expect(screen).toContain("$ true 'cap\\e]2;RAW-OUTPUT-TITLE^G' # \\e]2;HIJACK-run^G");
    // ...the confirm question, list, show and validate.
    expect(screen).toContain('Done? \\e]2;HIJACK-confirm^G\\e[2J');
    expect(screen).toMatch(/^evil +Evil \\e\]2;HIJACK-title\^G\\e\[2J runbook +3 /m);
    expect(screen).toContain('sum \\e]2;HIJACK-summary^G');
    expect(screen).toContain('A \\e]2;HIJACK-choice^G\\e[2J');
    expect(screen).toMatch(/evil\.yml:3:8: warning: control character in the text/);
  }, 120_000);
});
