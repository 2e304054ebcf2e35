/**
 * `export -o`, `import -o --force` and `new` through the built binary, against what is not
 * a plain file: a character device, a FIFO, a symlink to drbook's own stdout, a directory,
 * a symlink that leads nowhere. Shell habits (`-o /dev/null`, `-o /dev/stdout`) must never
 * replace a device with a regular file, which as root breaks the host. The devices are
 * made with mknod in a temp dir, never this machine's /dev; those tests skip where mknod
 * is not permitted.
 */
import { spawn, spawnSync } from 'node:child_process';
import {
  closeSync,
  copyFileSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, FIXTURES, makeSandbox, runCli, STACK_TRACE, type Sandbox } from './helpers/run-cli.js';

let box: Sandbox;

beforeAll(ensureBuilt);
afterEach(() => box?.cleanup());

/** A sandbox whose DRBOOK_HOME holds one finished session. */
function setup(): Sandbox {
  box = makeSandbox();
  const journal = join(FIXTURES, 'journals', 'aborted.jsonl');
  const first = JSON.parse(readFileSync(journal, 'utf8').split('\n')[0]!) as { session: string };
  mkdirSync(join(box.home, 'sessions'));
  copyFileSync(journal, join(box.home, 'sessions', `${first.session}.jsonl`));
  return box;
}

const cli = (args: string[]) => runCli(args, { cwd: box.cwd, env: { HOME: box.home, DRBOOK_HOME: box.home, DRBOOK_DIR: join(box.cwd, 'runbooks') } });

/** A character device in `dir` (major 1: 3 is null, 7 is full), or undefined where mknod (or opening it) is refused. */
function charDevice(dir: string, name: string, minor: 3 | 7): string | undefined {
  const path = join(dir, name);
  if (spawnSync('mknod', ['-m', '0666', path, 'c', '1', String(minor)], { stdio: 'ignore' }).status !== 0) return undefined;
  try {
    closeSync(openSync(path, 'w'));
    return path;
  } catch {
    return undefined;
  }
}

const mknodWorks = (() => {
  const probe = makeSandbox();
  try {
    return charDevice(probe.cwd, 'probe', 3) !== undefined;
  } finally {
    probe.cleanup();
  }
})();

describe('export -o to what is not a regular file', () => {
  it.skipIf(!mknodWorks)('writes into a null device (directly or through a symlink) and leaves it a device with its mode', async () => {
    setup();
    const device = charDevice(box.cwd, 'null', 3)!;
    symlinkSync('null', join(box.cwd, 'to-null'));
    for (const target of ['null', 'to-null']) {
      const result = await cli(['export', '-o', target]);
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      expect(lstatSync(device).isCharacterDevice()).toBe(true);
      expect(statSync(device).mode & 0o777).toBe(0o666);
    }
    expect(readlinkSync(join(box.cwd, 'to-null'))).toBe('null');
    expect(readdirSync(box.cwd).sort()).toEqual(['null', 'to-null']);
  });

  it.skipIf(!mknodWorks)('says in one line when the device is full, exit 2, and leaves it a device', async () => {
    setup();
    const device = charDevice(box.cwd, 'full', 7)!;
    const result = await cli(['export', '-o', 'full']);
    expect(result.stderr).toBe('drbook: cannot write full: no space left on the device\n');
    expect(result.code).toBe(2);
    expect(lstatSync(device).isCharacterDevice()).toBe(true);
    expect(readdirSync(box.cwd)).toEqual(['full']);
  });

  it('writes into a FIFO for the reader waiting on it', async () => {
    setup();
    const fifo = join(box.cwd, 'pipe');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    const reader = spawn('cat', [fifo], { stdio: ['ignore', 'pipe', 'inherit'] });
    let got = '';
    reader.stdout.on('data', (chunk: Buffer) => (got += chunk.toString()));
    const ended = new Promise<number | null>((done) => reader.on('close', done));
    const result = await cli(['export', '-o', 'pipe']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(await ended).toBe(0);
    expect(got).toMatch(/^# Post-mortem: /);
    expect(lstatSync(fifo).isFIFO()).toBe(true);
  });

  it('through a symlink to /proc/self/fd/1 (what /dev/stdout is), writes to its own stdout and keeps the link', async () => {
    setup();
    symlinkSync('/proc/self/fd/1', join(box.cwd, 'stdout'));
    const result = await cli(['export', '-o', 'stdout']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^# Post-mortem: /);
    expect(readlinkSync(join(box.cwd, 'stdout'))).toBe('/proc/self/fd/1');
  });

  it('refuses a directory in one line, exit 2, writing nothing into it', async () => {
    setup();
    const result = await cli(['export', '-o', '.']);
    expect(result.stderr).toBe(`drbook: cannot write ${box.cwd}: is a directory; name a file in it (such as ${box.cwd}/NAME)\n`);
    expect(result.code).toBe(2);
    expect(readdirSync(box.cwd)).toEqual([]);
  });

  it('writes through a symlink to a regular file into that file, keeping the link', async () => {
    setup();
    writeFileSync(join(box.cwd, 'real.md'), 'old');
    symlinkSync('real.md', join(box.cwd, 'pm.md'));
    const result = await cli(['export', '-o', 'pm.md']);
    expect(result.code).toBe(0);
    expect(readlinkSync(join(box.cwd, 'pm.md'))).toBe('real.md');
    expect(readFileSync(join(box.cwd, 'real.md'), 'utf8')).toMatch(/^# Post-mortem: /);
    expect(statSync(join(box.cwd, 'real.md')).mode & 0o777).toBe(0o600);
  });
});

describe('import and new', () => {
  it.skipIf(!mknodWorks)('import -o DEVICE --force writes into the device instead of replacing it', async () => {
    setup();
    mkdirSync(join(box.cwd, 'docs'));
    copyFileSync(join(FIXTURES, 'import', 'docs', 'checklist.md'), join(box.cwd, 'docs', 'checklist.md'));
    const device = charDevice(box.cwd, 'null', 3)!;
    const result = await cli(['import', 'docs/checklist.md', '-o', 'null', '--force']);
    expect(result.stderr).not.toMatch(STACK_TRACE);
    expect(result.code).toBe(0);
    expect(lstatSync(device).isCharacterDevice()).toBe(true);
  });

  it('new refuses to replace a symlink that leads nowhere', async () => {
    setup();
    mkdirSync(join(box.cwd, 'runbooks'));
    symlinkSync('../elsewhere/mail.yml', join(box.cwd, 'runbooks', 'mail.yml'));
    const result = await cli(['new', 'mail']);
    expect(result.stderr).toMatch(/^drbook: runbooks\/mail\.yml already exists/);
    expect(result.code).toBe(2);
    expect(readlinkSync(join(box.cwd, 'runbooks', 'mail.yml'))).toBe('../elsewhere/mail.yml');
  });
});
