/**
 * GitHub's heading anchors (github-slugger): lower-case, drop every character that is not
 * a letter, mark, digit, connector punctuation, space or dash, spaces become dashes; the
 * second heading of the same text gets `-1`, the third `-2`.
 */
export class HeadingSlugger {
  private readonly seen = new Map<string, number>();

  slug(text: string): string {
    const base = text
      .toLowerCase()
      .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
      .replace(/ /g, '-');
    let slug = base;
    let n = this.seen.get(base) ?? 0;
    while (this.seen.has(slug)) slug = `${base}-${++n}`;
    this.seen.set(base, n);
    this.seen.set(slug, 0);
    return slug;
  }
}

/** A step id: ASCII slug (`[a-z0-9][a-z0-9-]*`), accents folded, never empty. */
export function asciiSlug(text: string, fallback = 'step'): string {
  const folded = text
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 60)
    .replace(/-+$/, '');
  return folded === '' ? fallback : folded;
}

/** A var name: snake_case, lower-case, starting with a letter or _. */
export function snakeName(text: string): string {
  const name = text
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
  if (name === '') return 'value';
  return /^[0-9]/.test(name) ? `_${name}` : name;
}
