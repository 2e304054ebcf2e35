/**
 * An edited command that holds a secret's value is journaled with `{{name}}` in its place,
 * and `resume` replays exactly that edit (with the secret given again), not the runbook's
 * original command, and never the value or `***`.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, BIN, runCli } from './helpers/run-cli.js';
import { startTmux, tmuxAvailable, type TmuxSession } from './helpers/tmux.js';

const SECRET = 'Tr0ub4dor-and-3';
let session: TmuxSession | undefined;
let scratch: string | undefined;
beforeAll(ensureBuilt);
afterEach(async () => {
  await session?.kill();
  session = undefined;
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

/** Every file under dir, recursively, as text. */
function allText(dir: string): string {
  let out = '';
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) out += readFileSync(join(entry.parentPath, entry.name), 'utf8');
  }
  return out;
}

async function waitUntil(s: TmuxSession, what: string, check: (screen: string) => boolean): Promise<string> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const screen = await s.screen();
    if (check(screen)) return screen;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; the screen was:\n${screen}`);
    await new Promise((r) => setTimeout(r, 40));
  }
}

describe.skipIf(!tmuxAvailable())('an edit that holds a secret', () => {
  it('is journaled with {{pw}} and replayed on resume, the secret never written', async () => {
    scratch = mkdtempSync(join(tmpdir(), 'drbook-edit-secret-'));
    const home = join(scratch, 'home');
    const out = join(scratch, 'out');
    const file = join(scratch, 'rb.yml');
    writeFileSync(
      file,
      `drbook: 1
id: rb
title: Edit with a secret
vars:
  pw: { secret: true, env: EDIT_PW }
steps:
  - id: login
    title: Log in
    run: test -n {{pw}} && false
  - id: after
    title: After
    run: echo after-ran
`,
    );
    const env = { DRBOOK_HOME: home, EDIT_PW: SECRET, NO_COLOR: '1' };
    session = await startTmux({ cmd: process.execPath, args: [BIN, 'run', file], cwd: scratch, cols: 200, rows: 60, env });
    const s = session;
    await waitUntil(s, 'the first step', (t) => /^\? Step 1\/2: what now\?/m.test(t));
    await s.sendKeys('r', 'Enter');
    await waitUntil(s, 'the failure', (t) => /^\? The step failed\. What now\?/m.test(t));
    await s.sendKeys('e', 'Enter');
    await waitUntil(s, 'the editor', (t) => /^\? Edit the command/m.test(t));
    await s.sendKeys('C-u');
    // The operator pastes the password itself into the fix; it fails once more (one line in out).
    await s.type(`printf '%s\\n' ${SECRET} >> ${out}; [ "$(wc -l < ${out})" -ge 2 ]`);
    await s.sendKeys('Enter');
    // Shown before it runs, the secret masked.
    await waitUntil(s, 'the edited command shown', (t) => /^\$ printf '%s\\n' \*\*\* >> /m.test(t) && /^\? Run the edited command\?/m.test(t));
    await s.sendKeys('Enter');
    await waitUntil(s, 'the second failure', (t) => /^✔ Edit the command/m.test(t) && /^\? The step failed\. What now\?/m.test(t));
    // Ctrl-C at the question pauses the session.
    await s.sendKeys('C-c');
    expect(await s.waitForExit({ timeoutMs: 20_000 })).toBe(130);
    expect(readFileSync(out, 'utf8')).toBe(`${SECRET}\n`);

    const sessionsDir = join(home, 'sessions');
    const journal = readFileSync(
      join(
        sessionsDir,
        readdirSync(sessionsDir).find((n) => n.endsWith('.jsonl'))!,
      ),
      'utf8',
    );
    const edited = journal
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { type: string; to?: string })
      .find((e) => e.type === 'command.edited');
    expect(edited?.to).toBe(`printf '%s\\n' {{pw}} >> ${out}; [ "$(wc -l < ${out})" -ge 2 ]`);

    // Resume with the secret given again: the edit runs (a second line), not `... && false`.
    const resumed = await runCli(['resume', '--yes'], { cwd: scratch, env: { DRBOOK_HOME: home, EDIT_PW: SECRET }, timeoutMs: 60_000 });
    expect(resumed.code, resumed.stdout + resumed.stderr).toBe(0);
    expect(resumed.stdout).toContain('after-ran');
    expect(resumed.stdout + resumed.stderr).not.toContain(SECRET);
    expect(resumed.stderr).not.toContain('cannot be replayed');
    expect(readFileSync(out, 'utf8')).toBe(`${SECRET}\n${SECRET}\n`);
    expect(allText(home)).not.toContain(SECRET);
    // The replayed command as journaled: the edit, rendered with the secret masked.
    expect(allText(home)).toContain(` *** >> ${out}; [ `);
  }, 120_000);
});
