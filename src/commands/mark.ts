import { DrbookError, ExitCode } from '../core/errors.js';
import { isMilestone, milestoneMarks, MILESTONES, outOfOrder } from '../core/milestones.js';
import { maskWithFingerprints, sessionFingerprints } from '../core/secret-fingerprint.js';
import { appendRemark, targetSession } from './shared/session-target.js';

export interface MarkOptions {
  session?: string;
  at?: string;
}

/**
 * `drbook mark MILESTONE [TEXT...]`: an incident milestone in the open session (or any with
 * --session), from any terminal, under the journal's append lock like a note. Out of order
 * times are warned about, never refused.
 */
export async function runMark(milestone: string, words: string[], options: MarkOptions): Promise<number> {
  if (!isMilestone(milestone)) throw new DrbookError(`unknown milestone "${milestone}": use one of ${MILESTONES.join(', ')}`, ExitCode.usage);
  const target = targetSession(options, 'mark the milestone in');
  // Written from a terminal that never had the session's secrets: masked by their fingerprints.
  const text = maskWithFingerprints(words.join(' ').trim(), sessionFingerprints(target.events));
  const written = appendRemark(target, { type: 'milestone', milestone, ...(text === '' ? {} : { text }) });
  const marks = milestoneMarks([...target.events, written]);
  const before = milestoneMarks(target.events).get(milestone);
  if (before !== undefined) process.stderr.write(`warning: ${milestone} was already marked at ${before.at}: this mark replaces it in the export\n`);
  for (const problem of outOfOrder(marks)) {
    if (problem.startsWith(`${milestone} `) || problem.includes(` before ${milestone} `)) process.stderr.write(`warning: out of order: ${problem}\n`);
  }
  process.stderr.write(`marked ${milestone} in ${target.id}${target.at ? ` at ${options.at} (${target.at})` : ''}\n`);
  return ExitCode.ok;
}
