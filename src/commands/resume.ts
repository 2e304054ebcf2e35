import { closeSync, constants, existsSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import { dirname, join, resolve as resolvePath } from 'node:path';
import { formatDuration } from '../core/duration.js';
import { DrbookError, ExitCode, PromptInterrupted } from '../core/errors.js';
import { Walk } from '../core/engine.js';
import type { JournalEvent, StepOutcome } from '../core/journal-events.js';
import { formatProblem, type Runbook, type Step } from '../core/model.js';
import type { FailureAction, Journal, StepView, Ui } from '../core/ports.js';
import { Redactor } from '../core/redact.js';
import { countOutcomes, currentRunbookPath, isReopenable, isResumable, replaySession, type InFlightCommand, type SessionReplay } from '../core/session-summary.js';
import { renderTemplate } from '../core/template.js';
import { resolveInitialVars, VarStore, varsUsedBy } from '../core/vars.js';
import { visible, visibleLine } from '../core/visible.js';
import { FileJournal, readSessionJournal } from '../adapters/file-journal.js';
import { startNotifier } from '../adapters/notify/start.js';
import type { WalkNotifier } from '../adapters/notify/session-notifier.js';
import { acquireDriverLock } from '../adapters/file-lock.js';
import { COMMAND_ENV, commandMark } from '../adapters/process-group.js';
import { findByEnvironment, findCommandGroup, findDescendants, findStrays, isProcessAlive, readParent, readProcStart, terminateTree } from '../adapters/process-tree.js';
import { shellSites } from '../adapters/shell-parser.js';
import { findRunbook } from '../adapters/runbook-files.js';
import { loadSessionSummary, resolveSessionId, sessionJournalPath, stateHome } from '../adapters/state-home.js';
import { systemClock } from '../adapters/system.js';
import { readCliVars, refuseOpenVarsFile, warnSecretsInRunbook } from '../adapters/var-input.js';
import { cliVarAdvice, commandExecutor, cwdResolver, exitCodeOf, logFileFor, makeUi, printSummary, readVarsFile, refuseUnanswerable, refuseUndecidedBranches, requireTerminal } from './walk.js';

export interface ResumeOptions {
  var?: string[];
  varsFile?: string;
  yes?: boolean;
  force?: boolean;
  allowShortSecret?: boolean;
  /** Continue a session that ended aborted, in the same journal. */
  reopen?: boolean;
  /** The runbook moved (a bundle mounted elsewhere): read it from here, after the sha256 check. */
  runbook?: string;
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
  const reopen = options.reopen === true;
  if (reopen && (session === undefined || session === '')) {
    throw new DrbookError('--reopen needs the SESSION to reopen (drbook sessions lists them): an aborted session is never picked by default', ExitCode.usage);
  }
  const id = resolveSessionId(home, session, reopen ? isReopenable : isResumable);
  // A journal not written whole is refused before its status is trusted.
  readSessionJournal(sessionJournalPath(home, id));
  const summary = loadSessionSummary(home, id);
  if (reopen && summary.status !== 'aborted') {
    throw new DrbookError(`session ${id} is ${summary.status}, not aborted: --reopen is for an aborted session${isResumable(summary) ? ` (drbook resume ${id} continues this one)` : ''}`, ExitCode.usage);
  }
  if (!reopen && summary.status === 'aborted') {
    throw new DrbookError(`session ${id} is aborted: drbook resume ${id} --reopen continues it in the same journal (drbook export ${id} gives its post-mortem)`, ExitCode.usage);
  }
  if (summary.status === 'completed') {
    throw new DrbookError(`session ${id} is ${summary.status}: there is nothing to resume (drbook export ${id} gives its post-mortem)`, ExitCode.usage);
  }
  const path = sessionJournalPath(home, id);
  const lock = acquireDriverLock(path, { force: options.force === true });
  let journal: FileJournal;
  try {
    journal = FileJournal.open(path, systemClock);
  } catch (error) {
    lock.release();
    throw error;
  }
  let resumed = false;
  let notifier: WalkNotifier | undefined;
  try {
    const parsed = readSessionJournal(path);
    for (const warning of parsed.warnings) process.stderr.write(warning + '\n');
    const replay = replaySession(parsed);
    const started = replay.started;
    if (!started) throw new DrbookError(`${path}: no session.started event: not a session that can be resumed`, ExitCode.usage);
    const ui = await makeUi(yes);
    if (lock.tookOverFrom) ui.warn(`took over the session from drbook pid ${lock.tookOverFrom.pid} on ${lock.tookOverFrom.host}, which is no longer running`);

    const known = currentRunbookPath(parsed.events, started.runbook.path);
    const runbookPath = options.runbook === undefined ? known : resolvePath(options.runbook);
    if (!existsSync(runbookPath)) {
      if (options.runbook !== undefined) throw new DrbookError(`--runbook ${options.runbook}: no such file`, ExitCode.usage);
      throw new DrbookError(`the runbook of ${id} is gone: ${runbookPath} does not exist (restore it, or give its new place with --runbook PATH)`, ExitCode.usage);
    }
    const { runbook, warnings } = await findRunbook(runbookPath);
    if (runbook.id !== started.runbook.id) {
      throw new DrbookError(`${runbookPath} is runbook "${runbook.id}", but session ${id} walks "${started.runbook.id}": give the same runbook`, ExitCode.usage);
    }
    const moved = runbook.file !== known ? runbook.file : undefined;
    if (moved) ui.info(`Runbook read from ${moved} (the session started with ${started.runbook.path})`);
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

    // Variables before the session.resumed event: a secret that cannot be had under --yes
    // refuses the resume with the journal untouched.
    const redactor = new Redactor();
    const vars = await restoreVars(runbook, replay, redactor, options);
    // The commands as the operator last edited them, for the secrets they need, the check
    // below and the walk.
    applyEdits(runbook, replay, (message) => ui.warn(message));
    // Reopened: the step the abort failed is walked again (its failure stays in the journal).
    const rewalked = reopen ? stepFailedByTheAbort(parsed.events) : undefined;
    // Only the secrets a step still to walk uses: a secret only finished steps used is not
    // asked (an undo offered later asks for what it needs).
    const remaining = runbook.steps.filter((step) => !replay.outcomes.has(step.id) || step.id === rewalked);
    const used = varsUsedBy(remaining, started.mode === 'rehearsal' ? { runSafe: started.runSafe === true } : undefined);
    await reacquireSecrets(runbook, replay, vars, ui, yes, used);
    // A variable never given (a secret from $ENV unset now, say) would make a step fail and
    // --yes abort the session for good: refuse now, as run --yes does.
    if (yes && started.mode === 'live') refuseUnanswerable(runbook, vars, runbook.steps.filter((step) => !replay.outcomes.has(step.id)));
    if (yes && started.mode === 'rehearsal') refuseUndecidedBranches(runbook, vars, runbook.steps.filter((step) => !replay.outcomes.has(step.id)));

    // The gap is since drbook last drove the session: notes added meanwhile from other
    // terminals do not shorten it.
    const gapMs = Math.max(0, systemClock.now().getTime() - Date.parse(replay.lastDriverEvent?.ts ?? started.ts));
    journal.append({
      type: 'session.resumed',
      gapMs,
      ...(replay.currentStep ? { step: replay.currentStep.step } : {}),
      pid: process.pid,
      ...(runbookChanged ? { runbookChanged } : {}),
      ...(reopen ? { reopened: true as const } : {}),
      ...(moved ? { runbookPath: moved } : {}),
    });
    resumed = true;
    journalVarChanges(replay, vars, journal);
    ui.info(`Resuming ${id} (${visibleLine(runbook.title)}) after ${formatDuration(gapMs)}${replay.currentStep ? ` at ${replay.currentStep.step}` : ''}`);

    const finished = new Map<string, StepOutcome>([...replay.outcomes].map(([step, o]) => [step, o.outcome]));
    if (rewalked !== undefined) finished.delete(rewalked);

    let runAgain: string | undefined;
    if (replay.inFlight) {
      const answer = await settleInFlight(replay.inFlight, lastDriverPid(parsed.events), runbook, ui, journal, yes, journal.outputDir);
      if (answer === 'abort') {
        finished.set(replay.inFlight.step, 'failed');
        const counts = countOutcomes(finished.values());
        const durationMs = Math.max(0, systemClock.now().getTime() - Date.parse(started.ts));
        journal.append({ type: 'session.ended', status: 'aborted', ...counts, durationMs });
        printSummary({ status: 'aborted', counts, durationMs, stoppedAt: replay.inFlight.step }, id, started.mode);
        return ExitCode.failed;
      }
      if (answer === 'paused') {
        // Ctrl-C while waiting: the command still runs; the next resume asks about it again.
        journal.append({ type: 'session.paused', step: replay.inFlight.step, reason: 'Ctrl-C while waiting for the command left running' });
        const durationMs = Math.max(0, systemClock.now().getTime() - Date.parse(started.ts));
        printSummary({ status: 'paused', counts: countOutcomes(finished.values()), durationMs, stoppedAt: replay.inFlight.step }, id, started.mode);
        return ExitCode.paused;
      }
      if (answer === 'retry') runAgain = replay.inFlight.step;
      else finished.set(replay.inFlight.step, answer);
    } else if (replay.currentStep) {
      const outcome = await settleFinishedWork(replay.currentStep.step, parsed.events, replay, runbook, ui, journal, yes);
      if (outcome) finished.set(replay.currentStep.step, outcome);
    }

    notifier = await startNotifier({ runbook, journal, sessionId: id, mode: started.mode, home, say: (line) => ui.warn(line) });
    const walk = new Walk(
      {
        runbook,
        mode: started.mode,
        yes,
        // As the session was started: --run-safe of a rehearsal holds after a resume too.
        runSafe: started.runSafe === true,
        startIndex: 0,
        finished,
        attempts: new Map(replay.attempts),
        ...(runAgain !== undefined ? { runAgain } : {}),
        sessionStartedAt: new Date(started.ts),
        baseDir: dirname(runbook.file),
        vars,
        redactor,
        logFile: logFileFor(journal.outputDir),
        // Steps without cwd run where the session was started, wherever resume is typed.
        resolveCwd: cwdResolver(runbook, started.cwd ?? process.cwd()),
      },
      { ui, executor: commandExecutor(), journal, clock: systemClock, shellSites },
    );
    const result = await walk.run();
    printSummary(result, id, started.mode);
    if (result.status === 'aborted' && runbook.steps.some((s) => s.undo !== undefined)) {
      await (await import('./undo.js')).offerUndo({ runbook, mode: started.mode, yes, journal, ui, vars, redactor, startDir: started.cwd ?? process.cwd(), sessionId: id });
    }
    return exitCodeOf(result);
  } catch (error) {
    // Ctrl-C at one of resume's own questions: a pause, as anywhere else in the walk.
    if (!(error instanceof PromptInterrupted)) throw error;
    if (resumed) journal.append({ type: 'session.paused', reason: 'Ctrl-C at a prompt while resuming' });
    process.stderr.write(`\nPaused${resumed ? '' : ' before resuming: nothing was journaled'}. Next: drbook resume ${id}\n`);
    return ExitCode.paused;
  } finally {
    await notifier?.stop();
    lock.release();
    journal.close();
  }
}

/** The step whose failure ended the session aborted (the last step.finished before the end), if failed. */
function stepFailedByTheAbort(events: readonly JournalEvent[]): string | undefined {
  for (let i = events.length - 1; i >= 0; i--) {
    const e = events[i]!;
    if (e.type === 'session.ended' && e.status !== 'aborted') return undefined;
    if (e.type === 'step.started') return undefined;
    if (e.type === 'step.finished') return e.outcome === 'failed' ? e.step : undefined;
  }
  return undefined;
}

/** Journaled values come back; secrets (journaled as ***) are asked again or read from env/--var. */
export async function restoreVars(runbook: Runbook, replay: SessionReplay, redactor: Redactor, options: ResumeOptions): Promise<VarStore> {
  const store = new VarStore(runbook.vars, redactor, options.allowShortSecret === true);
  const file = readVarsFile(options.varsFile);
  refuseOpenVarsFile(options.varsFile, file, runbook);
  const cli = await readCliVars(options.var ?? [], runbook, (line) => process.stderr.write(visible(line) + '\n'));
  resolveInitialVars(runbook, { cli, file, env: process.env }, store);
  warnSecretsInRunbook(runbook, store, (line) => process.stderr.write(visible(line) + '\n'));
  for (const v of replay.vars.values()) {
    if (v.secret) continue;
    // What the operator gives now (--var, --vars-file) wins; otherwise the session keeps
    // the value it ran with, even if this shell's environment says otherwise.
    if (v.name in cli || v.name in file) continue;
    if (!(v.name in runbook.vars) && v.source !== 'capture' && v.source !== 'placeholder') continue;
    store.set(v.name, v.value, v.source, false);
  }
  return store;
}

/**
 * Secrets are never stored, so every secret the session had must be given again before
 * the walk goes on: otherwise the redactor would not know it, and output holding it would
 * reach the screen and the log in clear.
 */
export async function reacquireSecrets(runbook: Runbook, replay: SessionReplay, vars: VarStore, ui: Ui, yes: boolean, only?: ReadonlySet<string>): Promise<void> {
  const needed = [...replay.vars.values()].filter((v) => v.secret && v.name in runbook.vars && !vars.has(v.name) && (only === undefined || only.has(v.name))).map((v) => v.name);
  if (needed.length === 0) return;
  if (yes) {
    const how = needed.map((name) => `${cliVarAdvice(name, true)}${runbook.vars[name]?.env ? ` (or $${runbook.vars[name]!.env})` : ''}`);
    throw new DrbookError(`the session's secret${needed.length === 1 ? ' is' : 's are'} never stored and --yes cannot ask: give ${how.join(', ')}`, ExitCode.usage);
  }
  await askSecretsAgain(runbook, needed, vars, ui);
}

/** Asks the operator again for secrets that were never stored (masked, checked). */
export async function askSecretsAgain(runbook: Runbook, needed: readonly string[], vars: VarStore, ui: Ui): Promise<void> {
  if (needed.length === 0) return;
  ui.info(`Secrets are never stored: give ${needed.join(', ')} again.`);
  for (const name of needed) {
    const def = runbook.vars[name]!;
    for (;;) {
      const value = await ui.askVar({ name, def, validate: (v) => vars.check(name, v) });
      const problem = vars.check(name, value);
      if (!problem) {
        vars.set(name, value, 'prompt', true);
        break;
      }
      ui.warn(problem);
    }
  }
}

/** What changed since the session last ran goes in the journal: the post-mortem's vars stay true. */
function journalVarChanges(replay: SessionReplay, vars: VarStore, journal: Journal): void {
  for (const name of vars.names()) {
    const now = vars.entry(name)!;
    const before = replay.vars.get(name);
    const changed = before === undefined || before.secret || now.secret || before.value !== now.value;
    if (!changed) continue;
    journal.append({ type: 'var.set', name, source: now.source, ...vars.journaled(name) });
  }
}

/** The operator's fix to a command stays in use after a resume. */
/**
 * The operator's edits replace the runbook's commands. An edit journaled with a masked
 * value (`***`, by a drbook that did not keep secrets as {{name}}) cannot run again: it is
 * named, never dropped silently.
 */
function applyEdits(runbook: Runbook, replay: SessionReplay, warn: (message: string) => void): void {
  for (const [stepId, template] of replay.edits) {
    const step = runbook.steps.find((s) => s.id === stepId);
    if (!step) continue;
    if (template.includes('***')) {
      warn(`the edited command of step ${stepId} holds a masked secret (***) and cannot be replayed; the runbook's command runs instead (edit it again if needed): ${template}`);
      continue;
    }
    step.run = template;
  }
}

type InFlightAnswer = StepOutcome | 'retry' | 'abort' | 'paused';

/**
 * A command was running when drbook stopped. If it still runs on its own, wait for it or
 * stop it: never start it a second time beside itself. Then ask what became of it.
 */
async function settleInFlight(inFlight: InFlightCommand, driverPid: number | undefined, runbook: Runbook, ui: Ui, journal: Journal, yes: boolean, logDir: string): Promise<InFlightAnswer> {
  const step = runbook.steps.find((s) => s.id === inFlight.step);
  const label = step ? `[${step.index + 1}/${runbook.steps.length}] ${step.title}` : inFlight.step;
  ui.warn(`${label}: its command was running when drbook stopped:\n  $ ${inFlight.command}`);
  const started = Date.parse(inFlight.startedAt);
  let outcomeNote = 'drbook stopped while it ran; its exit code is unknown';

  const running = survivors(inFlight, driverPid);
  if (running.length > 0) {
    // Named by the processes at the top of what is left (their children are waited for and stopped with them).
    const found = new Set(running.map((p) => p.pid));
    // One gone meanwhile (a short `sleep` of the command's loop) is no top: it has no parent to read.
    const tops = running.filter((p) => {
      const parent = readParent(p.pid);
      return parent !== undefined && !found.has(parent);
    });
    const pids = (tops.length > 0 ? tops : running).map((p) => p.pid).join(', ');
    const them = pids.includes(',') ? `pids ${pids}` : `pid ${pids}`;
    if (inFlight.pid === undefined) {
      // drbook died between starting the process and journaling its pid: what it left in
      // its process group since the command started is that command.
      ui.warn(`It seems to be still running on its own (${them}, left by drbook pid ${driverPid ?? '?'} since the command started).`);
    } else {
      ui.warn(`It is still running on its own (${them}).`);
    }
    const wait = yes ? true : await ui.confirm(`Wait for ${them} to finish? (no: stop it and everything it started)`);
    journal.append({ type: 'decision', step: inFlight.step, question: `Command still running (${them}): wait for it?`, answer: wait ? 'wait' : 'stop it' });
    if (wait) {
      ui.info(`Waiting for ${them}… (Ctrl-C stops waiting and pauses)`);
      if (!(await waitForAll(running))) {
        ui.warn(`Stopped waiting: ${them} still running. The session is paused; drbook resume asks about it again.`);
        return 'paused';
      }
      outcomeNote = 'finished on its own while drbook was away; its exit code is unknown';
    } else {
      const left: number[] = [];
      for (const p of running) {
        const termination = terminateTree(p.pid, [{ signal: 'SIGTERM', afterMs: 0 }, { signal: 'SIGKILL', afterMs: 5000 }], p.procStart === undefined ? {} : { rootStart: p.procStart });
        left.push(...(await termination.done).survivors);
      }
      outcomeNote = left.length === 0 ? 'stopped on resume' : `stopped on resume; still alive: ${left.join(', ')}`;
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
  // What the command printed before drbook lost it is the operator's best evidence.
  const tail = logTail(logDir, inFlight.log);
  if (tail !== undefined) ui.info(tail === '' ? `Its output log ${inFlight.log} is empty.` : `The last lines of its output log (${inFlight.log}):\n${tail}`);
  // "Run it again" is the default only for a step that says running it twice does no harm;
  // otherwise Enter alone is no answer: pressing it must not mark an unfinished restore done.
  const idempotent = step?.idempotent === true;
  const choices: FailureAction[] = idempotent ? ['retry', 'done', 'skip', 'abort'] : ['done', 'retry', 'skip', 'abort'];
  const action = yes ? 'retry' : await ui.chooseFailureAction(view, `${outcomeNote}: did it complete?`, choices, { noDefault: !idempotent });
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

/**
 * Waits until every process has ended: true. Ctrl-C (SIGINT) stops the wait and leaves them
 * running: false. Without the handler, Ctrl-C here would kill drbook with nothing journaled.
 */
async function waitForAll(running: readonly Survivor[]): Promise<boolean> {
  let interrupted = false;
  const onSigint = (): void => {
    interrupted = true;
  };
  process.on('SIGINT', onSigint);
  try {
    while (!interrupted && running.some((p) => isProcessAlive(p.pid, p.procStart))) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } finally {
    process.off('SIGINT', onSigint);
  }
  return !interrupted;
}

interface Survivor {
  pid: number;
  procStart?: string;
}

/**
 * What still runs of an in-flight command. With its pid journaled, that process if alive.
 * Without (drbook died between starting it and journaling command.spawned), the processes
 * the dead drbook left in its own process group since the command started: a shell with
 * job control makes each command line a group led by drbook, its commands stay in it, and
 * the kernel does not give a group's id to a new process while the group has members.
 */
function survivors(inFlight: InFlightCommand, driverPid: number | undefined): Survivor[] {
  // A live process with the old driver's pid is another process now: leave its group alone.
  const driverGone = driverPid !== undefined && driverPid !== process.pid && !isProcessAlive(driverPid);
  if (inFlight.pid !== undefined) {
    // The shell may be gone while what it started runs on, re-parented away from it: every
    // process of the recorded group started since the command counts, its own children too.
    const found = new Set<number>();
    if (isProcessAlive(inFlight.pid, inFlight.procStart)) {
      found.add(inFlight.pid);
      for (const pid of findDescendants(inFlight.pid)) found.add(pid);
    }
    if (inFlight.pgid !== undefined && inFlight.procStart !== undefined && (driverGone || inFlight.pgid !== driverPid)) {
      // A group of its own (led by the shell): all of it. drbook's group: what the command left there.
      const members = inFlight.pgid === inFlight.pid ? findCommandGroup(inFlight.pgid, inFlight.procStart) : findStrays(inFlight.pgid, inFlight.procStart);
      for (const pid of members) {
        found.add(pid);
        for (const child of findDescendants(pid)) found.add(child);
      }
    }
    for (const pid of ancestors()) found.delete(pid);
    return [...found].map(withStart).filter((p) => p.pid !== inFlight.pid || isProcessAlive(p.pid, inFlight.procStart));
  }
  if (!driverGone) return [];
  // Its processes carry the mark the dead drbook gave the command (a group of their own);
  // or, in drbook's group, they are what it left there since the command started.
  const found = new Set(findByEnvironment(`${COMMAND_ENV}=${commandMark(driverPid, inFlight.step, inFlight.attempt)}`));
  const since = ticksAt(Date.parse(inFlight.startedAt));
  for (const pid of since === undefined ? [] : findStrays(driverPid, since)) found.add(pid);
  for (const pid of [...found]) for (const child of findDescendants(pid)) found.add(child);
  for (const pid of ancestors()) found.delete(pid);
  return [...found].map(withStart);
}

function withStart(pid: number): Survivor {
  const procStart = readProcStart(pid);
  return procStart === undefined ? { pid } : { pid, procStart };
}

/** This drbook and the processes that started it: never "survivors" to wait for. */
function ancestors(): Set<number> {
  const out = new Set<number>([process.pid]);
  for (let pid = process.ppid; pid > 1 && !out.has(pid); pid = readParent(pid) ?? 1) out.add(pid);
  return out;
}

const LOG_TAIL_LINES = 20;
const LOG_TAIL_BYTES = 64 * 1024;

/** The last lines of a command's log (already redacted when written), or undefined without one. */
function logTail(dir: string, name: string | undefined): string | undefined {
  if (name === undefined || name.includes('/') || name.includes('..')) return undefined;
  let fd: number | undefined;
  try {
    fd = openSync(join(dir, name), constants.O_RDONLY | constants.O_NONBLOCK);
    const st = fstatSync(fd);
    if (!st.isFile()) return undefined;
    const length = Math.min(st.size, LOG_TAIL_BYTES);
    const buf = Buffer.alloc(length);
    const n = readSync(fd, buf, 0, length, st.size - length);
    const lines = buf.subarray(0, n).toString('utf8').split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    // Control characters from the command's output must not drive the terminal here.
    return lines
      .slice(-LOG_TAIL_LINES)
      .map((line) => `  | ${line.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, '?')}`)
      .join('\n');
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Linux's USER_HZ, the unit of process start times in /proc/PID/stat: 100 on every current architecture. */
const CLOCK_TICKS_PER_SECOND = 100;

/**
 * A wall-clock instant as a process start time (clock ticks since boot), one tick early so
 * that the coarse clocks (ticks, /proc/uptime in hundredths) never leave out a process
 * started at that instant. Undefined off Linux.
 */
function ticksAt(ms: number): string | undefined {
  if (Number.isNaN(ms)) return undefined;
  let uptime: number;
  try {
    uptime = Number.parseFloat(readFileSync('/proc/uptime', 'utf8').split(' ')[0] ?? '');
  } catch {
    return undefined;
  }
  if (!Number.isFinite(uptime)) return undefined;
  const bootMs = Date.now() - uptime * 1000;
  return String(Math.max(0, Math.floor(((ms - bootMs) * CLOCK_TICKS_PER_SECOND) / 1000) - 1));
}

/** The pid of the drbook that drove the session last: the latest session.started or session.resumed. */
function lastDriverPid(events: readonly JournalEvent[]): number | undefined {
  for (let i = events.length - 1; i >= 0; i--) {
    const event = events[i]!;
    if (event.type === 'session.started' || event.type === 'session.resumed') return event.pid;
  }
  return undefined;
}

/**
 * drbook stopped inside a step, after its work was done but before the step was journaled
 * finished: its command had succeeded (command.finished ok, then at most its capture and
 * the confirmation), or a manual step's confirmation was answered yes. The step is
 * finished now instead of being walked again: a command that succeeded is not run twice.
 * Returns undefined when the step has to be walked again (nothing done yet, a failure to
 * decide on, or a captured value that was lost with drbook).
 */
async function settleFinishedWork(stepId: string, events: readonly JournalEvent[], replay: SessionReplay, runbook: Runbook, ui: Ui, journal: Journal, yes: boolean): Promise<StepOutcome | undefined> {
  const step = runbook.steps.find((s) => s.id === stepId);
  if (!step) return undefined;
  let from = -1;
  for (let i = events.length - 1; i >= 0; i--) {
    const event = events[i]!;
    if (event.type === 'step.started' && event.step === stepId) {
      from = i;
      break;
    }
  }
  if (from === -1) return undefined;
  const since = events.slice(from + 1).filter((e) => e.type !== 'note' && e.type !== 'milestone' && e.type !== 'evidence' && !e.type.startsWith('notify.') && e.type !== 'session.resumed' && e.type !== 'session.paused');
  const confirmedYes = (list: readonly JournalEvent[]) => list.some((e) => e.type === 'decision' && e.step === stepId && e.answer === 'yes');
  const label = `[${step.index + 1}/${runbook.steps.length}] ${step.title}`;
  const startedAt = Date.parse(events[from]!.ts);

  if (step.run === undefined) {
    // A manual step: only its confirmation can have been answered before the stop.
    const yesAt = since.find((e) => e.type === 'decision' && e.step === stepId && e.answer === 'yes');
    if (!step.confirm || !yesAt || since.some((e) => e.type !== 'decision')) return undefined;
    ui.info(`${label}: confirmed before drbook stopped: done.`);
    return finishNow(step, 'done', startedAt, journal, yesAt.ts);
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
  if (step.capture !== undefined && !replay.vars.has(step.capture)) {
    ui.warn(`${label}: its command had succeeded, but the output it captures into {{${step.capture}}} was lost with drbook: the step is walked again.`);
    return undefined;
  }
  ui.info(`${label}: its command had succeeded (exit ${result.exitCode ?? '?'}) before drbook stopped; it is not run again.`);
  if (step.confirm !== undefined && !confirmedYes(after)) {
    const question = renderConfirm(step, replay);
    const answer = yes ? true : await ui.confirm(question);
    journal.append({ type: 'decision', step: stepId, question, answer: answer ? 'yes' : 'no' });
    if (!answer) return undefined;
  }
  return finishNow(step, 'done', startedAt, journal, result.ts);
}

function finishNow(step: Step, outcome: StepOutcome, startedAt: number, journal: Journal, doneAt: string): StepOutcome {
  const end = Date.parse(doneAt);
  const durationMs = Number.isNaN(startedAt) || Number.isNaN(end) ? 0 : Math.max(0, end - startedAt);
  journal.append({ type: 'step.finished', step: step.id, index: step.index, outcome, durationMs });
  return outcome;
}

/** The confirmation as the walk asked it, with the journaled (redacted) values. */
function renderConfirm(step: Step, replay: SessionReplay): string {
  return renderTemplate(step.confirm ?? '', (name) => replay.vars.get(name)?.value);
}

