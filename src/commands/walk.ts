import { rmdirSync, statSync, unlinkSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { formatDuration } from '../core/duration.js';
import { DrbookError, ExitCode } from '../core/errors.js';
import { Walk, type WalkResult } from '../core/engine.js';
import type { Mode } from '../core/journal-events.js';
import { formatProblem, type Runbook, type Step } from '../core/model.js';
import type { Executor, Ui } from '../core/ports.js';
import { Redactor } from '../core/redact.js';
import { visibleUi } from '../core/visible-ui.js';
import { visible, visibleLine } from '../core/visible.js';
import { conditionVarsWithoutValue, resolveInitialVars, VarStore, varsNobodyCanAnswer } from '../core/vars.js';
import { acquireDriverLock, type DriverLock } from '../adapters/file-lock.js';
import { FileJournal } from '../adapters/file-journal.js';
import { startNotifier } from '../adapters/notify/start.js';
import type { WalkNotifier } from '../adapters/notify/session-notifier.js';
import { errnoText } from '../adapters/file-text.js';
import { readCliVars, refuseOpenVarsFile, warnSecretsInRunbook } from '../adapters/var-input.js';
import { shellSites } from '../adapters/shell-parser.js';
import { findRunbook, readInputFile } from '../adapters/runbook-files.js';
import { ensureSessionsDir, newSessionId, stateHome } from '../adapters/state-home.js';
import { makeChalk } from '../adapters/style.js';
import { localZone, operatorName, systemClock } from '../adapters/system.js';
import { VERSION } from '../version.js';

export interface WalkOptions {
  var?: string[];
  varsFile?: string;
  from?: string;
  yes?: boolean;
  runSafe?: boolean;
  dir?: string;
  allowShortSecret?: boolean;
}

/** `drbook run` and `drbook rehearse`: the same walk, live or as a drill. */
export async function runWalk(ref: string, mode: Mode, options: WalkOptions): Promise<number> {
  const yes = options.yes === true;
  requireTerminal(mode === 'live' ? 'run' : 'rehearse', yes);
  const { runbook, warnings } = await findRunbook(ref, options.dir);
  for (const w of warnings) process.stderr.write(formatProblem(w) + '\n');

  const startIndex = options.from === undefined ? 0 : stepIndex(runbook, options.from);
  const redactor = new Redactor();
  const vars = new VarStore(runbook.vars, redactor, options.allowShortSecret === true);
  const file = readVarsFile(options.varsFile);
  refuseOpenVarsFile(options.varsFile, file, runbook);
  const cli = await readCliVars(options.var ?? [], runbook, (line) => process.stderr.write(visible(line) + '\n'));
  resolveInitialVars(runbook, { cli, file, env: process.env }, vars);
  warnSecretsInRunbook(runbook, vars, (line) => process.stderr.write(visible(line) + '\n'));
  if (yes && mode === 'live') refuseUnanswerable(runbook, vars);
  if (yes && mode === 'rehearsal') refuseUndecidedBranches(runbook, vars);

  const home = stateHome();
  ensureSessionsDir(home);
  const startedAt = systemClock.now();
  const sessionId = newSessionId(runbook.id, startedAt, home);
  const journal = FileJournal.create(home, sessionId, systemClock);
  let lock: DriverLock | undefined;
  try {
    lock = acquireDriverLock(journal.path);
    journal.append({
      type: 'session.started',
      session: sessionId,
      runbook: { id: runbook.id, title: runbook.title, path: runbook.file, sha256: runbook.sha256, steps: runbook.steps.length, ...(runbook.rto ? { rto: runbook.rto } : {}), ...(runbook.rpo ? { rpo: runbook.rpo } : {}), ...(runbook.recoveryPoint ? { recoveryPoint: runbook.recoveryPoint } : {}) },
      mode,
      operator: operatorName(),
      ...localZone(startedAt),
      drbook: VERSION,
      pid: process.pid,
      ...(options.from ? { from: options.from } : {}),
      cwd: process.cwd(),
      ...(options.runSafe ? { runSafe: true } : {}),
      ...(yes ? { yes: true } : {}),
    });
  } catch (error) {
    // The session never started (a full disk): leave no empty journal to pass for one.
    lock?.release();
    journal.close();
    abandonEmptySession(journal);
    throw error;
  }
  let notifier: WalkNotifier | undefined;
  try {
    for (const name of vars.names()) {
      const entry = vars.entry(name)!;
      journal.append({ type: 'var.set', name, source: entry.source, ...vars.journaled(name) });
    }
    const ui = await makeUi(yes);
    ui.info(`${mode === 'rehearsal' ? 'Rehearsal' : 'Live run'} of ${visibleLine(runbook.title)} (${runbook.steps.length} steps) — session ${sessionId}`);
    notifier = await startNotifier({ runbook, journal, sessionId, mode, home, say: (line) => ui.warn(line) });
    const walk = new Walk(
      {
        runbook,
        mode,
        yes,
        runSafe: options.runSafe === true,
        startIndex,
        skipReason: `--from ${options.from ?? ''}`.trim(),
        finished: new Map(),
        attempts: new Map(),
        sessionStartedAt: startedAt,
        baseDir: dirname(runbook.file),
        vars,
        redactor,
        logFile: logFileFor(journal.outputDir),
        resolveCwd: cwdResolver(runbook),
      },
      { ui, executor: commandExecutor(), journal, clock: systemClock, shellSites },
    );
    const result = await walk.run();
    printSummary(result, sessionId, mode);
    if (result.status === 'aborted' && runbook.steps.some((s) => s.undo !== undefined)) {
      await (await import('./undo.js')).offerUndo({ runbook, mode, yes, journal, ui, vars, redactor, startDir: process.cwd(), sessionId });
    }
    return exitCodeOf(result);
  } finally {
    await notifier?.stop();
    lock.release();
    journal.close();
  }
}

/**
 * Removes a journal this run created when nothing could be written to it, and its empty
 * output directory: an empty journal would be listed as an interrupted session that resume
 * cannot continue. Anything with a byte in it stays.
 */
function abandonEmptySession(journal: FileJournal): void {
  try {
    if (statSync(journal.path).size !== 0) return;
    unlinkSync(journal.path);
    rmdirSync(journal.outputDir);
  } catch {
    // Not empty, or already gone: leave it.
  }
}

export function requireTerminal(command: string, yes: boolean): void {
  if (!yes && !process.stdin.isTTY) {
    throw new DrbookError(`drbook ${command} asks questions and needs a terminal, but stdin is not one: run it in a terminal, or add --yes to take every default (run each step, confirm, abort on a failure)`, ExitCode.usage);
  }
}

/** The prompts library is loaded only when someone will be asked something. */
export async function makeUi(yes: boolean): Promise<Ui> {
  // Every string a runbook, journal or capture gives is made visible at this boundary.
  if (yes) return visibleUi(new (await import('../adapters/plain-ui.js')).PlainUi());
  return visibleUi(new (await import('../adapters/terminal-ui.js')).TerminalUi());
}

/**
 * The process executor, loaded when the first command runs: a rehearsal or a
 * walk of manual steps never pays for it, and the first question comes sooner.
 */
export function commandExecutor(): Executor {
  let real: Promise<Executor> | undefined;
  return {
    run: async (request) => {
      real ??= import('../adapters/process-executor.js').then((m) => new m.ProcessExecutor({ interactive: process.stdin.isTTY === true, showElapsed: true }));
      return (await real).run(request);
    },
  };
}

export function stepIndex(runbook: Runbook, id: string): number {
  const index = runbook.steps.findIndex((s) => s.id === id);
  if (index === -1) throw new DrbookError(`--from ${id}: no such step in ${runbook.id} (steps: ${runbook.steps.map((s) => s.id).join(', ')})`, ExitCode.usage);
  return index;
}

export function logFileFor(outputDir: string): (step: Step, attempt: number) => { absolute: string; relative: string } {
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
  throw new DrbookError(`--yes cannot choose the branch to rehearse: ${missing.map((n) => `when: uses ${n}`).join(', ')}, which has no value and no default: give ${how.join(', ')}`, ExitCode.usage);
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

export function exitCodeOf(result: WalkResult): number {
  if (result.status === 'paused') return ExitCode.paused;
  return result.status === 'completed' ? ExitCode.ok : ExitCode.failed;
}

export function printSummary(result: WalkResult, sessionId: string, mode: Mode): void {
  const c = makeChalk(process.stderr);
  const { done, skipped, failed, markedDone } = result.counts;
  const counts = `${done} done, ${markedDone} done by hand, ${skipped} skipped, ${failed} failed`;
  const headline =
    result.status === 'completed' ? c.green(`${mode === 'rehearsal' ? 'Rehearsal' : 'Run'} completed`)
    : result.status === 'paused' ? c.yellow('Paused')
    : result.status === 'aborted' ? c.red(`Aborted${result.stoppedAt ? ` at ${result.stoppedAt}` : ''}`)
    : c.red('Finished with failed steps');
  const lines = [
    '',
    `${headline}: ${counts}; total time ${formatDuration(result.durationMs)}.`,
    `Session: ${sessionId}`,
    result.status === 'paused' ? `Next: drbook resume ${sessionId}` : `Next: drbook export ${sessionId} > postmortem.md`,
  ];
  process.stderr.write(lines.join('\n') + '\n');
}
