/**
 * Stopping a running command and everything it started: on its timeout, on Ctrl-C, and when
 * drbook itself is being ended (SIGTERM, SIGHUP, SIGQUIT, a closed terminal). Each stops
 * the whole group and tree in stages (see terminateTree).
 */
import type { GroupMode } from './process-group.js';
import { takeTerminalBack, terminalLost } from './process-group.js';
import { readProcessState, readProcStart, signalGroup, terminateTree } from './process-tree.js';
import type { KillStage, Termination } from './process-tree.js';

/** Ctrl-C gives the command this long to stop on SIGINT before SIGTERM. */
const SIGINT_GRACE_MS = 1000;
/** How often a command in the terminal's foreground checks that the terminal is still there. */
const FOREGROUND_CHECK_MS = 250;
/** Signals that end drbook; while a command runs they stop the command's tree first. */
export const FATAL_SIGNALS: Readonly<Record<string, number>> = { SIGHUP: 1, SIGQUIT: 3, SIGTERM: 15 };

let onFatalSignal: ((signal: NodeJS.Signals) => void) | undefined;
let fatalListening = false;

/**
 * While a command runs, SIGTERM, SIGHUP and SIGQUIT go to `stop` instead of ending drbook.
 * The listeners stay once installed, so a signal that races the command's own exit is
 * never lost to a listener removed a moment too early; outside a command they end drbook
 * as the default action would (exit 128+n).
 */
export function watchFatalSignals(stop: (signal: NodeJS.Signals) => void): () => void {
  if (!fatalListening) {
    fatalListening = true;
    for (const name of Object.keys(FATAL_SIGNALS)) {
      process.on(name, (signal: NodeJS.Signals) => {
        if (onFatalSignal !== undefined) onFatalSignal(signal);
        else process.exit(128 + (FATAL_SIGNALS[signal] ?? 15));
      });
    }
  }
  onFatalSignal = stop;
  return () => {
    if (onFatalSignal === stop) onFatalSignal = undefined;
  };
}

export interface CommandStopOptions {
  pid: number;
  procStart: string | undefined;
  mode: GroupMode;
  pgid: number | undefined;
  timeoutMs: number | undefined;
  /** Between SIGTERM and SIGKILL. */
  killGraceMs: number;
  /** A fatal signal that came before the command was watched. */
  early: NodeJS.Signals | undefined;
  /** For drbook's own word on the screen. */
  say: (line: string) => void;
  /** Whether the shell has already ended (exited, its exit not yet seen by node); read from /proc by default. */
  shellEnded?: () => boolean;
}

export class CommandStop {
  timedOut = false;
  interrupted = false;
  /** drbook itself is being ended by this signal. */
  stoppedBy: NodeJS.Signals | undefined;
  /** stoppedBy came after the shell had succeeded by itself: the command's own result stands. */
  stoppedAfterExit = false;

  private termination: Termination | undefined;
  private exited = false;
  /**
   * The stop (a signal to drbook, Ctrl-C) came when the shell had already exited but before
   * node reported it: it reached only what the shell left behind, not the command itself.
   */
  private stopCameAfterEnd = false;
  /** The shell exited with status 0 before anything was stopped. */
  private exitedOk = false;
  private readonly unwatch: () => void;
  private readonly timeoutTimer: NodeJS.Timeout | undefined;
  private readonly foregroundTimer: NodeJS.Timeout | undefined;
  private readonly onSigint = (): void => {
    if (this.endedBeforeStop()) {
      // Ctrl-C after the shell had ended: its result stands, drbook pauses after journaling it.
      this.fatal('SIGINT');
      return;
    }
    this.interrupted = true;
    // A second Ctrl-C, or one during a timeout's grace: no more waiting.
    if (this.termination !== undefined) this.termination.hurry();
    else this.terminate(this.interruptStages());
  };

  constructor(private readonly options: CommandStopOptions) {
    process.on('SIGINT', this.onSigint);
    // SIGTERM, SIGHUP (an ssh drop, a closed terminal) and SIGQUIT would kill drbook and
    // leave the command's children running unseen: stop the whole group first, then let
    // the walk journal it and end with 128+n.
    this.unwatch = watchFatalSignals((signal) => this.fatal(signal));
    if (options.early !== undefined) this.fatal(options.early);
    if (options.timeoutMs !== undefined) {
      this.timeoutTimer = setTimeout(() => {
        if (this.exited || this.termination !== undefined) return;
        this.timedOut = true;
        this.terminate(this.fatalStages());
      }, options.timeoutMs);
    }
    if (options.mode === 'foreground') this.foregroundTimer = setInterval(() => this.checkForeground(), FOREGROUND_CHECK_MS);
  }

  /**
   * The shell has exited. In the foreground, drbook takes the terminal back. A Ctrl-C that
   * reached the shell first (in the foreground, only the shell: drbook learns of it from
   * how the shell ended) leaves its background jobs, which ignore SIGINT: stopped here.
   */
  exit(exit: { code: number | null; signal: NodeJS.Signals | null }): void {
    this.exited = true;
    if (this.timeoutTimer !== undefined) clearTimeout(this.timeoutTimer);
    if (this.foregroundTimer !== undefined) clearInterval(this.foregroundTimer);
    if (this.options.mode === 'foreground') {
      takeTerminalBack();
      // The hangup reached the command's group first: even a status 0 may be its doing (a
      // trap, `|| true`), so the command counts as cut.
      if (terminalLost()) this.fatal('SIGHUP');
    }
    // A stop that came after the shell had ended reached only what it left behind.
    this.exitedOk = exit.code === 0 && exit.signal === null && (this.termination === undefined || this.stopCameAfterEnd);
    if (this.stopCameAfterEnd) this.stoppedAfterExit = this.exitedOk;
    const ctrlC = exit.signal === 'SIGINT' || (this.options.mode === 'foreground' && exit.code === 128 + 2);
    if (ctrlC && this.termination === undefined) {
      this.interrupted = true;
      this.terminate(this.interruptStages());
    }
  }

  /** Once whatever was stopped is gone: the pids that outlived SIGKILL, if any. */
  async survivors(): Promise<number[]> {
    return this.termination === undefined ? [] : (await this.termination.done).survivors;
  }

  dispose(): void {
    process.off('SIGINT', this.onSigint);
    this.unwatch();
    if (this.timeoutTimer !== undefined) clearTimeout(this.timeoutTimer);
    if (this.foregroundTimer !== undefined) clearInterval(this.foregroundTimer);
  }

  private fatal(signal: NodeJS.Signals): void {
    if (this.stoppedBy === undefined) {
      this.stoppedBy = signal;
      if (this.endedBeforeStop()) this.stopCameAfterEnd = true;
      // Only what the command left behind is stopped: its shell had succeeded on its own. (A
      // shell that failed, or died of the same hangup, is a cut command: it runs again.)
      this.stoppedAfterExit = this.exitedOk && this.termination === undefined;
    }
    if (this.termination === undefined) this.terminate(this.fatalStages());
  }

  /**
   * Whether the shell had exited before this stop, though node has not reported it yet: the
   * exit and the signal can wait in the same turn of the event loop, the signal handled
   * first. A zombie, or a pid no longer the shell's (reaped), has ended. Off Linux nothing
   * can be read: the stop counts as having cut the command.
   */
  private endedBeforeStop(): boolean {
    if (this.exited || this.termination !== undefined) return false;
    if (this.options.shellEnded !== undefined) return this.options.shellEnded();
    const { pid, procStart } = this.options;
    if (procStart === undefined) return false;
    return readProcStart(pid) !== procStart || readProcessState(pid) === 'Z';
  }

  private terminate(stages: KillStage[]): void {
    const { pid, procStart, mode, pgid } = this.options;
    // The command's own group, or in drbook's group, what the command left there after its parent died.
    const where = mode !== 'shared' ? { ownGroup: pid } : pgid !== undefined && procStart !== undefined ? { group: { pgid, since: procStart } } : {};
    this.termination ??= terminateTree(pid, stages, { rootStart: procStart, ...where });
  }

  private fatalStages(): KillStage[] {
    return [
      { signal: 'SIGTERM', afterMs: 0 },
      { signal: 'SIGKILL', afterMs: this.options.killGraceMs },
    ];
  }

  private interruptStages(): KillStage[] {
    return [
      { signal: 'SIGINT', afterMs: 0 },
      { signal: 'SIGTERM', afterMs: SIGINT_GRACE_MS },
      { signal: 'SIGKILL', afterMs: this.options.killGraceMs },
    ];
  }

  /**
   * In the terminal's foreground, the command gets the hangup of a closed terminal and drbook
   * does not (it is in a background group now): drbook sees the terminal gone. Ctrl-Z goes
   * to the command's group alone: drbook cannot be suspended with it, and a stopped command
   * would hang the walk: it is continued, with a word why.
   */
  private checkForeground(): void {
    if (terminalLost()) {
      this.fatal('SIGHUP');
    } else if (!this.exited && readProcessState(this.options.pid) === 'T') {
      signalGroup(this.options.pid, 'SIGCONT');
      this.options.say('Ctrl-Z does not suspend a step: the command was continued (Ctrl-C interrupts it)');
    }
  }
}
