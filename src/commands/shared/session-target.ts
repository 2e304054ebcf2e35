import { DrbookError, ExitCode } from '../../core/errors.js';
import type { JournalEvent, MilestoneMarked, Note } from '../../core/journal-events.js';
import { isResumable, replaySession, type SessionReplay } from '../../core/session-summary.js';
import { sessionZone } from '../../core/export/time-zone.js';
import { parseNoteTime } from '../../core/zone-time.js';
import { FileJournal, readSessionJournal } from '../../adapters/file-journal.js';
import { listSessions, resolveSessionId, sessionJournalPath, stateHome } from '../../adapters/state-home.js';
import { localZone, operatorName, systemClock } from '../../adapters/system.js';

/** The session a writer from another terminal (`mark`, `attach`) appends to. */
export interface SessionTarget {
  home: string;
  id: string;
  path: string;
  events: readonly JournalEvent[];
  replay: SessionReplay;
  /** `--at` as ISO UTC, when given. */
  at?: string;
  by: string;
}

/** Where the writers differ. */
export interface TargetRules {
  /** How the refusal without an open session names the way to a finished one. */
  finished?: string;
}

/**
 * For `note`, `mark` and `attach`: the open session (running, paused or interrupted), or
 * with --session any session, even a finished one, for the post-mortem; `--at` read in the
 * session's zone.
 */
export function targetSession(options: { session?: string; at?: string }, what: string, how: TargetRules = {}): SessionTarget {
  const home = stateHome();
  const id = options.session === undefined ? theOpenSession(home, what, how) : resolveSessionId(home, options.session);
  const path = sessionJournalPath(home, id);
  // A journal not written whole (emptied, its numbering restarted) is refused, as every
  // command that reads a session refuses it: nothing is added to a record that cannot be trusted.
  const parsed = readSessionJournal(path);
  for (const warning of parsed.warnings) process.stderr.write(warning + '\n');
  const replay = replaySession(parsed);
  // The session's zone; its recorded offset stands in if this node's Intl does not know it.
  const { tz, tzOffsetMinutes } = replay.started ?? localZone();
  const zone = sessionZone(tz, tzOffsetMinutes);
  let at: string | undefined;
  if (options.at !== undefined) {
    const when = parseNoteTime(options.at, systemClock.now(), zone, tzOffsetMinutes);
    if (typeof when === 'string') throw new DrbookError(when, ExitCode.usage);
    at = when.toISOString();
  }
  const operator = operatorName();
  return { home, id, path, events: parsed.events, replay, ...(at ? { at } : {}), by: `${operator.user}@${operator.host}` };
}

/**
 * The session meant when none is named: the one being driven right now, else the one
 * paused or interrupted. Two of them, and a note could land in the wrong post-mortem:
 * the operator is asked to name it.
 */
function theOpenSession(home: string, what: string, how: TargetRules): string {
  const sessions = listSessions(home);
  const running = sessions.filter((s) => s.status === 'running');
  const candidates = running.length > 0 ? running : sessions.filter(isResumable);
  if (candidates.length === 0) {
    throw new DrbookError(
      `no open session (running, paused or interrupted) to ${what}: give --session ID ${how.finished ?? 'for a finished one'} (see drbook sessions)`,
      ExitCode.usage,
    );
  }
  if (candidates.length > 1) {
    const state = running.length > 0 ? 'running' : 'paused or interrupted';
    throw new DrbookError(
      `${candidates.length} sessions are ${state} (${candidates.map((s) => s.id).join(', ')}): say which one to ${what} with --session ID`,
      ExitCode.usage,
    );
  }
  return candidates[0]!.id;
}

/** What `note` and `mark` say themselves; the step, the time, the author and the source are the target's. */
export type Remark = Pick<Note, 'type' | 'text'> | Pick<MilestoneMarked, 'type' | 'milestone' | 'text'>;

/** Appends a note or a milestone to the target session, under the journal's append lock. */
export function appendRemark(target: SessionTarget, remark: Remark): JournalEvent {
  const journal = FileJournal.open(target.path, systemClock);
  try {
    return journal.append({
      ...remark,
      ...(target.replay.currentStep ? { step: target.replay.currentStep.step } : {}),
      ...(target.at ? { at: target.at } : {}),
      by: target.by,
      source: 'cli',
    });
  } finally {
    journal.close();
  }
}
