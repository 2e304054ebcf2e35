/** `{{ name }}` with optional spaces; anything else between braces is malformed. */
const TEMPLATE = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;
const ANY_BRACES = /\{\{(.*?)\}\}/g;

export interface TemplateRef {
  name: string;
  /** Offset of `{{` in the text. */
  offset: number;
}

/** The names a text refers to, and the malformed `{{...}}` it holds. */
export function scanTemplate(text: string): { refs: TemplateRef[]; malformed: TemplateRef[] } {
  const refs: TemplateRef[] = [];
  const malformed: TemplateRef[] = [];
  for (const m of text.matchAll(ANY_BRACES)) {
    const inner = m[1] ?? '';
    if (/^\s*[A-Za-z_][A-Za-z0-9_]*\s*$/.test(inner)) refs.push({ name: inner.trim(), offset: m.index });
    else malformed.push({ name: inner, offset: m.index });
  }
  return { refs, malformed };
}

const SAFE_WORD = /^[A-Za-z0-9_@%+=:,./-]+$/;

/**
 * Quotes a value as exactly one shell word: as is when it holds only characters that mean
 * nothing to a shell, otherwise single-quoted with each ' written as '\''. Nothing inside
 * single quotes is interpreted by sh or bash, so a value can never inject shell syntax.
 */
export function shellWord(value: string): string {
  if (SAFE_WORD.test(value)) return value;
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

export type Lookup = (name: string) => string | undefined;

/**
 * Renders a template. In `shell` mode each value becomes one shell word. A name with no
 * value is left as `{{name}}`, so a missing var shows instead of vanishing.
 */
export function renderTemplate(text: string, lookup: Lookup, mode: 'text' | 'shell' = 'text'): string {
  return text.replace(TEMPLATE, (whole, name: string) => {
    const value = lookup(name);
    if (value === undefined) return whole;
    return mode === 'shell' ? shellWord(value) : value;
  });
}

/** Names in a text, in order of first use. */
export function templateNames(text: string): string[] {
  return [...new Set(scanTemplate(text).refs.map((r) => r.name))];
}

/**
 * Whether `{{` at `offset` stands inside quotes in a shell command: the value is already
 * one quoted word, so quoting it again passes the quote characters on literally.
 */
export function insideShellQuotes(command: string, offset: number): boolean {
  let single = false;
  let double = false;
  for (let i = 0; i < offset; i++) {
    const c = command[i];
    if (c === '\\' && !single) {
      i++;
      continue;
    }
    if (c === "'" && !double) single = !single;
    else if (c === '"' && !single) double = !double;
  }
  return single || double;
}
