/**
 * `drbook run` first looks at the live sessions of the same runbook (core/run-overlap.ts):
 * one still driven refuses the start, one not ended is offered for resume. The check and
 * the new session's start happen under one lock per runbook, so of several `run`s started
 * at once exactly one starts; the others then see it running.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ExitCode, PromptInterrupted } from '../../core/errors.js';
import { DrbookError } from '../../core/errors.js';
import { parseJournal } from '../../core/journal-parse.js';
import { checkStart, PARALLEL_FLAG, type RunbookSession, type StartCheck } from '../../core/run-overlap.js';
import { replaySession, summarizeSession } from '../../core/session-summary.js';
import { visible, visibleLine } from '../../core/visible.js';
import { driverLockPath, readDriverLock, withShortLock } from '../../adapters/file-lock.js';
import { withRunningFile } from '../../adapters/running-file.js';
import {
  journalEndsEnded,
  listSessionIds,
  mayBeOfRunbook,
  readJournalText,
  sessionJournalPath,
  sessionOutputDir,
  sessionsDir,
} from '../../adapters/state-home.js';
import { systemProcesses } from '../../adapters/system-processes.js';

export type StartAlone<T> = { kind: 'started'; value: T } | { kind: 'resume'; session: string } | { kind: 'not-started'; exitCode: number };

/**
 * In a terminal, before anything else is asked (the variables): a session of the runbook not
 * ended is offered for resume, one driven refuses. Returns the sessions the operator chose
 * to start beside, for startAlone; or what to do instead of starting.
 */
export async function askBeforeStart(
  home: string,
  runbookId: string,
): Promise<{ kind: 'clear'; accepted: Set<string> } | Exclude<StartAlone<never>, { kind: 'started' }>> {
  const accepted = new Set<string>();
  for (;;) {
    const check = checkStart({ runbookId, yes: false, sessions: sessionsOf(home, runbookId), processes: systemProcesses, accepted });
    if (check.verdict === 'go') return { kind: 'clear', accepted };
    const instead = await settle(check, accepted);
    if (instead !== undefined) return instead;
  }
}

/**
 * Starts the session with `start` (synchronous: it creates the journal, takes its driver
 * lock and writes session.started) unless another live session of the runbook is running,
 * or not ended and not in `accepted`. The check and the start hold one lock per runbook.
 * In a terminal the operator may resume that session instead, start anyway or quit; under
 * --yes the start is refused (exit 2).
 */
export async function startAlone<T>(home: string, runbookId: string, yes: boolean, accepted: Set<string>, start: () => T): Promise<StartAlone<T>> {
  const lockPath = join(sessionsDir(home), `.run-${runbookId}.lock`);
  for (;;) {
    const outcome = withShortLock(lockPath, `the start of a run of ${runbookId}`, (): { started: T } | { check: StartCheck } => {
      const check = checkStart({ runbookId, yes, sessions: sessionsOf(home, runbookId), processes: systemProcesses, accepted });
      return check.verdict === 'go' ? { started: start() } : { check };
    });
    if ('started' in outcome) return { kind: 'started', value: outcome.started };
    const instead = await settle(outcome.check, accepted);
    if (instead !== undefined) return instead;
  }
}

/** A check that did not clear the start: refused (throws), or the operator's answer. Undefined: check again. */
async function settle(check: StartCheck, accepted: Set<string>): Promise<Exclude<StartAlone<never>, { kind: 'started' }> | undefined> {
  if (check.verdict === 'refuse') throw new DrbookError(check.message, ExitCode.usage);
  if (check.verdict !== 'ask') return undefined;
  const answer = await ask(check);
  if (answer === 'resume') return { kind: 'resume', session: check.resume };
  if (answer === 'quit') {
    process.stderr.write(`Nothing started. drbook resume ${check.resume} continues the session; drbook sessions lists them.\n`);
    return { kind: 'not-started', exitCode: ExitCode.usage };
  }
  if (answer === 'interrupted') {
    process.stderr.write(`\nNothing started. drbook resume ${check.resume} continues the session.\n`);
    return { kind: 'not-started', exitCode: ExitCode.paused };
  }
  // Start anyway: checked again (another run may have started meanwhile).
  for (const o of check.open) accepted.add(o.session.id);
  return undefined;
}

async function ask(check: StartCheck & { verdict: 'ask' }): Promise<'resume' | 'new' | 'quit' | 'interrupted'> {
  const { TerminalUi } = await import('../../adapters/terminal-ui.js');
  const ui = new TerminalUi();
  // Ids, steps and commands come from journals: shown, never obeyed by the terminal.
  ui.warn(check.lines.map((line, n) => (n === 0 ? `${visibleLine(line)}:` : `  ${visible(line)}`)).join('\n'));
  ui.warn(`A new session would walk the runbook again from its first step, beside ${check.open.length === 1 ? 'it' : 'them'}.`);
  try {
    return await ui.chooseKey(`Resume ${visibleLine(check.resume)}?`, [
      { key: 'r', value: 'resume', name: `resume ${visibleLine(check.resume)}` },
      { key: 'n', value: 'new', name: `start a new session anyway (as ${PARALLEL_FLAG} does)` },
      { key: 'q', value: 'quit', name: 'quit: start nothing' },
    ]);
  } catch (error) {
    if (error instanceof PromptInterrupted) return 'interrupted';
    throw error;
  }
}

/** The sessions whose journal names runbook `runbookId`, oldest first; an unreadable one is left out. */
function sessionsOf(home: string, runbookId: string): RunbookSession[] {
  const out: RunbookSession[] = [];
  for (const id of listSessionIds(home)) {
    if (!mayBeOfRunbook(id, runbookId)) continue;
    const path = sessionJournalPath(home, id);
    // A session that ended and that no drbook holds (resume --reopen would): over, read no further.
    if (!existsSync(driverLockPath(path)) && journalEndsEnded(path)) continue;
    let parsed: ReturnType<typeof parseJournal>;
    try {
      parsed = parseJournal(readJournalText(path));
    } catch {
      continue;
    }
    const lock = readDriverLock(path);
    const summary = summarizeSession(id, parsed, lock);
    if (summary.runbook.id !== runbookId || summary.mode !== 'live') continue;
    const session: RunbookSession = { id, runbookId, mode: summary.mode, status: summary.status };
    if (summary.currentStep !== undefined) session.currentStep = summary.currentStep;
    if (summary.status === 'running' && lock !== undefined) session.driver = { pid: lock.pid, host: lock.host, since: lock.since };
    if (summary.status === 'interrupted') {
      const driverPid = replaySession(parsed).driverPid;
      if (driverPid !== undefined) session.driverPid = driverPid;
      // A cut poll attempt has no start event: its pid and group come from its running file, as resume reads them.
      if (summary.inFlight !== undefined) session.inFlight = withRunningFile(summary.inFlight, sessionOutputDir(home, id));
    }
    out.push(session);
  }
  return out;
}
