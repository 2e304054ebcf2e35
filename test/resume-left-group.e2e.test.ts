/**
 * After `kill -9` of drbook and of the command's shell, what the command started may have
 * left the command's process group without leaving its session: GNU `timeout` puts itself
 * and its command in a group of their own. `resume --yes` must find that copy, wait for it,
 * and only then run the command again: never two copies at once. Each instant is a condition.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { parseJournal } from '../src/core/journal-parse.js';
import { BIN, FIXTURES } from './helpers/run-cli.js';
import { lines, probeCase, scratchDir, until } from './helpers/probes.js';

const RUNBOOK = join(FIXTURES, 'attack', 'timeout-group.yml');

const scratchRoot = scratchDir('drbook-left-group-');

function alive(pid: number): boolean {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = text.slice(text.lastIndexOf(')') + 2).split(' ')[0];
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

describe('resume after kill -9, with the command moved to a group of its own by timeout', () => {
  it("finds the first copy in the command's session, waits for it, then runs the command once more, alone", async () => {
    const dir = join(scratchRoot(), 'case');
    const shellFile = join(dir, 'shell');
    const { home, marks, hold, env } = probeCase(dir, { DRBOOK_TEST_SHELL: shellFile });
    const child = spawn(process.execPath, [BIN, 'run', RUNBOOK, '--yes'], { cwd: dir, env, detached: true, stdio: 'ignore' });
    const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
    // Whatever happens, the held copies are let go at the end (they would wait 300 s otherwise).
    onTestFinished(() => writeFileSync(hold, ''));
    const first = await until(
      'the first copy to start',
      () =>
        lines(marks)
          .find((l) => l.startsWith('start '))
          ?.split(' ')[1],
    );
    const shell = Number(readFileSync(shellFile, 'utf8').trim());
    process.kill(child.pid!, 'SIGKILL');
    process.kill(shell, 'SIGKILL');
    await closed;
    await until('the shell to die', () => !alive(shell));
    expect(alive(Number(first))).toBe(true);

    const resume = spawn(process.execPath, [BIN, 'resume', '--yes'], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let said = '';
    resume.stdout.on('data', (chunk: Buffer) => (said += chunk.toString('utf8')));
    resume.stderr.on('data', (chunk: Buffer) => (said += chunk.toString('utf8')));
    const resumeCode = new Promise<number | null>((resolve) => resume.once('close', (code) => resolve(code)));
    await until('resume to wait, or to start a second copy', () => said.includes('Waiting for') || lines(marks).length > 1 || resume.exitCode !== null);
    expect(lines(marks), said).toEqual([`start ${first}`]);
    writeFileSync(hold, '');
    expect(await resumeCode, said).toBe(0);
    // One copy at a time: the first ended before the second started.
    const all = lines(marks);
    expect(all).toHaveLength(4);
    expect(all.slice(0, 2)).toEqual([`start ${first}`, `done ${first}`]);
    expect(all[2]).toMatch(/^start /);
    const dirJ = join(home, 'sessions');
    const journal = readdirSync(dirJ).find((n) => n.endsWith('.jsonl'))!;
    const events = parseJournal(readFileSync(join(dirJ, journal), 'utf8')).events;
    expect(events.filter((e) => e.type === 'decision' && e.step === 'restore').map((e) => (e.type === 'decision' ? e.answer : ''))).toEqual([
      'wait',
      'run it again',
    ]);
  }, 60_000);
});
