import { z } from 'zod';

/**
 * The runbook format, version 1, as one zod definition. The loader validates with it and
 * `drbook schema` derives the JSON Schema from it, so the two cannot drift.
 * Meaning checks that a schema cannot express (unknown template names, doc keys, paths,
 * conditions) live in validate.ts.
 */
export const SLUG = /^[a-z0-9][a-z0-9-]*$/;
export const VAR_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

const slug = z.string().regex(SLUG, 'must be a slug: lower-case letters, digits and dashes, starting with a letter or digit');
const varName = z.string().regex(VAR_NAME, 'must be a variable name: letters, digits and _, not starting with a digit');
const text = z.string().min(1, 'must not be empty');
const scalar = z.union([z.string(), z.number(), z.boolean()]);

export const DocLinkSchema = z
  .strictObject({
    title: text.describe('What the document is, as the operator will see it.'),
    url: text.optional().describe('Where it lives online (wiki, git, dashboard).'),
    path: text.optional().describe("A local or offline copy, relative to the runbook file; '#anchor' allowed."),
  })
  .describe('A document: a title and a url, a local path, or both.');

export const VarSchema = z
  .strictObject({
    prompt: text.optional().describe('The question asked when the operator must supply the value.'),
    description: text.optional(),
    default: scalar.optional().describe('Used when nothing else gives a value (offered as the answer when asked).'),
    env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name').optional()
      .describe('Environment variable that supplies the value.'),
    secret: z.boolean().optional().describe('Masked when typed; shown and written as *** everywhere.'),
    pattern: text.optional().describe('Regular expression the value must match.'),
    choices: z
      .union([z.array(scalar).min(1, 'must list at least one choice'), z.record(z.string(), text)])
      .optional()
      .describe('Allowed values: a list, or a map of value to label.'),
  })
  .describe('A variable usable as {{name}} in templated fields.');

const exitCodes = z.union([z.int().min(0).max(255), z.array(z.int().min(0).max(255)).min(1)]);

export const ExpectSchema = z
  .strictObject({
    exit: exitCodes.optional().describe('Exit code(s) that mean success. Default 0.'),
    stdout: text.optional().describe('Regular expression stdout must match.'),
    stderr: text.optional().describe('Regular expression stderr must match.'),
  })
  .describe('What makes the command a success.');

export const StepSchema = z
  .strictObject({
    id: slug.describe('Unique id of the step.'),
    title: text.describe('One line, templated.'),
    description: z.string().optional().describe('Markdown, templated.'),
    run: text.optional().describe('Shell command, templated; each value is inserted as one shell word. Without run the step is manual.'),
    confirm: text.optional().describe('Question to confirm (after the command, if any, succeeds).'),
    ask: z.array(varName).optional().describe('Variables to ask for at this step.'),
    expect: ExpectSchema.optional(),
    safe: z.boolean().optional().describe('Read-only: `rehearse --run-safe` may execute it.'),
    docs: z.array(z.union([z.string(), DocLinkSchema])).optional().describe('Keys of the top-level docs, or inline docs.'),
    cwd: text.optional().describe('Working directory, templated; relative to the runbook file.'),
    env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name'), scalar).optional()
      .describe('Environment for the command, values templated.'),
    timeout: text.optional().describe('e.g. 30s, 10m, 1h30m: SIGTERM to the command tree, SIGKILL 5 s later.'),
    capture: varName.optional().describe('Variable set from the trimmed stdout.'),
    when: text.optional().describe('`name == value` or `name != value`; a false condition skips the step.'),
    on_failure: z.enum(['ask', 'abort', 'continue']).optional().describe('What a failure does. Default ask.'),
  })
  .describe('One step of the runbook.');

export const RunbookSchema = z
  .strictObject({
    $schema: z.string().optional(),
    drbook: z.int().describe('Format version. Must be 1.'),
    id: slug.optional().describe('Defaults to the file name.'),
    title: text,
    summary: z.string().optional(),
    owner: z.string().optional(),
    rto: text.optional().describe('Recovery time objective: 90m, 2h, 1h30m.'),
    tags: z.array(z.string()).optional(),
    shell: z.enum(['bash', 'sh']).optional().describe('bash (bash -e -o pipefail -c, default) or sh (sh -e -c).'),
    docs: z.record(z.string().regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/, 'must be a doc key: letters, digits, _ . -'), DocLinkSchema).optional(),
    vars: z.record(z.string().regex(VAR_NAME, 'must be a variable name'), VarSchema).optional(),
    steps: z.array(StepSchema).min(1, 'a runbook needs at least one step'),
  })
  .describe('A drbook runbook (format version 1).');

export type DocLink = z.infer<typeof DocLinkSchema>;
export type VarDef = z.infer<typeof VarSchema>;
export type Expect = z.infer<typeof ExpectSchema>;
export type StepDef = z.infer<typeof StepSchema>;
export type RunbookDoc = z.infer<typeof RunbookSchema>;

/** The JSON Schema of the format, for editors (`drbook schema`). */
export function runbookJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(RunbookSchema, { target: 'draft-2020-12' }) as Record<string, unknown>;
  return {
    $schema: schema.$schema,
    $id: 'https://drbook.dev/schema/runbook.schema.json',
    title: 'drbook runbook',
    ...schema,
  };
}
