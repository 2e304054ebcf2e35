import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { schemaText } from '../src/commands/schema.js';
import { VERSION } from '../src/version.js';
import { REPO } from './helpers/run-cli.js';

describe('the committed JSON Schema', () => {
  const committed = readFileSync(join(REPO, 'schema', 'runbook.schema.json'), 'utf8');

  it('is what `drbook schema` prints (regenerate: node bin/drbook.cjs schema > schema/runbook.schema.json)', () => {
    expect(committed).toBe(schemaText());
  });

  it('describes the format editors need', () => {
    const schema = JSON.parse(committed) as { $schema: string; required: string[]; properties: Record<string, unknown>; additionalProperties: boolean };
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(schema.required).toEqual(expect.arrayContaining(['drbook', 'title', 'steps']));
    expect(Object.keys(schema.properties)).toEqual(expect.arrayContaining(['drbook', 'id', 'title', 'rto', 'docs', 'vars', 'steps']));
    expect(schema.additionalProperties).toBe(false);
  });
});

describe('the version', () => {
  it('in src/version.ts is the one in package.json', () => {
    const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string };
    expect(VERSION).toBe(pkg.version);
  });
});
