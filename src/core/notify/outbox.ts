/**
 * The journal is the outbox: which of its events a sink is sent, as what line of text, in
 * which batches, and what is still waiting after the sink's cursor. Pure: the sender
 * (adapters/notify) reads the journal and the cursor file and posts what this returns.
 */
import { formatDuration } from '../duration.js';
import type { JournalEvent, MilestoneName } from '../journal-events.js';
import { hashLine } from '../journal-parse.js';
import { MILESTONE_LABELS } from '../milestones.js';
import { maskEvents, sessionFingerprints } from '../secret-fingerprint.js';
import type { EventKind, SinkConfig } from './config.js';

/** One journal event as the sinks see it. */
export interface OutboxEvent {
  seq: number;
  /** sha256 of the journal line: the event's identity, and the idempotency key. */
  hash: string;
  kind: EventKind;
  /** One short readable line, masked as in the journal. */
  text: string;
  /** When it happened (a backdated note or mark: its --at), UTC ISO. */
  occurredAt: string;
  /** When it was journaled. */
  recordedAt: string;
  milestone?: MilestoneName;
  /** The documented webhook payload's `event`: the journal event's own fields, without `v` and `prev`. */
  fields: Record<string, unknown>;
}

/** The session as the sinks name it. */
export interface OutboxSession {
  session: string;
  runbook: { id: string; title: string };
  mode: 'live' | 'rehearsal';
}

export interface Outbox {
  session: OutboxSession | undefined;
  events: OutboxEvent[];
}

/** Reads the sendable events out of a journal's events and their lines (same order). */
export function buildOutbox(journaled: readonly JournalEvent[], lines: readonly string[]): Outbox {
  // Masked as the export masks: a value given before the session knew it was a secret is
  // in clear in the journal (never rewritten), and never leaves the host.
  const events = maskEvents(journaled, sessionFingerprints(journaled));
  const out: OutboxEvent[] = [];
  let session: OutboxSession | undefined;
  let steps = 0;
  const titles = new Map<string, string>();
  events.forEach((event, i) => {
    const line = lines[i];
    if (line === undefined) return;
    const base = { seq: event.seq, recordedAt: event.ts, occurredAt: event.ts };
    const push = (kind: EventKind, text: string, fields: Record<string, unknown>, extra: Partial<OutboxEvent> = {}) => {
      out.push({ ...base, hash: hashLine(line), kind, text, fields: { type: event.type, ...fields }, ...extra });
    };
    switch (event.type) {
      case 'session.started':
        session = { session: event.session, runbook: { id: event.runbook.id, title: event.runbook.title }, mode: event.mode };
        steps = event.runbook.steps;
        push(
          'session.started',
          `${event.mode === 'rehearsal' ? 'Rehearsal' : 'Live run'} of ${event.runbook.id} "${event.runbook.title}" started by ${event.operator.user}@${event.operator.host} (${steps} steps${event.runbook.rto ? `, RTO ${event.runbook.rto}` : ''})`,
          {
            session: event.session,
            runbook: { id: event.runbook.id, title: event.runbook.title, steps, ...given('rto', event.runbook.rto) },
            mode: event.mode,
            operator: event.operator,
            tz: event.tz,
          },
        );
        return;
      case 'step.started':
        titles.set(event.step, event.title);
        return;
      case 'step.finished': {
        const title = event.title ?? titles.get(event.step) ?? event.step;
        const where = `[${event.index + 1}/${steps}] ${title}`;
        const why = event.reason ? `: ${event.reason}` : '';
        const text =
          event.outcome === 'done'
            ? `✓ ${where} (${formatDuration(event.durationMs)})`
            : event.outcome === 'marked-done'
              ? `✓ ${where}: done by hand`
              : event.outcome === 'failed'
                ? `✗ ${where} failed${why}`
                : `↷ ${where} skipped${why}`;
        push(`step.${event.outcome}`, text, {
          step: event.step,
          index: event.index,
          title,
          outcome: event.outcome,
          durationMs: event.durationMs,
          ...given('reason', event.reason),
        });
        return;
      }
      case 'decision':
        push('decision', `? ${event.question} → ${event.answer}${event.step ? ` (${event.step})` : ''}`, {
          ...given('step', event.step),
          question: event.question,
          answer: event.answer,
        });
        return;
      case 'note': {
        const at = event.at ? ` (at ${event.at.slice(11, 16)} UTC, added later)` : '';
        push(
          'note',
          `Note by ${event.by}${at}: ${event.text}`,
          { text: event.text, by: event.by, ...given('step', event.step), ...given('at', event.at) },
          given('occurredAt', event.at),
        );
        return;
      }
      case 'milestone': {
        const at = event.at ? ` (at ${event.at.slice(11, 16)} UTC)` : '';
        push(
          'milestone',
          `Milestone: ${MILESTONE_LABELS[event.milestone]}${at}${event.text ? `: ${event.text}` : ''}`,
          {
            milestone: event.milestone,
            by: event.by,
            ...given('text', event.text),
            ...given('step', event.step),
            ...given('at', event.at),
          },
          { milestone: event.milestone, ...given('occurredAt', event.at) },
        );
        return;
      }
      case 'evidence':
        // Name and sha256 only: the file itself stays on the host.
        push(
          'evidence',
          `Evidence attached: ${event.name} (${event.bytes} bytes, sha256 ${event.sha256.slice(0, 16)}…)${event.note ? `: ${event.note}` : ''}`,
          {
            name: event.name,
            sha256: event.sha256,
            bytes: event.bytes,
            by: event.by,
            ...given('step', event.step),
            ...given('note', event.note),
          },
        );
        return;
      case 'session.paused':
        push('session.paused', `Paused${event.step ? ` at ${event.step}` : ''}: ${event.reason}`, { reason: event.reason, ...given('step', event.step) });
        return;
      case 'session.resumed':
        push('session.resumed', `Resumed after ${formatDuration(event.gapMs)}${event.step ? ` at ${event.step}` : ''}`, {
          gapMs: event.gapMs,
          ...given('step', event.step),
        });
        return;
      case 'session.ended':
        push(
          'session.ended',
          `Session ${event.status}: ${event.done} done, ${event.markedDone} by hand, ${event.skipped} skipped, ${event.failed} failed; total ${formatDuration(event.durationMs)}${event.reason ? ` (${event.reason})` : ''}`,
          {
            status: event.status,
            done: event.done,
            markedDone: event.markedDone,
            skipped: event.skipped,
            failed: event.failed,
            durationMs: event.durationMs,
          },
        );
        return;
      default:
        return;
    }
  });
  return { session, events: out };
}

/** `{ key: value }` to spread into a payload when the event has the field, nothing when it is absent or empty. */
function given<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return value ? ({ [key]: value } as { [P in K]?: V }) : {};
}

/** Whether a sink is sent this session at all: rehearsals only to sinks that asked for them. */
export function sinkWantsSession(sink: SinkConfig, session: OutboxSession | undefined): boolean {
  return session !== undefined && (session.mode === 'live' || sink.rehearsals);
}

/** The sink's state, as stored in the cursor file beside the journal. */
export interface SinkCursor {
  /** Every selected event with a seq up to this one was delivered. */
  delivered: number;
  /**
   * A batch handed to the network and not yet known delivered: after a crash or a timeout it
   * is sent again as the same batch with the same idempotency key, never regrouped.
   */
  inflight?: { from: number; to: number; key: string };
  sent: number;
  /** Why this sink stopped (a 4xx that will not succeed); cleared by the next delivery. */
  stopped?: string;
  lastError?: string;
  lastDeliveredAt?: string;
}

export const EMPTY_CURSOR: SinkCursor = { delivered: 0, sent: 0 };

/** The events a sink still waits for. */
export function pendingFor(sink: SinkConfig, outbox: Outbox, cursor: SinkCursor): OutboxEvent[] {
  if (!sinkWantsSession(sink, outbox.session)) return [];
  return outbox.events.filter((e) => e.seq > cursor.delivered && sink.events.has(e.kind));
}

export interface Batch {
  events: OutboxEvent[];
  /** The idempotency key: the hash of the batch's last event (a batch of one: its own hash). */
  key: string;
  from: number;
  to: number;
}

/**
 * The next request's events: the in-flight batch again if there is one (same events, same
 * key, so the receiver can drop a copy), else up to `sink.batch` waiting events.
 */
export function nextBatch(sink: SinkConfig, pending: readonly OutboxEvent[], cursor: SinkCursor): Batch | undefined {
  const inflight = cursor.inflight;
  if (inflight !== undefined) {
    const events = pending.filter((e) => e.seq >= inflight.from && e.seq <= inflight.to);
    if (events.length > 0) return { events, key: inflight.key, from: inflight.from, to: inflight.to };
  }
  const events = pending.slice(0, sink.batch);
  if (events.length === 0) return undefined;
  const last = events[events.length - 1]!;
  return { events, key: last.hash, from: events[0]!.seq, to: last.seq };
}

/** A failed try, in the words the journal and the screen use. */
export interface Failure {
  /** `http-4xx`, `http-5xx`, `rate-limited`, `redirect`, `timeout`, `dns`, `network`, `config`, `rejected`: journaled once each. */
  kind: string;
  /** Will never succeed as configured: the sink stops. */
  permanent: boolean;
  message: string;
  /** From a Retry-After header. */
  retryAfterMs?: number;
}

/** What an HTTP answer or a network error means for the sink. */
export function classify(result: { status?: number; errorCode?: string; timedOut?: boolean; retryAfterMs?: number; detail?: string }): Failure {
  const detail = result.detail ? `: ${result.detail}` : '';
  if (result.timedOut) return { kind: 'timeout', permanent: false, message: `no answer in time${detail}` };
  const status = result.status;
  if (status === undefined) {
    const code = result.errorCode ?? 'unknown';
    if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return { kind: 'dns', permanent: false, message: `name not resolved (${code})` };
    return { kind: 'network', permanent: false, message: `cannot connect (${code})${detail}` };
  }
  if (status === 429)
    return {
      kind: 'rate-limited',
      permanent: false,
      message: `HTTP 429 too many requests${result.retryAfterMs === undefined ? '' : `, retry after ${formatDuration(result.retryAfterMs)}`}`,
      ...(result.retryAfterMs === undefined ? {} : { retryAfterMs: result.retryAfterMs }),
    };
  if (status >= 500)
    return {
      kind: 'http-5xx',
      permanent: false,
      message: `HTTP ${status}${detail}`,
      ...(result.retryAfterMs === undefined ? {} : { retryAfterMs: result.retryAfterMs }),
    };
  // The URL moved (or http became https): following it would send the body and token where the
  // configuration never said; it fails the same way each time until the URL is corrected.
  if (status >= 300 && status < 400)
    return {
      kind: 'redirect',
      permanent: true,
      message: `HTTP ${status}: the sink answers with a redirect, which is not followed: give the address it redirects to`,
    };
  // 408 and 425 say "try again"; every other 4xx (a bad token, a room not joined, a wrong URL)
  // will fail the same way each time.
  if (status === 408 || status === 425) return { kind: 'http-4xx', permanent: false, message: `HTTP ${status}${detail}` };
  return { kind: 'http-4xx', permanent: true, message: `HTTP ${status}${detail}` };
}

export const MAX_BACKOFF_MS = 5 * 60_000;

/** The wait before try `failures + 1`: Retry-After when the sink gave one, else doubling from the sink's backoff. */
export function backoffMs(sink: Pick<SinkConfig, 'backoffMs'>, failures: number, retryAfterMs?: number): number {
  if (retryAfterMs !== undefined) return Math.min(Math.max(retryAfterMs, 0), MAX_BACKOFF_MS * 2);
  return Math.min(sink.backoffMs * 2 ** Math.max(0, failures - 1), MAX_BACKOFF_MS);
}

/** Retry-After is seconds or an HTTP date. */
export function parseRetryAfter(value: string | null | undefined, nowMs: number): number | undefined {
  if (value === null || value === undefined || value.trim() === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(value.trim())) return Math.round(Number(value.trim()) * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs);
}
