/**
 * The running file of a command (CommandRequest.markRunning): while the process runs, a
 * small JSON file beside its log names it: step, attempt, pid, start time, process group.
 * An attempt of an `until:` poll has no start event in the journal (one event per
 * attempt, written when it ends), so after a `kill -9` of drbook this is what tells
 * `resume` which processes an attempt left running. It is removed when the command ends.
 *
 * It is written (and renamed into place, so it is never seen half-written) but not
 * fsynced: it only has to outlive drbook, not the machine: the processes it names do not
 * survive a crash of the machine either.
 */
import { readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CommandRequest, Executor } from '../core/ports.js';
import type { InFlightCommand } from '../core/session-summary.js';

export interface RunningRecord {
  step: string;
  attempt: number;
  pid: number;
  procStart?: string;
  pgid?: number;
  /** When the process was seen started (ISO UTC). */
  startedAt: string;
}

/** `05-wait-dns.log` → `05-wait-dns.running`. */
export function runningFileFor(logFile: string): string {
  return `${logFile.replace(/\.log$/, '')}.running`;
}

/** An executor that keeps the running file of each request that asks for one. */
export function markingRunning(inner: Executor): Executor {
  return {
    run: async (request: CommandRequest) => {
      if (request.markRunning !== true || request.logFile === undefined) return inner.run(request);
      const path = runningFileFor(request.logFile);
      const onSpawn = request.onSpawn;
      try {
        return await inner.run({
          ...request,
          // Written before the caller hears of the process: a failure to write it stops the
          // command (the executor does not run one it could not record).
          onSpawn: (pid, procStart, pgid) => {
            writeRunning(path, {
              step: request.step,
              attempt: request.attempt,
              pid,
              ...(procStart ? { procStart } : {}),
              ...(pgid !== undefined ? { pgid } : {}),
              startedAt: new Date().toISOString(),
            });
            onSpawn?.(pid, procStart, pgid);
          },
        });
      } finally {
        removeRunning(path);
      }
    },
  };
}

function writeRunning(path: string, record: RunningRecord): void {
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, JSON.stringify(record) + '\n', { mode: 0o600 });
  renameSync(temporary, path);
}

function removeRunning(path: string): void {
  try {
    unlinkSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

/** The running file's record, or undefined when there is none (or it cannot be read as one). */
export function readRunning(path: string): RunningRecord | undefined {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const r = value as Record<string, unknown>;
  if (
    typeof r.step !== 'string' ||
    typeof r.attempt !== 'number' ||
    typeof r.pid !== 'number' ||
    !Number.isInteger(r.pid) ||
    r.pid <= 0 ||
    typeof r.startedAt !== 'string'
  )
    return undefined;
  return {
    step: r.step,
    attempt: r.attempt,
    pid: r.pid,
    ...(typeof r.procStart === 'string' ? { procStart: r.procStart } : {}),
    ...(typeof r.pgid === 'number' && Number.isInteger(r.pgid) && r.pgid > 0 ? { pgid: r.pgid } : {}),
    startedAt: r.startedAt,
  };
}

/** Once resume has settled a cut poll: its running file (if the killed drbook left one) has told what it knew. */
export function clearRunningFile(inFlight: InFlightCommand, logDir: string): void {
  if (inFlight.log === undefined || inFlight.log.includes('/') || inFlight.log.includes('..')) return;
  removeRunning(runningFileFor(join(logDir, inFlight.log)));
}

/**
 * A cut poll as resume sees it: with the pid, start time and group of the attempt that was
 * running, when its running file is still there and names that very attempt.
 */
export function withRunningFile(inFlight: InFlightCommand, logDir: string): InFlightCommand {
  if (inFlight.poll === undefined || inFlight.log === undefined || inFlight.log.includes('/') || inFlight.log.includes('..')) return inFlight;
  const record = readRunning(runningFileFor(join(logDir, inFlight.log)));
  if (record === undefined || record.step !== inFlight.step || record.attempt !== inFlight.attempt) return inFlight;
  return {
    ...inFlight,
    pid: record.pid,
    ...(record.procStart === undefined ? {} : { procStart: record.procStart }),
    ...(record.pgid === undefined ? {} : { pgid: record.pgid }),
    startedAt: record.startedAt,
  };
}
