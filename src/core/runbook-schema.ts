import { en } from 'zod/locales';
import * as z from 'zod/mini';
import { NotifySinkSchema } from './notify/config.js';
import { described, describedObject, envName, text } from './schema-parts.js';

/**
 * The runbook format, version 1, as one zod definition. The loader validates with it and
 * `drbook schema` derives the JSON Schema from it, so the two cannot drift.
 * Meaning checks that a schema cannot express (unknown template names, doc keys, paths,
 * conditions) live in runbook-loader.ts.
 *
 * Written with zod/mini, zod's tree-shakable form: the same validator and the same JSON
 * Schema as classic zod, for about a fifth of its start-up cost (npm run bench), which
 * every drbook command that reads a runbook pays.
 */
export const SLUG = /^[a-z0-9][a-z0-9-]*$/;
const VAR_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

// zod/mini loads no messages of its own ("Invalid input" for everything); the loader words
// most problems itself and falls back on these English ones.
z.config(en());

const slug = z.string().check(z.regex(SLUG, 'must be a slug: lower-case letters, digits and dashes, starting with a letter or digit'));
const varName = z.string().check(z.regex(VAR_NAME, 'must be a variable name: letters, digits and _, not starting with a digit'));
const scalar = z.union([z.string(), z.number(), z.boolean()]);

const DocLinkSchema = describedObject('A document: a title and a url, a local path, or both.', {
  title: described(text, 'What the document is, as the operator will see it.'),
  url: described(z.optional(text), 'Where it lives online (wiki, git, dashboard).'),
  path: described(z.optional(text), "A local or offline copy, relative to the runbook file; '#anchor' allowed."),
});

const VarSchema = describedObject('A variable usable as {{name}} in templated fields.', {
  prompt: described(z.optional(text), 'The question asked when the operator must supply the value.'),
  description: z.optional(text),
  default: described(z.optional(scalar), 'Used when nothing else gives a value (offered as the answer when asked).'),
  env: described(z.optional(envName), 'Environment variable that supplies the value.'),
  secret: described(z.optional(z.boolean()), 'Masked when typed; shown and written as *** everywhere.'),
  pattern: described(z.optional(text), 'Regular expression the value must match.'),
  choices: described(
    z.optional(z.union([z.array(scalar).check(z.minLength(1, 'must list at least one choice')), z.record(z.string(), text)])),
    'Allowed values: a list, or a map of value to label.',
  ),
});

/** Incident milestones, in the order they normally happen. */
export const MILESTONES = ['impact-started', 'detected', 'mitigated', 'resolved'] as const;
export type MilestoneName = (typeof MILESTONES)[number];

const exitCode = z.int().check(z.minimum(0), z.maximum(255));
const exitCodes = z.union([exitCode, z.array(exitCode).check(z.minLength(1))]);

const ExpectSchema = describedObject('What makes the command a success.', {
  exit: described(z.optional(exitCodes), 'Exit code(s) that mean success. Default 0.'),
  stdout: described(z.optional(text), 'Regular expression stdout must match.'),
  stderr: described(z.optional(text), 'Regular expression stderr must match.'),
});

const UntilSchema = describedObject('Run the command again every interval until expect holds, or fail after timeout (format 1.1).', {
  interval: described(text, 'Time between attempts: 10s, 1m.'),
  timeout: described(text, 'How long to keep trying before the step fails: 5m, 1h.'),
});

const UndoSchema = described(
  z.union([
    text,
    z.strictObject({
      run: described(text, 'Command that reverses the step, templated like run.'),
      confirm: described(z.optional(text), 'Question to confirm after the undo command succeeds.'),
    }),
  ]),
  'How to reverse the step: a command (for a manual step: what to do, as text), or { run, confirm } (format 1.1).',
);

const StepSchema = describedObject('One step of the runbook.', {
  id: described(slug, 'Unique id of the step.'),
  title: described(text, 'One line, templated.'),
  description: described(z.optional(z.string()), 'Markdown, templated.'),
  run: described(
    z.optional(text),
    'Shell command, templated by its shell syntax: each {{name}} (in a word, in quotes, in an unquoted here-document) becomes a reference to the environment variable DRBOOK_V_<name>, so no value ever runs as code. Refused: a quoted here-document, a $ just before {{name}}, backquotes nested in a here-document or in double quotes with \\" in them, and places where the shell evaluates a value as code (arithmetic: $(( )), (( )), let, declare -i, array subscripts also in a=([i]=x), ${x:offset}, [[ -gt ]], and a var assigned {{name}} that the script reads as a number; eval, trap, the script of sh -c or of a shell reading a pipe, here-string or here-document, variable names) unless the var pattern admits only integers. Without run the step is manual.',
  ),
  confirm: described(z.optional(text), 'Question to confirm (after the command, if any, succeeds).'),
  ask: described(z.optional(z.array(varName)), 'Variables to ask for at this step.'),
  expect: z.optional(ExpectSchema),
  safe: described(z.optional(z.boolean()), 'Read-only: `rehearse --run-safe` may execute it.'),
  idempotent: described(z.optional(z.boolean()), 'Running it twice does no harm: when drbook stopped while it ran, resume offers to run it again by default.'),
  docs: described(z.optional(z.array(z.union([z.string(), DocLinkSchema]))), 'Keys of the top-level docs, or inline docs.'),
  cwd: described(z.optional(text), 'Working directory, templated; relative to the runbook file.'),
  env: described(z.optional(z.record(envName, scalar)), 'Environment for the command, values templated.'),
  timeout: described(z.optional(text), 'e.g. 30s, 10m, 1h30m: SIGTERM to the command tree, SIGKILL 5 s later.'),
  capture: described(z.optional(varName), 'Variable set from the trimmed stdout.'),
  when: described(z.optional(text), '`name == value` or `name != value`; a false condition skips the step.'),
  on_failure: described(z.optional(z.enum(['ask', 'abort', 'continue'])), 'What a failure does. Default ask.'),
  until: z.optional(UntilSchema),
  undo: z.optional(UndoSchema),
  milestone: described(z.optional(z.enum(MILESTONES)), 'Incident milestone marked in the journal when the step is done.'),
});

export const RunbookSchema = describedObject('A drbook runbook (format version 1).', {
  $schema: z.optional(z.string()),
  drbook: described(z.int(), 'Format version. Must be 1.'),
  id: described(z.optional(slug), 'Defaults to the file name.'),
  title: text,
  summary: z.optional(z.string()),
  owner: z.optional(z.string()),
  rto: described(z.optional(text), 'Recovery time objective: 90m, 2h, 1h30m.'),
  rpo: described(z.optional(text), 'Recovery point objective: how much data may be lost, e.g. 15m, 24h.'),
  recovery_point: described(z.optional(varName), 'Variable holding the ISO time of the data restored (usually captured): gives the data-loss window.'),
  tags: z.optional(z.array(z.string())),
  shell: described(z.optional(z.enum(['bash', 'sh'])), 'bash (bash -e -o pipefail -c, default) or sh (sh -e -c).'),
  docs: z.optional(z.record(z.string().check(z.regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/, 'must be a doc key: letters, digits, _ . -')), DocLinkSchema)),
  vars: z.optional(z.record(z.string().check(z.regex(VAR_NAME, 'must be a variable name')), VarSchema)),
  steps: z.array(StepSchema).check(z.minLength(1, 'a runbook needs at least one step')),
  notify: described(
    z.optional(z.array(NotifySinkSchema)),
    'Where the timeline is sent as it happens: Slack (or Mattermost, Rocket.Chat), Matrix, a GitLab incident, a signed webhook. URLs and tokens only through environment variables (format 1.1).',
  ),
});

export type DocLink = z.infer<typeof DocLinkSchema>;
export type VarDef = z.infer<typeof VarSchema>;
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
