import { describe, expect, it } from 'vitest';
import { wantsColor } from '../src/adapters/style.js';

describe('wantsColor: one reading of the colour environment, as supports-color reads FORCE_COLOR', () => {
  const tty = { isTTY: true };
  const pipe = { isTTY: false };
  const cases: { env: NodeJS.ProcessEnv; stream: { isTTY?: boolean }; forced?: boolean; want: boolean }[] = [
    { env: {}, stream: tty, want: true },
    { env: {}, stream: pipe, want: false },
    { env: { TERM: 'dumb' }, stream: tty, want: false },
    { env: { NO_COLOR: '1' }, stream: tty, want: false },
    { env: { NO_COLOR: '' }, stream: tty, want: true },
    { env: { FORCE_COLOR: '1' }, stream: pipe, want: true },
    { env: { FORCE_COLOR: 'true' }, stream: pipe, want: true },
    { env: { FORCE_COLOR: '0' }, stream: tty, want: false },
    { env: { FORCE_COLOR: 'false' }, stream: tty, want: false },
    { env: { FORCE_COLOR: 'false' }, stream: pipe, want: false },
    { env: { FORCE_COLOR: '' }, stream: pipe, want: false },
    { env: { FORCE_COLOR: '1', NO_COLOR: '1' }, stream: tty, want: false },
    { env: { NO_COLOR: '1' }, stream: pipe, forced: true, want: true },
    { env: {}, stream: tty, forced: false, want: false },
  ];
  for (const c of cases) {
    it(`${JSON.stringify(c.env)} on ${c.stream.isTTY ? 'a terminal' : 'a pipe'}${c.forced === undefined ? '' : ` forced ${c.forced}`}: ${c.want ? 'colour' : 'plain'}`, () => {
      expect(wantsColor(c.stream, c.env, c.forced)).toBe(c.want);
    });
  }
});
