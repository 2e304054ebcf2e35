import { basename } from 'node:path';
import { DrbookError, ExitCode } from '../core/errors.js';
import { SLUG } from '../core/runbook-schema.js';
import { maskWithFingerprints, sessionFingerprints } from '../core/secret-fingerprint.js';
import { copyEvidence, EvidenceError } from '../adapters/evidence-copy.js';
import { FileJournal } from '../adapters/file-journal.js';
import { sessionOutputDir } from '../adapters/state-home.js';
import { systemClock } from '../adapters/system.js';
import { targetSession } from './shared/session-target.js';

export interface AttachOptions {
  session?: string;
  step?: string;
  at?: string;
  note?: string;
}

/**
 * `drbook attach FILE`: a copy of a piece of evidence (a screenshot, a log, `df` output) in
 * the session directory, its sha256 and size in the journal, so the post-mortem lists it
 * and a later change to the copy shows.
 */
export async function runAttach(file: string, options: AttachOptions): Promise<number> {
  if (options.step !== undefined && !SLUG.test(options.step)) throw new DrbookError(`--step ${options.step}: not a step id`, ExitCode.usage);
  const target = targetSession(options, 'attach the file to');
  let copied;
  try {
    copied = copyEvidence(file, sessionOutputDir(target.home, target.id));
  } catch (error) {
    if (error instanceof EvidenceError) throw new DrbookError(error.message, ExitCode.usage);
    throw error;
  }
  const step = options.step ?? target.replay.currentStep?.step;
  // Written from a terminal that never had the session's secrets: masked by their fingerprints.
  const fingerprints = sessionFingerprints(target.events);
  const note = options.note === undefined ? undefined : maskWithFingerprints(options.note.trim(), fingerprints);
  const journal = FileJournal.open(target.path, systemClock);
  try {
    journal.append({
      type: 'evidence',
      file: copied.file,
      name: maskWithFingerprints(basename(file), fingerprints),
      sha256: copied.sha256,
      bytes: copied.bytes,
      ...(step ? { step } : {}),
      ...(target.at ? { at: target.at } : {}),
      ...(note ? { note } : {}),
      by: target.by,
    });
  } finally {
    journal.close();
  }
  process.stderr.write(
    `attached ${copied.file} (${copied.bytes} byte${copied.bytes === 1 ? '' : 's'}, sha256 ${copied.sha256.slice(0, 12)}) to ${target.id}\n`,
  );
  return ExitCode.ok;
}
