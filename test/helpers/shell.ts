/**
 * The real bash parser for tests of the core: loaded once, no cache on disk. The parser is
 * a pure function of the text, so tests use it rather than a fake of it.
 */
import { loadShellParse } from '../../src/adapters/shell-parser.js';
import { placeholderSites, type PlaceholderSite, type ShellDialect } from '../../src/core/shell-template.js';

export const parse = await loadShellParse();

export function sitesOf(text: string, dialect: ShellDialect = 'bash'): PlaceholderSite[] {
  return placeholderSites(text, dialect, parse);
}

export const realShellSites = (text: string, dialect: ShellDialect): Promise<PlaceholderSite[]> => Promise.resolve(sitesOf(text, dialect));
