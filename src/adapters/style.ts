import { Chalk, type ChalkInstance } from 'chalk';

/**
 * Colour only for a real terminal that wants it. As chalk's supports-color reads the
 * environment: FORCE_COLOR=0 or false turns colour off even on a terminal, any other
 * value but an empty one turns it on even in a pipe; NO_COLOR (any non-empty value) wins over both, and
 * TERM=dumb and output that is not a terminal get plain text. `forced` (a --color flag
 * or a test) overrides the environment.
 */
export function wantsColor(stream: { isTTY?: boolean } = process.stdout, env: NodeJS.ProcessEnv = process.env, forced?: boolean): boolean {
  if (forced !== undefined) return forced;
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  const force = env.FORCE_COLOR;
  if (force === '0' || force === 'false') return false;
  if (force !== undefined && force !== '') return true;
  if (env.TERM === 'dumb') return false;
  return stream.isTTY === true;
}

export function makeChalk(stream: { isTTY?: boolean } = process.stdout, env: NodeJS.ProcessEnv = process.env): ChalkInstance {
  return new Chalk({ level: wantsColor(stream, env) ? 1 : 0 });
}
