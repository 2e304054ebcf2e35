import { parse } from 'yaml';

export interface PreparedSource {
  /** The markdown to parse: line endings as `\n`, front matter blanked (its lines kept, so line numbers hold). */
  text: string;
  /** `title:` of the front matter, if it has one. */
  title?: string;
}

/**
 * A markdown file as read → the text the import parses. Line endings become `\n` (a file
 * saved on Windows would otherwise leave `\r` at the end of every command line), and the
 * YAML (`---`) or TOML (`+++`) front matter of static-site generators is blanked: it is
 * metadata, not a step. Its lines stay as empty lines so `# from FILE:LINE` stays true.
 */
export function prepareSource(raw: string): PreparedSource {
  const text = raw.replace(/\r\n?/g, '\n');
  const m = /^(---|\+\+\+)[ \t]*\n([\s\S]*?\n)?(?:---|\+\+\+|\.\.\.)[ \t]*(?:\n|$)/.exec(text);
  if (!m || (m[1] === '+++') !== m[0].trimEnd().endsWith('+++')) return { text };
  const body = m[2] ?? '';
  // A document that opens with a thematic break is not front matter: that holds a mapping.
  const meta = m[1] === '---' ? yamlMeta(body) : { title: tomlTitle(body) };
  if (!meta) return { text };
  const title = meta.title;
  const blanked = '\n'.repeat((m[0].match(/\n/g) ?? []).length) + text.slice(m[0].length);
  return title ? { text: blanked, title } : { text: blanked };
}

/** The front matter's title, or undefined when the text between the lines is no YAML mapping. */
function yamlMeta(body: string): { title?: string } | undefined {
  if (body.trim() === '') return {};
  try {
    const data: unknown = parse(body);
    if (!data || typeof data !== 'object' || Array.isArray(data)) return undefined;
    const title = (data as Record<string, unknown>).title;
    return typeof title === 'string' && title.trim() !== '' ? { title: title.trim() } : {};
  } catch {
    return undefined;
  }
}

function tomlTitle(body: string): string | undefined {
  const m = /^title[ \t]*=[ \t]*(?:"((?:[^"\\\n]|\\.)*)"|'([^'\n]*)')/m.exec(body);
  const title = (m?.[1] ?? m?.[2])?.trim();
  return title ? title : undefined;
}
