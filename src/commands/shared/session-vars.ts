/**
 * A session's values and commands: as a run is given them, and as a resume or an undo
 * takes them up: journaled values back, secrets asked again (they were never stored), the
 * operator's edits in force.
 */
import { DrbookError, ExitCode } from '../../core/errors.js';
import type { Runbook } from '../../core/model.js';
import type { Ui } from '../../core/ports.js';
import type { Redactor } from '../../core/redact.js';
import type { SessionReplay } from '../../core/session-summary.js';
import { resolveInitialVars, VarStore } from '../../core/vars.js';
import { visible } from '../../core/visible.js';
import { readCliVars, refuseOpenVarsFile, warnSecretsInRunbook } from '../../adapters/var-input.js';
import { cliVarAdvice, readVarsFile } from './walk-setup.js';

/** Where values come from besides the journal: --var, --vars-file. */
export interface VarOptions {
  var?: string[];
  varsFile?: string;
  allowShortSecret?: boolean;
}

/**
 * The values given now, in a new store: --var, --vars-file, the environment, defaults (and
 * a warning for a secret written in the runbook). `cli` and `file` as the operator gave them.
 */
export async function givenVars(
  runbook: Runbook,
  redactor: Redactor,
  options: VarOptions,
): Promise<{ store: VarStore; cli: Record<string, string>; file: Record<string, string> }> {
  const store = new VarStore(runbook.vars, redactor, options.allowShortSecret === true);
  const file = readVarsFile(options.varsFile);
  refuseOpenVarsFile(options.varsFile, file, runbook);
  const cli = await readCliVars(options.var ?? [], runbook, (line) => process.stderr.write(visible(line) + '\n'));
  resolveInitialVars(runbook, { cli, file, env: process.env }, store);
  warnSecretsInRunbook(runbook, store, (line) => process.stderr.write(visible(line) + '\n'));
  return { store, cli, file };
}

/** Journaled values come back; secrets (journaled as ***) are asked again or read from env/--var. */
export async function restoreVars(runbook: Runbook, replay: SessionReplay, redactor: Redactor, options: VarOptions): Promise<VarStore> {
  const { store, cli, file } = await givenVars(runbook, redactor, options);
  for (const v of replay.vars.values()) {
    if (v.secret) continue;
    // What the operator gives now (--var, --vars-file) wins; otherwise the session keeps
    // the value it ran with, even if this shell's environment says otherwise.
    if (v.name in cli || v.name in file) continue;
    if (!(v.name in runbook.vars) && v.source !== 'capture' && v.source !== 'placeholder') continue;
    store.set(v.name, v.value, v.source, false);
  }
  return store;
}

/**
 * Secrets are never stored, so every secret the session had must be given again before
 * the walk goes on: otherwise the redactor would not know it, and output holding it would
 * reach the screen and the log in clear.
 */
export async function reacquireSecrets(
  runbook: Runbook,
  replay: SessionReplay,
  vars: VarStore,
  ui: Ui,
  yes: boolean,
  only?: ReadonlySet<string>,
): Promise<void> {
  const needed = [...replay.vars.values()]
    .filter((v) => v.secret && v.name in runbook.vars && !vars.has(v.name) && (only === undefined || only.has(v.name)))
    .map((v) => v.name);
  if (needed.length === 0) return;
  if (yes) {
    const how = needed.map((name) => `${cliVarAdvice(name, true)}${runbook.vars[name]?.env ? ` (or $${runbook.vars[name]!.env})` : ''}`);
    throw new DrbookError(
      `the session's secret${needed.length === 1 ? ' is' : 's are'} never stored and --yes cannot ask: give ${how.join(', ')}`,
      ExitCode.usage,
    );
  }
  await askSecretsAgain(runbook, needed, vars, ui);
}

/** Asks the operator again for secrets that were never stored (masked, checked). */
export async function askSecretsAgain(runbook: Runbook, needed: readonly string[], vars: VarStore, ui: Ui): Promise<void> {
  if (needed.length === 0) return;
  ui.info(`Secrets are never stored: give ${needed.join(', ')} again.`);
  for (const name of needed) {
    const def = runbook.vars[name]!;
    for (;;) {
      const value = await ui.askVar({ name, def, validate: (v) => vars.check(name, v) });
      const problem = vars.check(name, value);
      if (!problem) {
        vars.set(name, value, 'prompt', true);
        break;
      }
      ui.warn(problem);
    }
  }
}

/**
 * The operator's edits replace the runbook's commands. An edit journaled with a masked
 * value (`***`, by a drbook that did not keep secrets as {{name}}) cannot run again: it is
 * named, never dropped silently.
 */
export function applyEdits(runbook: Runbook, replay: SessionReplay, warn: (message: string) => void): void {
  for (const [stepId, template] of replay.edits) {
    const step = runbook.steps.find((s) => s.id === stepId);
    if (!step) continue;
    if (template.includes('***')) {
      warn(
        `the edited command of step ${stepId} holds a masked secret (***) and cannot be replayed; the runbook's command runs instead (edit it again if needed): ${template}`,
      );
      continue;
    }
    step.run = template;
  }
}
