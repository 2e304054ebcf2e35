import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { formatProblem, type Problem } from '../src/core/model.js';
import { sitesOf } from './helpers/shell.js';
import { loadRunbookText, resolveDocPath } from '../src/core/runbook-loader.js';
import { FIXTURES } from './helpers/run-cli.js';

/** The runbook lives at /rb/rb.yml: relative doc paths resolve against /rb. */
function load(text: string, existing: string[] = []) {
  return loadRunbookText(text, { file: 'rb.yml', absFile: '/rb/rb.yml', sha256: '0'.repeat(64), fileExists: (p) => existing.includes(p), shellSites: sitesOf });
}

/** Lines joined, so each case reads with its line numbers countable. */
const y = (...lines: string[]) => lines.join('\n') + '\n';

/** `line:col: severity: message`, as validate prints it, without the file name. */
const shown = (p: Problem) => formatProblem(p).slice('rb.yml:'.length);

interface Row {
  name: string;
  yaml: string;
  /**
   * Every problem of the file, in order: `line:col: severity: ` exactly, then a fragment
   * of the message. Nothing else may be reported.
   */
  expect: string[];
  existing?: string[];
}

function check(row: Row) {
  const result = load(row.yaml, row.existing);
  const got = result.problems.map(shown);
  const describeGot = `got:\n  ${got.join('\n  ') || '(nothing)'}`;
  expect(got.length, describeGot).toBe(row.expect.length);
  row.expect.forEach((want, i) => {
    const [, position, fragment] = /^(\d+:\d+: (?:error|warning): )(.*)$/.exec(want)!;
    expect(got[i]!.startsWith(position!), `problem ${i}: want ${want}\n${describeGot}`).toBe(true);
    expect(got[i]!.slice(position!.length), `problem ${i}: want ${want}\n${describeGot}`).toContain(fragment);
  });
  const errors = result.problems.filter((p) => p.severity === 'error').length;
  expect(result.runbook === undefined, 'a runbook is built exactly when there is no error').toBe(errors > 0);
}

const version: Row[] = [
  {
    name: 'version missing',
    yaml: y('title: T', 'steps:', '  - id: a', '    title: A'),
    expect: ['1:1: error: missing format version: add `drbook: 1` at the top'],
  },
  {
    name: 'version missing after a comment: points at the first key',
    yaml: y('# restore the mail host', 'title: T', 'steps:', '  - id: a', '    title: A'),
    expect: ['2:1: error: missing format version'],
  },
  {
    name: 'newer version',
    yaml: y('drbook: 2', 'title: T', 'steps:', '  - id: a', '    title: A'),
    expect: ['1:9: error: unsupported format version 2: this drbook reads version 1 (upgrade drbook)'],
  },
  {
    name: 'version zero',
    yaml: y('drbook: 0', 'title: T', 'steps:', '  - id: a', '    title: A'),
    expect: ['1:9: error: unsupported format version 0: this drbook reads version 1'],
  },
  {
    name: 'version as a string',
    yaml: y('drbook: "1"', 'title: T', 'steps:', '  - id: a', '    title: A'),
    expect: ['1:9: error: the format version must be the number 1, not the string "1"'],
  },
  {
    name: 'version empty: points at the key',
    yaml: y('drbook:', 'title: T', 'steps:', '  - id: a', '    title: A'),
    expect: ['1:1: error: the format version is empty: write `drbook: 1`'],
  },
  {
    name: 'version as a list',
    yaml: y('drbook: [1]', 'title: T', 'steps:', '  - id: a', '    title: A'),
    expect: ['1:9: error: unsupported format version [1]'],
  },
  { name: 'version 1.0 is 1', yaml: y('drbook: 1.0', 'title: T', 'steps:', '  - id: a', '    title: A'), expect: [] },
];

const steps: Row[] = [
  {
    name: 'duplicate step id: at the second id',
    yaml: y('drbook: 1', 'title: T', 'steps:', '  - id: a', '    title: A', '  - id: a', '    title: B'),
    expect: ['6:9: error: steps[1] (a): duplicate step id "a" (first used by steps[0])'],
  },
  {
    name: 'each repeat of an id',
    yaml: y('drbook: 1', 'title: T', 'steps:', '  - { id: x, title: A }', '  - { id: y, title: B }', '  - { id: x, title: C }', '  - { id: x, title: D }'),
    expect: [
      '6:11: error: steps[2] (x): duplicate step id "x" (first used by steps[0])',
      '7:11: error: steps[3] (x): duplicate step id "x" (first used by steps[0])',
    ],
  },
  { name: 'empty steps, reported once', yaml: y('drbook: 1', 'title: T', 'steps: []'), expect: ['3:8: error: steps: a runbook needs at least one step'] },
  { name: 'no steps', yaml: y('drbook: 1', 'title: T'), expect: ['1:1: error: runbook: missing required field `steps`'] },
  {
    name: 'steps as a mapping',
    yaml: y('drbook: 1', 'title: T', 'steps:', '  a: { title: A }'),
    expect: ['4:3: error: steps: expected array, received object'],
  },
  {
    name: 'a step that is a string',
    yaml: y('drbook: 1', 'title: T', 'steps:', '  - restart the mail server'),
    expect: ['4:5: error: steps[0]: expected object, received string'],
  },
  {
    name: 'a step without title',
    yaml: y('drbook: 1', 'title: T', 'steps:', '  - id: a', '    run: "true"'),
    expect: ['4:5: error: steps[0]: missing required field `title`'],
  },
  {
    name: 'a step id that is not a slug',
    yaml: y('drbook: 1', 'title: T', 'steps:', '  - id: Restart_Mail', '    title: A'),
    expect: ['4:9: error: steps[0].id: must be a slug'],
  },
];

const templates: Row[] = [
  {
    name: 'unknown name in a step title: at the {{',
    yaml: y('drbook: 1', 'title: T', 'vars:', '  v: {}', 'steps:', '  - id: a', '    title: A {{v}} {{nope}}'),
    expect: ['7:20: error: steps[0] (a).title: unknown variable {{nope}}: declare it under vars: or capture it in an earlier step'],
  },
  {
    name: 'unknown name in a block description: its own line',
    yaml: y(
      'drbook: 1',
      'title: T',
      'vars:',
      '  v: {}',
      'steps:',
      '  - id: a',
      '    title: A',
      '    description: |',
      '      first line {{v}}',
      '      then {{ ghost }} here',
    ),
    expect: ['10:12: error: steps[0] (a).description: unknown variable {{ghost}}'],
  },
  {
    name: 'unknown name in run',
    yaml: y('drbook: 1', 'title: T', 'vars:', '  v: {}', 'steps:', '  - id: a', '    title: A', '    run: echo {{v}} {{nope}}'),
    expect: ['8:21: error: steps[0] (a).run: unknown variable {{nope}}'],
  },
  {
    name: 'unknown name in confirm (double-quoted)',
    yaml: y('drbook: 1', 'title: T', 'steps:', '  - id: a', '    title: A', '    confirm: "Done on {{host}}?"'),
    expect: ['6:23: error: steps[0] (a).confirm: unknown variable {{host}}'],
  },
  {
    name: 'unknown name in cwd',
    yaml: y('drbook: 1', 'title: T', 'steps:', '  - id: a', '    title: A', '    run: ls', '    cwd: /srv/{{dir}}'),
    expect: ['7:15: error: steps[0] (a).cwd: unknown variable {{dir}}'],
  },
  {
    name: 'unknown name in an env value',
    yaml: y('drbook: 1', 'title: T', 'steps:', '  - id: a', '    title: A', '    run: make', '    env:', '      TOKEN: "{{secret_token}}"'),
    expect: ['8:15: error: steps[0] (a).env.TOKEN: unknown variable {{secret_token}}'],
  },
  {
    name: 'unknown name in a flow env value',
    yaml: y('drbook: 1', 'title: T', 'vars:', '  v: {}', 'steps:', '  - id: a', '    title: A', '    run: make', "    env: { A: '{{v}}', B: 'x{{zz}}' }"),
    expect: ['9:29: error: steps[0] (a).env.B: unknown variable {{zz}}'],
  },
  {
    name: 'the same unknown name twice: each copy',
    yaml: y('drbook: 1', 'title: T', 'steps:', '  - id: a', '    title: A', '    run: echo {{x}} and {{x}}'),
    expect: ['6:15: error: steps[0] (a).run: unknown variable {{x}}', '6:25: error: steps[0] (a).run: unknown variable {{x}}'],
  },
  {
    name: 'malformed template',
    yaml: y('drbook: 1', 'title: T', 'steps:', '  - id: a', '    title: A', '    run: echo {{ 1abc }} {{new-ip}}'),
    expect: ['6:15: error: steps[0] (a).run: malformed template "{{ 1abc }}"', '6:26: error: steps[0] (a).run: malformed template "{{new-ip}}"'],
  },
  {
    name: "another tool's template is passed on literally",
    yaml: y(
      'drbook: 1',
      'title: T',
      'steps:',
      '  - id: a',
      '    title: A',
      "    run: docker inspect -f '{{.State.Running}}' db && kubectl get po -o go-template='{{range .items}}{{.metadata.name}} {{- \"\\n\" -}}{{ end -}}'",
    ),
    expect: [],
  },
  {
    name: 'a var captured only later',
    yaml: y('drbook: 1', 'title: T', 'steps:', '  - id: a', '    title: Use {{key}}', '  - id: b', '    title: B', '    run: cat key', '    capture: key'),
    expect: ['5:16: error: steps[0] (a).title: unknown variable {{key}}: it is captured only later, by steps[1]'],
  },
  {
    name: 'a var captured earlier is known',
    yaml: y('drbook: 1', 'title: T', 'steps:', '  - id: b', '    title: B', '    run: cat key', '    capture: key', '  - id: a', '    title: Use {{key}}'),
    expect: [],
  },
  {
    name: 'a step using what it captures',
    yaml: y('drbook: 1', 'title: T', 'steps:', '  - id: a', '    title: A', '    run: echo {{key}}', '    capture: key'),
    expect: ['6:15: error: steps[0] (a).run: unknown variable {{key}}: a step cannot use the var it captures itself'],
  },
  {
    name: 'ask names an unknown var',
    yaml: y('drbook: 1', 'title: T', 'steps:', '  - id: a', '    title: A', '    ask: [new_ip]'),
    expect: ['6:11: error: steps[0] (a).ask: unknown variable "new_ip"'],
  },
];

const docs: Row[] = [
  {
    name: 'undefined doc key (flow list)',
    yaml: y(
      'drbook: 1',
      'title: T',
      'docs:',
      '  wiki: { title: Wiki, url: https://wiki.example.org }',
      'steps:',
      '  - id: a',
      '    title: A',
      '    docs: [wiki, nope]',
    ),
    expect: ['8:18: error: steps[0] (a).docs: "nope" is not defined under the top-level docs:'],
  },
  {
    name: 'undefined doc key (block list), no docs at all',
    yaml: y('drbook: 1', 'title: T', 'steps:', '  - id: a', '    title: A', '    docs:', '      - missing'),
    expect: ['7:9: error: steps[0] (a).docs: "missing" is not defined under the top-level docs:'],
  },
  {
    name: 'local doc path missing: #anchor stripped, relative to the runbook',
    yaml: y(
      'drbook: 1',
      'title: T',
      'docs:',
      '  notes: { title: Notes, path: ../notes/restore.md#step-2 }',
      'steps:',
      '  - id: a',
      '    title: A',
      '    docs: [notes]',
    ),
    expect: ['4:32: error: docs.notes.path: ../notes/restore.md#step-2 does not exist (looked for /notes/restore.md)'],
  },
  {
    name: 'local doc path present (anchor stripped)',
    yaml: y(
      'drbook: 1',
      'title: T',
      'docs:',
      '  notes: { title: Notes, path: ../notes/restore.md#step-2 }',
      'steps:',
      '  - id: a',
      '    title: A',
      '    docs: [notes]',
    ),
    existing: ['/notes/restore.md'],
    expect: [],
  },
  {
    name: 'absolute doc path',
    yaml: y('drbook: 1', 'title: T', 'steps:', '  - id: a', '    title: A', '    docs:', '      - title: Offline copy', '        path: /srv/docs/mail.md'),
    expect: ['8:15: error: steps[0] (a).docs[0].path: /srv/docs/mail.md does not exist (looked for /srv/docs/mail.md)'],
  },
  {
    name: 'inline doc path missing',
    yaml: y('drbook: 1', 'title: T', 'steps:', '  - id: a', '    title: A', '    docs:', '      - { title: Inline, path: inline.md }'),
    expect: ['7:32: error: steps[0] (a).docs[0].path: inline.md does not exist (looked for /rb/inline.md)'],
  },
  {
    name: 'a doc with neither url nor path',
    yaml: y('drbook: 1', 'title: T', 'docs:', '  bare: { title: Bare }', 'steps:', '  - id: a', '    title: A', '    docs: [bare]'),
    expect: ['4:9: error: docs.bare: a doc needs a url, a path, or both'],
  },
  {
    name: 'a url that is not absolute',
    yaml: y('drbook: 1', 'title: T', 'docs:', '  w: { title: W, url: wiki/page }', 'steps:', '  - id: a', '    title: A', '    docs: [w]'),
    expect: ['4:23: error: docs.w.url: "wiki/page" is not an absolute URL'],
  },
  {
    name: 'a doc that is a string: one schema error, not two',
    yaml: y('drbook: 1', 'title: T', 'docs:', '  w: https://wiki', 'steps:', '  - id: a', '    title: A', '    docs: [w]'),
    expect: ['4:6: error: docs.w: expected object, received string'],
  },
];

const conditions: Row[] = [
  ...['plan = reuse', 'plan === reuse', 'plan ==', 'reuse', '== reuse'].map((when) => ({
    name: `when "${when}" is not a condition`,
    yaml: y('drbook: 1', 'title: T', 'vars:', '  plan: { choices: [reuse, rename] }', 'steps:', '  - id: a', '    title: A {{plan}}', `    when: '${when}'`),
    expect: [`8:11: error: steps[0] (a).when: "${when}" is not a condition: use \`name == value\` or \`name != value\``],
  })),
  {
    name: 'when names an unknown var',
    yaml: y('drbook: 1', 'title: T', 'steps:', '  - id: a', '    title: A', '    when: nobody == x'),
    expect: ['6:11: error: steps[0] (a).when: unknown variable "nobody"'],
  },
  {
    name: 'when value outside a choices list',
    yaml: y('drbook: 1', 'title: T', 'vars:', '  plan: { choices: [reuse, rename] }', 'steps:', '  - id: a', '    title: A', '    when: plan == move'),
    expect: ['8:11: error: steps[0] (a).when: "move" is not one of plan\'s choices (reuse, rename)'],
  },
  {
    name: 'when value outside a choices map',
    yaml: y(
      'drbook: 1',
      'title: T',
      'vars:',
      '  mode: { choices: { fast: Quick, safe: Careful } }',
      'steps:',
      '  - id: a',
      '    title: A',
      '    when: mode != slow',
    ),
    expect: ['8:11: error: steps[0] (a).when: "slow" is not one of mode\'s choices (fast, safe)'],
  },
  {
    name: 'when with a quoted choice',
    yaml: y('drbook: 1', 'title: T', 'vars:', '  plan: { choices: [reuse, rename] }', 'steps:', '  - id: a', '    title: A', '    when: plan != "rename"'),
    expect: [],
  },
  {
    name: 'when with numeric choices',
    yaml: y('drbook: 1', 'title: T', 'vars:', '  n: { choices: [1, 2] }', 'steps:', '  - id: a', '    title: A', '    when: n == 2'),
    expect: [],
  },
  {
    name: 'when on a var captured earlier',
    yaml: y(
      'drbook: 1',
      'title: T',
      'steps:',
      '  - id: a',
      '    title: A',
      '    run: cat state',
      '    capture: state',
      '  - id: b',
      '    title: B',
      '    when: state == down',
    ),
    expect: [],
  },
  {
    name: 'when that YAML reads as a boolean',
    yaml: y('drbook: 1', 'title: T', 'steps:', '  - id: a', '    title: A', '    when: true'),
    expect: ['6:11: error: steps[0].when: expected string, received boolean'],
  },
];

const durations: Row[] = [
  {
    name: 'rto unreadable',
    yaml: y('drbook: 1', 'title: T', 'rto: 2 hours', 'steps:', '  - id: a', '    title: A'),
    expect: ['3:6: error: rto: cannot read duration "2 hours": use forms like 90m, 2h, 1h30m'],
  },
  { name: 'rto zero', yaml: y('drbook: 1', 'title: T', 'rto: 0m', 'steps:', '  - id: a', '    title: A'), expect: ['3:6: error: rto: must be more than 0'] },
  { name: 'rto spaced', yaml: y('drbook: 1', 'title: T', 'rto: 1h 30m', 'steps:', '  - id: a', '    title: A'), expect: [] },
  {
    name: 'rto as a number',
    yaml: y('drbook: 1', 'title: T', 'rto: 90', 'steps:', '  - id: a', '    title: A'),
    expect: ['3:6: error: rto: expected string, received number'],
  },
  {
    name: 'timeout unreadable',
    yaml: y('drbook: 1', 'title: T', 'steps:', '  - id: a', '    title: A', '    run: sleep 1', '    timeout: 10 min'),
    expect: ['7:14: error: steps[0] (a).timeout: cannot read duration "10 min": use forms like 30s, 10m, 1h30m'],
  },
  {
    name: 'timeout zero',
    yaml: y('drbook: 1', 'title: T', 'steps:', '  - id: a', '    title: A', '    run: sleep 1', '    timeout: 0s'),
    expect: ['7:14: error: steps[0] (a).timeout: must be more than 0'],
  },
  {
    name: 'timeout beyond a timer',
    yaml: y('drbook: 1', 'title: T', 'steps:', '  - id: a', '    title: A', '    run: sleep 1', '    timeout: 30d'),
    expect: ['7:14: error: steps[0] (a).timeout: "30d" is longer than the 24 days a timer can wait'],
  },
  { name: 'timeout 1m30s', yaml: y('drbook: 1', 'title: T', 'steps:', '  - id: a', '    title: A', '    run: sleep 1', '    timeout: 1m30s'), expect: [] },
];

const captures: Row[] = [
  {
    name: 'capture shadows a declared var',
    yaml: y('drbook: 1', 'title: T', 'vars:', '  host: {}', 'steps:', '  - id: a', '    title: A {{host}}', '    run: hostname', '    capture: host'),
    expect: ['9:14: error: steps[0] (a).capture: "host" shadows the declared var of the same name: pick another name'],
  },
  {
    name: 'capture on a manual step',
    yaml: y('drbook: 1', 'title: T', 'steps:', '  - id: a', '    title: A', '    capture: out'),
    expect: ['6:14: error: steps[0] (a).capture: a manual step has no output to capture (add run:)'],
  },
  {
    name: 'capture that is not a var name',
    yaml: y('drbook: 1', 'title: T', 'steps:', '  - id: a', '    title: A', '    run: hostname', '    capture: host-name'),
    expect: ['7:14: error: steps[0].capture: must be a variable name'],
  },
];

const recovery: Row[] = [
  {
    name: 'rpo and a captured recovery_point',
    yaml: y(
      'drbook: 1',
      'title: T',
      'rpo: 1h',
      'recovery_point: backup_time',
      'steps:',
      '  - id: a',
      '    title: A',
      '    run: restic snapshots --latest 1 --json',
      '    capture: backup_time',
      '    milestone: mitigated',
    ),
    expect: [],
  },
  {
    name: 'a declared recovery_point counts as used',
    yaml: y(
      'drbook: 1',
      'title: T',
      'rpo: 15m',
      'recovery_point: backup_time',
      'vars:',
      '  backup_time: { prompt: Time of the backup restored }',
      'steps:',
      '  - id: a',
      '    title: A',
    ),
    expect: [],
  },
  {
    name: 'recovery_point names no var',
    yaml: y('drbook: 1', 'title: T', 'rpo: 1h', 'recovery_point: backup_tme', 'steps:', '  - id: a', '    title: A'),
    expect: ['4:17: error: recovery_point: unknown variable "backup_tme"'],
  },
  {
    name: 'rpo unreadable',
    yaml: y('drbook: 1', 'title: T', 'rpo: one hour', 'steps:', '  - id: a', '    title: A'),
    expect: ['3:6: error: rpo: cannot read duration "one hour"', '3:6: warning: rpo: without recovery_point'],
  },
  {
    name: 'an unknown milestone',
    yaml: y('drbook: 1', 'title: T', 'steps:', '  - id: a', '    title: A', '    milestone: fixed'),
    expect: ['6:16: error: steps[0].milestone'],
  },
];

const patterns: Row[] = [
  {
    name: 'var pattern not a regex',
    yaml: y('drbook: 1', 'title: T', 'vars:', "  ip: { pattern: '([0-9' }", 'steps:', '  - id: a', '    title: A {{ip}}'),
    expect: ['4:18: error: vars.ip.pattern: invalid regular expression'],
  },
  {
    name: 'expect.stdout not a regex',
    yaml: y('drbook: 1', 'title: T', 'steps:', '  - id: a', '    title: A', '    run: "true"', "    expect: { stdout: '*ok' }"),
    expect: ['7:23: error: steps[0] (a).expect.stdout: invalid regular expression'],
  },
  {
    name: 'expect.stderr not a regex',
    yaml: y('drbook: 1', 'title: T', 'steps:', '  - id: a', '    title: A', '    run: "true"', '    expect:', "      stderr: 'a{2,1}'"),
    expect: ['8:15: error: steps[0] (a).expect.stderr: invalid regular expression'],
  },
  {
    name: 'default against pattern and choices',
    yaml: y(
      'drbook: 1',
      'title: T',
      'vars:',
      "  ip: { pattern: '^\\d+$', default: abc }",
      '  dc: { choices: [par, ams], default: fra }',
      'steps:',
      '  - id: a',
      '    title: A {{ip}} {{dc}}',
    ),
    expect: [
      '4:36: error: vars.ip.default: "abc" does not match its pattern ^\\d+$',
      '5:39: error: vars.dc.default: "fra" is not one of its choices (par, ams)',
    ],
  },
];

const warnings: Row[] = [
  {
    name: 'a var never used',
    yaml: y('drbook: 1', 'title: T', 'vars:', '  spare: {}', 'steps:', '  - id: a', '    title: A'),
    expect: ['4:3: warning: vars.spare is never used by any step'],
  },
  {
    name: 'a doc never linked',
    yaml: y('drbook: 1', 'title: T', 'docs:', '  wiki: { title: W, url: https://w.example }', 'steps:', '  - id: a', '    title: A'),
    expect: ['4:3: warning: docs.wiki is never linked from a step'],
  },
  {
    name: 'templates inside quotes and an unquoted here-document are natural shell: accepted',
    yaml: y(
      'drbook: 1',
      'title: T',
      'vars:',
      '  v: {}',
      'steps:',
      '  - id: a',
      '    title: A',
      '    run: |',
      `      echo "x {{v}}" '{{v}}' {{v}} # it's {{v}}`,
      '      cat <<E-F',
      '      {{v}}',
      '      E-F',
    ),
    expect: [],
  },
  {
    name: 'a template in a quoted here-document, which expands nothing',
    yaml: y('drbook: 1', 'title: T', 'vars:', '  v: {}', 'steps:', '  - id: a', '    title: A', '    run: |', "      cat <<'EOF'", '      {{v}}', '      EOF'),
    expect: [
      "10:7: error: steps[0] (a).run: {{v}} stands in a quoted here-document (<<'EOF'), which expands nothing: write the delimiter unquoted (<<EOF) or set it in the step's env:",
    ],
  },
  {
    name: 'arithmetic contexts: refused without an integer pattern, at the placeholder',
    yaml: y(
      'drbook: 1',
      'title: T',
      'vars:',
      '  v: {}',
      "  n: { pattern: '^-?\\d+$' }",
      'steps:',
      '  - id: a',
      '    title: A',
      '    run: echo $(( {{v}} + 1 )); [[ {{v}} -gt 0 ]]; (( {{n}} > 0 )); let x={{v}}',
    ),
    expect: [
      '9:19: error: steps[0] (a).run: {{v}} stands in $(( )), where the shell evaluates a value as code: give the var an integer pattern',
      '9:36: error: steps[0] (a).run: {{v}} stands in [[ … -eq|-ne|-lt|-le|-gt|-ge … ]], where the shell evaluates a value as code',
      '9:75: error: steps[0] (a).run: {{v}} stands in let, where the shell evaluates a value as code',
    ],
  },
  {
    name: 'a template in the runbook title or summary, which are not templated',
    yaml: y('drbook: 1', 'title: Restore {{db}}', 'summary: "Brings {{db}} back"', 'vars:', '  db: {}', 'steps:', '  - id: a', '    title: A {{db}}'),
    expect: [
      '2:8: warning: title: {{db}} is shown as written: only step fields are templated (title, description, run, confirm, cwd, env)',
      '3:10: warning: summary: {{db}} is shown as written: only step fields are templated (title, description, run, confirm, cwd, env)',
    ],
  },
  {
    name: 'a secret with a default',
    yaml: y('drbook: 1', 'title: T', 'vars:', '  token: { secret: true, default: hunter2 }', 'steps:', '  - id: a', '    title: A', '    run: login {{token}}'),
    expect: ['4:35: warning: vars.token: a secret with a default is stored in the runbook in clear'],
  },
  {
    name: 'run-only fields on a manual step',
    yaml: y('drbook: 1', 'title: T', 'steps:', '  - id: a', '    title: A', '    timeout: 5m', '    safe: true'),
    expect: [
      '6:5: warning: steps[0] (a).timeout has no effect on a manual step (no run:)',
      '7:5: warning: steps[0] (a).safe has no effect on a manual step (no run:)',
    ],
  },
  {
    name: 'a program that draws a screen, where the output is a pipe to the log',
    yaml: y(
      'drbook: 1',
      'title: T',
      'steps:',
      '  - id: a',
      '    title: A',
      '    run: sudo -u postfix vim /etc/postfix/main.cf',
      '  - id: b',
      '    title: B',
      '    run: "cd /etc && crontab -e"',
      '  - id: c',
      '    title: C',
      '    run: "if true; then systemctl edit postfix; fi"',
    ),
    expect: [
      "6:26: warning: steps[0] (a).run: vim draws on the terminal, but a command's output goes to its log through a pipe: it would run blind. Make it a manual step (do it in another terminal) or run it without a screen",
      "9:22: warning: steps[1] (b).run: crontab -e draws on the terminal, but a command's output goes to its log through a pipe: it would run blind. Make it a manual step (do it in another terminal) or run it without a screen",
      "12:25: warning: steps[2] (c).run: systemctl edit draws on the terminal, but a command's output goes to its log through a pipe: it would run blind. Make it a manual step (do it in another terminal) or run it without a screen",
    ],
  },
  {
    name: 'no word on batch modes, pagers reading a pipe, or these names as arguments',
    yaml: y(
      'drbook: 1',
      'title: T',
      'steps:',
      '  - id: a',
      '    title: A',
      '    run: |',
      '      top -b -n 1 | head',
      '      journalctl -u postfix | less',
      '      apt-get install -y vim less',
      '      echo top; crontab -l; systemctl status postfix --no-pager',
      '      visudo -c && man -P cat ls',
    ),
    expect: [],
  },
  {
    name: 'a tag YAML cannot resolve',
    yaml: y('drbook: 1', 'title: !vault |', '  $ANSIBLE_VAULT;1.1;AES256', 'steps:', '  - id: a', '    title: A'),
    expect: ['2:8: warning: YAML: Unresolved tag: !vault: the value is read as plain text'],
  },
];

const yamlSyntax: Row[] = [
  { name: 'a key indented one space too little', yaml: y('drbook: 1', 'title: T', 'steps:', '  - id: a', '   title: A'), expect: ['5:4: error: YAML: '] },
  {
    name: 'an unclosed double quote: at the opening quote',
    yaml: y('drbook: 1', 'title: "Restore', 'steps:', '  - id: a', '    title: A'),
    expect: ['2:8: error: YAML: Missing closing "quote'],
  },
  {
    name: 'an unclosed single quote',
    yaml: y('drbook: 1', 'title: T', 'steps:', '  - id: a', "    title: 'A"),
    expect: ["5:12: error: YAML: Missing closing 'quote"],
  },
  {
    name: 'an unclosed flow list',
    yaml: y('drbook: 1', 'title: T', 'tags: [mail, dns', 'steps:', '  - id: a', '    title: A'),
    expect: ['3:7: error: YAML: Flow sequence in block collection must be sufficiently indented and end with a ]'],
  },
  { name: 'tab indentation', yaml: y('drbook: 1', 'title: T', 'steps:', '\t- id: a'), expect: ['4:1: error: YAML: Tabs are not allowed as indentation'] },
  {
    name: 'a duplicate key',
    yaml: y('drbook: 1', 'title: T', 'title: U', 'steps:', '  - id: a', '    title: A'),
    expect: ['3:1: error: YAML: duplicate key "title" (first at line 2): map keys must be unique'],
  },
  {
    name: 'a duplicate key in a step',
    yaml: y('drbook: 1', 'title: T', 'steps:', '  - id: a', '    title: A', '    run: x', '    run: y'),
    expect: ['7:5: error: YAML: duplicate key "run" (first at line 6)'],
  },
  {
    name: 'a duplicate key in a flow map',
    yaml: y('drbook: 1', 'title: T', 'vars:', '  a: { default: 1, default: 2 }', 'steps:', '  - id: s', '    title: S {{a}}'),
    expect: ['4:20: error: YAML: duplicate key "default" (first at line 4)'],
  },
  {
    name: 'two documents',
    yaml: y('drbook: 1', 'title: T', 'steps:', '  - id: a', '    title: A', '---', 'drbook: 1'),
    expect: ['6:1: error: YAML: a runbook file holds one YAML document'],
  },
  {
    name: 'an alias to no anchor',
    yaml: y('drbook: 1', 'title: *name', 'steps:', '  - id: a', '    title: A'),
    expect: ['2:8: error: YAML: Unresolved alias'],
  },
  {
    name: 'a key without a value',
    yaml: y('drbook: 1', 'title: T', 'steps:', '  - id: a', '    title: A', '    run'),
    expect: ['6:5: error: YAML: Implicit map keys need to be followed by map values'],
  },
  {
    name: 'a colon inside a plain value',
    yaml: y('drbook: 1', 'title: Step: restore', 'steps:', '  - id: a', '    title: A'),
    expect: ['2:8: error: YAML: Nested mappings are not allowed in compact mappings'],
  },
  {
    name: 'an unclosed flow map inside a step',
    yaml: y('drbook: 1', 'title: T', 'steps:', '  - id: a', '    title: A', '    env: { A: "1"', '  - id: b', '    title: B'),
    expect: [
      '6:10: error: YAML: Flow map in block collection must be sufficiently indented and end with a }',
      '7:9: error: YAML: Nested mappings',
      '7:9: error: YAML: Implicit keys',
    ],
  },
  {
    name: 'a raw control character',
    yaml: y('drbook: 1', 'title: "bell \x07"', 'steps:', '  - id: a', '    title: A\x1b[2J'),
    expect: [
      '2:14: error: YAML: control character U+0007 in the file; if it is meant, write it as "\\x07" inside double quotes',
      '5:13: error: YAML: control character U+001B',
    ],
  },
  {
    name: 'a control character written as an escape',
    yaml: y('drbook: 1', 'title: "bell \\x07"', 'steps:', '  - id: a', '    title: A'),
    expect: ['2:8: warning: control character in the text (bell ^G): drbook shows it as text and never sends it to the terminal; remove it'],
  },
  {
    name: 'a merge of a scalar',
    yaml: y('drbook: 1', 'title: T', 'steps:', '  - <<: 5', '    id: a', '    title: A'),
    expect: ['4:5: error: YAML: Merge sources must be maps or map aliases'],
  },
  {
    name: 'a list as a key',
    yaml: y('drbook: 1', 'title: T', '? [a, b]', ': c', 'steps:', '  - id: a', '    title: A'),
    expect: ['3:3: error: [ a, b ]: unknown field'],
  },
  {
    name: 'every syntax error of the file',
    yaml: y('drbook: 1', 'title: T', 'title: U', 'steps:', '  - id: a', '    title: A', '    title: B'),
    expect: ['3:1: error: YAML: duplicate key "title"', '7:5: error: YAML: duplicate key "title"'],
  },
];

const schema: Row[] = [
  {
    name: 'a misspelt top-level field',
    yaml: y('drbook: 1', 'tittle: T', 'steps:', '  - id: a', '    title: A'),
    expect: ['1:1: error: runbook: missing required field `title`', '2:1: error: tittle: unknown field `tittle` (did you mean `title`?)'],
  },
  {
    name: 'a field from another tool',
    yaml: y('drbook: 1', 'title: T', 'steps:', '  - id: a', '    title: A', '    command: ls'),
    expect: ['6:5: error: steps[0].command: unknown field `command` (did you mean `run`?)'],
  },
  {
    name: 'wrong scalar types',
    yaml: y('drbook: 1', 'title: 5', 'steps:', '  - id: a', '    title: [A]', '    run: 5', '    safe: "yes"'),
    expect: [
      '2:8: error: title: expected string, received number',
      '5:12: error: steps[0].title: expected string, received array',
      '6:10: error: steps[0].run: expected string, received number',
      '7:11: error: steps[0].safe: expected boolean, received string',
    ],
  },
  {
    name: 'enums',
    yaml: y('drbook: 1', 'title: T', 'shell: zsh', 'steps:', '  - id: a', '    title: A', '    run: x', '    on_failure: retry'),
    expect: ['3:8: error: shell: must be one of bash, sh (not "zsh")', '8:17: error: steps[0].on_failure: must be one of ask, abort, continue (not "retry")'],
  },
  {
    name: 'exit codes',
    yaml: y('drbook: 1', 'title: T', 'steps:', '  - id: a', '    title: A', '    run: x', '    expect: { exit: [0, x, 300] }'),
    expect: ['7:25: error: steps[0].expect.exit[1]: expected number, received string', '7:28: error: steps[0].expect.exit[2]: Too big'],
  },
  {
    name: 'a bad var name: at the key',
    yaml: y('drbook: 1', 'title: T', 'vars:', '  new-ip: {}', 'steps:', '  - id: a', '    title: A'),
    expect: ['4:3: error: vars.new-ip: must be a variable name', '4:3: warning: vars.new-ip is never used by any step'],
  },
  {
    name: 'a bad env name and value',
    yaml: y('drbook: 1', 'title: T', 'steps:', '  - id: a', '    title: A', '    run: x', '    env:', '      X-Y: 1', '      Z: [1]'),
    expect: [
      '8:7: error: steps[0].env.X-Y: must be an environment variable name',
      '9:10: error: steps[0].env.Z: expected string, number or boolean, received array',
    ],
  },
  {
    name: 'a doc item of the wrong type',
    yaml: y('drbook: 1', 'title: T', 'steps:', '  - id: a', '    title: A', '    docs: [5]'),
    expect: ['6:12: error: steps[0].docs[0]: expected string or object, received number'],
  },
  {
    name: 'an empty title: at the key',
    yaml: y('drbook: 1', 'title:', 'steps:', '  - id: a', '    title: ""'),
    expect: ['2:1: error: title: is empty (expected string)', '5:12: error: steps[0].title: must not be empty'],
  },
  { name: 'a list, not a mapping', yaml: y('- drbook: 1'), expect: ['1:1: error: a runbook is a mapping of keys'] },
  { name: 'a single value', yaml: y('drbook'), expect: ['1:1: error: a runbook is a mapping of keys'] },
  { name: 'an empty file', yaml: '', expect: ['1:1: error: the file is empty: a runbook starts with `drbook: 1`'] },
  { name: 'only comments', yaml: y('# TODO write the runbook'), expect: ['1:1: error: the file is empty'] },
  { name: 'a file name that is no id, and no id: field', yaml: y('drbook: 1', 'title: T', 'steps:', '  - id: a', '    title: A'), expect: [] },
];

const merges: Row[] = [
  {
    name: 'anchors, aliases and merge keys',
    yaml: y(
      'drbook: 1',
      'title: T',
      'steps:',
      '  - &check',
      '    id: a',
      '    title: Check',
      '    run: "true"',
      '    env: &env { A: "1" }',
      '  - <<: *check',
      '    id: b',
      '    env: *env',
    ),
    expect: [],
  },
];

describe('loader: every check, at the offending node', () => {
  const tables: Record<string, Row[]> = {
    version,
    steps,
    templates,
    docs,
    conditions,
    durations,
    captures,
    recovery,
    patterns,
    warnings,
    yamlSyntax,
    schema,
    merges,
  };
  for (const [group, rows] of Object.entries(tables)) {
    describe(group, () => {
      it.each(rows.map((row) => [row.name, row] as const))('%s', (_name, row) => check(row));
    });
  }

  it('reports every problem of a file in one pass, in line order', () => {
    const text = y(
      'drbook: 1',
      'title: T',
      'rto: soon',
      'vars:',
      "  ip: { pattern: '(' }",
      '  spare: {}',
      'steps:',
      '  - id: a',
      '    title: A {{ip}} {{nope}}',
      '    when: ip = 1',
      '    comand: ls',
      '  - id: a',
      '    title: B',
      '    docs: [gone]',
    );
    const got = load(text).problems.map(shown);
    expect(got.map((p) => p.split(': ').slice(0, 2).join(': '))).toEqual([
      '3:6: error',
      '5:18: error',
      '6:3: warning',
      '9:21: error',
      '10:11: error',
      '11:5: error',
      '12:9: error',
      '14:12: error',
    ]);
  });

  it('the file name gives the id, and must then be a slug', () => {
    const text = y('drbook: 1', 'title: T', 'steps:', '  - id: a', '    title: A');
    const bad = loadRunbookText(text, { file: 'Mail Server.yml', absFile: '/rb/Mail Server.yml', sha256: '', fileExists: () => true, shellSites: sitesOf });
    expect(bad.problems.map(formatProblem)).toEqual([
      'Mail Server.yml:1:1: error: the file name "Mail Server" is not a valid runbook id: add `id:` (lower-case letters, digits, dashes)',
    ]);
    expect(load(text).runbook?.id).toBe('rb');
  });

  it('builds the runbook of the spec example, docs resolved and anchors kept apart', () => {
    const file = join(FIXTURES, 'runbooks', 'mail-server.yml');
    const result = loadRunbookText(readFileSync(file, 'utf8'), {
      file: 'mail-server.yml',
      absFile: file,
      sha256: 'ab',
      fileExists: () => true,
      shellSites: sitesOf,
    });
    expect(result.problems).toEqual([]);
    const rb = result.runbook!;
    expect(rb.id).toBe('mail-server');
    expect(rb.rtoMs).toBe(2 * 3_600_000);
    expect(rb.steps.map((s) => s.id)).toEqual(['confirm-outage', 'announce', 'order-server', 'choose-dns', 'dns-reuse', 'fingerprint', 'restore']);
    const dns = rb.steps[4]!;
    expect(dns.condition).toEqual({ name: 'dns_plan', op: '==', value: 'reuse' });
    expect(dns.timeoutMs).toBe(600_000);
    const restore = rb.steps[6]!;
    expect(restore.docLinks).toEqual([
      { key: 'ansible', title: 'Ansible playbooks', url: 'https://git.example.org/infra/ansible#mail', path: join(FIXTURES, 'runbooks', 'docs', 'ansible.md') },
      { key: 'backups', title: 'Restoring backups', path: join(FIXTURES, 'runbooks', 'docs', 'backups.md'), anchor: 'restore' },
    ]);
  });

  it('a number or boolean written otherwise than YAML reads it is used as written, with a warning to quote it', () => {
    const text = y(
      'drbook: 1',
      'title: T',
      'vars:',
      '  mode: {default: 0755}',
      '  big: {default: 12345678901234567890}',
      '  version: {default: 1.10, choices: [1.9, 1.10, 2]}',
      '  plain: {default: 42}',
      '  flag: {default: True}',
      '  tagged: {default: !!int 010}',
      'steps:',
      '  - id: a',
      '    title: A',
      '    run: echo {{mode}} {{big}} {{version}} {{plain}} {{flag}} {{tagged}} "$E"',
      '    env: {E: 1e3, F: 7}',
    );
    const result = load(text);
    expect(result.problems.map(shown)).toEqual([
      '4:19: warning: vars.mode.default: 0755 is read by YAML as the number 755; drbook uses it as written ("0755"): quote it to say so',
      '5:18: warning: vars.big.default: 12345678901234567890 is read by YAML as the number 12345678901234567000; drbook uses it as written ("12345678901234567890"): quote it to say so',
      '6:22: warning: vars.version.default: 1.10 is read by YAML as the number 1.1; drbook uses it as written ("1.10"): quote it to say so',
      '6:43: warning: vars.version.choices[1]: 1.10 is read by YAML as the number 1.1; drbook uses it as written ("1.10"): quote it to say so',
      '8:19: warning: vars.flag.default: True is read by YAML as the boolean true; drbook uses it as written ("True"): quote it to say so',
      '14:14: warning: steps[0].env.E: 1e3 is read by YAML as the number 1000; drbook uses it as written ("1e3"): quote it to say so',
    ]);
    const vars = result.runbook!.vars;
    expect([vars.mode!.default, vars.big!.default, vars.version!.default, vars.plain!.default, vars.flag!.default, vars.tagged!.default]).toEqual([
      '0755',
      '12345678901234567890',
      '1.10',
      42,
      'True',
      10,
    ]);
    expect(vars.version!.choices).toEqual([1.9, '1.10', 2]);
    expect(result.runbook!.steps[0]!.env).toEqual({ E: '1e3', F: 7 });
  });

  it('resolves doc paths against the runbook directory', () => {
    expect(resolveDocPath('/a/b/rb.yml', '../docs/x.md#sec')).toEqual({ path: '/a/docs/x.md', anchor: 'sec' });
    expect(resolveDocPath('/a/b/rb.yml', 'x.md')).toEqual({ path: '/a/b/x.md' });
    expect(resolveDocPath('/a/b/rb.yml', '/abs/x.md#')).toEqual({ path: '/abs/x.md' });
  });
});

describe('loader: any input is data, never a crash', () => {
  const inBounds = (text: string, problems: Problem[]) => {
    const lineCount = text.split('\n').length;
    for (const p of problems) {
      expect(p.line).toBeGreaterThanOrEqual(1);
      expect(p.line).toBeLessThanOrEqual(lineCount + 1);
      expect(p.col).toBeGreaterThanOrEqual(1);
      expect(p.message).not.toMatch(/\n/);
      expect(p.message.length).toBeGreaterThan(0);
    }
  };

  it('arbitrary text', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 300 }), (text) => {
        const result = load(text);
        inBounds(text, result.problems);
        if (!result.runbook) expect(result.problems.some((p) => p.severity === 'error')).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('arbitrary YAML-looking text', () => {
    const token = fc.constantFrom(
      'drbook: 1',
      'title: T',
      'steps:',
      '  - id: a',
      '    title: A',
      '    run: {{x}}',
      '  - ',
      '- ',
      ': ',
      '[',
      ']',
      '{',
      '}',
      '&a ',
      '*a',
      '<<: *a',
      '"',
      "'",
      '|',
      '>',
      '#',
      '\t',
      '---',
      '...',
      '!tag ',
      '?',
      ',',
      ' ',
      '\n',
      '\n  ',
      'vars:',
      'docs:',
      'when: x == y',
    );
    fc.assert(
      fc.property(fc.array(token, { maxLength: 60 }), (tokens) => {
        const text = tokens.join('');
        inBounds(text, load(text).problems);
      }),
      { numRuns: 400 },
    );
  });

  it('any JSON-like value as YAML: a result with positions in the file', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 5 }), (value) => {
        const text = stringify(value);
        inBounds(text, load(text).problems);
      }),
      { numRuns: 200 },
    );
  });

  it('the spec example cut at any point', () => {
    const full = readFileSync(join(FIXTURES, 'runbooks', 'mail-server.yml'), 'utf8');
    fc.assert(
      fc.property(fc.nat({ max: full.length }), fc.nat({ max: full.length }), (cut, drop) => {
        const truncated = full.slice(0, cut);
        inBounds(truncated, load(truncated).problems);
        const lines = full.split('\n');
        const without = lines.filter((_, i) => i !== drop % lines.length).join('\n');
        inBounds(without, load(without).problems);
      }),
      { numRuns: 200 },
    );
  });

  it('a structure of the right shape with wrong leaves', () => {
    const leaf = fc.oneof(
      fc.string(),
      fc.integer(),
      fc.boolean(),
      fc.constant(null),
      fc.array(fc.string(), { maxLength: 2 }),
      fc.dictionary(fc.string(), fc.string(), { maxKeys: 2 }),
    );
    const step = fc.record(
      { id: leaf, title: leaf, run: leaf, when: leaf, timeout: leaf, capture: leaf, docs: leaf, env: leaf, expect: leaf, ask: leaf },
      { requiredKeys: [] },
    );
    const runbook = fc.record(
      { drbook: leaf, title: leaf, rto: leaf, vars: leaf, docs: leaf, steps: fc.oneof(leaf, fc.array(step, { maxLength: 3 })) },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(runbook, (value) => {
        const text = stringify(value);
        const result = load(text);
        inBounds(text, result.problems);
        expect(result.runbook === undefined).toBe(result.problems.some((p) => p.severity === 'error'));
      }),
      { numRuns: 300 },
    );
  });
});

describe('TODO comments', () => {
  it('each # TODO comment left in a runbook is a warning; a "# TODO" inside a command is not one', () => {
    check({
      name: 'todos',
      yaml: y(
        'drbook: 1',
        'title: T',
        'steps:',
        '  # TODO: $STAGING is set by another block',
        '  - id: a',
        '    title: A',
        '    run: |',
        '      # TODO this is shell',
        '      echo hi',
        '    #   TODO check the timeout',
      ),
      expect: [
        '4:3: warning: TODO left in the runbook (do it, then delete the comment): $STAGING is set by another block',
        '10:5: warning: TODO left in the runbook (do it, then delete the comment): check the timeout',
      ],
    });
  });
});
