/**
 * Hints for the mistakes a first runbook makes: said next to the problem, in the words an
 * operator would search for. Kept apart from the loader so the checks stay small and
 * each can change on its own.
 */

/**
 * A YAML error that an unquoted `: ` in a plain value causes (`run: echo key: value`):
 * the parser reads a second mapping. Returns the hint to append, or undefined.
 */
export function colonInValueHint(code: string | undefined, lineText: string | undefined): string | undefined {
  if (code !== 'BLOCK_AS_IMPLICIT_KEY' && code !== 'MULTILINE_IMPLICIT_KEY') return undefined;
  if (lineText === undefined) return undefined;
  // `key: value: more` on one line, the value not quoted.
  const m = /^\s*(?:-\s+)?([A-Za-z_][\w-]*):\s+([^'"|>\s].*)$/.exec(lineText);
  if (!m || !/:(\s|$)/.test(m[2] ?? '')) return undefined;
  return `the value of ${m[1]} holds ": ", which YAML reads as a new key: write it as a block (\`${m[1]}: |\` and the text on the next lines, indented) or put it in quotes`;
}

/** Commands whose arguments are parsed again as shell code, where the value is used. */
const SHELLS = new Set(['su', 'bash', 'sh', 'zsh', 'dash', 'ksh']);
const WRAPPERS = new Set(['sudo', 'env', 'timeout', 'nice', 'nohup', 'exec', 'command', 'time', 'doas']);

/**
 * `{{x}}` as an argument of a command that hands its arguments to another shell (`ssh
 * host …`, `sh -c`, `eval`, `su -c`): drbook quotes the value once, for the local shell,
 * and the far side parses it again. Looks at the words of each simple command; returns
 * the re-parsing command's name for each placeholder found after it, by offset.
 */
export function reparsedPlaceholders(run: string, refs: readonly { name: string; offset: number }[]): { name: string; offset: number; via: string }[] {
  const found: { name: string; offset: number; via: string }[] = [];
  // Split into simple commands at ; & | newline and ( ) — quoting is not tracked: a
  // separator inside quotes only ends the check early, which can miss, never mislead.
  const bounds: { start: number; end: number }[] = [];
  let start = 0;
  for (let i = 0; i <= run.length; i++) {
    const ch = run[i];
    if (i === run.length || ch === ';' || ch === '&' || ch === '|' || ch === '\n' || ch === '(' || ch === ')' || ch === '`') {
      bounds.push({ start, end: i });
      start = i + 1;
    }
  }
  for (const { start: s, end: e } of bounds) {
    const text = run.slice(s, e);
    const words = [...text.matchAll(/\S+/g)];
    let via: string | undefined;
    let viaEnd = 0;
    for (let k = 0; k < words.length; k++) {
      const word = words[k]![0];
      const base = word.replace(/^.*\//, '');
      // Before the command word: assignments, wrappers and their options (sudo -u x, timeout 10).
      if (/^\w+=/.test(word) || /^-/.test(word) || /^\d+\w?$/.test(word) || WRAPPERS.has(base)) continue;
      if (base === 'ssh' || base === 'eval' || base === 'watch' || base === 'parallel') via = base;
      else if (SHELLS.has(base) && words.slice(k + 1).some((w) => /^-\w*c$/.test(w[0]))) via = `${base} -c`;
      if (via === undefined) break;
      let last = k;
      if (via.endsWith(' -c')) {
        // Only the script after -c is parsed again; the words after it are $0, $1…: data.
        const c = words.findIndex((w, i) => i > k && /^-\w*c$/.test(w[0]));
        const script = c === -1 ? undefined : words[c + 1];
        if (script !== undefined) {
          const from = s + script.index;
          const to = from + script[0].length;
          for (const ref of refs) if (ref.offset >= from && ref.offset < to) found.push({ ...ref, via });
        }
        via = undefined;
        break;
      }
      if (via === 'ssh') {
        // Options, then the destination: only what follows it runs on the far side.
        let j = k + 1;
        for (; j < words.length; j++) {
          const w = words[j]![0];
          if (!w.startsWith('-')) break;
          if (/^-[46AaCfGgKkMNnqsTtVvXxYy]*[BbcDEeFIiJLlmOoPpQRSWw]$/.test(w)) j++;
        }
        last = Math.min(j, words.length - 1);
      }
      if (via === 'watch') {
        // Its options, -n and -d (with a value or not) among them: the rest is the command.
        let j = k + 1;
        while (j < words.length && words[j]![0].startsWith('-')) j += /^-[a-z]*[nq]$/.test(words[j]![0]) ? 2 : 1;
        last = Math.min(j - 1, words.length - 1);
      }
      viaEnd = s + words[last]!.index + words[last]![0].length;
      break;
    }
    if (via === undefined) continue;
    for (const ref of refs) {
      if (ref.offset >= viaEnd && ref.offset < e) found.push({ ...ref, via });
    }
  }
  return found;
}
