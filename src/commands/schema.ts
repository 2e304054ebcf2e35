import { runbookJsonSchema } from '../core/runbook-schema.js';

export function schemaText(): string {
  return JSON.stringify(runbookJsonSchema(), null, 2) + '\n';
}

export async function runSchema(): Promise<number> {
  process.stdout.write(schemaText());
  return 0;
}
