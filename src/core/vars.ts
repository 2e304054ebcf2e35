import type { VarSource } from './journal-events.js';
import { templatedTexts, type Runbook, type Step, type VarDef } from './model.js';
import { MASK, MIN_SECRET_LENGTH, type Redactor } from './redact.js';
import { fingerprintSecret, type SecretFingerprint } from './secret-fingerprint.js';
import { choiceValues } from './runbook-loader.js';
import { shellWord } from './template.js';
import { DrbookError, ExitCode } from './errors.js';
import { templateNames } from './template.js';
import { evaluateCondition } from './condition.js';

export interface VarValue {
  value: string;
  source: VarSource;
  secret: boolean;
}

/**
 * The walk's variables. Every secret value is handed to the redactor the moment it is
 * known, so nothing printed or written afterwards can carry it.
 */
export class VarStore {
  private readonly values = new Map<string, VarValue>();
  private readonly fingerprints = new Map<string, SecretFingerprint[]>();
  constructor(
    readonly defs: Record<string, VarDef>,
    private readonly redactor: Redactor,
    /** --allow-short-secret: a secret under MIN_SECRET_LENGTH is accepted (and masked as a whole word). */
    readonly allowShortSecret = false,
  ) {}

  /** checkVarValue with this walk's --allow-short-secret. */
  check(name: string, value: string): string | undefined {
    return checkVarValue(name, this.defs[name], value, this.allowShortSecret);
  }

  get(name: string): string | undefined {
    return this.values.get(name)?.value;
  }

  entry(name: string): VarValue | undefined {
    return this.values.get(name);
  }

  has(name: string): boolean {
    return this.values.has(name);
  }

  set(name: string, value: string, source: VarSource, secret = this.defs[name]?.secret === true): VarValue {
    if (secret) {
      this.redactor.add(value);
      // In a command the value is inserted as one shell word: quoted and escaped (`it's`
      // becomes 'it'\''s'), the raw value no longer appears in it and would show.
      const quoted = shellWord(value);
      this.redactor.add(quoted);
      const short = value.length < MIN_SECRET_LENGTH;
      this.fingerprints.set(name, [
        fingerprintSecret(value, short),
        ...(quoted !== value ? [fingerprintSecret(quoted, quoted.length < MIN_SECRET_LENGTH)] : []),
      ]);
    } else {
      this.fingerprints.delete(name);
    }
    const entry = { value, source, secret };
    this.values.set(name, entry);
    return entry;
  }

  /** As journaled: secrets as ***. */
  shown(name: string): string {
    const entry = this.values.get(name);
    if (!entry) return '';
    return entry.secret ? MASK : this.redactor.redact(entry.value);
  }

  /**
   * The var.set fields for a var: the value (*** for a secret) and, for a secret, its
   * salted fingerprints, so that writers without the value can mask it (see journal.md).
   */
  journaled(name: string): { value: string; secret?: true; fingerprints?: SecretFingerprint[] } {
    const entry = this.values.get(name);
    const fingerprints = this.fingerprints.get(name);
    return { value: this.shown(name), ...(entry?.secret ? { secret: true as const } : {}), ...(entry?.secret && fingerprints ? { fingerprints } : {}) };
  }

  /**
   * `text` with each secret's value (raw or shell-quoted) replaced by `{{name}}`: an edited
   * command that holds a secret is stored and replayed with the placeholder, never with the
   * value nor with *** (which could not run again).
   */
  withPlaceholders(text: string): string {
    const forms: { form: string; name: string }[] = [];
    for (const [name, entry] of this.values) {
      if (!entry.secret || entry.value === '') continue;
      forms.push({ form: shellWord(entry.value), name }, { form: entry.value, name });
    }
    forms.sort((a, b) => b.form.length - a.form.length);
    let out = text;
    for (const { form, name } of forms) {
      if (form.length >= MIN_SECRET_LENGTH) {
        out = out.split(form).join(`{{${name}}}`);
        continue;
      }
      // A short secret (--allow-short-secret) only where it stands as a whole word.
      out = out.replace(new RegExp(`(?<![\\p{L}\\p{N}_])${form.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![\\p{L}\\p{N}_])`, 'gu'), `{{${name}}}`);
    }
    return out;
  }

  names(): string[] {
    return [...this.values.keys()];
  }
}

/** Why a value is refused for a var (pattern, choices), or undefined when it is fine. */
export function checkVarValue(name: string, def: VarDef | undefined, value: string, allowShortSecret = false): string | undefined {
  if (!def) return undefined;
  if (def.secret === true && !allowShortSecret && value !== '' && value.length < MIN_SECRET_LENGTH) {
    return `${name} is a secret of ${value.length} character${value.length === 1 ? '' : 's'}: secrets shorter than ${MIN_SECRET_LENGTH} are refused, since masking it would hide every place those letters appear (give the real secret, or --allow-short-secret to mask it only as a whole word)`;
  }
  const choices = choiceValues(def.choices);
  if (choices && !choices.includes(value)) return `${name} must be one of: ${choices.join(', ')}`;
  if (def.pattern) {
    let re: RegExp;
    try {
      re = new RegExp(def.pattern);
    } catch {
      return undefined; // validation reports a bad pattern; do not block the operator on it
    }
    if (!re.test(value)) return `${name} must match ${def.pattern}`;
  }
  if (value === '' && def.default === undefined) return `${name} needs a value`;
  return undefined;
}

export interface VarInputs {
  /** `--var name=value`, in the order given. */
  cli: Record<string, string>;
  /** `--vars-file`. */
  file: Record<string, string>;
  env: Record<string, string | undefined>;
}

/**
 * The values known before the walk: --var, then --vars-file, then each var's `env`.
 * The rest is asked at the first step that needs it, or falls back to its default.
 * A value given on the command line that breaks its pattern is an input error.
 */
export function resolveInitialVars(runbook: Runbook, inputs: VarInputs, store: VarStore): void {
  for (const [origin, values] of [
    ['--var', inputs.cli],
    ['--vars-file', inputs.file],
  ] as const) {
    for (const name of Object.keys(values)) {
      if (!(name in runbook.vars)) {
        const declared = Object.keys(runbook.vars);
        throw new DrbookError(
          `${origin} ${name}: ${runbook.id} declares no var "${name}"${declared.length ? ` (it declares: ${declared.join(', ')})` : ''}`,
          ExitCode.usage,
        );
      }
    }
  }
  for (const [name, def] of Object.entries(runbook.vars)) {
    const fromCli = inputs.cli[name];
    const fromFile = inputs.file[name];
    const fromEnv = def.env ? inputs.env[def.env] : undefined;
    const [value, source] =
      fromCli !== undefined
        ? [fromCli, 'cli' as const]
        : fromFile !== undefined
          ? [fromFile, 'vars-file' as const]
          : fromEnv !== undefined && fromEnv !== ''
            ? [fromEnv, 'env' as const]
            : [undefined, undefined];
    if (value === undefined || source === undefined) continue;
    const problem = store.check(name, value);
    if (problem) {
      const where = source === 'env' ? `$${def.env}` : source === 'cli' ? `--var ${name}` : `--vars-file`;
      throw new DrbookError(`${where}: ${problem}${def.secret ? '' : ` (got "${value}")`}`, ExitCode.usage);
    }
    store.set(name, value, source);
  }
}

/** `name=value` pairs from --var; the value may contain '='. */
export function parseVarAssignments(pairs: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new DrbookError(`--var ${pair}: expected name=value`, ExitCode.usage);
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}

/**
 * Declared vars a walk would have to ask for: used by some step, with no value yet and
 * no default. Under `run --yes` nobody can answer, so these are named before anything runs.
 * A step whose `when` is already known to be false (its variable has a value or a default,
 * and no step still to walk captures it) will be skipped: what only it uses is not needed.
 */
export function varsNobodyCanAnswer(runbook: Runbook, store: VarStore): string[] {
  const captured = new Set(runbook.steps.flatMap((step) => (step.capture ? [step.capture] : [])));
  const knownNow = (name: string): string | undefined => {
    if (captured.has(name)) return undefined;
    const fallback = runbook.vars[name]?.default;
    return store.get(name) ?? (fallback === undefined ? undefined : String(fallback));
  };
  const used = new Set<string>();
  for (const step of runbook.steps) {
    if (step.condition) {
      used.add(step.condition.name);
      const value = knownNow(step.condition.name);
      if (value !== undefined && !evaluateCondition(step.condition, value)) continue;
    }
    for (const name of step.ask ?? []) used.add(name);
    for (const text of templatedTexts(step)) for (const name of templateNames(text)) used.add(name);
  }
  return Object.entries(runbook.vars)
    .filter(([name, def]) => used.has(name) && !store.has(name) && def.default === undefined)
    .map(([name]) => name);
}

/**
 * Vars a rehearsal under --yes cannot stand in for: a `when:` depends on them, nobody gave
 * a value, there is no default and no step captures them. A placeholder would make every
 * branch false (or every `!=` true) and the drill would skip what it exists to rehearse.
 */
export function conditionVarsWithoutValue(runbook: Runbook, store: VarStore): string[] {
  const captured = new Set(runbook.steps.flatMap((step) => (step.capture ? [step.capture] : [])));
  const names = new Set<string>();
  for (const step of runbook.steps) {
    const name = step.condition?.name;
    if (name === undefined || captured.has(name) || store.has(name)) continue;
    const def = runbook.vars[name];
    if (def && def.default === undefined) names.add(name);
  }
  return [...names];
}

/**
 * The vars the given steps use (asked, templated, or deciding a `when:`). In a rehearsal
 * only the steps whose command really runs (safe, with --run-safe) count: a drill shows
 * a secret as <name> everywhere else.
 */
export function varsUsedBy(steps: readonly Step[], rehearsal: { runSafe: boolean } | undefined): Set<string> {
  const used = new Set<string>();
  for (const step of steps) {
    if (step.condition) used.add(step.condition.name);
    if (rehearsal && !(step.run !== undefined && step.safe === true && rehearsal.runSafe)) continue;
    for (const name of step.ask ?? []) used.add(name);
    for (const text of templatedTexts(step)) for (const name of templateNames(text)) used.add(name);
  }
  return used;
}
