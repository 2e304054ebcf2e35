import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from '../src/core/duration.js';

const S = 1000;
const M = 60 * S;
const H = 60 * M;
const D = 24 * H;

describe('parseDuration', () => {
  it.each([
    ['90m', 90 * M],
    ['2h', 2 * H],
    ['1h30m', H + 30 * M],
    ['1h 30m', H + 30 * M],
    ['45s', 45 * S],
    ['1d', D],
    ['500ms', 500],
    ['1m500ms', M + 500],
    ['1s500ms', S + 500],
    ['1d2h3m4s5ms', D + 2 * H + 3 * M + 4 * S + 5],
    ['  2h  ', 2 * H],
    ['0s', 0],
    ['1h90m', H + 90 * M],
  ])('%s', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['', ' ', '2', '90', '2 hours', '10 min', '1.5h', '2H', 'h', 'm30', '30m1h', '1h1h', '-5m', '+5m', '1w', '5 m', 'ms', '1e3s', '1h,30m', 'soon'])(
    '"%s" is not a duration',
    (text) => {
      expect(parseDuration(text)).toBeUndefined();
    },
  );

  it('reads any combination of units in order, spaced or not', () => {
    const part = fc.option(fc.nat({ max: 10_000 }), { nil: undefined });
    fc.assert(
      fc.property(part, part, part, part, part, fc.boolean(), (d, h, m, s, ms, spaced) => {
        const parts = (
          [
            [d, 'd'],
            [h, 'h'],
            [m, 'm'],
            [s, 's'],
            [ms, 'ms'],
          ] as const
        ).filter(([n]) => n !== undefined);
        fc.pre(parts.length > 0);
        const text = parts.map(([n, unit]) => `${n}${unit}`).join(spaced ? ' ' : '');
        const expected = (d ?? 0) * D + (h ?? 0) * H + (m ?? 0) * M + (s ?? 0) * S + (ms ?? 0);
        expect(parseDuration(text)).toBe(expected);
      }),
    );
  });

  it('never throws, whatever the text', () => {
    fc.assert(
      fc.property(fc.string(), (text) => {
        const ms = parseDuration(text);
        expect(ms === undefined || (Number.isInteger(ms) && ms >= 0)).toBe(true);
      }),
    );
  });
});

describe('formatDuration', () => {
  it.each([
    [0, '0.0s'],
    [1234, '1.2s'],
    [9_949, '9.9s'],
    [9_960, '10s'],
    [42_400, '42s'],
    [59_499, '59s'],
    [59_600, '1m'],
    [60_000, '1m'],
    [3_723_000, '1h 2m 3s'],
    [2 * H, '2h'],
    [D + 2 * H + 3 * M + 4 * S, '1d 2h 3m'],
    [-5, '0.0s'],
    [Number.NaN, '0.0s'],
    [Number.POSITIVE_INFINITY, '0.0s'],
  ])('%d ms is %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it('from a minute on, reads back to the second it shows (days drop the seconds)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 60_000, max: D - 1 }), (ms) => {
        expect(parseDuration(formatDuration(ms).replace(/ /g, ''))).toBe(Math.round(ms / S) * S);
        expect(parseDuration(formatDuration(ms))).toBe(Math.round(ms / S) * S);
      }),
    );
  });
});
