/**
 * Which editor a multi-line command opens in: $VISUAL, then $EDITOR, then vi, the first
 * that is an executable; none means the line prompt.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { findEditor } from '../src/adapters/find-editor.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A PATH directory holding executables with these names (and one file that is not executable). */
function binDir(...names: string[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'drbook-editor-'));
  dirs.push(dir);
  for (const name of names) {
    writeFileSync(join(dir, name), '#!/bin/sh\n');
    chmodSync(join(dir, name), 0o755);
  }
  writeFileSync(join(dir, 'plain'), 'not a program');
  chmodSync(join(dir, 'plain'), 0o644);
  return dir;
}

describe('findEditor', () => {
  it('takes $VISUAL before $EDITOR, with its arguments', () => {
    const dir = binDir('code', 'nano', 'vi');
    expect(findEditor({ PATH: dir, VISUAL: 'code -w', EDITOR: 'nano' })).toBe('code -w');
  });

  it('skips a $VISUAL that is not installed, or not executable, for $EDITOR', () => {
    const dir = binDir('nano', 'vi');
    expect(findEditor({ PATH: dir, VISUAL: 'code -w', EDITOR: 'nano' })).toBe('nano');
    expect(findEditor({ PATH: dir, VISUAL: 'plain', EDITOR: 'nano' })).toBe('nano');
  });

  it('falls back to vi, then to nothing (the line prompt)', () => {
    expect(findEditor({ PATH: binDir('vi'), VISUAL: '  ', EDITOR: '' })).toBe('vi');
    expect(findEditor({ PATH: binDir('nano') })).toBeUndefined();
    expect(findEditor({})).toBeUndefined();
  });

  it('an absolute path is checked as it is', () => {
    const dir = binDir('my-editor');
    expect(findEditor({ PATH: '', EDITOR: join(dir, 'my-editor') })).toBe(join(dir, 'my-editor'));
    expect(findEditor({ PATH: '', EDITOR: join(dir, 'missing') })).toBeUndefined();
  });
});
