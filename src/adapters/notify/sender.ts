/**
 * The sender: reads the journal (the outbox) from where it last read, and posts each sink's
 * waiting events in order, one request at a time a sink, with the sink's least interval
 * between requests, exponential backoff after a failure and Retry-After obeyed. Before a
 * request the batch is written to the cursor as in flight; after a 2xx the cursor moves past
 * it. A crash in between sends the same batch again with the same idempotency key.
 *
 * Each sink runs as its own async loop, so a sink that never answers holds up nothing but
 * itself, and nothing here ever waits on the walk or makes the walk wait.
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { DrbookError } from '../../core/errors.js';
import type { JournalEvent, NotifyFailed } from '../../core/journal-events.js';
import { isJournalEvent } from '../../core/journal-parse.js';
import type { SinkConfig } from '../../core/notify/config.js';
import {
  backoffMs,
  buildOutbox,
  classify,
  EMPTY_CURSOR,
  MAX_BACKOFF_MS,
  nextBatch,
  pendingFor,
  type Failure,
  type Outbox,
  type SinkCursor,
} from '../../core/notify/outbox.js';
import { buildRequest, gitlabRefusal, incidentLookupRequest, parseIncidentRef, type SinkSecrets } from '../../core/notify/requests.js';
import { logDelivery, readCursor, writeCursor, type CursorFile } from './cursor-file.js';
import { sendHttp } from './http.js';

export interface SenderOptions {
  journalPath: string;
  sessionId: string;
  sinks: SinkConfig[];
  env: NodeJS.ProcessEnv;
  /** Journals a sink's failure, once per kind. */
  journal: (body: NotifyFailed) => void;
  /** One line for the operator's screen. */
  say: (line: string) => void;
  userAgent: string;
  requestTimeoutMs?: number;
  /** How often the journal is looked at for new events. */
  pollMs?: number;
}

interface SinkState {
  config: SinkConfig;
  failures: number;
  nextTryAt: number;
  lastRequestAt: number;
  stopped?: string;
  incidentId?: string;
}

type Mode = { kind: 'background' } | { kind: 'drain'; deadline: number } | { kind: 'flush'; maxFailures: number };

export class NotifySender {
  private readonly options: SenderOptions;
  private readonly events: JournalEvent[] = [];
  private readonly lines: string[] = [];
  private offset = 0;
  private outbox: Outbox = { session: undefined, events: [] };
  private cursor: CursorFile;
  private readonly states: SinkState[];
  private readonly cancel = new AbortController();
  private readonly journaled = new Set<string>();
  private readonly wakers = new Set<() => void>();
  private mode: Mode = { kind: 'background' };
  private loops: Promise<void> | undefined;

  constructor(options: SenderOptions) {
    this.options = options;
    this.cursor = readCursor(options.journalPath).cursor;
    this.states = options.sinks.map((config) => ({ config, failures: 0, nextTryAt: 0, lastRequestAt: 0 }));
    this.refresh();
  }

  /** Records the sinks' configuration in the cursor file, for `drbook notify` and `drbook sessions`. */
  recordConfig(config: NonNullable<CursorFile['config']>): void {
    this.cursor.config = config;
    for (const s of this.states) this.cursor.sinks[s.config.name] ??= { ...EMPTY_CURSOR };
    this.save();
  }

  /** Events each sink still waits for. */
  waiting(): { sink: string; waiting: number; stopped?: string }[] {
    this.refresh();
    return this.states.map((s) => ({
      sink: s.config.name,
      waiting: pendingFor(s.config, this.outbox, this.cursorOf(s)).length,
      ...(s.stopped ? { stopped: s.stopped } : {}),
    }));
  }

  /** Starts the background loops (the walk's sender). */
  start(): void {
    this.mode = { kind: 'background' };
    this.loops ??= Promise.all(this.states.map((s) => this.loop(s))).then(() => undefined);
  }

  /**
   * Stops the background sender: what can be sent within `graceMs` is sent, then the request
   * in flight is cancelled (it stays in flight in the cursor, for the next sender).
   */
  async stop(graceMs: number): Promise<void> {
    this.mode = { kind: 'drain', deadline: Date.now() + graceMs };
    this.wakeAll();
    const loops = this.loops ?? Promise.resolve();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([loops, new Promise<void>((r) => (timer = setTimeout(r, graceMs)))]);
    clearTimeout(timer);
    this.cancel.abort();
    this.wakeAll();
    await loops;
  }

  /** Sends everything waiting; a sink gives up after `maxFailures` failed tries in a row. */
  async flush(maxFailures: number): Promise<void> {
    this.mode = { kind: 'flush', maxFailures };
    this.loops = Promise.all(this.states.map((s) => this.loop(s))).then(() => undefined);
    await this.loops;
  }

  private cursorOf(s: SinkState): SinkCursor {
    return this.cursor.sinks[s.config.name] ?? EMPTY_CURSOR;
  }

  private async loop(s: SinkState): Promise<void> {
    while (!this.cancel.signal.aborted && s.stopped === undefined) {
      this.refresh();
      const cursor = this.cursorOf(s);
      const pending = pendingFor(s.config, this.outbox, cursor);
      const mode = this.mode;
      if (pending.length === 0) {
        if (mode.kind !== 'background') return;
        await this.sleep(this.options.pollMs ?? 250);
        continue;
      }
      if (mode.kind === 'flush' && s.failures >= mode.maxFailures) return;
      const now = Date.now();
      const due = Math.max(s.nextTryAt, s.lastRequestAt + s.config.intervalMs);
      if (mode.kind === 'drain' && due > mode.deadline) return;
      // A flush is someone at a terminal: a sink asking for an hour's pause (Retry-After) is left
      // waiting, and said so, rather than holding the command for it.
      if (mode.kind === 'flush' && due - now > MAX_BACKOFF_MS) return;
      if (due > now) {
        await this.sleep(due - now);
        continue;
      }
      try {
        await this.deliver(s, pending, cursor);
      } catch (error) {
        // Nothing the sender meets may take the walk down: the sink stops, the events wait.
        const message = error instanceof Error ? error.message.split('\n')[0]! : String(error);
        s.stopped = message;
        this.options.say(`notify: ${s.config.name} stopped: ${message}`);
        return;
      }
    }
  }

  private async deliver(s: SinkState, pending: Parameters<typeof nextBatch>[1], cursor: SinkCursor): Promise<void> {
    const session = this.outbox.session;
    const batch = nextBatch(s.config, pending, cursor);
    if (session === undefined || batch === undefined) return;
    const secrets = await this.secrets(s);
    if (secrets === undefined) return;
    this.cursor.sinks[s.config.name] = { ...cursor, inflight: { from: batch.from, to: batch.to, key: batch.key } };
    this.save();
    const request = buildRequest(s.config, secrets, session, batch, this.options.userAgent);
    s.lastRequestAt = Date.now();
    const answer = await sendHttp(request, this.options.requestTimeoutMs ?? 10_000, this.cancel.signal);
    if (answer.cancelled) return;
    const ok = answer.status !== undefined && answer.status >= 200 && answer.status < 300;
    const refused = ok && s.config.type === 'gitlab' ? gitlabRefusal(answer.body ?? '') : undefined;
    if (ok && refused === undefined) {
      const after = this.cursorOf(s);
      const { inflight: _done, stopped: _s, lastError: _e, ...rest } = after;
      this.cursor.sinks[s.config.name] = {
        ...rest,
        delivered: Math.max(after.delivered, batch.to),
        sent: after.sent + batch.events.length,
        lastDeliveredAt: new Date().toISOString(),
      };
      this.save();
      logDelivery(this.options.journalPath, {
        ts: new Date().toISOString(),
        sink: s.config.name,
        from: batch.from,
        to: batch.to,
        events: batch.events.length,
        key: batch.key,
        status: answer.status,
        tries: s.failures + 1,
      });
      s.failures = 0;
      s.nextTryAt = 0;
      return;
    }
    const failure: Failure =
      refused !== undefined ? { kind: 'rejected', permanent: true, message: `GitLab refused the event: ${refused.slice(0, 200)}` } : classify(answer);
    this.fail(s, failure);
  }

  /** The sink's URL and token from the environment, checked; undefined (and the sink stopped) when missing. */
  private async secrets(s: SinkState): Promise<SinkSecrets | undefined> {
    const env = this.options.env;
    const c = s.config;
    const url = env[c.urlEnv];
    const missing = (name: string, what: string) => this.fail(s, { kind: 'config', permanent: true, message: `$${name} is not set (it holds the ${what})` });
    if (url === undefined || url === '') return (missing(c.urlEnv, 'URL'), undefined);
    let parsed: URL | undefined;
    try {
      parsed = new URL(url);
    } catch {
      parsed = undefined;
    }
    if (parsed === undefined || (parsed.protocol !== 'https:' && parsed.protocol !== 'http:')) {
      this.fail(s, { kind: 'config', permanent: true, message: `$${c.urlEnv} is not an http(s) URL` });
      return undefined;
    }
    if (parsed.username !== '' || parsed.password !== '') {
      // fetch refuses such a URL; the words say why without repeating the password.
      this.fail(s, { kind: 'config', permanent: true, message: `$${c.urlEnv} holds user:password, which is never sent: give the URL without them` });
      return undefined;
    }
    const token = c.tokenEnv === undefined ? undefined : env[c.tokenEnv];
    if (c.tokenEnv !== undefined && (token === undefined || token === ''))
      return (missing(c.tokenEnv, c.type === 'webhook' ? 'signing key' : 'token'), undefined);
    const secrets: SinkSecrets = { url, ...(token === undefined ? {} : { token }) };
    if (c.type !== 'gitlab') return secrets;
    if (s.incidentId !== undefined) return { ...secrets, incidentId: s.incidentId };
    const ref = c.incidentEnv === undefined ? undefined : env[c.incidentEnv];
    if (ref === undefined || ref === '') return (missing(c.incidentEnv ?? 'incident_env', 'incident: group/project#42'), undefined);
    const incident = parseIncidentRef(ref);
    if (incident === undefined) {
      this.fail(s, { kind: 'config', permanent: true, message: `$${c.incidentEnv} is not an incident: give group/project#42 or gid://gitlab/Issue/123` });
      return undefined;
    }
    if ('id' in incident) s.incidentId = incident.id;
    else {
      s.lastRequestAt = Date.now();
      const answer = await sendHttp(
        incidentLookupRequest(secrets, incident.project, incident.iid, this.options.userAgent),
        this.options.requestTimeoutMs ?? 10_000,
        this.cancel.signal,
      );
      if (answer.cancelled) return undefined;
      if (answer.status !== 200) {
        this.fail(s, classify(answer));
        return undefined;
      }
      const id = lookupId(answer.body ?? '');
      if (id === undefined) {
        this.fail(s, { kind: 'config', permanent: true, message: `incident ${incident.project}#${incident.iid} not found (or the token cannot read it)` });
        return undefined;
      }
      s.incidentId = id;
    }
    return { ...secrets, incidentId: s.incidentId };
  }

  private fail(s: SinkState, failure: Failure): void {
    const name = s.config.name;
    const cursor = this.cursorOf(s);
    s.failures++;
    const waiting = pendingFor(s.config, this.outbox, cursor).length;
    const key = `${name}\u0000${failure.kind}`;
    if (failure.permanent) {
      s.stopped = failure.message;
      // A refused request was not taken: nothing of it is in flight any more.
      const { inflight: _gone, ...rest } = cursor;
      this.cursor.sinks[name] = { ...rest, stopped: failure.message, lastError: failure.message };
    } else {
      this.cursor.sinks[name] = { ...cursor, lastError: failure.message };
      s.nextTryAt = Date.now() + backoffMs(s.config, s.failures, failure.retryAfterMs);
    }
    this.save();
    if (this.journaled.has(key)) return;
    this.journaled.add(key);
    try {
      this.options.journal({
        type: 'notify.failed',
        sink: name,
        kind: failure.kind,
        message: failure.message,
        ...(failure.permanent ? { permanent: true as const } : {}),
      });
    } catch {
      // The journal refuses (gone, full): the walk says so itself; the sender has nothing to add.
    }
    const pendingText = `${waiting} event${waiting === 1 ? '' : 's'} waiting`;
    this.options.say(
      failure.permanent
        ? `notify: ${name} stopped: ${failure.message}; ${pendingText}: fix it, then drbook notify ${this.options.sessionId} --flush`
        : `notify: ${name}: ${failure.message}; retrying in the background (${pendingText})`,
    );
  }

  /** Reads what was appended to the journal since the last read: whole lines only. */
  private refresh(): void {
    let size: number;
    try {
      size = statSync(this.options.journalPath).size;
    } catch {
      return;
    }
    if (size <= this.offset) return;
    const fd = openSync(this.options.journalPath, 'r');
    let buf: Buffer;
    try {
      buf = Buffer.alloc(size - this.offset);
      let off = 0;
      while (off < buf.length) {
        const n = readSync(fd, buf, off, buf.length - off, this.offset + off);
        if (n === 0) break;
        off += n;
      }
      buf = buf.subarray(0, off);
    } finally {
      closeSync(fd);
    }
    const end = buf.lastIndexOf(0x0a);
    if (end === -1) return;
    this.offset += end + 1;
    let added = false;
    for (const line of buf.subarray(0, end).toString('utf8').split('\n')) {
      if (line.trim() === '') continue;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch {
        continue;
      }
      if (!isJournalEvent(value)) continue;
      this.events.push(value);
      this.lines.push(line);
      if (value.type === 'notify.failed') this.journaled.add(`${value.sink}\u0000${value.kind}`);
      added = true;
    }
    if (added) this.outbox = buildOutbox(this.events, this.lines);
  }

  private save(): void {
    try {
      writeCursor(this.options.journalPath, this.cursor);
    } catch (error) {
      throw new DrbookError(`cannot write the notification cursor beside ${this.options.journalPath}: ${(error as Error).message}`);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wakers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      // The walk's background loops never keep drbook alive; a flush or the drain at the end must.
      if (this.mode.kind === 'background') timer.unref();
      this.wakers.add(done);
    });
  }

  private wakeAll(): void {
    for (const wake of [...this.wakers]) wake();
  }
}

function lookupId(body: string): string | undefined {
  try {
    const data = JSON.parse(body) as { data?: { project?: { issue?: { id?: string } | null } | null } };
    const id = data.data?.project?.issue?.id;
    return typeof id === 'string' ? id : undefined;
  } catch {
    return undefined;
  }
}
