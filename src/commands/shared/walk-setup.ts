/**
 * What run, rehearse, resume and undo set up the same way: the terminal check, the UI,
 * the executor, log names, the --yes refusals, the vars file, the walk and its close.
 */
import { dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { formatDuration } from '../../core/duration.js';
import { DrbookError, ExitCode } from '../../core/errors.js';
import { Walk, type WalkPlan, type WalkResult } from '../../core/engine.js';
import type { Mode } from '../../core/journal-events.js';
import type { Runbook, Step } from '../../core/model.js';
import type { Executor, Ui } from '../../core/ports.js';
import { visibleUi } from '../../core/visible-ui.js';
import { conditionVarsWithoutValue, varsNobodyCanAnswer, type VarStore } from '../../core/vars.js';
import type { FileJournal } from '../../adapters/file-journal.js';
import { errnoText } from '../../adapters/file-text.js';
import { readInputFile } from '../../adapters/runbook-files.js';
import { shellSites } from '../../adapters/shell-parser.js';
import { makeChalk } from '../../adapters/style.js';
import { stdinIsTerminal, systemClock } from '../../adapters/system.js';

export function requireTerminal(command: string, yes: boolean): void {
  if (!yes && !stdinIsTerminal()) {
    throw new DrbookError(
      `drbook ${command} asks questions and needs a terminal, but stdin is not one: run it in a terminal, or add --yes to take every default (run each step, confirm, abort on a failure)`,
      ExitCode.usage,
    );
  }
}

/** The prompts library is loaded only when someone will be asked something. */
export async function makeUi(yes: boolean): Promise<Ui> {
  // Every string a runbook, journal or capture gives is made visible at this boundary.
  if (yes) return visibleUi(new (await import('../../adapters/plain-ui.js')).PlainUi());
  return visibleUi(new (await import('../../adapters/terminal-ui.js')).TerminalUi());
}

/**
 * The process executor, loaded when the first command runs: a rehearsal or a
 * walk of manual steps never pays for it, and the first question comes sooner.
 */
export function commandExecutor(): Executor {
  let real: Promise<Executor> | undefined;
  return {
    run: async (request) => {
      real ??= Promise.all([import('../../adapters/process-executor.js'), import('../../adapters/running-file.js')]).then(([m, r]) =>
        r.markingRunning(new m.ProcessExecutor({ interactive: stdinIsTerminal(), showElapsed: true })),
      );
      return (await real).run(request);
    },
  };
}

export function stepIndex(runbook: Runbook, id: string): number {
  const index = runbook.steps.findIndex((s) => s.id === id);
  if (index === -1) throw new DrbookError(`--from ${id}: no such step in ${runbook.id} (steps: ${runbook.steps.map((s) => s.id).join(', ')})`, ExitCode.usage);
  return index;
}

function logFileFor(outputDir: string): (step: Step, attempt: number) => { absolute: string; relative: string } {
  return (step, attempt) => {
    const name = `${String(step.index + 1).padStart(2, '0')}-${step.id}${attempt > 1 ? `.${attempt}` : ''}.log`;
    return { absolute: resolve(outputDir, name), relative: name };
  };
}

/**
 * Under --yes, a live walk stops before anything runs (or is journaled) when a variable a
 * step uses has no value and no default: --yes cannot ask for it, and the step would fail.
 * `steps`: the steps still to walk (all of them for run; those left for resume).
 */
export function refuseUnanswerable(runbook: Runbook, vars: VarStore, steps: readonly Step[] = runbook.steps): void {
  const missing = varsNobodyCanAnswer({ ...runbook, steps: [...steps] }, vars);
  if (missing.length === 0) return;
  const how = missing.map((name) => {
    const def = runbook.vars[name];
    return `${cliVarAdvice(name, def?.secret === true)}${def?.env ? ` (or $${def.env})` : ''}`;
  });
  throw new DrbookError(`--yes cannot answer ${missing.length === 1 ? 'a question' : 'questions'} with no default: give ${how.join(', ')}`, ExitCode.usage);
}

/**
 * Under `rehearse --yes`, a `when:` whose variable has no value and no default would skip
 * every branch and report a drill that rehearsed nothing: name the --var to give instead.
 */
export function refuseUndecidedBranches(runbook: Runbook, vars: VarStore, steps: readonly Step[] = runbook.steps): void {
  const missing = conditionVarsWithoutValue({ ...runbook, steps: [...steps] }, vars);
  if (missing.length === 0) return;
  const how = missing.map((name) => {
    const def = runbook.vars[name];
    const values = choiceList(def?.choices);
    return `--var ${name}=${values ?? '...'}${def?.env ? ` (or $${def.env})` : ''}`;
  });
  throw new DrbookError(
    `--yes cannot choose the branch to rehearse: ${missing.map((n) => `when: uses ${n}`).join(', ')}, which has no value and no default: give ${how.join(', ')}`,
    ExitCode.usage,
  );
}

/** How to give a var on the command line: a secret from stdin (`=-`), never as a value `ps` shows. */
export function cliVarAdvice(name: string, secret: boolean): string {
  return secret ? `--var ${name}=- (read from stdin)` : `--var ${name}=...`;
}

function choiceList(choices: unknown): string | undefined {
  if (choices === undefined || choices === null) return undefined;
  const values = Array.isArray(choices) ? choices.map(String) : Object.keys(choices as Record<string, unknown>);
  return values.length > 0 ? values.join('|') : undefined;
}

/** A step's `cwd` is relative to the runbook file; without one, commands run where drbook was started. */
export function cwdResolver(runbook: Runbook, startDir: string = process.cwd()): (cwd: string | undefined) => string {
  return (cwd) => (cwd === undefined ? startDir : resolve(dirname(runbook.file), cwd));
}

const VARS_FILE_LIMIT = 1024 * 1024;

export function readVarsFile(path: string | undefined): Record<string, string> {
  if (path === undefined) return {};
  let text: string;
  try {
    // Never blocks on a FIFO; a pipe (--vars-file <(pass show dr/vars)) keeps secrets off the disk.
    text = readInputFile(path, VARS_FILE_LIMIT).toString('utf8');
  } catch (error) {
    const tooLarge = (error as NodeJS.ErrnoException).code === 'EFBIG';
    throw new DrbookError(`--vars-file ${path}: ${tooLarge ? `is ${(error as Error).message}: too large for a vars file` : errnoText(error)}`, ExitCode.usage);
  }
  let data: unknown;
  try {
    data = parseYaml(text);
  } catch (error) {
    throw new DrbookError(`--vars-file ${path}: not YAML or JSON: ${(error as Error).message.split('\n')[0]}`, ExitCode.usage);
  }
  if (data === null || data === undefined) return {};
  if (typeof data !== 'object' || Array.isArray(data)) throw new DrbookError(`--vars-file ${path}: expected a mapping of name: value`, ExitCode.usage);
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(data)) {
    if (value !== null && typeof value === 'object') throw new DrbookError(`--vars-file ${path}: ${key} must be a single value`, ExitCode.usage);
    out[key] = String(value ?? '');
  }
  return out;
}

function exitCodeOf(result: WalkResult): number {
  if (result.status === 'paused') return ExitCode.paused;
  return result.status === 'completed' ? ExitCode.ok : ExitCode.failed;
}

function printSummary(result: WalkResult, sessionId: string, mode: Mode): void {
  const c = makeChalk(process.stderr);
  const { done, skipped, failed, markedDone } = result.counts;
  const counts = `${done} done, ${markedDone} done by hand, ${skipped} skipped, ${failed} failed`;
  const headline =
    result.status === 'completed'
      ? c.green(`${mode === 'rehearsal' ? 'Rehearsal' : 'Run'} completed`)
      : result.status === 'paused'
        ? c.yellow('Paused')
        : result.status === 'aborted'
          ? c.red(`Aborted${result.stoppedAt ? ` at ${result.stoppedAt}` : ''}`)
          : c.red('Finished with failed steps');
  const lines = [
    '',
    `${headline}: ${counts}; total time ${formatDuration(result.durationMs)}.`,
    `Session: ${sessionId}`,
    result.status === 'paused' ? `Next: drbook resume ${sessionId}` : `Next: drbook export ${sessionId} > postmortem.md`,
  ];
  process.stderr.write(lines.join('\n') + '\n');
}

/** Where a session's walk runs and writes: what run, rehearse and resume give walkSession besides the plan. */
export interface WalkSite {
  ui: Ui;
  journal: FileJournal;
  sessionId: string;
  /** Where steps without cwd run: where the session was started. */
  startDir: string;
}

/**
 * A session's walk as run, rehearse and resume drive it: each attempt's log beside the
 * journal, commands through the process executor; `go` runs or resumes it. Then the
 * summary and, after an abort in the walk, the offer to undo the steps done.
 */
export async function walkSession(plan: Omit<WalkPlan, 'logFile' | 'resolveCwd'>, site: WalkSite, go: (walk: Walk) => Promise<WalkResult>): Promise<number> {
  const { ui, journal, sessionId, startDir } = site;
  const { runbook, mode, yes, vars, redactor } = plan;
  const walk = new Walk(
    { ...plan, logFile: logFileFor(journal.outputDir), resolveCwd: cwdResolver(runbook, startDir) },
    { ui, executor: commandExecutor(), journal, clock: systemClock, shellSites },
  );
  const result = await go(walk);
  printSummary(result, sessionId, mode);
  // A resume that ended over what drbook left behind walked no step: nothing to offer.
  if (result.status === 'aborted' && !result.beforeWalk && runbook.steps.some((s) => s.undo !== undefined)) {
    await (await import('./undo-walk.js')).offerUndo({ runbook, mode, yes, journal, ui, vars, redactor, startDir, sessionId });
  }
  return exitCodeOf(result);
}
