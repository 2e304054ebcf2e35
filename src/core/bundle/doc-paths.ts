/**
 * Doc paths in a runbook's YAML: found as nodes, rewritten in place so that the comments and
 * layout the operator wrote stay as they are in the bundled copy.
 */
import { isAlias, isMap, isScalar, isSeq, parseDocument, type Document, type Scalar } from 'yaml';

/** The scalar nodes of every local doc `path:`: top-level `docs:` and inline step docs. */
export function docPathNodes(doc: Document): Scalar[] {
  const found = new Set<Scalar>();
  const deref = (node: unknown): unknown => (isAlias(node) ? node.resolve(doc) : node);
  const pathOf = (link: unknown) => {
    const map = deref(link);
    if (!isMap(map)) return;
    const value = deref(map.get('path', true));
    if (isScalar(value) && typeof value.value === 'string' && value.value !== '') found.add(value);
  };
  const docs = deref(doc.get('docs', true));
  if (isMap(docs)) for (const pair of docs.items) pathOf(pair.value);
  const steps = deref(doc.get('steps', true));
  if (isSeq(steps)) {
    for (const step of steps.items) {
      const map = deref(step);
      const links = isMap(map) ? deref(map.get('docs', true)) : undefined;
      if (isSeq(links)) for (const link of links.items) pathOf(link);
    }
  }
  return [...found];
}

/**
 * Replaces each doc path value with `rename(value)` by editing the text at the node's
 * range: the yaml package's toString() would move comments and reflow the file the
 * operator wrote. `rename` returning undefined leaves the value as it is.
 */
export function rewriteDocPaths(text: string, rename: (value: string) => string | undefined): string {
  const doc = parseDocument(text);
  const edits: { start: number; end: number; replacement: string }[] = [];
  for (const node of docPathNodes(doc)) {
    const next = rename(String(node.value));
    if (next === undefined || next === node.value || !node.range) continue;
    const [start, end] = node.range;
    const original = text.slice(start, end);
    let replacement = scalarText(next, node.type);
    if (node.type === 'BLOCK_LITERAL' || node.type === 'BLOCK_FOLDED') {
      // A block scalar's range runs to its trailing line break: keep the break.
      const trailing = /\n*$/.exec(original)?.[0] ?? '';
      replacement += trailing || '\n';
    }
    edits.push({ start, end, replacement });
  }
  edits.sort((a, b) => b.start - a.start);
  let result = text;
  for (const edit of edits) result = result.slice(0, edit.start) + edit.replacement + result.slice(edit.end);
  return result;
}

/** The value as YAML in the node's own style where that is safe, else double-quoted. */
function scalarText(value: string, type: Scalar['type']): string {
  // Plain only with characters that mean nothing to YAML, in block and flow context alike.
  if (type === 'PLAIN' && /^[A-Za-z0-9_./][A-Za-z0-9_./#%+=~@-]*$/.test(value)) return value;
  if (type === 'QUOTE_SINGLE' && !/[\n\r]/.test(value)) return `'${value.replace(/'/g, "''")}'`;
  // JSON strings are valid YAML double-quoted scalars.
  return JSON.stringify(value);
}

/** `line:col` (1-based) of an offset in a text. */
export function lineCol(text: string, offset: number): string {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return `${line}:${offset - before.lastIndexOf('\n')}`;
}
