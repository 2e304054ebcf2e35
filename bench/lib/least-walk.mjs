/**
 * The least a program on drbook's stack does for `drbook run --yes` of a runbook of command
 * steps, and nothing more: commander reads the arguments, yaml parses the runbook (with line
 * numbers), zod/mini checks its shape, each step spawns its command through bash in its own
 * session with the output piped and printed, and a journal records the five events a step that drbook's does,
 * each chained by its sha256 and fsynced. No lock, no command log, no signal handling, no
 * templating, no terminal UI: a reference for the steps group of the bench, never shipped.
 * The bench bundles it with esbuild and runs it from a V8 code cache, as bin/drbook.cjs
 * runs drbook.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { LineCounter, parseDocument } from 'yaml';
import * as z from 'zod/mini';

const Runbook = z.looseObject({
  id: z.string(),
  steps: z.array(z.looseObject({ id: z.string(), title: z.string(), run: z.string() })),
});

function runCommand(command, spawned) {
  return new Promise((resolve) => {
    const child = spawn('bash', ['-e', '-o', 'pipefail', '-c', command], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    spawned(child.pid);
    child.stdout.on('data', (chunk) => process.stdout.write(chunk));
    child.stderr.on('data', (chunk) => process.stderr.write(chunk));
    child.on('close', (code) => resolve(code));
  });
}

async function run(file) {
  const doc = parseDocument(readFileSync(file, 'utf8'), { lineCounter: new LineCounter() });
  const runbook = Runbook.parse(doc.toJS());
  const dir = join(process.env.DRBOOK_HOME, 'journal');
  mkdirSync(dir, { recursive: true });
  const fd = openSync(join(dir, `${runbook.id}-${process.pid}.jsonl`), 'a', 0o600);
  let previous = '';
  const record = (event) => {
    const line = JSON.stringify({ ...event, at: new Date().toISOString(), previous });
    previous = createHash('sha256').update(line).digest('hex');
    writeSync(fd, `${line}\n`);
    fsyncSync(fd);
  };
  record({ type: 'session.started', runbook: runbook.id });
  for (const step of runbook.steps) {
    record({ type: 'step.started', step: step.id });
    process.stdout.write(`${step.title}\n$ ${step.run}\n`);
    record({ type: 'command.started', step: step.id });
    const code = await runCommand(step.run, (pid) => record({ type: 'command.spawned', step: step.id, pid }));
    record({ type: 'command.finished', step: step.id, code });
    record({ type: 'step.finished', step: step.id, outcome: code === 0 ? 'done' : 'failed' });
    if (code !== 0) {
      process.exitCode = 1;
      break;
    }
  }
  record({ type: 'session.ended' });
  closeSync(fd);
}

const program = new Command('least-walk');
program.command('run').option('--yes').argument('<file>').action(run);
program.parseAsync();
