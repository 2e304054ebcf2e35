import { createHash } from 'node:crypto';
import { closeSync, constants, existsSync, fstatSync, openSync, readdirSync, readFileSync, readSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { DrbookError, ExitCode } from '../core/errors.js';
import { displayPath, errnoText } from './file-text.js';
import { formatProblem, type Problem, type Runbook } from '../core/model.js';
import { loadRunbookText, type LoadContext, type LoadResult } from '../core/runbook-loader.js';
import { declaredRunbookId, fileNameId, runbookIdOf, type FileId } from '../core/runbook-id.js';
import type { ShellDialect } from '../core/shell-template.js';
import type { CommandTexts } from './shell-syntax.js';
import { runningSingleFile } from './single-file.js';

/** A runbook is a page of YAML; anything this large is a mistake, not a runbook. */
const MAX_RUNBOOK_BYTES = 4 * 1024 * 1024;
const RUNBOOK_FILE = /\.ya?ml$/i;

/**
 * `--dir`, else $DRBOOK_DIR, else ./runbooks. A bundle's drbook.mjs (`besideScript`: its
 * directory) falls back to the runbooks beside it, so it works from any directory.
 */
export function runbooksDir(option?: string, env: NodeJS.ProcessEnv = process.env, besideScript: string | undefined = singleFileDir()): string {
  const given = option ?? env.DRBOOK_DIR;
  if (given !== undefined || besideScript === undefined) return resolve(given ?? 'runbooks');
  const here = resolve('runbooks');
  const beside = join(besideScript, 'runbooks');
  return !existsSync(here) && existsSync(beside) ? beside : here;
}

function singleFileDir(): string | undefined {
  const self = runningSingleFile();
  return self === undefined ? undefined : dirname(self);
}

export interface FileLoad extends LoadResult {
  file: string;
  /** The file could not be read at all (missing, permissions): an input error, exit 2. */
  unreadable?: boolean;
  /** The id `drbook run ID` finds it by, and where it is written (for duplicates); absent for a file not read as text. */
  idAt?: FileId;
}

/** Reads and checks one runbook file. Unreadable files are a problem of the file, exit 2. */
export async function loadRunbookFile(file: string): Promise<FileLoad> {
  return (await loadRunbookFiles([file]))[0]!;
}

/**
 * Reads and checks runbook files, in the order given. The commands of all of them are
 * checked for their shell syntax together, by one shell process (none when all are cached).
 */
export async function loadRunbookFiles(files: readonly string[]): Promise<FileLoad[]> {
  const firsts = await Promise.all(files.map((file) => firstLoad(file)));
  const pending = firsts.filter((f): f is FirstLoad & { commands: CommandTexts } => 'commands' in f && f.commands !== undefined);
  if (pending.length === 0) return firsts.map((f) => f.load);
  const { shellSyntaxFinders } = await import('./shell-syntax.js');
  const finders = shellSyntaxFinders(pending.map((f) => f.commands));
  const again = new Map<FirstLoad, FileLoad>();
  pending.forEach((f, i) => {
    const finder = finders[i]!;
    // Loaded again only when a command does not parse: its errors then stand at their lines.
    if (!f.commands.texts.some(({ text, dialect }) => finder(text, dialect) !== undefined)) return;
    const result = loadRunbookText(f.text!, { ...f.ctx!, shellSyntax: finder });
    again.set(f, { ...result, file: f.load.file, ...(f.load.idAt ? { idAt: f.load.idAt } : {}) });
  });
  return firsts.map((f) => again.get(f) ?? f.load);
}

interface FirstLoad {
  load: FileLoad;
  /** The commands whose syntax is still to be checked, with what loading the file again needs. */
  commands?: CommandTexts;
  text?: string;
  ctx?: LoadContext;
}

async function firstLoad(file: string): Promise<FirstLoad> {
  const absFile = resolve(file);
  const shown = displayPath(file);
  const fail = (message: string, unreadable = false): FirstLoad => ({
    load: {
      file: shown,
      problems: [{ file: shown, line: 1, col: 1, severity: 'error', message }],
      ...(unreadable ? { unreadable } : {}),
    },
  });
  let bytes: Buffer;
  try {
    bytes = readInputFile(absFile, MAX_RUNBOOK_BYTES);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EISDIR') return fail('is a directory, not a runbook file (drbook validate DIR checks the runbooks in a directory)', true);
    if (code === 'EFBIG') return fail(`is ${(error as Error).message}: too large for a runbook (limit ${MAX_RUNBOOK_BYTES / 1048576} MB)`);
    return fail(`cannot read: ${errnoText(error)}`, true);
  }
  // A FIFO nobody writes to reads as empty: that is no empty runbook but the wrong kind of file.
  if (bytes.length === 0 && !isRegularFile(absFile))
    return fail('is not a regular file (a named pipe or a device) and nothing came from it: give the runbook file itself');
  if (bytes.includes(0)) return fail('is not a text file (it holds NUL bytes)');
  let text: string;
  try {
    // fatal: binary garbage gets one clear message instead of YAML errors about U+FFFD.
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return fail('is not a UTF-8 text file (binary, or another encoding: save it as UTF-8)');
  }
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  let ctx: LoadContext = { file: shown, absFile, sha256, fileExists: (p: string) => existsSync(p) };
  // A run with {{name}} is checked by its shell syntax. A file seen before: the sites its
  // commands had, in one read. Otherwise the parser (or the cache of each command) is
  // loaded only when a command holds {{, and the file checked again with it.
  let result: LoadResult | undefined;
  const parserModule = text.includes('{{') ? await import('./shell-parser.js') : undefined;
  const cached = parserModule?.cachedFileFinder(sha256);
  if (cached) {
    let missed = false;
    const shellSites = (t: string, dialect: ShellDialect) => {
      const sites = cached(t, dialect);
      if (sites === undefined) missed = true;
      return sites ?? [];
    };
    result = loadRunbookText(text, { ...ctx, shellSites });
    if (missed) result = undefined;
    else ctx = { ...ctx, shellSites };
  }
  if (!result) {
    // A new or changed file: the parser compiles on other threads while this one checks it.
    parserModule?.startShellParser();
    result = loadRunbookText(text, ctx);
    if (result.shellTexts && parserModule) {
      ctx = { ...ctx, shellSites: await parserModule.siteFinderFor(result.shellTexts, sha256) };
      result = loadRunbookText(text, ctx);
    }
  }
  const load: FileLoad = { ...result, file: shown, idAt: { ...runbookIdOf(absFile, text), file: shown } };
  if (!result.commandTexts) return { load };
  return { load, commands: { sha256, texts: result.commandTexts }, text, ctx };
}

/** How long a pipe may stay silent while its writer keeps it open. */
const PIPE_WAIT_MS = 10_000;
const waitCell = new Int32Array(new SharedArrayBuffer(4));

/**
 * Reads a file named on the command line (a runbook, a --vars-file) without ever hanging:
 * a regular file as is; a pipe (`--vars-file <(pass show dr/vars)`) until its writer closes
 * it, giving up after PIPE_WAIT_MS without data; a FIFO that nobody writes reads as empty.
 * Never more than `limit` bytes (a device such as /dev/zero has no end). Errors carry an
 * errno code: EISDIR for a directory, EFBIG past the limit (the message says how large),
 * ETIMEDOUT for a silent pipe.
 */
export function readInputFile(path: string, limit: number): Buffer {
  // Non-blocking: opening a FIFO for reading would otherwise wait for a writer forever.
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const stat = fstatSync(fd);
    if (stat.isDirectory()) throw errnoError('EISDIR', 'is a directory');
    if (stat.isFile() && stat.size > limit) throw errnoError('EFBIG', `${(stat.size / 1048576).toFixed(1)} MB`);
    const chunks: Buffer[] = [];
    const buf = Buffer.alloc(64 * 1024);
    let total = 0;
    let lastData = Date.now();
    for (;;) {
      let n: number;
      try {
        n = readSync(fd, buf, 0, buf.length, null);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') throw error;
        if (Date.now() - lastData > PIPE_WAIT_MS) throw errnoError('ETIMEDOUT', `nothing came through the pipe for ${PIPE_WAIT_MS / 1000} s`);
        Atomics.wait(waitCell, 0, 0, 5);
        continue;
      }
      if (n === 0) break;
      total += n;
      if (total > limit) throw errnoError('EFBIG', `more than ${(limit / 1048576).toFixed(1)} MB`);
      chunks.push(Buffer.from(buf.subarray(0, n)));
      lastData = Date.now();
    }
    return Buffer.concat(chunks);
  } finally {
    closeSync(fd);
  }
}

function errnoError(code: string, message: string): NodeJS.ErrnoException {
  return Object.assign(new Error(message), { code });
}

/** The runbook files of a directory, sorted. */
export function runbookFilesIn(dir: string): string[] {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch (error) {
    throw new DrbookError(`runbooks directory ${displayPath(dir)}: ${errnoText(error)} (set --dir or DRBOOK_DIR)`, ExitCode.usage);
  }
  return entries
    .filter((name) => RUNBOOK_FILE.test(name))
    .sort()
    .map((name) => join(dir, name))
    .filter((path) => {
      try {
        return statSync(path).isFile();
      } catch {
        return false;
      }
    });
}

/**
 * Finds a runbook given as a path or as an id in the runbooks directory, then loads it.
 * An invalid runbook is reported with every problem (exit 1); a missing one is exit 2.
 */
export async function findRunbook(ref: string, dirOption?: string): Promise<{ runbook: Runbook; warnings: Problem[] }> {
  const { file, id } = locateRunbook(ref, dirOption);
  const loaded = await loadRunbookFile(file);
  if (loaded.unreadable) {
    // Not a runbook with mistakes but no runbook at all: an input error, exit 2.
    throw new DrbookError(`${loaded.file}: ${loaded.problems[0]?.message ?? 'cannot read'}`, ExitCode.usage);
  }
  if (!loaded.runbook) {
    const errors = loaded.problems.filter((p) => p.severity === 'error');
    throw new RunbookInvalid(
      loaded.problems,
      `${displayPath(file)} is not a valid runbook (${errors.length} error${errors.length === 1 ? '' : 's'}); fix it, then check with: drbook validate ${displayPath(file)}`,
    );
  }
  if (id !== undefined && loaded.runbook.id !== id) {
    // The id line said one thing and the YAML another (an id written in an unusual way): never
    // run a runbook that is not the one asked for.
    throw new DrbookError(
      `${displayPath(file)} has the id "${loaded.runbook.id}", not "${id}" as its id: line reads; give its path (drbook validate ${displayPath(file)} says more)`,
      ExitCode.usage,
    );
  }
  return { runbook: loaded.runbook, warnings: loaded.problems };
}

export class RunbookInvalid extends DrbookError {
  constructor(
    readonly problems: Problem[],
    message: string,
  ) {
    // Every command that loads a runbook shows why it is invalid, not only that it is.
    super(message, ExitCode.failed, problems.map(formatProblem));
  }
}

/** Where a runbook was found: a path as given, or the one file of the directory with the id. */
interface Located {
  file: string;
  /** The id it was looked up by: the loaded runbook must have exactly this id. */
  id?: string;
}

function locateRunbook(ref: string, dirOption?: string): Located {
  if (ref.includes('/') || RUNBOOK_FILE.test(ref)) {
    if (existsSync(ref)) return { file: ref };
    throw new DrbookError(`runbook file not found: ${ref}`, ExitCode.usage);
  }
  // A bare name is a runbook id first: a stray file or directory of that name in the
  // current directory must not hide the runbook the operator means.
  const dir = runbooksDir(dirOption);
  const dirExists = existsSync(dir);
  let ids: FileId[] = [];
  if (dirExists) {
    // Every file's id, not the first file named like the ref: runbooks/mail-server.yml may
    // be the old procedure that now declares `id: mail-legacy`, and two files may claim one id.
    ids = runbookFilesIn(dir).map((file) => ({ ...runbookIdOf(file, readHead(file)), file }));
    const matches = ids.filter((f) => f.id === ref);
    if (matches.length === 1) return { file: matches[0]!.file, id: ref };
    if (matches.length > 1) {
      throw new DrbookError(
        `${matches.length} runbooks in ${displayPath(dir)} have the id "${ref}": ${matches.map((f) => displayPath(f.file)).join(', ')}; give the path of the one you mean (drbook validate ${displayPath(dir)} shows where each id is written)`,
        ExitCode.usage,
      );
    }
    const named = ids.find((f) => fileNameId(f.file) === ref);
    if (named) {
      throw new DrbookError(
        `no runbook has the id "${ref}" in ${displayPath(dir)}: ${displayPath(named.file)} declares the id "${named.id}"; run it by that id or by its path if it is the one you mean`,
        ExitCode.usage,
      );
    }
  }
  if (isRegularFile(ref)) return { file: ref };
  if (!dirExists) {
    throw new DrbookError(
      `no runbook "${ref}": the runbooks directory ${displayPath(dir)} does not exist (give a path, or set --dir / DRBOOK_DIR)`,
      ExitCode.usage,
    );
  }
  const known = [...new Set(ids.map((f) => f.id))];
  throw new DrbookError(`no runbook "${ref}" in ${displayPath(dir)}${known.length ? ` (there: ${known.join(', ')})` : ''}`, ExitCode.usage);
}

function isRegularFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** The id is near the top of every runbook written by hand; the whole file only when it is not. */
const HEAD_BYTES = 16 * 1024;

/** The start of a file, enough to find its `id:` line; the whole file if the head has none. */
export function readHead(file: string): string {
  let fd: number | undefined;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
    const buf = Buffer.alloc(HEAD_BYTES);
    const n = readSync(fd, buf, 0, HEAD_BYTES, 0);
    const head = buf.toString('utf8', 0, n);
    if (n < HEAD_BYTES || declaredRunbookId(head)) return head;
    const size = fstatSync(fd).size;
    return size > MAX_RUNBOOK_BYTES ? head : readFileSync(file, 'utf8');
  } catch {
    return '';
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
