/**
 * Secrets where the walk's redactor cannot reach: notes written by another process (only
 * fingerprints in the journal), short secrets, and the whole-word masking they get when the
 * operator insists on one.
 */
import { describe, expect, it } from 'vitest';
import { MASK, Redactor } from '../src/core/redact.js';
import { fingerprintSecret, maskEvents, maskWithFingerprints } from '../src/core/secret-fingerprint.js';
import type { JournalEvent } from '../src/core/journal-events.js';
import { checkVarValue, VarStore } from '../src/core/vars.js';

describe('secret fingerprints', () => {
  it('keeps no value: only a salt, a hash and the length', () => {
    const fp = fingerprintSecret('hunter2-prod');
    expect(JSON.stringify(fp)).not.toContain('hunter2');
    expect(fp.length).toBe(12);
    expect(fp.salt).toMatch(/^[0-9a-f]{32}$/);
    expect(fingerprintSecret('hunter2-prod').salt).not.toBe(fp.salt);
  });

  it('masks every occurrence of the secret in a text, wherever it sits', () => {
    const fps = [fingerprintSecret('hunter2-prod')];
    expect(maskWithFingerprints('pw is hunter2-prod, again hunter2-prod.', fps)).toBe(`pw is ${MASK}, again ${MASK}.`);
    expect(maskWithFingerprints('hunter2-prod', fps)).toBe(MASK);
    expect(maskWithFingerprints('hunter2-pro', fps)).toBe('hunter2-pro');
    expect(maskWithFingerprints('', fps)).toBe('');
  });

  it('merges overlapping secrets into one mask', () => {
    const fps = [fingerprintSecret('abcdef'), fingerprintSecret('defghi')];
    expect(maskWithFingerprints('x abcdefghi y', fps)).toBe(`x ${MASK} y`);
  });

  it('masks every string of journal events but the fingerprints themselves', () => {
    const fp = fingerprintSecret('hunter2-prod');
    const events = [
      { type: 'var.set', name: 'host', value: 'hunter2-prod', source: 'prompt' },
      { type: 'command.finished', step: 'a', tail: 'reaching hunter2-prod\n', args: ['x', 'hunter2-prod'] },
      { type: 'var.set', name: 'pw', value: MASK, secret: true, source: 'prompt', fingerprints: [fp] },
      { type: 'note', text: 'written after: by a writer that knew it' },
    ] as unknown as JournalEvent[];
    const masked = maskEvents(events, [fp]) as unknown as Record<string, unknown>[];
    expect(masked[0]!.value).toBe(MASK);
    expect(masked[1]!.tail).toBe(`reaching ${MASK}\n`);
    expect(masked[1]!.args).toEqual(['x', MASK]);
    expect(masked[2]!.fingerprints).toEqual([fp]);
    // Events after the last secret was given are not hashed again: their writers knew it.
    expect(masked[3]).toBe(events[3]);
    expect(JSON.stringify(masked)).not.toContain('hunter2');
    expect(events[0]).toMatchObject({ value: 'hunter2-prod' });
  });

  it('masks a short secret only as a whole word', () => {
    const fps = [fingerprintSecret('x', true)];
    expect(maskWithFingerprints('exit 1 with x and x.', fps)).toBe(`exit 1 with ${MASK} and ${MASK}.`);
  });
});

describe('short secrets', () => {
  const def = { secret: true } as const;
  it('refuses a 1-letter secret with a clear message', () => {
    expect(checkVarValue('pw', def, 'x')).toMatch(/pw is a secret of 1 character: secrets shorter than 6 are refused.*--allow-short-secret/);
    expect(checkVarValue('pw', def, 'abcdef')).toBeUndefined();
    expect(checkVarValue('pw', def, 'x', true)).toBeUndefined();
    expect(checkVarValue('name', {}, 'x')).toBeUndefined();
  });

  it('a short secret allowed anyway is masked only as a whole word, not inside other words', () => {
    const r = new Redactor();
    r.add('x');
    expect(r.redact('exit 1: x failed (x)')).toBe(`exit 1: ${MASK} failed (${MASK})`);
    const s = r.stream();
    const out = s.push('value x') + s.push('yz and x\n') + s.flush();
    expect(out).toBe(`value xyz and ${MASK}\n`);
  });

  it('a VarStore refuses through check() unless allowed, and journals fingerprints', () => {
    const strict = new VarStore({ pw: { secret: true } }, new Redactor());
    expect(strict.check('pw', 'ab')).toMatch(/shorter than 6/);
    const lax = new VarStore({ pw: { secret: true } }, new Redactor(), true);
    expect(lax.check('pw', 'ab')).toBeUndefined();
    lax.set('pw', "it's-secret", 'cli');
    const fields = lax.journaled('pw');
    expect(fields.value).toBe(MASK);
    expect(JSON.stringify(fields)).not.toContain('secret-');
    // The value and its shell-quoted form are both fingerprinted.
    expect(fields.fingerprints).toHaveLength(2);
    expect(maskWithFingerprints(`said it's-secret`, fields.fingerprints!)).toBe(`said ${MASK}`);
  });
});
