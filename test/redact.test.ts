import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MASK, MIN_SECRET_LENGTH, Redactor } from '../src/core/redact.js';

function redactor(...secrets: string[]): Redactor {
  const r = new Redactor();
  for (const s of secrets) r.add(s);
  return r;
}

/** Feeds chunks through a stream redactor and returns everything it released. */
function streamed(r: Redactor, chunks: readonly string[]): { released: string[]; all: string } {
  const stream = r.stream();
  const released = chunks.map((c) => stream.push(c));
  released.push(stream.flush());
  return { released, all: released.join('') };
}

describe('Redactor.redact', () => {
  it.each([
    ['no secrets known', [], 'token hunter22 here', 'token hunter22 here'],
    ['one secret, every occurrence', ['hunter22'], 'a hunter22 b hunter22', `a ${MASK} b ${MASK}`],
    ['the longer of two nested secrets is masked whole', ['pass', 'password1'], 'x password1 pass', `x ${MASK} ${MASK}`],
    ['overlapping secrets are masked as one span', ['abcdef', 'defghi'], 'xabcdefghix', `x${MASK}x`],
    ['a secret overlapping itself', ['aaaaaa'], 'aaaaaaa', MASK],
    ['adjacent occurrences stay two masks', ['abcdef'], 'abcdefabcdef', `${MASK}${MASK}`],
    ['a short secret (allowed with --allow-short-secret) is masked only as a whole word', ['ab'], 'ab cab (ab)', `${MASK} cab (${MASK})`],
    ['empty text', ['hunter22'], '', ''],
    ['regex characters are literal', ['a.b*c'], 'a.b*c aXbbc', `${MASK} aXbbc`],
  ])('%s', (_name, secrets, text, expected) => {
    expect(redactor(...secrets).redact(text)).toBe(expected);
  });

  it('counts each distinct secret once', () => {
    const r = redactor('hunter22', 'hunter22', 'ab');
    expect(r.size).toBe(2);
  });
});

describe('Redactor.stream', () => {
  it('masks a secret split across chunks', () => {
    const { all } = streamed(redactor('hunter22'), ['token: hun', 'ter', '22 done\n']);
    expect(all).toBe(`token: ${MASK} done\n`);
  });

  it('releases a prompt at once when its end cannot start a secret', () => {
    const { released } = streamed(redactor('hunter22'), ['Password: ']);
    expect(released[0]).toBe('Password: ');
  });

  it('holds back only the end that could start a secret, and releases it when it does not', () => {
    const { released } = streamed(redactor('hunter22'), ['say hunt', 'ing\n']);
    expect(released).toEqual(['say ', 'hunting\n', '']);
  });

  it('flush releases what was held, redacted', () => {
    const { released } = streamed(redactor('hunter22'), ['end: hunter2']);
    expect(released).toEqual(['end: ', 'hunter2']);
  });

  it('passes chunks through untouched when there are no secrets', () => {
    const { released } = streamed(new Redactor(), ['a', 'b']);
    expect(released).toEqual(['a', 'b', '']);
  });

  it('masks a secret overlapping one already complete in an earlier chunk', () => {
    // `abcdef` is whole in the first chunk, but `defghi` is only completed by the second.
    const { all } = streamed(redactor('abcdef', 'defghi'), ['xabcdef', 'ghix']);
    expect(all).toBe(`x${MASK}x`);
  });

  it('gives the same text as redacting the whole, however the output is cut', () => {
    const letter = fc.constantFrom('a', 'b', 'c', '*', ' ', '\n');
    fc.assert(
      fc.property(
        fc.array(fc.string({ unit: fc.constantFrom('a', 'b', 'c'), minLength: 1, maxLength: 8 }), { minLength: 1, maxLength: 4 }),
        fc.array(fc.string({ unit: letter, maxLength: 10 }), { maxLength: 8 }),
        (secrets, chunks) => {
          const r = redactor(...secrets);
          const whole = r.redact(chunks.join(''));
          expect(streamed(r, chunks).all).toBe(whole);
          // Short secrets (allowed only with --allow-short-secret) are masked as whole words.
          for (const secret of secrets) if (secret.length >= MIN_SECRET_LENGTH) expect(whole).not.toContain(secret);
        },
      ),
      { numRuns: 3000 },
    );
  });
});
