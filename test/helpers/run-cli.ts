/**
 * Runs the built CLI (`node bin/drbook.js`) as an operator would: its own working
 * directory, DRBOOK_HOME and DRBOOK_DIR, stdout, stderr and the exit code collected, and a
 * deadline, so a hang fails the test instead of stalling the suite.
 */
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const BIN = join(REPO, 'bin', 'drbook.js');
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

/**
 * Builds dist/ once for all the test files that spawn the CLI. Workers run in parallel, so
 * a lock keeps one tsc at a time, and a stamp newer than every source skips a rebuild that
 * another worker just did. tsc exits non-zero while parts of the tree are half-written by
 * others yet still emits; only a missing dist/main.js is fatal.
 */
export async function ensureBuilt(): Promise<void> {
  const key = createHash('sha256').update(REPO).digest('hex').slice(0, 12);
  const lock = join(tmpdir(), `drbook-test-build-${key}.lock`);
  const stamp = join(tmpdir(), `drbook-test-build-${key}.stamp`);
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      // A lock left by a killed run is stale after two minutes.
      try {
        if (Date.now() - statSync(lock).mtimeMs > 120_000) rmSync(lock, { recursive: true, force: true });
      } catch {
        // gone meanwhile: retry
      }
      if (Date.now() > deadline) throw new Error(`waited too long for the build lock ${lock}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  try {
    const main = join(REPO, 'dist', 'main.js');
    // The stamp holds when the last build started: a source saved during it is not in it.
    const fresh = existsSync(main) && existsSync(stamp) && Number(readFileSync(stamp, 'utf8')) > newestSource(join(REPO, 'src'));
    if (!fresh) {
      const startedAt = Date.now();
      await new Promise<void>((done) => {
        execFile('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: REPO }, () => done());
      });
      if (!existsSync(main)) throw new Error(`the build did not produce ${main}`);
      writeFileSync(stamp, String(startedAt));
    }
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}
