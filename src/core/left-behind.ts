/**
 * What drbook left behind when it stopped mid-step, settled before a resumed walk goes on
 * (Walk.resume): a command cut while it ran, or a step whose work was done but not
 * journaled finished. Everything goes through the engine's ports: the processes, the
 * operator, the journal.
 */
import { COMPLETED_WHILE_AWAY, IN_FLIGHT_QUESTION, type StepOutcome } from './journal-events.js';
import type { Runbook, Step } from './model.js';
import type { Clock, FailureAction, Journal, LiveProcess, Processes, StepView, Ui } from './ports.js';
import { inFlightEnd } from './poll-journal.js';
import type { CurrentStep, InFlightCommand, ReplayVar } from './session-summary.js';
import { renderTemplate } from './template.js';

export interface SettleContext {
  runbook: Runbook;
  ui: Ui;
  journal: Journal;
  clock: Clock;
  yes: boolean;
  processes: Processes;
  /** The end of a command's output log (named as journaled, redacted when written), undefined when it cannot be read. */
  readLogTail: (log: string) => string | undefined;
}

/** `unanswered`: --yes met the question, which has no default for this step: nothing was decided. */
export type InFlightAnswer = StepOutcome | 'retry' | 'abort' | 'paused' | 'unanswered';

/** How each answer to IN_FLIGHT_QUESTION is journaled. */
const IN_FLIGHT_ANSWERS: Partial<Record<FailureAction, string>> = {
  completed: 'it completed: mark done',
  done: 'done by hand: mark done',
  retry: 'run it again',
};

/**
 * A command was running when drbook stopped. If it still runs on its own, wait for it or
 * stop it: never start it a second time beside itself. Then ask what became of it.
 * `driverPid`: the drbook that started it.
 */
export async function settleInFlight(ctx: SettleContext, inFlight: InFlightCommand, driverPid: number | undefined): Promise<InFlightAnswer> {
  const { runbook, ui, journal, yes } = ctx;
  const step = runbook.steps.find((s) => s.id === inFlight.step);
  const label = step ? `[${step.index + 1}/${runbook.steps.length}] ${step.title}` : inFlight.step;
  // A poll's command is run again and again by design: it is polled again unless the operator says otherwise.
  const poll = inFlight.poll !== undefined;
  ui.warn(
    `${label}: ${poll ? `it was polling (until:, attempt ${inFlight.poll!.pollAttempt}) when drbook stopped` : 'its command was running when drbook stopped'}:\n  $ ${inFlight.command}`,
  );
  // "Run it again" is the default only for a step that says running it twice does no harm;
  // otherwise Enter alone is no answer: pressing it must not mark an unfinished restore done.
  // A poll's attempt cut in the older three-event form is journaled as a command: its step's `until:` says it is a poll.
  const idempotent = step?.idempotent === true || poll || step?.poll !== undefined;
  if (yes && !idempotent) {
    // --yes takes defaults, and this question has none: nothing is decided (not even waiting
    // for what may still run); the question stays for a person.
    ui.warn(
      `${label}: --yes cannot say whether its command completed (the step is not idempotent: true): nothing was run, the session stays paused; run drbook resume in a terminal to answer.`,
    );
    return 'unanswered';
  }
  let outcomeNote = 'drbook stopped while it ran; its exit code is unknown';

  if (inFlight.ended !== undefined) {
    // An earlier resume already waited for or stopped what was left, and journaled its end;
    // its question was never answered. Asked again, the same way: nothing has run since.
    outcomeNote = inFlight.ended.reason ?? outcomeNote;
  } else {
    const settled = await settleProcesses(ctx, inFlight, driverPid);
    if (settled === 'paused') return 'paused';
    if (settled !== undefined) outcomeNote = settled.note;
    const end = inFlightEnd(inFlight, outcomeNote, ctx.clock.now().getTime(), settled !== undefined);
    if (end !== undefined) journal.append(end);
    if (end === undefined) outcomeNote = 'drbook stopped while the poll waited for its next attempt';
  }

  const view: StepView = {
    position: step ? step.index + 1 : 0,
    total: runbook.steps.length,
    step: step ?? runbook.steps[0]!,
    title: step?.title ?? inFlight.step,
    docs: [],
    command: inFlight.command,
    mode: 'live',
    willExecute: true,
  };
  // What the command printed before drbook lost it is the operator's best evidence.
  const tail = inFlight.log === undefined ? undefined : ctx.readLogTail(inFlight.log);
  if (tail !== undefined)
    ui.info(tail === '' ? `Its output log ${inFlight.log} is empty.` : `The last lines of its output log (${inFlight.log}):\n${quoteLog(tail)}`);
  const question = `${outcomeNote}: ${poll ? 'poll again (from attempt 1, a new timeout)?' : 'did it complete?'}`;
  const choices: FailureAction[] = idempotent ? ['retry', 'completed', 'done', 'skip', 'abort'] : ['completed', 'done', 'retry', 'skip', 'abort'];
  const action = yes ? 'retry' : await ui.chooseFailureAction(view, question, choices, { noDefault: !idempotent });
  if (yes) ui.info(`${label}: ${question} -> run it again (--yes: the step is idempotent)`);
  journal.append({
    type: 'decision',
    step: inFlight.step,
    question: IN_FLIGHT_QUESTION,
    answer: IN_FLIGHT_ANSWERS[action] ?? action,
    ...(yes ? { by: '--yes' as const } : {}),
  });
  if (!step) return action === 'abort' ? 'abort' : 'skipped';
  switch (action) {
    case 'completed':
      // Its own work, not the operator's: done, the outcome known from the operator.
      journal.append({
        type: 'step.finished',
        step: step.id,
        index: step.index,
        outcome: 'done',
        reason: COMPLETED_WHILE_AWAY,
        durationMs: 0,
      });
      return 'done';
    case 'done':
      journal.append({
        type: 'step.finished',
        step: step.id,
        index: step.index,
        outcome: 'marked-done',
        reason: 'done by hand after drbook stopped mid-command (operator)',
        durationMs: 0,
      });
      return 'marked-done';
    case 'skip':
      journal.append({
        type: 'step.finished',
        step: step.id,
        index: step.index,
        outcome: 'skipped',
        reason: 'operator, after drbook stopped mid-command',
        durationMs: 0,
      });
      return 'skipped';
    case 'abort':
      journal.append({
        type: 'step.finished',
        step: step.id,
        index: step.index,
        outcome: 'failed',
        reason: 'drbook stopped mid-command; aborted on resume',
        durationMs: 0,
      });
      return 'abort';
    default:
      return 'retry';
  }
}

const LOG_TAIL_LINES = 20;

/** A log's last lines as quoted evidence: control characters from the output must not drive the terminal here. */
function quoteLog(tail: string): string {
  return tail
    .split('\n')
    .slice(-LOG_TAIL_LINES)
    .map((line) => `  | ${line.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, '?')}`)
    .join('\n');
}

/**
 * What is left running of the command: waited for or stopped (the operator chooses; --yes
 * waits). Undefined when nothing of it runs; 'paused' when Ctrl-C stopped the wait.
 */
async function settleProcesses(ctx: SettleContext, inFlight: InFlightCommand, driverPid: number | undefined): Promise<{ note: string } | 'paused' | undefined> {
  const { ui, journal, yes, processes } = ctx;
  const running = survivors(processes, inFlight, driverPid);
  if (running.length === 0) return undefined;
  const pids = topPids(processes, running).join(', ');
  const them = pids.includes(',') ? `pids ${pids}` : `pid ${pids}`;
  if (inFlight.pid === undefined) {
    // drbook died between starting the process and journaling its pid: what it left in
    // its process group since the command started is that command.
    ui.warn(`It seems to be still running on its own (${them}, left by drbook pid ${driverPid ?? '?'} since the command started).`);
  } else {
    ui.warn(`It is still running on its own (${them}).`);
  }
  const wait = yes ? true : await ui.confirm(`Wait for ${them} to finish? (no: stop it and everything it started)`);
  journal.append({
    type: 'decision',
    step: inFlight.step,
    question: `Command still running (${them}): wait for it?`,
    answer: wait ? 'wait' : 'stop it',
    ...(yes ? { by: '--yes' as const } : {}),
  });
  if (wait) {
    ui.info(`Waiting for ${them}… (Ctrl-C stops waiting and pauses)`);
    if (!(await processes.waitForExit(running))) {
      ui.warn(`Stopped waiting: ${them} still running. The session is paused; drbook resume asks about it again.`);
      return 'paused';
    }
    return { note: 'finished on its own while drbook was away; its exit code is unknown' };
  }
  const left = await processes.stop(running);
  return { note: left.length === 0 ? 'stopped on resume' : `stopped on resume; still alive: ${left.join(', ')}` };
}

/**
 * The pids that name what is left of a command: the processes at the top of it (their
 * children are waited for and stopped with them).
 */
export function topPids(processes: Processes, running: readonly LiveProcess[]): number[] {
  const found = new Set(running.map((p) => p.pid));
  // One gone meanwhile (a short `sleep` of the command's loop) is no top: it has no parent to read.
  const tops = running.filter((p) => {
    const parent = processes.parentOf(p.pid);
    return parent !== undefined && !found.has(parent);
  });
  return (tops.length > 0 ? tops : running).map((p) => p.pid);
}

/**
 * What still runs of an in-flight command. With its pid journaled, that process if alive,
 * what it started, and every process of its recorded group started since the command (the
 * shell may be gone while what it started runs on, re-parented away from it). Without
 * (drbook died between starting it and journaling command.spawned), the processes that
 * carry the mark the dead drbook gave the command, and those it left in its own process
 * group since the command started (the kernel does not give a group's id to a new process
 * while the group has members).
 */
export function survivors(processes: Processes, inFlight: InFlightCommand, driverPid: number | undefined): LiveProcess[] {
  // A live process with the old driver's pid is another process now (or this drbook): leave its group alone.
  const driverGone = driverPid !== undefined && !processes.alive(driverPid);
  const withStart = (pid: number): LiveProcess => {
    const start = processes.startOf(pid);
    return start === undefined ? { pid } : { pid, start };
  };
  if (inFlight.pid !== undefined) {
    const found = new Set<number>();
    const add = (pid: number): void => {
      found.add(pid);
      for (const child of processes.descendants(pid)) found.add(child);
    };
    if (processes.alive(inFlight.pid, inFlight.procStart)) add(inFlight.pid);
    if (inFlight.pgid !== undefined && inFlight.procStart !== undefined && (driverGone || inFlight.pgid !== driverPid)) {
      // A group of its own (led by the shell): all of it. drbook's group: what the command left there.
      const members =
        inFlight.pgid === inFlight.pid ? processes.ownGroup(inFlight.pgid, inFlight.procStart) : processes.groupMembers(inFlight.pgid, inFlight.procStart);
      for (const pid of members) add(pid);
    }
    for (const pid of processes.ancestors()) found.delete(pid);
    return [...found].map(withStart).filter((p) => p.pid !== inFlight.pid || processes.alive(p.pid, inFlight.procStart));
  }
  if (!driverGone) return [];
  // Its processes carry the mark the dead drbook gave the command (a group of their own);
  // or, in drbook's group, they are what it left there since the command started.
  const found = new Set(processes.marked(driverPid, inFlight.step, inFlight.attempt));
  for (const pid of processes.groupMembers(driverPid, Date.parse(inFlight.startedAt))) found.add(pid);
  for (const pid of [...found]) for (const child of processes.descendants(pid)) found.add(child);
  for (const pid of processes.ancestors()) found.delete(pid);
  return [...found].map(withStart);
}

/**
 * drbook stopped inside a step, after its work was done but before the step was journaled
 * finished: its command had succeeded (command.finished ok, then at most its capture and
 * the confirmation), or a manual step's confirmation was answered yes. The step is
 * finished now instead of being walked again: a command that succeeded is not run twice.
 * Returns undefined when the step has to be walked again (nothing done yet, a failure to
 * decide on, or a captured value that was lost with drbook).
 */
export async function settleFinishedWork(ctx: SettleContext, current: CurrentStep, vars: ReadonlyMap<string, ReplayVar>): Promise<StepOutcome | undefined> {
  const { runbook, ui, journal, yes } = ctx;
  const stepId = current.step;
  const step = runbook.steps.find((s) => s.id === stepId);
  if (!step) return undefined;
  const since = current.since;
  const label = `[${step.index + 1}/${runbook.steps.length}] ${step.title}`;
  const startedAt = Date.parse(current.startedAt);

  if (step.run === undefined) {
    // A manual step: only its confirmation can have been answered before the stop.
    const yesAt = since.find((e) => e.type === 'decision' && e.step === stepId && e.answer === 'yes');
    if (!step.confirm || !yesAt || since.some((e) => e.type !== 'decision')) return undefined;
    ui.info(`${label}: confirmed before drbook stopped: done.`);
    return finishNow(step, startedAt, journal, yesAt.ts);
  }

  let finishedAt = -1;
  for (let i = since.length - 1; i >= 0; i--) {
    const event = since[i]!;
    if (event.type === 'command.started' || event.type === 'command.spawned' || event.type === 'command.edited') return undefined;
    if (event.type === 'command.finished' && event.step === stepId) {
      finishedAt = i;
      break;
    }
  }
  const result = since[finishedAt];
  if (result?.type !== 'command.finished' || !result.ok) return undefined;
  const after = since.slice(finishedAt + 1);
  // After a success only the capture and the confirmation come; anything else (a "no") is a failure to walk again.
  if (after.some((e) => !(e.type === 'var.set' && e.name === step.capture) && !(e.type === 'decision' && e.answer === 'yes'))) return undefined;
  if (step.capture !== undefined && !vars.has(step.capture)) {
    ui.warn(`${label}: its command had succeeded, but the output it captures into {{${step.capture}}} was lost with drbook: the step is walked again.`);
    return undefined;
  }
  ui.info(`${label}: its command had succeeded (exit ${result.exitCode ?? '?'}) before drbook stopped; it is not run again.`);
  const confirmedYes = after.some((e) => e.type === 'decision' && e.step === stepId && e.answer === 'yes');
  if (step.confirm !== undefined && !confirmedYes) {
    // The confirmation as the walk asked it, with the journaled (redacted) values.
    const question = renderTemplate(step.confirm, (name) => vars.get(name)?.value);
    const answer = yes ? true : await ui.confirm(question);
    journal.append({ type: 'decision', step: stepId, question, answer: answer ? 'yes' : 'no' });
    if (!answer) return undefined;
  }
  return finishNow(step, startedAt, journal, result.ts);
}

function finishNow(step: Step, startedAt: number, journal: Journal, doneAt: string): StepOutcome {
  const end = Date.parse(doneAt);
  const durationMs = Number.isNaN(startedAt) || Number.isNaN(end) ? 0 : Math.max(0, end - startedAt);
  journal.append({ type: 'step.finished', step: step.id, index: step.index, outcome: 'done', durationMs });
  return 'done';
}
