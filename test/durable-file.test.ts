/**
 * The one durable-write helper, against a temp dir: what every caller relies on (whole or
 * nothing, the mode exactly, never through a planted symlink, no temporary file left).
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { commitNewFile, createNewFile, replaceFile, writeAll, writeDurable } from '../src/adapters/durable-file.js';

let scratch: string;
let dir: string;
let counter = 0;
let umask: number;

beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'drbook-durable-'));
  // A strict umask: the helper must set modes exactly all the same.
  umask = process.umask(0o077);
});
afterAll(() => {
  process.umask(umask);
  rmSync(scratch, { recursive: true, force: true });
});
afterEach(() => {
  // Whatever happened, nothing temporary stays beside the files.
  expect(readdirSync(dir).filter((name) => name.endsWith('.tmp'))).toEqual([]);
});

function freshDir(): string {
  dir = join(scratch, `d${++counter}`);
  mkdirSync(dir);
  return dir;
}

const mode = (path: string) => statSync(path).mode & 0o777;

describe('replaceFile', () => {
  it('creates a file, then replaces it whole, with the mode asked whatever the umask', () => {
    const file = join(freshDir(), 'report.md');
    replaceFile(file, 'first', { mode: 0o644 });
    expect(readFileSync(file, 'utf8')).toBe('first');
    expect(mode(file)).toBe(0o644);
    replaceFile(file, Buffer.from('second'), { mode: 0o600 });
    expect(readFileSync(file, 'utf8')).toBe('second');
    expect(mode(file)).toBe(0o600);
  });

  it('removes a temporary file a crashed process with the same pid left, and writes through no symlink planted there', () => {
    const d = freshDir();
    const victim = join(scratch, `victim-${counter}`);
    writeFileSync(victim, 'keep');
    symlinkSync(victim, join(d, `.out.txt.${process.pid}.tmp`));
    replaceFile(join(d, 'out.txt'), 'new', { mode: 0o600, durable: false });
    expect(readFileSync(victim, 'utf8')).toBe('keep');
    expect(readFileSync(join(d, 'out.txt'), 'utf8')).toBe('new');
  });

  it('throws the file system error and leaves the old content and no temporary file', () => {
    const d = freshDir();
    mkdirSync(join(d, 'taken'));
    writeFileSync(join(d, 'taken', 'inside'), 'x');
    expect(() => replaceFile(join(d, 'taken'), 'text', { mode: 0o600 })).toThrow(expect.objectContaining({ code: expect.stringMatching(/^E/) }));
    expect(readFileSync(join(d, 'taken', 'inside'), 'utf8')).toBe('x');
    expect(() => replaceFile(join(d, 'no-such-dir', 'f'), 'text', { mode: 0o600 })).toThrow(expect.objectContaining({ code: 'ENOENT' }));
  });
});

describe('createNewFile', () => {
  it('creates a new file with the exact mode, appends, and commits it', () => {
    const path = join(freshDir(), 'journal.jsonl');
    const fd = createNewFile(path, 0o640, 'append');
    writeAll(fd, 'a\n');
    writeAll(fd, Buffer.from('b\n'));
    commitNewFile(fd, path);
    expect(readFileSync(path, 'utf8')).toBe('a\nb\n');
    expect(mode(path)).toBe(0o640);
  });

  it('never opens an existing file or a symlink', () => {
    const d = freshDir();
    writeFileSync(join(d, 'there'), 'theirs');
    expect(() => createNewFile(join(d, 'there'), 0o600)).toThrow(expect.objectContaining({ code: 'EEXIST' }));
    symlinkSync(join(d, 'elsewhere'), join(d, 'link'));
    expect(() => createNewFile(join(d, 'link'), 0o600)).toThrow(expect.objectContaining({ code: 'EEXIST' }));
    expect(existsSync(join(d, 'elsewhere'))).toBe(false);
    expect(readFileSync(join(d, 'there'), 'utf8')).toBe('theirs');
  });
});

describe('writeDurable', () => {
  it('truncates an existing file and sets its mode, which open alone would not', () => {
    const file = join(freshDir(), 'drbook.mjs');
    writeFileSync(file, 'a much longer old content', { mode: 0o600 });
    writeDurable(file, 'new', 0o755);
    expect(readFileSync(file, 'utf8')).toBe('new');
    expect(mode(file)).toBe(0o755);
  });
});
