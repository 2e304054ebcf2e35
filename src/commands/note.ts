import { DrbookError, ExitCode } from '../core/errors.js';
import { maskWithFingerprints, sessionFingerprints } from '../core/secret-fingerprint.js';
import { appendRemark, targetSession } from './shared/session-target.js';

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
  const target = targetSession(options, 'add the note to', { finished: 'to add it to a finished one' });
  // The note process never had the session's secrets, only their salted fingerprints:
  // any part of the text that hashes to one is masked before it is written.
  const masked = maskWithFingerprints(text, sessionFingerprints(target.events));
  appendRemark(target, { type: 'note', text: masked });
  process.stderr.write(`noted in ${target.id}${target.at ? ` at ${options.at} (${target.at})` : ''}\n`);
  return ExitCode.ok;
}
