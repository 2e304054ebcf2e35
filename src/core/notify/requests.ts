/**
 * The HTTP request each sink type gets for a batch: method, URL, headers and body, exact
 * and deterministic (a resend is the same bytes with the same key). Pure: the secrets are
 * passed in by the sender, which read them from the environment.
 */
import { createHmac } from 'node:crypto';
import type { MilestoneName } from '../journal-events.js';
import type { SinkConfig } from './config.js';
import type { Batch, OutboxSession } from './outbox.js';

export interface HttpRequest {
  method: 'POST' | 'PUT';
  url: string;
  headers: Record<string, string>;
  body: string;
}

/** What the environment gave for a sink: never written anywhere. */
export interface SinkSecrets {
  url: string;
  token?: string;
  /** GitLab: the incident's global id (gid://gitlab/Issue/N), looked up beforehand if needed. */
  incidentId?: string;
}

/** GitLab's incident timeline tags for drbook's milestones. */
export const GITLAB_TAGS: Record<MilestoneName, string> = {
  'impact-started': 'Start time',
  detected: 'Impact detected',
  mitigated: 'Impact mitigated',
  resolved: 'End time',
};

/** GitLab refuses a timeline note longer than this. */
export const GITLAB_NOTE_MAX = 280;

export const WEBHOOK_SIGNATURE_HEADER = 'X-Drbook-Signature-256';
export const IDEMPOTENCY_HEADER = 'Idempotency-Key';

export const TIMELINE_MUTATION =
  'mutation drbookTimelineEvent($input: TimelineEventCreateInput!) { timelineEventCreate(input: $input) { timelineEvent { id } errors } }';
export const INCIDENT_QUERY = 'query drbookIncident($project: ID!, $iid: String!) { project(fullPath: $project) { issue(iid: $iid) { id } } }';

/** The text of a chat message: a header naming the session, then a line an event. */
export function chatText(session: OutboxSession, batch: Batch): string {
  const head = `drbook · ${session.runbook.id}${session.mode === 'rehearsal' ? ' (rehearsal)' : ''} · ${session.session}`;
  return [head, ...batch.events.map((e) => e.text)].join('\n');
}

/** Slack reads &, < and > as markup (<!channel>, links): they are escaped as its docs say. */
export function slackEscape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function buildRequest(sink: SinkConfig, secrets: SinkSecrets, session: OutboxSession, batch: Batch, userAgent: string): HttpRequest {
  const json = { 'Content-Type': 'application/json', 'User-Agent': userAgent };
  switch (sink.type) {
    case 'slack':
      return { method: 'POST', url: secrets.url, headers: json, body: JSON.stringify({ text: slackEscape(chatText(session, batch)) }) };
    case 'matrix': {
      const base = secrets.url.replace(/\/+$/, '');
      const url = `${base}/_matrix/client/v3/rooms/${encodeURIComponent(sink.room ?? '')}/send/m.room.message/${encodeURIComponent(`drbook-${batch.key}`)}`;
      return {
        method: 'PUT',
        url,
        headers: { ...json, Authorization: `Bearer ${secrets.token ?? ''}` },
        body: JSON.stringify({ msgtype: 'm.text', body: chatText(session, batch) }),
      };
    }
    case 'gitlab': {
      const event = batch.events[0]!;
      const prefix = `drbook ${session.runbook.id}${session.mode === 'rehearsal' ? ' (rehearsal)' : ''}: `;
      const note = shorten(prefix + event.text, GITLAB_NOTE_MAX);
      const input = {
        incidentId: secrets.incidentId ?? '',
        note,
        occurredAt: event.occurredAt,
        ...(event.milestone ? { timelineEventTagNames: [GITLAB_TAGS[event.milestone]] } : {}),
      };
      return {
        method: 'POST',
        url: gitlabGraphqlUrl(secrets.url),
        headers: { ...json, Authorization: `Bearer ${secrets.token ?? ''}` },
        body: JSON.stringify({ query: TIMELINE_MUTATION, variables: { input } }),
      };
    }
    case 'webhook': {
      const body = JSON.stringify(webhookPayload(session, batch));
      return {
        method: 'POST',
        url: secrets.url,
        headers: {
          ...json,
          [IDEMPOTENCY_HEADER]: batch.key,
          'X-Drbook-Event': batch.events[0]!.kind,
          [WEBHOOK_SIGNATURE_HEADER]: webhookSignature(secrets.token ?? '', body),
        },
        body,
      };
    }
  }
}

/** The documented webhook body (docs/notify.md): one drbook event. */
export function webhookPayload(session: OutboxSession, batch: Batch): Record<string, unknown> {
  const event = batch.events[0]!;
  return {
    drbook: 1,
    id: event.hash,
    session: session.session,
    runbook: session.runbook,
    mode: session.mode,
    seq: event.seq,
    kind: event.kind,
    text: event.text,
    occurredAt: event.occurredAt,
    recordedAt: event.recordedAt,
    event: event.fields,
  };
}

/** `sha256=` and the hex HMAC-SHA256 of the body's bytes under the shared key, as GitHub signs its webhooks. */
export function webhookSignature(key: string, body: string): string {
  return `sha256=${createHmac('sha256', key).update(body, 'utf8').digest('hex')}`;
}

export function gitlabGraphqlUrl(base: string): string {
  const trimmed = base.replace(/\/+$/, '');
  return trimmed.endsWith('/api/graphql') ? trimmed : `${trimmed}/api/graphql`;
}

/** `gid://gitlab/Issue/123`, `123` (the global id's number) or `group/project#42` (a project's incident 42). */
export function parseIncidentRef(value: string): { id: string } | { project: string; iid: string } | undefined {
  const v = value.trim();
  if (/^gid:\/\/gitlab\/(Issue|WorkItem)\/\d+$/.test(v)) return { id: v };
  if (/^\d+$/.test(v)) return { id: `gid://gitlab/Issue/${v}` };
  const m = /^([\w.-]+(?:\/[\w.-]+)+)#(\d+)$/.exec(v);
  return m ? { project: m[1]!, iid: m[2]! } : undefined;
}

export function incidentLookupRequest(secrets: SinkSecrets, project: string, iid: string, userAgent: string): HttpRequest {
  return {
    method: 'POST',
    url: gitlabGraphqlUrl(secrets.url),
    headers: { 'Content-Type': 'application/json', 'User-Agent': userAgent, Authorization: `Bearer ${secrets.token ?? ''}` },
    body: JSON.stringify({ query: INCIDENT_QUERY, variables: { project, iid } }),
  };
}

/**
 * A 200 from GitLab's GraphQL may still say no: top-level `errors`, or the mutation's own
 * `errors` list (an unknown incident, a note too long). Returns the reason, or undefined.
 */
export function gitlabRefusal(body: string): string | undefined {
  let data: unknown;
  try {
    data = JSON.parse(body);
  } catch {
    return 'the answer is not JSON';
  }
  const d = data as { errors?: { message?: string }[]; data?: { timelineEventCreate?: { errors?: string[]; timelineEvent?: unknown } | null } };
  if (Array.isArray(d.errors) && d.errors.length > 0) return d.errors.map((e) => e.message ?? 'error').join('; ');
  const result = d.data?.timelineEventCreate;
  if (result === undefined || result === null) return 'no timelineEventCreate in the answer';
  if (Array.isArray(result.errors) && result.errors.length > 0) return result.errors.join('; ');
  return undefined;
}

function shorten(text: string, max: number): string {
  const chars = [...text];
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join('')}…`;
}
