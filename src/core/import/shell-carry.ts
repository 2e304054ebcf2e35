/**
 * What a code block of a doc leaves behind in the shell for the blocks after it, read with
 * the bash parser. A doc is read as one terminal session: a variable set in one block, a
 * `cd`, a `set -u` or a function still hold in the next. Each drbook step runs in a shell of
 * its own, so an import that kept the blocks as they are would change what they mean
 * (`rm -rf $STAGING/*` with STAGING set two sections earlier runs as `rm -rf /*`).
 */
import { posix } from 'node:path';
import type { ShellNode, ShellParse } from '../shell-template.js';
import { KNOWN_ENV, KNOWN_PREFIX, type Substitution } from './placeholders.js';
import { snakeName } from './slug.js';

export interface Assignment {
  name: string;
  /** Offset of the whole assignment (or of the command that assigns) in the block. */
  offset: number;
  /** As written, for messages (`STAGING=/srv/x`, `read -r HOST`). */
  text: string;
  /** False inside a subshell, a pipeline, a function or for `local`: gone after the statement. */
  escapes: boolean;
  exported: boolean;
  /** The value as written (offsets in the block) and, when it is plain text, what it is. */
  value?: { start: number; end: number; literal?: string };
}

export interface CdOp {
  text: string;
  /** The directory when written as plain text; undefined for `cd`, `cd -`, `cd "$X"`, `popd`. */
  target?: string;
  /** Inside an if, a loop or a case: may or may not run. */
  conditional: boolean;
}

export interface BlockShell {
  assignments: Assignment[];
  /** `$NAME`, `${NAME…}` and names in arithmetic, in order. */
  expansions: { name: string; offset: number }[];
  /** Names `export NAME` marks for the environment (with or without a value). */
  exported: Map<string, string>;
  cds: CdOp[];
  /** Commands that change the shell itself (`set -u`, `source env.sh`, `umask 077`), as written. */
  changes: string[];
  functions: Map<string, string>;
  calls: Set<string>;
}

/** Where a subshell starts: what is set inside is gone after it. */
const SUBSHELLS = new Set(['subshell', 'command_substitution', 'process_substitution', 'pipeline', 'function_definition']);
const CONDITIONAL = new Set(['if_statement', 'while_statement', 'for_statement', 'c_style_for_statement', 'case_statement', 'until_statement']);
/** `set` options drbook already gives every command (bash -e -o pipefail). */
const SET_ALREADY = /^-(?:e|o|eo|oe)$|^(?:pipefail|errexit)$/;
const STATE_COMMANDS = new Set(['set', 'shopt', 'umask', 'ulimit', 'source', '.', 'alias', 'unalias', 'trap', 'enable', 'hash']);

export function analyzeBlock(script: string, parse: ShellParse): BlockShell {
  const out: BlockShell = { assignments: [], expansions: [], exported: new Map(), cds: [], changes: [], functions: new Map(), calls: new Set() };
  const text = (n: ShellNode) => script.slice(n.startIndex, n.endIndex);
  const kids = (n: ShellNode) => n.children.filter((c): c is ShellNode => c !== null);

  const visit = (node: ShellNode, escapes: boolean, conditional: boolean): void => {
    const inner = escapes && !SUBSHELLS.has(node.type);
    const cond = conditional || CONDITIONAL.has(node.type);
    switch (node.type) {
      case 'function_definition': {
        const name = kids(node).find((k) => k.type === 'word');
        if (name && escapes) out.functions.set(text(name), text(node).split('\n')[0]!);
        break;
      }
      case 'variable_assignment': {
        const [target, , ...rest] = kids(node);
        const nameNode = target?.type === 'subscript' ? kids(target).find((k) => k.type === 'variable_name') : target;
        if (nameNode?.type === 'variable_name') {
          const value = rest[0];
          out.assignments.push({
            name: text(nameNode),
            offset: node.startIndex,
            text: text(node),
            escapes,
            exported: false,
            ...(value ? { value: { start: value.startIndex, end: value.endIndex, ...literalOf(value, text) } } : {}),
          });
          if (target?.type === 'subscript') for (const k of kids(target).slice(1)) visit(k, inner, cond);
          for (const k of rest) visit(k, inner, cond);
          return;
        }
        break;
      }
      case 'declaration_command': {
        const parts = kids(node);
        const keyword = parts[0]?.type ?? '';
        const flags = parts.filter((p) => p.type === 'word' && text(p).startsWith('-')).map((p) => text(p));
        const exported = keyword === 'export' || flags.some((f) => /^-[a-wyzA-Z]*x/.test(f));
        const stays = keyword !== 'local' && escapes;
        for (const part of parts) {
          if (part.type === 'variable_name') {
            if (exported) out.exported.set(text(part), text(node));
            else out.assignments.push({ name: text(part), offset: node.startIndex, text: text(node), escapes: stays, exported: false });
          } else if (part.type === 'variable_assignment') {
            const before = out.assignments.length;
            visit(part, stays, cond);
            const added = out.assignments[before];
            if (added) {
              added.exported = exported;
              added.text = text(node);
              if (exported && stays) out.exported.set(added.name, text(node));
            }
          } else visit(part, inner, cond);
        }
        return;
      }
      case 'for_statement': {
        const variable = kids(node).find((k) => k.type === 'variable_name');
        if (variable) out.assignments.push({ name: text(variable), offset: variable.startIndex, text: `for ${text(variable)} in …`, escapes, exported: false });
        for (const k of kids(node)) if (k !== variable) visit(k, inner, cond);
        return;
      }
      case 'unset_command':
        for (const k of kids(node)) if (k.type !== 'variable_name') visit(k, inner, cond);
        return;
      case 'command':
        command(node, escapes, cond);
        break;
      case 'variable_name':
        out.expansions.push({ name: text(node), offset: node.startIndex });
        return;
    }
    for (const child of kids(node)) {
      // `X=1 cmd`: the assignment holds for cmd only.
      if (node.type === 'command' && child.type === 'variable_assignment') {
        for (const k of kids(child).slice(2)) visit(k, inner, cond);
        continue;
      }
      visit(child, inner, cond);
    }
  };

  const command = (node: ShellNode, escapes: boolean, conditional: boolean) => {
    const parts = kids(node);
    const nameNode = parts.find((k) => k.type === 'command_name');
    if (!nameNode) return;
    const name = unquote(text(nameNode));
    out.calls.add(name);
    const args = parts.slice(parts.indexOf(nameNode) + 1).filter((k) => !/redirect/.test(k.type));
    const words = args.map((a) => text(a));
    const assign = (word: ShellNode) => out.assignments.push({ name: text(word), offset: node.startIndex, text: text(node), escapes, exported: false });
    if (name === 'read') {
      // `read -r -p "Host: " HOST PORT`: the names are the words after the options.
      for (let k = 0; k < args.length; k++) {
        const w = words[k]!;
        if (/^-/.test(w)) {
          if (/[pdtnNui]$/.test(w)) k++;
          else if (/a$/.test(w) && args[k + 1]) assign(args[++k]!);
          continue;
        }
        if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(w)) assign(args[k]!);
      }
    } else if ((name === 'mapfile' || name === 'readarray') && args.length > 0 && /^[A-Za-z_]\w*$/.test(words[words.length - 1]!)) {
      assign(args[args.length - 1]!);
    } else if (name === 'printf' && words[0] === '-v' && args[1]) {
      assign(args[1]);
    } else if ((name === 'cd' || name === 'pushd' || name === 'popd') && escapes) {
      const dirs = words.filter((w) => !/^-[LPe@]+$/.test(w));
      const target = name !== 'popd' && dirs.length === 1 && /^[^\s$`\\~'"*?[\]{}<>|&;()]+$/.test(dirs[0]!) && dirs[0] !== '-' ? dirs[0] : undefined;
      out.cds.push({ text: text(node), ...(target ? { target } : {}), conditional });
    } else if (STATE_COMMANDS.has(name) && escapes) {
      // drbook gives every command `bash -e -o pipefail` already: those say nothing new.
      if (name === 'set' && (words.length === 0 || words.every((w) => SET_ALREADY.test(w)))) return;
      out.changes.push(text(node));
    }
  };

  visit(parse(script), true, false);
  return out;
}

/** A value written as plain text: what it is, without its quotes. */
function literalOf(value: ShellNode, text: (n: ShellNode) => string): { literal?: string } {
  const raw = text(value);
  const plain = /^[^\s$`\\~'"{}*?[\]<>|&;()]+$/;
  if ((value.type === 'word' || value.type === 'number') && plain.test(raw)) return { literal: raw };
  if (value.type === 'raw_string' && !/[\n<>]/.test(raw)) return { literal: raw.slice(1, -1) };
  if (value.type === 'string' && value.children.every((c) => c === null || c.type === '"' || c.type === 'string_content')) {
    const inner = raw.slice(1, -1);
    if (!/[\\$`\n<>]/.test(inner)) return { literal: inner };
  }
  return {};
}

function unquote(word: string): string {
  return word.replace(/\\(.)/gs, '$1').replace(/['"]/g, '');
}

/** Where a `cd` leaves the next block: a directory, or why it cannot be known. */
export type DirState = { dir: string } | { unknown: string } | undefined;

export function dirAfter(start: DirState, cds: readonly CdOp[]): DirState {
  let state = start;
  for (const cd of cds) {
    if (cd.conditional || cd.target === undefined) state = { unknown: cd.text };
    else if (cd.target.startsWith('/')) state = { dir: posix.normalize(cd.target) };
    else if (state && 'dir' in state) state = { dir: posix.join(state.dir, cd.target) };
    else state = { unknown: cd.text };
  }
  return state;
}

export interface CarryBlock {
  command: string;
  /** `doc.md:12`, for messages. */
  where: string;
}

export interface CarryStep {
  env: Record<string, string>;
  uses: { name: string; token: string }[];
  substitutions: Substitution[];
  todos: string[];
  cwd?: string;
}

export interface CarryVar {
  name: string;
  default?: string;
  prompt: string;
  /** The `# TODO` above the var. */
  note: string;
}

const MAX_SHOWN = 80;
const shown = (text: string) => {
  const line = text.replace(/\s*\n\s*/g, ' ');
  return line.length > MAX_SHOWN ? `${line.slice(0, MAX_SHOWN - 3)}...` : line;
};

/**
 * What each block needs from the blocks around it, and how the draft gives it:
 * - a variable set in one block and expanded in another (before or after it) becomes a
 *   var: with the value as default when every assignment is the same plain text (the
 *   assignments then take their value from the var), otherwise asked for, with a TODO;
 *   an exported one reaches every later step through `env:`;
 * - a `cd` becomes `cwd:` on the later steps when the directory is known, a TODO otherwise;
 * - `set -u`, `source`, `umask`… and functions, which no later step has: TODOs.
 */
export function planCarry(blocks: readonly CarryBlock[], parse: ShellParse): { steps: CarryStep[]; vars: Map<string, CarryVar> } {
  const shells = blocks.map((b) => analyzeBlock(b.command, parse));
  const steps: CarryStep[] = blocks.map(() => ({ env: {}, uses: [], substitutions: [], todos: [] }));
  const vars = new Map<string, CarryVar>();
  const give = (j: number, envName: string, name: string) => {
    if (steps[j]!.env[envName] !== undefined) return;
    steps[j]!.env[envName] = `{{${name}}}`;
    steps[j]!.uses.push({ name, token: `$${envName}` });
  };

  // The names a block expands before it sets them itself: those come from outside.
  const needs = shells.map((sh) => {
    const names = new Set<string>();
    for (const e of sh.expansions) if (!sh.assignments.some((a) => a.name === e.name && a.offset < e.offset)) names.add(e.name);
    return names;
  });
  const sites = new Map<string, { block: number; assignment: Assignment }[]>();
  shells.forEach((sh, block) => {
    for (const assignment of sh.assignments) sites.set(assignment.name, [...(sites.get(assignment.name) ?? []), { block, assignment }]);
  });
  const exportedIn = (envName: string) => shells.findIndex((sh) => sh.exported.has(envName));

  for (const [envName, at] of sites) {
    const users = needs.flatMap((n, j) => (n.has(envName) && at.some((s) => s.block !== j) ? [j] : []));
    const firstExport = exportedIn(envName);
    const later = firstExport === -1 ? [] : blocks.map((_, j) => j).filter((j) => j > firstExport && !users.includes(j));
    if (users.length === 0 && later.length === 0) continue;
    const first = at[0]!;
    const where = blocks[first.block]!.where;
    if (KNOWN_ENV.has(envName) || KNOWN_PREFIX.test(envName)) {
      steps[first.block]!.todos.push(
        `${envName} is changed here (${shown(first.assignment.text)}) for the commands after it, but each step runs in its own shell: repeat it in the steps that need it, or merge them into this one`,
      );
      continue;
    }
    const name = snakeName(envName);
    const literals = new Set(at.map((s) => (s.assignment.escapes ? s.assignment.value?.literal : undefined)));
    const literal = literals.size === 1 ? [...literals][0] : undefined;
    if (literal !== undefined) {
      // One plain value: the var holds it, and every block reads it from the var.
      for (const s of at) {
        const v = s.assignment.value!;
        steps[s.block]!.substitutions.push({ offset: v.start, original: blocks[s.block]!.command.slice(v.start, v.end), replacement: `{{${name}}}` });
        steps[s.block]!.uses.push({ name, token: `$${envName}` });
      }
      for (const j of [...users, ...later]) give(j, envName, name);
      vars.set(name, {
        name,
        default: literal,
        prompt: `${envName} (the docs set ${shown(first.assignment.text)})`,
        note: `the docs set ${envName} at ${where} and use it in other blocks; each step runs in its own shell, so it is this var, given to those steps in env: check the default`,
      });
      continue;
    }
    const how = at.map((s) => `${shown(s.assignment.text)} at ${blocks[s.block]!.where}`).join(', ');
    for (const j of users) {
      give(j, envName, name);
      steps[j]!.todos.push(
        `$${envName} is set by another block (${how}), but each step runs in its own shell: here it comes from the var ${name}, asked at the first step that needs it. Better: make the step that sets it print the value and capture it (capture: ${name}, then remove vars.${name}), or merge the steps`,
      );
    }
    if (later.length > 0) {
      steps[firstExport]!.todos.push(
        `${envName} is exported here for the commands after it, but each step runs in its own shell: the steps after this one do not have it. Capture its value (capture: ${name}) and give it to the steps that need it (env: { ${envName}: '{{${name}}}' }), or merge them into this one`,
      );
    }
    if (users.length > 0) {
      vars.set(name, {
        name,
        prompt: `${envName}, as the docs set it: ${shown(how)}`,
        note: `${envName} is set by a command of the docs (${how}) and used in another block; each step runs in its own shell, so drbook asks for it: capture it instead where you can`,
      });
    }
  }

  // The working directory a `cd` leaves for the blocks after it.
  let dir: DirState;
  let dirFrom = '';
  blocks.forEach((block, j) => {
    const ownCd = /^(?:\s*(?:#[^\n]*)?\n)*\s*(?:cd|pushd)[ \t]+\//.test(block.command);
    if (dir && !ownCd) {
      if ('dir' in dir) steps[j]!.cwd = dir.dir;
      else
        steps[j]!.todos.push(
          `the docs ran \`${shown(dir.unknown)}\` at ${dirFrom} before this block, but each step starts in the runbook's directory: set cwd: on this step, or start its command with that cd`,
        );
    }
    if (shells[j]!.cds.length > 0) {
      dir = dirAfter(dir, shells[j]!.cds);
      dirFrom = block.where;
    }
  });

  // Shell settings and functions: they end with the step that makes them.
  const definedAt = new Map<string, number>();
  shells.forEach((sh, i) => {
    for (const f of sh.functions.keys()) if (!definedAt.has(f)) definedAt.set(f, i);
    if (i === blocks.length - 1) return;
    for (const change of sh.changes) {
      steps[i]!.todos.push(
        `\`${shown(change)}\` changes this step's shell only: each step runs in its own shell, so the steps after this one run without it; repeat it at the top of those that need it, or merge them into this one`,
      );
    }
  });
  shells.forEach((sh, j) => {
    for (const call of sh.calls) {
      const i = definedAt.get(call);
      if (i === undefined || i === j || sh.functions.has(call)) continue;
      steps[j]!.todos.push(
        `\`${call}\` is a shell function defined at ${blocks[i]!.where}: each step runs in its own shell, so it does not exist here; copy its definition into this command, or merge the steps`,
      );
    }
  });
  return { steps, vars };
}
