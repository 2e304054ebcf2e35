/**
 * The wait between two attempts of an `until:` step. No command runs then, so drbook owns
 * the terminal: it shows a countdown and listens for Ctrl-C itself (raw mode on a
 * terminal, SIGINT otherwise), which stops the wait instead of killing drbook.
 */
import { formatDuration } from '../core/duration.js';
import type { PollWait } from '../core/ports.js';

export type WaitOutcome = 'elapsed' | 'interrupted';

export interface CountdownInput {
  isTTY?: boolean;
  isRaw?: boolean;
  setRawMode?: (mode: boolean) => unknown;
  on(event: 'data', listener: (chunk: Buffer | string) => void): unknown;
  removeListener(event: 'data', listener: (chunk: Buffer | string) => void): unknown;
  resume(): unknown;
  pause(): unknown;
}

export interface CountdownOptions {
  waitMs: number;
  /** Called at once and then every `tickMs` with the time left to wait. */
  onTick: (remainingMs: number) => void;
  tickMs?: number;
  input?: CountdownInput;
  /** The process whose SIGINT stops the wait (default: this one). */
  signals?: Pick<NodeJS.Process, 'on' | 'removeListener'>;
}

/** Waits `waitMs`, or less if Ctrl-C comes first. Leaves the input paused and as it was found. */
export function countdown(options: CountdownOptions): Promise<WaitOutcome> {
  const { waitMs, onTick, input } = options;
  const signals = options.signals ?? process;
  const tickMs = options.tickMs ?? 250;
  const started = performance.now();
  const raw = input !== undefined && input.isTTY === true && typeof input.setRawMode === 'function';
  const wasRaw = input?.isRaw === true;
  return new Promise<WaitOutcome>((resolve) => {
    let settled = false;
    const finish = (outcome: WaitOutcome): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearInterval(ticker);
      signals.removeListener('SIGINT', onSigint);
      if (input !== undefined && raw) {
        input.removeListener('data', onData);
        input.setRawMode?.(wasRaw);
        input.pause();
      }
      resolve(outcome);
    };
    const onSigint = (): void => finish('interrupted');
    const onData = (chunk: Buffer | string): void => {
      const text = typeof chunk === 'string' ? chunk : chunk.toString('latin1');
      // Ctrl-C stops the wait; other keys are thrown away (they must not answer the menu).
      if (text.includes('\x03')) finish('interrupted');
    };
    const timer = setTimeout(() => finish('elapsed'), Math.max(0, waitMs));
    const ticker = setInterval(() => onTick(Math.max(0, waitMs - (performance.now() - started))), tickMs);
    signals.on('SIGINT', onSigint);
    if (input !== undefined && raw) {
      input.setRawMode?.(true);
      input.on('data', onData);
      input.resume();
    }
    onTick(waitMs);
  });
}

/** One line of status: attempt 2 failed (exit code 1) · next try in 8s · 4m 52s left · last: ... */
export function pollStatus(wait: PollWait, remainingMs: number, width = 80): string {
  const left = Math.max(0, wait.leftMs - (wait.waitMs - remainingMs));
  const head = `attempt ${wait.attempt} failed (${wait.reason}) · next try in ${formatSeconds(remainingMs)} · ${formatSeconds(left)} left · Ctrl-C stops waiting`;
  const last = wait.lastLine === '' ? '' : ` · last: ${wait.lastLine}`;
  return clip(head + last, Math.max(20, width - 3));
}

/** Whole seconds (a countdown that shows tenths flickers); a minute and more as formatDuration does. */
function formatSeconds(ms: number): string {
  return ms < 59_500 ? `${Math.ceil(ms / 1000)}s` : formatDuration(ms);
}

function clip(text: string, width: number): string {
  // Control characters from a command's output must not move the cursor under the spinner.
  const flat = text.replace(/\u001b\[[0-9;?]*[ -/]*[@-~]|\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)?/g, '').replace(/[\u0000-\u001f\u007f-\u009f]/g, ' ');
  const chars = [...flat];
  return chars.length <= width ? flat : `${chars.slice(0, width - 1).join('')}…`;
}
