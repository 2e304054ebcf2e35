import type { Condition } from './model.js';

// The value may not start with `=`: `a === b` is a typo, not a comparison with "= b".
const CONDITION = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(==|!=)(?!=)\s*(.*?)\s*$/;

/** Parses `name == value` or `name != value`; the value may be quoted. */
export function parseCondition(text: string): Condition | undefined {
  const m = CONDITION.exec(text);
  if (!m) return undefined;
  let value = m[3] ?? '';
  if (value === '') return undefined;
  const quoted = /^(['"])(.*)\1$/.exec(value);
  if (quoted) value = quoted[2] ?? '';
  return { name: m[1]!, op: m[2] as Condition['op'], value };
}

export function evaluateCondition(condition: Condition, value: string | undefined): boolean {
  const equal = value === condition.value;
  return condition.op === '==' ? equal : !equal;
}

export function describeCondition(condition: Condition): string {
  return `${condition.name} ${condition.op} ${condition.value}`;
}
