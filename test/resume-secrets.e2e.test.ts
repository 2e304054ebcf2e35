import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, makeSandbox, runCli, STACK_TRACE, type Sandbox } from './helpers/run-cli.js';

const SECRET = 'Hunter22secret';

/**
 * A secret is never stored, so a resumed session must have it again before any output can
 * hold it: otherwise the redactor would not know it and it would reach the screen and logs.
 * The first run is killed by its own second step (kill -9 of drbook, the shell's parent), leaving an
 * interrupted session, without any terminal or timing games.
 */
describe('resume and secrets', () => {
  let box: Sandbox;
  beforeAll(async () => {
    await ensureBuilt();
    box = makeSandbox();
    writeFileSync(join(box.cwd, 'app.conf'), `${SECRET}\n`);
    writeFileSync(
      join(box.dir, 'leak.yml'),
      [
        'drbook: 1',
        'title: Secret after a crash',
        'vars:',
        '  dbpass: { prompt: DB password, secret: true, env: DB_PASS }',
        'steps:',
        '  - id: use',
        '    title: Use the password',
        '    run: echo using {{dbpass}} >/dev/null',
        '  - id: crash',
        '    title: drbook dies here the first time',
        '    run: test -e crashed || { touch crashed; kill -9 $PPID; sleep 1; }',
        // Cut by the kill: idempotent, so resume --yes may run it again (else it leaves the question to the operator).
        '    idempotent: true',
        '  - id: show-config',
        '    title: Show the config',
        '    run: printf "db_password=%s\\n" "$(cat app.conf)"',
        // A step still to walk uses the secret: resume must have it again.
        '  - id: check',
        '    title: Check the password again',
        '    run: test -n {{dbpass}}',
        '',
      ].join('\n'),
    );
  });
  afterAll(() => box.cleanup());

  const env = (extra: Record<string, string> = {}) => ({ HOME: box.home, DRBOOK_HOME: box.home, DRBOOK_DIR: box.dir, ...extra });

  it('refuses resume --yes without the secret, then masks it everywhere once given', async () => {
    const first = await runCli(['run', 'leak', '--yes'], { cwd: box.cwd, env: env({ DB_PASS: SECRET }) });
    expect(first.signal ?? first.code).toBeTruthy();

    const sessions = JSON.parse((await runCli(['sessions', '--json'], { cwd: box.cwd, env: env() })).stdout) as { status: string }[];
    expect(sessions.map((s) => s.status)).toEqual(['interrupted']);

    const refused = await runCli(['resume', '--yes'], { cwd: box.cwd, env: env() });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('--var dbpass=- (read from stdin) (or $DB_PASS)');
    expect(refused.stderr).not.toMatch(STACK_TRACE);

    const resumed = await runCli(['resume', '--yes'], { cwd: box.cwd, env: env({ DB_PASS: SECRET }), timeoutMs: 20_000 });
    expect(resumed.stderr).toContain('Run completed');
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toContain('db_password=***');
    expect(resumed.stdout + resumed.stderr).not.toContain(SECRET);

    // Nowhere under DRBOOK_HOME: journal, logs, locks.
    expect(filesUnder(box.home).filter((f) => readFileSync(f, 'utf8').includes(SECRET))).toEqual([]);
    const journal = filesUnder(box.home).find((f) => f.endsWith('.jsonl'))!;
    const events = readFileSync(journal, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; name?: string; value?: string });
    const resumedAt = events.findIndex((e) => e.type === 'session.resumed');
    expect(events.slice(resumedAt).find((e) => e.type === 'var.set' && e.name === 'dbpass')).toMatchObject({ value: '***' });
  });
});

describe('resume asks only for the secrets the remaining steps need', () => {
  let box: Sandbox;
  beforeAll(async () => {
    await ensureBuilt();
    box = makeSandbox();
    writeFileSync(
      join(box.dir, 'early.yml'),
      [
        'drbook: 1',
        'title: A secret used early',
        'vars:',
        '  dbpass: { prompt: DB password, secret: true, env: DB_PASS }',
        'steps:',
        '  - id: use',
        '    title: Use the password',
        '    run: echo using {{dbpass}} >/dev/null',
        '  - id: crash',
        '    title: drbook dies here the first time',
        '    run: test -e crashed || { touch crashed; kill -9 $PPID; sleep 1; }',
        // Cut by the kill: idempotent, so resume --yes may run it again (else it leaves the question to the operator).
        '    idempotent: true',
        '  - id: last',
        '    title: Needs no secret',
        '    run: echo finished',
        '',
      ].join('\n'),
    );
  });
  afterAll(() => box.cleanup());
  const env = (extra: Record<string, string> = {}) => ({ HOME: box.home, DRBOOK_HOME: box.home, DRBOOK_DIR: box.dir, ...extra });

  it('resume --yes goes on without a secret only a finished step used', async () => {
    const first = await runCli(['run', 'early', '--yes'], { cwd: box.cwd, env: env({ DB_PASS: SECRET }) });
    expect(first.signal ?? first.code).toBeTruthy();
    const resumed = await runCli(['resume', '--yes'], { cwd: box.cwd, env: env(), timeoutMs: 20_000 });
    expect(resumed.stderr).toContain('Run completed');
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toContain('finished');
  });
});

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

describe('resume --yes and a variable nobody gave', () => {
  let box: Sandbox;
  beforeAll(async () => {
    await ensureBuilt();
    box = makeSandbox();
  });
  afterAll(() => box.cleanup());

  const env = (extra: Record<string, string> = {}) => ({ HOME: box.home, DRBOOK_HOME: box.home, DRBOOK_DIR: box.dir, ...extra });
  const runbook = (extraSteps: string[]) =>
    [
      'drbook: 1',
      'title: A token needed later',
      'vars:',
      '  token: { prompt: API token, secret: true, env: API_TOKEN }',
      'steps:',
      '  - id: crash',
      '    title: drbook dies here the first time',
      '    run: test -e crashed || { touch crashed; kill -9 $PPID; sleep 1; }',
      '    idempotent: true',
      ...extraSteps,
      '',
    ].join('\n');

  it('refuses before resuming, the journal untouched, instead of aborting the session for good', async () => {
    writeFileSync(join(box.dir, 'later.yml'), runbook([]));
    const first = await runCli(['run', 'later', '--yes'], { cwd: box.cwd, env: env() });
    expect(first.signal ?? first.code).toBeTruthy();
    // The runbook gains a step that needs the token, which this session never had.
    writeFileSync(join(box.dir, 'later.yml'), runbook(['  - id: call', '    title: Call the API', '    run: echo calling with {{token}} >/dev/null']));
    const journal = readdirSync(join(box.home, 'sessions')).find((f) => f.endsWith('.jsonl'))!;
    const before = readFileSync(join(box.home, 'sessions', journal), 'utf8');

    const refused = await runCli(['resume', '--yes'], { cwd: box.cwd, env: env() });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('--yes cannot answer a question with no default: give --var token=- (read from stdin) (or $API_TOKEN)');
    expect(refused.stderr).not.toMatch(STACK_TRACE);
    expect(readFileSync(join(box.home, 'sessions', journal), 'utf8')).toBe(before);

    const resumed = await runCli(['resume', '--yes'], { cwd: box.cwd, env: env({ API_TOKEN: 'tok-123456' }), timeoutMs: 20_000 });
    expect(resumed.stderr).toContain('Run completed');
    expect(resumed.code).toBe(0);
  });
});
