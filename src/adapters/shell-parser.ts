/**
 * The bash parser (tree-sitter-bash in WebAssembly) behind the core's ShellParse, and a
 * cache of placeholder sites under DRBOOK_HOME so that `validate` of unchanged runbooks
 * never loads the parser (≈ 75 ms on first use). Loaded only when a command holds `{{`.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { placeholderSites, type PlaceholderSite, type ShellDialect, type ShellNode, type ShellParse } from '../core/shell-template.js';
import { stateHome } from './state-home.js';

/** Set by the single-file build: both .wasm files, base64 (drbook.mjs carries them). */
declare const __DRBOOK_WASM__: { runtime: string; bash: string } | undefined;

export type SiteFinder = (text: string, dialect: ShellDialect) => PlaceholderSite[];

let parser: Promise<ShellParse> | undefined;

/** The two .wasm files: embedded in drbook.mjs, else in a `wasm/` directory beside the code, else in node_modules. */
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
  const require = createRequire(import.meta.url);
  return {
    runtime: readFileSync(require.resolve('web-tree-sitter/tree-sitter.wasm')),
    bash: readFileSync(require.resolve('tree-sitter-bash/tree-sitter-bash.wasm')),
  };
}

/** The parser, loaded once. */
export function loadShellParse(): Promise<ShellParse> {
  parser ??= (async () => {
    const { Parser, Language } = await import('web-tree-sitter');
    const bytes = wasmBytes();
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
const CACHE_VERSION = 'v1';

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
    const file = join(dir, `${key}.json`);
    const partial = `${file}.${process.pid}.tmp`;
    writeFileSync(partial, JSON.stringify(sites), { mode: 0o600 });
    renameSync(partial, file);
  } catch {
    // see above
  }
}

/**
 * A SiteFinder for the given texts: from the cache when all are there, else with the parser
 * loaded (asynchronously, once) before it is returned, so the finder itself is synchronous.
 */
export async function siteFinderFor(texts: Iterable<{ text: string; dialect: ShellDialect }>): Promise<SiteFinder> {
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
