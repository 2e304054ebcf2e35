import { describe, expect, it } from 'vitest';
import { formatProblem } from '../src/core/model.js';
import { declaredRunbookId, duplicateIdProblems, runbookIdOf } from '../src/core/runbook-id.js';
import { loadRunbookText } from '../src/core/runbook-loader.js';

describe('the id a runbook file is found by', () => {
  it.each([
    ['plain', 'drbook: 1\nid: mail-server\ntitle: T\n', { id: 'mail-server', line: 2, col: 5 }],
    ['double quotes, shown at the quote', 'drbook: 1\nid: "mail-server"\n', { id: 'mail-server', line: 2, col: 5 }],
    ['single quotes and a comment', "id:   'db' # the primary\n", { id: 'db', line: 1, col: 7 }],
    ['CRLF line ends', 'drbook: 1\r\nid: db\r\ntitle: T\r\n', { id: 'db', line: 2, col: 5 }],
    ['a quoted key', '"id": db\n', { id: 'db', line: 1, col: 7 }],
    ['after a byte-order mark', '\uFEFFid: db\n', { id: 'db', line: 1, col: 6 }],
  ])('%s', (_name, text, want) => {
    expect(declaredRunbookId(text)).toEqual(want);
  });

  it("a step's id, an empty id and a key that only starts with id are not the runbook's id", () => {
    expect(declaredRunbookId('drbook: 1\nsteps:\n  - id: a\n    title: A\n')).toBeUndefined();
    expect(declaredRunbookId('id:\n')).toBeUndefined();
    expect(declaredRunbookId('idx: a\nid:a\n')).toBeUndefined();
  });

  it('the declared id wins over the file name; the file name (at 1:1) when there is none', () => {
    expect(runbookIdOf('/rb/mail-server.yml', 'drbook: 1\nid: mail-legacy\n')).toEqual({ id: 'mail-legacy', line: 2, col: 5, declared: true });
    expect(runbookIdOf('/rb/mail-server.yaml', 'drbook: 1\ntitle: T\n')).toEqual({ id: 'mail-server', line: 1, col: 1, declared: false });
  });
});

describe('duplicate ids in a directory', () => {
  it('one error per file, at its id, naming where each other file says it', () => {
    const problems = duplicateIdProblems([
      { file: 'rb/other.yml', id: 'x', line: 2, col: 5, declared: true },
      { file: 'rb/solo.yml', id: 'solo', line: 1, col: 1, declared: false },
      { file: 'rb/x.yaml', id: 'x', line: 3, col: 5, declared: true },
      { file: 'rb/x.yml', id: 'x', line: 1, col: 1, declared: false },
    ]).map(formatProblem);
    expect(problems).toEqual([
      'rb/other.yml:2:5: error: duplicate runbook id "x", also the id of rb/x.yaml:3:5, rb/x.yml:1:1: `drbook run x` refuses to choose; give each runbook an id of its own',
      'rb/x.yaml:3:5: error: duplicate runbook id "x", also the id of rb/other.yml:2:5, rb/x.yml:1:1: `drbook run x` refuses to choose; give each runbook an id of its own',
      'rb/x.yml:1:1: error: duplicate runbook id "x" (its file name: it declares no id:), also the id of rb/other.yml:2:5, rb/x.yaml:3:5: `drbook run x` refuses to choose; give each runbook an id of its own',
    ]);
  });
});

describe('the loader', () => {
  const load = (text: string) => loadRunbookText(text, { file: 'rb.yml', absFile: '/rb/rb.yml', sha256: '0'.repeat(64), fileExists: () => false });

  it('warns when the id is written so that its line does not give it (lookup by id would miss it)', () => {
    const result = load('{drbook: 1, id: db, title: T, steps: [{id: a, title: A}]}\n');
    expect(result.runbook?.id).toBe('db');
    expect(result.problems.map(formatProblem)).toEqual([
      'rb.yml:1:17: warning: the id is "db" but drbook run finds this runbook as "rb": write `id: db` on a line of its own, at the start of the line',
    ]);
  });

  it('says nothing when the id line and the YAML agree', () => {
    expect(load('drbook: 1\nid: db\ntitle: T\nsteps:\n  - id: a\n    title: A\n').problems).toEqual([]);
    expect(load('drbook: 1\ntitle: T\nsteps:\n  - id: a\n    title: A\n').problems).toEqual([]);
  });
});

describe('problems stay one line, at the right place', () => {
  it('a line break in a file name is shown as ^J', () => {
    expect(formatProblem({ file: 'a\nb.yml', line: 1, col: 1, severity: 'error', message: 'm' })).toBe('a^Jb.yml:1:1: error: m');
  });

  it('a null key is named as such, at its line', () => {
    const result = loadRunbookText('drbook: 1\ntitle: T\n~: x\nsteps:\n  - id: s1\n    title: S1\n', {
      file: 'rb.yml',
      absFile: '/rb/rb.yml',
      sha256: '0'.repeat(64),
      fileExists: () => false,
    });
    expect(result.problems.map(formatProblem)).toEqual([
      'rb.yml:3:1: error: runbook: a key with no name (`~`, `null` or nothing before the colon): name the field or remove the line',
    ]);
  });

  it('a command that does not parse is an error at its line, as the injected check says', () => {
    const text = 'drbook: 1\ntitle: T\nsteps:\n  - id: s1\n    title: S1\n    run: |\n      if true; then\n        echo ok\n      fi fi\n';
    const ctx = { file: 'rb.yml', absFile: '/rb/rb.yml', sha256: '0'.repeat(64), fileExists: () => false };
    const first = loadRunbookText(text, ctx);
    expect(first.commandTexts).toEqual([{ text: 'if true; then\n  echo ok\nfi fi\n', dialect: 'bash' }]);
    const checked = loadRunbookText(text, { ...ctx, shellSyntax: () => ({ line: 3, message: "syntax error near unexpected token `fi'" }) });
    expect(checked.runbook).toBeUndefined();
    expect(checked.problems.map(formatProblem)).toEqual([
      "rb.yml:9:7: error: steps[0] (s1).run: does not parse as bash: syntax error near unexpected token `fi'",
    ]);
  });
});
