import { describe, expect, it } from 'vitest';
import { renderRunbookMarkdown, renderRunbookText } from '../src/core/render-runbook.js';
import { loadRunbookText } from '../src/core/runbook-loader.js';
import { sitesOf } from './helpers/shell.js';

const RUNBOOK = `drbook: 1
id: vars
title: Variables described in sentences
vars:
  backup_dir: { description: Where the backups are (read only)., default: drill/backups }
  host: { prompt: Which host?, default: db1 }
  plain: { description: No full stop, default: x }
steps:
  - id: s
    title: Use {{backup_dir}} on {{host}} with {{plain}}
    run: echo {{backup_dir}} {{host}} {{plain}}
`;

function load() {
  const { runbook, problems } = loadRunbookText(RUNBOOK, {
    file: 'vars.yml',
    absFile: '/runbooks/vars.yml',
    sha256: '0'.repeat(64),
    fileExists: () => true,
    shellSites: sitesOf,
  });
  expect(problems).toEqual([]);
  return runbook!;
}

describe('show: a variable described by a sentence', () => {
  it('drops its full stop before the next part, keeps a question mark', () => {
    const text = renderRunbookText(load());
    expect(text).toContain('backup_dir: Where the backups are (read only); default drill/backups');
    expect(text).toContain('host: Which host?; default db1');
    expect(text).toContain('plain: No full stop; default x');
    expect(renderRunbookMarkdown(load())).toContain('Where the backups are (read only); default drill/backups');
  });
});

describe('show --format md: a description cannot swallow the checklist', () => {
  it('an unclosed code fence in a description is closed at its end', () => {
    const text =
      'drbook: 1\nid: f\ntitle: T\nsteps:\n  - id: s\n    title: S\n    description: "Look:\\n```sh\\nls -l"\n    run: echo hi\n    confirm: Done?\n';
    const { runbook } = loadRunbookText(text, { file: 'f.yml', absFile: '/runbooks/f.yml', sha256: '0'.repeat(64), fileExists: () => true });
    const md = renderRunbookMarkdown(runbook!);
    expect(md).toContain('  Look:\n  ```sh\n  ls -l\n  ```\n\n  ```sh\n  echo hi\n  ```\n\n  - [ ] Done?\n\n  Done at: ________\n');
  });

  it('a closed fence and a longer opening one are left as written', () => {
    const text = 'drbook: 1\nid: f\ntitle: T\nsteps:\n  - id: s\n    title: S\n    description: "````\\n```\\nx\\n````"\n';
    const { runbook } = loadRunbookText(text, { file: 'f.yml', absFile: '/runbooks/f.yml', sha256: '0'.repeat(64), fileExists: () => true });
    expect(renderRunbookMarkdown(runbook!)).toContain('  ````\n  ```\n  x\n  ````\n\n  Done at');
  });
});
