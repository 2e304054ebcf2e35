import { rmdirSync, statSync, unlinkSync } from 'node:fs';
import type { Mode } from '../core/journal-events.js';
import { formatProblem, type Runbook } from '../core/model.js';
import { Redactor } from '../core/redact.js';
import { sessionStartedEvent, varEvents } from '../core/session.js';
import { visibleLine } from '../core/visible.js';
import { acquireDriverLock, type DriverLock } from '../adapters/file-lock.js';
import { FileJournal } from '../adapters/file-journal.js';
import { startNotifier } from '../adapters/notify/start.js';
import type { WalkNotifier } from '../adapters/notify/session-notifier.js';
import { findRunbook } from '../adapters/runbook-files.js';
import { ensureSessionsDir, newSessionId, stateHome } from '../adapters/state-home.js';
import { localZone, operatorName, systemClock } from '../adapters/system.js';
import { VERSION } from '../version.js';
import { givenVars, type VarOptions } from './shared/session-vars.js';
import { askBeforeStart, startAlone } from './shared/run-overlap.js';
import { makeUi, refuseUnanswerable, refuseUndecidedBranches, requireTerminal, stepIndex, walkSession } from './shared/walk-setup.js';

export interface WalkOptions extends VarOptions {
  from?: string;
  yes?: boolean;
  runSafe?: boolean;
  dir?: string;
  /** run: start even beside a live session of the runbook, or one not ended. */
  parallel?: boolean;
}

interface StartedSession {
  sessionId: string;
  startedAt: Date;
  journal: FileJournal;
  lock: DriverLock;
}

/** A new session: its journal, its driver lock and session.started. Synchronous, so it can run under the start lock. */
function startSession(home: string, runbook: Runbook, mode: Mode, options: WalkOptions): StartedSession {
  const startedAt = systemClock.now();
  const sessionId = newSessionId(runbook.id, startedAt, home);
  const journal = FileJournal.create(home, sessionId, systemClock);
  let lock: DriverLock | undefined;
  try {
    lock = acquireDriverLock(journal.path);
    journal.append(
      sessionStartedEvent({
        session: sessionId,
        runbook,
        mode,
        operator: operatorName(),
        zone: localZone(startedAt),
        drbook: VERSION,
        pid: process.pid,
        ...(options.from ? { from: options.from } : {}),
        cwd: process.cwd(),
        runSafe: options.runSafe === true,
        yes: options.yes === true,
      }),
    );
    return { sessionId, startedAt, journal, lock };
  } catch (error) {
    // The session never started (a full disk): leave no empty journal to pass for one.
    lock?.release();
    journal.close();
    abandonEmptySession(journal);
    throw error;
  }
}

/**
 * `drbook run` and `drbook rehearse`: the same walk, live or as a drill. `{ resume }`: the
 * operator chose to resume that session of the runbook instead of starting a new one.
 */
export async function runWalk(ref: string, mode: Mode, options: WalkOptions): Promise<number | { resume: string }> {
  const yes = options.yes === true;
  requireTerminal(mode === 'live' ? 'run' : 'rehearse', yes);
  const { runbook, warnings } = await findRunbook(ref, options.dir);
  for (const w of warnings) process.stderr.write(formatProblem(w) + '\n');

  const startIndex = options.from === undefined ? 0 : stepIndex(runbook, options.from);
  const home = stateHome();
  // A live run is not started beside a live session of the same runbook, nor over one left
  // unfinished, unless asked (--parallel). In a terminal, asked before the variables are.
  const alone = mode === 'live' && options.parallel !== true;
  let accepted = new Set<string>();
  if (alone && !yes) {
    const before = await askBeforeStart(home, runbook.id);
    if (before.kind === 'resume') return { resume: before.session };
    if (before.kind === 'not-started') return before.exitCode;
    accepted = before.accepted;
  }
  const redactor = new Redactor();
  const { store: vars } = await givenVars(runbook, redactor, options);
  if (yes && mode === 'live') refuseUnanswerable(runbook, vars);
  if (yes && mode === 'rehearsal') refuseUndecidedBranches(runbook, vars);

  ensureSessionsDir(home);
  const begin = (): StartedSession => startSession(home, runbook, mode, options);
  let started: StartedSession;
  if (alone) {
    const outcome = await startAlone(home, runbook.id, yes, accepted, begin);
    if (outcome.kind === 'resume') return { resume: outcome.session };
    if (outcome.kind === 'not-started') return outcome.exitCode;
    started = outcome.value;
  } else {
    started = begin();
  }
  const { sessionId, startedAt, journal, lock } = started;
  let notifier: WalkNotifier | undefined;
  try {
    for (const event of varEvents(vars)) journal.append(event);
    const ui = await makeUi(yes);
    ui.info(`${mode === 'rehearsal' ? 'Rehearsal' : 'Live run'} of ${visibleLine(runbook.title)} (${runbook.steps.length} steps) — session ${sessionId}`);
    notifier = await startNotifier({ runbook, journal, sessionId, mode, home, say: (line) => ui.warn(line) });
    return await walkSession(
      {
        runbook,
        mode,
        yes,
        runSafe: options.runSafe === true,
        startIndex,
        skipReason: `--from ${options.from ?? ''}`.trim(),
        finished: new Map(),
        attempts: new Map(),
        sessionStartedAt: startedAt,
        vars,
        redactor,
      },
      { ui, journal, sessionId, startDir: process.cwd() },
      (walk) => walk.run(),
    );
  } finally {
    await notifier?.stop();
    lock.release();
    journal.close();
  }
}

/**
 * Removes a journal this run created when nothing could be written to it, and its empty
 * output directory: an empty journal would be listed as an interrupted session that resume
 * cannot continue. Anything with a byte in it stays.
 */
function abandonEmptySession(journal: FileJournal): void {
  try {
    if (statSync(journal.path).size !== 0) return;
    unlinkSync(journal.path);
    rmdirSync(journal.outputDir);
  } catch {
    // Not empty, or already gone: leave it.
  }
}
