import { Chalk, type ChalkInstance } from 'chalk';

/** Colour only for a real terminal that wants it: NO_COLOR, TERM=dumb and pipes get plain text. */
export function wantsColor(stream: { isTTY?: boolean } = process.stdout, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0' && env.FORCE_COLOR !== '') return true;
  if (env.TERM === 'dumb') return false;
  return stream.isTTY === true;
}

export function makeChalk(stream: { isTTY?: boolean } = process.stdout, env: NodeJS.ProcessEnv = process.env): ChalkInstance {
  return new Chalk({ level: wantsColor(stream, env) ? 1 : 0 });
}
