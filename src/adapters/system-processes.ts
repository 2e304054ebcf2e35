/**
 * The Processes port on this machine, over /proc (process-tree.ts): what resume asks about a
 * command drbook lost track of.
 */
import { readFileSync } from 'node:fs';
import type { LiveProcess, Processes } from '../core/ports.js';
import { COMMAND_ENV, commandMark } from './process-group.js';
import { findByEnvironment, findCommandGroup, findDescendants, findStrays, isProcessAlive, readParent, readProcStart, terminateTree } from './process-tree.js';

/** The grace a process gets between SIGTERM and SIGKILL when resume stops it. */
const STOP_GRACE_MS = 5000;

export const systemProcesses: Processes = {
  alive: (pid, start) => isProcessAlive(pid, start),
  startOf: (pid) => readProcStart(pid),
  parentOf: (pid) => readParent(pid),
  descendants: (pid) => findDescendants(pid),
  groupMembers(pgid, since) {
    const ticks = typeof since === 'number' ? ticksAt(since) : since;
    return ticks === undefined ? [] : findStrays(pgid, ticks);
  },
  ownGroup: (pgid, start) => findCommandGroup(pgid, start),
  marked: (driverPid, step, attempt) => findByEnvironment(`${COMMAND_ENV}=${commandMark(driverPid, step, attempt)}`),
  ancestors() {
    const out = new Set<number>([process.pid]);
    for (let pid = process.ppid; pid > 1 && !out.has(pid); pid = readParent(pid) ?? 1) out.add(pid);
    return out;
  },
  async stop(processes) {
    const left: number[] = [];
    for (const p of processes) {
      const termination = terminateTree(
        p.pid,
        [
          { signal: 'SIGTERM', afterMs: 0 },
          { signal: 'SIGKILL', afterMs: STOP_GRACE_MS },
        ],
        p.start === undefined ? {} : { rootStart: p.start },
      );
      left.push(...(await termination.done).survivors);
    }
    return left;
  },
  waitForExit,
};

/**
 * Waits until every process has ended: true. Ctrl-C (SIGINT) stops the wait and leaves them
 * running: false. Without the handler, Ctrl-C here would kill drbook with nothing journaled.
 */
async function waitForExit(running: readonly LiveProcess[]): Promise<boolean> {
  let interrupted = false;
  const onSigint = (): void => {
    interrupted = true;
  };
  process.on('SIGINT', onSigint);
  try {
    while (!interrupted && running.some((p) => isProcessAlive(p.pid, p.start))) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } finally {
    process.off('SIGINT', onSigint);
  }
  return !interrupted;
}

/** Linux's USER_HZ, the unit of process start times in /proc/PID/stat: 100 on every current architecture. */
const CLOCK_TICKS_PER_SECOND = 100;

/**
 * A wall-clock instant as a process start time (clock ticks since boot), one tick early so
 * that the coarse clocks (ticks, /proc/uptime in hundredths) never leave out a process
 * started at that instant. Undefined off Linux.
 */
function ticksAt(ms: number): string | undefined {
  if (Number.isNaN(ms)) return undefined;
  let uptime: number;
  try {
    uptime = Number.parseFloat(readFileSync('/proc/uptime', 'utf8').split(' ')[0] ?? '');
  } catch {
    return undefined;
  }
  if (!Number.isFinite(uptime)) return undefined;
  const bootMs = Date.now() - uptime * 1000;
  return String(Math.max(0, Math.floor(((ms - bootMs) * CLOCK_TICKS_PER_SECOND) / 1000) - 1));
}
