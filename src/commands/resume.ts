import { existsSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import { formatDuration } from '../core/duration.js';
import { DrbookError, ExitCode, PromptInterrupted } from '../core/errors.js';
import { formatProblem } from '../core/model.js';
import { Redactor } from '../core/redact.js';
import { planResume, sessionResumedEvent, varEvents } from '../core/session.js';
import { isReopenable, isResumable, replaySession } from '../core/session-summary.js';
import { varsUsedBy } from '../core/vars.js';
import { visibleLine } from '../core/visible.js';
import { FileJournal, readSessionJournal } from '../adapters/file-journal.js';
import { startNotifier } from '../adapters/notify/start.js';
import type { WalkNotifier } from '../adapters/notify/session-notifier.js';
import { acquireDriverLock } from '../adapters/file-lock.js';
import { readLogTail } from '../adapters/log-tail.js';
import { clearRunningFile, withRunningFile } from '../adapters/running-file.js';
import { findRunbook } from '../adapters/runbook-files.js';
import { loadSessionSummary, resolveSessionId, sessionJournalPath, stateHome } from '../adapters/state-home.js';
import { systemClock } from '../adapters/system.js';
import { systemProcesses } from '../adapters/system-processes.js';
import { applyEdits, reacquireSecrets, restoreVars, type VarOptions } from './shared/session-vars.js';
import { makeUi, refuseUnanswerable, refuseUndecidedBranches, requireTerminal, walkSession } from './shared/walk-setup.js';

/** The bytes of a cut command's log read for its last lines. */
const CUT_LOG_BYTES = 64 * 1024;

export interface ResumeOptions extends VarOptions {
  yes?: boolean;
  force?: boolean;
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
    throw new DrbookError(
      `session ${id} is ${summary.status}, not aborted: --reopen is for an aborted session${isResumable(summary) ? ` (drbook resume ${id} continues this one)` : ''}`,
      ExitCode.usage,
    );
  }
  if (!reopen && summary.status === 'aborted') {
    throw new DrbookError(
      `session ${id} is aborted: drbook resume ${id} --reopen continues it in the same journal (drbook export ${id} gives its post-mortem)`,
      ExitCode.usage,
    );
  }
  if (summary.status === 'completed' || summary.status === 'failed') {
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

    const known = replay.runbookPath ?? started.runbook.path;
    const runbookPath = options.runbook === undefined ? known : resolvePath(options.runbook);
    if (!existsSync(runbookPath)) {
      if (options.runbook !== undefined) throw new DrbookError(`--runbook ${options.runbook}: no such file`, ExitCode.usage);
      throw new DrbookError(
        `the runbook of ${id} is gone: ${runbookPath} does not exist (restore it, or give its new place with --runbook PATH)`,
        ExitCode.usage,
      );
    }
    const { runbook, warnings } = await findRunbook(runbookPath);
    if (runbook.id !== started.runbook.id) {
      throw new DrbookError(
        `${runbookPath} is runbook "${runbook.id}", but session ${id} walks "${started.runbook.id}": give the same runbook`,
        ExitCode.usage,
      );
    }
    const moved = runbook.file !== known ? runbook.file : undefined;
    if (moved) ui.info(`Runbook read from ${moved} (the session started with ${started.runbook.path})`);
    for (const w of warnings) process.stderr.write(formatProblem(w) + '\n');
    let runbookChanged: { from: string; to: string } | undefined;
    if (runbook.sha256 !== started.runbook.sha256) {
      runbookChanged = { from: started.runbook.sha256, to: runbook.sha256 };
      ui.warn(
        `${runbook.file} changed since the session started (sha256 ${started.runbook.sha256.slice(0, 12)} → ${runbook.sha256.slice(0, 12)}): steps may differ from what was walked`,
      );
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
    const plan = planResume(replay, runbook, { reopen });
    // Only the secrets a step still to walk uses: a secret only finished steps used is not
    // asked (an undo offered later asks for what it needs).
    await reacquireSecrets(
      runbook,
      replay,
      vars,
      ui,
      yes,
      varsUsedBy(plan.toWalk, started.mode === 'rehearsal' ? { runSafe: started.runSafe === true } : undefined),
    );
    // A variable never given (a secret from $ENV unset now, say) would make a step fail and
    // --yes abort the session for good: refuse now, as run --yes does.
    if (yes && started.mode === 'live') refuseUnanswerable(runbook, vars, plan.unfinished);
    if (yes && started.mode === 'rehearsal') refuseUndecidedBranches(runbook, vars, plan.unfinished);

    const event = sessionResumedEvent({
      replay,
      now: systemClock.now(),
      pid: process.pid,
      reopened: reopen,
      ...(runbookChanged ? { runbookChanged } : {}),
      ...(moved ? { movedTo: moved } : {}),
    });
    journal.append(event);
    resumed = true;
    for (const change of varEvents(vars, replay)) journal.append(change);
    ui.info(`Resuming ${id} (${visibleLine(runbook.title)}) after ${formatDuration(event.gapMs)}${replay.currentStep ? ` at ${replay.currentStep.step}` : ''}`);

    notifier = await startNotifier({ runbook, journal, sessionId: id, mode: started.mode, home, say: (line) => ui.warn(line) });
    return await walkSession(
      {
        runbook,
        mode: started.mode,
        yes,
        // As the session was started: --run-safe of a rehearsal holds after a resume too.
        runSafe: started.runSafe === true,
        startIndex: 0,
        finished: plan.finished,
        attempts: plan.attempts,
        sessionStartedAt: new Date(started.ts),
        vars,
        redactor,
      },
      // Steps without cwd run where the session was started, wherever resume is typed.
      { ui, journal, sessionId: id, startDir: started.cwd ?? process.cwd() },
      async (walk) => {
        // A cut poll attempt has no start event: its pid and group come from its running file.
        const inFlight = replay.inFlight ? withRunningFile(replay.inFlight, journal.outputDir) : undefined;
        const left = {
          ...(inFlight ? { inFlight } : {}),
          ...(replay.driverPid !== undefined ? { driverPid: replay.driverPid } : {}),
          ...(replay.currentStep ? { current: replay.currentStep } : {}),
          vars: replay.vars,
        };
        const outputDir = journal.outputDir;
        const result = await walk.resume(left, { processes: systemProcesses, readLogTail: (log) => readLogTail(outputDir, log, CUT_LOG_BYTES)?.tail });
        if (inFlight?.poll !== undefined) clearRunningFile(inFlight, outputDir);
        return result;
      },
    );
  } catch (error) {
    // Ctrl-C at one of resume's own questions: a pause, as anywhere else in the walk.
    if (!(error instanceof PromptInterrupted)) throw error;
    // (Once resumed, the walk journaled the pause.)
    process.stderr.write(`\nPaused${resumed ? '' : ' before resuming: nothing was journaled'}. Next: drbook resume ${id}\n`);
    return ExitCode.paused;
  } finally {
    await notifier?.stop();
    lock.release();
    journal.close();
  }
}
