import { createHash, randomBytes } from 'node:crypto';
import type { JournalEvent } from './journal-events.js';
import { MASK } from './redact.js';

/**
 * What the journal keeps of a secret so that a writer that never had the value (`drbook
 * note` from another terminal) can still mask it: a random salt, sha256(salt + value) and
 * the value's length. Never the value. docs/journal.md states the limits: a short or
 * guessable secret can be found again by hashing guesses, which is why secrets shorter
 * than 6 characters are refused unless the operator insists.
 */
export interface SecretFingerprint {
  salt: string;
  sha256: string;
  length: number;
  /** A short secret allowed with --allow-short-secret: masked only as a whole word. */
  wholeWord?: boolean;
}

export function fingerprintSecret(value: string, wholeWord = false): SecretFingerprint {
  const salt = randomBytes(16).toString('hex');
  return { salt, sha256: digest(salt, value), length: value.length, ...(wholeWord ? { wholeWord: true } : {}) };
}

function digest(salt: string, value: string): string {
  return createHash('sha256').update(salt).update(value).digest('hex');
}

const WORD = /[\p{L}\p{N}_]/u;

/** True when `text[start, end)` is not glued to a letter, digit or underscore on either side. */
function isWholeWord(text: string, start: number, end: number): boolean {
  return !(start > 0 && WORD.test(text[start - 1]!)) && !(end < text.length && WORD.test(text[end]!));
}

/** Every secret fingerprint a session's journal holds (a secret given again adds its new ones). */
export function sessionFingerprints(events: readonly JournalEvent[]): SecretFingerprint[] {
  return events.flatMap((e) => (e.type === 'var.set' && e.fingerprints ? e.fingerprints : []));
}

/**
 * The masking for any writer that never had the values (`note`, `mark`, `attach`
 * descriptions from another terminal): `text` with every substring whose salted hash
 * matches a fingerprint replaced by ***. Call it as
 * `maskWithFingerprints(text, sessionFingerprints(events))` before journaling the text.
 * It hashes every substring of each fingerprinted length: linear in the text for each
 * secret, which is fine for notes and descriptions (not for command output, which the
 * walk masks with the values themselves).
 */
export function maskWithFingerprints(text: string, fingerprints: readonly SecretFingerprint[]): string {
  if (fingerprints.length === 0 || text === '') return text;
  const spans: [number, number][] = [];
  for (const fp of fingerprints) {
    if (fp.length <= 0 || fp.length > text.length) continue;
    for (let i = 0; i + fp.length <= text.length; i++) {
      const end = i + fp.length;
      if (fp.wholeWord && !isWholeWord(text, i, end)) continue;
      if (digest(fp.salt, text.slice(i, end)) === fp.sha256) spans.push([i, end]);
    }
  }
  if (spans.length === 0) return text;
  spans.sort((a, b) => a[0] - b[0] || b[1] - a[1]);
  let out = '';
  let at = 0;
  for (const [start, end] of spans) {
    if (end <= at) continue;
    out += text.slice(at, Math.max(at, start)) + (start >= at ? MASK : '');
    at = end;
  }
  return out + text.slice(at);
}

/**
 * The events with every string masked with the fingerprints (the fingerprints themselves
 * kept). For the export: a value the operator gave before the session knew it was a secret
 * (pasted into the wrong prompt, then given where it belongs) is in clear in the journal,
 * which is append-only and never rewritten; the document people share is made after, and
 * masks it.
 */
export function maskEvents<E extends JournalEvent>(events: readonly E[], fingerprints: readonly SecretFingerprint[]): E[] {
  if (fingerprints.length === 0) return [...events];
  // Every writer after the last secret was given knew them all (the walk by value, a note
  // by fingerprint): only the events up to it can hold one in clear. Masking costs a hash
  // per character and fingerprint, so a long session is not hashed for nothing.
  let last = -1;
  events.forEach((event, i) => {
    if (event.type === 'var.set' && event.fingerprints) last = i;
  });
  return events.map((event, i) => (i <= last ? (maskDeep(event, fingerprints) as E) : event));
}

function maskDeep(value: unknown, fingerprints: readonly SecretFingerprint[]): unknown {
  if (typeof value === 'string') return maskWithFingerprints(value, fingerprints);
  if (Array.isArray(value)) return value.map((item) => maskDeep(item, fingerprints));
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, key === 'fingerprints' ? item : maskDeep(item, fingerprints)]));
}
