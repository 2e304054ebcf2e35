/**
 * SHA256SUMS, in the format of GNU sha256sum (so `sha256sum -c` checks it), and what
 * `bundle --check` makes of it.
 */
import { isAbsolute } from 'node:path';
import { plural } from '../plural.js';
import { SUMS } from './layout.js';

/** GNU escapes a name holding `\` or a line break, and marks the line with a leading `\`. */
export function sumsLine(hash: string, name: string): string {
  if (!/[\\\n\r]/.test(name)) return `${hash}  ${name}\n`;
  return `\\${hash}  ${name.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/\r/g, '\\r')}\n`;
}

export function formatSums(sums: ReadonlyMap<string, string>): string {
  return [...sums].map(([name, hash]) => sumsLine(hash, name)).join('');
}

export interface ParsedSums {
  /** File name (relative, with `/`) to its sha256, lower case. */
  entries: Map<string, string>;
  /** 1-based numbers of the lines that are not `<sha256>  <file>`. */
  bad: number[];
}

export function parseSums(text: string): ParsedSums {
  const entries = new Map<string, string>();
  const bad: number[] = [];
  text.split('\n').forEach((line, i) => {
    if (line === '') return;
    const match = /^(\\?)([0-9a-fA-F]{64}) [ *](.+)$/.exec(line);
    if (!match) {
      bad.push(i + 1);
      return;
    }
    const name = match[1] ? match[3]!.replace(/\\(\\|n|r)/g, (_, c: string) => (c === 'n' ? '\n' : c === 'r' ? '\r' : '\\')) : match[3]!;
    entries.set(name, match[2]!.toLowerCase());
  });
  return { entries, bad };
}

/** Sorted as `sort` with LC_ALL=C: by code unit, the same on every machine. */
export function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function describeChanges(before: ReadonlyMap<string, string>, after: ReadonlyMap<string, string>): string {
  const changed = [...after].filter(([name, hash]) => before.has(name) && before.get(name) !== hash).map(([name]) => name);
  const added = [...after.keys()].filter((name) => !before.has(name));
  const removed = [...before.keys()].filter((name) => !after.has(name));
  const part = (label: string, names: string[]) =>
    `${names.length} ${label}${names.length ? ` (${names.slice(0, 6).join(', ')}${names.length > 6 ? ', ...' : ''})` : ''}`;
  if (changed.length + added.length + removed.length === 0) return 'no file changed';
  return [part('changed', changed), part('added', added), part('removed', removed)].join(', ');
}

/** The hash of a listed file, or why it could not be read (undefined: it does not exist). */
export type HashResult = { hash: string } | { missing: string | undefined };

export interface CheckInput {
  sums: ParsedSums;
  /** Asked only for names inside the bundle. */
  hashOf: (name: string) => HashResult;
  /** Every file in the bundle but SHA256SUMS, relative with `/`. */
  files: readonly string[];
  /** One line per script a step calls that the bundle lacks or holds without its execute bit. */
  scripts: readonly string[];
  /** The bundle directory as shown to the operator. */
  shown: string;
}

/** `bundle --check`: one line per problem, then the verdict; ok when nothing is wrong. */
export function checkReport({ sums, hashOf, files, scripts, shown }: CheckInput): { lines: string[]; ok: boolean } {
  const { entries, bad } = sums;
  const lines: string[] = bad.map((line) => `invalid: ${SUMS} line ${line} is not "<sha256>  <file>"`);
  let changed = 0;
  let missing = 0;
  for (const [name, hash] of entries) {
    if (isAbsolute(name) || name.split('/').includes('..')) {
      lines.push(`invalid: ${SUMS} names ${JSON.stringify(name)}, outside the bundle`);
      continue;
    }
    const actual = hashOf(name);
    if ('missing' in actual) {
      missing++;
      lines.push(`missing: ${name}${actual.missing === undefined ? '' : ` (${actual.missing})`}`);
    } else if (actual.hash !== hash) {
      changed++;
      lines.push(`changed: ${name}`);
    }
  }
  const extra = files.filter((name) => !entries.has(name));
  for (const name of extra) lines.push(`extra: ${name} (not listed in ${SUMS})`);
  lines.push(...scripts);

  if (lines.length === 0) return { lines: [`${shown}: OK, all ${entries.size} files match ${SUMS}`], ok: true };
  const parts = [`${changed} changed`, `${missing} missing`, `${extra.length} not listed`];
  if (scripts.length) parts.push(`${plural(scripts.length, 'script')} steps call missing or not executable`);
  if (bad.length) parts.push(plural(bad.length, 'invalid line'));
  lines.push(`${shown}: does NOT match ${SUMS} (${entries.size} files listed: ${parts.join(', ')}); rebuild it with drbook bundle -o ${shown}`);
  return { lines, ok: false };
}
