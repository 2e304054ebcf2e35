/** `{{ name }}` with optional spaces (newlines included); the one syntax drbook substitutes. */
const TEMPLATE = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;
const ANY_BRACES = /\{\{([\s\S]*?)\}\}/g;
/**
 * Inside braces, one bare token that is not a valid name (`{{1abc}}`, `{{new-ip}}`, `{{}}`)
 * is a mistyped drbook template. Anything with template-language punctuation
 * (`{{.State.Running}}`, `{{range .items}}`, `{{ x | default }}`) belongs to another tool
 * (docker, kubectl, consul-template) and is passed on literally, as renderTemplate does.
 */
const MISTYPED_NAME = /^[^\s.|(){}'"]*$/;

export interface TemplateRef {
  name: string;
  /** Offset of `{{` in the text. */
  offset: number;
  /** Length of the whole `{{...}}`, so a problem can point at it. */
  length: number;
}

/**
 * The names a text refers to, and the malformed `{{...}}` it holds. The refs are exactly
 * what renderTemplate substitutes, so validation checks every name a run would use.
 */
export function scanTemplate(text: string): { refs: TemplateRef[]; malformed: TemplateRef[] } {
  const refs: TemplateRef[] = [];
  for (const m of text.matchAll(TEMPLATE)) refs.push({ name: m[1] ?? '', offset: m.index, length: m[0].length });
  const malformed: TemplateRef[] = [];
  for (const m of text.matchAll(ANY_BRACES)) {
    const start = m.index;
    const end = start + m[0].length;
    if (refs.some((r) => r.offset < end && start < r.offset + r.length)) continue;
    const inner = m[1] ?? '';
    if (MISTYPED_NAME.test(inner.trim())) malformed.push({ name: inner, offset: start, length: m[0].length });
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
