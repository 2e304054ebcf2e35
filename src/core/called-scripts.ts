/**
 * The local scripts a step's command calls, for `bundle --check`: a relative path run as a
 * command (`./scripts/restore.sh`, `tools/check`), or the file given to a shell or an
 * interpreter (`bash restore.sh`, `. ./env.sh`, `python3 tools/x.py`). A rough reading of
 * the shell, on purpose: it only has to find what a bundle must carry, and it skips what it
 * cannot be sure of (a path built from `$VAR`, `{{name}}` or a glob, a here-document body).
 */

export interface CalledScript {
  path: string;
  /** Run as a command (needs the execute bit), not handed to an interpreter. */
  direct: boolean;
}

const SHELLS = new Set(['bash', 'sh', 'dash', 'zsh', 'ksh', 'source', '.']);
const INTERPRETERS = new Set(['python', 'python3', 'perl', 'ruby', 'node', 'php']);
/** Words that come before the command itself. */
const PREFIXES = new Set([
  'sudo',
  'exec',
  'env',
  'time',
  'nice',
  'nohup',
  'command',
  'builtin',
  'setsid',
  'stdbuf',
  '!',
  'if',
  'then',
  'else',
  'elif',
  'do',
  'while',
  'until',
  '{',
  '(',
]);
const SCRIPT_EXT = /\.(sh|bash|py|pl|rb|js|mjs|cjs|php)$/;

export function calledScripts(command: string): CalledScript[] {
  const found = new Map<string, CalledScript>();
  for (const words of simpleCommands(command)) {
    let i = 0;
    // Leading assignments and prefixes (`FOO=1 sudo -E ./x.sh`), with their options.
    for (;;) {
      const word = words[i];
      if (word === undefined) break;
      if (/^[A-Za-z_][A-Za-z0-9_]*=/.test(word.text) || PREFIXES.has(word.text)) i++;
      else if (i > 0 && word.text.startsWith('-') && PREFIXES.has(words[i - 1]?.text ?? '')) i++;
      else break;
    }
    const head = words[i];
    if (head === undefined) continue;
    const name = head.text.slice(head.text.lastIndexOf('/') + 1);
    if (head.text.includes('/')) {
      if (isLocalPath(head)) found.set(head.text, { path: head.text, direct: true });
      continue;
    }
    if (!SHELLS.has(name) && !INTERPRETERS.has(name)) continue;
    const args = words.slice(i + 1);
    // `bash -c '...'` and `python3 -m pkg` run no file.
    if (args.some((a) => a.text === '-c' || a.text === '-m' || a.text === '-e')) continue;
    const file = args.find((a) => !a.text.startsWith('-'));
    if (file === undefined || !isLocalPath(file)) continue;
    if (SHELLS.has(name) || file.text.includes('/') || SCRIPT_EXT.test(file.text)) found.set(file.text, { path: file.text, direct: false });
  }
  return [...found.values()];
}

interface Word {
  text: string;
  /** Something in it expands ($, `, {{, a glob): its file cannot be known before it runs. */
  dynamic: boolean;
}

function isLocalPath(word: Word): boolean {
  return !word.dynamic && word.text !== '' && !word.text.startsWith('/') && !word.text.startsWith('~') && !/^[a-z][a-z0-9+.-]*:/i.test(word.text);
}

/** The words of each simple command, split at `; & | && || ( ) newline`, quotes removed. */
function simpleCommands(text: string): Word[][] {
  const commands: Word[][] = [];
  let words: Word[] = [];
  let word: Word | undefined;
  const endWord = (): void => {
    if (word !== undefined) words.push(word);
    word = undefined;
  };
  const endCommand = (): void => {
    endWord();
    if (words.length > 0) commands.push(words);
    words = [];
  };
  const add = (chars: string, dynamic = false): void => {
    word ??= { text: '', dynamic: false };
    word.text += chars;
    if (dynamic) word.dynamic = true;
  };
  const heredocs: string[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '\n') {
      endCommand();
      i++;
      // Here-document bodies are data, not commands.
      for (const delimiter of heredocs.splice(0)) {
        for (;;) {
          const eol = text.indexOf('\n', i);
          const line = text.slice(i, eol === -1 ? text.length : eol);
          i = eol === -1 ? text.length : eol + 1;
          if (line.replace(/^\t+/, '') === delimiter || eol === -1) break;
        }
      }
      continue;
    }
    if (c === '\\' && i + 1 < text.length) {
      if (text[i + 1] !== '\n') add(text[i + 1]!);
      i += 2;
      continue;
    }
    if (c === "'") {
      const end = text.indexOf("'", i + 1);
      add(text.slice(i + 1, end === -1 ? text.length : end));
      i = end === -1 ? text.length : end + 1;
      continue;
    }
    if (c === '"') {
      let j = i + 1;
      let inner = '';
      let dynamic = false;
      while (j < text.length && text[j] !== '"') {
        if (text[j] === '\\' && j + 1 < text.length) {
          inner += text[j + 1];
          j += 2;
          continue;
        }
        if (text[j] === '$' || text[j] === '`') dynamic = true;
        inner += text[j];
        j++;
      }
      add(inner, dynamic || inner.includes('{{'));
      i = j + 1;
      continue;
    }
    if (c === '<' && text[i + 1] === '<' && text[i + 2] !== '<') {
      const match = /^<<-?\s*(['"]?)([^\s'";|&<>()]+)\1/.exec(text.slice(i));
      if (match) {
        heredocs.push(match[2]!);
        endWord();
        i += match[0].length;
        continue;
      }
    }
    if (c === '#' && word === undefined) {
      const eol = text.indexOf('\n', i);
      i = eol === -1 ? text.length : eol;
      continue;
    }
    if (c === ';' || c === '&' || c === '|' || c === '(' || c === ')') {
      endCommand();
      i++;
      continue;
    }
    if (c === ' ' || c === '\t') {
      endWord();
      i++;
      continue;
    }
    if (c === '<' || c === '>') {
      // A redirection's target is not a command word: skip it.
      endWord();
      let j = i + 1;
      while (text[j] === '>' || text[j] === '&' || text[j] === '<') j++;
      while (text[j] === ' ' || text[j] === '\t') j++;
      while (j < text.length && !/[\s;&|()<>]/.test(text[j]!)) j++;
      i = j;
      continue;
    }
    add(c, c === '$' || c === '`' || c === '*' || c === '?' || c === '[' || (c === '{' && text[i + 1] === '{'));
    i++;
  }
  endCommand();
  return commands;
}
