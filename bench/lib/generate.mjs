/**
 * Generated inputs: runbooks of any size and session journals with a valid hash chain.
 */
import { createHash } from 'node:crypto';

/**
 * A runbook of `steps` steps that uses what a real one does (variables, templates, docs,
 * expect, timeouts, conditions), so validation does all its checks on every step.
 */
export function runbookYaml(id, steps) {
  const out = [
    'drbook: 1',
    `id: ${id}`,
    `title: Generated runbook ${id} of ${steps} steps`,
    'rto: 4h',
    'docs:',
    '  ops:',
    '    title: Operations handbook',
    '    url: https://wiki.example.org/ops',
    'vars:',
    '  host:',
    '    description: The host to restore.',
    '    default: db1.example.org',
    '  plan:',
    '    default: reuse',
    '    choices: [reuse, rename]',
    'steps:',
  ];
  for (let i = 0; i < steps; i++) {
    out.push(
      `  - id: step-${i}`,
      `    title: Step ${i} on {{host}}`,
      '    description: |',
      `      Check that **{{host}}** answers, then go on. Step ${i} of ${steps}.`,
      `    run: echo checking {{host}} step ${i}`,
      "    expect: { stdout: 'checking' }",
      '    timeout: 5m',
      '    docs: [ops]',
    );
    if (i % 10 === 5) out.push('    when: plan == reuse', '    safe: true');
  }
  return `${out.join('\n')}\n`;
}

/** A runbook of command steps, each `run` as given, no question asked with --yes. */
export function commandRunbookYaml(id, commands) {
  const out = ['drbook: 1', `id: ${id}`, `title: Commands ${id}`, 'steps:'];
  commands.forEach((command, i) => {
    out.push(`  - id: step-${i + 1}`, `    title: Run step ${i + 1}`, `    run: ${JSON.stringify(command)}`, '    on_failure: abort');
  });
  return `${out.join('\n')}\n`;
}

/**
 * A journal of about `target` events, as text, as drbook would write it: steps with
 * commands, retries, decisions, edits, notes and pauses (bench/export-bench.mjs uses it too).
 */
export function journalText(target, session) {
  const lines = [];
  let prev = null;
  let t = Date.parse('2026-03-11T08:00:00.000Z');
  const push = (body, advanceMs = 1500) => {
    t += advanceMs;
    const line = JSON.stringify({ v: 1, seq: lines.length + 1, ts: new Date(t).toISOString(), prev, ...body });
    prev = createHash('sha256').update(line).digest('hex');
    lines.push(line);
  };
  // About 6 events a step on average: estimate the step count from the target.
  const steps = Math.max(1, Math.floor(target / 6.2));
  push({
    type: 'session.started',
    session,
    runbook: { id: session.replace(/^.*?-/, ''), title: 'A very long runbook', path: 'runbooks/bench.yml', sha256: 'a'.repeat(64), steps, rto: '8h' },
    mode: 'live',
    operator: { user: 'bench', host: 'bench-host' },
    tz: 'Europe/Paris',
    tzOffsetMinutes: 60,
    drbook: '0.1.0',
    pid: 1,
  });
  push({ type: 'var.set', name: 'token', value: '***', source: 'env', secret: true });
  let done = 0;
  for (let i = 0; i < steps && lines.length < target - 2; i++) {
    const step = `step-${i}`;
    const began = t;
    push({ type: 'step.started', step, index: i, title: `Step number ${i} | with <html> and \`code\`` });
    // Every 7th step fails a few times before it passes: retries, decisions, an edit sometimes.
    const failures = i % 7 === 3 ? 1 + (i % 5) : 0;
    for (let a = 1; a <= failures + 1; a++) {
      const ok = a > failures;
      push({
        type: 'command.started',
        step,
        attempt: a,
        command: `./do-thing --step ${i} --token *** | tee /tmp/out-${i}`,
        cwd: '/srv',
        log: `${step}.${a}.log`,
      });
      push({ type: 'command.spawned', step, attempt: a, pid: 1000 + i, procStart: '123' }, 20);
      push(
        {
          type: 'command.finished',
          step,
          attempt: a,
          exitCode: ok ? 0 : 2,
          signal: null,
          durationMs: 4000,
          ok,
          ...(ok ? {} : { reason: 'exit code 2' }),
          tail: ok ? 'done' : `line 1 of output\nline 2 with \`backticks\` and | pipes\nerror: step ${i} failed`,
          outputBytes: 4096,
        },
        4000,
      );
      if (!ok) {
        const edit = a === 2;
        push({ type: 'decision', step, question: 'After failure (exit code 2): what next?', answer: edit ? 'edit' : 'retry' });
        if (edit) push({ type: 'command.edited', step, attempt: a + 1, from: `./do-thing --step ${i}`, to: `./do-thing --step ${i} --force` });
      }
    }
    if (i % 40 === 0) push({ type: 'note', text: `Note at step ${i}: # not a heading, | not a cell |`, step, by: 'operator', source: 'walk' });
    if (i % 500 === 250) {
      push({ type: 'session.paused', step, reason: 'Ctrl-C at a prompt' });
      push({ type: 'session.resumed', gapMs: 600_000, step, pid: 2 }, 600_000);
    }
    push({ type: 'step.finished', step, index: i, outcome: 'done', durationMs: t - began });
    done++;
  }
  push({ type: 'session.ended', status: 'completed', done, skipped: 0, failed: 0, markedDone: 0, durationMs: t - Date.parse('2026-03-11T08:00:00.000Z') });
  return { text: `${lines.join('\n')}\n`, events: lines.length };
}
