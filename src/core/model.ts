import type { NotifySinkDef } from './notify/config.js';
import type { DocLink, StepDef, VarDef } from './runbook-schema.js';
import { visible } from './visible.js';

export type { DocLink, StepDef, VarDef } from './runbook-schema.js';

/** A doc as the operator sees it: the local path made absolute, the anchor kept apart. */
export interface ResolvedDoc {
  key?: string;
  title: string;
  url?: string;
  /** Absolute local path, without the '#anchor'. */
  path?: string;
  anchor?: string;
}

export interface Condition {
  name: string;
  op: '==' | '!=';
  value: string;
}

export interface Step extends StepDef {
  /** 0-based position in the runbook. */
  index: number;
  docLinks: ResolvedDoc[];
  timeoutMs?: number;
  condition?: Condition;
  /** `until:` in milliseconds (format 1.1). */
  poll?: { intervalMs: number; timeoutMs: number };
}

/** A loaded, validated runbook. Only loader.ts builds one. */
export interface Runbook {
  id: string;
  title: string;
  summary?: string;
  owner?: string;
  rto?: string;
  rtoMs?: number;
  /** Recovery point objective as written: `15m`. */
  rpo?: string;
  /** The var holding the ISO time of the data restored. */
  recoveryPoint?: string;
  tags: string[];
  shell: 'bash' | 'sh';
  docs: Record<string, DocLink>;
  vars: Record<string, VarDef>;
  steps: Step[];
  /** `notify:` sinks (format 1.1), as written: env var names, never URLs or tokens. */
  notify?: NotifySinkDef[];
  /** Absolute path of the runbook file. */
  file: string;
  /** sha256 hex of the file's bytes. */
  sha256: string;
}

/**
 * The step fields a {{name}} is rendered in (SPEC), besides the values of `env`: the one
 * list the loader checks and the walk, the --yes checks and resume read.
 */
export const TEMPLATED_STEP_FIELDS = ['title', 'description', 'run', 'confirm', 'cwd'] as const;

/** The templated texts of a step: its templated fields that are set, then its env values. */
export function templatedTexts(step: Step): string[] {
  const texts = TEMPLATED_STEP_FIELDS.map((field) => step[field]).filter((text): text is string => text !== undefined);
  return [...texts, ...Object.values(step.env ?? {}).map(String)];
}

export type Severity = 'error' | 'warning';

/** One validation problem, rendered as `file:line:col: severity: message`. */
export interface Problem {
  file: string;
  line: number;
  col: number;
  severity: Severity;
  message: string;
}

export function formatProblem(p: Problem): string {
  // Messages quote runbook text: a control character in it is shown, never obeyed.
  // A line break in a file name would split the one line: shown as ^J, as list shows it.
  return visible(`${p.file.replace(/\n/g, '^J')}:${p.line}:${p.col}: ${p.severity}: ${p.message}`);
}
