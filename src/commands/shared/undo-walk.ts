/**
 * The undo walk as run, resume and undo start it: after an abort (offered) or on demand.
 */
import { PromptInterrupted, ExitCode } from '../../core/errors.js';
import type { Mode } from '../../core/journal-events.js';
import { replaySession } from '../../core/session-summary.js';
import type { Runbook, Step } from '../../core/model.js';
import type { Ui } from '../../core/ports.js';
import type { Redactor } from '../../core/redact.js';
import { undoCandidates, undoOf, UndoWalk, type UndoResult } from '../../core/undo.js';
import { templateNames } from '../../core/template.js';
import type { VarStore } from '../../core/vars.js';
import { readJournalFile, type FileJournal } from '../../adapters/file-journal.js';
import { makeChalk } from '../../adapters/style.js';
import { shellSites } from '../../adapters/shell-parser.js';
import { systemClock } from '../../adapters/system.js';
import { askSecretsAgain } from './session-vars.js';
import { commandExecutor, cwdResolver } from './walk-setup.js';

export interface UndoContext {
  runbook: Runbook;
  mode: Mode;
  yes: boolean;
  trigger: 'abort' | 'command';
  journal: FileJournal;
  ui: Ui;
  vars: VarStore;
  redactor: Redactor;
  startDir: string;
  attempts?: Map<string, number>;
}

export async function walkUndo(ctx: UndoContext): Promise<UndoResult> {
  const steps = undoCandidates(replaySession(readJournalFile(ctx.journal.path)), ctx.runbook);
  ctx.ui.info(`Undo: ${steps.length} step${steps.length === 1 ? '' : 's'}, latest first: ${steps.map((s) => s.id).join(', ')}`);
  const walk = new UndoWalk(
    {
      runbook: ctx.runbook,
      mode: ctx.mode,
      yes: ctx.yes,
      steps,
      trigger: ctx.trigger,
      vars: ctx.vars,
      redactor: ctx.redactor,
      attempts: ctx.attempts ?? new Map(),
      logFile: (step, attempt) => {
        const name = `${String(step.index + 1).padStart(2, '0')}-${step.id}.undo${attempt > 1 ? `.${attempt}` : ''}.log`;
        return { absolute: `${ctx.journal.outputDir}/${name}`, relative: name };
      },
      resolveCwd: cwdResolver(ctx.runbook, ctx.startDir),
      pid: process.pid,
    },
    { ui: ctx.ui, executor: commandExecutor(), journal: ctx.journal, clock: systemClock, shellSites },
  );
  return walk.run();
}

/**
 * After a live walk aborts: offer the undo of the steps done. Under --yes nothing is
 * undone (an abort under --yes is a scripted drill's end); the command to do it is shown.
 */
export async function offerUndo(ctx: Omit<UndoContext, 'trigger'> & { sessionId: string }): Promise<void> {
  const steps = undoCandidates(replaySession(readJournalFile(ctx.journal.path)), ctx.runbook);
  if (steps.length === 0) return;
  const what = `${steps.length} step${steps.length === 1 ? '' : 's'} done ${steps.length === 1 ? 'has' : 'have'} an undo`;
  if (ctx.yes) {
    ctx.ui.info(`${what}: drbook undo ${ctx.sessionId} walks them back, latest first.`);
    return;
  }
  let go: boolean;
  try {
    go = await ctx.ui.confirm(`${what} (${steps.map((s) => s.id).join(', ')}). Undo them now, latest first?`);
  } catch (error) {
    if (error instanceof PromptInterrupted) go = false;
    else throw error;
  }
  if (!go) {
    ctx.ui.info(`Not undone. Later: drbook undo ${ctx.sessionId}`);
    return;
  }
  try {
    // After a resume, a secret only the steps done used was not asked again: their undo needs it now.
    await askSecretsAgain(ctx.runbook, secretsMissingFor(steps, ctx.runbook, ctx.vars), ctx.vars, ctx.ui);
    const result = await walkUndo({ ...ctx, trigger: 'abort' });
    printUndoSummary(result, ctx.sessionId);
  } catch (error) {
    if (!(error instanceof PromptInterrupted)) throw error;
    ctx.ui.info(`Undo paused. Later: drbook undo ${ctx.sessionId}`);
  }
}

/** The vars the undo of these steps uses: its command, confirmation or text, the step's cwd and env. */
export function varsUsedByUndo(steps: readonly Step[]): Set<string> {
  const names = new Set<string>();
  for (const step of steps) {
    const undo = undoOf(step);
    const texts = [undo?.run, undo?.confirm, undo?.text, step.cwd, ...Object.values(step.env ?? {}).map(String)];
    for (const text of texts) if (text !== undefined) for (const name of templateNames(text)) names.add(name);
  }
  return names;
}

/** Secrets the undo of these steps uses that have no value (a resume did not ask for them). */
function secretsMissingFor(steps: readonly Step[], runbook: Runbook, vars: VarStore): string[] {
  return [...varsUsedByUndo(steps)].filter((name) => runbook.vars[name]?.secret === true && !vars.has(name));
}

export function printUndoSummary(result: UndoResult, id: string): number {
  const c = makeChalk(process.stderr);
  const { done, skipped, failed, markedDone } = result.counts;
  const counts = `${done} undone, ${markedDone} undone by hand, ${skipped} skipped, ${failed} failed`;
  const headline =
    result.status === 'completed'
      ? c.green('Undo completed')
      : result.status === 'paused'
        ? c.yellow('Undo paused')
        : c.red(`Undo ${result.status === 'failed' ? 'stopped at a failure' : 'aborted'}${result.stoppedAt ? ` at ${result.stoppedAt}` : ''}`);
  const next = result.status === 'completed' ? `drbook export ${id}` : `drbook undo ${id}`;
  process.stderr.write(`\n${headline}: ${counts}.\nNext: ${next}\n`);
  if (result.status === 'paused') return ExitCode.paused;
  return result.status === 'completed' ? ExitCode.ok : ExitCode.failed;
}
