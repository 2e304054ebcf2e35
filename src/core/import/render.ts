import { Document, isMap, isSeq, Scalar, type YAMLMap, type YAMLSeq } from 'yaml';
import type { Draft, DraftStep } from './draft.js';

/**
 * The draft as YAML text, with the comments that make it a draft: the schema line for
 * editors, `# from FILE:LINE` on every step, `# TODO` where a person must look.
 */
export function renderDraft(draft: Draft, schemaRef: string): string {
  const data: Record<string, unknown> = { drbook: 1, id: draft.id, title: draft.title };
  if (draft.summary) data.summary = draft.summary;
  if (draft.vars.length > 0) {
    data.vars = Object.fromEntries(
      draft.vars.map((v) => [v.name, { prompt: v.prompt, ...(v.default !== undefined ? { default: v.default } : {}), ...(v.env ? { env: v.env } : {}) }]),
    );
  }
  data.steps = draft.steps.map(stepData);
  // No anchors: the same section doc on three steps reads better written three times.
  const doc = new Document(data, { aliasDuplicateObjects: false });
  doc.commentBefore = [
    ` yaml-language-server: $schema=${schemaRef}`,
    '',
    ` Draft made by drbook import from ${draft.sources.join(', ')}.`,
    ' Read every TODO, then: drbook validate, drbook rehearse.',
  ].join('\n');

  const root = doc.contents as YAMLMap;
  const vars = root.get('vars', true) as YAMLMap | undefined;
  if (vars) {
    for (const pair of vars.items) {
      const v = draft.vars.find((d) => d.name === (pair.key as Scalar).value)!;
      (pair.key as Scalar).commentBefore = v.note
        ? ` TODO: ${v.note}`
        : ` TODO: check the prompt, add a pattern or a default (${v.token} at ${v.source.file}:${v.source.line})`;
    }
  }
  const steps = root.get('steps', true) as unknown as YAMLSeq;
  steps.items.forEach((node, i) => {
    const step = draft.steps[i]!;
    const lines = [` from ${step.source.file}:${step.source.line}`, ...step.todos.map((t) => ` TODO: ${t}`)];
    (node as YAMLMap).commentBefore = lines.join('\n');
    if (isMap(node)) literalBlocks(node);
  });
  const text = doc.toString({ lineWidth: 0, blockQuote: 'literal' });
  return text.endsWith('\n') ? text : `${text}\n`;
}

function stepData(step: DraftStep): Record<string, unknown> {
  const out: Record<string, unknown> = { id: step.id, title: step.title };
  if (step.description) out.description = step.description;
  if (step.run !== undefined) out.run = step.run;
  if (step.cwd !== undefined) out.cwd = step.cwd;
  if (step.confirm) out.confirm = step.confirm;
  if (step.env) out.env = step.env;
  if (step.docs.length > 0) out.docs = step.docs;
  return out;
}

/** Multi-line text reads best as `|` blocks; the library falls back to quotes when it must. */
function literalBlocks(map: YAMLMap): void {
  for (const pair of map.items) {
    const value = pair.value;
    if (value instanceof Scalar && typeof value.value === 'string' && value.value.includes('\n')) value.type = Scalar.BLOCK_LITERAL;
    if (isSeq(value)) for (const item of value.items) if (isMap(item)) literalBlocks(item);
  }
}
