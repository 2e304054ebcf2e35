/**
 * The elapsed-time line under a silent command (`⏱ 12s elapsed`), drawn on the terminal's
 * stderr only while the command prints nothing, and never over a prompt.
 */
import { findDescendants, isWaitingForTerminal } from './process-tree.js';

const STATUS_AFTER_MS = 1000;
const STATUS_TICK_MS = 250;
const ERASE_LINE = '\r\x1b[2K';

export interface StatusOutput {
  /** When the command last printed something. */
  readonly lastOutputAt: number;
  /** Its output so far ends with a newline (or there is none). */
  readonly atLineStart: boolean;
  write(text: string): void;
}

export class StatusLine {
  private shown = false;
  private second = -1;
  private checkedSecond = -1;
  private timer: NodeJS.Timeout | undefined;

  /** `enabled`: asked for, and stderr is a terminal. */
  constructor(
    enabled: boolean,
    private readonly pid: number,
    private readonly started: number,
    private readonly output: StatusOutput,
  ) {
    if (enabled) this.timer = setInterval(() => this.tick(), STATUS_TICK_MS);
  }

  /** Erases the line, if drawn (before output, and at the end). */
  clear(): void {
    if (!this.shown) return;
    this.shown = false;
    this.second = -1;
    this.output.write(ERASE_LINE);
  }

  /** The command ended: no more drawing; the line is erased. */
  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.clear();
  }

  private tick(): void {
    const now = performance.now();
    // Never draw over a prompt: one that ends the output without a newline, or one the
    // command writes straight to the terminal (sudo, ssh).
    if (now - this.output.lastOutputAt < STATUS_AFTER_MS || !this.output.atLineStart) return;
    const second = Math.floor((now - this.started) / 1000);
    if (second === this.second || second === this.checkedSecond) return;
    this.checkedSecond = second;
    if (isWaitingForTerminal([this.pid, ...findDescendants(this.pid)])) {
      this.clear();
      return;
    }
    this.second = second;
    this.shown = true;
    this.output.write(`${ERASE_LINE}  ⏱ ${formatElapsed(second)} elapsed`);
  }
}

function formatElapsed(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  const pad = (n: number): string => String(n).padStart(2, '0');
  if (h > 0) return `${h}h${pad(m)}m${pad(s)}s`;
  if (m > 0) return `${m}m${pad(s)}s`;
  return `${s}s`;
}
