/**
 * Templating through the built binary: hostile values captured from output run nothing, a
 * secret never shows on the process list, an edited command is parsed like a run, and a
 * templated runbook runs from a bundle's single drbook.mjs (which carries the parser).
 */
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BIN, ensureBuilt } from './helpers/run-cli.js';
import { startTmux, tmuxAvailable, type TmuxSession } from './helpers/tmux.js';

const temps: string[] = [];
const sessions: TmuxSession[] = [];

function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `drbook-tpl-${prefix}-`));
  temps.push(dir);
  return dir;
}

function cleanEnv(home: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, DRBOOK_HOME: home, NO_COLOR: '1', ...extra };
  delete env.DRBOOK_DIR;
  delete env.FORCE_COLOR;
  return env;
}

/** Polls until `check` holds; throws with `what` after the deadline. */
async function until(what: string, check: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 40));
  }
}

beforeAll(ensureBuilt);
afterEach(async () => {
  for (const s of sessions.splice(0)) await s.kill();
});
afterAll(() => {
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
});

describe('hostile values captured from output, in a live run', () => {
  it('run nothing in any context the runbook may use, and arrive as they were printed', () => {
    const work = tempDir('work');
    const marker = join(work, 'pwned');
    const evil = `a[$(touch ${marker})]`;
    const evil2 = `\`touch ${marker}\`"; touch ${marker}; "'; touch ${marker}; '`;
    const runbook = join(work, 'hostile.yml');
    writeFileSync(
      runbook,
      [
        'drbook: 1',
        'title: Hostile captures',
        'vars:',
        '  n:',
        '    description: an integer',
        "    pattern: '^-?\\d+$'",
        'steps:',
        '  - id: grab',
        '    title: Capture output with a subscript',
        `    run: printf '%s' ${JSON.stringify(evil).replace(/^"|"$/g, "'")}`,
        '    capture: evil',
        '  - id: grab2',
        '    title: Capture output with quotes and backticks',
        '    run: cat evil2.txt',
        '    capture: evil2',
        '  - id: use',
        '    title: Use them everywhere',
        '    run: |',
        "      # it's a comment with an apostrophe {{evil}}",
        '      echo "plain:" {{evil}} {{evil2}}',
        '      echo "dq:{{evil}} $(echo "nested:{{evil2}}") `echo bt:{{evil}}`"',
        "      echo 'sq:{{evil}}{{evil2}}'",
        "      echo $'ansi:{{evil}}\\t{{evil2}}'",
        '      cat <<-E-F',
        '      \theredoc:{{evil}}{{evil2}}',
        '      \tE-F',
        '      sh -c \'echo "sh-arg:$1"\' _ {{evil}}',
        '      x={{evil}}; echo "assigned:$x"',
        '      declare -a arr; arr[{{n}}]=1; echo "arith:$(( {{n}} + 1 ))"',
        '      [[ {{evil}} == "a["* ]] && echo "test:ok"',
        '      for w in {{evil}} "{{evil2}}"; do echo "for:$w"; done',
        '      echo "default:${undefined:-{{evil2}}}"',
      ].join('\n') + '\n',
    );
    writeFileSync(join(work, 'evil2.txt'), evil2);
    const home = tempDir('home');
    const result = spawnSync(process.execPath, [BIN, 'run', runbook, '--yes', '--var', 'n=3'], {
      cwd: work,
      env: cleanEnv(home),
      encoding: 'utf8',
      timeout: 60_000,
    });
    const out = result.stdout + result.stderr;
    expect(result.status, out).toBe(0);
    expect(existsSync(marker), 'a value ran as code').toBe(false);
    const logs = readFileSync(join(home, 'sessions', readLogDir(home), '03-use.log'), 'utf8');
    for (const line of [
      `plain: ${evil} ${evil2}`,
      `dq:${evil} nested:${evil2} bt:${evil}`,
      `sq:${evil}${evil2}`,
      `ansi:${evil}\t${evil2}`,
      `heredoc:${evil}${evil2}`,
      `sh-arg:${evil}`,
      `assigned:${evil}`,
      'arith:4',
      'test:ok',
      `for:${evil}`,
      `for:${evil2}`,
      `default:${evil2}`,
    ]) {
      expect(logs).toContain(line);
    }
  });
});

/** The directory of the one session's command logs. */
function readLogDir(home: string): string {
  const result = spawnSync('ls', [join(home, 'sessions')], { encoding: 'utf8' });
  const dirs = result.stdout.split('\n').filter((e) => e && !e.includes('.'));
  expect(dirs).toHaveLength(1);
  return dirs[0]!;
}

describe('validate and the cache of placeholder sites', () => {
  it('gives the same answer from the cache, and a new one once the file changes', () => {
    const work = tempDir('work');
    const home = tempDir('home');
    const runbook = join(work, 'rb.yml');
    const text = (run: string) => `drbook: 1\ntitle: Cached\nvars:\n  v:\n    description: any text\nsteps:\n  - id: a\n    title: A\n    run: ${run}\n`;
    const validate = () => {
      const r = spawnSync(process.execPath, [BIN, 'validate', runbook], { cwd: work, env: cleanEnv(home), encoding: 'utf8' });
      return { status: r.status, output: r.stdout + r.stderr };
    };
    writeFileSync(runbook, text('echo $(( {{v}} + 1 ))'));
    const first = validate();
    expect(first.status).toBe(1);
    expect(first.output).toContain('rb.yml:9:19: error: steps[0] (a).run: {{v}} stands in $(( ))');
    expect(validate()).toMatchObject({ status: 1, output: first.output });
    writeFileSync(runbook, text('echo "$(( 1 )) {{v}}"'));
    expect(validate()).toMatchObject({ status: 0 });
    writeFileSync(runbook, text('echo $(( {{v}} + 1 ))'));
    expect(validate()).toMatchObject({ status: 1, output: first.output });
  });
});

describe('the process list while a step that uses a secret runs', () => {
  it.skipIf(spawnSync('ps', ['-V']).status !== 0)('shows the secret in no process: not drbook, not the shell, not its children', async () => {
    const work = tempDir('work');
    const secret = `s3cr3t-${process.pid}-${Math.random().toString(36).slice(2)}`;
    const runbook = join(work, 'secret.yml');
    writeFileSync(
      runbook,
      [
        'drbook: 1',
        'title: A secret in a command',
        'vars:',
        '  pw:',
        '    description: the password',
        '    env: TPL_TEST_PW',
        '    secret: true',
        'steps:',
        '  - id: use',
        '    title: Use the secret while a child runs',
        '    run: |',
        '      test "{{pw}}" = "$(cat expected)" && printf "%s" "{{pw}}" > got',
        '      touch started',
        '      while [ ! -e go ]; do sleep 0.05; done',
        '      sh -c \'test "$1" = "$(cat expected)"\' _ "{{pw}}" && echo same',
      ].join('\n') + '\n',
    );
    writeFileSync(join(work, 'expected'), secret);
    const child = spawn(process.execPath, [BIN, 'run', runbook, '--yes'], {
      cwd: work,
      env: cleanEnv(tempDir('home'), { TPL_TEST_PW: secret }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      await until('the step to start', () => existsSync(join(work, 'started')));
      const ps = spawnSync('ps', ['-ww', '-eo', 'pid,args'], { encoding: 'utf8' });
      expect(ps.status).toBe(0);
      // drbook and the shell running the step are there, with no secret in their arguments.
      expect(ps.stdout).toContain(BIN);
      expect(ps.stdout.split('\n').filter((l) => l.includes(secret))).toEqual([]);
    } finally {
      writeFileSync(join(work, 'go'), '');
    }
    expect(await exited, out).toBe(0);
    expect(readFileSync(join(work, 'got'), 'utf8')).toBe(secret);
    expect(out).toContain('same');
    expect(out).not.toContain(secret);
  });
});

describe('a templated runbook from a bundle', () => {
  it('runs from the bundle single drbook.mjs, far from node_modules, with a new state dir', () => {
    const source = tempDir('src');
    const runbooks = join(source, 'runbooks');
    mkdirSync(runbooks);
    writeFileSync(
      join(runbooks, 'tpl.yml'),
      'drbook: 1\nid: tpl\ntitle: Templated\nvars:\n  v:\n    description: any text\nsteps:\n  - id: say\n    title: Say it\n    run: echo "said:{{v}}" \'sq:{{v}}\'\n',
    );
    const out = join(tempDir('usb'), 'bundle');
    const made = spawnSync(process.execPath, [BIN, 'bundle', '--dir', runbooks, '-o', out], {
      cwd: source,
      env: cleanEnv(tempDir('home')),
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(made.status, made.stderr).toBe(0);
    const stick = tempDir('stick');
    cpSync(out, join(stick, 'bundle'), { recursive: true });
    const elsewhere = tempDir('elsewhere');
    const marker = join(elsewhere, 'pwned');
    const value = `$(touch ${marker})'`;
    const ran = spawnSync(process.execPath, [join(stick, 'bundle', 'drbook.mjs'), 'run', 'tpl', '--yes', '--var', `v=${value}`], {
      cwd: elsewhere,
      env: cleanEnv(tempDir('home')),
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(ran.status, ran.stdout + ran.stderr).toBe(0);
    expect(ran.stdout + ran.stderr).toContain(`said:${value} sq:${value}`);
    expect(existsSync(marker)).toBe(false);
  }, 180_000);
});

describe.skipIf(!tmuxAvailable())('edit and retry in a terminal', () => {
  it('refuses an edit that would evaluate a value, says why and asks again; runs an accepted one with the value', async () => {
    const work = tempDir('work');
    const marker = join(work, 'pwned');
    const runbook = join(work, 'edit.yml');
    writeFileSync(
      runbook,
      'drbook: 1\ntitle: Edit a command\nvars:\n  v:\n    description: any text\nsteps:\n  - id: first\n    title: A command that fails\n    run: exit 3\n',
    );
    const value = `a[$(touch ${marker})]`;
    const s = await startTmux({
      cmd: process.execPath,
      args: [BIN, 'run', runbook, '--var', `v=${value}`],
      cwd: work,
      cols: 160,
      rows: 50,
      env: { DRBOOK_HOME: tempDir('home'), DRBOOK_DIR: undefined, NO_COLOR: undefined, FORCE_COLOR: undefined },
    });
    sessions.push(s);
    await s.waitFor(/^\? Step 1\/1: what now\?/m);
    await s.sendKeys('r', 'Enter');
    await s.waitFor(/^\? The step failed\. What now\?/m);
    await s.sendKeys('e', 'Enter');
    await s.waitFor(/^\? Edit the command .*: exit 3$/m);
    await s.sendKeys('C-u');
    await s.waitFor(/^\? Edit the command .*: \(exit 3\)$/m);
    await s.type('echo $(( {{v}} + 1 ))');
    await s.sendKeys('Enter');
    // Refused with the reason and the way out, then asked again with the refused text.
    let screen = await s.waitFor(/edit refused: \{\{v\}\} stands in \$\(\( \)\)/);
    expect(screen).toMatch(/integer pattern/);
    await s.waitFor(/^\? Edit the command .*: echo \$\(\( \{\{v\}\} \+ 1 \)\)$/m);
    await s.sendKeys('C-u');
    await s.waitFor(/^\? Edit the command .*: \(echo \$\(\( \{\{v\}\} \+ 1 \)\)\)$/m);
    await s.type('echo "got:{{v}}"');
    await s.sendKeys('Enter');
    await s.waitFor('Run the edited command?');
    await s.sendKeys('Enter');
    screen = await s.waitFor(/Run completed: 1 done/);
    expect(screen).toContain(`got:${value}`);
    expect(await s.waitForExit()).toBe(0);
    expect(existsSync(marker)).toBe(false);
  });
});
