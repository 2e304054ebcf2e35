/**
 * The `notify:` sinks of a runbook (or of DRBOOK_HOME/config.yml): the schema both files are
 * checked with, the meaning checks a schema cannot express, and the resolved sink a sender
 * uses. URLs and tokens never appear here: only the names of the environment variables that
 * hold them, read at send time.
 */
import * as z from 'zod/mini';
import { parseDuration } from '../duration.js';
import { described, describedObject, envName, text } from '../schema-parts.js';

export const SINK_TYPES = ['slack', 'matrix', 'gitlab', 'webhook'] as const;
export type SinkType = (typeof SINK_TYPES)[number];

/** What a sink may be sent, one name an event kind; `session`, `step` and `all` stand for groups. */
export const EVENT_KINDS = [
  'session.started',
  'session.paused',
  'session.resumed',
  'session.ended',
  'step.done',
  'step.failed',
  'step.skipped',
  'step.marked-done',
  'decision',
  'note',
  'milestone',
  'evidence',
] as const;
export type EventKind = (typeof EVENT_KINDS)[number];
export const EVENT_GROUPS: Record<string, readonly EventKind[]> = {
  all: EVENT_KINDS,
  session: ['session.started', 'session.paused', 'session.resumed', 'session.ended'],
  step: ['step.done', 'step.failed', 'step.skipped', 'step.marked-done'],
};
const EVENT_NAMES = ['all', 'session', 'step', ...EVENT_KINDS] as const;

export const NotifySinkSchema = describedObject('A notification sink: where the timeline is sent as it happens (format 1.1).', {
  type: described(
    z.enum(SINK_TYPES),
    'slack (incoming webhook; Mattermost and Rocket.Chat accept it too), matrix, gitlab (incident timeline) or webhook (signed JSON).',
  ),
  name: described(
    z.optional(z.string().check(z.regex(/^[a-z0-9][a-z0-9-]*$/, 'must be a slug: lower-case letters, digits and dashes'))),
    'Names the sink in drbook notify and drbook sessions. Default: its type.',
  ),
  url_env: described(
    envName,
    'Environment variable holding the URL (Slack webhook, Matrix homeserver, GitLab instance, webhook endpoint). Never the URL itself.',
  ),
  token_env: described(z.optional(envName), 'Environment variable holding the token (Matrix access token, GitLab token) or the webhook signing key.'),
  room: described(z.optional(text), 'Matrix: the room id, e.g. !abc123:example.org.'),
  incident_env: described(z.optional(envName), 'GitLab: environment variable holding the incident: group/project#42, or its global id gid://gitlab/Issue/123.'),
  events: described(
    z.optional(z.array(z.enum(EVENT_NAMES)).check(z.minLength(1, 'must list at least one event'))),
    'What is sent: all (default), session, step, or single kinds (step.failed, milestone, note, ...).',
  ),
  rehearsals: described(z.optional(z.boolean()), 'Also send rehearsals (default false: a drill does not post to the incident channel).'),
  interval: described(z.optional(text), 'Least time between two requests (rate limit): default 1s for slack and matrix, 200ms for gitlab, 0s for webhook.'),
  backoff: described(z.optional(text), 'First wait after a failed try, doubled each time up to 5m. Default 2s.'),
});

export const NotifyListSchema = z.array(NotifySinkSchema);
export type NotifySinkDef = z.infer<typeof NotifySinkSchema>;

/** A sink ready to send to: names, defaults and durations resolved. */
export interface SinkConfig {
  name: string;
  type: SinkType;
  urlEnv: string;
  tokenEnv?: string;
  room?: string;
  incidentEnv?: string;
  events: ReadonlySet<EventKind>;
  rehearsals: boolean;
  intervalMs: number;
  backoffMs: number;
  /** Events one request may carry: chat sinks group lines, timeline sinks send one each. */
  batch: number;
  /** Where it was configured, for messages. */
  origin: string;
}

const DEFAULT_INTERVAL_MS: Record<SinkType, number> = { slack: 1000, matrix: 1000, gitlab: 200, webhook: 0 };
const BATCH: Record<SinkType, number> = { slack: 20, matrix: 20, gitlab: 1, webhook: 1 };

/** A meaning problem in a sink list: the path within the list and the message. */
export interface SinkProblem {
  path: (string | number)[];
  severity: 'error' | 'warning';
  message: string;
  target?: 'key' | 'value';
}

/** Keys someone will try to write and must not: the secret itself. */
const SECRET_KEYS: Record<string, string> = {
  url: 'url_env',
  webhook: 'url_env',
  webhook_url: 'url_env',
  token: 'token_env',
  secret: 'token_env',
  password: 'token_env',
  incident: 'incident_env',
};

export function isSecretKey(key: string): boolean {
  return key in SECRET_KEYS;
}

/**
 * Checks what the schema cannot: the fields each type needs, durations, unique names, and
 * a URL or token written into the file (refused: it would be in git and in every bundle).
 * `label` prefixes messages (`notify`).
 */
export function checkSinks(raw: unknown, label = 'notify'): SinkProblem[] {
  const problems: SinkProblem[] = [];
  if (!Array.isArray(raw)) return problems;
  const names = new Map<string, number>();
  raw.forEach((value, i) => {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return;
    const sink = value as Record<string, unknown>;
    const where = `${label}[${i}]`;
    for (const key of Object.keys(sink)) {
      const instead = SECRET_KEYS[key];
      if (instead !== undefined)
        problems.push({
          path: [i, key],
          severity: 'error',
          target: 'key',
          message: `${where}.${key}: a URL or token never goes in a file: put it in an environment variable and name that variable with ${instead}`,
        });
    }
    const type = sink.type;
    const need = (field: string, why: string) => {
      if (sink[field] === undefined) problems.push({ path: [i], severity: 'error', message: `${where}: a ${String(type)} sink needs \`${field}\` (${why})` });
    };
    if (type === 'matrix') {
      need('room', 'the room id, e.g. !abc123:example.org');
      need('token_env', 'the environment variable holding the access token');
    } else if (type === 'gitlab') {
      need('token_env', 'the environment variable holding a token with the api scope');
      need('incident_env', 'the environment variable naming the incident: group/project#42');
    } else if (type === 'webhook') {
      need('token_env', 'the environment variable holding the HMAC-SHA256 signing key');
    }
    if (type !== 'matrix' && sink.room !== undefined)
      problems.push({ path: [i, 'room'], severity: 'warning', target: 'key', message: `${where}.room is used by matrix sinks only` });
    if (type !== 'gitlab' && sink.incident_env !== undefined)
      problems.push({ path: [i, 'incident_env'], severity: 'warning', target: 'key', message: `${where}.incident_env is used by gitlab sinks only` });
    if (type === 'slack' && sink.token_env !== undefined)
      problems.push({
        path: [i, 'token_env'],
        severity: 'warning',
        target: 'key',
        message: `${where}.token_env is not used by slack sinks: the webhook URL is the secret`,
      });
    for (const field of ['interval', 'backoff'] as const) {
      const v = sink[field];
      if (typeof v === 'string' && parseDuration(v) === undefined)
        problems.push({ path: [i, field], severity: 'error', message: `${where}.${field}: cannot read duration "${v}": use forms like 500ms, 1s, 2m` });
    }
    const name = typeof sink.name === 'string' ? sink.name : typeof type === 'string' ? type : undefined;
    if (name !== undefined) {
      const first = names.get(name);
      if (first !== undefined)
        problems.push({
          path: [i],
          severity: 'error',
          message: `${where}: two sinks named "${name}" (the first is ${label}[${first}]): give each its own name:`,
        });
      else names.set(name, i);
    }
  });
  return problems;
}

/** Milliseconds of `500ms`, `2s`, `1m`; undefined when unreadable. */
export function parseInterval(text: string): number | undefined {
  return parseDuration(text);
}

/** The sinks of a checked list, defaults applied. Sinks of config.yml come after the runbook's, and a name already taken is the runbook's. */
export function resolveSinks(lists: { defs: readonly NotifySinkDef[]; origin: string }[]): SinkConfig[] {
  const out: SinkConfig[] = [];
  for (const { defs, origin } of lists) {
    for (const def of defs) {
      const name = def.name ?? def.type;
      if (out.some((s) => s.name === name)) continue;
      const events = new Set<EventKind>();
      for (const e of def.events ?? ['all']) for (const kind of EVENT_GROUPS[e] ?? [e as EventKind]) events.add(kind);
      out.push({
        name,
        type: def.type,
        urlEnv: def.url_env,
        ...(def.token_env ? { tokenEnv: def.token_env } : {}),
        ...(def.room ? { room: def.room } : {}),
        ...(def.incident_env ? { incidentEnv: def.incident_env } : {}),
        events,
        rehearsals: def.rehearsals === true,
        intervalMs: def.interval === undefined ? DEFAULT_INTERVAL_MS[def.type] : (parseInterval(def.interval) ?? DEFAULT_INTERVAL_MS[def.type]),
        backoffMs: def.backoff === undefined ? 2000 : (parseInterval(def.backoff) ?? 2000),
        batch: BATCH[def.type],
        origin,
      });
    }
  }
  return out;
}
