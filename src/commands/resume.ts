import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { formatDuration } from '../core/duration.js';
import { DrbookError, ExitCode } from '../core/errors.js';
import { Walk } from '../core/engine.js';
import type { StepOutcome } from '../core/journal-events.js';
import { formatProblem, type Runbook } from '../core/model.js';
import type { Journal, StepView, Ui } from '../core/ports.js';
import { Redactor } from '../core/redact.js';
import { replaySession, type InFlightCommand, type SessionReplay } from '../core/session-summary.js';
import { parseVarAssignments, resolveInitialVars, VarStore } from '../core/vars.js';
import { FileJournal, readJournalFile } from '../adapters/file-journal.js';
import { acquireDriverLock } from '../adapters/file-lock.js';
import { ProcessExecutor } from '../adapters/process-executor.js';
import { isProcessAlive, terminateTree } from '../adapters/process-tree.js';
import { findRunbook } from '../adapters/runbook-files.js';
import { loadSessionSummary, resolveSessionId, sessionJournalPath, stateHome } from '../adapters/state-home.js';
import { systemClock } from '../adapters/system.js';
import { cwdResolver, exitCodeOf, logFileFor, makeUi, printSummary, readVarsFile, requireTerminal } from './walk.js';

export interface ResumeOptions {
  var?: string[];
  varsFile?: string;
  yes?: boolean;
  force?: boolean;
}

/**
 * `drbook resume [SESSION]`: the same walk, continued at the first unfinished step of a
 * paused or interrupted session, with its vars restored (secrets asked again: they were
 * never stored) and the command that was in flight accounted for, never started twice.
 */
export async function runResume(session: string | undefined, options: ResumeOptions): Promise<number> {
  const yes = options.yes === true;
  requireTerminal('resume', yes);
  const home = stateHome();
  const id = resolveSessionId(home, session, (s) => s.status === 'paused' || s.status === 'interrupted');
  const summary = loadSessionSummary(home, id);
  if (summary.status === 'completed' || summary.status === 'aborted') {
    throw new DrbookError(`session ${id} is ${summary.status}: there is nothing to resume (drbook export ${id} gives its post-mortem)`, ExitCode.usage);
  }
  const path = sessionJournalPath(home, id);
  const lock = acquireDriverLock(path, { force: options.force === true });
  const journal = FileJournal.open(path, systemClock);
  try {
    const parsed = readJournalFile(path);
    for (const warning of parsed.warnings) process.stderr.write(warning + '\n');
    const replay = replaySession(parsed);
    const started = replay.started;
    if (!started) throw new DrbookError(`${path}: no session.started event: not a session that can be resumed`, ExitCode.usage);
    const ui = makeUi(yes);
    if (lock.tookOverFrom) ui.warn(`took over the session from drbook pid ${lock.tookOverFrom.pid} on ${lock.tookOverFrom.host}, which is no longer running`);

    if (!existsSync(started.runbook.path)) {
      throw new DrbookError(`the runbook of ${id} is gone: ${started.runbook.path} does not exist (restore it, then resume)`, ExitCode.usage);
    }
    const { runbook, warnings } = findRunbook(started.runbook.path);
    for (const w of warnings) process.stderr.write(formatProblem(w) + '\n');
    let runbookChanged: { from: string; to: string } | undefined;
    if (runbook.sha256 !== started.runbook.sha256) {
      runbookChanged = { from: started.runbook.sha256, to: runbook.sha256 };
      ui.warn(`${runbook.file} changed since the session started (sha256 ${started.runbook.sha256.slice(0, 12)} → ${runbook.sha256.slice(0, 12)}): steps may differ from what was walked`);
      const goOn = yes ? true : await ui.confirm('Continue with the changed runbook?');
      if (!goOn) {
        ui.info(`Not resumed. The session stays ${summary.status}; resume it when the runbook is right.`);
        return ExitCode.usage;
      }
    }

    const gapMs = Math.max(0, systemClock.now().getTime() - Date.parse(replay.lastEventAt ?? started.ts));
    journal.append({
      type: 'session.resumed',
      gapMs,
      ...(replay.currentStep ? { step: replay.currentStep.step } : {}),
      pid: process.pid,
      ...(runbookChanged ? { runbookChanged } : {}),
    });
    ui.info(`Resuming ${id} (${runbook.title}) after ${formatDuration(gapMs)}${replay.currentStep ? ` at ${replay.currentStep.step}` : ''}`);

    const redactor = new Redactor();
    const vars = restoreVars(runbook, replay, redactor, options);
    const finished = new Map<string, StepOutcome>([...replay.outcomes].map(([step, o]) => [step, o.outcome]));
    applyEdits(runbook, replay);

    if (replay.inFlight) {
      const answer = await settleInFlight(replay.inFlight, runbook, ui, journal, yes);
      if (answer === 'abort') {
        finished.set(replay.inFlight.step, 'failed');
        const counts = countOutcomes(finished);
        const durationMs = Math.max(0, systemClock.now().getTime() - Date.parse(started.ts));
        journal.append({ type: 'session.ended', status: 'aborted', ...counts, durationMs });
        printSummary({ status: 'aborted', counts, durationMs, stoppedAt: replay.inFlight.step }, id, started.mode);
        return ExitCode.failed;
      }
      if (answer !== 'retry') finished.set(replay.inFlight.step, answer);
    }

    const walk = new Walk(
      {
        runbook,
        mode: started.mode,
        yes,
        runSafe: false,
        startIndex: 0,
        finished,
        attempts: new Map(replay.attempts),
        sessionStartedAt: new Date(started.ts),
        baseDir: dirname(runbook.file),
        vars,
        redactor,
        logFile: logFileFor(journal.outputDir),
        resolveCwd: cwdResolver(runbook),
      },
      { ui, executor: new ProcessExecutor({ interactive: process.stdin.isTTY === true, showElapsed: true }), journal, clock: systemClock },
    );
    const result = await walk.run();
    printSummary(result, id, started.mode);
    return exitCodeOf(result);
  } finally {
    lock.release();
    journal.close();
  }
}

/** Journaled values come back; secrets (journaled as ***) are asked again or read from env/--var. */
function restoreVars(runbook: Runbook, replay: SessionReplay, redactor: Redactor, options: ResumeOptions): VarStore {
  const store = new VarStore(runbook.vars, redactor);
  const cli = parseVarAssignments(options.var ?? []);
  resolveInitialVars(runbook, { cli, file: readVarsFile(options.varsFile), env: process.env }, store);
  for (const v of replay.vars.values()) {
    if (v.secret) continue;
    if (v.name in cli) continue; // what the operator gives now wins
    if (!(v.name in runbook.vars) && v.source !== 'capture' && v.source !== 'placeholder') continue;
    store.set(v.name, v.value, v.source, false);
  }
  return store;
}

/** The operator's fix to a command stays in use after a resume. */
function applyEdits(runbook: Runbook, replay: SessionReplay): void {
  for (const [stepId, template] of replay.edits) {
    const step = runbook.steps.find((s) => s.id === stepId);
    if (step && !template.includes('***')) step.run = template;
  }
}

type InFlightAnswer = StepOutcome | 'retry' | 'abort';

/**
 * A command was running when drbook stopped. If it still runs on its own, wait for it or
 * stop it: never start it a second time beside itself. Then ask what became of it.
 */
async function settleInFlight(inFlight: InFlightCommand, runbook: Runbook, ui: Ui, journal: Journal, yes: boolean): Promise<InFlightAnswer> {
  const step = runbook.steps.find((s) => s.id === inFlight.step);
  const label = step ? `[${step.index + 1}/${runbook.steps.length}] ${step.title}` : inFlight.step;
  ui.warn(`${label}: its command was running when drbook stopped:\n  $ ${inFlight.command}`);
  const started = Date.parse(inFlight.startedAt);
  let outcomeNote = 'drbook stopped while it ran; its exit code is unknown';

  if (inFlight.pid !== undefined && isProcessAlive(inFlight.pid, inFlight.procStart)) {
    ui.warn(`It is still running on its own (pid ${inFlight.pid}).`);
    const wait = yes ? true : await ui.confirm(`Wait for pid ${inFlight.pid} to finish? (no: stop it and everything it started)`);
    journal.append({ type: 'decision', step: inFlight.step, question: `Command still running (pid ${inFlight.pid}): wait for it?`, answer: wait ? 'wait' : 'stop it' });
    if (wait) {
      ui.info(`Waiting for pid ${inFlight.pid}… (Ctrl-C stops waiting and pauses)`);
      await waitForExit(inFlight.pid, inFlight.procStart);
      outcomeNote = 'finished on its own while drbook was away; its exit code is unknown';
    } else {
      const termination = terminateTree(inFlight.pid, [{ signal: 'SIGTERM', afterMs: 0 }, { signal: 'SIGKILL', afterMs: 5000 }], inFlight.procStart === undefined ? {} : { rootStart: inFlight.procStart });
      const { survivors } = await termination.done;
      outcomeNote = survivors.length === 0 ? 'stopped on resume' : `stopped on resume; still alive: ${survivors.join(', ')}`;
    }
  }
  journal.append({
    type: 'command.finished',
    step: inFlight.step,
    attempt: inFlight.attempt,
    exitCode: null,
    signal: null,
    durationMs: Number.isNaN(started) ? 0 : Math.max(0, Date.now() - started),
    ok: false,
    interrupted: true,
    reason: outcomeNote,
    tail: '',
    outputBytes: 0,
  });

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
  const action = yes ? 'retry' : await ui.chooseFailureAction(view, `${outcomeNote}: did it complete?`, ['done', 'retry', 'skip', 'abort']);
  journal.append({ type: 'decision', step: inFlight.step, question: 'The command was in flight when drbook stopped: did it complete?', answer: action === 'done' ? 'it completed: mark done' : action === 'retry' ? 'run it again' : action });
  if (!step) return action === 'abort' ? 'abort' : 'skipped';
  switch (action) {
    case 'done':
      journal.append({ type: 'step.finished', step: step.id, index: step.index, outcome: 'marked-done', reason: 'completed while drbook was away (operator)', durationMs: 0 });
      return 'marked-done';
    case 'skip':
      journal.append({ type: 'step.finished', step: step.id, index: step.index, outcome: 'skipped', reason: 'operator, after drbook stopped mid-command', durationMs: 0 });
      return 'skipped';
    case 'abort':
      journal.append({ type: 'step.finished', step: step.id, index: step.index, outcome: 'failed', reason: 'drbook stopped mid-command; aborted on resume', durationMs: 0 });
      return 'abort';
    default:
      return 'retry';
  }
}

async function waitForExit(pid: number, procStart: string | undefined): Promise<void> {
  while (isProcessAlive(pid, procStart)) {
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

function countOutcomes(finished: Map<string, StepOutcome>): { done: number; skipped: number; failed: number; markedDone: number } {
  const counts = { done: 0, skipped: 0, failed: 0, markedDone: 0 };
  for (const outcome of finished.values()) {
    if (outcome === 'done') counts.done++;
    else if (outcome === 'skipped') counts.skipped++;
    else if (outcome === 'failed') counts.failed++;
    else counts.markedDone++;
  }
  return counts;
}
