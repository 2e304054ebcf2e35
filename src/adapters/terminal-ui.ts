/**
 * The walk at a terminal: what the operator reads and how they answer. The operator is
 * tired and under stress, so every screen ends with what to do next, defaults are the
 * safe common answer, and nothing typed earlier can answer a question they have not seen.
 */
import { StringDecoder } from 'node:string_decoder';
import { confirm as confirmPrompt, expand, input as inputPrompt, password, select } from '@inquirer/prompts';
import { Chalk } from 'chalk';
import { wantsColor } from './style.js';
import { PromptInterrupted } from '../core/errors.js';
import type { CommandResult, FailureAction, PollWait, StepAction, StepView, Ui, VarQuestion } from '../core/ports.js';
import {
  FAILURE_ACTION_LABELS,
  STEP_ACTION_LABELS,
  asciiSymbols,
  renderCommandFinished,
  renderStep,
  unicodeSymbols,
  type Paint,
  type RenderOptions,
  type Symbols,
} from './plain-ui.js';
import { countdown, pollStatus } from './poll-wait.js';
import { discardTypeAhead } from './type-ahead.js';
import { findEditor } from './find-editor.js';
import { editInEditor } from './edit-in-editor.js';

export interface TerminalUiOptions {
  input?: NodeJS.ReadStream;
  output?: NodeJS.WriteStream;
  /** Force colour on or off (a `--color`/`--no-color` flag). Unset: decided from the environment. */
  color?: boolean;
  /** @internal For tests: the environment read for NO_COLOR, TERM, VISUAL, EDITOR and PATH. */
  env?: NodeJS.ProcessEnv;
}

/** The one-key choices: the letter is what the operator types. */
const STEP_KEYS = { run: 'r', skip: 's', done: 'd', note: 'n', abort: 'a' } as const satisfies Record<StepAction, string>;
const FAILURE_KEYS = { retry: 'r', edit: 'e', skip: 's', done: 'd', completed: 'c', note: 'n', abort: 'a' } as const satisfies Record<FailureAction, string>;

/** Reads of one paste come closer together than this. */
const PASTE_BURST_MS = 25;

/** What a var prompt says after a paste of several lines. */
const VAR_HINT = 'A var is one line: type or paste its value on one line, or give a value of several lines in a file with --vars-file.';

type ChoiceKey = (typeof STEP_KEYS)[StepAction] | (typeof FAILURE_KEYS)[FailureAction];
/** Keys of questions asked outside a walk (`q` quits); never `h`, which the prompt keeps for help. */
type OtherKey = 'q';

interface KeyChoice<T extends string> {
  key: ChoiceKey | OtherKey;
  value: T;
  name: string;
}

export class TerminalUi implements Ui {
  private readonly input: NodeJS.ReadStream;
  private readonly output: NodeJS.WriteStream;
  private readonly paint: Paint;
  private readonly symbols: Symbols;
  /**
   * Line mode: questions asked one line at a time, no cursor movement. For TERM=dumb and
   * output that is not a terminal (a pipe to `tee`), where @inquirer's redrawing would
   * leave escape sequences in the log.
   */
  private readonly lineMode: boolean;
  private readonly chalk: InstanceType<typeof Chalk>;
  private readonly env: NodeJS.ProcessEnv;

  constructor(options: TerminalUiOptions = {}) {
    this.input = options.input ?? process.stdin;
    this.output = options.output ?? process.stdout;
    const env = options.env ?? process.env;
    this.env = env;
    this.lineMode = env.TERM === 'dumb' || this.output.isTTY !== true || this.input.isTTY !== true;
    const color = wantsColor(this.output, env, options.color);
    this.chalk = new Chalk({ level: color ? 1 : 0 });
    const c = this.chalk;
    this.paint = {
      header: (s) => c.bold(s),
      strong: (s) => c.bold(s),
      em: (s) => c.italic(s),
      code: (s) => c.cyan(s),
      command: (s) => c.bold.cyan(s),
      dim: (s) => c.dim(s),
      warn: (s) => c.yellow(s),
      ok: (s) => c.green(s),
      fail: (s) => c.red(s),
      link: (s) => c.underline(s),
    };
    // The Linux console font lacks these glyphs; dumb terminals and logs get ASCII.
    this.symbols = this.lineMode || env.TERM === 'linux' ? asciiSymbols : unicodeSymbols;
  }

  private get render(): RenderOptions {
    const columns = this.output.columns ?? 80;
    return { paint: this.paint, symbols: this.symbols, width: Math.max(20, columns > 0 ? columns : 80) };
  }

  private line(text = ''): void {
    this.output.write(text + '\n');
  }

  /** @inquirer's look, painted with our colours so NO_COLOR reaches the prompts too. */
  private get theme() {
    const c = this.chalk;
    return {
      prefix: { idle: c.blue('?'), done: c.green(this.symbols === asciiSymbols ? '>' : '✔') },
      spinner: { interval: 120, frames: ['-', '\\', '|', '/'] },
      icon: { cursor: this.symbols === asciiSymbols ? '>' : '❯' },
      style: {
        answer: (s: string) => c.cyan(s),
        message: (s: string) => c.bold(s),
        error: (s: string) => c.red(`> ${s}`),
        defaultAnswer: (s: string) => c.dim(`(${s})`),
        help: (s: string) => c.dim(s),
        highlight: (s: string) => c.cyan(s),
        key: (s: string) => c.cyan.bold(`<${s}>`),
        description: (s: string) => c.cyan(s),
        disabled: (s: string) => c.dim(`- ${s}`),
        keysHelpTip: (keys: [string, string][]) => keys.map(([key, action]) => `${c.bold(key)} ${c.dim(action)}`).join(c.dim(' • ')),
      },
    };
  }

  /** The prompt being asked, for Ctrl-D: its readline closes and nothing else would settle it. */
  private signal: AbortSignal | undefined;

  private get context() {
    return { input: this.input, output: this.output, clearPromptOnDone: false, ...(this.signal ? { signal: this.signal } : {}) };
  }

  /**
   * Every question goes through here: stale keys are thrown away first, and Ctrl-C, however
   * it surfaces, becomes the one error the engine knows (the session pauses); so does Ctrl-D
   * (end of input). Ctrl-Z suspends drbook as in a shell, and `fg` brings the question back.
   */
  private async ask<T>(question: () => Promise<T>): Promise<T> {
    return (await this.askWatched(question, false)).answer;
  }

  /**
   * A question whose answer is one line (a var, a one-line command, a note). A paste of
   * several lines would answer it with its first line and lose the rest (a certificate cut
   * after its first line, a command run without its second): such an answer is not taken,
   * the operator is told why, with `hint`, and asked again.
   */
  private async askOneLine<T>(question: () => Promise<T>, hint: string): Promise<T> {
    for (;;) {
      const { answer, pasted } = await this.askWatched(question, true);
      if (pasted.length === 0) return answer;
      this.pastedLines(pasted.length + 1, hint);
    }
  }

  private pastedLines(count: number, hint: string): void {
    this.warn(`the pasted text had ${count} lines, and this answer is one line: it was not taken. ${hint}`);
  }

  /**
   * `pasted`: the lines (not blank) that were already waiting behind the Enter that answered:
   * typed by no hand that fast, they are the rest of a paste.
   */
  private async askWatched<T>(question: () => Promise<T>, watchPaste: boolean): Promise<{ answer: T; pasted: string[] }> {
    const drained = await discardTypeAhead(this.input);
    if (drained.interrupted) {
      this.line();
      throw new PromptInterrupted();
    }
    const input = this.input;
    let controller = new AbortController();
    let settled = false;
    let endOfInput = false;
    let continued = false;
    // After Ctrl-Z, readline stops drbook (SIGTSTP). On `fg` the question is asked afresh,
    // drawn whole below what the shell printed. Where no shell can stop drbook (no job
    // control), the signal is dropped and the same question reads keys again.
    const wakeUp = (): void => {
      if (settled) return;
      if (input.isTTY === true && input.isRaw !== true) input.setRawMode?.(true);
      input.resume();
    };
    const onContinue = (): void =>
      void setImmediate(() => {
        if (settled || controller.signal.aborted) return;
        continued = true;
        controller.abort();
      });
    const onKey = (_text: unknown, key?: { ctrl?: boolean; name?: string }): void => {
      if (key?.ctrl !== true) return;
      if (key.name === 'z') setImmediate(wakeUp);
      // Ctrl-D on an empty line closes the prompt's readline, which turns raw mode off.
      if (key.name === 'd') {
        setImmediate(() => {
          if (settled || input.isRaw === true || controller.signal.aborted) return;
          endOfInput = true;
          controller.abort();
        });
      }
    };
    // The bytes behind an Enter, in the same burst of input: a paste arrives at once, in
    // reads a few milliseconds apart; keys typed after an answer refused by its check do not.
    let enter = false;
    let after: Buffer[] = [];
    let lastRead = 0;
    const spy = (chunk: Buffer | string): void => {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      const now = performance.now();
      if (now - lastRead > PASTE_BURST_MS) {
        enter = false;
        after = [];
      }
      lastRead = now;
      if (enter) {
        after.push(bytes);
        return;
      }
      const at = bytes.findIndex((b) => b === 0x0d || b === 0x0a);
      if (at < 0) return;
      enter = true;
      after.push(bytes.subarray(at + 1));
    };
    input.on('keypress', onKey);
    process.on('SIGCONT', onContinue);
    if (watchPaste) input.on('data', spy);
    let answer: T;
    try {
      for (;;) {
        this.signal = controller.signal;
        try {
          answer = await question();
          break;
        } catch (error) {
          if (endOfInput) {
            this.line();
            this.line(this.paint.dim('Ctrl-D: end of input.'));
            throw new PromptInterrupted('end of input');
          }
          if (continued) {
            continued = false;
            controller = new AbortController();
            continue;
          }
          if (error instanceof Error && (error.name === 'ExitPromptError' || error.name === 'AbortPromptError')) {
            throw new PromptInterrupted();
          }
          throw error;
        }
      }
    } finally {
      settled = true;
      this.signal = undefined;
      input.removeListener('keypress', onKey);
      process.removeListener('SIGCONT', onContinue);
      input.removeListener('data', spy);
    }
    if (!watchPaste) return { answer, pasted: [] };
    // What the same paste still has on its way (a long one comes in several reads).
    const rest = await discardTypeAhead(input, { quietMs: 30, keep: true });
    const text = Buffer.concat(after).toString('utf8') + (rest.text ?? '');
    return { answer, pasted: text.split(/\r\n|\r|\n/).filter((l) => l.trim() !== '') };
  }

  showStep(view: StepView): void {
    this.line();
    for (const l of renderStep(view, this.render)) this.line(l);
  }

  async chooseStepAction(view: StepView, choices: readonly StepAction[]): Promise<StepAction> {
    const options = choices.map((action) => ({
      key: STEP_KEYS[action],
      value: action,
      name: stepActionLabel(action, view),
    }));
    return this.choose(`Step ${view.position}/${view.total}: what now?`, options);
  }

  async chooseFailureAction(view: StepView, failure: string, choices: readonly FailureAction[], options: { noDefault?: boolean } = {}): Promise<FailureAction> {
    const where = `Step ${view.position}/${view.total}`;
    const headline = this.symbols === asciiSymbols ? `${where} FAILED: ${failure}` : `${this.symbols.fail} ${where} failed: ${failure}`;
    this.line(this.paint.fail(headline));
    const keyed = choices.map((action) => ({ key: FAILURE_KEYS[action], value: action, name: FAILURE_ACTION_LABELS[action] }));
    return this.choose('The step failed. What now?', keyed, options.noDefault === true);
  }

  /**
   * A one-key question asked outside a walk (before a session starts): the first choice is
   * the default. The caller makes the names visible.
   */
  async chooseKey<T extends string>(message: string, choices: KeyChoice<T>[]): Promise<T> {
    return this.choose(message, choices);
  }

  private async choose<T extends string>(message: string, choices: KeyChoice<T>[], noDefault = false): Promise<T> {
    const first = choices[0];
    if (first === undefined) throw new Error('a question was asked with no choices');
    const named = choices.map((choice, n) => ({ ...choice, name: n === 0 && !noDefault ? `${choice.name} (default)` : choice.name }));
    const full = `${message} Type a letter, then Enter.`;
    if (this.lineMode) return this.ask(() => this.lineChoose(full, named, noDefault));
    const theme = this.theme;
    // Once answered, the instruction is noise in the scrollback: keep the question only.
    const style = {
      ...theme.style,
      message: (text: string, status: string) => this.chalk.bold(status === 'done' ? message : text),
      answer: (text: string) => this.chalk.cyan(text.replace(/ \(default\)$/, '')),
    };
    return this.ask(() =>
      // Without a default, expand's own ('h', help) is no choice: Enter alone asks again.
      expand({ message: full, choices: named, ...(noDefault ? {} : { default: first.key }), expanded: true, theme: { ...theme, style } }, this.context),
    );
  }

  async confirm(question: string): Promise<boolean> {
    if (this.lineMode) {
      return this.ask(async () => {
        for (;;) {
          const answer = (await this.readLine(`${question} [Y/n] `)).trim().toLowerCase();
          if (answer === '' || answer === 'y' || answer === 'yes') return true;
          if (answer === 'n' || answer === 'no') return false;
          this.line(this.paint.fail('> Please answer y or n.'));
        }
      });
    }
    return this.ask(() => confirmPrompt({ message: question, default: true, theme: this.theme }, this.context));
  }

  async askVar(question: VarQuestion): Promise<string> {
    const { name, def, initial } = question;
    const label = def.prompt ?? def.description;
    const message = label !== undefined ? `${label} [${name}]` : `${def.choices !== undefined ? 'Choose' : 'Value of'} ${name}`;
    const check = (value: string): string | true => {
      if (value === '') return 'A value is needed here (Ctrl-C pauses the session).';
      return question.validate(value) ?? true;
    };

    if (def.choices !== undefined) {
      const options = Array.isArray(def.choices)
        ? def.choices.map((v) => ({ value: String(v), name: String(v) }))
        : Object.entries(def.choices).map(([value, text]) => ({ value, name: `${value}: ${text}`, short: value }));
      const preset = initial !== undefined && options.some((o) => o.value === initial) ? initial : undefined;
      if (this.lineMode) return this.ask(() => this.lineSelect(message, options, preset));
      return this.ask(() =>
        select<string>({ message, choices: options, default: preset, pageSize: Math.max(options.length, 7), theme: this.theme }, this.context),
      );
    }

    if (def.secret) {
      // A password prompt cannot show a default without showing the secret: Enter keeps it.
      const keep = initial !== undefined && initial !== '' ? ' (Enter keeps the default)' : '';
      const resolve = (value: string): string => (value === '' && initial !== undefined ? initial : value);
      if (this.lineMode) {
        return this.ask(() => this.lineAsk(`${message}${keep}: `, (v) => check(resolve(v)), { mask: true }).then(resolve));
      }
      const answer = await this.askOneLine(
        () => password({ message: message + keep, mask: '*', validate: (v) => check(resolve(v)), theme: this.theme }, this.context),
        VAR_HINT,
      );
      return resolve(answer);
    }

    if (this.lineMode) {
      const shown = initial !== undefined && initial !== '' ? ` [${initial}]` : '';
      return this.ask(() => this.lineAsk(`${message}${shown}: `, (v) => check(v === '' ? (initial ?? '') : v)).then((v) => (v === '' ? (initial ?? '') : v)));
    }
    // The default is shown, not typed in: typing replaces it (Tab to edit it), so a
    // hurried operator cannot append a new value to the old one by accident.
    return this.askOneLine(() => inputPrompt({ message, default: initial, prefill: 'tab', validate: check, theme: this.theme }, this.context), VAR_HINT);
  }

  async askText(message: string, initial?: string): Promise<string> {
    return this.askTextLine(message, initial, 'Type or paste one line.');
  }

  private async askTextLine(message: string, initial: string | undefined, hint: string): Promise<string> {
    if (this.lineMode) {
      return this.ask(async () => {
        if (initial !== undefined && initial !== '') {
          this.line(`Current: ${initial}`);
          this.line(this.paint.dim('Type the new text, or press Enter to keep it.'));
        }
        const answer = await this.readLine(`${message}: `);
        return answer === '' && initial !== undefined ? initial : answer;
      });
    }
    // Prefilled and editable: fixing one wrong flag in a long command is the common case.
    return this.askOneLine(() => inputPrompt({ message, default: initial, prefill: 'editable', theme: this.theme }, this.context), hint);
  }

  /**
   * A one-line command is edited in place (cursor keys work inside it). A multi-line one
   * (`run: |`) goes to $VISUAL, $EDITOR or vi, as `git commit` does; with none of them,
   * or no full terminal, it is typed again on one line.
   */
  async editCommand(message: string, initial: string): Promise<string | undefined> {
    const editor = this.lineMode ? undefined : findEditor(this.env);
    if (!initial.includes('\n')) {
      if (editor === undefined || this.lineMode)
        return this.askTextLine(message, initial, 'Nothing was run: type the command on one line (join its lines with &&).');
      const { answer, pasted } = await this.askWatched(
        () => inputPrompt({ message, default: initial, prefill: 'editable', theme: this.theme }, this.context),
        true,
      );
      if (pasted.length === 0) return answer;
      // Nothing is lost and nothing runs unseen: the whole paste goes to the editor.
      this.warn(`the pasted text had ${pasted.length + 1} lines, and this line takes one: nothing was run. ${editor} opens with all of them.`);
      return this.openEditor(editor, [answer, ...pasted].join('\n'));
    }
    if (editor === undefined) {
      this.line(this.paint.dim('No editor found ($VISUAL, $EDITOR, vi): the command is shown below; type it again on one line, or press Enter to keep it.'));
      return this.ask(async () => {
        this.line(initial);
        const answer = await this.readLine(`${message} `);
        return answer === '' ? initial : answer;
      });
    }
    return this.openEditor(editor, initial);
  }

  private async openEditor(editor: string, initial: string): Promise<string | undefined> {
    this.line(this.paint.dim(`Opening ${editor} on the command: save and quit to see it before it runs; quit with an error (vim: :cq) to cancel.`));
    const answer = await this.ask(() => editInEditor(editor, initial, { input: this.input, output: this.output }));
    if (!answer.saved) {
      this.warn(`edit cancelled: ${answer.why}. Nothing was run.`);
      return undefined;
    }
    const trimmed = answer.text.replace(/\s+$/, '');
    return trimmed === '' ? initial : trimmed;
  }

  info(message: string): void {
    this.line(message);
  }

  warn(message: string): void {
    const prefix = this.symbols === asciiSymbols ? 'WARNING:' : '⚠ Warning:';
    this.line(this.paint.warn(`${prefix} ${message}`));
  }

  commandStarting(view: StepView): void {
    // A plain line, never a spinner: the command owns the terminal now (its output, its
    // own questions such as a sudo password) and a spinner would fight it for both.
    const what = view.mode === 'rehearsal' ? 'running (rehearsal, safe step)' : 'running';
    const dots = this.symbols === asciiSymbols ? '...' : '…';
    this.line(this.paint.dim(`${what}${dots} Ctrl-C stops this command, not drbook.`));
  }

  commandFinished(view: StepView, result: CommandResult): void {
    // The terminal echoed ^C where the cursor was: start the verdict on a line of its own.
    if (result.interrupted) this.line('');
    this.line(renderCommandFinished(view, result, this.render));
  }

  /**
   * The wait of an `until:` step. No command runs now, so a spinner cannot fight one for
   * the terminal; ora is loaded here, on the first wait, and never while output streams.
   * `discardStdin: false`: ora's own stdin handling would swallow Ctrl-C, which countdown()
   * reads itself.
   */
  async waitUntil(view: StepView, wait: PollWait): Promise<'elapsed' | 'interrupted'> {
    const status = (remaining: number): string => `Step ${view.position}/${view.total}: ${pollStatus(wait, remaining, this.render.width)}`;
    if (this.lineMode) {
      this.line(status(wait.waitMs));
      return countdown({ waitMs: wait.waitMs, onTick: () => {}, tickMs: 60_000, input: this.input });
    }
    const { default: ora } = await import('ora');
    const spinner = ora({ stream: this.output, discardStdin: false, hideCursor: true, isEnabled: true, color: 'cyan', text: status(wait.waitMs) });
    spinner.start();
    try {
      const outcome = await countdown({ waitMs: wait.waitMs, onTick: (remaining) => (spinner.text = status(remaining)), input: this.input });
      if (outcome === 'interrupted') spinner.stopAndPersist({ symbol: this.paint.warn('^C'), text: `stopped waiting after attempt ${wait.attempt}` });
      else
        spinner.stopAndPersist({
          symbol: this.paint.dim(this.symbols === asciiSymbols ? '-' : '↻'),
          text: this.paint.dim(`attempt ${wait.attempt} failed (${wait.reason}): trying again`),
        });
      return outcome;
    } finally {
      if (spinner.isSpinning) spinner.stop();
    }
  }

  // -------------------------------------------------------------------------------------
  // Line mode

  private async lineChoose<T extends string>(message: string, choices: KeyChoice<T>[], noDefault = false): Promise<T> {
    this.line(this.paint.strong(message));
    for (const choice of choices) this.line(`  ${choice.key}) ${choice.name}`);
    const first = choices[0];
    if (first === undefined) throw new Error('a question was asked with no choices');
    for (;;) {
      const answer = (await this.readLine(noDefault ? 'Choice: ' : `Choice [${first.key}]: `)).trim().toLowerCase();
      if (answer === '' && !noDefault) return first.value;
      const found = choices.find((c) => c.key === answer || c.value === answer);
      if (found) return found.value;
      this.line(this.paint.fail(`> "${answer}" is not one of: ${choices.map((c) => c.key).join(', ')}`));
    }
  }

  private async lineSelect(message: string, options: { value: string; name: string }[], preset?: string): Promise<string> {
    this.line(this.paint.strong(message));
    options.forEach((o, n) => this.line(`  ${n + 1}) ${o.name}`));
    const presetIndex = preset === undefined ? -1 : options.findIndex((o) => o.value === preset);
    const hint = presetIndex >= 0 ? ` [${presetIndex + 1}]` : '';
    for (;;) {
      const answer = (await this.readLine(`Number or value${hint}: `)).trim();
      if (answer === '' && preset !== undefined) return preset;
      const byNumber = /^\d+$/.test(answer) ? options[Number(answer) - 1] : undefined;
      const found = byNumber ?? options.find((o) => o.value === answer);
      if (found) return found.value;
      this.line(this.paint.fail(`> Type a number from 1 to ${options.length}.`));
    }
  }

  private async lineAsk(prompt: string, check: (value: string) => string | true, opts: { mask?: boolean } = {}): Promise<string> {
    for (;;) {
      const answer = await this.readLine(prompt, opts);
      const verdict = check(answer);
      if (verdict === true) return answer;
      this.line(this.paint.fail(`> ${verdict}`));
    }
  }

  /**
   * Reads one line without cursor movement. On a terminal it reads in raw mode, so Ctrl-C
   * arrives as a key (not a signal that would kill drbook) and a secret is never echoed;
   * backspace is the only editing, drawn with a plain backspace character.
   */
  private readLine(prompt: string, opts: { mask?: boolean } = {}): Promise<string> {
    const input = this.input;
    const tty = input.isTTY === true && typeof input.setRawMode === 'function';
    this.output.write(prompt);
    return new Promise<string>((resolve, reject) => {
      const decoder = new StringDecoder('utf8');
      let value = '';
      // 0: normal, 1: after ESC, 2: inside a CSI sequence (arrow keys and the like).
      let escape = 0;
      const echo = (s: string): void => {
        if (tty) this.output.write(opts.mask ? '*'.repeat([...s].length) : s);
      };
      const finish = (error: Error | undefined, rest: string): void => {
        input.removeListener('data', onData);
        input.removeListener('end', onEnd);
        if (tty) input.setRawMode(false);
        input.pause();
        if (rest !== '') input.unshift(Buffer.from(rest));
        if (tty) this.output.write('\n');
        if (error) reject(error);
        else resolve(value);
      };
      const onEnd = (): void => finish(new PromptInterrupted(), '');
      const onData = (chunk: Buffer | string): void => {
        const text = typeof chunk === 'string' ? chunk : decoder.write(chunk);
        const chars = [...text];
        for (let k = 0; k < chars.length; k++) {
          const ch = chars[k] ?? '';
          if (escape === 1) {
            escape = ch === '[' || ch === 'O' ? 2 : 0;
            continue;
          }
          if (escape === 2) {
            if (ch >= '@' && ch <= '~') escape = 0;
            continue;
          }
          if (ch === '\r' || ch === '\n') {
            const skip = ch === '\r' && chars[k + 1] === '\n' ? 2 : 1;
            finish(undefined, chars.slice(k + skip).join(''));
            return;
          }
          if (ch === '\x03' || (ch === '\x04' && value === '')) {
            finish(new PromptInterrupted(), '');
            return;
          }
          if (ch === '\x1b') {
            escape = 1;
          } else if (ch === '\x7f' || ch === '\b') {
            if (value !== '') {
              value = [...value].slice(0, -1).join('');
              if (tty) this.output.write('\b \b');
            }
          } else if (ch === '\x15') {
            if (tty) this.output.write('\b \b'.repeat([...value].length));
            value = '';
          } else if (ch >= ' ') {
            value += ch;
            echo(ch);
          }
        }
      };
      if (tty) input.setRawMode(true);
      input.on('data', onData);
      input.once('end', onEnd);
      input.resume();
    });
  }
}

function stepActionLabel(action: StepAction, view: StepView): string {
  if (action === 'run' && view.mode === 'rehearsal' && !view.willExecute) return 'run (rehearsal: the command is only recorded)';
  if (action === 'done' && view.command === undefined) return 'done: I did it';
  return STEP_ACTION_LABELS[action];
}
