/**
 * Runs the built CLI (`node bin/drbook.cjs`) as an operator would: its own working
 * directory, DRBOOK_HOME and DRBOOK_DIR, stdout, stderr and the exit code collected, and a
 * deadline, so a hang fails the test instead of stalling the suite.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const BIN = join(REPO, 'bin', 'drbook.cjs');
export const FIXTURES = join(REPO, 'test', 'fixtures');

/** What a user must never see: a JavaScript stack frame or our own "internal error". */
export const STACK_TRACE = /^\s+at |internal error/m;

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  ms: number;
}

export interface RunCliOptions {
  /** Working directory (default: a fresh temp dir). */
  cwd?: string;
  /** Extra environment, applied over the isolated one. */
  env?: Record<string, string | undefined>;
  input?: string;
  timeoutMs?: number;
}

export interface Sandbox {
  cwd: string;
  home: string;
  dir: string;
  cleanup(): void;
}

/** A temp tree with a working dir, DRBOOK_HOME and an empty runbooks dir. */
export function makeSandbox(): Sandbox {
  const root = mkdtempSync(join(tmpdir(), 'drbook-cli-'));
  const sandbox = { cwd: join(root, 'work'), home: join(root, 'home'), dir: join(root, 'runbooks') };
  for (const path of Object.values(sandbox)) mkdirSync(path, { recursive: true });
  return { ...sandbox, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

export function runCli(args: string[], options: RunCliOptions = {}): Promise<CliResult> {
  const own = options.cwd === undefined ? makeSandbox() : undefined;
  const cwd = options.cwd ?? own!.cwd;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const env: Record<string, string | undefined> = {
    PATH: process.env.PATH,
    HOME: own?.home ?? cwd,
    DRBOOK_HOME: own?.home ?? join(cwd, '.drbook-home'),
    DRBOOK_DIR: own?.dir ?? join(cwd, 'runbooks'),
    NO_COLOR: '1',
    LANG: 'C.UTF-8',
    ...options.env,
  };
  for (const key of Object.keys(env)) if (env[key] === undefined) delete env[key];
  const started = performance.now();
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd, env: env as NodeJS.ProcessEnv, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', (error) => {
      clearTimeout(timer);
      own?.cleanup();
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      own?.cleanup();
      resolvePromise({
        code,
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        timedOut,
        ms: performance.now() - started,
      });
    });
    child.stdin.on('error', () => {}); // the CLI may exit before reading its input
    child.stdin.end(options.input ?? '');
  });
}

/** dist/ is built once by test/global-setup.ts before any test file runs; this only checks. */
export async function ensureBuilt(): Promise<void> {
  const bundle = join(REPO, 'dist', 'drbook.cjs');
  if (!existsSync(bundle)) throw new Error(`${bundle} is missing: run npm run build`);
}
