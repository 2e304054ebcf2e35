import type { Root } from 'mdast';

/**
 * CommonMark + GFM (tables, task lists, autolinks) into an mdast tree with positions.
 * Imported on first use: only `drbook import` pays for the parser.
 */
export async function parseMarkdown(text: string): Promise<Root> {
  const [{ fromMarkdown }, { gfm }, { gfmFromMarkdown }] = await Promise.all([
    import('mdast-util-from-markdown'),
    import('micromark-extension-gfm'),
    import('mdast-util-gfm'),
  ]);
  return fromMarkdown(text, { extensions: [gfm()], mdastExtensions: [gfmFromMarkdown()] });
}
