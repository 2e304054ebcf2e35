import { existsSync } from 'node:fs';
import { DrbookError, ExitCode, PromptInterrupted } from '../core/errors.js';
import { formatProblem } from '../core/model.js';
import { Redactor } from '../core/redact.js';
import { replaySession } from '../core/session-summary.js';
import { undoCandidates } from '../core/undo.js';
import { FileJournal, readJournalFile } from '../adapters/file-journal.js';
import { acquireDriverLock } from '../adapters/file-lock.js';
import { findRunbook } from '../adapters/runbook-files.js';
import { resolveSessionId, sessionJournalPath, stateHome } from '../adapters/state-home.js';
import { systemClock } from '../adapters/system.js';
import { reacquireSecrets, restoreVars } from './shared/session-vars.js';
import { printUndoSummary, varsUsedByUndo, walkUndo } from './shared/undo-walk.js';
import { makeUi, requireTerminal } from './shared/walk-setup.js';

export interface UndoOptions {
  yes?: boolean;
  var?: string[];
  varsFile?: string;
}

/** `drbook undo [SESSION] [--yes]`: the undo of every step done, latest first. */
export async function runUndo(session: string | undefined, options: UndoOptions): Promise<number> {
  const yes = options.yes === true;
  requireTerminal('undo', yes);
  const home = stateHome();
  const id = resolveSessionId(home, session, (s) => s.status !== 'running');
  const path = id.endsWith('.jsonl') ? id : sessionJournalPath(home, id);
  const lock = acquireDriverLock(path);
  let journal: FileJournal | undefined;
  try {
    journal = FileJournal.open(path, systemClock);
    const parsed = readJournalFile(path);
    for (const warning of parsed.warnings) process.stderr.write(warning + '\n');
    const replay = replaySession(parsed);
    const started = replay.started;
    if (!started) throw new DrbookError(`${path}: no session.started event: not a session that can be undone`, ExitCode.usage);
    if (!existsSync(started.runbook.path)) {
      throw new DrbookError(`the runbook of ${id} is gone: ${started.runbook.path} does not exist (the undo commands are in it)`, ExitCode.usage);
    }
    const { runbook, warnings } = await findRunbook(started.runbook.path);
    for (const w of warnings) process.stderr.write(formatProblem(w) + '\n');
    const steps = undoCandidates(replay, runbook);
    if (steps.length === 0) {
      process.stderr.write(`Nothing to undo in ${id}: no step done has an undo: (or all were undone already).\n`);
      return ExitCode.ok;
    }
    const ui = await makeUi(yes);
    if (runbook.sha256 !== started.runbook.sha256) ui.warn(`${runbook.file} changed since the session started: the undo commands are today's`);
    const redactor = new Redactor();
    const vars = await restoreVars(runbook, replay, redactor, options);
    // Only the secrets the undo commands use: nobody opens the password manager for the rest.
    await reacquireSecrets(runbook, replay, vars, ui, yes, varsUsedByUndo(steps));
    const result = await walkUndo({
      runbook,
      mode: started.mode,
      yes,
      trigger: 'command',
      journal,
      ui,
      vars,
      redactor,
      startDir: started.cwd ?? process.cwd(),
      attempts: new Map(replay.undoAttempts),
    });
    return printUndoSummary(result, id);
  } catch (error) {
    if (!(error instanceof PromptInterrupted)) throw error;
    process.stderr.write(`\nPaused. Next: drbook undo ${id}\n`);
    return ExitCode.paused;
  } finally {
    lock.release();
    journal?.close();
  }
}
