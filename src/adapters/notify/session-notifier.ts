/**
 * The walk's side of notifications: which sinks a session has, the background sender started
 * with the walk and stopped at its end, and the status `sessions`, `notify` and `export` show.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { Mode, NotifyFailed } from '../../core/journal-events.js';
import { parseJournal } from '../../core/journal-parse.js';
import { checkNotifyList } from '../../core/notify/check.js';
import { resolveSinks, type SinkConfig } from '../../core/notify/config.js';
import { buildOutbox, EMPTY_CURSOR, pendingFor, sinkWantsSession } from '../../core/notify/outbox.js';
import { readJournalText } from '../state-home.js';
import { VERSION } from '../../version.js';
import { acquireSenderLock, readCursor } from './cursor-file.js';
import { NotifySender } from './sender.js';
import { readHomeConfig, type SinkSource } from './sinks-config.js';

/** How long the end of a walk waits for the last events to go out before it leaves them to `drbook notify`. */
export const END_GRACE_MS = 3000;

export interface WalkNotifier {
  stop(): Promise<void>;
}

/**
 * Starts the background sender of a new or resumed walk, or returns undefined when the
 * session has no sink. Never throws for a sink's sake: problems are lines for the operator.
 */
export function startWalkNotifier(args: {
  notify: SinkSource['defs'] | undefined;
  runbookFile: string;
  journalPath: string;
  sessionId: string;
  mode: Mode;
  home: string;
  append: (body: NotifyFailed) => void;
  say: (line: string) => void;
}): WalkNotifier | undefined {
  const sources: SinkSource[] = [];
  if (args.notify !== undefined && args.notify.length > 0) sources.push({ defs: args.notify, origin: args.runbookFile });
  const home = readHomeConfig(args.home);
  for (const line of home.problems) args.say(line);
  if (home.errors) args.say('notify: the sinks of config.yml are left out until it is fixed');
  if (home.source) sources.push(home.source);
  const sinks = resolveSinks(sources).filter((s) => args.mode === 'live' || s.rehearsals);
  if (sinks.length === 0) return undefined;
  const lock = acquireSenderLock(args.journalPath);
  if ('heldBy' in lock) {
    args.say(`notify: another drbook (pid ${lock.heldBy}) is sending this session's events; this walk leaves them to it`);
    return undefined;
  }
  const sender = new NotifySender({
    journalPath: args.journalPath,
    sessionId: args.sessionId,
    sinks,
    env: process.env,
    journal: args.append,
    say: args.say,
    userAgent: `drbook/${VERSION}`,
  });
  sender.recordConfig(sources);
  sender.start();
  return {
    stop: async () => {
      try {
        await sender.stop(END_GRACE_MS);
      } finally {
        lock.release();
      }
      for (const w of sender.waiting()) {
        if (w.waiting > 0)
          args.say(`notify: ${w.waiting} event${w.waiting === 1 ? '' : 's'} not sent to ${w.sink} yet: drbook notify ${args.sessionId} --flush`);
      }
    },
  };
}

/** The sinks of a session for `drbook notify`: those its walk recorded, else the runbook's, then config.yml's. */
export function sessionSinks(
  home: string,
  journalPath: string,
  runbookPath: string | undefined,
  say: (line: string) => void,
): { sinks: SinkConfig[]; sources: SinkSource[] } {
  const sources: SinkSource[] = [];
  const { cursor } = readCursor(journalPath);
  if (cursor.config !== undefined) sources.push(...cursor.config);
  else if (runbookPath !== undefined) {
    const fromRunbook = runbookNotify(runbookPath);
    if (fromRunbook) sources.push(fromRunbook);
  }
  const config = readHomeConfig(home);
  for (const line of config.problems) say(line);
  if (config.source && !sources.some((s) => s.origin === config.source!.origin)) sources.push(config.source);
  return { sinks: resolveSinks(sources), sources };
}

/** The `notify:` of a runbook file, read without the rest of its checks (it may have moved, or changed). */
function runbookNotify(path: string): SinkSource | undefined {
  try {
    const data = parseYaml(readFileSync(path, 'utf8')) as { notify?: unknown } | null;
    if (!data || data.notify === undefined) return undefined;
    const checked = checkNotifyList(data.notify);
    return checked.sinks ? { defs: checked.sinks, origin: path } : undefined;
  } catch {
    return undefined;
  }
}

export interface SinkStatus {
  sink: string;
  type: string;
  waiting: number;
  sent: number;
  /** Events it is configured for in this session. */
  selected: number;
  stopped?: string;
  lastError?: string;
  lastDeliveredAt?: string;
}

/**
 * Per sink of the session: events sent and waiting. Only a session whose walk had sinks has a
 * cursor file; others give an empty list (and `sessions` shows nothing for them).
 */
export function notifyStatus(journalPath: string, sinks?: SinkConfig[]): SinkStatus[] {
  const { cursor, exists } = readCursor(journalPath);
  if (!exists && sinks === undefined) return [];
  const configured = sinks ?? resolveSinks(cursor.config ?? []);
  if (configured.length === 0) return [];
  const parsed = parseJournal(readJournalText(journalPath));
  const outbox = buildOutbox(parsed.events, parsed.lines);
  return configured.map((sink) => {
    const c = cursor.sinks[sink.name] ?? EMPTY_CURSOR;
    const selected = sinkWantsSession(sink, outbox.session) ? outbox.events.filter((e) => sink.events.has(e.kind)).length : 0;
    return {
      sink: sink.name,
      type: sink.type,
      waiting: pendingFor(sink, outbox, c).length,
      sent: c.sent,
      selected,
      ...(c.stopped ? { stopped: c.stopped } : {}),
      ...(c.lastError ? { lastError: c.lastError } : {}),
      ...(c.lastDeliveredAt ? { lastDeliveredAt: c.lastDeliveredAt } : {}),
    };
  });
}
