/**
 * End-to-end tests in a real pseudo-terminal, with tmux and no native dependency. Each
 * session gets its own server (`tmux -L <unique>`), so tests may run in parallel, and every
 * wait is for text on the screen with a deadline: no sleep-and-hope.
 */
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface TmuxOptions {
  cmd: string;
  args?: string[];
  /** Set (or, with undefined, unset) in the command's environment; applied last, so TERM=dumb wins over tmux's TERM. */
  env?: Record<string, string | undefined>;
  cwd?: string;
  cols?: number;
  rows?: number;
}

export interface WaitOptions {
  timeoutMs?: number;
}

export interface ScreenOptions {
  /** Keep colour and attribute escape sequences (`capture-pane -e`). */
  escapes?: boolean;
}

export interface TmuxSession {
  /** The tmux server's socket name, for debugging (`tmux -L <socket> attach`). */
  readonly socket: string;
  /** Screen and scrollback, wrapped lines joined. */
  screen(options?: ScreenOptions): Promise<string>;
  /** Waits until the screen matches, or throws with the screen in the message. */
  waitFor(pattern: string | RegExp, options?: WaitOptions): Promise<string>;
  /**
   * Key names (Enter, Escape, Tab, BSpace, Up, Down, Left, Right, C-c, M-x, F1…) are sent as
   * keys; anything else is typed literally.
   */
  sendKeys(...keys: string[]): Promise<void>;
  /** Always literal, even text that looks like a key name. */
  type(text: string): Promise<void>;
  /** The command's exit status, or null while it runs (killed by a signal: 128 + its number, as sh says). */
  exitCode(): Promise<number | null>;
  waitForExit(options?: WaitOptions): Promise<number>;
  kill(): Promise<void>;
}

const KEY_NAME = /^(Enter|Escape|Tab|BTab|BSpace|Space|Up|Down|Left|Right|Home|End|PageUp|PageDown|PPage|NPage|IC|DC|F[1-9]|F1[0-2]|[CMS]-.+)$/;
const POLL_MS = 40;
const EXIT_MARK = '__EXIT:';
// Not anchored at the end: text a program left on the screen may follow the mark on its line.
const EXIT_LINE = /^__EXIT:(\d+)/gm;

let counter = 0;

export function tmuxAvailable(): boolean {
  return spawnSync('tmux', ['-V'], { stdio: 'ignore' }).status === 0;
}

function shellQuote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

export async function startTmux(options: TmuxOptions): Promise<TmuxSession> {
  const { cmd, args = [], env = {}, cwd = process.cwd(), cols = 100, rows = 40 } = options;
  const socket = `drbook-test-${process.pid}-${++counter}-${Math.random().toString(36).slice(2, 8)}`;
  const dir = mkdtempSync(join(tmpdir(), 'drbook-tmux-'));
  const config = join(dir, 'tmux.conf');
  writeFileSync(config, ['set-option -g status off', 'set-option -g history-limit 5000', 'set-option -s escape-time 0'].join('\n') + '\n');

  // The exit status is printed by the wrapping shell rather than read from tmux's dead
  // pane: measured here, tmux 3.3 sometimes marks a pane dead long before it reaps the
  // child, and reports no status meanwhile. A trap (not an ignore, which the command
  // would inherit) keeps the shell alive when Ctrl-C reaches the whole process group.
  const script = [
    'trap : INT',
    ...Object.entries(env).map(([name, value]) => (value === undefined ? `unset ${name}` : `export ${name}=${shellQuote(value)}`)),
    [cmd, ...args].map(shellQuote).join(' '),
    `printf '\\n${EXIT_MARK}%s\\n' "$?"`,
    'exec sleep 3600',
  ].join('\n');

  // The tests may themselves run inside tmux: the private server must not see that one.
  const clientEnv = { ...process.env };
  delete clientEnv.TMUX;
  delete clientEnv.TMUX_PANE;

  const tmux = async (...tmuxArgs: string[]): Promise<string> => {
    const { stdout } = await run('tmux', ['-L', socket, ...tmuxArgs], { env: clientEnv, maxBuffer: 16 * 1024 * 1024 });
    return stdout;
  };

  await run('tmux', ['-L', socket, '-f', config, 'new-session', '-d', '-s', 'main', '-x', String(cols), '-y', String(rows), '-c', cwd, 'sh', '-c', script], {
    env: clientEnv,
  });

  let killed = false;

  const session: TmuxSession = {
    socket,
    async screen(screenOptions = {}) {
      const flags = ['capture-pane', '-p', '-J', '-S', '-2000', '-t', 'main'];
      if (screenOptions.escapes) flags.push('-e');
      return tmux(...flags);
    },
    async waitFor(pattern, waitOptions = {}) {
      const deadline = Date.now() + (waitOptions.timeoutMs ?? 10_000);
      let screen: string;
      for (;;) {
        screen = await session.screen();
        if (typeof pattern === 'string' ? screen.includes(pattern) : pattern.test(screen)) return screen;
        if (Date.now() > deadline) break;
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      }
      throw new Error(`timed out waiting for ${String(pattern)}; the screen was:\n${screen.replace(/\n+$/, '')}`);
    },
    async sendKeys(...keys) {
      for (const key of keys) {
        if (KEY_NAME.test(key)) await tmux('send-keys', '-t', 'main', key);
        else await tmux('send-keys', '-t', 'main', '-l', key);
      }
    },
    async type(text) {
      await tmux('send-keys', '-t', 'main', '-l', text);
    },
    async exitCode() {
      const marks = [...(await session.screen()).matchAll(EXIT_LINE)];
      const last = marks[marks.length - 1];
      return last ? Number(last[1]) : null;
    },
    async waitForExit(waitOptions = {}) {
      const deadline = Date.now() + (waitOptions.timeoutMs ?? 10_000);
      for (;;) {
        const code = await session.exitCode();
        if (code !== null) return code;
        if (Date.now() > deadline) break;
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      }
      throw new Error(`timed out waiting for the command to exit; the screen was:\n${(await session.screen()).replace(/\n+$/, '')}`);
    },
    async kill() {
      if (killed) return;
      killed = true;
      // kill-server ends the command too (SIGHUP) and removes the private socket.
      await tmux('kill-server').catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return session;
}
