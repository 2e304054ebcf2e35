/**
 * The built binary, spawned as an operator runs it: stdout, stderr and exit code of
 * validate, list, show and schema, with JSON outputs parsed. Runbooks come from
 * fixtures/runbooks (and files written into each test's sandbox), never from the
 * bundled runbooks/ being written elsewhere, except for the one test that checks them.
 */
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, FIXTURES, makeSandbox, REPO, runCli, STACK_TRACE, type CliResult, type RunCliOptions, type Sandbox } from './helpers/run-cli.js';

const RUNBOOKS = join(FIXTURES, 'runbooks');

let sandbox: Sandbox | undefined;
afterEach(() => {
  sandbox?.cleanup();
  sandbox = undefined;
});

/** A fresh sandbox whose runbooks dir holds a copy of the fixtures (and `extra` files). */
function withRunbooks(extra: Record<string, string> = {}): Sandbox {
  sandbox = makeSandbox();
  cpSync(RUNBOOKS, sandbox.dir, { recursive: true });
  for (const [name, text] of Object.entries(extra)) writeFileSync(join(sandbox.dir, name), text);
  return sandbox;
}

/** Runs drbook in the sandbox; whatever the outcome, no stack trace and no hang. */
async function drbook(args: string[], options: RunCliOptions = {}): Promise<CliResult> {
  const box = sandbox ?? (sandbox = makeSandbox());
  const result = await runCli(args, {
    cwd: box.cwd,
    env: { DRBOOK_HOME: box.home, DRBOOK_DIR: box.dir, ...options.env },
    ...(options.input === undefined ? {} : { input: options.input }),
  });
  const shown = `drbook ${args.join(' ')}\nexit ${result.code}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`;
  expect(result.timedOut, `hung: ${shown}`).toBe(false);
  expect(result.stdout + result.stderr, shown).not.toMatch(STACK_TRACE);
  return result;
}

const BROKEN = [
  'drbook: 1',
  'title: Broken on purpose',
  'rto: soon',
  'steps:',
  '  - id: a',
  '    title: Use {{nope}}',
  '    comand: ls',
  '  - id: a',
  '    title: Again',
  '',
].join('\n');
const BROKEN_LINES = [
  'broken.yml:3:6: error: rto: cannot read duration "soon": use forms like 90m, 2h, 1h30m',
  'broken.yml:6:16: error: steps[0] (a).title: unknown variable {{nope}}: declare it under vars: or capture it in an earlier step',
  'broken.yml:7:5: error: steps[0].comand: unknown field `comand` (did you mean `run`?)',
  'broken.yml:8:9: error: steps[1] (a): duplicate step id "a" (first used by steps[0])',
];

beforeAll(async () => {
  await ensureBuilt();
}, 120_000);

describe('drbook validate', () => {
  it('a valid runbook: exit 0, nothing on stdout, the summary on stderr', async () => {
    const r = await drbook(['validate', join(RUNBOOKS, 'mail-server.yml')]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('1 runbook checked: all valid (0 errors, 0 warnings)\n');
  });

  it('a directory: every runbook in it, warnings printed, still exit 0', async () => {
    const box = withRunbooks();
    const r = await drbook(['validate', box.dir]);
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')).toEqual([
      `${box.dir}/with-warnings.yml:4:3: warning: vars.unused is never used by any step`,
      `${box.dir}/with-warnings.yml:9:5: warning: steps[0] (quoted).timeout has no effect on a manual step (no run:)`,
      '',
    ]);
    expect(r.stderr).toBe('4 runbooks checked: all valid (0 errors, 2 warnings)\n');
  });

  it('an invalid runbook: exit 1, each problem as file:line:col, relative to the working directory', async () => {
    sandbox = makeSandbox();
    writeFileSync(join(sandbox.cwd, 'broken.yml'), BROKEN);
    const r = await drbook(['validate', 'broken.yml']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe(BROKEN_LINES.join('\n') + '\n');
    expect(r.stderr).toBe('1 runbook checked: 1 invalid (4 errors, 0 warnings)\n');
  });

  it('a YAML syntax error: exit 1, at the line and column', async () => {
    sandbox = makeSandbox();
    writeFileSync(join(sandbox.cwd, 'syntax.yml'), 'drbook: 1\ntitle: "Restore\nsteps:\n  - id: a\n    title: A\n');
    const r = await drbook(['validate', 'syntax.yml']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('syntax.yml:2:8: error: YAML: Missing closing "quote\n');
  });

  it('--json: the files and the problems, as data', async () => {
    sandbox = makeSandbox();
    writeFileSync(join(sandbox.cwd, 'broken.yml'), BROKEN);
    cpSync(join(RUNBOOKS, 'minimal.yml'), join(sandbox.cwd, 'minimal.yml'));
    const r = await drbook(['validate', '--json', 'minimal.yml', 'broken.yml']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('');
    const report = JSON.parse(r.stdout) as unknown;
    expect(report).toEqual({
      ok: false,
      files: [
        { file: 'minimal.yml', id: 'minimal', title: 'The smallest runbook', steps: 1, valid: true, errors: 0, warnings: 0 },
        { file: 'broken.yml', valid: false, errors: 4, warnings: 0 },
      ],
      problems: BROKEN_LINES.map((line) => {
        const [, file, l, c, severity, message] = /^(.*?):(\d+):(\d+): (error|warning): (.*)$/.exec(line)!;
        return { file, line: Number(l), col: Number(c), severity, message };
      }),
    });
  });

  it('--json of valid runbooks: ok', async () => {
    const r = await drbook(['validate', '--json', RUNBOOKS]);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as { ok: boolean; files: { id: string; valid: boolean }[]; problems: { severity: string }[] };
    expect(report.ok).toBe(true);
    expect(report.files.map((f) => [f.id, f.valid])).toEqual([
      ['db-primary', true],
      ['mail-server', true],
      ['minimal', true],
      ['with-warnings', true],
    ]);
    expect(report.problems.map((p) => p.severity)).toEqual(['warning', 'warning']);
  });

  it('no path: the runbooks directory (DRBOOK_DIR, or --dir)', async () => {
    const box = withRunbooks({ 'broken.yml': BROKEN });
    const fromEnv = await drbook(['validate']);
    expect(fromEnv.code).toBe(1);
    expect(fromEnv.stderr).toBe('5 runbooks checked: 1 invalid (4 errors, 2 warnings)\n');
    const fromOption = await drbook(['validate', '--dir', RUNBOOKS], { env: { DRBOOK_DIR: box.cwd } });
    expect(fromOption.code).toBe(0);
    expect(fromOption.stderr).toBe('4 runbooks checked: all valid (0 errors, 2 warnings)\n');
  });

  it('a missing path: exit 2, and the summary says so', async () => {
    const r = await drbook(['validate', 'nope.yml', join(RUNBOOKS, 'minimal.yml')]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('nope.yml:1:1: error: no such file or directory\n');
    expect(r.stderr).toBe('1 runbook checked: all valid (0 errors, 0 warnings); 1 path not found\n');
  });

  it('a directory without runbooks: a warning, exit 0', async () => {
    sandbox = makeSandbox();
    const r = await drbook(['validate', sandbox.dir]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${sandbox.dir}:1:1: warning: no runbook files (*.yml, *.yaml) in this directory\n`);
  });

  it('an unknown flag: exit 2 and a usage hint', async () => {
    const r = await drbook(['validate', '--bogus']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe("error: unknown option '--bogus'\n(run drbook --help for usage)\n");
  });

  it('all bundled runbooks validate', async () => {
    const r = await runCli(['validate', 'runbooks'], { cwd: REPO });
    expect(r.timedOut).toBe(false);
    expect(r.stdout + r.stderr).not.toMatch(STACK_TRACE);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    // A runbook using format 1.1 fields is named once (informational, not a warning).
    const [summary, ...notes] = r.stderr.trimEnd().split('\n');
    expect(summary).toMatch(/^\d+ runbooks? checked: all valid \(0 errors, \d+ warnings?\)$/);
    for (const note of notes)
      expect(note).toMatch(/^runbooks\/[\w.-]+\.ya?ml: format 1\.1 \([a-z_, ]+\): a drbook that reads only format 1 refuses these fields$/);
  });
});

describe('drbook list', () => {
  it('a table of the runbooks: id, title, steps, rto, path', async () => {
    withRunbooks();
    const r = await drbook(['list']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines.map((l) => l.split(/ {2,}/))).toEqual([
      ['ID', 'TITLE', 'STEPS', 'RTO', 'PATH'],
      ['db-primary', 'Fail the database over to the replica', '2', '30m', `${sandbox!.dir}/db-failover.yml`],
      ['mail-server', 'Restore the mail server on a new host', '7', '2h', `${sandbox!.dir}/mail-server.yml`],
      ['minimal', 'The smallest runbook', '1', '-', `${sandbox!.dir}/minimal.yml`],
      ['with-warnings', 'Valid, with things worth a second look', '1', '-', `${sandbox!.dir}/with-warnings.yml`],
    ]);
  });

  it('an invalid runbook is flagged, with the command that explains it', async () => {
    withRunbooks({ 'broken.yml': BROKEN });
    const r = await drbook(['list']);
    expect(r.code).toBe(0);
    const row = r.stdout.split('\n').find((l) => l.startsWith('broken '));
    expect(row).toContain(`INVALID (4 errors: drbook validate ${sandbox!.dir}/broken.yml)`);
  });

  it('--json: one object a runbook', async () => {
    withRunbooks({ 'broken.yml': BROKEN });
    const r = await drbook(['list', '--json']);
    expect(r.code).toBe(0);
    const rows = JSON.parse(r.stdout) as unknown[];
    expect(rows).toEqual([
      { id: 'broken', title: '', steps: null, rto: null, path: `${sandbox!.dir}/broken.yml`, valid: false, errors: 4 },
      {
        id: 'db-primary',
        title: 'Fail the database over to the replica',
        steps: 2,
        rto: '30m',
        path: `${sandbox!.dir}/db-failover.yml`,
        valid: true,
        errors: 0,
      },
      {
        id: 'mail-server',
        title: 'Restore the mail server on a new host',
        steps: 7,
        rto: '2h',
        path: `${sandbox!.dir}/mail-server.yml`,
        valid: true,
        errors: 0,
      },
      { id: 'minimal', title: 'The smallest runbook', steps: 1, rto: null, path: `${sandbox!.dir}/minimal.yml`, valid: true, errors: 0 },
      {
        id: 'with-warnings',
        title: 'Valid, with things worth a second look',
        steps: 1,
        rto: null,
        path: `${sandbox!.dir}/with-warnings.yml`,
        valid: true,
        errors: 0,
      },
    ]);
  });

  it('paths under the working directory are shown relative', async () => {
    sandbox = makeSandbox();
    mkdirSync(join(sandbox.cwd, 'rb'));
    cpSync(join(RUNBOOKS, 'minimal.yml'), join(sandbox.cwd, 'rb', 'minimal.yml'));
    const r = await drbook(['list', '--json', '--dir', 'rb']);
    expect((JSON.parse(r.stdout) as { path: string }[]).map((row) => row.path)).toEqual(['rb/minimal.yml']);
  });

  it('an empty directory: a note on stderr, exit 0', async () => {
    sandbox = makeSandbox();
    const r = await drbook(['list']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`no runbooks in ${sandbox.dir}\n`);
  });

  it('a missing directory: exit 2 and what to set', async () => {
    const r = await drbook(['list'], { env: { DRBOOK_DIR: '/nonexistent/runbooks' } });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('drbook: runbooks directory /nonexistent/runbooks: no such file or directory (set --dir or DRBOOK_DIR)\n');
  });
});

describe('drbook show', () => {
  it('by id: the runbook as text, docs as absolute paths and urls', async () => {
    const box = withRunbooks();
    const r = await drbook(['show', 'mail-server']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    const lines = r.stdout.split('\n');
    expect(lines.slice(0, 4)).toEqual([
      'Restore the mail server on a new host',
      '=====================================',
      'Use when the mail host is lost (fire, disk, provider outage).',
      'id: mail-server   steps: 7   rto: 2h   owner: ops   tags: mail, dns',
    ]);
    expect(r.stdout).toContain('[1/7] Confirm the outage   (confirm-outage)\n');
    expect(r.stdout).toContain('      $ ping -c 3 -W 2 {{mail_host}}\n');
    expect(r.stdout).toContain(`      doc: Restoring backups\n           ${box.dir}/docs/backups.md#restore\n`);
    expect(r.stdout).toContain('      doc: Monitoring dashboard\n           https://status.example.org/internal\n');
    expect(r.stdout).toContain('  dns_token: from $DNS_API_TOKEN; secret\n');
  });

  it('by an id that differs from the file name', async () => {
    withRunbooks();
    const r = await drbook(['show', 'db-primary']);
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[0]).toBe('Fail the database over to the replica');
  });

  it('by path', async () => {
    const r = await drbook(['show', join(RUNBOOKS, 'minimal.yml')]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('[1/1] Do the one thing   (only)\n      manual\n');
  });

  it('--format md: a printable checklist, local doc links relative to the working directory', async () => {
    withRunbooks();
    const r = await drbook(['show', 'mail-server', '--format', 'md']);
    expect(r.code).toBe(0);
    expect(r.stdout.startsWith('# Restore the mail server on a new host\n')).toBe(true);
    expect(r.stdout).toContain('- [ ] **1. Confirm the outage** `confirm-outage`\n');
    expect(r.stdout).toContain('  ```sh\n  ping -c 3 -W 2 {{mail_host}}\n  ```\n');
    expect(r.stdout).toContain('  - [ ] Is the incident posted on the status page?\n');
    expect(r.stdout).toContain('[Restoring backups](<../runbooks/docs/backups.md#restore>)');
    expect(r.stdout.endsWith('\n')).toBe(true);
  });

  it('warnings go to stderr, the runbook to stdout', async () => {
    withRunbooks();
    const r = await drbook(['show', 'with-warnings']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe(
      `${sandbox!.dir}/with-warnings.yml:4:3: warning: vars.unused is never used by any step\n${sandbox!.dir}/with-warnings.yml:9:5: warning: steps[0] (quoted).timeout has no effect on a manual step (no run:)\n`,
    );
    expect(r.stdout.split('\n')[0]).toBe('Valid, with things worth a second look');
  });

  it('an invalid runbook: exit 1, the problems, then what to do', async () => {
    sandbox = makeSandbox();
    writeFileSync(join(sandbox.cwd, 'broken.yml'), BROKEN);
    const r = await drbook(['show', 'broken.yml']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      [...BROKEN_LINES, 'drbook: broken.yml is not a valid runbook (4 errors); fix it, then check with: drbook validate broken.yml', ''].join('\n'),
    );
  });

  it('an unknown id: exit 2, naming the runbooks that are there', async () => {
    withRunbooks();
    const r = await drbook(['show', 'nope']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`drbook: no runbook "nope" in ${sandbox!.dir} (there: db-primary, mail-server, minimal, with-warnings)\n`);
  });

  it('a missing file: exit 2', async () => {
    const r = await drbook(['show', 'missing/runbook.yml']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('drbook: runbook file not found: missing/runbook.yml\n');
  });

  it('a bad --format: exit 2', async () => {
    const r = await drbook(['show', join(RUNBOOKS, 'minimal.yml'), '--format', 'html']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('drbook: --format must be text or md, not "html"\n');
  });

  it('no runbook given: exit 2', async () => {
    const r = await drbook(['show']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("error: missing required argument 'runbook'\n(run drbook --help for usage)\n");
  });
});

describe('a runbook id is its declared id, else its file name', () => {
  const runbook = (id: string | undefined, title: string) =>
    `drbook: 1\n${id === undefined ? '' : `id: ${id}\n`}title: ${title}\nsteps:\n  - id: s1\n    title: S1\n    run: echo ${title}\n`;

  it('an old file named like an id that another file now declares: the id wins, the file name is no id', async () => {
    sandbox = makeSandbox();
    writeFileSync(join(sandbox.dir, 'mail-server.yml'), runbook('mail-legacy', 'OLD'));
    writeFileSync(join(sandbox.dir, 'new-mail.yml'), runbook('mail-server', 'NEW'));
    const byId = await drbook(['show', 'mail-server']);
    expect(byId.code).toBe(0);
    expect(byId.stdout.split('\n')[0]).toBe('NEW');
    const byFileName = await drbook(['show', 'new-mail']);
    expect(byFileName.code).toBe(2);
    expect(byFileName.stdout).toBe('');
    expect(byFileName.stderr).toBe(
      `drbook: no runbook has the id "new-mail" in ${sandbox.dir}: ${sandbox.dir}/new-mail.yml declares the id "mail-server"; run it by that id or by its path if it is the one you mean\n`,
    );
    const list = await drbook(['list']);
    expect(list.stderr).toBe('');
  });

  it('one id in several files, .yml and .yaml alike: lookup refuses naming each file, validate and list say where', async () => {
    sandbox = makeSandbox();
    writeFileSync(join(sandbox.dir, 'other.yml'), runbook('x', 'Other'));
    writeFileSync(join(sandbox.dir, 'x.yaml'), runbook(undefined, 'Yaml'));
    writeFileSync(join(sandbox.dir, 'x.yml'), runbook('x', 'Yml'));
    writeFileSync(join(sandbox.dir, 'solo.yml'), runbook(undefined, 'Solo'));
    const show = await drbook(['show', 'x']);
    expect(show.code).toBe(2);
    expect(show.stdout).toBe('');
    const d = sandbox.dir;
    expect(show.stderr).toBe(
      `drbook: 3 runbooks in ${d} have the id "x": ${d}/other.yml, ${d}/x.yaml, ${d}/x.yml; give the path of the one you mean (drbook validate ${d} shows where each id is written)\n`,
    );
    expect((await drbook(['show', 'solo'])).code).toBe(0);
    expect((await drbook(['show', join(d, 'x.yml')])).code).toBe(0);

    const validate = await drbook(['validate']);
    expect(validate.code).toBe(1);
    expect(validate.stdout.split('\n').filter(Boolean)).toEqual([
      `${d}/other.yml:2:5: error: duplicate runbook id "x", also the id of ${d}/x.yaml:1:1, ${d}/x.yml:2:5: \`drbook run x\` refuses to choose; give each runbook an id of its own`,
      `${d}/x.yaml:1:1: error: duplicate runbook id "x" (its file name: it declares no id:), also the id of ${d}/other.yml:2:5, ${d}/x.yml:2:5: \`drbook run x\` refuses to choose; give each runbook an id of its own`,
      `${d}/x.yml:2:5: error: duplicate runbook id "x", also the id of ${d}/other.yml:2:5, ${d}/x.yaml:1:1: \`drbook run x\` refuses to choose; give each runbook an id of its own`,
    ]);
    expect(validate.stderr).toBe('4 runbooks checked: 3 invalid (3 errors, 0 warnings)\n');
    // Each file alone is a valid runbook.
    expect((await drbook(['validate', join(d, 'x.yml'), join(d, 'other.yml')])).code).toBe(0);

    const list = await drbook(['list']);
    expect(list.code).toBe(0);
    expect(list.stderr).toBe(
      `warning: 3 runbooks have the id "x" (${d}/other.yml, ${d}/x.yaml, ${d}/x.yml): drbook run x refuses to choose; give each an id of its own (drbook validate shows where)\n`,
    );
  });
});

describe('drbook schema', () => {
  it('prints the committed JSON Schema', async () => {
    const r = await drbook(['schema']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(readFileSync(join(REPO, 'schema', 'runbook.schema.json'), 'utf8'));
    const schema = JSON.parse(r.stdout) as { title: string; properties: { steps: { minItems: number } } };
    expect(schema.title).toBe('drbook runbook');
    expect(schema.properties.steps.minItems).toBe(1);
  });
});

describe('drbook itself', () => {
  it('--version is the package version', async () => {
    const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string };
    const r = await drbook(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${pkg.version}\n`);
  });

  it('--help lists the commands', async () => {
    // Not through drbook(): the help of --debug rightly says "internal errors".
    const r = await runCli(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout + r.stderr).not.toMatch(/^\s+at /m);
    for (const command of ['list', 'validate', 'show', 'schema']) expect(r.stdout).toMatch(new RegExp(`^  ${command}\\b`, 'm'));
  });

  it('an unknown command: exit 2', async () => {
    const r = await drbook(['frobnicate']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^error: unknown command 'frobnicate'\n/);
  });
});
