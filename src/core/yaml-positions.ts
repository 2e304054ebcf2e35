import { isCollection, isMap, isPair, isScalar, isSeq, type Document, type LineCounter, type Node, type Pair, type YAMLMap } from 'yaml';

export type PathSegment = string | number;
export interface Position {
  line: number;
  col: number;
}

/**
 * Finds where a value (or its key) stands in the source, so a problem points at the
 * offending node rather than the top of the file. Falls back to the deepest node found.
 */
export function locate(doc: Document, lines: LineCounter, path: readonly PathSegment[], target: 'key' | 'value' = 'value'): Position {
  return toPosition(lines, find(doc, path, target).offset);
}

/**
 * Where `needle` (its `occurrence`-th copy, from 0) stands inside the scalar at `path`:
 * the `{{name}}` inside a run rather than the start of the run. Plain, quoted and block
 * scalars hold the needle verbatim unless it was escaped or folded; then the value's
 * start is the best answer.
 */
export function locateInValue(doc: Document, lines: LineCounter, source: string, path: readonly PathSegment[], needle: string, occurrence = 0): Position {
  const found = find(doc, path, 'value');
  const range = isScalar(found.node) ? found.node.range : undefined;
  if (found.complete && range && needle !== '') {
    const slice = source.slice(range[0], range[1]);
    let at = -1;
    for (let n = 0; n <= occurrence; n++) {
      at = slice.indexOf(needle, at + 1);
      if (at === -1) break;
    }
    if (at !== -1) return toPosition(lines, range[0] + at);
  }
  return toPosition(lines, found.offset);
}

function find(doc: Document, path: readonly PathSegment[], target: 'key' | 'value'): { node: unknown; offset: number; complete: boolean } {
  let node: unknown = doc.contents;
  let offset = rangeStart(node) ?? 0;
  for (let i = 0; i < path.length; i++) {
    const seg = path[i];
    const last = i === path.length - 1;
    if (isMap(node)) {
      const pair = pairsOf(node).get(String(seg)) ?? node.items.find((p) => isPair(p) && complexKeyMatches(p.key, String(seg)));
      if (!pair) return { node, offset, complete: false };
      const keyStart = rangeStart(pair.key);
      if (last && target === 'key' && keyStart !== undefined) return { node: pair.key, offset: keyStart, complete: true };
      node = pair.value;
      const start = rangeStart(node) ?? keyStart;
      if (start !== undefined) offset = start;
      // `key:` with nothing after it: the empty value has no text to point at, the key has.
      if (pair.value === null || pair.value === undefined || isEmptyScalar(pair.value)) {
        if (keyStart !== undefined) offset = keyStart;
        return { node, offset, complete: last };
      }
    } else if (isSeq(node) && typeof seg === 'number') {
      const item = node.items[seg];
      if (item === undefined) return { node, offset, complete: false };
      node = item;
      const start = rangeStart(node);
      if (start !== undefined) offset = start;
    } else {
      return { node, offset, complete: false };
    }
  }
  return { node, offset, complete: true };
}

function isEmptyScalar(node: unknown): boolean {
  return isScalar(node) && node.value === null && node.range !== undefined && node.range !== null && node.range[0] === node.range[1];
}

/**
 * The pairs of a mapping by key, built once: a file with 100 000 unknown keys gets a
 * problem for each, and a linear search for each would take minutes.
 */
const pairIndex = new WeakMap<object, Map<string, Pair>>();
function pairsOf(map: YAMLMap): Map<string, Pair> {
  let index = pairIndex.get(map);
  if (!index) {
    index = new Map();
    for (const item of map.items) {
      if (!isPair(item)) continue;
      const key = keyText(item.key);
      if (key !== undefined && !index.has(key)) index.set(key, item);
    }
    pairIndex.set(map, index);
  }
  return index;
}

/**
 * `? [a, b]` as a key: toJS names it `[ a, b ]`, String() gives `["a","b"]`. Without
 * quotes and spaces both read `[a,b]`, close enough to find a key nobody writes on purpose.
 */
function complexKeyMatches(key: unknown, seg: string): boolean {
  if (!isCollection(key)) return false;
  const bare = (text: string) => text.replace(/["'\s]/g, '');
  return bare(String(key)) === bare(seg);
}

function keyText(key: unknown): string | undefined {
  // A null key (`~:`, `null:`) is the empty string to toJS, and so in the paths of problems.
  if (isScalar(key)) return key.value === null ? '' : String(key.value);
  return undefined;
}

function rangeStart(node: unknown): number | undefined {
  const range = (node as Node | null | undefined)?.range;
  return range ? range[0] : undefined;
}

export function toPosition(lines: LineCounter, offset: number): Position {
  const pos = lines.linePos(offset);
  return { line: pos.line, col: pos.col };
}
