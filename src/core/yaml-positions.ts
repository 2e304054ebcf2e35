import { isMap, isPair, isScalar, isSeq, type Document, type LineCounter, type Node } from 'yaml';

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
  let node: unknown = doc.contents;
  let offset = rangeStart(node) ?? 0;
  for (let i = 0; i < path.length; i++) {
    const seg = path[i];
    const last = i === path.length - 1;
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && keyText(p.key) === String(seg));
      if (!pair) break;
      const keyStart = rangeStart(pair.key);
      if (last && target === 'key' && keyStart !== undefined) return toPosition(lines, keyStart);
      node = pair.value;
      const start = rangeStart(node) ?? keyStart;
      if (start !== undefined) offset = start;
      if (pair.value === null || pair.value === undefined) {
        if (keyStart !== undefined) offset = keyStart;
        break;
      }
    } else if (isSeq(node) && typeof seg === 'number') {
      const item = node.items[seg];
      if (item === undefined) break;
      node = item;
      const start = rangeStart(node);
      if (start !== undefined) offset = start;
    } else {
      break;
    }
  }
  return toPosition(lines, offset);
}

function keyText(key: unknown): string | undefined {
  if (isScalar(key)) return String(key.value);
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
