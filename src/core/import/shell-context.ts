/**
 * What each character of a shell command is, as far as placeholders care: plain words,
 * double quotes, single quotes (also `$'…'`), comments, and here-document bodies (quoted
 * delimiter or not). A lexer, not a parser: enough to tell `"$HOST"` from `'$HOST'`,
 * `<host>` from `2>&1`, `<<EOF` and `<(…)`; wrong answers only make a placeholder stay as
 * written, never change a command.
 */
/** `escaped`: the character after a backslash (`\$HOME` is no expansion). */
export const Ctx = { plain: 0, double: 1, single: 2, comment: 3, heredoc: 4, quotedHeredoc: 5, escaped: 6 } as const;
export type Ctx = (typeof Ctx)[keyof typeof Ctx];

export function shellContexts(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  const pending: { delim: string; quoted: boolean; tabs: boolean }[] = [];
  let i = 0;
  const n = text.length;
  let state: Ctx = Ctx.plain;
  let wordStart = true;
  while (i < n) {
    const c = text[i]!;
    if (state === Ctx.single) {
      out[i] = Ctx.single;
      if (c === "'") state = Ctx.plain;
      i++;
      continue;
    }
    if (state === Ctx.double) {
      out[i] = Ctx.double;
      if (c === '\\' && i + 1 < n) {
        out[i + 1] = Ctx.escaped;
        i += 2;
        continue;
      }
      if (c === '"') state = Ctx.plain;
      i++;
      continue;
    }
    if (state === Ctx.comment) {
      if (c === '\n') {
        state = Ctx.plain;
        continue;
      }
      out[i] = Ctx.comment;
      i++;
      continue;
    }
    // plain
    if (c === '\n') {
      out[i] = Ctx.plain;
      i++;
      wordStart = true;
      // Here-document bodies start on the next line, in the order they were opened.
      while (pending.length > 0) {
        const doc = pending.shift()!;
        for (;;) {
          if (i >= n) break;
          const end = text.indexOf('\n', i);
          const lineEnd = end === -1 ? n : end;
          const line = text.slice(i, lineEnd);
          const ctx = doc.quoted ? Ctx.quotedHeredoc : Ctx.heredoc;
          for (let k = i; k < lineEnd; k++) out[k] = ctx;
          const closes = (doc.tabs ? line.replace(/^\t+/, '') : line) === doc.delim;
          if (closes) for (let k = i; k < lineEnd; k++) out[k] = Ctx.plain;
          if (end !== -1) out[end] = closes ? Ctx.plain : ctx;
          i = end === -1 ? n : end + 1;
          if (closes) break;
        }
      }
      continue;
    }
    out[i] = Ctx.plain;
    if (c === '\\' && i + 1 < n) {
      out[i + 1] = Ctx.escaped;
      i += 2;
      wordStart = false;
      continue;
    }
    // A quote opens: '…', "…", or $'…', read as single quotes from its '.
    const opener = c === '$' && text[i + 1] === "'" ? "$'" : c === "'" || c === '"' ? c : undefined;
    if (opener !== undefined) {
      state = opener === '"' ? Ctx.double : Ctx.single;
      out.fill(state, i + 1, i + opener.length);
      i += opener.length;
      wordStart = false;
      continue;
    }
    if (c === '#' && wordStart) {
      state = Ctx.comment;
      out[i] = Ctx.comment;
      i++;
      continue;
    }
    // A here-string (`<<< "$X"`) is a word on the same line, not a here-document: its
    // quotes are read as any other quotes.
    if (c === '<' && text[i + 1] === '<' && text[i + 2] === '<') {
      out.fill(Ctx.plain, i, i + 3);
      i += 3;
      wordStart = true;
      continue;
    }
    if (c === '<' && text[i + 1] === '<') {
      const m = /^<<(-?)[ \t]*(?:'([^'\n]*)'|"([^"\n]*)"|\\?([A-Za-z0-9_.-]+))/.exec(text.slice(i, i + 200));
      if (m) {
        const quoted = m[2] !== undefined || m[3] !== undefined || m[0].includes('\\');
        pending.push({ delim: m[2] ?? m[3] ?? m[4] ?? '', quoted, tabs: m[1] === '-' });
        for (let k = i; k < i + m[0].length; k++) out[k] = Ctx.plain;
        i += m[0].length;
        wordStart = false;
        continue;
      }
    }
    wordStart = /[\s;&|()<>]/.test(c);
    i++;
  }
  return out;
}

/** Names a shell text assigns (`X=`, `export X`, `read X`, `for X in`, `local X`): not placeholders. */
export function assignedNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const m of text.matchAll(/(?:^|[\s;&|(`])([A-Za-z_][A-Za-z0-9_]*)(?:\[[^\]\n]*\])?\+?=/g)) names.add(m[1]!);
  for (const m of text.matchAll(/\b(?:export|readonly|local|declare|typeset|unset)\b((?:[ \t]+(?:-[A-Za-z]+|[A-Za-z_][A-Za-z0-9_]*(?:=\S*)?))+)/g)) {
    for (const w of m[1]!.matchAll(/[A-Za-z_][A-Za-z0-9_]*/g)) if (!m[1]!.slice(0, w.index).endsWith('=')) names.add(w[0]);
  }
  for (const m of text.matchAll(/\bread\b([^;&|\n]*)/g)) {
    const words = m[1]!.trim().split(/\s+/);
    for (let k = words.length - 1; k >= 0 && /^[A-Za-z_][A-Za-z0-9_]*$/.test(words[k]!); k--) names.add(words[k]!);
  }
  for (const m of text.matchAll(/\b(?:for|select)[ \t]+([A-Za-z_][A-Za-z0-9_]*)/g)) names.add(m[1]!);
  for (const m of text.matchAll(/\bgetopts[ \t]+\S+[ \t]+([A-Za-z_][A-Za-z0-9_]*)/g)) names.add(m[1]!);
  return names;
}
