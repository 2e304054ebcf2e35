import { rmdirSync, statSync, unlinkSync } from 'node:fs';
import type { Mode } from '../core/journal-events.js';
import { formatProblem } from '../core/model.js';
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
import { makeUi, refuseUnanswerable, refuseUndecidedBranches, requireTerminal, stepIndex, walkSession } from './shared/walk-setup.js';

export interface WalkOptions extends VarOptions {
  from?: string;
  yes?: boolean;
  runSafe?: boolean;
  dir?: string;
}

/** `drbook run` and `drbook rehearse`: the same walk, live or as a drill. */
export async function runWalk(ref: string, mode: Mode, options: WalkOptions): Promise<number> {
  const yes = options.yes === true;
  requireTerminal(mode === 'live' ? 'run' : 'rehearse', yes);
  const { runbook, warnings } = await findRunbook(ref, options.dir);
  for (const w of warnings) process.stderr.write(formatProblem(w) + '\n');

  const startIndex = options.from === undefined ? 0 : stepIndex(runbook, options.from);
  const redactor = new Redactor();
  const { store: vars } = await givenVars(runbook, redactor, options);
  if (yes && mode === 'live') refuseUnanswerable(runbook, vars);
  if (yes && mode === 'rehearsal') refuseUndecidedBranches(runbook, vars);

  const home = stateHome();
  ensureSessionsDir(home);
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
        yes,
      }),
    );
  } catch (error) {
    // The session never started (a full disk): leave no empty journal to pass for one.
    lock?.release();
    journal.close();
    abandonEmptySession(journal);
    throw error;
  }
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
