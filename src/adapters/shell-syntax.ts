/**
 * Whether the commands of runbooks parse, checked by bash itself before a live run finds
 * out ("syntax error near unexpected token `fi'"). One bash process for all the commands
 * of all the files being loaded, which hands each command to a `bash -n` (parse only, run
 * nothing). Loading the wasm parser for a runbook without placeholders would cost its
 * start-up; bash forks itself for a few milliseconds a command, and a file seen before
 * costs one read of its cache entry.
 *
 * bash checks the commands of `shell: sh` runbooks too: what bash cannot parse, no sh
 * can; a bashism that only dash refuses is not caught.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { ShellSyntaxError } from '../core/runbook-loader.js';
import type { ShellDialect } from '../core/shell-template.js';
import { replaceFile, type ReplaceOptions } from './durable-file.js';
import { stateHome } from './state-home.js';

export interface CommandTexts {
  sha256: string;
  texts: { text: string; dialect: ShellDialect }[];
}

export type SyntaxFinder = (text: string, dialect: ShellDialect) => ShellSyntaxError | undefined;

/** Bumped when the check changes, so old entries are not read. */
const CACHE_VERSION = 'v2';
const CACHE_WRITE: ReplaceOptions = { mode: 0o600, durable: false };
const CHECK_TIMEOUT_MS = 10_000;

/*
 * For each command read from stdin, a `bash -n` of its own: bash parses it and runs
 * nothing, whatever it holds. (Defining it as a function body through eval would run what
 * follows a command that closes the brace itself: `}; touch x; f() {`.) extglob on: a
 * command may turn it on before using @(a|b), which this check does not run.
 */
const CHECKER = ['exec 2>&1', 'while IFS= read -r -d "" c; do printf "\\0"; bash --norc --noprofile -O extglob -n -c "$c"; printf "\\1%d" $?; done'].join('; ');

function textKey(text: string, dialect: ShellDialect): string {
  return createHash('sha256').update(`${dialect}\0${text}`).digest('hex');
}

function entryPath(fileSha256: string): string {
  const key = createHash('sha256').update(`${CACHE_VERSION}\0syntax\0${fileSha256}`).digest('hex');
  return join(stateHome(), 'cache', 'shell-syntax', key.slice(0, 2), `${key}.json`);
}

function readEntry(fileSha256: string): Record<string, ShellSyntaxError> | undefined {
  try {
    const value: unknown = JSON.parse(readFileSync(entryPath(fileSha256), 'utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, ShellSyntaxError>) : undefined;
  } catch {
    return undefined;
  }
}

function writeEntry(fileSha256: string, errors: Record<string, ShellSyntaxError>): void {
  // The entry holds line numbers and bash's words about the file's own commands, never a
  // value. One that cannot be written costs the next load a bash process.
  try {
    const file = entryPath(fileSha256);
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    replaceFile(file, JSON.stringify(errors), CACHE_WRITE);
  } catch {
    // see above
  }
}

/**
 * The syntax errors of the commands of each file, from the cache or from one bash process.
 * When bash cannot be run (not installed, killed), nothing is reported and nothing cached.
 */
export function shellSyntaxFinders(files: CommandTexts[]): SyntaxFinder[] {
  const entries = files.map((f) => readEntry(f.sha256));
  const unknown = new Map<string, string>();
  files.forEach((f, i) => {
    if (entries[i]) return;
    for (const { text, dialect } of f.texts) if (!text.includes('\0')) unknown.set(textKey(text, dialect), text);
  });
  const checked = unknown.size > 0 ? checkWithBash([...unknown.values()]) : [];
  const found = new Map<string, ShellSyntaxError | undefined>();
  if (checked) [...unknown.keys()].forEach((key, i) => found.set(key, checked[i]));
  return files.map((f, i) => {
    let errors = entries[i];
    if (!errors && checked) {
      errors = {};
      for (const { text, dialect } of f.texts) {
        const key = textKey(text, dialect);
        const bad = found.get(key);
        if (bad) errors[key] = bad;
      }
      writeEntry(f.sha256, errors);
    }
    const known = errors ?? {};
    return (text, dialect) => known[textKey(text, dialect)];
  });
}

/** For each text, its error or undefined; undefined as a whole when bash could not check. */
function checkWithBash(texts: string[]): (ShellSyntaxError | undefined)[] | undefined {
  const result = spawnSync('bash', ['--norc', '--noprofile', '-c', CHECKER], {
    input: texts.map((t) => `${t}\0`).join(''),
    encoding: 'utf8',
    timeout: CHECK_TIMEOUT_MS,
    maxBuffer: 64 * 1024 * 1024,
    // No BASH_ENV or other start-up file: the check runs nothing of the operator's.
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C' },
  });
  if (result.error || result.status !== 0 || typeof result.stdout !== 'string') return undefined;
  const chunks = result.stdout.split('\0').slice(1);
  if (chunks.length !== texts.length) return undefined;
  return chunks.map(parseChunk);
}

/** `messages\x01status` of one command. */
function parseChunk(chunk: string): ShellSyntaxError | undefined {
  const mark = chunk.lastIndexOf('\x01');
  const status = chunk.slice(mark + 1);
  const messages = chunk.slice(0, Math.max(mark, 0));
  if (status === '0') return undefined;
  // A here-document the end of the command closes is what bash -c accepts, with a warning.
  if (/here-document at line \d+ delimited by end-of-file/.test(messages)) return undefined;
  const first = messages.split('\n').find((l) => l.trim() !== '') ?? 'syntax error';
  const located = /^[^:]*: -c: line (\d+): (.*)$/.exec(first);
  if (!located) return { line: 0, message: first.replace(/^[^:]*: -c: /, '') };
  return { line: Number(located[1]), message: located[2]! };
}
