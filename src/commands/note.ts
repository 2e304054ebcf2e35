import { DrbookError, ExitCode } from '../core/errors.js';
import { isResumable, replaySession, type SessionSummary } from '../core/session-summary.js';
import { parseNoteTime } from '../core/zone-time.js';
import { maskWithFingerprints, sessionFingerprints } from '../core/secret-fingerprint.js';
import { FileJournal, readSessionJournal } from '../adapters/file-journal.js';
import { listSessions, resolveSessionId, sessionJournalPath, stateHome } from '../adapters/state-home.js';
import { localZone, operatorName, systemClock } from '../adapters/system.js';

export interface NoteOptions {
  session?: string;
  at?: string;
}

/**
 * `drbook note TEXT...` from any terminal: appended to the open session (running or
 * paused), or with --session to any session, even a finished one, for the post-mortem.
 * The journal's append lock keeps it from tearing the driver's lines.
 */
export async function runNote(words: string[], options: NoteOptions): Promise<number> {
  const text = words.join(' ').trim();
  if (text === '') throw new DrbookError('a note needs text: drbook note "what you saw"', ExitCode.usage);
  const home = stateHome();
  const open = (s: SessionSummary) => s.status === 'running' || isResumable(s);
  if (options.session === undefined && !listSessions(home).some(open)) {
    throw new DrbookError(
      'no open session (running, paused or interrupted) to add the note to: give --session ID to add it to a finished one (see drbook sessions)',
      ExitCode.usage,
    );
  }
  const id = resolveSessionId(home, options.session, options.session === undefined ? open : undefined);
  const path = sessionJournalPath(home, id);
  const parsed = readSessionJournal(path);
  for (const warning of parsed.warnings) process.stderr.write(warning + '\n');
  const replay = replaySession(parsed);
  const started = replay.started;
  // The session's zone; its recorded offset stands in if this node's Intl does not know it.
  const { tz: zone, tzOffsetMinutes } = started ?? localZone();

  let at: string | undefined;
  if (options.at !== undefined) {
    const when = parseNoteTime(options.at, systemClock.now(), zone, tzOffsetMinutes);
    if (typeof when === 'string') throw new DrbookError(when, ExitCode.usage);
    at = when.toISOString();
  }
  // The note process never had the session's secrets, only their salted fingerprints:
  // any part of the text that hashes to one is masked before it is written.
  const masked = maskWithFingerprints(text, sessionFingerprints(parsed.events));
  const operator = operatorName();
  const journal = FileJournal.open(path, systemClock);
  try {
    journal.append({
      type: 'note',
      text: masked,
      ...(replay.currentStep ? { step: replay.currentStep.step } : {}),
      ...(at ? { at } : {}),
      by: `${operator.user}@${operator.host}`,
      source: 'cli',
    });
  } finally {
    journal.close();
  }
  process.stderr.write(`noted in ${id}${at ? ` at ${options.at} (${at})` : ''}\n`);
  return ExitCode.ok;
}
