import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DrbookError, ExitCode } from '../core/errors.js';
import { VERSION } from '../version.js';
import { writeDurable } from './durable-file.js';

/**
 * Replaced by `true` when esbuild builds the single file (see `define` below); undeclared
 * anywhere else, hence the `typeof` guard. It is how drbook knows it runs as drbook.mjs.
 */
declare const __DRBOOK_SINGLE_FILE__: boolean | undefined;

/** The single file's path when drbook runs as one bundled file (drbook.mjs), else undefined. */
export function runningSingleFile(): string | undefined {
  // In the single file every module shares one import.meta.url: the file itself.
  return typeof __DRBOOK_SINGLE_FILE__ !== 'undefined' && __DRBOOK_SINGLE_FILE__ ? fileURLToPath(import.meta.url) : undefined;
}

/**
 * The esbuild settings of the single file, shared by `drbook bundle` and
 * `npm run build:single` so the two cannot produce different files.
 * Not minified: an operator may have to read a stack trace from it at 3 a.m.
 */
export function singleFileBuildOptions(entry: string) {
  return {
    entryPoints: [entry],
    bundle: true,
    platform: 'node' as const,
    format: 'esm' as const,
    target: 'node20',
    splitting: false,
    write: false,
    minify: false,
    sourcemap: false,
    legalComments: 'inline' as const,
    charset: 'utf8' as const,
    logLevel: 'silent' as const,
    // Commander and other CommonJS dependencies call require(); an ES module has none.
    banner: {
      js: [
        '#!/usr/bin/env node',
        `// drbook ${VERSION}: the whole CLI in one file; runs with plain node, no node_modules needed.`,
        "import { createRequire as __drbookCreateRequire } from 'node:module';",
        'const require = __drbookCreateRequire(import.meta.url);',
      ].join('\n'),
    },
    define: { __DRBOOK_SINGLE_FILE__: 'true', __DRBOOK_WASM__: embeddedWasm() },
    // The bundle command imports esbuild only in a checkout; the single file copies itself.
    external: ['esbuild'],
  };
}

/** Both .wasm files of the bash parser, as a JSON object of base64 strings for esbuild's define. */
function embeddedWasm(): string {
  const require = createRequire(import.meta.url);
  // This code runs as dist/adapters/single-file.js, inside dist/drbook.cjs, or from src/.
  const dir = dirname(fileURLToPath(import.meta.url));
  const first = (paths: string[]) => paths.find((p) => existsSync(p)) ?? paths[paths.length - 1]!;
  const read = (path: string) => readFileSync(path).toString('base64');
  const built = (local: string) => [join(dir, 'wasm', local), join(dir, '..', 'wasm', local)];
  return JSON.stringify({
    runtime: read(first([...built('tree-sitter.wasm'), require.resolve('web-tree-sitter/tree-sitter.wasm')])),
    bash: read(
      first([
        ...built('tree-sitter-bash.wasm'),
        ...[join(dir, '..'), join(dir, '..', '..')].map((d) => join(d, 'vendor', 'tree-sitter-bash', 'tree-sitter-bash.wasm')),
      ]),
    ),
  });
}

export type SingleFileSource = 'self' | 'esbuild' | 'prebuilt';

export interface SingleFileResult {
  source: SingleFileSource;
  /** What it was made from: the running file, the entry esbuild compiled, or the prebuilt file. */
  from: string;
}

/**
 * Writes drbook as one file to `outFile`, from the first source that exists:
 * 1. the running single file itself (drbook.mjs bundling again: same version by construction);
 * 2. a checkout: esbuild compiles src/main.ts (the freshest code);
 * 3. an installed package: the prebuilt dist/drbook.mjs it ships (devDependencies such
 *    as esbuild are not installed there);
 * 4. esbuild over the compiled dist/main.js when esbuild happens to be reachable.
 * The result must answer `--version` with this version from an empty directory, or the
 * bundle would carry a tool that fails on the night it is needed.
 */
export async function writeSingleFile(outFile: string): Promise<SingleFileResult> {
  const self = runningSingleFile();
  if (self) {
    writeDurable(outFile, readFileSync(self), 0o755);
    checkRuns(outFile, `the running file ${self}`);
    return { source: 'self', from: self };
  }

  const root = packageRoot();
  if (!root) throw cannotProduce('the drbook package directory (with its package.json) was not found');
  const reasons: string[] = [];
  const esbuild = await loadEsbuild();
  const source = join(root, 'src', 'main.ts');
  if (existsSync(source)) {
    if (esbuild) return { source: 'esbuild', from: await buildWith(esbuild, source, outFile) };
    reasons.push('esbuild is not installed (npm install in the checkout installs it)');
  }
  const prebuilt = join(root, 'dist', 'drbook.mjs');
  if (existsSync(prebuilt)) {
    writeDurable(outFile, readFileSync(prebuilt), 0o755);
    checkRuns(outFile, `the prebuilt ${prebuilt} (rebuild it with: npm run build:single)`);
    return { source: 'prebuilt', from: prebuilt };
  }
  reasons.push(`there is no prebuilt ${prebuilt}`);
  const compiled = join(root, 'dist', 'main.js');
  if (esbuild && existsSync(compiled)) return { source: 'esbuild', from: await buildWith(esbuild, compiled, outFile) };
  throw cannotProduce(reasons.join(', and '));
}

/**
 * `npm run build:single`: esbuild compiles `entry` into `outFile` and the result is checked
 * to run. Unlike writeSingleFile it never falls back to a copy: a release is built fresh.
 */
export async function buildSingleFile(entry: string, outFile: string): Promise<void> {
  const esbuild = await loadEsbuild();
  if (!esbuild) throw new DrbookError('esbuild is not installed: run npm install (it is a devDependency) first', ExitCode.usage);
  await buildWith(esbuild, entry, outFile);
}

type Esbuild = typeof import('esbuild');

/**
 * esbuild is CommonJS, so it is required rather than imported: a dynamic import() fails
 * inside bin/drbook.cjs's bundle, which V8 compiles from its code cache (such a script
 * keeps no import callback), and the failure would look like esbuild missing.
 */
async function loadEsbuild(): Promise<Esbuild | undefined> {
  try {
    return createRequire(import.meta.url)('esbuild') as Esbuild;
  } catch {
    return undefined;
  }
}

async function buildWith(esbuild: Esbuild, entry: string, outFile: string): Promise<string> {
  let text: Uint8Array;
  try {
    const result = await esbuild.build({ ...singleFileBuildOptions(entry), outfile: outFile });
    const output = result.outputFiles?.[0];
    if (!output) throw new Error('esbuild produced no output');
    text = output.contents;
  } catch (error) {
    const errors = (error as { errors?: { text: string; location?: { file: string; line: number; column: number } | null }[] }).errors;
    const detail = errors?.length
      ? errors
          .slice(0, 5)
          .map((e) => (e.location ? `${e.location.file}:${e.location.line}:${e.location.column + 1}: ${e.text}` : e.text))
          .join('; ')
      : error instanceof Error
        ? error.message.split('\n')[0]
        : String(error);
    throw new DrbookError(`cannot build drbook.mjs from ${entry}: ${detail}`, ExitCode.usage);
  }
  writeDurable(outFile, text, 0o755);
  checkRuns(outFile, `the file esbuild built from ${entry}`);
  return entry;
}

function cannotProduce(why: string): DrbookError {
  return new DrbookError(
    `cannot produce drbook.mjs for the bundle: ${why}. Run the bundle from a drbook checkout (npm install, then drbook bundle), ` +
      "from a package that ships dist/drbook.mjs (npm run build:single makes it), or from a bundle's own drbook.mjs",
    ExitCode.usage,
  );
}

/** Runs `node FILE --version` in an empty directory, with no runbooks or node_modules around. */
function checkRuns(file: string, what: string): void {
  const empty = mkdtempSync(join(tmpdir(), 'drbook-check-'));
  try {
    let out: string;
    try {
      out = execFileSync(process.execPath, [file, '--version'], { cwd: empty, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 }).trim();
    } catch (error) {
      const stderr = String((error as { stderr?: unknown }).stderr ?? '')
        .trim()
        .split('\n')[0];
      throw new DrbookError(`drbook.mjs made from ${what} does not run: ${stderr || (error as Error).message.split('\n')[0]}`, ExitCode.usage);
    }
    if (out !== VERSION) throw new DrbookError(`drbook.mjs made from ${what} is version ${out || '(none)'}, not ${VERSION}`, ExitCode.usage);
  } finally {
    rmSync(empty, { recursive: true, force: true });
  }
}

/** The directory of drbook's own package.json, above this module. */
function packageRoot(): string | undefined {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) {
      try {
        if ((JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown }).name === 'drbook') return dir;
      } catch {
        // An unreadable manifest is not ours; keep climbing.
      }
    }
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}
