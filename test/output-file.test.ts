/**
 * The file named with -o (export, import): a regular file is replaced whole, anything else
 * that exists is written in place as a shell redirection would, and what cannot take a
 * document is one clear error. Devices are made with mknod in a temp dir, never this
 * machine's /dev; the device tests skip where mknod is not permitted.
 */
import { spawn, spawnSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { outputTarget, writeOutputFile } from '../src/adapters/output-file.js';
import { writeNewFile } from '../src/adapters/write-new-file.js';
import { DrbookError } from '../src/core/errors.js';

let scratch: string;
let counter = 0;

beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'drbook-output-'));
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function freshDir(): string {
  const dir = join(scratch, `d${++counter}`);
  mkdirSync(dir);
  return dir;
}

/** A character device made in `dir` (major 1: 3 is null, 7 is full), or undefined where mknod is refused. */
function charDevice(dir: string, name: string, minor: 3 | 7): string | undefined {
  const path = join(dir, name);
  const made = spawnSync('mknod', ['-m', '0666', path, 'c', '1', String(minor)], { stdio: 'ignore' });
  if (made.status !== 0) return undefined;
  try {
    // A file system mounted nodev lets mknod make the node but refuses to open it.
    closeSync(openSync(path, 'w'));
    return path;
  } catch {
    return undefined;
  }
}

const mknodWorks = (() => {
  const probe = mkdtempSync(join(tmpdir(), 'drbook-mknod-'));
  try {
    return charDevice(probe, 'probe', 3) !== undefined;
  } finally {
    rmSync(probe, { recursive: true, force: true });
  }
})();

async function refusal(run: () => Promise<void> | void): Promise<DrbookError> {
  const error = await Promise.resolve()
    .then(run)
    .then(
      () => undefined,
      (e: unknown) => e,
    );
  expect(error).toBeInstanceOf(DrbookError);
  expect((error as DrbookError).exitCode).toBe(2);
  expect((error as DrbookError).message).not.toMatch(/\n/);
  return error as DrbookError;
}

const mode = (path: string) => statSync(path).mode & 0o777;

describe('writeOutputFile', () => {
  it.skipIf(!mknodWorks)('writes into a character device in place: it stays a device, with its own mode', async () => {
    const dir = freshDir();
    const device = charDevice(dir, 'null', 3)!;
    await writeOutputFile(device, 'the post-mortem', { mode: 0o600 });
    expect(lstatSync(device).isCharacterDevice()).toBe(true);
    expect(mode(device)).toBe(0o666);
    // Through a symlink too: the link stays a link to the device.
    symlinkSync(device, join(dir, 'link'));
    await writeOutputFile(join(dir, 'link'), 'again', { mode: 0o600 });
    expect(lstatSync(join(dir, 'link')).isSymbolicLink()).toBe(true);
    expect(lstatSync(device).isCharacterDevice()).toBe(true);
    expect(readdirSync(dir).sort()).toEqual(['link', 'null']);
  });

  it.skipIf(!mknodWorks)('says plainly when the device refuses the write (a full device), and leaves it a device', async () => {
    const dir = freshDir();
    const device = charDevice(dir, 'full', 7)!;
    const error = await refusal(() => writeOutputFile(device, 'the post-mortem', { mode: 0o600 }));
    expect(error.message).toBe(`cannot write ${device}: no space left on the device`);
    expect(lstatSync(device).isCharacterDevice()).toBe(true);
    expect(readdirSync(dir)).toEqual(['full']);
  });

  it('writes into a FIFO for its reader, and the FIFO stays a FIFO', async () => {
    const dir = freshDir();
    const fifo = join(dir, 'pipe');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    const reader = spawn('cat', [fifo], { stdio: ['ignore', 'pipe', 'inherit'] });
    let got = '';
    reader.stdout.on('data', (chunk: Buffer) => (got += chunk.toString()));
    const ended = new Promise<number | null>((done) => reader.on('close', done));
    await writeOutputFile(fifo, 'the post-mortem\n', { mode: 0o600 });
    expect(await ended).toBe(0);
    expect(got).toBe('the post-mortem\n');
    expect(lstatSync(fifo).isFIFO()).toBe(true);
  });

  it('writes to its own descriptor through /proc/self/fd/N (what /dev/stdout is), appending as it was opened', async () => {
    const dir = freshDir();
    const log = join(dir, 'log');
    writeFileSync(log, 'earlier lines\n');
    const fd = openSync(log, 'a');
    try {
      symlinkSync(`/proc/self/fd/${fd}`, join(dir, 'stdout'));
      expect(outputTarget(join(dir, 'stdout'))).toEqual({ kind: 'descriptor', fd });
      await writeOutputFile(join(dir, 'stdout'), 'the post-mortem\n', { mode: 0o600 });
    } finally {
      closeSync(fd);
    }
    expect(readFileSync(log, 'utf8')).toBe('earlier lines\nthe post-mortem\n');
    expect(readlinkSync(join(dir, 'stdout'))).toBe(`/proc/self/fd/${fd}`);
    expect(mode(log)).not.toBe(0o600);
  });

  it('replaces a regular file whole, and through a symlink replaces its target, keeping the link', async () => {
    const dir = freshDir();
    const real = join(dir, 'real.md');
    writeFileSync(real, 'old');
    symlinkSync('real.md', join(dir, 'link.md'));
    await writeOutputFile(join(dir, 'link.md'), 'new', { mode: 0o600 });
    expect(lstatSync(join(dir, 'link.md')).isSymbolicLink()).toBe(true);
    expect(readFileSync(real, 'utf8')).toBe('new');
    expect(mode(real)).toBe(0o600);
    expect(readdirSync(dir).sort()).toEqual(['link.md', 'real.md']);
  });

  it('refuses a directory, a dangling symlink, a socket and a missing directory, each in one line', async () => {
    const dir = freshDir();
    expect((await refusal(() => writeOutputFile(dir, 'x', { mode: 0o600 }))).message).toBe(
      `cannot write ${dir}: is a directory; name a file in it (such as ${dir}/NAME)`,
    );
    expect(readdirSync(dir)).toEqual([]);

    symlinkSync(join(dir, 'gone.md'), join(dir, 'dangling'));
    expect((await refusal(() => writeOutputFile(join(dir, 'dangling'), 'x', { mode: 0o600 }))).message).toBe(
      `cannot write ${join(dir, 'dangling')}: it is a symlink to ${join(dir, 'gone.md')}, which does not exist; fix or remove the link`,
    );
    expect(lstatSync(join(dir, 'dangling')).isSymbolicLink()).toBe(true);

    const socket = join(dir, 'sock');
    const server = createServer();
    await new Promise<void>((done) => server.listen(socket, done));
    try {
      expect((await refusal(() => writeOutputFile(socket, 'x', { mode: 0o600 }))).message).toMatch(/it is a socket/);
      expect(lstatSync(socket).isSocket()).toBe(true);
    } finally {
      server.close();
    }

    expect((await refusal(() => writeOutputFile(join(dir, 'no', 'such.md'), 'x', { mode: 0o600 }))).message).toMatch(/no such file or directory/);
  });
});

describe('writeNewFile', () => {
  it('counts a symlink that leads nowhere as an existing file', async () => {
    const dir = freshDir();
    const file = join(dir, 'mail.yml');
    symlinkSync(join(dir, 'elsewhere.yml'), file);
    expect((await refusal(() => writeNewFile(file, 'x', false))).message).toMatch(/mail\.yml already exists/);
    expect(lstatSync(file).isSymbolicLink()).toBe(true);
    expect(existsSync(join(dir, 'elsewhere.yml'))).toBe(false);
  });

  it.skipIf(!mknodWorks)('with --force writes into a device in place instead of replacing it', async () => {
    const dir = freshDir();
    const device = charDevice(dir, 'null', 3)!;
    await writeNewFile(device, 'x', true);
    expect(lstatSync(device).isCharacterDevice()).toBe(true);
  });
});
