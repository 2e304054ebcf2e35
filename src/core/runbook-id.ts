import type { Problem } from './model.js';

/**
 * A runbook's id is its declared `id:`, else its file name (SPEC). `drbook run ID` finds a
 * runbook by that id without parsing every file of the directory: the top-level `id:` is
 * read from its line, which is how every runbook writes it. The loader warns about a file
 * whose parsed id differs from what this line-reading finds, so the two never disagree on a
 * valid runbook.
 */

/** `id: x`, `id: "x"`, `'id' : x # note` at the start of a line: a top-level key. */
const ID_LINE = /^\uFEFF?(?:id|"id"|'id')[ \t]*:(?:[ \t]+(?:"([^"\\\r\n]*)"|'([^'\r\n]*)'|([^\s#"'&*!|>{[][^\r\n]*?)))?[ \t]*(?:#[^\r\n]*)?\r?$/dm;

export interface IdDeclaration {
  id: string;
  /** 1-based position of the value (or of the key when the value is empty). */
  line: number;
  col: number;
}

/** The id a runbook text declares on a top-level `id:` line, if any. */
export function declaredRunbookId(text: string): IdDeclaration | undefined {
  const match = ID_LINE.exec(text);
  if (!match?.indices) return undefined;
  const group = [1, 2, 3].find((g) => match[g] !== undefined && match[g] !== '');
  if (group === undefined) return undefined;
  // A quoted id is shown at its opening quote, as the loader shows a value.
  const valueAt = match.indices[group]![0] - (group === 3 ? 0 : 1);
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < valueAt; i = text.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { id: match[group]!, line, col: valueAt - lineStart + 1 };
}

/** The file name without its directory and `.yml` / `.yaml`: the id of a runbook that declares none. */
export function fileNameId(file: string): string {
  return (file.split('/').pop() ?? file).replace(/\.ya?ml$/i, '');
}

/** A file's id and where it is written: the declared one, else the file name (at 1:1). */
export function runbookIdOf(file: string, text: string): IdDeclaration & { declared: boolean } {
  const declared = declaredRunbookId(text);
  return declared ? { ...declared, declared: true } : { id: fileNameId(file), line: 1, col: 1, declared: false };
}

export interface FileId extends IdDeclaration {
  /** The file as shown to the operator. */
  file: string;
  declared: boolean;
}

/** The ids held by more than one file, each with its files in the order given. */
export function duplicateIds(files: readonly FileId[]): Map<string, FileId[]> {
  const byId = new Map<string, FileId[]>();
  for (const f of files) byId.set(f.id, [...(byId.get(f.id) ?? []), f]);
  for (const [id, holders] of byId) if (holders.length < 2) byId.delete(id);
  return byId;
}

/** One error per file whose id another file of the same directory has too, at its `id:`. */
export function duplicateIdProblems(files: readonly FileId[]): Problem[] {
  const problems: Problem[] = [];
  for (const [id, holders] of duplicateIds(files)) {
    for (const f of holders) {
      const others = holders.filter((o) => o !== f).map((o) => `${o.file}:${o.line}:${o.col}`);
      const how = f.declared ? `id "${id}"` : `id "${id}" (its file name: it declares no id:)`;
      problems.push({
        file: f.file,
        line: f.line,
        col: f.col,
        severity: 'error',
        message: `duplicate runbook ${how}, also the id of ${others.join(', ')}: \`drbook run ${id}\` refuses to choose; give each runbook an id of its own`,
      });
    }
  }
  return problems;
}
