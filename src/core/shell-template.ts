/**
 * Templating of a `run` by its shell syntax. Each `{{name}}` is replaced by an identifier,
 * the script is parsed (the parser is injected: the core does no I/O), and the node that
 * holds each identifier says how the shell would read a value there. The value never
 * enters the script: it travels in the environment as DRBOOK_V_<name>, and the placeholder
 * becomes a reference to that variable written for its context. Contexts where a shell
 * would evaluate a value as code (arithmetic, a quoted here-document that expands nothing)
 * are refused, unless the var's pattern admits only integers.
 */
import type { Runbook, Step } from './model.js';
import type { CommandRequest, CommandResult } from './ports.js';
import type { Redactor } from './redact.js';
import { renderTemplate, scanTemplate, shellWord, templateNames, type Lookup } from './template.js';

export type ShellDialect = 'bash' | 'sh';

/** The part of a parsed node drbook reads (a tree-sitter-bash node has these). */
export interface ShellNode {
  readonly type: string;
  /** Offsets in the parsed text, in UTF-16 units (JavaScript string indices). */
  readonly startIndex: number;
  readonly endIndex: number;
  readonly children: readonly (ShellNode | null)[];
  readonly isMissing: boolean;
}

/** Parses a script with the bash grammar (a superset of POSIX sh). */
export type ShellParse = (script: string) => ShellNode;

/**
 * How the shell reads a placeholder:
 * - word: an unquoted word; dquote: inside "…"; heredoc: an unquoted here-document body;
 *   single: inside '…'; ansi: inside $'…'; comment: in a `#` comment (left as text);
 * - quoted-heredoc: a body that expands nothing (refused);
 * - refused: a place drbook does not substitute at all (see `construct`).
 */
export type SiteContext = 'word' | 'dquote' | 'heredoc' | 'single' | 'ansi' | 'comment' | 'quoted-heredoc' | 'refused';

export interface PlaceholderSite {
  name: string;
  /** Offset and length of the `{{…}}` in the original text. */
  offset: number;
  length: number;
  context: SiteContext;
  /** Set when the shell evaluates the value as arithmetic or code: the construct, as shown to the author. */
  integer?: string;
  /** Set when it is refused whatever the value: why. */
  refused?: string;
  /** Set when the value is data to the shell but code to the program it is given to (awk, sed, python -c): where, and the program. */
  program?: { construct: string; name: string };
}

const ENV_PREFIX = 'DRBOOK_V_';

export function envName(name: string): string {
  return `${ENV_PREFIX}${name}`;
}

/** Finds where each placeholder of `text` stands. Serializable, so it can be cached. */
export function placeholderSites(text: string, dialect: ShellDialect, parse: ShellParse): PlaceholderSite[] {
  const refs = scanTemplate(text).refs;
  if (refs.length === 0) return [];
  // Each placeholder is parsed as what it becomes, an expansion `${ID}`: a word stays a
  // word, and `$dir{{file}}` keeps `$dir` apart. The tag is one unused in the text.
  let tag = 'DRBOOKPH';
  while (text.includes(tag)) tag += 'X';
  let script = '';
  let last = 0;
  const marks: { start: number; end: number }[] = [];
  refs.forEach((ref, i) => {
    script += text.slice(last, ref.offset);
    const id = `\${${tag}${i}Z}`;
    marks.push({ start: script.length, end: script.length + id.length });
    script += id;
    last = ref.offset + ref.length;
  });
  script += text.slice(last);
  const root = parse(script);
  const broken = firstError(root);
  const integers = integerVariables(root, script);
  for (const [name, where] of arithmeticNames(root, script)) if (!integers.has(name)) integers.set(name, where);
  return refs.map((ref, i) => {
    const site: PlaceholderSite = { name: ref.name, offset: ref.offset, length: ref.length, context: 'word' };
    const mark = marks[i]!;
    const path = pathTo(root, mark.start, mark.end);
    classify(site, path, script, mark.start, dialect, broken, integers);
    return site;
  });
}

/**
 * Names given the integer attribute anywhere in the script (`declare -i n`, `local -i n`):
 * the shell evaluates what is later assigned to them as arithmetic (`n={{v}}`).
 */
function integerVariables(root: ShellNode, script: string): Map<string, string> {
  const names = new Map<string, string>();
  const stack: ShellNode[] = [root];
  while (stack.length > 0) {
    const node = stack.pop()!;
    const kids = node.children.filter((c): c is ShellNode => c !== null);
    if (node.type === 'declaration_command' && kids.some((k) => /^[-][A-Za-z]*i/.test(script.slice(k.startIndex, k.endIndex)))) {
      for (const k of kids) {
        const name = k.type === 'variable_name' ? k : k.type === 'variable_assignment' ? k.children.find((c) => c?.type === 'variable_name') : undefined;
        if (name) names.set(script.slice(name.startIndex, name.endIndex), 'declared -i');
      }
    }
    stack.push(...kids);
  }
  return names;
}

/**
 * Names the script reads as numbers ($(( n + 1 )), (( n )), [[ $n -gt 0 ]], for (( )), a[n]):
 * bash evaluates the value of such a variable as an expression, so a value assigned to one
 * (`n={{v}}`) is evaluated too. Each with the construct that reads it.
 */
function arithmeticNames(root: ShellNode, script: string): Map<string, string> {
  const names = new Map<string, string>();
  const text = (n: ShellNode) => script.slice(n.startIndex, n.endIndex);
  const stack: { node: ShellNode; construct: string | undefined; double: boolean }[] = [{ node: root, construct: undefined, double: false }];
  while (stack.length > 0) {
    const { node, construct: outer, double } = stack.pop()!;
    const kids = node.children.filter((c): c is ShellNode => c !== null);
    let construct = outer;
    if (construct === undefined) {
      if (node.type === 'arithmetic_expansion' || misreadArithmetic(node, script)) construct = '$(( ))';
      else if (node.type === 'compound_statement' && opens(script, node, '((')) construct = '(( ))';
      else if (node.type === 'c_style_for_statement') construct = 'for (( ))';
      else if (node.type === 'subscript') construct = 'an array subscript';
      else if (node.type === 'binary_expression' && double && kids.some((k) => TEST_INTEGER_OPERATORS.has(text(k)))) construct = '[[ … -gt … ]]';
    }
    if (construct !== undefined && (node.type === 'variable_name' || node.type === 'word') && /^[A-Za-z_]\w*$/.test(text(node)) && !names.has(text(node))) {
      names.set(text(node), `which the script reads as a number in ${construct}`);
    }
    // ${!name}: bash reads the value of name as the name of a variable, a[$(cmd)] included.
    if (node.type === 'expansion' && /^\$\{!\w+\}$/.test(text(node).trim())) {
      const name = kids.find((k) => k.type === 'variable_name');
      if (name && !names.has(text(name))) names.set(text(name), 'which the script reads as the name of a variable in ${!…}');
    }
    const inDouble = node.type === 'test_command' ? opens(script, node, '[[') : double;
    // ${#name} is a number whatever name holds: inside arithmetic, only its subscripts are.
    const length = node.type === 'expansion' && opens(script, node, '${#');
    for (const kid of kids) {
      // The body of a for (( )) is not part of its arithmetic.
      const bodyOfFor = node.type === 'c_style_for_statement' && (kid.type === 'do_group' || kid.type === 'compound_statement');
      // The array a subscript indexes (servers in ${servers[@]}) is not read as a number by the
      // subscript, only by what holds it: (( a[0] > 1 )) evaluates the element.
      const arrayName = node.type === 'subscript' && kid === kids[0] && kid.type === 'variable_name';
      stack.push({ node: kid, construct: arrayName || bodyOfFor ? outer : length ? undefined : construct, double: inDouble });
    }
  }
  return names;
}

function firstError(root: ShellNode): number | undefined {
  const stack: ShellNode[] = [root];
  let first: number | undefined;
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (node.type === 'ERROR' || node.isMissing) first = Math.min(first ?? node.startIndex, node.startIndex);
    for (const child of node.children) if (child) stack.push(child);
  }
  return first;
}

/** The nodes from the root to the smallest one that covers [start, end). */
function pathTo(root: ShellNode, start: number, end: number): ShellNode[] {
  const path = [root];
  for (;;) {
    const node = path[path.length - 1]!;
    const next = node.children.find((c): c is ShellNode => c !== null && c.startIndex <= start && end <= c.endIndex && c.endIndex > c.startIndex);
    if (!next) return path;
    path.push(next);
  }
}

const TEST_INTEGER_OPERATORS = new Set(['-eq', '-ne', '-lt', '-le', '-gt', '-ge']);
/** Commands that evaluate an argument as arithmetic or as shell code. */
const EVALUATING_COMMANDS: Record<string, string> = {
  let: 'let',
  eval: 'eval',
  unset: 'unset',
  // The action of a trap is a script, run when the signal comes.
  trap: 'trap',
  // Arguments that name variables: a name with a subscript (`a[$(cmd)]`) is evaluated.
  read: 'read (its arguments name variables)',
  mapfile: 'mapfile (its argument names an array)',
  readarray: 'readarray (its argument names an array)',
  getopts: 'getopts (its arguments name variables)',
  // Its -W word list is expanded, command substitutions included.
  compgen: 'compgen (it expands its word list)',
  // The body of an alias is parsed again as code wherever the alias is used.
  alias: 'alias (its body is read again as code where the alias is used)',
};
/** Variables whose value bash reads as code: a file name it expands and sources (BASH_ENV, ENV), prompts it expands, the options that turn tracing on, exported functions. */
export const CODE_VARIABLES = /^(BASH_ENV|ENV|PS[0-4]|PROMPT_COMMAND|SHELLOPTS|BASHOPTS|BASH_FUNC_.*)(=|$)/;
/** Shells, by the name of their program (`/bin/bash`, `busybox sh`). */
const SHELLS = new Set(['bash', 'sh', 'dash', 'zsh', 'ksh', 'mksh', 'ash', 'yash', 'posh', 'hush', 'busybox']);
/** Commands whose -c (--command) option is a script they give a shell: `su -c`, `flock F -c`, `script -c`. */
const C_SCRIPT_COMMANDS = new Set(['su', 'runuser', 'flock', 'script']);
/** File names of a command's own standard input. */
const STDIN_FILES = /^(\/dev\/stdin|\/dev\/fd\/0|\/proc\/self\/fd\/0|-)$/;
/** Words that run the command after them (`command eval …`, `time eval …`). */
const WRAPPERS = new Set(['command', 'builtin', 'time', 'exec', 'nohup']);

/** A word as the shell reads it once quotes and backslashes are gone: \\eval, 'eval' and "eval" run eval. */
function unquoted(word: string): string {
  return word.replace(/\\(.)/gs, '$1').replace(/['"]/g, '');
}

const basename = (word: string) => word.replace(/^.*\//, '');

/** The word a command runs, past wrappers and their options, and the nodes after it. */
function commandWord(node: ShellNode, script: string): { word: string; rest: ShellNode[] } | undefined {
  const text = (n: ShellNode) => unquoted(script.slice(n.startIndex, n.endIndex));
  const kids = node.children.filter((c): c is ShellNode => c !== null);
  const name = kids.find((k) => k.type === 'command_name');
  if (!name) return undefined;
  let word = basename(text(name));
  let rest = kids.slice(kids.indexOf(name) + 1);
  while (WRAPPERS.has(word)) {
    while (rest[0] && /^-/.test(text(rest[0]))) rest = rest.slice(1);
    if (!rest[0] || rest[0].type !== 'word') break;
    word = basename(text(rest[0]));
    rest = rest.slice(1);
  }
  return { word, rest };
}

/** A word of a simple command (its node is absent for the words a far side splits: ssh). */
interface Word {
  node?: ShellNode;
  text: string;
}

/**
 * Where a command takes the code it runs: its standard input (`stdin`, named for the
 * message), or one of its own words (`sh -c SCRIPT`, `bash <(…)`). `name` is the program.
 */
interface CodeSource {
  name: string;
  stdin?: string;
  word?: { node: ShellNode; what: string };
  /** More words that are code as `word` is (sed -e … -e …). */
  more?: ShellNode[];
}

/** The words of a simple command: its name and arguments, without the assignments before it and its redirections. */
function wordsOf(node: ShellNode, script: string): Word[] {
  const target = node.type === 'redirected_statement' ? node.children.find((c) => c?.type === 'command') : node;
  if (!target || target.type !== 'command') return [];
  const kids = target.children.filter((c): c is ShellNode => c !== null);
  const name = kids.findIndex((k) => k.type === 'command_name');
  if (name < 0) return [];
  return kids
    .slice(name)
    .filter((k) => !k.type.endsWith('_redirect'))
    .map((k) => ({ node: k, text: unquoted(script.slice(k.startIndex, k.endIndex)) }));
}

/** The shell a word runs (`bash`, `/bin/sh`, `$SHELL`, `${SHELL:-sh}`), if it is one. */
function shellName(word: Word): string | undefined {
  if (word.text.startsWith('-') || word.text.includes('=')) return undefined;
  const base = basename(word.text);
  if (SHELLS.has(base)) return base;
  // An expansion that may be a shell: the user's $SHELL, or a default that is one.
  if (/^\$\{?\w*SHELL\b/.test(word.text) || /^\$\{\w+:?[-=](?:.*\/)?(?:bash|sh|dash|zsh|ksh|mksh|ash)\}$/.test(word.text)) return word.text;
  return undefined;
}

/**
 * Where a shell run with the arguments `rest` takes its script: after -c, from a file named
 * /dev/stdin or a process substitution, from its input (-s, or no file named), or from a
 * script file (undefined: its input and arguments are data).
 */
function shellScript(shell: string, rest: Word[]): CodeSource | undefined {
  let c = false;
  let s = false;
  let i = 0;
  for (; i < rest.length; i++) {
    const w = rest[i]!.text;
    if (w === '--' || w === '-') {
      i++;
      break;
    }
    if (w.startsWith('--')) {
      if (w === '--rcfile' || w === '--init-file') i++;
      continue;
    }
    if (!/^[-+][A-Za-z]+$/.test(w)) break;
    if (w.startsWith('-') && w.includes('c')) c = true;
    if (w.startsWith('-') && w.includes('s')) s = true;
    // -o pipefail, +O extglob: the option's argument.
    if (/[oO]/.test(w)) i++;
  }
  const first = rest[i];
  if (c) return first?.node ? { name: shell, word: { node: first.node, what: `${shell} -c` } } : undefined;
  if (s || !first || STDIN_FILES.test(first.text)) return { name: shell, stdin: shell };
  if (first.node?.type === 'process_substitution') return { name: shell, word: { node: first.node, what: `the script ${shell} reads` } };
  return undefined;
}

/** The far side of `ssh [options] host [command…]`: a shell reading its input, when no command is given or the command is such a shell. */
function sshScript(rest: Word[]): CodeSource | undefined {
  let j = 0;
  for (; j < rest.length; j++) {
    const w = rest[j]!.text;
    if (!w.startsWith('-')) break;
    if (/^-[46AaCfGgKkMNnqsTtVvXxYy]*[BbcDEeFIiJLlmOoPpQRSWw]$/.test(w)) j++;
  }
  if (j >= rest.length) return undefined;
  // The far side joins the words with spaces and parses the line again.
  const remote: Word[] = rest
    .slice(j + 1)
    .flatMap((w) => w.text.split(/\s+/))
    .filter((t) => t !== '')
    .map((text) => ({ text }));
  if (remote.length === 0) return { name: 'ssh', stdin: 'the remote shell of ssh' };
  const far = codeSource(remote);
  return far?.stdin ? { name: 'ssh', stdin: `${far.stdin} on the far side of ssh` } : undefined;
}

/** `xargs -I{} sh -c '… {} …'`: each line xargs reads replaces {} in the script. */
function xargsScript(rest: Word[]): CodeSource | undefined {
  let replace: string | undefined;
  let j = 0;
  for (; j < rest.length; j++) {
    const w = rest[j]!.text;
    if (!w.startsWith('-')) break;
    if (w === '--') {
      j++;
      break;
    }
    if (w === '-I' || w === '-J') replace = rest[++j]?.text;
    else if (/^-[IJ]./.test(w)) replace = w.slice(2);
    else if (/^(-i|--replace)$/.test(w)) replace = '{}';
    else if (/^(-i|--replace=)./.test(w)) replace = w.replace(/^(-i|--replace=)/, '');
    else if (/^-[adEeLlnPs]$/.test(w)) j++;
  }
  if (replace === undefined || replace === '') return undefined;
  const inner = codeSource(rest.slice(j));
  if (!inner?.word || !unquotedText(inner.word.node).includes(replace)) return undefined;
  return {
    name: inner.name,
    stdin: `xargs ${rest
      .slice(0, j)
      .map((w) => w.text)
      .join(' ')} ${inner.word.what}`,
    word: inner.word,
  };
  function unquotedText(node: ShellNode): string {
    return rest.find((w) => w.node === node)?.text ?? '';
  }
}

/**
 * Where a simple command takes the code it runs, whatever runs it: a shell anywhere among
 * its words (`sudo -u x bash`, `timeout 60 sh`, `docker exec -i c sh`, `ssh host bash -s`,
 * `${SHELL:-sh} -c`), `su`/`runuser`/`flock`/`script` -c, `ssh host` with no command,
 * `xargs -I{} sh -c '…{}…'`, `. /dev/stdin`, `source <(…)`, `sudo -s`.
 */
function codeSource(words: Word[]): CodeSource | undefined {
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!;
    const base = basename(word.text);
    if (i === 0 && (base === '.' || base === 'source')) {
      const file = words[1];
      if (file && STDIN_FILES.test(file.text)) return { name: base, stdin: base };
      if (file?.node?.type === 'process_substitution') return { name: base, word: { node: file.node, what: `the script ${base} reads` } };
      return undefined;
    }
    if (base === 'ssh') return sshScript(words.slice(i + 1));
    if (base === 'xargs') {
      const found = xargsScript(words.slice(i + 1));
      if (found) return found;
      continue;
    }
    if (C_SCRIPT_COMMANDS.has(base)) {
      for (let j = i + 1; j < words.length; j++) {
        const w = words[j]!;
        if (w.text.startsWith('--command=') && w.node) return { name: base, word: { node: w.node, what: `${base} --command` } };
        if (w.text === '--command' || /^-[A-Za-z]*c$/.test(w.text)) {
          const next = words[j + 1]?.node;
          return next ? { name: base, word: { node: next, what: `${base} -c` } } : undefined;
        }
      }
      // su and runuser without -c start the user's shell, which reads its input (runuser -u user -- cmd runs cmd).
      if ((base === 'su' || base === 'runuser') && !words.slice(i + 1).some((w) => w.text === '--')) return { name: base, stdin: `the shell of ${base}` };
      continue;
    }
    if (base === 'sudo' || base === 'doas') {
      // sudo -s and sudo -i with no command start a shell, which reads its input.
      let j = i + 1;
      let shell = false;
      for (; j < words.length && words[j]!.text.startsWith('-'); j++) {
        const w = words[j]!.text;
        if ((/^-[A-Za-z]*[si]/.test(w) && !w.startsWith('--')) || w === '--shell' || w === '--login') shell = true;
        if (/^-[A-Za-z]*[ugpCDrtTUh]$/.test(w)) j++;
      }
      if (shell && j >= words.length) return { name: base, stdin: `the shell of ${base}` };
      continue;
    }
    if (i > 0 && /^(-s|--shell)$/.test(words[i - 1]!.text)) continue;
    let shell = shellName(word);
    if (shell === undefined) continue;
    let at = i;
    if (shell === 'busybox') {
      const next = words[i + 1] && shellName(words[i + 1]!);
      if (next === undefined || next === 'busybox') continue;
      shell = next;
      at = i + 1;
    }
    return shellScript(shell, words.slice(at + 1));
  }
  return undefined;
}

/** How `child` (on the path) feeds the code of a command under `node`, as `sourceOf` finds it: the construct and the program, or undefined. */
function feedsCode(
  node: ShellNode,
  child: ShellNode | undefined,
  script: string,
  sourceOf: (words: Word[]) => CodeSource | undefined,
): { construct: string; name: string } | undefined {
  if (!child) return undefined;
  const kids = node.children.filter((c): c is ShellNode => c !== null);
  const of = (n: ShellNode) => sourceOf(wordsOf(n, script));
  const stdinProcess = (n: ShellNode) => n.type === 'file_redirect' && n.children.some((c) => c?.type === 'process_substitution') && opens(script, n, '<');
  switch (node.type) {
    case 'pipeline': {
      // A value piped into a command that runs what it reads.
      for (const later of kids.slice(kids.indexOf(child) + 1)) {
        const src = of(later);
        if (src?.stdin) return { construct: `a pipe into ${src.stdin}, which runs what it reads`, name: src.name };
      }
      return undefined;
    }
    case 'heredoc_redirect': {
      // cat <<EOF | sh: the parser puts the rest of the line, the pipe, inside the redirect.
      if (child.type !== 'heredoc_body') return undefined;
      const stages = kids.filter((k) => k.type === 'pipeline');
      while (stages.length > 0) {
        const stage = stages.pop()!;
        if (stage.type === 'pipeline') stages.push(...stage.children.filter((c): c is ShellNode => c !== null));
        const src = of(stage);
        if (src?.stdin) return { construct: `a here-document piped into ${src.stdin}, which runs what it reads`, name: src.name };
      }
      return undefined;
    }
    case 'redirected_statement':
    case 'command': {
      const src = of(node);
      if (!src) return undefined;
      // bash <<EOF … EOF: the here-document is the script.
      if (src.stdin && child.type === 'heredoc_redirect') return { construct: `a here-document read by ${src.stdin} as its script`, name: src.name };
      if (src.stdin && (child.type === 'herestring_redirect' || stdinProcess(child))) return { construct: `the script ${src.stdin} reads`, name: src.name };
      if (src.word && (src.word.node === child || src.more?.includes(child))) return { construct: src.word.what, name: src.name };
      return undefined;
    }
  }
  return undefined;
}

/** Interpreters of another language, by the name of their program, and the option that takes a program (-e, -c, -r). */
const INTERPRETERS: { name: RegExp; language: string; program?: RegExp; withArgument?: RegExp; stdin: boolean }[] = [
  // awk's first argument that is no option is its program (unless -f names a file).
  { name: /^[gmn]?awk$/, language: 'awk', withArgument: /^-[Fv]$/, stdin: false },
  { name: /^g?sed$/, language: 'sed', program: /^(-[A-Za-z]*e|--expression)$/, withArgument: /^-l$/, stdin: false },
  { name: /^perl[\d.]*$/, language: 'perl', program: /^-[A-Za-z]*[eE]$/, withArgument: /^-[IMx]$/, stdin: true },
  { name: /^ruby[\d.]*$/, language: 'ruby', program: /^-[A-Za-z]*e$/, withArgument: /^-[Ir]$/, stdin: true },
  { name: /^python[\d.]*$/, language: 'python', program: /^-[A-Za-z]*c$/, withArgument: /^-[WXm]$/, stdin: true },
  { name: /^(node|nodejs)$/, language: 'javascript', program: /^(-e|--eval|-p|--print)$/, withArgument: /^(-r|--require)$/, stdin: true },
  { name: /^php[\d.]*$/, language: 'php', program: /^-[rRBE]$/, withArgument: /^-[cdz]$/, stdin: true },
];

/**
 * Where a command that runs another language (awk, sed, perl -e, python -c, ruby -e,
 * node -e, php -r) takes its program: the program word(s), or its input when it names no
 * program (python3 - <<EOF). A value there is code in that language.
 */
function programSource(words: Word[]): CodeSource | undefined {
  for (let i = 0; i < words.length; i++) {
    if (words[i]!.text.startsWith('-') || words[i]!.text.includes('=')) continue;
    const name = basename(words[i]!.text);
    const kind = INTERPRETERS.find((k) => k.name.test(name));
    if (!kind) continue;
    const rest = words.slice(i + 1);
    const what = `the program of ${name}`;
    const programs: ShellNode[] = [];
    let j = 0;
    for (; j < rest.length; j++) {
      const w = rest[j]!.text;
      if (w === '--') {
        j++;
        break;
      }
      if (!w.startsWith('-') || w === '-') break;
      if (/^(-f|--file)$/.test(w) || /^--file=/.test(w) || (kind.language === 'awk' && /^-f/.test(w))) return undefined;
      if (kind.language === 'sed' && w.startsWith('--expression=') && rest[j]!.node) programs.push(rest[j]!.node!);
      else if (kind.program?.test(w)) {
        const next = rest[++j]?.node;
        if (next) programs.push(next);
      } else if (kind.withArgument?.test(w)) j++;
      // python -m module: a module runs, not a program given here.
      if (kind.language === 'python' && /^-[A-Za-z]*m$/.test(w)) return undefined;
    }
    if (programs.length > 0) return { name, word: { node: programs[0]!, what }, more: programs.slice(1) };
    const first = rest[j];
    // awk and sed take their program as the first argument that is no option.
    if (!kind.stdin) return first?.node ? { name, word: { node: first.node, what } } : undefined;
    if (!first || STDIN_FILES.test(first.text)) return { name, stdin: name };
    return undefined;
  }
  return undefined;
}

function classify(
  site: PlaceholderSite,
  path: ShellNode[],
  script: string,
  at: number,
  dialect: ShellDialect,
  broken: number | undefined,
  integers: Map<string, string>,
): void {
  const text = (node: ShellNode) => script.slice(node.startIndex, node.endIndex);
  const leaf = path[path.length - 1]!;
  if (path.some((n) => n.type === 'comment')) {
    site.context = 'comment';
    return;
  }
  if (broken !== undefined) {
    site.context = 'refused';
    site.refused = `the command does not parse as ${dialect} (near offset ${broken}), so drbook cannot tell how the shell would read a value here`;
    return;
  }
  // The quoting context: the innermost node that sets one.
  for (let i = path.length - 1; i >= 0; i--) {
    const node = path[i]!;
    if (node.type === 'string' || node.type === 'translated_string') {
      site.context = 'dquote';
      break;
    }
    if (node.type === 'raw_string') {
      site.context = 'single';
      break;
    }
    if (node.type === 'ansi_c_string') {
      site.context = 'ansi';
      break;
    }
    if (node.type === 'heredoc_body') {
      const start = path[i - 1]?.children.find((c) => c?.type === 'heredoc_start');
      site.context = start && /['"\\]/.test(text(start)) ? 'quoted-heredoc' : 'heredoc';
      break;
    }
    if (node.type === 'command_substitution' || node.type === 'process_substitution') break;
  }
  if (site.context === 'quoted-heredoc') return;
  // Backquotes inside "…" or a here-document: the parser does not see into them (or sees
  // \" as a quote), so the shell would split and glob what drbook writes there.
  if (insideNestedBackquotes(path, script, at)) {
    site.context = 'refused';
    site.refused =
      'it stands inside backquotes inside double quotes or a here-document, where drbook cannot tell how the shell reads it: write $( ) instead of the backquotes';
    return;
  }
  // "${{v}}" would become $$ (the shell's pid) and {…}; ${{v}} a $"…" string.
  if (site.context !== 'single' && site.context !== 'ansi' && script[at - 1] === '$' && backslashesBefore(script, at - 1) % 2 === 0) {
    site.context = 'refused';
    site.refused =
      'a $ stands just before it, and the shell would read the two together: write {{name}} alone (drbook puts the value there), or \\$ for a literal $';
    return;
  }
  if (dialect === 'sh' && site.context === 'ansi') {
    site.context = 'refused';
    site.refused = "sh has no $'…' quoting (dash reads it as $ and a quoted string)";
    return;
  }
  if (leaf.type === 'variable_name' && !path.some(isArithmetic(script))) {
    site.context = 'refused';
    site.refused = 'it stands where the shell expects the name of a variable';
    return;
  }
  // A backslash just before the placeholder would escape what drbook writes there.
  if (site.context !== 'single') {
    if (backslashesBefore(script, at) % 2 === 1) {
      site.context = 'refused';
      site.refused = 'a backslash stands just before it and would escape the value';
      return;
    }
  }
  // [ x -gt 0 ] and test compare numbers without evaluating them; only [[ ]] evaluates.
  let singleBracket = false;
  for (let i = 0; i < path.length; i++) {
    const node = path[i]!;
    const child = path[i + 1];
    if (node.type === 'test_command') singleBracket = !opens(script, node, '[[');
    if (node.type === 'binary_expression' && singleBracket) continue;
    if (node.type === 'array' && child && inCompoundSubscript(child, path[i + 2], script)) {
      site.integer = 'an array subscript';
      return;
    }
    const construct = evaluatingConstruct(node, child, script, dialect, integers);
    if (construct === 'not-posix') {
      site.context = 'refused';
      site.refused = 'sh has no [[ … ]] (dash runs it as a command named [[)';
      return;
    }
    if (construct !== undefined) {
      site.integer = construct;
      return;
    }
  }
  // Data to the shell, but code to the program that receives it (awk, sed, python -c…): warned.
  for (let i = 0; i < path.length - 1; i++) {
    const code = feedsCode(path[i]!, path[i + 1], script, programSource);
    if (code) {
      site.program = code;
      return;
    }
  }
}

/**
 * Whether `inner` stands in the subscript of an element of a compound assignment,
 * `a=([i]=x)`: an indexed array evaluates `i` as arithmetic. The parser reads the element as
 * a concatenation of `[`, the subscript's parts, and `]=x`.
 */
function inCompoundSubscript(element: ShellNode, inner: ShellNode | undefined, script: string): boolean {
  if (element.type !== 'concatenation' || !inner || !script.startsWith('[', element.startIndex)) return false;
  const close = /\]\+?=/.exec(script.slice(element.startIndex, element.endIndex));
  return close !== null && inner.startIndex < element.startIndex + close.index;
}

/**
 * `$(( ))` read by the parser as `$( ( ) )`, a command substitution of a subshell: it does so
 * inside a here-document body. The shell evaluates it as arithmetic.
 */
const misreadArithmetic = (node: ShellNode, script: string) => node.type === 'command_substitution' && opens(script, node, '$((');

/** Whether a node's text starts with `prefix` (the parser may start a node at the blank before it). */
function opens(script: string, node: ShellNode, prefix: string): boolean {
  let i = node.startIndex;
  while (i < node.endIndex && (script[i] === ' ' || script[i] === '\t')) i++;
  return script.startsWith(prefix, i);
}

function backslashesBefore(script: string, at: number): number {
  let n = 0;
  while (at - n - 1 >= 0 && script[at - n - 1] === '\\') n++;
  return n;
}

/**
 * Whether `at` is inside backquotes inside a "…" string or a here-document body in a way the
 * parser misreads: backquotes it left as text (it does in a here-document), or backquotes in
 * a string whose text holds \" or \\, which the shell unescapes before it reads the command.
 */
function insideNestedBackquotes(path: ShellNode[], script: string, at: number): boolean {
  const outer = path.findIndex((n) => n.type === 'string' || n.type === 'heredoc_body');
  if (outer < 0) return false;
  const parsed = path.slice(outer + 1).find((n) => n.type === 'command_substitution' && opens(script, n, '`'));
  if (parsed) return /\\["\\]/.test(script.slice(parsed.startIndex, parsed.endIndex));
  // Backquotes the parser left as text: an odd number of unescaped ones before `at`.
  let open = false;
  for (let i = path[outer]!.startIndex; i < at; i++) {
    if (script[i] === '\\') i++;
    else if (script[i] === '`') open = !open;
  }
  return open;
}

const isArithmetic = (script: string) => (node: ShellNode) =>
  node.type === 'arithmetic_expansion' ||
  misreadArithmetic(node, script) ||
  node.type === 'subscript' ||
  (node.type === 'compound_statement' && opens(script, node, '(('));

/** The construct of `node` that evaluates what its child `child` (on the path) holds. */
function evaluatingConstruct(
  node: ShellNode,
  child: ShellNode | undefined,
  script: string,
  dialect: ShellDialect,
  integers: Map<string, string>,
): string | 'not-posix' | undefined {
  const text = (n: ShellNode) => script.slice(n.startIndex, n.endIndex);
  const kids = node.children.filter((c): c is ShellNode => c !== null);
  if (misreadArithmetic(node, script)) return '$(( ))';
  switch (node.type) {
    case 'arithmetic_expansion':
      return '$(( ))';
    case 'subscript':
      return 'an array subscript';
    case 'expansion': {
      // ${x:offset:length}: both are arithmetic (a `:` alone, not :- := :+ :?).
      const colon = kids.findIndex((k) => k.type === ':');
      return colon >= 0 && child !== undefined && kids.indexOf(child) > colon ? 'a ${x:offset:length} substring' : undefined;
    }
    case 'variable_assignment': {
      const name = kids.find((k) => k.type === 'variable_name');
      if (name && name !== child && CODE_VARIABLES.test(text(name))) return `an assignment to ${text(name)}, which bash expands as code`;
      const why = name && name !== child ? integers.get(text(name)) : undefined;
      return why ? `an assignment to ${text(name!)}, ${why}` : undefined;
    }
    case 'compound_statement':
      return opens(script, node, '((') ? '(( ))' : undefined;
    case 'c_style_for_statement':
      return child && child.type !== 'do_group' && child.type !== 'compound_statement' ? 'for (( ))' : undefined;
    case 'test_command': {
      const double = opens(script, node, '[[');
      if (double && dialect === 'sh') return 'not-posix';
      return undefined;
    }
    case 'binary_expression': {
      if (!kids.some((k) => TEST_INTEGER_OPERATORS.has(text(k)))) return undefined;
      return '[[ … -eq|-ne|-lt|-le|-gt|-ge … ]]';
    }
    case 'unary_expression':
      return kids.some((k) => text(k) === '-v') ? 'a -v test' : undefined;
    case 'unset_command':
      return 'unset';
    case 'declaration_command': {
      const flags = kids.filter((k) => k !== child && /^[-+][A-Za-z]*[in]/.test(text(k)));
      if (flags.length > 0) return `${text(kids[0]!)} ${text(flags[0]!)}`;
      // A name (declare {{v}}=1): a subscript in it, a[$(cmd)], is evaluated.
      if (child && child !== kids[0] && child.type !== 'variable_assignment' && !/^[-+]/.test(text(child)))
        return `${text(kids[0]!)} (its arguments name variables)`;
      return undefined;
    }
    case 'file_redirect': {
      // >&WORD and <&WORD: bash expands WORD again when it is no number (2$(cmd) runs cmd).
      const op = kids.find((k) => k.type !== 'file_descriptor');
      const target = op ? text(op) : '';
      return (target === '>&' || target === '<&') && child !== op ? `the target of ${target}` : undefined;
    }
    case 'pipeline':
    case 'heredoc_redirect':
    case 'redirected_statement':
      return feedsCode(node, child, script, codeSource)?.construct;
    case 'command': {
      const name = kids.find((k) => k.type === 'command_name');
      if (!name || name === child) return undefined;
      const word = unquoted(text(name)).replace(/^.*\//, '');
      // An argument: what stands before the command (X=… cmd) and its redirections are data to eval, read, alias….
      const argument = child !== undefined && child.type !== 'variable_assignment' && !child.type.endsWith('_redirect');
      if (argument && EVALUATING_COMMANDS[word]) return EVALUATING_COMMANDS[word];
      const run = commandWord(node, script);
      if (argument && run && run.word !== word && EVALUATING_COMMANDS[run.word]) return EVALUATING_COMMANDS[run.word];
      // Only the script after -c is code; the arguments after it ($0, $1…) are data.
      const code = feedsCode(node, child, script, codeSource);
      if (code) return code.construct;
      const args = kids.filter((k) => k !== name).map((k) => unquoted(text(k)));
      if ((word === 'test' || word === '[' || word === 'printf') && args.includes('-v')) return `${word} -v`;
      if (run?.word === 'env' && child && CODE_VARIABLES.test(unquoted(text(child))))
        return `${unquoted(text(child)).split('=')[0]} of the command env runs, which bash expands as code`;
      return undefined;
    }
  }
  // A binary expression only evaluates in [[ ]]: `[ x -gt 0 ]` compares strings as numbers without evaluating.
  return undefined;
}

/** Whether every string a var's pattern admits is made of digits and `-` (an integer). */
export function integerOnlyPattern(pattern: string | undefined): boolean {
  if (pattern === undefined) return false;
  const m = /^\^(.*)\$$/s.exec(pattern);
  if (!m) return false;
  const body = m[1]!;
  const token = /\\d|\[(?:\d(?:-\d)?)+\]|\d|-|\(\?:|\(|\)|\||[?*+]\??|\{\d+(?:,\d*)?\}\??/y;
  let depth = 0;
  let i = 0;
  while (i < body.length) {
    token.lastIndex = i;
    const t = token.exec(body);
    if (!t) return false;
    if (t[0] === '(' || t[0] === '(?:') depth++;
    else if (t[0] === ')') {
      if (--depth < 0) return false;
    } else if (t[0] === '|' && depth === 0) return false;
    i = token.lastIndex;
  }
  return depth === 0;
}

/** The value an integer context accepts at run time, whatever the pattern said. */
const INTEGER_VALUE = /^[-0-9]+$/;

/**
 * Why a command cannot start: a value missing, or one that cannot go where it stands (in
 * the command, or in the step's `env:`); undefined when it can.
 */
export function cannotRun(
  template: string,
  sites: readonly PlaceholderSite[],
  lookup: Lookup,
  has: (name: string) => boolean,
  stepEnv?: Readonly<Record<string, unknown>>,
): string | undefined {
  const missing = templateNames(template).filter((n) => !has(n));
  if (missing.length > 0) return `cannot run: no value for ${missing.map((n) => `{{${n}}}`).join(', ')}`;
  const unfit = unfitValue(sites, lookup) ?? unfitEnv(stepEnv, lookup);
  return unfit === undefined ? undefined : `cannot run: ${unfit}`;
}

/**
 * The most one environment variable (`NAME=value`) may hold: Linux refuses a longer one
 * (MAX_ARG_STRLEN, 32 pages) with E2BIG, and every value drbook passes travels as one.
 */
export const ENV_VALUE_LIMIT = 128 * 1024;

function sizeProblem(what: string, entry: string): string | undefined {
  const bytes = utf8Length(entry) + 1;
  if (bytes <= ENV_VALUE_LIMIT) return undefined;
  return `${what} is ${Math.ceil(bytes / 1024)} KB, more than the ${ENV_VALUE_LIMIT / 1024} KB one environment variable can hold: put the value in a file and give the command its path`;
}

/** Why a step's `env:` cannot be given to its command (a NUL byte, a value too long), or undefined. */
function unfitEnv(stepEnv: Readonly<Record<string, unknown>> | undefined, lookup: Lookup): string | undefined {
  for (const [key, raw] of Object.entries(stepEnv ?? {})) {
    const value = renderTemplate(String(raw), lookup);
    const from = templateNames(String(raw));
    const source = from.length > 0 ? ` (from ${from.map((n) => `{{${n}}}`).join(', ')})` : '';
    if (value.includes('\0')) return `env ${key}${source} holds a NUL byte, which no command can receive: remove it from the value`;
    const tooLong = sizeProblem(`env ${key}${source}`, `${key}=${value}`);
    if (tooLong !== undefined) return tooLong;
  }
  return undefined;
}

function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c < 0xdc00) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

/** Why a value cannot go where its placeholder stands (a NUL byte, a non-integer in arithmetic), or undefined. */
function unfitValue(sites: readonly PlaceholderSite[], lookup: Lookup): string | undefined {
  for (const site of sites) {
    if (site.context === 'comment') continue;
    const value = lookup(site.name);
    if (value === undefined) continue;
    if (value.includes('\0')) return `{{${site.name}}} holds a NUL byte, which no command can receive`;
    // The value travels to the shell in one environment variable.
    const tooLong = sizeProblem(`{{${site.name}}}`, `${envName(site.name)}=${value}`);
    if (tooLong !== undefined) return tooLong;
    if (site.integer !== undefined && !INTEGER_VALUE.test(value)) return `{{${site.name}}} stands in ${site.integer} and its value is not an integer`;
  }
  return undefined;
}

/** Why a site is refused (for `name`, whose pattern is given), or undefined. */
export function siteRefusal(site: PlaceholderSite, pattern: string | undefined): string | undefined {
  const ph = `{{${site.name}}}`;
  const viaEnv = `set it in the step's env: (env: { VALUE: "${ph}" }) and use "$VALUE" in run`;
  if (site.context === 'quoted-heredoc') {
    return `${ph} stands in a quoted here-document (<<'EOF'), which expands nothing: write the delimiter unquoted (<<EOF) or ${viaEnv}`;
  }
  if (site.context === 'refused') return `${ph} cannot be substituted here: ${site.refused ?? 'unknown context'}; ${viaEnv}`;
  if (site.integer !== undefined && !integerOnlyPattern(pattern)) {
    const integer = `give the var an integer pattern (pattern: '^-?\\d+$' or narrower)`;
    const head = `${ph} stands in ${site.integer}, where the shell evaluates a value as code`;
    // A script another shell reads (sudo bash <<EOF, ssh host bash -s, … | sh): the environment
    // may not reach it (sudo, ssh), but its arguments do.
    if (/-c$|--command$|^a pipe into xargs/.test(site.integer))
      return `${head}: pass it as an argument after the script instead (sh -c '… "$1" …' _ ${ph}, xargs -I{} sh -c '… "$1" …' _ {}), or ${integer}`;
    if (/^(a here-document (read by|piped into)|a pipe into|the script )/.test(site.integer))
      return `${head}: pass it to the script as an argument instead, bash -s -- ${ph} <<'EOF' with "$1" in the quoted here-document (through ssh: ssh host bash -s -- "$(printf %q ${ph})" <<'EOF'), or ${integer}`;
    // >&"$V" is read again too: only a number (or a file after >) stays data.
    if (site.integer.startsWith('the target of ')) return `${head}: ${integer}, or redirect to a file with > "${ph}" 2>&1`;
    return `${head}: ${integer}, or ${viaEnv} and check it first`;
  }
  return undefined;
}

/** How to hand a value to each language as data, not as part of its program. */
const PROGRAM_FIXES: Record<string, (ph: string) => string> = {
  awk: (ph) => `pass it as data instead, awk -v v=${ph} '… v …' (awk reads backslash escapes in -v), or env: { V: "${ph}" } and ENVIRON["V"] in the program`,
  sed: (ph) =>
    `sed cannot take a value as data (GNU sed runs a command the value adds with e): keep the program fixed, match with grep -F -e ${ph}, or replace with awk and ENVIRON["V"] (env: { V: "${ph}" })`,
  perl: (ph) => `pass it as data instead, perl -e '… $ARGV[0] …' ${ph}, or env: { V: "${ph}" } and $ENV{V} in the program`,
  ruby: (ph) => `pass it as data instead, ruby -e '… ARGV[0] …' ${ph}, or env: { V: "${ph}" } and ENV["V"] in the program`,
  python: (ph) => `pass it as data instead, python3 -c '… sys.argv[1] …' ${ph}, or env: { V: "${ph}" } and os.environ["V"] in the program`,
  javascript: (ph) => `pass it as data instead, node -e '… process.argv[1] …' ${ph}, or env: { V: "${ph}" } and process.env.V in the program`,
  php: (ph) => `pass it as data instead, php -r '… $argv[1] …' ${ph}, or env: { V: "${ph}" } and getenv("V") in the program`,
};

/** The warning for a value that is data to the shell but code to the program it is given to (awk, sed, python -c…), or undefined. */
export function programWarning(site: PlaceholderSite): string | undefined {
  if (!site.program) return undefined;
  const ph = `{{${site.name}}}`;
  const { construct, name } = site.program;
  const language = INTERPRETERS.find((k) => k.name.test(name))?.language ?? name;
  const fix = PROGRAM_FIXES[language]?.(ph) ?? 'pass it as an argument or in env: instead';
  return `${ph} stands in ${construct}, which runs it as ${language} code (a value there can run commands): ${fix}`;
}

/** The script that runs: each placeholder becomes a reference to its environment variable. */
export function rewriteScript(text: string, sites: readonly PlaceholderSite[]): string {
  let out = '';
  let last = 0;
  for (const site of [...sites].sort((a, b) => a.offset - b.offset)) {
    out += text.slice(last, site.offset);
    out += reference(site);
    last = site.offset + site.length;
  }
  return out + text.slice(last);
}

function reference(site: PlaceholderSite): string {
  const ref = `\${${envName(site.name)}}`;
  const arithmetic = site.integer !== undefined && /\(\(|subscript/.test(site.integer);
  switch (site.context) {
    case 'word':
      return arithmetic ? ref : `"${ref}"`;
    case 'dquote':
    case 'heredoc':
      return ref;
    case 'single':
      return `'"${ref}"'`;
    case 'ansi':
      return `'"${ref}"$'`;
    default:
      return `{{${site.name}}}`;
  }
}

/**
 * What a finished command's journal event says of it, for the walk and the undo alike.
 * `flags` (timed out, interrupted) sit between `ok` and `reason`, as they always have.
 */
export function commandOutcome(
  result: Pick<CommandResult, 'exitCode' | 'signal' | 'durationMs' | 'tail' | 'outputBytes'>,
  failure: string | undefined,
  redactor: Redactor,
  flags: { timedOut?: true; interrupted?: true } = {},
): {
  exitCode: number | null;
  signal: string | null;
  durationMs: number;
  ok: boolean;
  timedOut?: true;
  interrupted?: true;
  reason?: string;
  tail: string;
  outputBytes: number;
} {
  return {
    exitCode: result.exitCode,
    signal: result.signal,
    durationMs: Math.round(result.durationMs),
    ok: failure === undefined,
    ...flags,
    ...(failure ? { reason: failure } : {}),
    tail: redactor.redact(result.tail),
    outputBytes: result.outputBytes,
  };
}

/** What every run of a step's command asks the executor, whether the walk or the undo runs it. */
export function stepRequest(
  runbook: Pick<Runbook, 'shell'>,
  step: Pick<Step, 'id' | 'env' | 'timeoutMs'>,
  run: { attempt: number; command: string; cwd: string; sites: readonly PlaceholderSite[]; lookup: Lookup; logFile?: string; redactor: Redactor },
): CommandRequest {
  return {
    step: step.id,
    attempt: run.attempt,
    command: run.command,
    shell: runbook.shell,
    cwd: run.cwd,
    env: commandEnv(step.env, run.sites, run.lookup),
    ...(step.timeoutMs !== undefined ? { timeoutMs: step.timeoutMs } : {}),
    ...(run.logFile !== undefined ? { logFile: run.logFile } : {}),
    redactor: run.redactor,
  };
}

/** A command's environment, for a step's run and its undo alike: the step's `env:` values rendered, then its script's own. */
export function commandEnv(stepEnv: Readonly<Record<string, unknown>> | undefined, sites: readonly PlaceholderSite[], lookup: Lookup): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(stepEnv ?? {})) env[key] = renderTemplate(String(value), lookup);
  return { ...env, ...scriptEnv(sites, lookup) };
}

/** The environment a rewritten script needs: DRBOOK_V_<name> for each placeholder with a value. */
export function scriptEnv(sites: readonly PlaceholderSite[], lookup: Lookup): Record<string, string> {
  const env: Record<string, string> = {};
  for (const site of sites) {
    if (site.context === 'comment') continue;
    const value = lookup(site.name);
    if (value !== undefined) env[envName(site.name)] = value;
  }
  return env;
}

/**
 * The command as the operator reads it: a value in a plain word shown as one shell word
 * (as the shell will see it), elsewhere as it is; a name with no value stays `{{name}}`.
 */
export function renderShown(text: string, sites: readonly PlaceholderSite[], lookup: Lookup): string {
  let out = '';
  let last = 0;
  for (const site of [...sites].sort((a, b) => a.offset - b.offset)) {
    out += text.slice(last, site.offset);
    const value = site.context === 'comment' ? undefined : lookup(site.name);
    out +=
      value === undefined
        ? text.slice(site.offset, site.offset + site.length)
        : site.context === 'word' && site.integer === undefined
          ? shellWord(value)
          : value;
    last = site.offset + site.length;
  }
  return out + text.slice(last);
}
