/**
 * The zod/mini pieces the runbook format and the notify sinks (runbook or config.yml) are
 * both written with, so that a field reads and is checked the same in either file.
 */
import * as z from 'zod/mini';

/** Attaches the description an editor shows for a field (and the JSON Schema carries). */
export function described<T extends z.ZodMiniType>(schema: T, description: string): T {
  return schema.check(z.describe(description));
}

/** An object of these fields and no others, described: the description comes first, as an editor shows it. */
export function describedObject<S extends z.core.$ZodLooseShape>(description: string, shape: S): z.ZodMiniObject<S, z.core.$strict> {
  return described(z.strictObject(shape), description);
}

export const envName = z.string().check(z.regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name'));
export const text = z.string().check(z.minLength(1, 'must not be empty'));
