/**
 * The hook the walk and resume call: loads the sender only when the session has a sink
 * (the runbook's `notify:` or a DRBOOK_HOME/config.yml), so a walk without one pays nothing.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Mode } from '../../core/journal-events.js';
import type { Runbook } from '../../core/model.js';
import type { Journal } from '../../core/ports.js';
import type { WalkNotifier } from './session-notifier.js';

export async function startNotifier(args: {
  runbook: Pick<Runbook, 'notify' | 'file'>;
  journal: Journal & { path: string };
  sessionId: string;
  mode: Mode;
  home: string;
  say: (line: string) => void;
}): Promise<WalkNotifier | undefined> {
  if (args.runbook.notify === undefined && !existsSync(join(args.home, 'config.yml'))) return undefined;
  const { startWalkNotifier } = await import('./session-notifier.js');
  return startWalkNotifier({
    notify: args.runbook.notify,
    runbookFile: args.runbook.file,
    journalPath: args.journal.path,
    sessionId: args.sessionId,
    mode: args.mode,
    home: args.home,
    append: (body) => args.journal.append(body),
    say: args.say,
  });
}
