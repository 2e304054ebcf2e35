import { shellWord } from '../../src/core/template.js';
/**
 * Fakes for the engine's ports. The walk talks only through Ui, Executor, Journal and
 * Clock, so these let a test drive a whole session in memory, with no process, no timer
 * and no terminal, and check every question asked, every command run and every line
 * journaled.
 */
import { PromptInterrupted } from '../../src/core/errors.js';
import { JOURNAL_VERSION, type EventBody, type JournalEvent } from '../../src/core/journal-events.js';
import { hashLine } from '../../src/core/journal-parse.js';
import type {
  Clock,
  CommandRequest,
  CommandResult,
  Executor,
  FailureAction,
  Journal,
  LiveProcess,
  Processes,
  StepAction,
  PollWait,
  StepView,
  Ui,
  VarQuestion,
} from '../../src/core/ports.js';

/** Answered in place of the operator: `interrupt` stands for Ctrl-C at that prompt. */
type Interrupt = { interrupt: true };
export const INTERRUPT: Interrupt = { interrupt: true };

/**
 * One expected question and its answer. The optional fields are checks: a question that
 * does not match them fails the test, so a script documents exactly what the operator sees.
 */
export type Expected =
  | { ask: 'step'; step?: string; choices?: readonly StepAction[]; answer: StepAction | Interrupt }
  | { ask: 'failure'; step?: string; failure?: string | RegExp; answer: FailureAction | Interrupt }
  | { ask: 'confirm'; question?: string | RegExp; answer: boolean | Interrupt }
  | { ask: 'var'; name: string; answer: string | Interrupt }
  | { ask: 'text'; message?: string | RegExp; initial?: string; answer: string | Interrupt }
  /** A wait between two `until:` attempts: 'elapsed' moves the fake clock by the wait. */
  | { ask: 'wait'; attempt?: number; answer: 'elapsed' | 'interrupted' };

/** Everything the engine told the UI, in order, for assertions on what was shown. */
export type UiRecord =
  | { call: 'showStep'; view: StepView }
  | { call: 'chooseStepAction'; view: StepView; choices: readonly StepAction[] }
  | { call: 'chooseFailureAction'; view: StepView; failure: string; choices: readonly FailureAction[]; noDefault: boolean }
  | { call: 'confirm'; question: string }
  | { call: 'askVar'; question: VarQuestion }
  | { call: 'askText'; message: string; initial: string | undefined }
  | { call: 'info'; message: string }
  | { call: 'warn'; message: string }
  | { call: 'commandStarting'; view: StepView }
  | { call: 'commandFinished'; view: StepView; result: CommandResult }
  | { call: 'waitUntil'; view: StepView; wait: PollWait };

/**
 * A Ui that answers from a script. An unexpected question, or one that does not match
 * the script, throws at once (the walk does not catch it, so the test fails there) and is
 * also kept in `problems`, in case something upstream swallowed the throw. `finish()`
 * fails when answers are left over: a question the engine should have asked and did not.
 */
export class FakeUi implements Ui {
  readonly calls: UiRecord[] = [];
  readonly problems: string[] = [];
  private readonly script: Expected[];

  constructor(
    script: readonly Expected[] = [],
    /** Moved by each wait that elapses, as the real one would be. */
    private readonly clock?: FakeClock,
  ) {
    this.script = [...script];
  }

  /** Asserts the script was used up and nothing unexpected happened. */
  finish(): void {
    if (this.problems.length > 0) throw new Error(`FakeUi: ${this.problems.join('; ')}`);
    if (this.script.length > 0) throw new Error(`FakeUi: ${this.script.length} answer(s) never asked for: ${JSON.stringify(this.script)}`);
  }

  /** Messages of one kind of call, for assertions on what the operator was told. */
  messages(call: 'info' | 'warn'): string[] {
    return this.calls.flatMap((c) => (c.call === call ? [c.message] : []));
  }

  /** Every string the operator was shown, to search for a leaked secret. */
  shownText(): string {
    return JSON.stringify(
      this.calls.map((c) => {
        // The def and validate of a question are the runbook's, not shown values.
        if (c.call === 'askVar') return { name: c.question.name, initial: c.question.initial };
        return c;
      }),
    );
  }

  showStep(view: StepView): void {
    this.calls.push({ call: 'showStep', view });
  }

  async chooseStepAction(view: StepView, choices: readonly StepAction[]): Promise<StepAction> {
    this.calls.push({ call: 'chooseStepAction', view, choices });
    const next = this.take('step', `chooseStepAction(${view.step.id})`);
    if (next.step !== undefined && next.step !== view.step.id) this.fail(`asked for step ${view.step.id}, script expected ${next.step}`);
    if (next.choices !== undefined && next.choices.join(',') !== choices.join(','))
      this.fail(`choices ${choices.join(',')} for ${view.step.id}, script expected ${next.choices.join(',')}`);
    if (next.answer !== INTERRUPT && !choices.includes(next.answer as StepAction)) this.fail(`answer ${String(next.answer)} is not among ${choices.join(',')}`);
    return answer(next.answer);
  }

  async chooseFailureAction(view: StepView, failure: string, choices: readonly FailureAction[], options?: { noDefault?: boolean }): Promise<FailureAction> {
    this.calls.push({ call: 'chooseFailureAction', view, failure, choices, noDefault: options?.noDefault === true });
    const next = this.take('failure', `chooseFailureAction(${view.step.id}, ${failure})`);
    if (next.step !== undefined && next.step !== view.step.id) this.fail(`failure asked for step ${view.step.id}, script expected ${next.step}`);
    if (next.failure !== undefined && !matches(failure, next.failure)) this.fail(`failure "${failure}" does not match ${String(next.failure)}`);
    return answer(next.answer);
  }

  async confirm(question: string): Promise<boolean> {
    this.calls.push({ call: 'confirm', question });
    const next = this.take('confirm', `confirm(${question})`);
    if (next.question !== undefined && !matches(question, next.question)) this.fail(`confirm "${question}" does not match ${String(next.question)}`);
    return answer(next.answer);
  }

  async askVar(question: VarQuestion): Promise<string> {
    this.calls.push({ call: 'askVar', question });
    const next = this.take('var', `askVar(${question.name})`);
    if (next.name !== question.name) this.fail(`asked for var ${question.name}, script expected ${next.name}`);
    return answer(next.answer);
  }

  async askText(message: string, initial?: string): Promise<string> {
    this.calls.push({ call: 'askText', message, initial });
    const next = this.take('text', `askText(${message})`);
    if (next.message !== undefined && !matches(message, next.message)) this.fail(`askText "${message}" does not match ${String(next.message)}`);
    if (next.initial !== undefined && next.initial !== initial) this.fail(`askText initial "${initial ?? ''}", script expected "${next.initial}"`);
    return answer(next.answer);
  }

  info(message: string): void {
    this.calls.push({ call: 'info', message });
  }

  warn(message: string): void {
    this.calls.push({ call: 'warn', message });
  }

  commandStarting(view: StepView): void {
    this.calls.push({ call: 'commandStarting', view });
  }

  commandFinished(view: StepView, result: CommandResult): void {
    this.calls.push({ call: 'commandFinished', view, result });
  }

  async waitUntil(view: StepView, wait: PollWait): Promise<'elapsed' | 'interrupted'> {
    this.calls.push({ call: 'waitUntil', view, wait });
    const next = this.take('wait', `waitUntil(${view.step.id}, attempt ${wait.attempt})`);
    if (next.attempt !== undefined && next.attempt !== wait.attempt) this.fail(`wait after attempt ${wait.attempt}, script expected ${next.attempt}`);
    if (wait.waitMs <= 0 || wait.waitMs > wait.leftMs) this.fail(`wait of ${wait.waitMs} ms with ${wait.leftMs} ms left`);
    if (next.answer === 'elapsed') this.clock?.advance(wait.waitMs);
    return next.answer;
  }

  private take<K extends Expected['ask']>(kind: K, what: string): Extract<Expected, { ask: K }> {
    const next = this.script.shift();
    if (next === undefined) this.fail(`unexpected question ${what}: the script is used up`);
    if (next.ask !== kind) this.fail(`unexpected question ${what}: the script expected ${JSON.stringify(next)}`);
    return next as Extract<Expected, { ask: K }>;
  }

  private fail(message: string): never {
    this.problems.push(message);
    throw new Error(`FakeUi: ${message}`);
  }
}

function answer<T>(value: T | Interrupt): T {
  if (value === INTERRUPT) throw new PromptInterrupted();
  return value as T;
}

function matches(text: string, expected: string | RegExp): boolean {
  return typeof expected === 'string' ? text === expected : expected.test(text);
}

/** A scripted command result: what is not given is a quick, clean success. */
export type Scripted = Partial<CommandResult> & {
  /** Pid reported through onSpawn; `null` for a command that never started (spawnError). */
  pid?: number | null;
  procStart?: string;
};

export function result(partial: Partial<CommandResult> = {}): CommandResult {
  const stdout = partial.stdout ?? '';
  const stderr = partial.stderr ?? '';
  return {
    exitCode: 0,
    signal: null,
    durationMs: 100,
    timedOut: false,
    interrupted: false,
    stdout,
    stderr,
    truncated: false,
    tail: partial.tail ?? [stdout, stderr].filter((s) => s !== '').join(''),
    outputBytes: Buffer.byteLength(stdout + stderr),
    ...partial,
  };
}

/**
 * An Executor that records every request and answers from a script, in order. It calls
 * onSpawn the way a real one does (after the process exists, before it ends) and moves
 * the fake clock by the command's duration. Running with the script used up throws: a
 * command the test did not expect (in a rehearsal, the point of the test) fails loudly.
 */
export class FakeExecutor implements Executor {
  readonly requests: CommandRequest[] = [];
  private readonly script: Scripted[];

  constructor(
    script: readonly Scripted[] = [],
    private readonly clock?: FakeClock,
  ) {
    this.script = [...script];
  }

  /**
   * The commands as the shell reads them: each DRBOOK_V_ reference of the script replaced by
   * its value from the request's environment ("${V}" as one shell word, ${V} as it is).
   */
  get commands(): string[] {
    return this.requests.map((r) =>
      r.command.replace(/"\$\{(DRBOOK_V_\w+)\}"|\$\{(DRBOOK_V_\w+)\}/g, (whole, word?: string, bare?: string) => {
        const value = r.env[(word ?? bare)!];
        if (value === undefined) return whole;
        return word ? shellWord(value) : value;
      }),
    );
  }

  /** The scripts exactly as given to the shell: they hold no value. */
  get scripts(): string[] {
    return this.requests.map((r) => r.command);
  }

  finish(): void {
    if (this.script.length > 0) throw new Error(`FakeExecutor: ${this.script.length} scripted result(s) never used`);
  }

  async run(request: CommandRequest): Promise<CommandResult> {
    this.requests.push(request);
    const next = this.script.shift();
    if (next === undefined) throw new Error(`FakeExecutor: unexpected command for step ${request.step}: ${request.redactor.redact(request.command)}`);
    const { pid, procStart, ...rest } = next;
    if (pid !== null && next.spawnError === undefined) request.onSpawn?.(pid ?? 4242, procStart);
    const out = result(rest);
    this.clock?.advance(out.durationMs);
    return out;
  }
}

/**
 * A Journal in memory that stamps events as the file journal does: v, gapless seq, ts
 * from the clock, and prev the hash of the previous line, so a test can verify the chain
 * with the same code that checks real journals.
 */
export class MemoryJournal implements Journal {
  readonly events: JournalEvent[] = [];
  readonly lines: string[] = [];

  constructor(private readonly clock: Clock) {}

  append(event: EventBody): JournalEvent {
    const last = this.lines[this.lines.length - 1];
    const full = {
      v: JOURNAL_VERSION,
      seq: this.events.length + 1,
      ts: this.clock.now().toISOString(),
      prev: last === undefined ? null : hashLine(last),
      ...event,
    } as JournalEvent;
    // Round-trip through JSON like the file does, so a value JSON cannot hold shows up here.
    const line = JSON.stringify(full);
    this.lines.push(line);
    this.events.push(JSON.parse(line) as JournalEvent);
    return full;
  }

  /** The file's text: one line an event. */
  text(): string {
    return this.lines.map((l) => `${l}\n`).join('');
  }

  types(): string[] {
    return this.events.map((e) => e.type);
  }

  ofType<T extends JournalEvent['type']>(type: T): Extract<JournalEvent, { type: T }>[] {
    return this.events.filter((e): e is Extract<JournalEvent, { type: T }> => e.type === type);
  }
}

/** A clock that moves only when told: `advance` moves wall and monotonic time together. */
export class FakeClock implements Clock {
  private wall: number;
  private mono: number;

  constructor(start = new Date('2026-03-11T09:05:12.000Z'), monotonicStart = 1_000_000) {
    this.wall = start.getTime();
    this.mono = monotonicStart;
  }

  now(): Date {
    return new Date(this.wall);
  }

  monotonic(): number {
    return this.mono;
  }

  advance(ms: number): void {
    this.wall += ms;
    this.mono += ms;
  }

  /** A wall-clock jump (NTP, a laptop waking up): monotonic time does not follow. */
  jumpWall(ms: number): void {
    this.wall += ms;
  }
}

/** A process in the FakeProcesses table: start times are ticks as strings, as on Linux. */
export interface FakeProcess {
  pid: number;
  start: string;
  parent?: number;
  pgid?: number;
  /** Wall-clock start, for a group looked up since an instant. */
  startedAtMs?: number;
  /** The mark a drbook gave the command in its environment: `driver/step/attempt`. */
  mark?: string;
}

/**
 * Processes from a table. Strict: stopping or waiting is a decision the test must script
 * (`stop`, `wait`), and a call the script did not expect throws at once.
 */
export class FakeProcesses implements Processes {
  readonly stopped: number[][] = [];
  readonly waited: number[][] = [];
  private readonly table: FakeProcess[];

  constructor(
    table: readonly FakeProcess[],
    private readonly script: {
      /** This drbook and its parents. */
      ancestors?: readonly number[];
      /** What waiting ends with: they all exit, or the operator presses Ctrl-C. */
      wait?: 'exit' | 'interrupt';
      /** Pids that outlive a stop. */
      stop?: { left: readonly number[] };
    } = {},
  ) {
    this.table = [...table];
  }

  alive(pid: number, start?: string): boolean {
    const p = this.find(pid);
    return p !== undefined && (start === undefined || p.start === start);
  }

  startOf(pid: number): string | undefined {
    return this.find(pid)?.start;
  }

  parentOf(pid: number): number | undefined {
    return this.find(pid)?.parent;
  }

  descendants(pid: number): number[] {
    const out: number[] = [];
    for (const child of this.table.filter((p) => p.parent === pid)) out.push(child.pid, ...this.descendants(child.pid));
    return out;
  }

  groupMembers(pgid: number, since: string | number): number[] {
    return this.table
      .filter((p) => p.pgid === pgid && (typeof since === 'string' ? Number(p.start) >= Number(since) : (p.startedAtMs ?? -Infinity) >= since))
      .map((p) => p.pid);
  }

  ownGroup(pgid: number, start: string): number[] {
    const leader = this.find(pgid);
    // The leader's pid alive with another start time: reused after the whole group ended.
    if (leader !== undefined && leader.start !== start && leader.pgid === pgid) return [];
    return this.groupMembers(pgid, start);
  }

  marked(driverPid: number, step: string, attempt: number): number[] {
    return this.table.filter((p) => p.mark === `${driverPid}/${step}/${attempt}`).map((p) => p.pid);
  }

  ancestors(): ReadonlySet<number> {
    return new Set(this.script.ancestors ?? [1000]);
  }

  async stop(processes: readonly LiveProcess[]): Promise<number[]> {
    if (this.script.stop === undefined) throw new Error(`FakeProcesses: unexpected stop of ${processes.map((p) => p.pid).join(', ')}`);
    this.stopped.push(processes.map((p) => p.pid));
    const left = this.script.stop.left;
    this.remove(processes.map((p) => p.pid).filter((pid) => !left.includes(pid)));
    return [...left];
  }

  async waitForExit(processes: readonly LiveProcess[]): Promise<boolean> {
    if (this.script.wait === undefined) throw new Error(`FakeProcesses: unexpected wait for ${processes.map((p) => p.pid).join(', ')}`);
    this.waited.push(processes.map((p) => p.pid));
    if (this.script.wait === 'interrupt') return false;
    this.remove(processes.map((p) => p.pid));
    return true;
  }

  private find(pid: number): FakeProcess | undefined {
    return this.table.find((p) => p.pid === pid);
  }

  private remove(pids: readonly number[]): void {
    for (const pid of pids) {
      const i = this.table.findIndex((p) => p.pid === pid);
      if (i !== -1) this.table.splice(i, 1);
    }
  }
}
