/**
 * The bash parser (tree-sitter-bash in WebAssembly) behind the core's ShellParse, and a
 * cache of placeholder sites under DRBOOK_HOME so that `validate` of unchanged runbooks
 * never loads the parser (≈ 75 ms on first use). Loaded only when a command holds `{{`.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { placeholderSites, type PlaceholderSite, type ShellDialect, type ShellNode, type ShellParse } from '../core/shell-template.js';
import { replaceFile, type ReplaceOptions } from './durable-file.js';
import { stateHome } from './state-home.js';

/** Set by the single-file build: both .wasm files, base64 (drbook.mjs carries them). */
declare const __DRBOOK_WASM__: { runtime: string; bash: string } | undefined;

/** The one WebAssembly call made here (the project's TypeScript libs do not declare it). */
declare const WebAssembly: { compile(bytes: Uint8Array): Promise<unknown> };

export type SiteFinder = (text: string, dialect: ShellDialect) => PlaceholderSite[];

let parser: Promise<ShellParse> | undefined;

/** The two .wasm files: embedded in drbook.mjs, else in a `wasm/` directory beside the code, else in a checkout's node_modules and vendor/. */
function wasmBytes(): { runtime: Uint8Array; bash: Uint8Array } {
  if (typeof __DRBOOK_WASM__ !== 'undefined' && __DRBOOK_WASM__) {
    return { runtime: Buffer.from(__DRBOOK_WASM__.runtime, 'base64'), bash: Buffer.from(__DRBOOK_WASM__.bash, 'base64') };
  }
  const here = dirname(fileURLToPath(import.meta.url));
  for (const dir of [join(here, 'wasm'), join(here, '..', 'wasm')]) {
    if (existsSync(join(dir, 'tree-sitter-bash.wasm'))) {
      return { runtime: readFileSync(join(dir, 'tree-sitter.wasm')), bash: readFileSync(join(dir, 'tree-sitter-bash.wasm')) };
    }
  }
  // A checkout before the build (tests run src/): the runtime from its package, the
  // grammar from vendor/ (see vendor/tree-sitter-bash/README.md).
  const require = createRequire(import.meta.url);
  return {
    runtime: readFileSync(require.resolve('web-tree-sitter/tree-sitter.wasm')),
    bash: readFileSync(
      [join(here, '..', 'vendor'), join(here, '..', '..', 'vendor')]
        .map((d) => join(d, 'tree-sitter-bash', 'tree-sitter-bash.wasm'))
        .find((p) => existsSync(p)) ?? join(here, '..', '..', 'vendor', 'tree-sitter-bash', 'tree-sitter-bash.wasm'),
    ),
  };
}

/**
 * V8 flags for the parser's WebAssembly. Liftoff, V8's baseline wasm compiler, only:
 * otherwise V8 recompiles the parser's hot functions with TurboFan on a background thread
 * and node waits for it at exit, 500 ms for a parse of a few ms. And every function at
 * once (not each at its first call): compiled by WebAssembly.compile on V8's background
 * threads while this one reads the runbook (startShellParser), instead of on this thread
 * in the middle of the first parse. bin/drbook.cjs sets the same flags at start (its code
 * cache is checked against the flags); setting them again to the same values changes nothing.
 */
export const WASM_FLAGS = '--liftoff-only --no-wasm-lazy-compilation';

let started: { runtime: Uint8Array; bash: Uint8Array } | undefined;

/**
 * Starts compiling the parser's two .wasm files now, on V8's background threads, and
 * returns at once: the caller goes on reading the runbook while they compile. The parser's
 * own load (loadShellParse) compiles the same bytes again, which V8 answers from its cache
 * of compiled modules (waiting for this compile if it is not done). Costs a wasted compile
 * only when the parser turns out not to be needed (a runbook with YAML errors).
 */
export function startShellParser(): void {
  if (started || parser) return;
  setFlagsFromString(WASM_FLAGS);
  started = wasmBytes();
  for (const bytes of [started.runtime, started.bash]) WebAssembly.compile(bytes).catch(() => undefined);
}

/** The parser, loaded once. */
export function loadShellParse(): Promise<ShellParse> {
  parser ??= (async () => {
    setFlagsFromString(WASM_FLAGS);
    const bytes = started ?? wasmBytes();
    started = undefined;
    const { Parser, Language } = await import('web-tree-sitter');
    await Parser.init({ wasmBinary: bytes.runtime } as object);
    const language = await Language.load(bytes.bash);
    const p = new Parser();
    p.setLanguage(language);
    return (script: string): ShellNode => {
      const tree = p.parse(script);
      if (!tree) throw new Error('the bash parser returned nothing');
      return tree.rootNode as unknown as ShellNode;
    };
  })();
  return parser;
}

/** Bumped when the analysis changes, so old cache entries are not read. */
const CACHE_VERSION = 'v5';
/** An entry is atomic (no reader sees half of one) but not fsynced: losing one to a power cut costs a parse. */
const CACHE_WRITE: ReplaceOptions = { mode: 0o600, durable: false };

function cacheDir(): string {
  return join(stateHome(), 'cache', 'shell-sites');
}

function cacheKey(text: string, dialect: ShellDialect): string {
  return createHash('sha256').update(`${CACHE_VERSION}\0${dialect}\0${text}`).digest('hex');
}

function readCached(key: string): PlaceholderSite[] | undefined {
  try {
    const value: unknown = JSON.parse(readFileSync(join(cacheDir(), key.slice(0, 2), `${key}.json`), 'utf8'));
    return Array.isArray(value) ? (value as PlaceholderSite[]) : undefined;
  } catch {
    return undefined;
  }
}

function writeCached(key: string, sites: PlaceholderSite[]): void {
  // The sites hold names and offsets of the runbook's text, never a value. A cache that
  // cannot be written only costs the next run the parser's start.
  try {
    const dir = join(cacheDir(), key.slice(0, 2));
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    replaceFile(join(dir, `${key}.json`), JSON.stringify(sites), CACHE_WRITE);
  } catch {
    // see above
  }
}

function fileCachePath(fileSha256: string): string {
  const key = createHash('sha256').update(`${CACHE_VERSION}\0file\0${fileSha256}`).digest('hex');
  return join(cacheDir(), 'files', `${key}.json`);
}

/**
 * The sites of every command of a runbook file seen before, in one read (by the sha256 of
 * the file's bytes): `validate` of an unchanged runbook neither reads one entry per
 * command nor checks the file twice. Undefined when the file is new or changed; the finder
 * returns undefined for a text it does not know, and the caller then takes the long way.
 */
export function cachedFileFinder(fileSha256: string): ((text: string, dialect: ShellDialect) => PlaceholderSite[] | undefined) | undefined {
  let entries: unknown;
  try {
    entries = JSON.parse(readFileSync(fileCachePath(fileSha256), 'utf8'));
  } catch {
    return undefined;
  }
  if (typeof entries !== 'object' || entries === null || Array.isArray(entries)) return undefined;
  const known = entries as Record<string, PlaceholderSite[] | undefined>;
  return (text, dialect) => {
    if (!text.includes('{{')) return [];
    const sites = known[cacheKey(text, dialect)];
    return Array.isArray(sites) ? sites : undefined;
  };
}

function writeFileEntry(fileSha256: string, found: Map<string, PlaceholderSite[]>): void {
  // As writeCached: names and offsets only; a failure costs the next run some time.
  try {
    const file = fileCachePath(fileSha256);
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    replaceFile(file, JSON.stringify(Object.fromEntries(found)), CACHE_WRITE);
  } catch {
    // see above
  }
}

/**
 * A SiteFinder for the given texts: from the cache when all are there, else with the parser
 * loaded (asynchronously, once) before it is returned, so the finder itself is synchronous.
 * With `fileSha256`, the sites of all the texts are also kept as one entry for that file.
 */
export async function siteFinderFor(texts: Iterable<{ text: string; dialect: ShellDialect }>, fileSha256?: string): Promise<SiteFinder> {
  const found = new Map<string, PlaceholderSite[]>();
  let parse: ShellParse | undefined;
  for (const { text, dialect } of texts) {
    if (!text.includes('{{')) continue;
    const key = cacheKey(text, dialect);
    if (found.has(key)) continue;
    let sites = readCached(key);
    if (!sites) {
      parse ??= await loadShellParse();
      sites = placeholderSites(text, dialect, parse);
      writeCached(key, sites);
    }
    found.set(key, sites);
  }
  if (fileSha256 !== undefined) writeFileEntry(fileSha256, found);
  return (text, dialect) => {
    if (!text.includes('{{')) return [];
    const known = found.get(cacheKey(text, dialect));
    if (known) return known;
    if (!parse) throw new Error('shell sites asked for a text that was not prepared');
    return placeholderSites(text, dialect, parse);
  };
}

/** Sites of one text (a command about to run, an edited one): cache, else the parser. */
export async function shellSites(text: string, dialect: ShellDialect): Promise<PlaceholderSite[]> {
  return (await siteFinderFor([{ text, dialect }]))(text, dialect);
}
