/**
 * ora is used only while drbook owns the terminal: inside the wait of an `until:` step,
 * started and stopped there, never while a command runs or its output streams. And the
 * countdown itself: Ctrl-C stops it, other keys do not.
 */
import { EventEmitter } from 'node:events';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { PollWait, StepView } from '../src/core/ports.js';

interface SpinnerLog {
  options: Record<string, unknown>;
  events: string[];
}
const spinners: SpinnerLog[] = [];

vi.mock('ora', () => ({
  default: (options: Record<string, unknown>) => {
    const log: SpinnerLog = { options, events: [] };
    spinners.push(log);
    let spinning = false;
    return {
      start() {
        spinning = true;
        log.events.push('start');
        return this;
      },
      stop() {
        spinning = false;
        log.events.push('stop');
        return this;
      },
      stopAndPersist(o: { text?: string }) {
        spinning = false;
        log.events.push(`persist ${o.text ?? ''}`);
        return this;
      },
      get isSpinning() {
        return spinning;
      },
      set text(value: string) {
        log.events.push(`text ${value}`);
      },
    };
  },
}));

const { TerminalUi } = await import('../src/adapters/terminal-ui.js');
const { countdown } = await import('../src/adapters/poll-wait.js');

/** A terminal input: raw mode is recorded, keys are pushed by the test. */
class FakeTty extends PassThrough {
  isTTY = true;
  isRaw = false;
  readonly modes: boolean[] = [];
  setRawMode(mode: boolean): this {
    this.isRaw = mode;
    this.modes.push(mode);
    return this;
  }
}

function terminal() {
  const input = new FakeTty();
  const output = Object.assign(new PassThrough(), { isTTY: true, columns: 100 });
  let shown = '';
  output.on('data', (chunk: Buffer) => (shown += chunk.toString()));
  const ui = new TerminalUi({
    input: input as unknown as NodeJS.ReadStream,
    output: output as unknown as NodeJS.WriteStream,
    env: { TERM: 'xterm' },
    color: false,
  });
  return { ui, input, shown: () => shown };
}

const view = {
  position: 2,
  total: 3,
  step: { id: 'w', title: 'W', index: 1, docLinks: [] },
  title: 'W',
  docs: [],
  command: 'check',
  mode: 'live',
  willExecute: true,
} as unknown as StepView;
const wait = (waitMs: number): PollWait => ({ attempt: 2, waitMs, leftMs: 60_000, reason: 'exit code 1', lastLine: 'not yet' });
const result = {
  exitCode: 1,
  signal: null,
  durationMs: 10,
  timedOut: false,
  interrupted: false,
  stdout: '',
  stderr: '',
  truncated: false,
  tail: 'not yet\n',
  outputBytes: 8,
};

beforeEach(() => {
  spinners.length = 0;
});
afterEach(() => {
  vi.useRealTimers();
});

describe('ora only while drbook owns the terminal', () => {
  it('a command starting, streaming and finishing never makes a spinner', () => {
    const t = terminal();
    t.ui.showStep(view);
    t.ui.commandStarting(view);
    t.ui.commandFinished(view, result);
    expect(spinners).toEqual([]);
  });

  it('the wait starts one spinner with discardStdin: false, and stops it before the next attempt', async () => {
    const t = terminal();
    expect(await t.ui.waitUntil(view, wait(30))).toBe('elapsed');
    expect(spinners).toHaveLength(1);
    const [spinner] = spinners;
    expect(spinner!.options).toMatchObject({ discardStdin: false });
    expect(spinner!.events[0]).toBe('start');
    expect(spinner!.events.at(-1)).toBe('persist attempt 2 failed (exit code 1): trying again');
    expect(String(spinner!.options.text)).toBe('Step 2/3: attempt 2 failed (exit code 1) · next try in 1s · 1m left · Ctrl-C stops waiting · last: not yet');
    // The terminal is back in cooked mode and the input paused: the command gets it whole.
    expect(t.input.isRaw).toBe(false);
    expect(t.input.isPaused()).toBe(true);
    // A command run after the wait makes no spinner either.
    t.ui.commandStarting(view);
    expect(spinners).toHaveLength(1);
  });

  it('Ctrl-C during the wait stops it at once; other keys do not', async () => {
    const t = terminal();
    const waiting = t.ui.waitUntil(view, wait(60_000));
    await new Promise((resolve) => setTimeout(resolve, 10));
    t.input.write('y\r');
    await new Promise((resolve) => setTimeout(resolve, 10));
    t.input.write('\x03');
    expect(await waiting).toBe('interrupted');
    expect(spinners[0]!.events.at(-1)).toBe('persist stopped waiting after attempt 2');
    expect(t.input.isRaw).toBe(false);
  });

  it('TERM=dumb: no spinner, one plain line', async () => {
    const input = new FakeTty();
    const output = Object.assign(new PassThrough(), { isTTY: true, columns: 100 });
    let shown = '';
    output.on('data', (chunk: Buffer) => (shown += chunk.toString()));
    const ui = new TerminalUi({ input: input as unknown as NodeJS.ReadStream, output: output as unknown as NodeJS.WriteStream, env: { TERM: 'dumb' } });
    expect(await ui.waitUntil(view, wait(20))).toBe('elapsed');
    expect(spinners).toEqual([]);
    expect(shown).toBe('Step 2/3: attempt 2 failed (exit code 1) · next try in 1s · 1m left · Ctrl-C stops waiting · last: not yet\n');
  });
});

describe('countdown', () => {
  it('ticks down and ends with the time', async () => {
    vi.useFakeTimers();
    const ticks: number[] = [];
    const signals = new EventEmitter();
    const done = countdown({
      waitMs: 1000,
      tickMs: 250,
      onTick: (ms) => ticks.push(Math.round(ms / 250) * 250),
      signals: signals as unknown as NodeJS.Process,
    });
    await vi.advanceTimersByTimeAsync(1000);
    expect(await done).toBe('elapsed');
    expect(ticks[0]).toBe(1000);
    expect(ticks.length).toBeGreaterThanOrEqual(4);
    expect(signals.listenerCount('SIGINT')).toBe(0);
  });

  it('SIGINT (no terminal) stops the wait and the listener goes away', async () => {
    const signals = new EventEmitter();
    const done = countdown({ waitMs: 60_000, onTick: () => {}, signals: signals as unknown as NodeJS.Process });
    signals.emit('SIGINT');
    expect(await done).toBe('interrupted');
    expect(signals.listenerCount('SIGINT')).toBe(0);
  });
});

describe('the status line', () => {
  it('keeps a command output line from moving the cursor: colours and OSC dropped, controls blanked, clipped to the width', async () => {
    const { pollStatus } = await import('../src/adapters/poll-wait.js');
    const line = pollStatus(
      { attempt: 1, waitMs: 5000, leftMs: 65_000, reason: 'exit code 1', lastLine: '\u001b[31mred\u001b[0m \u001b]0;title\u0007\rback\u001b[2Kx' },
      5000,
      200,
    );
    expect(line).toBe('attempt 1 failed (exit code 1) · next try in 5s · 1m 5s left · Ctrl-C stops waiting · last: red  backx');
    expect([...pollStatus({ attempt: 1, waitMs: 5000, leftMs: 65_000, reason: 'exit code 1', lastLine: 'x'.repeat(500) }, 5000, 60)]).toHaveLength(57);
  });
});
