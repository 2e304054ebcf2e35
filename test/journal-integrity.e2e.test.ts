/**
 * A journal that cannot vanish under a session. A step's own command deletes, empties,
 * replaces or opens up (0666) the session's journal mid-run; the writer notices at its next
 * append: the first three stop the walk with exit 2 and one clear line, re-creating
 * nothing; the last is set back to 0600 with a warning. Readers (`verify`, `resume`,
 * `export`, `note`) refuse a journal whose first event is not session.started or whose
 * seq goes back; `sessions` and `verify` report files others can write.
 */
import { appendFileSync, chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, ensureBuilt, runCli, STACK_TRACE } from './helpers/run-cli.js';

let scratch: string;
let counter = 0;

beforeAll(async () => {
  await ensureBuilt();
  scratch = mkdtempSync(join(tmpdir(), 'drbook-integrity-'));
}, 180_000);

afterAll(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

interface Setup {
  cwd: string;
  home: string;
  runbook: string;
  env: Record<string, string>;
}

/** A runbook whose second step does `mischief` to the journal ($J), then two more steps. */
function setup(mischief: string): Setup {
  const cwd = join(scratch, `case-${++counter}`);
  const home = join(cwd, 'home');
  const runbook = join(cwd, 'rb.yml');
  mkdirSync(cwd, { recursive: true });
  writeFileSync(
    runbook,
    [
      'drbook: 1',
      'id: vanish',
      'title: A journal that vanishes',
      'steps:',
      '  - id: one',
      '    title: First',
      '    run: echo one',
      '  - id: mischief',
      '    title: Touch the journal',
      `    run: J=$(ls "$DRBOOK_HOME"/sessions/*.jsonl) && ${mischief}`,
      '  - id: three',
      '    title: Third',
      '    run: echo three >> "$DRBOOK_HOME/third-ran"',
      '',
    ].join('\n'),
  );
  return { cwd, home, runbook, env: { DRBOOK_HOME: home, HOME: home } };
}

function journals(home: string): string[] {
  const dir = join(home, 'sessions');
  return existsSync(dir) ? readdirSync(dir).filter((n) => n.endsWith('.jsonl')) : [];
}

describe('the journal changed under a running session', () => {
  const cases: Array<{ name: string; mischief: string; says: RegExp; left: number }> = [
    { name: 'deleted', mischief: 'rm "$J"', says: /it was deleted/, left: 0 },
    { name: 'emptied', mischief: 'truncate -s 0 "$J"', says: /it was cut from \d+ to 0 bytes/, left: 1 },
    {
      name: 'truncated to its first line',
      mischief: 'head -n 1 "$J" > "$J.tmp" && cat "$J.tmp" > "$J" && rm "$J.tmp"',
      says: /it was cut from \d+ to \d+ bytes/,
      left: 1,
    },
    { name: 'replaced by another file', mischief: 'cp "$J" "$J.new" && mv "$J.new" "$J"', says: /it was replaced by another file/, left: 1 },
    { name: 'moved away', mischief: 'mv "$J" "$J.moved"', says: /it was moved away/, left: 0 },
  ];
  for (const c of cases) {
    it(`${c.name}: the walk stops with exit 2 and one line, nothing is re-created`, async () => {
      const s = setup(c.mischief);
      const before = journals(s.home);
      const result = await runCli(['run', s.runbook, '--yes'], { cwd: s.cwd, env: s.env });
      expect(before).toEqual([]);
      expect(result.code, result.stderr).toBe(2);
      expect(result.stderr).not.toMatch(STACK_TRACE);
      const line = result.stderr.split('\n').find((l) => l.startsWith('drbook: the journal'));
      expect(line, result.stderr).toMatch(/^drbook: the journal .*\.jsonl is gone from under the session: /);
      expect(line).toMatch(c.says);
      expect(line).toMatch(/nothing was re-created/);
      expect(result.stdout + result.stderr).not.toMatch(/Run completed/);
      // The walk stopped: the step after never ran.
      expect(existsSync(join(s.home, 'third-ran'))).toBe(false);
      expect(journals(s.home)).toHaveLength(c.left);
    });
  }

  it('made 0666: set back to 0600 with a warning, the walk goes on', async () => {
    const s = setup('chmod 666 "$J"');
    const result = await runCli(['run', s.runbook, '--yes'], { cwd: s.cwd, env: s.env });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/^drbook: warning: .*\.jsonl was writable by others \(mode 0666\): set back to 0600/m);
    const [name] = journals(s.home);
    expect(statSync(join(s.home, 'sessions', name!)).mode & 0o777).toBe(0o600);
    expect(existsSync(join(s.home, 'third-ran'))).toBe(true);
  });
});

describe('readers refuse a journal not written whole', () => {
  async function finishedSession(): Promise<{ s: Setup; path: string; lines: string[] }> {
    const s = setup('true');
    const result = await runCli(['run', s.runbook, '--yes'], { cwd: s.cwd, env: s.env });
    expect(result.code, result.stderr).toBe(0);
    const path = join(s.home, 'sessions', journals(s.home)[0]!);
    return { s, path, lines: readFileSync(path, 'utf8').trimEnd().split('\n') };
  }

  it('its beginning cut away: verify exits 1, export, note, mark, attach and resume exit 2, each naming the line', async () => {
    const { s, path, lines } = await finishedSession();
    writeFileSync(path, lines.slice(3).join('\n') + '\n');
    const verify = await runCli(['verify'], { cwd: s.cwd, env: s.env });
    expect(verify.code).toBe(1);
    expect(verify.stdout).toContain(`${path}:1: the first event is`);
    expect(verify.stdout).toMatch(/not session\.started.*refused/);
    const id = journals(s.home)[0]!.replace('.jsonl', '');
    for (const args of [
      ['export', id],
      ['note', '--session', id, 'hello'],
      ['mark', 'detected', '--session', id],
      ['attach', s.runbook, '--session', id],
      ['resume', id, '--yes'],
    ]) {
      const r = await runCli(args, { cwd: s.cwd, env: s.env });
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).not.toMatch(STACK_TRACE);
      expect(r.stderr, args.join(' ')).toMatch(/first event is .*not session\.started.*refused/);
    }
    // The file is left as it was.
    expect(readFileSync(path, 'utf8')).toBe(lines.slice(3).join('\n') + '\n');
  });

  it('emptied to 0 bytes after the session: verify exits 1, export, note, mark and attach exit 2, nothing "verifies"', async () => {
    const { s, path } = await finishedSession();
    writeFileSync(path, '');
    const verify = await runCli(['verify'], { cwd: s.cwd, env: s.env });
    expect(verify.code).toBe(1);
    expect(verify.stdout).not.toContain('chain verifies');
    expect(verify.stdout).toMatch(/no event.*refused/);
    const id = journals(s.home)[0]!.replace('.jsonl', '');
    for (const args of [
      ['export', id],
      ['note', '--session', id, 'hello'],
      ['mark', 'detected', '--session', id],
      ['attach', s.runbook, '--session', id],
    ]) {
      const r = await runCli(args, { cwd: s.cwd, env: s.env });
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).not.toMatch(STACK_TRACE);
    }
    expect(readFileSync(path, 'utf8')).toBe('');
  });

  it('seq restarting (emptied, then written again with a valid chain): verify refuses it', async () => {
    const { s, path, lines } = await finishedSession();
    // A valid chain on its own: the journal as it was, then a second one started at seq 1.
    appendFileSync(path, lines.join('\n') + '\n');
    const verify = await runCli(['verify', '--json'], { cwd: s.cwd, env: s.env });
    expect(verify.code).toBe(1);
    const out = JSON.parse(verify.stdout) as { ok: boolean; refused: string };
    expect(out.ok).toBe(false);
    expect(out.refused).toMatch(new RegExp(`:${lines.length + 1}: seq goes back from ${lines.length} to 1`));
  });

  it('sessions and verify report a journal, log or sessions dir others can write', async () => {
    const { s, path } = await finishedSession();
    chmodSync(path, 0o666);
    chmodSync(join(s.home, 'sessions'), 0o777);
    const listed = await runCli(['sessions'], { cwd: s.cwd, env: s.env });
    expect(listed.code).toBe(0);
    expect(listed.stderr).toContain(`${path}: warning: writable by others (mode 0666)`);
    expect(listed.stderr).toContain(`${join(s.home, 'sessions')}: warning: writable by others (mode 0777)`);
    const verify = await runCli(['verify'], { cwd: s.cwd, env: s.env });
    expect(verify.stderr).toContain(`${path}: warning: writable by others (mode 0666)`);
    // Reading changes nothing; the next writer fixes it.
    expect(statSync(path).mode & 0o777).toBe(0o666);
    const noted = await runCli(['note', '--session', journals(s.home)[0]!.replace('.jsonl', ''), 'fixed?'], { cwd: s.cwd, env: s.env });
    expect(noted.code, noted.stderr).toBe(0);
    expect(noted.stderr).toMatch(/was writable by others \(mode 0666\): set back to 0600/);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const again = await runCli(['run', s.runbook, '--yes'], { cwd: s.cwd, env: s.env });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/sessions was writable by others \(mode 0777\): set back to 0700/);
    expect(statSync(join(s.home, 'sessions')).mode & 0o777).toBe(0o700);
  });
});

describe('a file-size limit (ulimit -f)', () => {
  it('ends the walk with exit 2 and one line per file that hit it, not a silent SIGXFSZ death', async () => {
    const cwd = join(scratch, `case-${++counter}`);
    const home = join(cwd, 'home');
    mkdirSync(cwd, { recursive: true });
    writeFileSync(
      join(cwd, 'big.yml'),
      [
        'drbook: 1',
        'id: big',
        'title: Big output',
        'steps:',
        '  - id: a',
        '    title: Much output',
        "    run: head -c 200000 /dev/zero | tr '\\0' x; echo",
        '  - id: b',
        '    title: Many lines',
        '    run: for i in $(seq 1 40); do echo "line $i $(head -c 100 /dev/zero | tr \'\\0\' y)"; done',
        '  - id: c',
        '    title: Never reached',
        '    run: echo c',
        '',
      ].join('\n'),
    );
    const { spawnSync } = await import('node:child_process');
    const r = spawnSync('bash', ['-c', 'ulimit -f 4; exec "$0" "$@"', process.execPath, BIN, 'run', 'big.yml', '--yes'], {
      cwd,
      env: { PATH: process.env.PATH, HOME: home, DRBOOK_HOME: home, NO_COLOR: '1', LANG: 'C.UTF-8' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(r.signal).toBeNull();
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).not.toMatch(STACK_TRACE);
    // The log may hit the limit first (said once, the command goes on); the journal always does.
    for (const line of r.stderr.split('\n').filter((l) => l.includes('output log stopped')))
      expect(line).toMatch(/file too large: the file-size limit \(ulimit -f\) was reached$/);
    expect(r.stderr).toMatch(/^drbook: cannot write to the journal .*\.jsonl: .*(file-size limit|file too large)/m);
  });
});
