/**
 * Before `drbook run` starts a live session: the sessions of the same runbook that are not
 * over. One still driven by a live drbook refuses the start (two walks of one recovery
 * would run its steps twice, side by side); one paused or left by a dead drbook is offered
 * for resume first, since `run` typed for `resume` at 2 a.m. would walk it all again
 * (beside a command that may still be running). Rehearsals never execute commands: they
 * are neither checked nor counted. Pure: the command reads the sessions and the processes.
 */
import { survivors, topPids } from './left-behind.js';
import type { Processes } from './ports.js';
import type { SessionStatus } from './session.js';
import type { InFlightCommand } from './session-summary.js';
import type { Mode } from './journal-events.js';

/** The flag that starts a live run beside sessions of the same runbook that are not over. */
export const PARALLEL_FLAG = '--parallel';

/** A session of the runbook, as its journal and driver lock tell. */
export interface RunbookSession {
  id: string;
  runbookId: string;
  mode: Mode;
  status: SessionStatus;
  /** Paused or interrupted at this step. */
  currentStep?: string;
  /** The live holder of its driver lock (status running). pid 0: a lock being written right now. */
  driver?: { pid: number; host: string; since: string };
  /** The command the journal has in flight, and the drbook that started it. */
  inFlight?: InFlightCommand;
  driverPid?: number;
}

/** A session not over that the operator should hear of, with what of its command still runs. */
export interface OpenSession {
  session: RunbookSession;
  /** The pids at the top of what still runs of its in-flight command (as resume names them). */
  running: number[];
}

export type StartCheck =
  | { verdict: 'go' }
  /** Exit 2 with this message. */
  | { verdict: 'refuse'; message: string }
  /** In a terminal: tell `lines`, then ask to resume `resume` (the default), start anyway, or quit. */
  | { verdict: 'ask'; resume: string; open: OpenSession[]; lines: string[] };

export interface StartCheckInput {
  runbookId: string;
  /** --yes: nobody to ask, so an open session refuses the start. */
  yes: boolean;
  /** The sessions of this runbook id, oldest first. */
  sessions: readonly RunbookSession[];
  processes: Processes;
  /** Open sessions the operator already chose to start beside: asked about once. */
  accepted?: ReadonlySet<string>;
}

export function checkStart(input: StartCheckInput): StartCheck {
  const { runbookId, yes, processes } = input;
  const live = input.sessions.filter((s) => s.mode === 'live' && s.runbookId === runbookId);
  const driven = live.filter((s) => s.status === 'running');
  if (driven.length > 0) return { verdict: 'refuse', message: drivenMessage(runbookId, driven) };

  const open = live
    .filter((s) => (s.status === 'paused' || s.status === 'interrupted') && input.accepted?.has(s.id) !== true)
    .map((session): OpenSession => ({ session, running: stillRunning(processes, session) }));
  if (open.length === 0) return { verdict: 'go' };
  // The one to offer: one whose command still runs (the payment half done), else the latest.
  const latest = [...open].reverse().find((o) => o.running.length > 0) ?? open[open.length - 1]!;
  const lines = openLines(runbookId, open);
  if (yes) {
    return {
      verdict: 'refuse',
      message: `${lines[0]}: ${lines.slice(1).join('; ')}; continue it with drbook resume ${latest.session.id}, or add ${PARALLEL_FLAG} to start a new session beside it anyway`,
    };
  }
  return { verdict: 'ask', resume: latest.session.id, open, lines };
}

/** What of a session's in-flight command still runs on its own: the pids resume would wait for or stop. */
function stillRunning(processes: Processes, session: RunbookSession): number[] {
  if (session.inFlight === undefined || session.status !== 'interrupted') return [];
  return topPids(processes, survivors(processes, session.inFlight, session.driverPid));
}

function drivenMessage(runbookId: string, driven: readonly RunbookSession[]): string {
  const s = driven[driven.length - 1]!;
  const d = s.driver;
  const who = d === undefined || d.pid === 0 ? 'a drbook starting it right now' : `drbook pid ${d.pid} on host ${d.host}${d.since ? ` since ${d.since}` : ''}`;
  const more = driven.length > 1 ? ` (and ${driven.length - 1} more: drbook sessions)` : '';
  return (
    `runbook ${runbookId} is already being run: session ${s.id} is driven by ${who}${more}. ` +
    `Add to it with drbook note --session ${s.id} TEXT or drbook mark MILESTONE --session ${s.id}; ` +
    `or wait for it to end (drbook sessions); or add ${PARALLEL_FLAG} to start a second live run beside it anyway`
  );
}

function openLines(runbookId: string, open: readonly OpenSession[]): string[] {
  const lines = [`runbook ${runbookId} has ${open.length === 1 ? 'a session' : `${open.length} sessions`} that did not end`];
  for (const { session: s, running } of open) {
    const where = s.currentStep !== undefined ? ` at step ${s.currentStep}` : '';
    const gone = s.status === 'interrupted' && s.driverPid !== undefined ? ` (drbook pid ${s.driverPid} is gone)` : '';
    let line = `session ${s.id}: ${s.status}${where}${gone}`;
    if (s.inFlight !== undefined && s.status === 'interrupted') {
      const pids = running.length === 1 ? `pid ${running[0]}` : `pids ${running.join(', ')}`;
      line +=
        running.length > 0
          ? `; its command is still running on its own (${pids}): $ ${firstLine(s.inFlight.command)}`
          : `; its command was running when drbook stopped: $ ${firstLine(s.inFlight.command)}`;
    }
    lines.push(line);
  }
  return lines;
}

/** A multi-line command (`run: |`) shown by its first line: these are one-line messages. */
function firstLine(command: string): string {
  const lines = command.trim().split('\n');
  return lines.length > 1 ? `${lines[0]} …` : (lines[0] ?? '');
}
