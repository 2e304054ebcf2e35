import { describeCondition, evaluateCondition } from './condition.js';
import { formatDuration } from './duration.js';
import { PromptInterrupted, SignalStop } from './errors.js';
import type { EndStatus, Mode, StepOutcome } from './journal-events.js';
import { templatedTexts, type Runbook, type Step } from './model.js';
import { settleFinishedWork, settleInFlight, type SettleContext } from './left-behind.js';
import { PollRun, pollCanWait } from './poll.js';
import type { Clock, CommandResult, Executor, FailureAction, Journal, Processes, StepAction, StepView, Ui } from './ports.js';
import { MASK, type Redactor } from './redact.js';
import { noOutcomes, tally, type OutcomeCounts } from './session.js';
import type { CurrentStep, InFlightCommand, ReplayVar } from './session-summary.js';
import { cannotRun, commandOutcome, renderShown, stepRequest, rewriteScript, siteRefusal, type PlaceholderSite, type ShellDialect } from './shell-template.js';
import { renderTemplate, templateNames } from './template.js';
import type { VarStore } from './vars.js';

/** The signals a command is stopped for when drbook itself gets them, by number (for 128+n). */
const SIGNAL_NUMBERS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGTERM: 15 };

export interface WalkPlan {
  runbook: Runbook;
  mode: Mode;
  /** Take every default: run, confirm, abort on a failure. */
  yes: boolean;
  /** In a rehearsal, execute the steps marked `safe`. */
  runSafe: boolean;
  /** Index of the first step to walk; earlier unfinished ones are journaled as skipped with `skipReason`. */
  startIndex: number;
  skipReason?: string;
  /** Steps already finished (on resume): their outcome, by id. */
  finished: Map<string, StepOutcome>;
  /** Attempts already made per step (on resume), so numbering goes on. */
  attempts: Map<string, number>;
  /**
   * On resume, the step whose cut command the operator already chose to run again: it is
   * shown and run without asking "what now?" a second time.
   */
  runAgain?: string;
  /** When the session began, for the total time. */
  sessionStartedAt: Date;
  vars: VarStore;
  redactor: Redactor;
  /** Log file for an attempt: absolute path, and the same relative to the session directory. */
  logFile?: (step: Step, attempt: number) => { absolute: string; relative: string };
  /** Resolves a step's `cwd` (injected: path handling belongs to the shell). */
  resolveCwd: (cwd: string | undefined) => string;
}

export interface WalkDeps {
  ui: Ui;
  executor: Executor;
  journal: Journal;
  clock: Clock;
  /** Where each `{{name}}` of a command stands in its shell syntax (a parser, injected). */
  shellSites: (text: string, dialect: ShellDialect) => Promise<PlaceholderSite[]>;
}

export interface WalkResult {
  status: EndStatus | 'paused';
  counts: OutcomeCounts;
  durationMs: number;
  /** The step the walk stopped at (paused or aborted). */
  stoppedAt?: string;
  /** On resume: ended over what drbook left behind, before the walk went on. */
  beforeWalk?: true;
}

/** What drbook left behind when it stopped, as the replay of the journal found it. */
export interface LeftBehind {
  /** A command started and never journaled finished. */
  inFlight?: InFlightCommand;
  /** The drbook that drove the session last (and started that command). */
  driverPid?: number;
  /** The step started and not finished. */
  current?: CurrentStep;
  /** The vars as journaled (secrets as ***): for a confirmation asked again. */
  vars: ReadonlyMap<string, ReplayVar>;
}

/** What resume needs besides the walk's own ports. */
export interface ResumeDeps {
  processes: Processes;
  /** The end of a command's output log, named as journaled; undefined when it cannot be read. */
  readLogTail: (log: string) => string | undefined;
}

class Abort {
  constructor(
    readonly step: string,
    readonly reason?: string,
  ) {}
}

/**
 * The walk: one engine for `run`, `rehearse` and `resume`. It talks to the operator, the
 * shell and the journal only through its ports, never exits the process, and journals
 * every event before it moves on.
 */
export class Walk {
  private readonly counts: OutcomeCounts = noOutcomes();

  constructor(
    private readonly plan: WalkPlan,
    private readonly deps: WalkDeps,
  ) {
    for (const outcome of plan.finished.values()) this.count(outcome);
  }

  /**
   * A resumed walk: first what drbook left behind when it stopped (a command cut while it
   * ran, or a step whose work was done but not journaled finished), then the walk on. A
   * Ctrl-C at one of these questions pauses the session and is thrown on.
   */
  async resume(left: LeftBehind, deps: ResumeDeps): Promise<WalkResult> {
    const { ui, journal, clock } = this.deps;
    const ctx: SettleContext = { runbook: this.plan.runbook, ui, journal, clock, yes: this.plan.yes, ...deps };
    try {
      if (left.inFlight) {
        const step = left.inFlight.step;
        const answer = await settleInFlight(ctx, left.inFlight, left.driverPid);
        if (answer === 'paused') {
          // Ctrl-C while waiting: the command still runs; the next resume asks about it again.
          journal.append({ type: 'session.paused', step, reason: 'Ctrl-C while waiting for the command left running' });
          return { status: 'paused', counts: this.counts, durationMs: this.elapsed(), stoppedAt: step, beforeWalk: true };
        }
        if (answer === 'unanswered') {
          // --yes has no answer to give: the question waits for the operator, nothing ran.
          journal.append({ type: 'session.paused', step, reason: '--yes cannot answer whether the cut command completed (not idempotent)' });
          return { status: 'paused', counts: this.counts, durationMs: this.elapsed(), stoppedAt: step, beforeWalk: true };
        }
        if (answer === 'abort') {
          this.settled(step, 'failed');
          return { ...this.end('aborted', step), beforeWalk: true };
        }
        if (answer === 'retry') this.plan.runAgain = step;
        else this.settled(step, answer);
      } else if (left.current) {
        const outcome = await settleFinishedWork(ctx, left.current, left.vars);
        if (outcome) this.settled(left.current.step, outcome);
      }
    } catch (error) {
      if (error instanceof PromptInterrupted) journal.append({ type: 'session.paused', reason: `${error.reason} while resuming` });
      throw error;
    }
    return this.run();
  }

  /** A step finished before the walk (its step.finished journaled already). */
  private settled(step: string, outcome: StepOutcome): void {
    this.plan.finished.set(step, outcome);
    this.count(outcome);
  }

  async run(): Promise<WalkResult> {
    const { runbook } = this.plan;
    let current: Step | undefined;
    try {
      for (const step of runbook.steps) {
        current = step;
        if (this.plan.finished.has(step.id)) continue;
        if (step.index < this.plan.startIndex) {
          this.finishStep(step, 'skipped', 0, this.plan.skipReason ?? 'skipped');
          continue;
        }
        await this.walkStep(step);
      }
    } catch (error) {
      if (error instanceof PromptInterrupted) {
        this.deps.journal.append({ type: 'session.paused', ...(current ? { step: current.id } : {}), reason: error.reason });
        return { status: 'paused', counts: this.counts, durationMs: this.elapsed(), ...(current ? { stoppedAt: current.id } : {}) };
      }
      if (error instanceof Abort) return this.end('aborted', error.step, error.reason);
      throw error;
    }
    return this.end(this.counts.failed > 0 ? 'failed' : 'completed');
  }

  private end(status: EndStatus, stoppedAt?: string, reason?: string): WalkResult {
    const durationMs = this.elapsed();
    this.deps.journal.append({ type: 'session.ended', status, ...this.counts, durationMs, ...(reason ? { reason: this.plan.redactor.redact(reason) } : {}) });
    return { status, counts: this.counts, durationMs, ...(stoppedAt ? { stoppedAt } : {}) };
  }

  private elapsed(): number {
    return Math.max(0, this.deps.clock.now().getTime() - this.plan.sessionStartedAt.getTime());
  }

  private async walkStep(step: Step): Promise<void> {
    const { ui, journal, clock } = this.deps;
    const { runbook } = this.plan;
    const started = clock.monotonic();

    // The step first, then its questions: the operator answers knowing what the step is
    // for and where its docs are (a `when:` asked here too: its answer decides the step).
    let contextShown = false;
    const showContext = () => {
      if (contextShown) return;
      ui.showStep({ ...this.view(step, []), part: 'context' });
      contextShown = true;
    };
    if (step.condition) {
      if (!this.plan.yes && this.willAsk(step, step.condition.name)) showContext();
      await this.ensureVars(step, [step.condition.name]);
      const value = this.plan.vars.get(step.condition.name);
      if (!evaluateCondition(step.condition, value)) {
        const shown = this.plan.vars.entry(step.condition.name)?.secret ? MASK : value;
        // The step never starts, so its title is journaled here: values known, <name> for the rest.
        const known = (n: string): string => {
          const def = runbook.vars[n];
          const fallback = def?.default !== undefined && def.secret !== true ? String(def.default) : `<${n}>`;
          return this.plan.vars.get(n) ?? fallback;
        };
        const title = this.plan.redactor.redact(renderTemplate(step.title, known));
        this.finishStep(step, 'skipped', 0, `when: ${describeCondition(step.condition)} is false (${step.condition.name} is ${shown ?? 'unset'})`, title);
        ui.info(
          `[${step.index + 1}/${runbook.steps.length}] ${title}: skipped, ${step.condition.name} is ${shown ?? 'unset'} (${describeCondition(step.condition)})`,
        );
        return;
      }
    }
    const needed = this.namesNeeded(step);
    const toAsk = this.plan.yes ? [] : needed.filter((name) => this.willAsk(step, name));
    // What takes a default or a placeholder is settled first, so the context reads right.
    await this.ensureVars(
      step,
      needed.filter((name) => !toAsk.includes(name)),
    );
    if (toAsk.length > 0) showContext();
    await this.ensureVars(step, needed);
    journal.append({ type: 'step.started', step: step.id, index: step.index, title: this.render(step.title) });
    const view = this.view(step, step.run === undefined ? [] : await this.deps.shellSites(step.run, runbook.shell));
    const manual = step.run === undefined;
    // A step that only asks (`ask:` and nothing to run or confirm) is done by the answer:
    // no "do it by hand" line for it, only its context if the questions did not show it.
    if (manual && step.confirm === undefined && (step.ask?.length ?? 0) > 0) {
      if (!contextShown) ui.showStep({ ...view, part: 'context' });
      this.finishStep(step, 'done', clock.monotonic() - started);
      return;
    }
    ui.showStep(contextShown ? { ...view, part: 'command' } : view);
    const choices: readonly StepAction[] = manual ? ['done', 'skip', 'note', 'abort'] : ['run', 'skip', 'done', 'note', 'abort'];
    // The operator answered for this step already (resume: "run it again"): asked once.
    let answered: StepAction | undefined = !manual && this.plan.runAgain === step.id ? 'run' : undefined;
    for (;;) {
      const action = answered ?? (this.plan.yes ? this.byDefault(choices[0]!) : await ui.chooseStepAction(view, choices));
      answered = undefined;
      switch (action) {
        case 'note':
          await this.takeNote(step);
          continue;
        case 'abort': {
          const reason = await this.confirmAbort(step);
          if (reason === undefined) continue;
          journal.append({ type: 'decision', step: step.id, question: 'What next?', answer: 'abort' });
          throw new Abort(step.id, reason);
        }
        case 'skip': {
          const reason = await ui.askText('Why skip this step? (recorded for the post-mortem, Enter for none)', '');
          this.finishStep(step, 'skipped', clock.monotonic() - started, reason.trim() ? `operator: ${reason.trim()}` : 'operator');
          return;
        }
        case 'done': {
          if (manual && step.confirm && !(await this.confirm(step, this.render(step.confirm)))) continue;
          if (manual) {
            this.finishStep(step, 'done', clock.monotonic() - started);
          } else {
            journal.append({ type: 'decision', step: step.id, question: 'Run the command?', answer: 'marked done: did it by hand' });
            this.finishStep(step, 'marked-done', clock.monotonic() - started, 'done by hand');
          }
          return;
        }
        case 'run': {
          const outcome = await this.runCommand(step, view, started);
          if (outcome === 'back') continue;
          this.finishStep(step, outcome.outcome, clock.monotonic() - started, outcome.reason);
          return;
        }
      }
    }
  }

  /**
   * Runs the step's command until it succeeds or the operator decides otherwise.
   * `started` is when the step began (monotonic): an abort ends the step from in here.
   */
  private async runCommand(step: Step, view: StepView, started: number): Promise<{ outcome: StepOutcome; reason?: string } | 'back'> {
    const { ui, journal, executor, clock } = this.deps;
    const { mode, runSafe, redactor } = this.plan;
    let template = step.run!;
    // An `until:` poll in progress (core/poll.ts): its attempts, time and journal events.
    let poll: PollRun | undefined;
    for (;;) {
      // An attempt is a command started: a rehearsal or a "cannot run" uses no number, so
      // attempts, log names and command.started events agree (and resume counts the same).
      const attempt = (this.plan.attempts.get(step.id) ?? 0) + 1;
      const lookup = (n: string) => this.plan.vars.get(n);
      const sites = await this.deps.shellSites(template, this.plan.runbook.shell);
      // What runs holds no value: each travels in the environment (never on the process list).
      const command = rewriteScript(template, sites);
      const shown = redactor.redact(renderShown(template, sites, lookup));
      // The view of this attempt: after an edit, the command shown is the new one.
      const current: StepView = { ...view, command: shown };
      // The shell needs the real directory (render() masks secrets); what is shown or
      // journaled of it is redacted.
      const cwd = this.plan.resolveCwd(step.cwd === undefined ? undefined : renderTemplate(step.cwd, (n) => this.plan.vars.get(n)));

      if (mode === 'rehearsal' && !(step.safe && runSafe)) {
        journal.append({ type: 'command.rehearsed', step: step.id, command: shown });
        ui.info(`rehearsal: not executed${step.safe ? ' (safe step: add --run-safe to execute it)' : ''}`);
        if (step.capture && !this.plan.vars.has(step.capture)) this.setVar(step.capture, `<${step.capture}>`, 'placeholder', step);
        if (step.confirm && !(await this.confirm(step, this.render(step.confirm)))) return 'back';
        return { outcome: 'done' };
      }

      let result: CommandResult | undefined;
      let failure = cannotRun(template, sites, lookup, (n) => this.plan.vars.has(n), step.env);
      if (failure === undefined) {
        this.plan.attempts.set(step.id, attempt);
        poll ??= step.poll ? new PollRun(step.poll, clock, attempt) : undefined;
        // A poll keeps one log, named after its first attempt.
        const log = this.plan.logFile?.(step, poll?.firstAttempt ?? attempt);
        const start = { step: step.id, attempt, command: shown, cwd: redactor.redact(cwd), ...(log ? { log: log.relative } : {}) };
        const opening = poll ? poll.begin(start) : { type: 'command.started' as const, ...start };
        if (opening) journal.append(opening);
        ui.commandStarting(current);
        result = await executor.run({
          ...stepRequest(this.plan.runbook, step, { attempt, command, cwd, sites, lookup, redactor, ...(log ? { logFile: log.absolute } : {}) }),
          ...(poll
            ? poll.request(log !== undefined)
            : {
                onSpawn: (pid: number, procStart: string | undefined, pgid?: number) => {
                  journal.append({
                    type: 'command.spawned',
                    step: step.id,
                    attempt,
                    pid,
                    ...(procStart ? { procStart } : {}),
                    ...(pgid !== undefined ? { pgid } : {}),
                  });
                },
              }),
        });
        // A reason can quote the command's world (a spawn error names the cwd): redacted
        // here, it is safe in every event and question that repeats it.
        // A signal after the shell exited by itself stopped only what it left behind: its result stands.
        const cut = result.stoppedBy !== undefined && result.exitedFirst !== true;
        const judged = cut ? `drbook got ${result.stoppedBy}: the command and everything it started were stopped` : this.judge(step, result);
        failure = judged === undefined ? undefined : redactor.redact(judged);
        if (result.truncated && (step.capture || step.expect?.stdout || step.expect?.stderr)) {
          ui.warn('the output was larger than drbook keeps in memory: expect and capture saw only its beginning (the log has all of it)');
        }
        const finished = {
          step: step.id,
          attempt,
          ...commandOutcome(result, failure, redactor, {
            ...(result.timedOut ? { timedOut: true } : {}),
            ...(result.interrupted || cut ? { interrupted: true } : {}),
          }),
        };
        journal.append(poll ? poll.end(finished, failure !== undefined && pollCanWait(result)) : { type: 'command.finished', ...finished });
        if (result.stoppedBy !== undefined) {
          // drbook is being ended (a closed terminal, kill): no question can be answered.
          const reason = cut ? `drbook got ${result.stoppedBy} while the command ran` : `drbook got ${result.stoppedBy} as the command finished`;
          journal.append({ type: 'session.paused', step: step.id, reason });
          throw new SignalStop(result.stoppedBy, 128 + (SIGNAL_NUMBERS[result.stoppedBy] ?? 15), !cut);
        }
        // The UI gets what it may show: the executor's raw output is for expect and capture.
        ui.commandFinished(current, {
          ...result,
          stdout: redactor.redact(result.stdout),
          stderr: redactor.redact(result.stderr),
          tail: redactor.redact(result.tail),
          ...(result.spawnError !== undefined ? { spawnError: redactor.redact(result.spawnError) } : {}),
        });
      }

      let stoppedWaiting = false;
      if (poll && failure !== undefined && result) {
        const after = await poll.afterFailure(ui, (decision) => journal.append(decision), step, current, failure, lastLine(redactor.redact(result.tail)));
        if (after === 'again') continue;
        ({ failure, stoppedWaiting } = after);
      }
      // A new poll (after retry or edit) has its own attempts and its own timeout.
      poll = undefined;

      if (failure === undefined && result) {
        if (step.capture) this.setVar(step.capture, result.stdout.trim(), 'capture', step);
        const question = step.confirm === undefined ? undefined : this.render(step.confirm);
        if (question === undefined || (await this.confirm(step, question))) return { outcome: 'done' };
        // A "no" means the command did not do its job: a failure like any other, so the
        // operator chooses what next and on_failure applies (abort must not carry on).
        failure = `not confirmed: ${question}`;
      }

      const reason = failure ?? 'failed';
      const policy = step.on_failure ?? 'ask';
      const interrupted = result?.interrupted === true || stoppedWaiting;
      // The failure question shows the reason itself; say it here only when nobody is asked.
      const asked = !this.plan.yes && (interrupted || policy === 'ask');
      if (!asked) ui.warn(`${this.render(step.title)}: ${reason}${interrupted || policy === 'ask' ? '' : ` (on_failure: ${policy})`}`);
      if (!interrupted && policy === 'continue') return { outcome: 'failed', reason };
      if (!interrupted && policy === 'abort') {
        this.finishStep(step, 'failed', clock.monotonic() - started, `${reason} (on_failure: abort)`);
        throw new Abort(step.id);
      }
      const choices: readonly FailureAction[] = ['retry', 'edit', 'skip', 'done', 'note', 'abort'];
      let action: FailureAction;
      let abortReason: string | undefined;
      for (;;) {
        action = this.plan.yes ? this.byDefault<FailureAction>('abort') : await ui.chooseFailureAction(current, reason, choices);
        if (action === 'note') {
          // What the operator saw in the output, noted while it is on the screen; then
          // the same question again.
          await this.takeNote(step);
          continue;
        }
        if (action === 'abort' && !this.plan.yes) {
          const said = await this.confirmAbort(step);
          if (said === undefined) continue;
          abortReason = said;
        }
        if (action === 'edit') {
          journal.append({ type: 'decision', step: step.id, question: `After failure (${reason}): what next?`, answer: action });
          // Nothing edited runs unseen: a cancelled or unchanged edit, or a "no" to the
          // command shown, is the same question again.
          const edited = await this.takeEdit(step, template, current);
          if (edited === undefined) continue;
          template = edited;
        }
        break;
      }
      if (action !== 'edit') journal.append({ type: 'decision', step: step.id, question: `After failure (${reason}): what next?`, answer: action });
      switch (action) {
        case 'retry':
        case 'edit':
          continue;
        case 'skip':
          return { outcome: 'skipped', reason: `after failure: ${reason}` };
        case 'done':
          return { outcome: 'marked-done', reason: `done by hand after failure: ${reason}` };
        case 'abort':
          this.finishStep(step, 'failed', clock.monotonic() - started, reason);
          throw new Abort(step.id, abortReason);
      }
    }
  }

  /**
   * Abort is for good: asked twice, with room for why (it goes in the post-mortem).
   * Returns the reason ('' for none), or undefined when the operator changed their mind.
   */
  private async confirmAbort(step: Step): Promise<string | undefined> {
    if (this.plan.yes) return '';
    const { ui, journal } = this.deps;
    const sure = await ui.confirm('Abort the runbook? The session ends here (drbook resume --reopen can continue it later).');
    journal.append({ type: 'decision', step: step.id, question: 'Abort the runbook?', answer: sure ? 'yes' : 'no' });
    if (!sure) return undefined;
    return (await ui.askText('Why abort? (recorded for the post-mortem, Enter for none)', '')).trim();
  }

  /**
   * An edit after a failure, start to end: the new command is asked for, then shown as it
   * will run (values in, secrets masked) and confirmed, and only then journaled. Returns
   * the new template, or undefined when nothing changes (the editor failed, the text is
   * the same, or the operator said no): the failure question comes again.
   */
  private async takeEdit(step: Step, template: string, current: StepView): Promise<string | undefined> {
    const { ui, journal } = this.deps;
    const { redactor } = this.plan;
    const edited = await this.askEdit(template);
    if (edited === undefined) return undefined;
    if (edited === '' || edited === template.trim()) {
      ui.info('The command is unchanged: nothing was run.');
      return undefined;
    }
    // The fix may name a declared var no step has needed yet: asked now, so the command
    // shown is the one that runs.
    await this.ensureVars(step, templateNames(edited));
    const sites = await this.deps.shellSites(edited, this.plan.runbook.shell);
    const shown = redactor.redact(renderShown(edited, sites, (n) => this.plan.vars.get(n)));
    ui.showStep({ ...current, command: shown, part: 'command' });
    const question = 'Run the edited command?';
    const yes = await ui.confirm(question);
    journal.append({ type: 'decision', step: step.id, question, answer: yes ? 'yes' : 'no' });
    if (!yes) {
      ui.info('The edit was dropped: nothing was run, and the command is as it was.');
      return undefined;
    }
    journal.append({
      type: 'command.edited',
      step: step.id,
      attempt: (this.plan.attempts.get(step.id) ?? 0) + 1,
      from: redactor.redact(template),
      to: redactor.redact(edited),
    });
    return edited;
  }

  /**
   * The operator's edit of a command, checked as validation checks a run: an edit the shell
   * would read a value of as code is refused with the reason, and asked again. Undefined:
   * the edit was cancelled (the editor failed; the UI said so).
   */
  private async askEdit(template: string): Promise<string | undefined> {
    const { ui } = this.deps;
    let initial = template;
    for (;;) {
      // A multi-line command goes to the operator's editor where the UI has one. A secret
      // typed into the edit is kept as its {{name}}: the journal never holds the value, and
      // resume replays the very same command (*** could not run).
      const message = 'Edit the command (values as {{name}}; the change is recorded):';
      const answer = ui.editCommand ? await ui.editCommand(message, initial) : await ui.askText(message, initial);
      if (answer === undefined) return undefined;
      const edited = this.plan.vars.withPlaceholders(answer.trim());
      if (!edited || edited === template.trim()) return edited;
      const sites = await this.deps.shellSites(edited, this.plan.runbook.shell);
      const refusals = sites.flatMap((site) => {
        const why = siteRefusal(site, this.plan.runbook.vars[site.name]?.pattern);
        return why === undefined ? [] : [why];
      });
      const unknown = templateNames(edited).filter((n) => !(n in this.plan.runbook.vars) && !this.plan.vars.has(n));
      if (unknown.length > 0) refusals.push(`unknown variable ${unknown.map((n) => `{{${n}}}`).join(', ')}: use a declared var or a captured one`);
      if (refusals.length === 0) return edited;
      ui.warn(`edit refused: ${[...new Set(refusals)].join('; ')}`);
      initial = edited;
    }
  }

  /** Why a result is a failure, or undefined for a success. */
  private judge(step: Step, result: CommandResult): string | undefined {
    if (result.spawnError) return `could not start: ${result.spawnError}`;
    if (result.interrupted) return 'interrupted (Ctrl-C)';
    if (result.timedOut) return `timed out after ${step.timeout ?? formatDuration(step.timeoutMs ?? 0)}`;
    if (result.signal) return `killed by ${result.signal}`;
    const allowed = step.expect?.exit === undefined ? [0] : [step.expect.exit].flat();
    if (result.exitCode === null || !allowed.includes(result.exitCode)) {
      return `exit code ${result.exitCode ?? '?'}${allowed.length === 1 && allowed[0] === 0 ? '' : `, expected ${allowed.join(' or ')}`}`;
    }
    for (const stream of ['stdout', 'stderr'] as const) {
      const pattern = step.expect?.[stream];
      if (pattern && !new RegExp(pattern, 'm').test(result[stream])) return `${stream} did not match /${pattern}/`;
    }
    return undefined;
  }

  /** With --yes: the default answer, said on screen so a scripted run shows what it chose. */
  private byDefault<T extends string | boolean>(answer: T, question?: string): T {
    const shown = answer === true ? 'yes' : String(answer);
    this.deps.ui.info(`${question ? `${question} ` : ''}-> ${shown} (--yes)`);
    return answer;
  }

  private async confirm(step: Step, question: string): Promise<boolean> {
    const answer = this.plan.yes ? this.byDefault(true, question) : await this.deps.ui.confirm(question);
    this.deps.journal.append({ type: 'decision', step: step.id, question, answer: answer ? 'yes' : 'no' });
    return answer;
  }

  private async takeNote(step: Step): Promise<void> {
    const text = (await this.deps.ui.askText('Note (recorded in the timeline):', '')).trim();
    if (!text) return;
    this.deps.journal.append({ type: 'note', text: this.plan.redactor.redact(text), step: step.id, by: 'operator', source: 'walk' });
  }

  private finishStep(step: Step, outcome: StepOutcome, durationMs: number, reason?: string, title?: string): void {
    this.deps.journal.append({
      type: 'step.finished',
      step: step.id,
      index: step.index,
      outcome,
      ...(reason ? { reason: this.plan.redactor.redact(reason) } : {}),
      ...(title ? { title } : {}),
      durationMs: Math.round(durationMs),
    });
    this.plan.finished.set(step.id, outcome);
    this.count(outcome);
    // A step that carries a milestone marks it when it is done (by drbook or by hand).
    if (step.milestone && (outcome === 'done' || outcome === 'marked-done')) {
      this.deps.journal.append({ type: 'milestone', milestone: step.milestone, step: step.id, by: 'operator', source: 'step' });
    }
  }

  private count(outcome: StepOutcome): void {
    tally(this.counts, outcome);
  }

  /** Vars a step uses: those it asks for, then those its templates name, in order. */
  private namesNeeded(step: Step): string[] {
    const names = [...(step.ask ?? []), ...templatedTexts(step).flatMap((text) => templateNames(text))];
    return [...new Set(names)];
  }

  /** Whether ensureVars would put a question to the operator for this var at this step. */
  private willAsk(step: Step, name: string): boolean {
    const { vars } = this.plan;
    const def = vars.defs[name];
    if (!def) return false;
    const had = vars.entry(name);
    const drillOnly = this.plan.mode === 'rehearsal' && !(step.run !== undefined && step.safe === true && this.plan.runSafe);
    if (had && !(had.source === 'placeholder' && def.secret === true && !drillOnly)) return false;
    if (def.secret === true && drillOnly && name !== step.condition?.name) return false;
    const explicit = (step.ask ?? []).includes(name);
    return explicit || def.prompt !== undefined || def.choices !== undefined || def.default === undefined;
  }

  /**
   * Gives each needed var a value: the operator is asked at the first step that needs it
   * (the default offered); a var with only a default takes it; with --yes the default is
   * taken, and in a rehearsal a var with none gets a visible placeholder.
   */
  private async ensureVars(step: Step, names: readonly string[]): Promise<void> {
    const { vars } = this.plan;
    const explicit = new Set(step.ask ?? []);
    // A drill needs no secret unless a command that really runs uses it: elsewhere the
    // rehearsal shows <name>, and nobody has to open the password manager for a drill.
    const drillOnly = this.plan.mode === 'rehearsal' && !(step.run !== undefined && step.safe === true && this.plan.runSafe);
    for (const name of names) {
      const had = vars.entry(name);
      // A placeholder stands in for a drill; a command that really runs needs the value.
      if (had && !(had.source === 'placeholder' && vars.defs[name]?.secret === true && !drillOnly)) continue;
      const def = vars.defs[name];
      if (!def) continue; // a capture from a step not run: the command reports it missing
      if (def.secret === true && drillOnly && name !== step.condition?.name) {
        if (!had) this.setVar(name, `<${name}>`, 'placeholder', step);
        continue;
      }
      const fallback = def.default === undefined ? undefined : String(def.default);
      const mustAsk = explicit.has(name) || def.prompt !== undefined || def.choices !== undefined || fallback === undefined;
      if (!mustAsk && fallback !== undefined) {
        this.setVar(name, fallback, 'default', step);
        continue;
      }
      if (this.plan.yes) {
        if (fallback !== undefined) this.setVar(name, fallback, 'default', step);
        else if (this.plan.mode === 'rehearsal') this.setVar(name, `<${name}>`, 'placeholder', step);
        continue; // live: the command reports the missing value and the failure policy applies
      }
      for (;;) {
        const value = await this.deps.ui.askVar({
          name,
          def,
          validate: (v) => this.plan.vars.check(name, v),
          ...(fallback !== undefined ? { initial: fallback } : {}),
        });
        // Enter on the offered default: a UI that hands back '' means "the default".
        if (value === '' && fallback !== undefined) {
          this.setVar(name, fallback, 'default', step);
          break;
        }
        const problem = this.plan.vars.check(name, value);
        if (problem) {
          // The UI validates as the operator types; this guards a UI that does not, and
          // asks again: moving on would leave the var unset and fail the command later.
          this.deps.ui.warn(problem);
          continue;
        }
        this.setVar(name, value, 'prompt', step);
        break;
      }
    }
  }

  private setVar(name: string, value: string, source: 'prompt' | 'default' | 'capture' | 'placeholder', step: Step): void {
    const { vars, redactor } = this.plan;
    // A value derived from a secret (a capture that echoes one) is a secret too.
    // A placeholder is not the secret: it is shown as <name>, never masked.
    const secret = source !== 'placeholder' && (vars.defs[name]?.secret === true || (source === 'capture' && redactor.redact(value) !== value));
    vars.set(name, value, source, secret);
    this.deps.journal.append({ type: 'var.set', name, source, ...vars.journaled(name), step: step.id });
  }

  private render(text: string): string {
    return this.plan.redactor.redact(renderTemplate(text, (n) => this.plan.vars.get(n)));
  }

  private view(step: Step, sites: readonly PlaceholderSite[]): StepView {
    const { runbook, mode, runSafe, redactor } = this.plan;
    const view: StepView = {
      position: step.index + 1,
      total: runbook.steps.length,
      step,
      title: this.render(step.title),
      docs: step.docLinks,
      mode,
      willExecute: step.run !== undefined && (mode === 'live' || (step.safe === true && runSafe)),
    };
    if (step.description) view.description = this.render(step.description);
    if (step.run) view.command = redactor.redact(renderShown(step.run, sites, (n) => this.plan.vars.get(n)));
    if (step.cwd) view.cwd = redactor.redact(this.plan.resolveCwd(renderTemplate(step.cwd, (n) => this.plan.vars.get(n))));
    return view;
  }
}

/** The last non-empty line of some output, for a one-line status. */
export function lastLine(output: string): string {
  const lines = output
    .split(/\r?\n|\r/)
    .map((l) => l.trim())
    .filter((l) => l !== '');
  return lines[lines.length - 1] ?? '';
}
