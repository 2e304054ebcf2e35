/**
 * The hardening sweep: every command meets wrong flags, missing arguments, files that are
 * not files, a missing runbooks directory, a DRBOOK_HOME it cannot write (under a file,
 * read-only, full), journals it must not touch (a FIFO, a newer format), odd terminals and
 * odd command output. Each time: the documented exit code, one clear line, no stack trace,
 * no hang, and no journal event lost.
 *
 * Root ignores file modes, so "unwritable" is a path under a regular file (ENOTDIR), a
 * read-only bind mount and a tiny tmpfs (each skipped when `mount` is not allowed here).
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, ensureBuilt, FIXTURES, makeSandbox, runCli, STACK_TRACE, type CliResult, type Sandbox } from './helpers/run-cli.js';
import { startTmux, tmuxAvailable, type TmuxSession } from './helpers/tmux.js';

const RUNBOOKS = join(FIXTURES, 'hardening');
const WAIT_FOR = join(FIXTURES, 'bin', 'wait-for');

// ---------------------------------------------------------------------------------------
// Sandboxes, mounts and journals

interface World extends Sandbox {
  /** Runs drbook with this world's DRBOOK_HOME, DRBOOK_DIR and working directory. */
  run(args: string[], env?: Record<string, string | undefined>): Promise<CliResult>;
}

const cleanups: (() => void)[] = [];

function world(): World {
  const sb = makeSandbox();
  for (const name of readdirSync(RUNBOOKS)) copyFileSync(join(RUNBOOKS, name), join(sb.dir, name));
  cleanups.push(() => sb.cleanup());
  return {
    ...sb,
    run: (args, env = {}) => runCli(args, { cwd: sb.cwd, env: { HOME: sb.home, DRBOOK_HOME: sb.home, DRBOOK_DIR: sb.dir, ...env }, timeoutMs: 10_000 }),
  };
}

/** Whether this process may mount (root with CAP_SYS_ADMIN, not in a locked-down container). */
const canMount = ((): boolean => {
  if (process.platform !== 'linux') return false;
  const sb = makeSandbox();
  const probe = join(sb.cwd, 'probe');
  mkdirSync(probe);
  const ok = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=16k', 'tmpfs', probe], { stdio: 'ignore' }).status === 0;
  if (ok) spawnSync('umount', [probe], { stdio: 'ignore' });
  sb.cleanup();
  return ok;
})();

function mount(args: string[], target: string): void {
  const result = spawnSync('mount', [...args, target], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`mount ${args.join(' ')} ${target}: ${result.stderr}`);
  // Lazy: a process of a failed test may still hold a file there.
  cleanups.unshift(() => spawnSync('umount', ['-l', target], { stdio: 'ignore' }));
}

/** A tiny tmpfs at `dir`, filled to the last byte when `fill` is set. */
function smallDisk(dir: string, options: { sizeKb?: number; fill?: boolean } = {}): void {
  mkdirSync(dir, { recursive: true });
  mount(['-t', 'tmpfs', '-o', `size=${options.sizeKb ?? 64}k`, 'tmpfs'], dir);
  if (options.fill) fillDisk(dir);
}

function fillDisk(dir: string): void {
  // dd stops with ENOSPC once every page is taken.
  spawnSync('dd', ['if=/dev/zero', `of=${join(dir, 'filler')}`, 'bs=4096'], { stdio: 'ignore' });
}

const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');
const runbookSha = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');

/** Writes a chained journal, as drbook would, in format `v`. Returns the session id. */
function writeJournal(home: string, id: string, events: Record<string, unknown>[], v = 1): string {
  mkdirSync(join(home, 'sessions'), { recursive: true });
  let prev: string | null = null;
  const lines = events.map((event, i) => {
    const line = JSON.stringify({ v, seq: i + 1, ts: new Date(Date.UTC(2026, 2, 11, 9, 0, i)).toISOString(), prev, ...event });
    prev = sha256(line);
    return line;
  });
  writeFileSync(join(home, 'sessions', `${id}.jsonl`), lines.join('\n') + '\n', { mode: 0o600 });
  return id;
}

/** A session of small.yml that was paused at its first step: resume and note accept it. */
function pausedSession(w: World, id = '20260311T090000Z-small', v = 1): string {
  const file = join(w.dir, 'small.yml');
  return writeJournal(
    w.home,
    id,
    [
      {
        type: 'session.started',
        session: id,
        runbook: { id: 'small', title: 'Two small steps', path: file, sha256: runbookSha(file), steps: 2 },
        mode: 'live',
        operator: { user: 'op', host: 'test' },
        tz: 'UTC',
        tzOffsetMinutes: 0,
        drbook: v === 1 ? '0.1.0' : '9.0.0',
        pid: 999_999_999,
        ...(v === 1 ? {} : { shiny: { new: 'field' } }),
      },
      { type: 'step.started', step: 'hello', index: 0, title: 'Say hello' },
      ...(v === 1 ? [] : [{ type: 'step.teleported', step: 'hello', to: 'a later format' }]),
      { type: 'session.paused', step: 'hello', reason: 'Ctrl-C at a prompt' },
    ],
    v,
  );
}

interface Journal {
  path: string;
  events: { type: string; step?: string; [key: string]: unknown }[];
  torn: boolean;
}

/**
 * Checks a journal is whole: every line JSON of format 1, seq 1, 2, 3…, each `prev` the
 * sha256 of the line before, the first a session.started. Only where a full disk may cut a
 * write is a torn last line (no newline) allowed, and then it is left out.
 */
function wholeJournal(path: string, options: { allowTornTail?: boolean } = {}): Journal {
  const text = readFileSync(path, 'utf8');
  const lines = text.split('\n');
  const last = lines.pop();
  const torn = last !== '';
  if (torn) expect(options.allowTornTail, `${path}: a torn last line: ${last}`).toBe(true);
  const events = lines.map((line, i) => {
    let event: Record<string, unknown>;
    try {
      event = JSON.parse(line) as Record<string, unknown>;
    } catch {
      throw new Error(`${path}:${i + 1}: not JSON: ${line}`);
    }
    expect(event.v, `${path}:${i + 1} v`).toBe(1);
    expect(event.seq, `${path}:${i + 1} seq`).toBe(i + 1);
    expect(event.prev, `${path}:${i + 1} prev`).toBe(i === 0 ? null : sha256(lines[i - 1]!));
    return event as Journal['events'][number];
  });
  expect(events[0]?.type, `${path}: first event`).toBe('session.started');
  return { path, events, torn };
}

function journals(home: string): string[] {
  const dir = join(home, 'sessions');
  return existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => f.endsWith('.jsonl'))
        .map((f) => join(dir, f))
    : [];
}

/** Every journal under `home` is whole (there may be none: the run stopped before one). */
function allJournalsWhole(home: string, options: { allowTornTail?: boolean } = {}): Journal[] {
  return journals(home).map((path) => wholeJournal(path, options));
}

/** What drbook must never do, whatever the input: hang, crash with a trace, say "internal error". */
function expectClean(result: CliResult, code: number, message: RegExp): void {
  const shown = `exit ${result.code}${result.signal ? ` (${result.signal})` : ''}\n--- stderr\n${result.stderr}--- stdout\n${result.stdout.slice(0, 2000)}`;
  expect(result.timedOut, `hung:\n${shown}`).toBe(false);
  expect(result.code, shown).toBe(code);
  expect(result.stderr, shown).toMatch(message);
  expect(result.stderr + result.stdout, shown).not.toMatch(STACK_TRACE);
}

function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string): void => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const path = join(d, entry.name);
      // Caches of what a runbook's commands parse to are not sessions: a usage error may fill them.
      if (entry.isDirectory() && path === join(dir, 'cache')) continue;
      if (entry.isDirectory()) walk(path);
      else out.set(path.slice(dir.length), createHash('sha256').update(readFileSync(path)).digest('hex'));
    }
  };
  walk(dir);
  return out;
}

beforeAll(async () => {
  await ensureBuilt();
}, 120_000);

afterAll(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

// ---------------------------------------------------------------------------------------
// Usage: every command × every wrong flag, missing or extra argument, bad value

interface Case {
  name: string;
  args: string[];
  code: number;
  stderr: RegExp;
  /** Prepares the world; may return extra environment. */
  setup?: (w: World) => Record<string, string> | void;
  env?: Record<string, string>;
}

/** A valid call of each command: the base that each wrong flag is added to. */
const COMMANDS: Record<string, string[]> = {
  list: ['list'],
  validate: ['validate'],
  show: ['show', 'small'],
  run: ['run', 'small', '--yes'],
  rehearse: ['rehearse', 'small', '--yes'],
  resume: ['resume', '--yes'],
  note: ['note', 'hello'],
  sessions: ['sessions'],
  verify: ['verify'],
  export: ['export'],
  bundle: ['bundle'],
  schema: ['schema'],
};

const UNKNOWN_FLAG = /^error: unknown option '--no-such-flag'/m;
const USAGE_CASES: Case[] = [
  ...Object.entries(COMMANDS).flatMap(([name, args]): Case[] => [
    { name: `${name} --no-such-flag`, args: [...args, '--no-such-flag'], code: 2, stderr: UNKNOWN_FLAG },
    { name: `${name} -Z`, args: [...args, '-Z'], code: 2, stderr: /^error: unknown option '-Z'/m },
  ]),
  { name: 'an unknown command', args: ['recover'], code: 2, stderr: /^error: unknown command 'recover'/m },
  // Missing arguments.
  ...['show', 'run', 'rehearse'].map((name): Case => ({
    name: `${name} without RUNBOOK`,
    args: [name],
    code: 2,
    stderr: /^error: missing required argument 'runbook'/m,
  })),
  { name: 'note without text', args: ['note'], code: 2, stderr: /^error: missing required argument 'text'/m },
  { name: 'note with only blanks', args: ['note', '  '], code: 2, stderr: /^drbook: a note needs text/m },
  // Extra arguments.
  ...[
    ['list', 'x'],
    ['schema', 'x'],
    ['sessions', 'x'],
    ['bundle', 'x'],
    ['verify', 'a', 'b'],
    ['export', 'a', 'b'],
    ['resume', 'a', 'b'],
    ['show', 'small', 'extra'],
  ].map((args): Case => ({ name: `${args.join(' ')}: too many arguments`, args, code: 2, stderr: /^error: too many arguments/m })),
  // Options without their value.
  ...[
    ['list', '--dir'],
    ['validate', '--dir'],
    ['show', 'small', '--format'],
    ['run', 'small', '--yes', '--var'],
    ['run', 'small', '--yes', '--vars-file'],
    ['rehearse', 'small', '--yes', '--from'],
    ['resume', '--yes', '--var'],
    ['note', 'hi', '--session'],
    ['note', 'hi', '--at'],
    ['export', '--format'],
    ['export', '--tz'],
    ['export', '-o'],
    ['export', '--all'],
    ['bundle', '-o'],
    ['bundle', '--check'],
  ].map((args): Case => ({ name: `${args.join(' ')} (no value)`, args, code: 2, stderr: /^error: option '.+' argument missing/m })),
  // Values that are wrong.
  { name: 'show --format pdf', args: ['show', 'small', '--format', 'pdf'], code: 2, stderr: /^drbook: --format must be text or md, not "pdf"/m },
  { name: 'export --format pdf', args: ['export', '--format', 'pdf'], code: 2, stderr: /^drbook: unknown --format "pdf": use md or json/m },
  { name: 'export --tz Mars/Olympus', args: ['export', '--tz', 'Mars/Olympus'], code: 2, stderr: /^drbook: unknown time zone "Mars\/Olympus"/m },
  { name: 'export SESSION --all RUNBOOK', args: ['export', 'x', '--all', 'small'], code: 2, stderr: /^drbook: give a SESSION or --all RUNBOOK, not both/m },
  {
    name: 'bundle --check with -o',
    args: ['bundle', '--check', 'a', '-o', 'b'],
    code: 2,
    stderr: /^drbook: --check DIR verifies an existing bundle: give it without -o/m,
  },
  { name: 'run --var without =', args: ['run', 'small', '--yes', '--var', 'novalue'], code: 2, stderr: /^drbook: --var novalue: expected name=value/m },
  {
    name: 'run --var of an undeclared var',
    args: ['run', 'small', '--yes', '--var', 'ghost=1'],
    code: 2,
    stderr: /^drbook: --var ghost: small declares no var "ghost"/m,
  },
  {
    name: 'rehearse --from an unknown step',
    args: ['rehearse', 'small', '--yes', '--from', 'nope'],
    code: 2,
    stderr: /^drbook: --from nope: no such step in small \(steps: hello, bye\)/m,
  },
  {
    name: 'note --at 25:99',
    args: ['note', '--session', '20260311T090000Z-small', '--at', '25:99', 'late'],
    code: 2,
    stderr: /^drbook: --at 25:99: not a time of day/m,
    setup: (w) => void pausedSession(w),
  },
  // No terminal without --yes.
  { name: 'run without a terminal', args: ['run', 'small'], code: 2, stderr: /^drbook: drbook run asks questions and needs a terminal, but stdin is not one/m },
  { name: 'rehearse without a terminal', args: ['rehearse', 'small'], code: 2, stderr: /needs a terminal, but stdin is not one/ },
  { name: 'resume without a terminal', args: ['resume'], code: 2, stderr: /needs a terminal, but stdin is not one/, setup: (w) => void pausedSession(w) },
  // Sessions that are not there.
  ...[
    ['resume', 'nope', '--yes'],
    ['verify', 'nope'],
    ['sessions', '--verify', 'nope'],
    ['export', 'nope'],
    ['note', '--session', 'nope', 'hi'],
  ].map((args): Case => ({
    name: `${args.join(' ')}: no such session`,
    args,
    code: 2,
    stderr: /^drbook: no session nope in .*; see drbook sessions/m,
    setup: (w) => void pausedSession(w),
  })),
  ...[['resume', '--yes'], ['verify'], ['export'], ['note', 'hi']].map((args): Case => ({
    name: `${args.join(' ')}: no sessions yet`,
    args,
    code: 2,
    stderr: /^drbook: no sessions yet in .*start one with drbook run|^drbook: no open session/m,
  })),
  {
    name: 'export --all of a runbook never run',
    args: ['export', '--all', 'nope'],
    code: 2,
    stderr: /^drbook: no session of runbook "nope"/m,
    setup: (w) => void pausedSession(w),
  },
];

describe.concurrent('usage errors: exit 2 and one line', () => {
  it.for(USAGE_CASES)('$name', async (c) => {
    const w = world();
    const env = c.setup?.(w) ?? {};
    const before = snapshot(w.home);
    const result = await w.run(c.args, { ...env, ...c.env });
    expectClean(result, c.code, c.stderr);
    // A usage error never leaves a session behind, nor changes one.
    expect(snapshot(w.home)).toEqual(before);
    allJournalsWhole(w.home);
  });
});

// ---------------------------------------------------------------------------------------
// Files that are not runbooks: missing, dangling, a directory, a FIFO, a device

type Input = 'missing' | 'dangling symlink' | 'directory' | 'FIFO' | 'device';

function makeInput(w: World, kind: Input): string {
  const path = join(w.cwd, kind === 'directory' ? 'a-dir' : `input-${kind.replace(' ', '-')}.yml`);
  switch (kind) {
    case 'missing':
      break;
    case 'dangling symlink':
      symlinkSync(join(w.cwd, 'gone.yml'), path);
      break;
    case 'directory':
      mkdirSync(path);
      break;
    case 'FIFO':
      // Nobody ever writes it: a blocking read would wait forever.
      spawnSync('mkfifo', [path]);
      break;
    case 'device':
      // Never ends: drbook must stop at its size limit.
      return '/dev/zero';
  }
  return path;
}

interface InputCase {
  command: string;
  kind: Input;
  args: (path: string) => string[];
  code: number;
  stderr: RegExp;
}

const RUNBOOK_EXPECTED: Record<Input, { code: number; stderr: RegExp }> = {
  missing: { code: 2, stderr: /^drbook: runbook file not found: / },
  'dangling symlink': { code: 2, stderr: /^drbook: runbook file not found: / },
  directory: { code: 2, stderr: /^drbook: .*a-dir: is a directory, not a runbook file/m },
  FIFO: { code: 1, stderr: /input-FIFO\.yml:1:1: error: is not a regular file \(a named pipe or a device\) and nothing came from it/ },
  device: { code: 1, stderr: /\/dev\/zero:1:1: error: is more than 4\.0 MB: too large for a runbook/ },
};
const VALIDATE_EXPECTED: Record<Input, { code: number; stderr: RegExp }> = {
  missing: { code: 2, stderr: /1 path not found/ },
  'dangling symlink': { code: 2, stderr: /1 path not found/ },
  directory: { code: 0, stderr: /0 runbooks checked/ },
  FIFO: { code: 1, stderr: /1 runbook checked: 1 invalid/ },
  device: { code: 1, stderr: /1 runbook checked: 1 invalid/ },
};
const VARS_FILE_EXPECTED: Record<Input, { code: number; stderr: RegExp }> = {
  missing: { code: 2, stderr: /^drbook: --vars-file .*: no such file or directory/m },
  'dangling symlink': { code: 2, stderr: /^drbook: --vars-file .*: no such file or directory/m },
  directory: { code: 2, stderr: /^drbook: --vars-file .*a-dir: is a directory/m },
  // A FIFO nobody writes reads as empty: no vars, and the run goes on.
  FIFO: { code: 0, stderr: /Run completed: 2 done/ },
  device: { code: 2, stderr: /^drbook: --vars-file \/dev\/zero: is more than 1\.0 MB: too large for a vars file/m },
};

const KINDS: Input[] = ['missing', 'dangling symlink', 'directory', 'FIFO', 'device'];
const INPUT_CASES: InputCase[] = KINDS.flatMap((kind): InputCase[] => [
  { command: 'show', kind, args: (p) => ['show', p], ...RUNBOOK_EXPECTED[kind] },
  { command: 'run', kind, args: (p) => ['run', p, '--yes'], ...RUNBOOK_EXPECTED[kind] },
  { command: 'rehearse', kind, args: (p) => ['rehearse', p, '--yes'], ...RUNBOOK_EXPECTED[kind] },
  { command: 'validate', kind, args: (p) => ['validate', p], ...VALIDATE_EXPECTED[kind] },
  { command: 'run --vars-file', kind, args: (p) => ['run', 'small', '--yes', '--vars-file', p], ...VARS_FILE_EXPECTED[kind] },
]);

describe.concurrent('files that are not runbooks: no hang, one line', () => {
  it.for(INPUT_CASES)('$command with a $kind', async (c) => {
    const w = world();
    const result = await w.run(c.args(makeInput(w, c.kind)));
    expectClean(result, c.code, c.stderr);
    const sessions = allJournalsWhole(w.home);
    // Only a run that really started has a session.
    expect(sessions.length).toBe(c.code === 0 && c.command.startsWith('run') ? 1 : 0);
  });
});

// ---------------------------------------------------------------------------------------
// Where output goes, and what resume and bundle --check read back

const OUTPUT_CASES: Case[] = [
  { name: 'export -o a directory', args: ['export', '-o', 'a-dir'], code: 2, stderr: /^drbook: cannot write a-dir: is a directory/m },
  {
    name: 'export -o under a file',
    args: ['export', '-o', 'a-file/x.md'],
    code: 2,
    stderr: /^drbook: cannot write a-file\/x\.md: a part of the path is not a directory/m,
  },
  {
    name: 'export -o in a missing directory',
    args: ['export', '-o', 'nowhere/x.md'],
    code: 2,
    stderr: /^drbook: cannot write nowhere\/x\.md: no such file or directory/m,
  },
  {
    name: 'bundle -o under a file',
    args: ['bundle', '-o', 'a-file/bundle'],
    code: 2,
    stderr: /^drbook: cannot write the bundle a-file\/bundle: a part of the path is not a directory; choose another -o/m,
  },
  { name: 'bundle -o a file', args: ['bundle', '-o', 'a-file'], code: 2, stderr: /^drbook: a-file exists and is not a directory: choose another -o/m },
  {
    name: 'bundle -o a directory that is no bundle',
    args: ['bundle', '-o', 'a-dir-with-files'],
    code: 2,
    stderr: /^drbook: a-dir-with-files exists and is not a drbook bundle .*refusing to replace it/m,
  },
  // Node's recursive mkdir spins forever under /proc.
  {
    name: 'bundle -o under /proc',
    args: ['bundle', '-o', '/proc/drbook-no-such/bundle'],
    code: 2,
    stderr: /^drbook: cannot write the bundle \/proc\/drbook-no-such\/bundle: /m,
  },
  { name: 'bundle --check a missing directory', args: ['bundle', '--check', 'nowhere'], code: 2, stderr: /^drbook: nowhere does not exist/m },
  {
    name: 'bundle --check a directory that is no bundle',
    args: ['bundle', '--check', 'a-dir'],
    code: 2,
    stderr: /^drbook: a-dir has no SHA256SUMS: not a drbook bundle/m,
  },
  {
    name: 'bundle --check whose SHA256SUMS is a directory',
    args: ['bundle', '--check', 'sums-is-a-dir'],
    code: 2,
    stderr: /^drbook: cannot read sums-is-a-dir\/SHA256SUMS: is a directory/m,
  },
  {
    name: 'resume when the runbook is gone',
    args: ['resume', '--yes'],
    code: 2,
    stderr: /^drbook: the runbook of 20260311T090000Z-small is gone: .*small\.yml does not exist/m,
    setup: (w) => {
      pausedSession(w);
      rmSync(join(w.dir, 'small.yml'));
    },
  },
];

describe.concurrent('output paths and what is read back', () => {
  it.for(OUTPUT_CASES)('$name', async (c) => {
    const w = world();
    pausedSession(w);
    writeFileSync(join(w.cwd, 'a-file'), 'a plain file\n');
    mkdirSync(join(w.cwd, 'a-dir'));
    mkdirSync(join(w.cwd, 'a-dir-with-files'));
    writeFileSync(join(w.cwd, 'a-dir-with-files', 'keep.txt'), 'precious\n');
    mkdirSync(join(w.cwd, 'sums-is-a-dir', 'SHA256SUMS'), { recursive: true });
    c.setup?.(w);
    const before = snapshot(w.cwd);
    const beforeHome = snapshot(w.home);
    expectClean(await w.run(c.args), c.code, c.stderr);
    // Nothing half-written where the output was refused; the session untouched.
    expect(snapshot(w.cwd)).toEqual(before);
    expect(snapshot(w.home)).toEqual(beforeHome);
  });
});

// ---------------------------------------------------------------------------------------
// The runbooks directory missing, or a file

const DIR_CASES: Case[] = [
  { name: 'list', args: ['list'], code: 2, stderr: /^drbook: runbooks directory .*: no such file or directory \(set --dir or DRBOOK_DIR\)/m },
  { name: 'validate', args: ['validate'], code: 2, stderr: /0 runbooks checked.*1 path not found/ },
  { name: 'show', args: ['show', 'small'], code: 2, stderr: /^drbook: no runbook "small": the runbooks directory .* does not exist/m },
  { name: 'run', args: ['run', 'small', '--yes'], code: 2, stderr: /^drbook: no runbook "small": the runbooks directory .* does not exist/m },
  { name: 'rehearse', args: ['rehearse', 'small', '--yes'], code: 2, stderr: /^drbook: no runbook "small": the runbooks directory .* does not exist/m },
  { name: 'bundle', args: ['bundle'], code: 2, stderr: /^drbook: runbooks directory .*: no such file or directory/m },
  {
    name: 'list --dir a file',
    args: ['list', '--dir', 'a-file'],
    code: 2,
    stderr: /^drbook: runbooks directory a-file: a part of the path is not a directory/m,
  },
  { name: 'show an unknown id', args: ['show', 'nope', '--dir', 'books'], code: 2, stderr: /^drbook: no runbook "nope" in books/m },
];

describe.concurrent('runbooks directory missing', () => {
  it.for(DIR_CASES)('$name', async (c) => {
    const w = world();
    writeFileSync(join(w.cwd, 'a-file'), 'not a directory\n');
    mkdirSync(join(w.cwd, 'books'));
    const result = await w.run(c.args, { DRBOOK_DIR: join(w.cwd, 'no-runbooks-here') });
    expectClean(result, c.code, c.stderr);
    expect(journals(w.home)).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------
// DRBOOK_HOME that cannot be written: under a file, read-only, full

const ENOTDIR_CASES: Case[] = [
  {
    name: 'run',
    args: ['run', 'small', '--yes'],
    code: 2,
    stderr: /^drbook: cannot create the sessions directory .*: a part of the path is not a directory; set DRBOOK_HOME to a writable directory/m,
  },
  {
    name: 'rehearse',
    args: ['rehearse', 'small', '--yes'],
    code: 2,
    stderr: /^drbook: cannot create the sessions directory .*: a part of the path is not a directory/m,
  },
  ...[['sessions'], ['sessions', '--json'], ['verify'], ['export'], ['resume', '--yes'], ['note', 'hi'], ['note', '--session', 'x', 'hi']].map(
    (args): Case => ({ name: args.join(' '), args, code: 2, stderr: /^drbook: cannot read the sessions directory .*: a part of the path is not a directory/m }),
  ),
];

describe.concurrent('DRBOOK_HOME under a regular file (ENOTDIR)', () => {
  it.for(ENOTDIR_CASES)('$name', async (c) => {
    const w = world();
    const file = join(w.cwd, 'plain-file');
    writeFileSync(file, '');
    const result = await w.run(c.args, { DRBOOK_HOME: join(file, 'home') });
    expectClean(result, c.code, c.stderr);
    expect(statSync(file).size).toBe(0);
  });
});

describe.skipIf(!canMount).concurrent('DRBOOK_HOME on a read-only file system', () => {
  /** A home with a paused session, then mounted read-only over itself. */
  function readOnlyHome(w: World): string {
    const id = pausedSession(w);
    mount(['--bind', '-o', 'ro', w.home], w.home);
    return id;
  }

  const cases: Case[] = [
    {
      name: 'run',
      args: ['run', 'small', '--yes'],
      code: 2,
      // The start of a run is locked first (one live run per runbook): that lock file is the first write refused.
      stderr: /^drbook: cannot lock the start of a run of small: .*: read-only file system$/m,
    },
    { name: 'resume', args: ['resume', '--yes'], code: 2, stderr: /^drbook: cannot lock session 20260311T090000Z-small: .*: read-only file system/m },
    { name: 'note', args: ['note', 'from the read-only side'], code: 2, stderr: /^drbook: cannot (write to|lock) the journal .*: read-only file system/m },
    // Reading needs no write: a read-only copy of the sessions can still be checked and exported.
    { name: 'sessions', args: ['sessions'], code: 0, stderr: /1 session can be resumed/ },
    { name: 'verify', args: ['verify'], code: 0, stderr: /^$/ },
    { name: 'export', args: ['export'], code: 0, stderr: /^$/ },
  ];

  it.for(cases)('$name', async (c) => {
    const w = world();
    readOnlyHome(w);
    const before = snapshot(w.home);
    const result = await w.run(c.args);
    expectClean(result, c.code, c.stderr);
    expect(snapshot(w.home)).toEqual(before);
    allJournalsWhole(w.home);
  });
});

describe.skipIf(!canMount).concurrent('DRBOOK_HOME on a full disk', () => {
  it('run: stops with exit 2 when the disk fills mid-walk, every event before it kept', async () => {
    const w = world();
    smallDisk(w.home);
    const result = await w.run(['run', 'flood', '--yes']);
    expectClean(result, 2, /^drbook: cannot (lock|write to) the journal .*: no space left on the device/m);
    const [journal, ...others] = allJournalsWhole(w.home, { allowTornTail: true });
    expect(others).toEqual([]);
    const seen = journal!.events.map((e) => `${e.type}${e.step ? ` ${e.step}` : ''}`);
    expect(seen).toEqual(
      expect.arrayContaining(['session.started', 'step.finished first', 'step.started flood', 'command.started flood', 'command.spawned flood']),
    );
    // No driver or append lock is left to block a resume.
    expect(readdirSync(join(w.home, 'sessions')).filter((f) => f.endsWith('.lock'))).toEqual([]);
    const verify = await w.run(['verify']);
    expectClean(verify, 0, /^$|torn last line/);
    expect(verify.stdout).toMatch(/chain verifies/);
  });

  it('run: a disk already full refuses the session before it starts', async () => {
    const w = world();
    smallDisk(w.home, { fill: true });
    const result = await w.run(['run', 'small', '--yes']);
    expectClean(result, 2, /^drbook: (cannot create the sessions directory|cannot write to the journal|cannot lock) .*no space left on the device/m);
    allJournalsWhole(w.home);
  });

  for (const [name, args] of [
    ['note', ['note', 'written on a full disk']],
    ['resume', ['resume', '--yes']],
  ] as const) {
    it(`${name}: exit 2, the journal unchanged`, async () => {
      const w = world();
      smallDisk(w.home);
      pausedSession(w);
      fillDisk(w.home);
      const before = snapshot(w.home);
      const result = await w.run([...args]);
      expectClean(result, 2, /^drbook: cannot (lock|write to) .*: no space left on the device/m);
      expect(snapshot(w.home)).toEqual(before);
      allJournalsWhole(w.home);
    });
  }

  it('export -o and bundle -o onto a full disk: exit 2, nothing half-written', async () => {
    const w = world();
    pausedSession(w);
    const out = join(w.cwd, 'full');
    smallDisk(out, { sizeKb: 16, fill: true });
    const exported = await w.run(['export', '-o', join(out, 'postmortem.md')]);
    expectClean(exported, 2, /^drbook: cannot write .*postmortem\.md: no space left on the device/m);
    const bundled = await w.run(['bundle', '-o', join(out, 'bundle')]);
    expectClean(bundled, 2, /^drbook: cannot write the bundle .*: no space left on the device/m);
    expect(readdirSync(out)).toEqual(['filler']);
  });
});

// ---------------------------------------------------------------------------------------
// Journals drbook must not touch: not a regular file, or a newer format

describe.concurrent('a journal that is not a regular file', () => {
  const id = '20260311T090000Z-small';
  const cases: (Case & { kind: 'FIFO' | 'directory' })[] = (['FIFO', 'directory'] as const).flatMap((kind) => [
    { kind, name: `verify (${kind})`, args: ['verify', id], code: 2, stderr: /^drbook: cannot read the journal .*: (not a regular file|is a directory)/m },
    { kind, name: `export (${kind})`, args: ['export', id], code: 2, stderr: /^drbook: cannot read the journal .*: (not a regular file|is a directory)/m },
    {
      kind,
      name: `note (${kind})`,
      args: ['note', '--session', id, 'hi'],
      code: 2,
      stderr: /^drbook: cannot read the journal .*: (not a regular file|is a directory)/m,
    },
    {
      kind,
      name: `resume (${kind})`,
      args: ['resume', id, '--yes'],
      code: 2,
      stderr: /^drbook: cannot read the journal .*: (not a regular file|is a directory)/m,
    },
    { kind, name: `sessions (${kind})`, args: ['sessions'], code: 0, stderr: /no sessions yet/ },
  ]);

  it.for(cases)('$name', async (c) => {
    const w = world();
    mkdirSync(join(w.home, 'sessions'), { recursive: true });
    const path = join(w.home, 'sessions', `${id}.jsonl`);
    if (c.kind === 'FIFO') spawnSync('mkfifo', [path]);
    else mkdirSync(path);
    expectClean(await w.run(c.args), c.code, c.stderr);
  });
});

describe.concurrent('a journal written by a newer drbook (format 2)', () => {
  const NEWER = /written in journal format 2 by a newer drbook/;
  const cases: Case[] = [
    { name: 'sessions', args: ['sessions'], code: 0, stderr: /can be resumed/ },
    { name: 'sessions --json', args: ['sessions', '--json'], code: 0, stderr: /^$/ },
    { name: 'verify', args: ['verify'], code: 0, stderr: NEWER },
    { name: 'sessions --verify', args: ['sessions', '--verify'], code: 0, stderr: NEWER },
    { name: 'export', args: ['export'], code: 0, stderr: NEWER },
    { name: 'export --format json', args: ['export', '--format', 'json'], code: 0, stderr: NEWER },
    { name: 'export --all', args: ['export', '--all', 'small'], code: 0, stderr: /^$/ },
    {
      name: 'resume',
      args: ['resume', '--yes'],
      code: 2,
      stderr: /^drbook: .* was written in journal format 2 by a newer drbook; this one writes format 1 and will not append to it/m,
    },
    {
      name: 'note',
      args: ['note', 'from an older drbook'],
      code: 2,
      stderr: /^drbook: .* was written in journal format 2 by a newer drbook; .*will not append to it/m,
    },
    { name: 'note --session', args: ['note', '--session', 'small', 'again'], code: 2, stderr: /will not append to it/ },
  ];

  it.for(cases)('$name: a warning or a refusal, nothing rewritten', async (c) => {
    const w = world();
    pausedSession(w, '20260311T090000Z-small', 2);
    const before = snapshot(w.home);
    expectClean(await w.run(c.args), c.code, c.stderr);
    expect(snapshot(w.home)).toEqual(before);
  });
});

// ---------------------------------------------------------------------------------------
// Commands that misbehave, and a reader that goes away

describe('odd commands in a walk', () => {
  it('non-UTF-8 output, a closed stdout, a forked daemon: the run completes, journal whole, logs kept', async () => {
    const w = world();
    const pidFile = join(w.cwd, 'daemon.pid');
    cleanups.unshift(() => {
      const pid = existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8').trim()) : NaN;
      if (Number.isInteger(pid) && pid > 0) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // Already gone.
        }
      }
    });
    const result = await w.run(['run', 'odd-output', '--yes'], { HARDENING_DAEMON_PID: pidFile });
    expectClean(result, 0, /Run completed: 4 done/);
    // The daemon holds drbook's pipes open for 30 s; drbook must not wait for it: it is
    // still alive when drbook has already returned.
    expect(existsSync(pidFile)).toBe(true);
    const daemon = Number(readFileSync(pidFile, 'utf8').trim());
    expect(() => process.kill(daemon, 0)).not.toThrow();

    const [journal] = allJournalsWhole(w.home);
    const finished = journal!.events.filter((e) => e.type === 'step.finished');
    expect(finished.map((e) => [e.step, e.outcome])).toEqual([
      ['not-utf8', 'done'],
      ['closes-stdout', 'done'],
      ['daemon', 'done'],
      ['after', 'done'],
    ]);
    const tails = journal!.events.filter((e) => e.type === 'command.finished').map((e) => String(e.tail));
    expect(tails[0]).toContain(' ok');
    expect(tails[1]).toBe('still-here');
    expect(tails[2]).toBe('started');

    const logs = journal!.path.replace(/\.jsonl$/, '');
    expect(readdirSync(logs).sort()).toEqual(['01-not-utf8.log', '02-closes-stdout.log', '03-daemon.log', '04-after.log']);
    expect(readFileSync(join(logs, '01-not-utf8.log'))).toEqual(Buffer.from([0xff, 0xfe, 0x20, 0x6f, 0x6b, 0x0a]));
    expect(readFileSync(join(logs, '02-closes-stdout.log'), 'utf8')).toBe('still-here\n');

    const exported = await w.run(['export']);
    expectClean(exported, 0, /^$/);
    expect(exported.stdout).toContain('# Post-mortem: Commands that misbehave on their output');
  });

  it('drbook run | head: a closed stdout stops the walk with exit 2, the journal whole and resumable', async () => {
    const w = world();
    const go = join(w.cwd, 'go');
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '',
      HOME: w.home,
      DRBOOK_HOME: w.home,
      DRBOOK_DIR: w.dir,
      NO_COLOR: '1',
      HARDENING_WAIT_FOR: WAIT_FOR,
      HARDENING_GO: go,
    };
    const result = await new Promise<{ code: number | null; stderr: string; timedOut: boolean }>((resolve, reject) => {
      const child = spawn(process.execPath, [BIN, 'run', 'waits', '--yes'], { cwd: w.cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        child.kill('SIGKILL');
      }, 10_000);
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString('utf8');
        // The step is being held: close the reader's end, as `head` does, then release it.
        if (out.includes('$ "') && !existsSync(go)) {
          child.stdout.destroy();
          writeFileSync(go, '');
        }
      });
      child.on('error', reject);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, stderr, timedOut });
      });
    });
    expect(result.timedOut).toBe(false);
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toMatch(/^drbook: standard output was closed before drbook finished: stopped/m);
    expect(result.stderr).not.toMatch(STACK_TRACE);
    const [journal] = allJournalsWhole(w.home);
    const types = journal!.events.map((e) => e.type);
    expect(types).toContain('command.started');
    expect(types).not.toContain('session.ended');
    const sessions = await w.run(['sessions', '--json']);
    expect((JSON.parse(sessions.stdout) as { status: string }[])[0]?.status).toBe('interrupted');
  });
});

// ---------------------------------------------------------------------------------------
// Terminals: narrow, dumb, colourless

describe.skipIf(!tmuxAvailable()).concurrent('run at a terminal', () => {
  const cases: { name: string; cols: number; resizeTo?: number; env: Record<string, string | undefined>; plain: boolean; prompt: string }[] = [
    { name: '40 columns', cols: 40, env: { NO_COLOR: undefined, FORCE_COLOR: undefined }, plain: false, prompt: 'Step 1/2: what now?' },
    {
      name: 'resized from 100 to 40 columns mid-walk',
      cols: 100,
      resizeTo: 40,
      env: { NO_COLOR: undefined, FORCE_COLOR: undefined },
      plain: false,
      prompt: 'Step 1/2: what now?',
    },
    { name: 'TERM=dumb', cols: 80, env: { NO_COLOR: undefined, FORCE_COLOR: undefined, TERM: 'dumb' }, plain: true, prompt: 'Choice [r]:' },
    { name: 'NO_COLOR', cols: 80, env: { NO_COLOR: '1', FORCE_COLOR: undefined }, plain: true, prompt: 'Step 1/2: what now?' },
    {
      name: 'NO_COLOR and TERM=dumb at 40 columns',
      cols: 40,
      env: { NO_COLOR: '1', FORCE_COLOR: undefined, TERM: 'dumb' },
      plain: true,
      prompt: 'Choice [r]:',
    },
  ];

  it.for(cases)('$name: the step header and the command show; plain means no escape sequence', async (c) => {
    const w = world();
    let tmux: TmuxSession | undefined;
    try {
      tmux = await startTmux({
        cmd: process.execPath,
        args: [BIN, 'run', 'small'],
        cwd: w.cwd,
        cols: c.cols,
        rows: 40,
        env: { ...c.env, HOME: w.home, DRBOOK_HOME: w.home, DRBOOK_DIR: w.dir },
      });
      const first = await tmux.waitFor(c.prompt);
      expect(first).toContain('[1/2] Say hello');
      expect(first).toContain('$ echo hello');
      if (c.resizeTo !== undefined) {
        spawnSync('tmux', ['-L', tmux.socket, 'resize-window', '-t', 'main', '-x', String(c.resizeTo)], { stdio: 'ignore' });
      }
      await tmux.sendKeys('Enter');
      const second = await tmux.waitFor(/\[2\/2\] Say goodbye[\s\S]*\$ echo goodbye[\s\S]*(Step 2\/2: what now\?|Choice \[r\]:)/);
      expect(second).toMatch(/^hello$/m);
      await tmux.sendKeys('Enter');
      expect(await tmux.waitForExit()).toBe(0);
      const screen = await tmux.screen();
      expect(screen).toContain('Run completed: 2 done');
      expect(screen).not.toMatch(STACK_TRACE);
      // Each step opens with a rule as wide as the terminal was when it was drawn.
      const rules = screen
        .split('\n')
        .filter((line) => /^[─-]{10,}$/.test(line.trim()))
        .map((line) => line.trim().length);
      expect(rules).toHaveLength(2);
      expect(rules[1]).toBeLessThanOrEqual(c.resizeTo ?? c.cols);
      if (c.resizeTo !== undefined) expect(rules[0]).toBeGreaterThan(c.resizeTo);
      // capture-pane -e keeps the colours and attributes drbook asked for.
      const painted = await tmux.screen({ escapes: true });
      if (c.plain) expect(JSON.stringify(painted.match(/\x1b\[[0-9;?]*[A-Za-z]/g) ?? [])).toBe('[]');
      else expect(painted).toMatch(/\x1b\[/);
      const [journal] = allJournalsWhole(w.home);
      expect(journal!.events.at(-1)).toMatchObject({ type: 'session.ended', status: 'completed' });
    } finally {
      await tmux?.kill();
    }
  });
});
