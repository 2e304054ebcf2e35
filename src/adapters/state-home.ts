/**
 * Where sessions live: `DRBOOK_HOME/sessions/<SESSION>.jsonl`, the command logs in
 * `DRBOOK_HOME/sessions/<SESSION>/`, and the lock files beside the journal.
 */
import { chmodSync, closeSync, constants, existsSync, fstatSync, lstatSync, openSync, readdirSync, readFileSync, readSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { DrbookError, ExitCode } from '../core/errors.js';
import { parseJournal } from '../core/journal-parse.js';
import { summarizeSession, type SessionSummary } from '../core/session-summary.js';
import { readDriverLock } from './file-lock.js';
import { errnoText } from './file-text.js';
import { makeDirs } from './make-dirs.js';

/** DRBOOK_HOME, else $XDG_STATE_HOME/drbook, else ~/.local/state/drbook. */
export function stateHome(env: NodeJS.ProcessEnv = process.env): string {
  const own = env.DRBOOK_HOME;
  if (own !== undefined && own !== '') return resolve(own);
  const xdg = env.XDG_STATE_HOME;
  // The XDG spec says a relative value is invalid and must be ignored.
  if (xdg !== undefined && isAbsolute(xdg)) return join(xdg, 'drbook');
  return join(env.HOME !== undefined && env.HOME !== '' ? env.HOME : homedir(), '.local', 'state', 'drbook');
}

export function sessionsDir(home: string): string {
  return join(home, 'sessions');
}

/**
 * Creates the sessions directory (mode 0700: journals name hosts, users and commands), one
 * level at a time: a hang is the worst answer to a typo in DRBOOK_HOME.
 */
export function ensureSessionsDir(home: string): string {
  const dir = sessionsDir(resolve(home));
  try {
    makeDirs(dir, 0o700);
    const mode = statSync(dir).mode;
    if ((mode & 0o022) !== 0) {
      chmodSync(dir, 0o700);
      process.stderr.write(
        `drbook: warning: ${dir} was writable by others (mode ${(mode & 0o777).toString(8).padStart(4, '0')}): set back to 0700; check its sessions with drbook verify\n`,
      );
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOTDIR' && existsSync(dir)) {
      throw new DrbookError(`cannot keep sessions in ${dir}: it is not a directory; set DRBOOK_HOME to a writable directory`, ExitCode.usage);
    }
    throw notWritable(dir, error);
  }
  return dir;
}

/**
 * Warning lines for the session's files that others could write: the sessions directory
 * (unless `withDir` is false), the journal, its locks and output directory and logs. Such a
 * file may hold lines drbook did not write (a forged note with a valid chain). Reads only.
 */
export function looseModes(home: string, id?: string, withDir = true): string[] {
  const dir = sessionsDir(resolve(home));
  const paths: string[] = withDir ? [dir] : [];
  if (id !== undefined) {
    const journal = sessionJournalPath(home, id);
    const base = journal.replace(/\.jsonl$/, '');
    paths.push(journal, `${base}.lock`, `${base}.append.lock`, base);
    for (const name of safeList(base)) paths.push(join(base, name));
  }
  const out: string[] = [];
  for (const path of paths) {
    let mode: number;
    try {
      mode = lstatSync(path).mode;
    } catch {
      continue;
    }
    if ((mode & 0o170000) === 0o120000) continue; // a symlink's own mode means nothing
    if ((mode & 0o022) !== 0)
      out.push(
        `${path}: warning: writable by others (mode ${(mode & 0o777).toString(8).padStart(4, '0')}): anyone could have changed it; drbook sets it back to ${(mode & 0o170000) === 0o040000 ? '0700' : '0600'} when it next writes there`,
      );
  }
  return out;
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function notWritable(dir: string, error: unknown): DrbookError {
  return new DrbookError(`cannot create the sessions directory ${dir}: ${errnoText(error)}; set DRBOOK_HOME to a writable directory`, ExitCode.usage);
}

/** `20260311T090512Z` from a date: the UTC start, sortable, safe in a file name. */
function sessionStamp(now: Date): string {
  return now
    .toISOString()
    .replace(/\.\d+Z$/, 'Z')
    .replace(/[-:]/g, '');
}

/**
 * A new session id like `20260311T090512Z-mail-server`, with `-2`, `-3`… when that second
 * already has a session of the runbook. FileJournal.create still creates exclusively, so two
 * drbooks starting in the same second cannot share a journal.
 */
export function newSessionId(runbookId: string, now: Date, home: string): string {
  const base = `${sessionStamp(now)}-${runbookId}`;
  const dir = sessionsDir(home);
  const taken = (id: string): boolean => existsSync(join(dir, `${id}.jsonl`)) || existsSync(join(dir, id));
  if (!taken(base)) return base;
  for (let n = 2; ; n++) {
    const id = `${base}-${n}`;
    if (!taken(id)) return id;
  }
}

/**
 * The journal of a session. `id` may also be the absolute path of a journal kept outside the
 * sessions directory (resolveSessionId returns one for a path given on the command line).
 */
export function sessionJournalPath(home: string, id: string): string {
  if (isAbsolute(id) && id.endsWith('.jsonl')) return id;
  return join(sessionsDir(home), `${id}.jsonl`);
}

/** The directory of a session's command logs (no trailing slash; join into it). */
export function sessionOutputDir(home: string, id: string): string {
  return sessionJournalPath(home, id).replace(/\.jsonl$/, '');
}

/** Session ids, oldest first (ids start with their UTC start; `-10` sorts after `-9`). */
export function listSessionIds(home: string): string[] {
  let names: string[];
  try {
    names = readdirSync(sessionsDir(home));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new DrbookError(`cannot read the sessions directory ${sessionsDir(home)}: ${errnoText(error)}`, ExitCode.usage);
  }
  return names
    .filter((name) => name.endsWith('.jsonl'))
    .map((name) => name.slice(0, -'.jsonl'.length))
    .sort(naturalCompare);
}

/** Compares runs of digits as numbers, the rest as text. */
function naturalCompare(a: string, b: string): number {
  const pa = a.match(/\d+|\D+/g) ?? [];
  const pb = b.match(/\d+|\D+/g) ?? [];
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    const x = pa[i]!;
    const y = pb[i]!;
    if (x === y) continue;
    const bothDigits = /^\d/.test(x) && /^\d/.test(y);
    if (bothDigits && x.length !== y.length) return x.length - y.length;
    return x < y ? -1 : 1;
  }
  return pa.length - pb.length;
}

/**
 * A session's summary from its files: journal and driver lock. Reads only. A journal that
 * cannot be read gives a DrbookError (exit 2).
 */
export function loadSessionSummary(home: string, id: string): SessionSummary {
  const path = sessionJournalPath(home, id);
  const text = readJournalText(path);
  const shownId = isAbsolute(id) ? basename(id).replace(/\.jsonl$/, '') : id;
  return summarizeSession(shownId, parseJournal(text), readDriverLock(path));
}

/**
 * The text of a journal file. Only a regular file is read: a FIFO named like a journal would
 * block the reader forever, and a device (a symlink to /dev/zero) would never end. Opened
 * non-blocking and checked on the descriptor, so nothing can be swapped in between.
 */
export function readJournalText(path: string): string {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    throw new DrbookError(`cannot read the journal ${path}: ${errnoText(error)}`, ExitCode.usage);
  }
  try {
    const stat = fstatSync(fd);
    if (stat.isDirectory()) throw new DrbookError(`cannot read the journal ${path}: is a directory`, ExitCode.usage);
    if (!stat.isFile()) throw new DrbookError(`cannot read the journal ${path}: not a regular file (a FIFO, socket or device)`, ExitCode.usage);
    return readFileSync(fd, 'utf8');
  } catch (error) {
    if (error instanceof DrbookError) throw error;
    throw new DrbookError(`cannot read the journal ${path}: ${errnoText(error)}`, ExitCode.usage);
  } finally {
    closeSync(fd);
  }
}

/** Summaries of every session, oldest first; an unreadable journal is left out. */
export function listSessions(home: string): SessionSummary[] {
  const out: SessionSummary[] = [];
  for (const id of listSessionIds(home)) {
    try {
      out.push(loadSessionSummary(home, id));
    } catch {
      // Vanished or unreadable: `sessions` lists what it can.
    }
  }
  return out;
}

/**
 * The session a command means. `given` may be an exact id, a unique prefix of one, the path
 * of a journal (`.jsonl`), or a runbook id (its latest session). Without `given`, the latest
 * session that passes `filter` (e.g. not finished, for resume). An exact id or a path is
 * returned even if `filter` rejects it, so the caller can say why it cannot use it.
 * Returns an id, or for a journal outside the sessions directory its absolute path (which
 * sessionJournalPath and sessionOutputDir accept).
 */
export function resolveSessionId(home: string, given?: string, filter?: (s: SessionSummary) => boolean): string {
  const accepts = (id: string): boolean => {
    if (!filter) return true;
    try {
      return filter(loadSessionSummary(home, id));
    } catch {
      return false;
    }
  };
  const ids = listSessionIds(home);

  if (given === undefined || given === '') {
    for (let i = ids.length - 1; i >= 0; i--) if (accepts(ids[i]!)) return ids[i]!;
    const dir = sessionsDir(home);
    if (ids.length === 0) throw new DrbookError(`no sessions yet in ${dir} (DRBOOK_HOME=${home}); start one with drbook run`, ExitCode.usage);
    // The usual reason at 2 a.m.: the session is being driven right now, in another terminal.
    const driven = ids.findLast((id) => {
      try {
        return loadSessionSummary(home, id).status === 'running';
      } catch {
        return false;
      }
    });
    const why = driven === undefined ? '' : `; ${driven} is being driven right now by another drbook (in another terminal?)`;
    throw new DrbookError(`no matching session among the ${ids.length} in ${dir}${why}; see drbook sessions`, ExitCode.usage);
  }

  if (given.endsWith('.jsonl') || given.includes('/')) {
    const path = resolve(given);
    if (!existsSync(path)) throw new DrbookError(`no journal at ${given}`, ExitCode.usage);
    const inHome = dirname(path) === resolve(sessionsDir(home)) && path.endsWith('.jsonl');
    return inHome ? basename(path, '.jsonl') : path;
  }

  if (ids.includes(given)) return given;

  const byPrefix = ids.filter((id) => id.startsWith(given));
  if (byPrefix.length === 1) return byPrefix[0]!;
  if (byPrefix.length > 1) {
    const narrowed = filter ? byPrefix.filter(accepts) : byPrefix;
    if (narrowed.length === 1) return narrowed[0]!;
    const shown = (narrowed.length > 0 ? narrowed : byPrefix).slice(-5).join(', ');
    throw new DrbookError(
      `session ${given} is ambiguous: it starts ${byPrefix.length} sessions (${shown}${byPrefix.length > 5 ? ', …' : ''}); give more of the id`,
      ExitCode.usage,
    );
  }

  // A runbook id: its latest session. The id names the runbook, but `db-2` may be runbook
  // db's second session of a second or runbook db-2: the journal says which.
  const byRunbook = ids.filter((id) => {
    if (!mayBeOfRunbook(id, given)) return false;
    try {
      return loadSessionSummary(home, id).runbook.id === given;
    } catch {
      return false;
    }
  });
  for (let i = byRunbook.length - 1; i >= 0; i--) if (accepts(byRunbook[i]!)) return byRunbook[i]!;
  if (byRunbook.length > 0) throw new DrbookError(`no matching session of runbook ${given} (it has ${byRunbook.length}); see drbook sessions`, ExitCode.usage);
  throw new DrbookError(`no session ${given} in ${sessionsDir(home)}; see drbook sessions`, ExitCode.usage);
}

/**
 * Whether a session id may be one of runbook `runbookId`: `<stamp>-<runbook id>`, with `-N`
 * for a second session in the same second. Only a hint (`db-2` may be runbook db's second
 * session of a second, or runbook db-2's): the journal says which.
 */
export function mayBeOfRunbook(id: string, runbookId: string): boolean {
  const rest = id.replace(/^\d{8}T\d{6}Z-/, '');
  return rest === runbookId || rest.startsWith(`${runbookId}-`);
}

/** The bytes of a journal's end read for its last line: session.ended is a few hundred. */
const LAST_LINE_BYTES = 8 * 1024;

/**
 * Whether a journal's last line is its session.ended: the session is over, whatever came
 * before. Reads only the end of the file, so looking through a long history stays quick;
 * false whenever that cannot be told from there (the caller then reads the whole journal).
 */
export function journalEndsEnded(path: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch {
    return false;
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile() || stat.size === 0) return false;
    const length = Math.min(stat.size, LAST_LINE_BYTES);
    const buffer = Buffer.alloc(length);
    const read = readSync(fd, buffer, 0, length, stat.size - length);
    const text = buffer.toString('utf8', 0, read);
    if (!text.endsWith('\n')) return false;
    const last = text.slice(text.lastIndexOf('\n', text.length - 2) + 1, -1);
    const event = JSON.parse(last) as { type?: unknown };
    return event.type === 'session.ended';
  } catch {
    return false;
  } finally {
    closeSync(fd);
  }
}
