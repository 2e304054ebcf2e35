/**
 * What the process-level tests (signals, resume after a kill) share: a scratch directory
 * per file with the binary built, waiting for a state with a deadline, and reading what
 * the walk left on disk.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import type { JournalEvent } from '../../src/core/journal-events.js';
import { parseJournal } from '../../src/core/journal-parse.js';
import { ensureBuilt } from './run-cli.js';

/** A temp directory for this test file, made once the binary is built and removed after it. */
export function scratchDir(prefix: string): () => string {
  let scratch = '';
  beforeAll(async () => {
    await ensureBuilt();
    scratch = mkdtempSync(join(tmpdir(), prefix));
  }, 180_000);
  afterAll(() => {
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });
  return () => scratch;
}

/** Polls `probe` until it gives a value, or fails naming `what` after the deadline. */
export async function until<T>(what: string, probe: () => T | undefined | false, deadlineMs = 20_000, everyMs = 5): Promise<T> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const value = probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/** The non-empty lines of a file the test's commands append to, none when it is absent. */
export function lines(path: string): string[] {
  return existsSync(path)
    ? readFileSync(path, 'utf8')
        .split('\n')
        .filter((l) => l !== '')
    : [];
}

/** The events of the one session under `home`, none before it exists. */
export function sessionEvents(home: string): JournalEvent[] {
  const dir = join(home, 'sessions');
  if (!existsSync(dir)) return [];
  const name = readdirSync(dir).find((n) => n.endsWith('.jsonl'));
  return name === undefined ? [] : parseJournal(readFileSync(join(dir, name), 'utf8')).events;
}

/**
 * A case directory for a runbook of test/fixtures/attack: its DRBOOK_HOME, the file its
 * commands append marks to (DRBOOK_TEST_MARKS) and the file that lets held commands go
 * (DRBOOK_TEST_HOLD), with the environment that passes them.
 */
export function probeCase(
  dir: string,
  extraEnv: Record<string, string> = {},
): { dir: string; home: string; marks: string; hold: string; env: Record<string, string> } {
  mkdirSync(dir, { recursive: true });
  const home = join(dir, 'home');
  const marks = join(dir, 'marks');
  const hold = join(dir, 'hold');
  const env = {
    PATH: process.env.PATH ?? '',
    HOME: home,
    DRBOOK_HOME: home,
    DRBOOK_TEST_MARKS: marks,
    DRBOOK_TEST_HOLD: hold,
    ...extraEnv,
    NO_COLOR: '1',
    LANG: 'C.UTF-8',
  };
  return { dir, home, marks, hold, env };
}
