import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { formatProblem } from '../src/core/model.js';
import { sitesOf } from './helpers/shell.js';
import { loadRunbookText } from '../src/core/runbook-loader.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

describe('README', () => {
  it('its example runbook is valid as written, placed in runbooks/', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const example = /```yaml\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(example).toBeDefined();
    const absFile = join(root, 'runbooks', 'readme-example.yml');
    const { runbook, problems } = loadRunbookText(example!, {
      file: 'README.md example',
      absFile,
      sha256: '0'.repeat(64),
      fileExists: existsSync,
      shellSites: sitesOf,
    });
    expect(problems.map(formatProblem)).toEqual([]);
    expect(runbook?.steps.length).toBeGreaterThan(3);
  });

  it('names the two set-up commands', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    expect(readme).toContain('npm install && npx drbook rehearse mail-server');
    expect(readme).toContain('npm install && npm test');
  });

  it('shows a real recovery with one command, which package.json defines', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    expect(readme).toMatch(/^## See a real recovery\n[\s\S]*?```sh\nnpm install && npm run drill\n```/m);
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts.drill).toBe('bash scripts/drill.sh');
  });
});
