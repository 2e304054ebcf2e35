import { readFileSync, statSync } from 'node:fs';
import { DrbookError, ExitCode } from '../core/errors.js';
import type { Runbook } from '../core/model.js';
import { parseVarAssignments, type VarStore } from '../core/vars.js';
import { stdinIsTerminal } from './system.js';

/**
 * `--var name=value` pairs, with `--var name=-` read from stdin: the whole pipe (one line
 * per `-` var, in the order given, when there are several), or a masked prompt at a
 * terminal. A value read that way is never on drbook's command line, where `ps` shows it
 * to every user of the host for the whole session.
 */
export async function readCliVars(pairs: readonly string[], runbook: Runbook, warn: (line: string) => void): Promise<Record<string, string>> {
  const values = parseVarAssignments(pairs);
  const fromStdin = Object.keys(values).filter((name) => values[name] === '-');
  for (const [name, value] of Object.entries(values)) {
    const def = runbook.vars[name];
    if (value === '-' || def?.secret !== true) continue;
    const other = def.env ? `, $${def.env}` : '';
    warn(
      `warning: --var ${name}=...: a secret on the command line is visible to every user of this host (ps) while drbook runs: give it with --var ${name}=- (read from stdin)${other} or a --vars-file of mode 0600`,
    );
  }
  if (fromStdin.length === 0) return values;
  if (stdinIsTerminal()) {
    const { password } = await import('@inquirer/prompts');
    for (const name of fromStdin) {
      const def = runbook.vars[name];
      try {
        values[name] = await password({ message: `${name}${def?.prompt ? ` (${def.prompt})` : ''}`, mask: '*' }, { output: process.stderr });
      } catch {
        throw new DrbookError(`--var ${name}=-: no value read (the prompt was cancelled)`, ExitCode.paused);
      }
    }
    return values;
  }
  let text: string;
  try {
    text = readFileSync(0, 'utf8');
  } catch (error) {
    throw new DrbookError(`--var ${fromStdin[0]}=-: cannot read stdin: ${(error as Error).message}`, ExitCode.usage);
  }
  if (fromStdin.length === 1) {
    values[fromStdin[0]!] = text.replace(/\r?\n$/, '');
    return values;
  }
  const lines = text.replace(/\r?\n$/, '').split(/\r?\n/);
  if (lines.length < fromStdin.length) {
    throw new DrbookError(
      `--var ${fromStdin.join('=- --var ')}=-: stdin has ${lines.length} line${lines.length === 1 ? '' : 's'} for ${fromStdin.length} values (one line each, in that order)`,
      ExitCode.usage,
    );
  }
  fromStdin.forEach((name, i) => (values[name] = lines[i]!));
  return values;
}

/**
 * A vars file that holds a secret must be readable by its owner only (mode 0600): one
 * that others can read is refused. A pipe (`--vars-file <(pass show dr/vars)`) is fine.
 */
export function refuseOpenVarsFile(path: string | undefined, file: Record<string, string>, runbook: Runbook): void {
  if (path === undefined) return;
  const secrets = Object.keys(file).filter((name) => runbook.vars[name]?.secret === true);
  if (secrets.length === 0) return;
  const stat = statSync(path);
  if (!stat.isFile()) return;
  const mode = stat.mode & 0o777;
  if ((mode & 0o077) === 0) return;
  throw new DrbookError(
    `--vars-file ${path}: holds the secret${secrets.length === 1 ? '' : 's'} ${secrets.join(', ')} but has mode 0${mode.toString(8)}: other users can read it; run chmod 600 ${path}`,
    ExitCode.usage,
  );
}

/**
 * A secret whose value is also in the runbook's own text is either common (every place the
 * text shows it is masked) or written into the runbook (which then holds the secret):
 * either way the operator should know before the walk.
 */
export function warnSecretsInRunbook(runbook: Runbook, vars: VarStore, warn: (line: string) => void): void {
  let text: string;
  try {
    text = readFileSync(runbook.file, 'utf8');
  } catch {
    return;
  }
  for (const name of vars.names()) {
    const entry = vars.entry(name);
    if (!entry?.secret || entry.value === '' || !text.includes(entry.value)) continue;
    warn(
      `warning: the value of the secret ${name} also appears in ${runbook.file}: every place it shows will be masked as ***, and the runbook should not hold a secret`,
    );
  }
}
