import { Ctx, shellContexts } from './shell-context.js';
import { snakeName } from './slug.js';

/** Environment variables every shell has: `$HOME` in a doc is not a value to ask for. */
export const KNOWN_ENV = new Set(
  (
    'HOME PATH USER LOGNAME SHELL PWD OLDPWD TERM LANG LANGUAGE TMPDIR HOSTNAME HOSTTYPE OSTYPE MACHTYPE UID EUID PPID ' +
    'RANDOM SECONDS LINENO BASH BASH_SOURCE BASH_VERSION BASH_REMATCH BASHPID IFS PS1 PS2 PS4 EDITOR VISUAL PAGER DISPLAY ' +
    'SSH_AUTH_SOCK SSH_CLIENT SSH_CONNECTION SSH_TTY REPLY OPTARG OPTIND PIPESTATUS FUNCNAME GROUPS DIRSTACK SHLVL MAIL ' +
    'TZ COLUMNS LINES SUDO_USER SUDO_UID SUDO_GID KUBECONFIG GOPATH JAVA_HOME CI HISTFILE HISTSIZE CDPATH MANPATH ' +
    'LD_LIBRARY_PATH PYTHONPATH NODE_OPTIONS'
  ).split(' '),
);
export const KNOWN_PREFIX = /^(?:LC_|XDG_|BASH_|DRBOOK_|GITHUB_|RUNNER_)/;

/** One change made to a command: at `offset` of the original, `original` became `replacement`. */
export interface Substitution {
  offset: number;
  original: string;
  replacement: string;
}

export interface PlaceholderUse {
  /** The var name (snake_case). */
  name: string;
  /** As written in the doc: `<new-host>`, `${NEW_HOST}`, `$NEW_HOST`. */
  token: string;
  /** For `$NAME` forms: the environment variable the var supplies. */
  envName?: string;
}

export interface ConvertedCommand {
  run: string;
  /** Step env entries: NAME → `{{var}}`. */
  env: Record<string, string>;
  substitutions: Substitution[];
  uses: PlaceholderUse[];
  /** What could not be converted, for `# TODO` comments. */
  notes: string[];
}

const ANGLE = /<([A-Za-z][A-Za-z0-9_.-]*(?: [A-Za-z0-9_.-]+)*)>/g;
const DOLLAR = /\$\{([A-Z][A-Z0-9_]*)\}|\$([A-Z][A-Z0-9_]*)(?![A-Za-z0-9_])/g;
const EXPANDING = new Set<number>([Ctx.plain, Ctx.double, Ctx.heredoc]);

/**
 * Turns the placeholders of a command into drbook vars, changing nothing else:
 * - `<name>` in a plain word, in double quotes or in an unquoted here-document becomes
 *   `{{name}}`: drbook's templating passes the value through the environment wherever it
 *   stands, so it never becomes code;
 * - `$NAME` / `${NAME}` stay as written and the step's env gets `NAME: '{{name}}'`: the shell
 *   reads the value from the environment exactly as the doc meant.
 * Single quotes, quoted here-documents, comments and escaped `\$` are literal text.
 * `assigned`: names the docs give a value to (those are the script's own variables).
 * `extra`: other changes to make (values the docs assign that became vars), apart from these.
 */
export function convertCommand(command: string, assigned: ReadonlySet<string>, extra: readonly Substitution[] = []): ConvertedCommand {
  const ctx = shellContexts(command);
  const substitutions: Substitution[] = [...extra];
  const overlaps = (at: number, end: number) => extra.some((s) => at < s.offset + s.original.length && s.offset < end);
  const uses: PlaceholderUse[] = [];
  const env: Record<string, string> = {};
  const notes: string[] = [];
  const sameCtx = (start: number, end: number) => {
    for (let k = start + 1; k < end; k++) if (ctx[k] !== ctx[start]) return false;
    return true;
  };

  for (const m of command.matchAll(ANGLE)) {
    const at = m.index;
    const end = at + m[0].length;
    // `<<EOF>`, `cmd <in>out`-like redirections next to a word, and `<(…)` are not placeholders.
    if (command[at - 1] === '<' || /[A-Za-z0-9_]/.test(command[end] ?? '')) continue;
    if (!sameCtx(at, end) || overlaps(at, end)) continue;
    const here = ctx[at]!;
    const name = snakeName(m[1]!);
    if (here === Ctx.single || here === Ctx.quotedHeredoc) {
      notes.push(`${m[0]} stands inside single quotes or a quoted here-document: left as written, replace it by hand`);
      continue;
    }
    if (!EXPANDING.has(here)) continue;
    substitutions.push({ offset: at, original: m[0], replacement: `{{${name}}}` });
    uses.push({ name, token: m[0] });
  }

  for (const m of command.matchAll(DOLLAR)) {
    const envName = m[1] ?? m[2]!;
    if (!EXPANDING.has(ctx[m.index]!) || !sameCtx(m.index, m.index + m[0].length)) continue;
    if (assigned.has(envName) || KNOWN_ENV.has(envName) || KNOWN_PREFIX.test(envName)) continue;
    const name = snakeName(envName);
    env[envName] = `{{${name}}}`;
    uses.push({ name, token: m[0], envName });
  }

  substitutions.sort((a, b) => a.offset - b.offset);
  let run = '';
  let last = 0;
  for (const s of substitutions) {
    run += command.slice(last, s.offset) + s.replacement;
    last = s.offset + s.original.length;
  }
  run += command.slice(last);
  return { run, env, substitutions, uses, notes };
}

/** The original command back from a converted one: the inverse the property test checks. */
export function revertSubstitutions(run: string, substitutions: readonly Substitution[]): string {
  let out = '';
  let last = 0;
  let shift = 0;
  for (const s of substitutions) {
    const at = s.offset + shift;
    out += run.slice(last, at) + s.original;
    last = at + s.replacement.length;
    shift += s.replacement.length - s.original.length;
  }
  return out + run.slice(last);
}
