/**
 * Locks on O_EXCL lock files. Node has no flock(2), and an O_EXCL create is atomic on every
 * local file system (and on NFSv3+), so a lock is "the file exists". What such locks lack is
 * automatic release when the holder dies, so each lock file names its holder and a waiter
 * may break a lock whose holder is provably gone.
 *
 * Two locks, for two time scales:
 * - the append lock (`<id>.append.lock`) is held for one journal append (well under a
 *   millisecond plus an fsync) so that computing `seq`/`prev` from the file's last line and
 *   writing the next line happen as one step across every process writing the session;
 * - the driver lock (`<id>.lock`) is held for a whole `run`/`resume`, so two terminals
 *   never drive the same session at once, and `sessions` can tell a running session.
 */
import { closeSync, fstatSync, linkSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { basename } from 'node:path';
import { DrbookError, ExitCode } from '../core/errors.js';
import { isProcessAlive, readProcStart } from './process-tree.js';
import { errnoText } from './file-text.js';

/**
 * An append lock held by a live process on this host is only broken after this long.
 * An append takes milliseconds, but an fsync on a failing disk or NFS (likely during a
 * disaster) can take seconds, and breaking a live holder's lock forks the hash chain.
 * A lock whose holder is dead, or was written by another host, is judged by age alone.
 */
export const APPEND_LOCK_STALE_MS = 120_000;
/** A waiter gives up after this: past the stale age, so a stale lock is always broken first. */
const APPEND_LOCK_GIVE_UP_MS = APPEND_LOCK_STALE_MS + 5_000;

const sleepCell = new Int32Array(new SharedArrayBuffer(4));
/** Blocks the thread for `ms`: appends are synchronous by contract (the Journal port). */
export function sleepSync(ms: number): void {
  Atomics.wait(sleepCell, 0, 0, ms);
}

interface Holder {
  pid: number;
  host: string;
  /** ISO time the lock was taken. */
  since: string;
  /** Linux start time of the holder, in clock ticks since boot: tells a reused pid apart. */
  procStart?: string;
}

const thisHost = hostname();
const ownProcStart = readProcStart(process.pid);

function holderAlive(holder: Holder): boolean {
  // Another host's processes cannot be checked from here: assume the best of them.
  return holder.host !== thisHost || isProcessAlive(holder.pid, holder.procStart);
}

function parseHolder(text: string): Holder | undefined {
  try {
    const value = JSON.parse(text) as Partial<Holder>;
    if (typeof value.pid !== 'number' || typeof value.host !== 'string') return undefined;
    return {
      pid: value.pid,
      host: value.host,
      since: typeof value.since === 'string' ? value.since : '',
      ...(typeof value.procStart === 'string' ? { procStart: value.procStart } : {}),
    };
  } catch {
    return undefined;
  }
}

function ownHolder(): Holder {
  return { pid: process.pid, host: thisHost, since: new Date().toISOString(), ...(ownProcStart === undefined ? {} : { procStart: ownProcStart }) };
}

/** Creates the lock file if absent; returns its inode, or undefined when it already exists. */
function tryCreate(lockPath: string, holder: Holder, what: string): number | undefined {
  let fd: number;
  try {
    fd = openSync(lockPath, 'wx', 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return undefined;
    throw new DrbookError(`cannot lock ${what}: ${lockPath}: ${errnoText(error)}`, ExitCode.usage);
  }
  try {
    writeSync(fd, JSON.stringify(holder) + '\n');
    return fstatSync(fd).ino;
  } catch (error) {
    // A lock file we could not fill (ENOSPC) would block everyone for the stale delay.
    unlinkQuietly(lockPath);
    throw new DrbookError(`cannot lock ${what}: ${lockPath}: ${errnoText(error)}`, ExitCode.usage);
  } finally {
    closeQuietly(fd);
  }
}

interface Existing {
  ino: number;
  ageMs: number;
  holder?: Holder;
}

function readExisting(lockPath: string): Existing | undefined {
  try {
    const st = statSync(lockPath);
    const text = readFileSync(lockPath, 'utf8');
    const holder = parseHolder(text);
    return { ino: st.ino, ageMs: Date.now() - st.mtimeMs, ...(holder ? { holder } : {}) };
  } catch {
    // Gone between the failed create and now: the caller simply tries again.
    return undefined;
  }
}

/**
 * Removes a stale lock file, but only the one that was judged stale: between that judgement
 * and the removal another waiter may have broken it and taken a fresh lock. Renaming moves
 * whatever is there out of the way atomically; if it was not the stale file, it is put back
 * with link(2), which never overwrites.
 */
function breakStale(lockPath: string, staleIno: number): void {
  const aside = `${lockPath}.stale-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    renameSync(lockPath, aside);
  } catch {
    return;
  }
  try {
    if (statSync(aside).ino !== staleIno) {
      try {
        linkSync(aside, lockPath);
      } catch {
        // A third process took the lock meanwhile; the one we moved loses it. Two holders
        // for one append at worst: lines still never tear (O_APPEND), a seq may repeat.
      }
    }
  } finally {
    unlinkQuietly(aside);
  }
}

function removeIfOurs(lockPath: string, ino: number): void {
  try {
    const st = statSync(lockPath);
    if (st.ino !== ino) return;
    const holder = parseHolder(readFileSync(lockPath, 'utf8'));
    if (holder && (holder.pid !== process.pid || holder.host !== thisHost)) return;
    unlinkSync(lockPath);
  } catch {
    // Already gone (broken as stale after a very long pause): nothing to release.
  }
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // Closing twice, or a descriptor already invalid: nothing left to do.
  }
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Already gone.
  }
}

export function appendLockPath(journalPath: string): string {
  return journalPath.replace(/\.jsonl$/, '') + '.append.lock';
}

export function driverLockPath(journalPath: string): string {
  return journalPath.replace(/\.jsonl$/, '') + '.lock';
}

/** Journals whose append lock this process holds: a nested append must not wait for itself. */
const appendLocksHeld = new Set<string>();

/**
 * Runs `fn` holding the journal's append lock. Synchronous: waiters poll every ~1 ms. A lock
 * whose holder is dead on this host, or older than APPEND_LOCK_STALE_MS, is broken.
 */
export function withAppendLock<T>(journalPath: string, fn: () => T): T {
  const lockPath = appendLockPath(journalPath);
  if (appendLocksHeld.has(lockPath)) return fn();
  const ino = holdShortLock(lockPath, `the journal ${basename(journalPath)}`, `the write lock of ${journalPath}`);
  appendLocksHeld.add(lockPath);
  try {
    return fn();
  } finally {
    appendLocksHeld.delete(lockPath);
    removeIfOurs(lockPath, ino);
  }
}

/**
 * Runs `fn` holding the lock file `lockPath`, as the append lock is held: for a short,
 * synchronous piece of work that other drbooks must not interleave with (starting a
 * session of a runbook). `what` names it in errors.
 */
export function withShortLock<T>(lockPath: string, what: string, fn: () => T): T {
  const ino = holdShortLock(lockPath, what, `the lock of ${what}`);
  try {
    return fn();
  } finally {
    removeIfOurs(lockPath, ino);
  }
}

/** Takes a short-held lock file, waiting for it; its inode, for removeIfOurs. */
function holdShortLock(lockPath: string, what: string, waitedFor: string): number {
  const holder = ownHolder();
  const deadline = Date.now() + APPEND_LOCK_GIVE_UP_MS;
  for (;;) {
    const ino = tryCreate(lockPath, holder, what);
    if (ino !== undefined) return ino;
    const existing = readExisting(lockPath);
    if (existing) {
      const dead = existing.holder !== undefined && existing.holder.host === thisHost && !isProcessAlive(existing.holder.pid, existing.holder.procStart);
      if (dead || existing.ageMs > APPEND_LOCK_STALE_MS) {
        breakStale(lockPath, existing.ino);
        continue;
      }
    }
    if (Date.now() > deadline) {
      const who = existing?.holder ? ` (held by pid ${existing.holder.pid} on host ${existing.holder.host})` : '';
      throw new DrbookError(`timed out waiting for ${waitedFor}${who}; remove ${lockPath} if no drbook is running`, ExitCode.usage);
    }
    sleepSync(1);
  }
}

export interface DriverLock {
  /** Idempotent; removes the lock file only while it is still this process's. */
  release(): void;
  /** Set when a lock left by a dead process (or, with force, another host's) was taken over. */
  tookOverFrom?: { pid: number; host: string };
}

export interface DriverLockInfo {
  pid: number;
  host: string;
  since: string;
  /** On this host: the process still runs. On another host: assumed, it cannot be checked. */
  alive: boolean;
}

/** How long a lock file may stay empty or unreadable before it counts as abandoned. */
const HALF_WRITTEN_GRACE_MS = 2_000;

/**
 * Takes the session's driver lock, or explains who holds it. A lock left by a dead process
 * of this host is taken over (reported in `tookOverFrom`, so the caller can warn); another
 * host's lock is taken over only with `force`, because its process cannot be checked.
 */
export function acquireDriverLock(journalPath: string, options: { force?: boolean } = {}): DriverLock {
  const lockPath = driverLockPath(journalPath);
  const session = basename(journalPath).replace(/\.jsonl$/, '');
  let tookOverFrom: { pid: number; host: string } | undefined;
  for (let tries = 0; ; tries++) {
    const ino = tryCreate(lockPath, ownHolder(), `session ${session}`);
    if (ino !== undefined) return driverHandle(lockPath, ino, tookOverFrom);
    if (tries > 50)
      throw new DrbookError(`cannot take the lock ${lockPath}: it keeps changing; is another drbook starting on session ${session}?`, ExitCode.usage);
    const existing = readExisting(lockPath);
    if (!existing) continue;
    const holder = existing.holder;
    if (!holder) {
      // Created but not yet written by its owner, or cut by a crash right there.
      if (existing.ageMs < HALF_WRITTEN_GRACE_MS) {
        sleepSync(20);
        continue;
      }
      breakStale(lockPath, existing.ino);
      continue;
    }
    if (holder.host === thisHost && !isProcessAlive(holder.pid, holder.procStart)) {
      tookOverFrom = { pid: holder.pid, host: holder.host };
      breakStale(lockPath, existing.ino);
      continue;
    }
    if (holder.host !== thisHost && options.force === true) {
      tookOverFrom = { pid: holder.pid, host: holder.host };
      breakStale(lockPath, existing.ino);
      continue;
    }
    const since = holder.since ? ` since ${holder.since}` : '';
    if (holder.host === thisHost) {
      throw new DrbookError(
        `session ${session} is being driven by pid ${holder.pid} on host ${holder.host}${since}; stop that drbook first, or add notes with drbook note`,
        ExitCode.usage,
      );
    }
    throw new DrbookError(
      `session ${session} is being driven by pid ${holder.pid} on host ${holder.host}${since}; this host cannot check that process: if it is gone, run again with --force to take the session over`,
      ExitCode.usage,
    );
  }
}

function driverHandle(lockPath: string, ino: number, tookOverFrom: { pid: number; host: string } | undefined): DriverLock {
  let released = false;
  const release = (): void => {
    if (released) return;
    released = true;
    process.removeListener('exit', release);
    removeIfOurs(lockPath, ino);
  };
  // A normal exit (process.exit included) releases it even if the caller's finally never ran.
  process.on('exit', release);
  return tookOverFrom ? { release, tookOverFrom } : { release };
}

/** Who drives a session, if anyone holds its lock file. Never modifies the lock. */
export function readDriverLock(journalPath: string): DriverLockInfo | undefined {
  const existing = readExisting(driverLockPath(journalPath));
  if (!existing) return undefined;
  const holder = existing.holder;
  if (!holder) {
    // Being written right now counts as alive; an old empty file is debris.
    return existing.ageMs < HALF_WRITTEN_GRACE_MS ? { pid: 0, host: '', since: '', alive: true } : undefined;
  }
  return { pid: holder.pid, host: holder.host, since: holder.since, alive: holderAlive(holder) };
}
