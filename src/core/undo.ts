/**
 * Format 1.1 `undo:`: walking back over what a session did. Offered after an abort and by
 * `drbook undo`; each step that was done (or done by hand) and has an `undo:` is asked
 * like a step, latest first. Pure like the engine: it talks through the same ports.
 */
import { PromptInterrupted } from './errors.js';
import type { Mode, StepOutcome, UndoEnded } from './journal-events.js';
import type { Runbook, Step } from './model.js';
import type { Clock, CommandResult, Executor, FailureAction, Journal, StepAction, StepView, Ui } from './ports.js';
import type { Redactor } from './redact.js';
import { noOutcomes, tally, type OutcomeCounts } from './session.js';
import type { SessionReplay } from './session-summary.js';
import { cannotRun, commandOutcome, renderShown, stepRequest, rewriteScript, type PlaceholderSite, type ShellDialect } from './shell-template.js';
import { renderTemplate } from './template.js';
import type { VarStore } from './vars.js';

/** The command or text that reverses a step, and its confirm question. */
export function undoOf(step: Step): { run?: string; text?: string; confirm?: string } | undefined {
  const undo = step.undo;
  if (undo === undefined) return undefined;
  if (typeof undo !== 'string') return { run: undo.run, ...(undo.confirm !== undefined ? { confirm: undo.confirm } : {}) };
  return step.run === undefined ? { text: undo } : { run: undo };
}

/**
 * The steps a session can undo, in the order to walk them: those done or done by hand
 * (latest outcome), latest first, with an `undo:` in the runbook, not already undone.
 */
export function undoCandidates(replay: Pick<SessionReplay, 'outcomes' | 'undone'>, runbook: Runbook): Step[] {
  const byId = new Map(runbook.steps.map((s) => [s.id, s]));
  return [...replay.outcomes.values()]
    .filter((f) => (f.outcome === 'done' || f.outcome === 'marked-done') && !replay.undone.has(f.step) && byId.get(f.step)?.undo !== undefined)
    .sort((a, b) => b.seq - a.seq)
    .map((f) => byId.get(f.step)!);
}

export interface UndoPlan {
  runbook: Runbook;
  mode: Mode;
  /** --yes: run every undo in order, stop at the first failure. */
  yes: boolean;
  steps: readonly Step[];
  trigger: 'abort' | 'command';
  vars: VarStore;
  redactor: Redactor;
  /** Attempts already made per step's undo, so log names do not collide. */
  attempts?: Map<string, number>;
  logFile?: (step: Step, attempt: number) => { absolute: string; relative: string };
  resolveCwd: (cwd: string | undefined) => string;
  pid: number;
}

export interface UndoResult {
  status: UndoEnded['status'];
  counts: OutcomeCounts;
  stoppedAt?: string;
}

class Stop {
  constructor(
    readonly status: 'aborted' | 'failed',
    readonly step: string,
  ) {}
}

export class UndoWalk {
  private readonly counts = noOutcomes();
  private readonly attempts: Map<string, number>;

  constructor(
    private readonly plan: UndoPlan,
    private readonly deps: {
      ui: Ui;
      executor: Executor;
      journal: Journal;
      clock: Clock;
      shellSites: (text: string, dialect: ShellDialect) => Promise<PlaceholderSite[]>;
    },
  ) {
    this.attempts = plan.attempts ?? new Map();
  }

  async run(): Promise<UndoResult> {
    const { journal } = this.deps;
    journal.append({ type: 'undo.started', steps: this.plan.steps.map((s) => s.id), trigger: this.plan.trigger, pid: this.plan.pid });
    let current: Step | undefined;
    try {
      for (const step of this.plan.steps) {
        current = step;
        await this.undoStep(step);
      }
    } catch (error) {
      if (error instanceof PromptInterrupted) return this.end('paused', current?.id);
      if (error instanceof Stop) return this.end(error.status, error.step);
      throw error;
    }
    return this.end('completed');
  }

  private end(status: UndoResult['status'], stoppedAt?: string): UndoResult {
    this.deps.journal.append({ type: 'undo.ended', status, ...this.counts });
    return { status, counts: { ...this.counts }, ...(stoppedAt !== undefined ? { stoppedAt } : {}) };
  }

  private async undoStep(step: Step): Promise<void> {
    const { ui, clock } = this.deps;
    const undo = undoOf(step)!;
    const started = clock.monotonic();
    const sites = undo.run === undefined ? [] : await this.deps.shellSites(undo.run, this.plan.runbook.shell);
    const view: StepView = {
      position: this.plan.steps.indexOf(step) + 1,
      total: this.plan.steps.length,
      step,
      title: `Undo: ${this.render(step.title)}`,
      ...(undo.text !== undefined ? { description: this.render(undo.text) } : {}),
      docs: step.docLinks,
      ...(undo.run !== undefined ? { command: this.plan.redactor.redact(renderShown(undo.run, sites, (n) => this.plan.vars.get(n))) } : {}),
      mode: this.plan.mode,
      willExecute: undo.run !== undefined && this.plan.mode === 'live',
    };
    ui.showStep(view);
    const manual = undo.run === undefined;
    const choices: readonly StepAction[] = manual ? ['done', 'skip', 'abort'] : ['run', 'skip', 'done', 'abort'];
    if (manual && this.plan.yes) {
      // Nobody is there to do it: recording it as undone would be a lie in the post-mortem.
      // It stays offered to the next `drbook undo`.
      ui.warn(`undo of ${this.render(step.title)} is done by hand: skipped under --yes (drbook undo offers it again)`);
      return this.finish(step, 'skipped', started, 'manual undo: nobody to do it under --yes');
    }
    const action = this.plan.yes ? this.byDefault(choices[0]!) : await ui.chooseStepAction(view, choices);
    switch (action) {
      case 'abort':
        this.decide(step, 'Undo this step?', 'abort');
        throw new Stop('aborted', step.id);
      case 'skip':
      case 'note':
        this.decide(step, 'Undo this step?', 'skip');
        return this.finish(step, 'skipped', started, 'operator');
      case 'done':
        if (manual) return this.finish(step, 'done', started);
        this.decide(step, 'Undo this step?', 'marked done: undone by hand');
        return this.finish(step, 'marked-done', started, 'undone by hand');
      case 'run':
        return this.runUndo(step, undo.run!, sites, undo.confirm, view, started);
    }
  }

  private async runUndo(
    step: Step,
    template: string,
    sites: readonly PlaceholderSite[],
    confirm: string | undefined,
    view: StepView,
    started: number,
  ): Promise<void> {
    const { ui, journal, executor } = this.deps;
    const { redactor, vars } = this.plan;
    const lookup = (n: string) => vars.get(n);
    for (;;) {
      // As for run: the script holds no value, each travels in the environment.
      const command = rewriteScript(template, sites);
      const shown = redactor.redact(renderShown(template, sites, lookup));
      if (this.plan.mode === 'rehearsal') {
        journal.append({ type: 'undo.command.started', step: step.id, attempt: 0, command: shown, cwd: '' });
        ui.info('rehearsal: undo not executed');
        return this.finish(step, 'done', started, 'rehearsal: not executed');
      }
      let failure = cannotRun(template, sites, lookup, (n) => vars.has(n), step.env);
      let result: CommandResult | undefined;
      if (failure === undefined) {
        const attempt = (this.attempts.get(step.id) ?? 0) + 1;
        this.attempts.set(step.id, attempt);
        const cwd = this.plan.resolveCwd(step.cwd === undefined ? undefined : renderTemplate(step.cwd, (n) => vars.get(n)));
        const log = this.plan.logFile?.(step, attempt);
        journal.append({
          type: 'undo.command.started',
          step: step.id,
          attempt,
          command: shown,
          cwd: redactor.redact(cwd),
          ...(log ? { log: log.relative } : {}),
        });
        ui.commandStarting(view);
        result = await executor.run(
          stepRequest(this.plan.runbook, step, { attempt, command, cwd, sites, lookup, redactor, ...(log ? { logFile: log.absolute } : {}) }),
        );
        failure = judge(result);
        if (failure !== undefined) failure = redactor.redact(failure);
        journal.append({
          type: 'undo.command.finished',
          step: step.id,
          attempt,
          ...commandOutcome(result, failure, redactor),
        });
        ui.commandFinished(view, {
          ...result,
          stdout: redactor.redact(result.stdout),
          stderr: redactor.redact(result.stderr),
          tail: redactor.redact(result.tail),
        });
      }
      if (failure === undefined) {
        const question = confirm === undefined ? undefined : this.render(confirm);
        if (question === undefined) return this.finish(step, 'done', started);
        const yes = this.plan.yes ? this.byDefault(true, question) : await ui.confirm(question);
        this.decide(step, question, yes ? 'yes' : 'no');
        if (yes) return this.finish(step, 'done', started);
        failure = `not confirmed: ${question}`;
      }
      if (this.plan.yes) {
        ui.warn(`undo of ${this.render(step.title)}: ${failure} (--yes stops at the first failure)`);
        this.finish(step, 'failed', started, failure);
        throw new Stop('failed', step.id);
      }
      const choices: readonly FailureAction[] = ['retry', 'skip', 'done', 'abort'];
      const action = await ui.chooseFailureAction(view, failure, choices);
      this.decide(step, `After failure (${failure}): what next?`, action);
      switch (action) {
        case 'retry':
        case 'edit':
          continue;
        case 'skip':
          return this.finish(step, 'skipped', started, `after failure: ${failure}`);
        case 'done':
          return this.finish(step, 'marked-done', started, `undone by hand after failure: ${failure}`);
        case 'abort':
          this.finish(step, 'failed', started, failure);
          throw new Stop('aborted', step.id);
      }
    }
  }

  private finish(step: Step, outcome: StepOutcome, started: number, reason?: string): void {
    this.deps.journal.append({
      type: 'undo.step',
      step: step.id,
      outcome,
      ...(reason ? { reason: this.plan.redactor.redact(reason) } : {}),
      durationMs: Math.round(this.deps.clock.monotonic() - started),
    });
    tally(this.counts, outcome);
  }

  private decide(step: Step, question: string, answer: string): void {
    this.deps.journal.append({ type: 'undo.decision', step: step.id, question, answer });
  }

  private byDefault<T extends string | boolean>(answer: T, question?: string): T {
    this.deps.ui.info(`${question ? `${question} ` : ''}-> ${answer === true ? 'yes' : String(answer)} (--yes)`);
    return answer;
  }

  private render(text: string): string {
    return this.plan.redactor.redact(renderTemplate(text, (n) => this.plan.vars.get(n)));
  }
}

/** An undo succeeds on exit 0: the step's `expect` describes the step, not its undo. */
function judge(result: CommandResult): string | undefined {
  if (result.spawnError) return `could not start: ${result.spawnError}`;
  if (result.interrupted) return 'interrupted (Ctrl-C)';
  if (result.timedOut) return 'timed out';
  if (result.signal) return `killed by ${result.signal}`;
  if (result.exitCode !== 0) return `exit code ${result.exitCode ?? '?'}`;
  return undefined;
}
