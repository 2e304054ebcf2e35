/**
 * Finding and signalling every process a command started. A command runs in a process
 * group of its own (see process-group.ts), signalled as a whole with `kill(-pgid)`; its
 * tree is also walked through parent pids, and remembered, because a process whose parent
 * dies is re-parented and no longer shows up as a descendant, and because, as a fallback,
 * a command may share drbook's group, which `kill(-pgid)` must then not touch.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

const hasProc = process.platform === 'linux' && safeReaddir('/proc') !== undefined;

interface ProcStat {
  pid: number;
  ppid: number;
  state: string;
  pgrp: number;
  /** The session id (field 6). */
  session: number;
  start: string;
}

function safeReaddir(dir: string): string[] | undefined {
  try {
    return readdirSync(dir);
  } catch {
    return undefined;
  }
}

function readStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) may itself contain spaces and parentheses.
  const close = text.lastIndexOf(')');
  if (close < 0) return undefined;
  const fields = text.slice(close + 2).split(' ');
  const state = fields[0];
  const ppid = Number(fields[1]);
  const pgrp = Number(fields[2]);
  const session = Number(fields[3]);
  const start = fields[19];
  if (state === undefined || start === undefined || !Number.isInteger(ppid)) return undefined;
  return { pid, ppid, state, pgrp, session, start };
}

/**
 * The start time of a process (field 22 of /proc/<pid>/stat, in clock ticks since boot),
 * which tells a live process from a later one that reused its pid. Undefined off Linux
 * or when the process is gone.
 */
export function readProcStart(pid: number): string | undefined {
  return hasProc ? readStat(pid)?.start : undefined;
}

/**
 * Whether `pid` is a running process and, when `procStart` is given and can be checked,
 * the same one that was recorded. A zombie counts as dead: it runs nothing any more.
 */
export function isProcessAlive(pid: number, procStart?: string): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  if (hasProc) {
    const stat = readStat(pid);
    if (stat === undefined || stat.state === 'Z' || stat.state === 'X') return false;
    return procStart === undefined || stat.start === procStart;
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, it is just not ours to signal.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The parent of `pid` (Linux only). */
export function readParent(pid: number): number | undefined {
  return hasProc ? readStat(pid)?.ppid : undefined;
}

/** The state letter of `pid` (R, S, D, T for stopped, Z…), Linux only. */
export function readProcessState(pid: number): string | undefined {
  return hasProc ? readStat(pid)?.state : undefined;
}

/** Sends `signal` to every process of the group `pgid` (never drbook's own: pgid must be the command's). */
export function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  if (Number.isInteger(pgid) && pgid > 1) signalPid(-pgid, signal);
}

/** The process group of `pid` (Linux only). */
export function readProcessGroup(pid: number): number | undefined {
  return hasProc ? readStat(pid)?.pgrp : undefined;
}

/**
 * Processes a command left behind in drbook's process group: orphans re-parented away from
 * the command when their parent died (`(sleep 300 &)`, or a background job after the shell
 * died of the terminal's Ctrl-C), which parent pids no longer lead to. Only orphans (whose
 * parent is outside the group) started since the command (`since`, from readProcStart)
 * qualify, which leaves alone whatever else shares the group: a pipeline drbook is part of
 * started before it, and children of other processes of the group. Linux only.
 */
export function findStrays(pgid: number, since: string): number[] {
  if (!hasProc) return [];
  const stats: ProcStat[] = [];
  for (const name of safeReaddir('/proc') ?? []) {
    if (!/^\d+$/.test(name)) continue;
    const stat = readStat(Number(name));
    if (stat !== undefined && stat.state !== 'Z' && stat.state !== 'X') stats.push(stat);
  }
  const group = new Map(stats.map((stat) => [stat.pid, stat.pgrp]));
  const floor = BigInt(since);
  return stats
    .filter((stat) => stat.pgrp === pgid && group.get(stat.ppid) !== pgid && stat.pid !== process.pid && BigInt(stat.start) >= floor)
    .map((stat) => stat.pid);
}

/**
 * Live members of a process group (not drbook itself), started at or after `since` when given.
 * With `orSession`, also of the session of that id: a command started in a new session
 * (setsid) whose processes moved to groups of their own (GNU `timeout`, `set -m` jobs) are
 * still in it; a daemon that left with setsid is not. Linux only.
 */
export function findGroupMembers(pgid: number, since?: string, orSession = false): number[] {
  if (!hasProc || !Number.isInteger(pgid) || pgid <= 1) return [];
  const floor = since === undefined ? undefined : BigInt(since);
  const out: number[] = [];
  for (const name of safeReaddir('/proc') ?? []) {
    if (!/^\d+$/.test(name)) continue;
    const stat = readStat(Number(name));
    if (
      stat === undefined ||
      (stat.pgrp !== pgid && !(orSession && stat.session === pgid)) ||
      stat.state === 'Z' ||
      stat.state === 'X' ||
      stat.pid === process.pid
    )
      continue;
    if (floor !== undefined && BigInt(stat.start) < floor) continue;
    out.push(stat.pid);
  }
  return out;
}

/**
 * What is left of a command that led its own process group (`pgid` is its shell's pid),
 * after drbook lost it: every live member of the group started since the shell. If a
 * process with that pid lives and started at another time, the pid (and so the group id)
 * was reused after the whole group had ended: nothing of the command is left. (The kernel
 * gives no new process a group's id while that group has members.)
 */
export function findCommandGroup(pgid: number, procStart: string): number[] {
  if (!hasProc) return isProcessAlive(pgid, procStart) ? [pgid] : [];
  const leader = readStat(pgid);
  if (leader !== undefined && leader.start !== procStart && (leader.pgrp === pgid || leader.session === pgid)) return [];
  return findGroupMembers(pgid, procStart, true);
}

/** Live processes whose environment holds `entry` (`NAME=value`) exactly: only this user's are readable. Linux only. */
export function findByEnvironment(entry: string): number[] {
  if (!hasProc) return [];
  const wanted = Buffer.from(`${entry}\0`);
  const out: number[] = [];
  for (const name of safeReaddir('/proc') ?? []) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    let environ: Buffer;
    try {
      environ = readFileSync(`/proc/${name}/environ`);
    } catch {
      continue;
    }
    const at = environ.indexOf(wanted);
    if (at === 0 || (at > 0 && environ[at - 1] === 0)) {
      const stat = readStat(Number(name));
      if (stat !== undefined && stat.state !== 'Z' && stat.state !== 'X') out.push(stat.pid);
    }
  }
  return out;
}

/** Every process as [pid, ppid]. */
function processTable(): Array<[number, number]> {
  if (hasProc) {
    const table: Array<[number, number]> = [];
    for (const name of safeReaddir('/proc') ?? []) {
      if (!/^\d+$/.test(name)) continue;
      const stat = readStat(Number(name));
      if (stat !== undefined && stat.state !== 'Z' && stat.state !== 'X') table.push([stat.pid, stat.ppid]);
    }
    return table;
  }
  try {
    const out = execFileSync('ps', ['-A', '-o', 'pid=,ppid='], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const table: Array<[number, number]> = [];
    for (const line of out.split('\n')) {
      const [pid, ppid] = line.trim().split(/\s+/).map(Number);
      if (pid !== undefined && ppid !== undefined && Number.isInteger(pid) && Number.isInteger(ppid)) table.push([pid, ppid]);
    }
    return table;
  } catch {
    return [];
  }
}

/** Descendants of each root (not the roots), parents before their children. */
export function findDescendants(roots: number | readonly number[]): number[] {
  const rootList = typeof roots === 'number' ? [roots] : roots;
  const children = new Map<number, number[]>();
  for (const [pid, ppid] of processTable()) {
    if (pid === ppid) continue;
    const list = children.get(ppid);
    if (list === undefined) children.set(ppid, [pid]);
    else list.push(pid);
  }
  const seen = new Set<number>(rootList);
  const out: number[] = [];
  const queue = [...rootList];
  for (let pid = queue.shift(); pid !== undefined; pid = queue.shift()) {
    for (const child of children.get(pid) ?? []) {
      if (seen.has(child)) continue;
      seen.add(child);
      out.push(child);
      queue.push(child);
    }
  }
  return out;
}

function signalPid(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // Already gone, or not ours (a command run through sudo): nothing more to do.
  }
}

/**
 * Sends `signal` to `pid` and all its current descendants, deepest first so that a
 * parent does not get the chance to restart a child it sees die. Returns the pids signalled.
 */
export function killTree(pid: number, signal: NodeJS.Signals = 'SIGTERM'): number[] {
  const tree = [pid, ...findDescendants(pid)];
  for (const target of [...tree].reverse()) signalPid(target, signal);
  return tree;
}

export interface KillStage {
  signal: NodeJS.Signals;
  /** Delay after the previous stage (or the start, for the first one). */
  afterMs: number;
}

export interface Termination {
  /** Resolves once every process of the tree is dead, or after the last stage and a bounded wait. */
  readonly done: Promise<{ survivors: number[] }>;
  /** Jumps to the last stage now (a second Ctrl-C). */
  hurry(): void;
}

/**
 * Signals a process tree in stages (e.g. SIGTERM, then SIGKILL 5 s later), stopping early
 * once nothing is left. Every process seen in the tree is remembered with its start time,
 * so an orphan re-parented away from the tree still gets the later signals, and a pid reused
 * by an unrelated process does not.
 */
export function terminateTree(
  rootPid: number,
  stages: readonly KillStage[],
  options: {
    pollMs?: number;
    finalWaitMs?: number;
    rootStart?: string;
    /** Also stop the command's strays in this process group (see findStrays). */
    group?: { pgid: number; since: string };
    /** The command leads this process group: every stage goes to the whole group too. */
    ownGroup?: number;
  } = {},
): Termination {
  const pollMs = options.pollMs ?? 50;
  const finalWaitMs = options.finalWaitMs ?? 2000;
  const known = new Map<number, string | undefined>();
  if (options.rootStart !== undefined) known.set(rootPid, options.rootStart);
  let lastSignal: NodeJS.Signals | undefined;
  const remember = (pid: number): void => {
    if (known.has(pid)) return;
    known.set(pid, readProcStart(pid));
    // Forked after the last stage was sent (a loop starting its next `sleep`): it gets that
    // signal too, or it would outlive everything by its own means.
    if (lastSignal !== undefined) signalPid(pid, lastSignal);
  };
  const alive = (): number[] => [...known].filter(([pid, start]) => isProcessAlive(pid, start)).map(([pid]) => pid);
  const rescan = (): void => {
    remember(rootPid);
    const roots = alive();
    for (const pid of findDescendants(roots.length > 0 ? roots : [rootPid])) remember(pid);
    if (options.group !== undefined) {
      for (const pid of findStrays(options.group.pgid, options.group.since)) {
        remember(pid);
        for (const child of findDescendants(pid)) remember(child);
      }
    }
    if (options.ownGroup !== undefined) {
      for (const pid of findGroupMembers(options.ownGroup, undefined, true)) {
        remember(pid);
        for (const child of findDescendants(pid)) remember(child);
      }
    }
  };

  let next = 0;
  let stageDue = 0;
  let finalDeadline = Infinity;
  let timer: NodeJS.Timeout | undefined;
  let resolveDone!: (value: { survivors: number[] }) => void;
  const done = new Promise<{ survivors: number[] }>((resolve) => {
    resolveDone = resolve;
  });
  let finished = false;

  const finish = (survivors: number[]): void => {
    if (finished) return;
    finished = true;
    if (timer !== undefined) clearTimeout(timer);
    resolveDone({ survivors });
  };

  const sendStage = (stage: KillStage): void => {
    rescan();
    lastSignal = stage.signal;
    // The whole group at once (what forks meanwhile too), then the tree, deepest (latest
    // found) first, as in killTree: what left the group is signalled by pid.
    if (options.ownGroup !== undefined) signalGroup(options.ownGroup, stage.signal);
    for (const pid of alive().reverse()) signalPid(pid, stage.signal);
    next += 1;
    const following = stages[next];
    if (following !== undefined) stageDue = performance.now() + following.afterMs;
    else finalDeadline = performance.now() + finalWaitMs;
  };

  const tick = (): void => {
    timer = undefined;
    if (finished) return;
    rescan();
    const living = alive();
    if (living.length === 0 && next > 0) return finish([]);
    const now = performance.now();
    const stage = stages[next];
    if (stage !== undefined && now >= stageDue) sendStage(stage);
    else if (stage === undefined && now >= finalDeadline) return finish(living);
    const wake = stages[next] !== undefined ? stageDue : finalDeadline;
    timer = setTimeout(tick, Math.max(1, Math.min(pollMs, wake - performance.now())));
  };

  if (stages.length === 0) {
    finish(alive());
  } else {
    stageDue = performance.now() + (stages[0]?.afterMs ?? 0);
    tick();
  }

  return {
    done,
    hurry: () => {
      if (finished) return;
      const last = stages[stages.length - 1];
      if (last === undefined || next >= stages.length) return;
      next = stages.length - 1;
      if (timer !== undefined) clearTimeout(timer);
      sendStage(last);
      timer = setTimeout(tick, pollMs);
    },
  };
}

const TTY_LINK = /^\/dev\/(tty|pts\/|console)/;
// read(2), readv(2), pread64(2) by architecture: a process blocked in one of these on a
// terminal is waiting for the operator to type something.
const READ_SYSCALLS: Record<string, readonly number[]> = { x64: [0, 17, 19], arm64: [63, 65, 67], ia32: [3, 145, 180], arm: [3, 145, 180] };

/**
 * Whether any of `pids` is waiting for the operator at the terminal: it holds /dev/tty
 * open (sudo, ssh and passwd prompt there) or is blocked reading a terminal. The elapsed
 * time status must not be drawn over such a prompt. Linux only; false elsewhere.
 */
export function isWaitingForTerminal(pids: readonly number[]): boolean {
  if (!hasProc) return false;
  const reads = READ_SYSCALLS[process.arch] ?? [];
  for (const pid of pids) {
    const fds = safeReaddir(`/proc/${pid}/fd`) ?? [];
    for (const fd of fds) {
      if (link(`/proc/${pid}/fd/${fd}`) === '/dev/tty') return true;
    }
    let syscall: string;
    try {
      syscall = readFileSync(`/proc/${pid}/syscall`, 'utf8');
    } catch {
      continue;
    }
    const [nr, fdArg] = syscall.trim().split(' ');
    if (nr === undefined || fdArg === undefined || !reads.includes(Number(nr))) continue;
    const target = link(`/proc/${pid}/fd/${Number.parseInt(fdArg, 16)}`);
    if (target !== undefined && TTY_LINK.test(target)) return true;
  }
  return false;
}

function link(path: string): string | undefined {
  try {
    return readlinkSync(path);
  } catch {
    return undefined;
  }
}
