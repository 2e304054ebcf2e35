/**
 * `drbook import` and `drbook new` through the built binary: golden drafts from the
 * markdown procedures under test/fixtures/import/docs, each validated and rehearsed.
 * After a deliberate change of the output:
 *
 *   UPDATE_GOLDEN=1 npx vitest run test/import.e2e
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ensureBuilt, FIXTURES, makeSandbox, REPO, runCli, STACK_TRACE, type Sandbox } from './helpers/run-cli.js';

const golden = join(REPO, 'test', 'golden', 'import');
const update = process.env.UPDATE_GOLDEN === '1';
let box: Sandbox;

beforeAll(ensureBuilt);
afterEach(() => box?.cleanup());

/** A sandbox whose working dir holds docs/ (the fixtures) and runbooks/. */
function setup(): Sandbox {
  box = makeSandbox();
  cpSync(join(FIXTURES, 'import', 'docs'), join(box.cwd, 'docs'), { recursive: true });
  return box;
}

const cli = (args: string[]) => runCli(args, { cwd: box.cwd, env: { HOME: box.home, DRBOOK_HOME: box.home, DRBOOK_DIR: join(box.cwd, 'runbooks') } });

function compare(name: string, text: string): void {
  // The schema line points into this checkout, wherever it is.
  const actual = text.replace(/^(# yaml-language-server: \$schema=).*$/m, '$1<schema>');
  const path = join(golden, name);
  if (update || !existsSync(path)) {
    mkdirSync(golden, { recursive: true });
    writeFileSync(path, actual);
    if (!update) throw new Error(`${name} did not exist: written, review it and commit it`);
    return;
  }
  expect(actual, `${name} differs: UPDATE_GOLDEN=1 rewrites it`).toBe(readFileSync(path, 'utf8'));
}

/** Validates and rehearses a runbook with --yes, giving every var a value. */
async function validateAndRehearse(file: string, values: Record<string, string> = {}): Promise<void> {
  const validated = await cli(['validate', file]);
  // A draft is valid; its TODOs are not silent: each is a warning, and nothing else is.
  const todos = (readFileSync(join(box.cwd, file), 'utf8').match(/^\s*# TODO/gm) ?? []).length;
  const output = validated.stdout + validated.stderr;
  expect(output).toMatch(new RegExp(`all valid \\(0 errors, ${todos} warnings?\\)`));
  expect(output.split('\n').filter((l) => / warning: /.test(l) && !/ warning: TODO left in the runbook/.test(l))).toEqual([]);
  expect(validated.code).toBe(0);
  const vars = Object.keys((parse(readFileSync(join(box.cwd, file), 'utf8')) as { vars?: object }).vars ?? {});
  const rehearsed = await cli(['rehearse', file, '--yes', ...vars.flatMap((v) => ['--var', `${v}=${values[v] ?? `value-of-${v}`}`])]);
  expect(rehearsed.stderr + rehearsed.stdout).toMatch(/Rehearsal completed: \d+ done/);
  expect(rehearsed.code).toBe(0);
}

describe('drbook import', () => {
  it.each([
    ['mail.yml', ['docs/restore-mail.md']],
    ['backups-and-checklist.yml', ['docs/backups.md', 'docs/checklist.md']],
    ['checklist.yml', ['docs/checklist.md']],
  ])('%s: golden draft, valid, rehearses with --yes', async (name, docs) => {
    setup();
    const out = `runbooks/${name}`;
    const result = await cli(['import', ...docs, '-o', out]);
    expect(result.stderr).not.toMatch(STACK_TRACE);
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(new RegExp(`wrote ${out}: \\d+ steps?`));
    compare(name, readFileSync(join(box.cwd, out), 'utf8'));
    await validateAndRehearse(out);
  });

  it('writes into the runbooks directory by default, named by the title', async () => {
    setup();
    const result = await cli(['import', 'docs/restore-mail.md']);
    expect(result.code).toBe(0);
    expect(existsSync(join(box.cwd, 'runbooks', 'restore-the-mail-server.yml'))).toBe(true);
  });

  it('never overwrites without --force (exit 2), and replaces with it', async () => {
    setup();
    mkdirSync(join(box.cwd, 'runbooks'));
    writeFileSync(join(box.cwd, 'runbooks', 'mine.yml'), 'precious\n');
    const refused = await cli(['import', 'docs/checklist.md', '-o', 'runbooks/mine.yml']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/already exists.*--force/);
    expect(readFileSync(join(box.cwd, 'runbooks', 'mine.yml'), 'utf8')).toBe('precious\n');
    const forced = await cli(['import', 'docs/checklist.md', '-o', 'runbooks/mine.yml', '--force']);
    expect(forced.code).toBe(0);
    expect(readFileSync(join(box.cwd, 'runbooks', 'mine.yml'), 'utf8')).toMatch(/^drbook: 1$/m);
  });

  it('writes nothing when the draft does not validate, and says which source line', async () => {
    setup();
    writeFileSync(join(box.cwd, 'docs', 'bad.md'), '# Bad\n\n## Render\n\nThe chart:\n\n```sh\nhelm template x --set a={{ bad-name }}\n```\n');
    const result = await cli(['import', 'docs/bad.md', '-o', 'runbooks/bad.yml']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/runbooks\/bad\.yml:\d+:\d+: error: .*malformed template.*\(from docs\/bad\.md:7\)/);
    expect(result.stderr).toMatch(/does not validate.*nothing written/);
    expect(existsSync(join(box.cwd, 'runbooks', 'bad.yml'))).toBe(false);
  });

  it('a doc with nothing to import says so in one line (exit 1)', async () => {
    setup();
    writeFileSync(join(box.cwd, 'docs', 'empty.md'), '# Only a title\n');
    const result = await cli(['import', 'docs/empty.md', '-o', 'runbooks/e.yml']);
    expect(result.code).toBe(1);
    expect(result.stderr.trim()).toBe('drbook: nothing to import from docs/empty.md: a step comes from a heading with text or a shell block under it');
  });

  it('-o - prints the draft and writes nothing', async () => {
    setup();
    const result = await cli(['import', 'docs/checklist.md', '-o', '-']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^# yaml-language-server: \$schema=/);
    expect(existsSync(join(box.cwd, 'runbooks'))).toBe(false);
  });

  it('a missing doc or a bad --id is a usage error, one line', async () => {
    setup();
    const missing = await cli(['import', 'docs/nowhere.md']);
    expect(missing.code).toBe(2);
    expect(missing.stderr.trim()).toBe('drbook: docs/nowhere.md: no such file or directory');
    const badId = await cli(['import', 'docs/checklist.md', '--id', 'Not A Slug']);
    expect(badId.code).toBe(2);
    expect(badId.stderr).not.toMatch(STACK_TRACE);
  });
});

describe('drbook import: one shell per step', () => {
  const doc = (name: string, text: string) => writeFileSync(join(box.cwd, 'docs', name), text);
  const run = (file: string) => cli(['run', file, '--yes']);

  it('a variable set in one section and used in the next keeps its value in the live run', async () => {
    setup();
    const staging = join(box.cwd, 'staging');
    doc(
      'clean.md',
      `# Clean staging\n\n## Pick the staging dir\n\n\`\`\`sh\nSTAGING=${staging}\nmkdir -p "$STAGING"\n\`\`\`\n\n## Empty it\n\n\`\`\`sh\necho "would clean [$STAGING/*]" > ${join(box.cwd, 'seen.txt')}\n\`\`\`\n`,
    );
    const imported = await cli(['import', 'docs/clean.md', '-o', 'runbooks/clean.yml']);
    expect(imported.code).toBe(0);
    expect(imported.stderr).toMatch(/1 var, 1 TODO to read/);
    const validated = await cli(['validate', 'runbooks/clean.yml']);
    expect(validated.stdout + validated.stderr).toMatch(/warning: TODO left in the runbook .*STAGING/);
    const ran = await run('runbooks/clean.yml');
    expect(ran.stderr + ran.stdout).toMatch(/Run completed: 2 done/);
    expect(readFileSync(join(box.cwd, 'seen.txt'), 'utf8')).toBe(`would clean [${staging}/*]\n`);
  });

  it('a cd in one section is the working directory of the next ones', async () => {
    setup();
    mkdirSync(join(box.cwd, 'work'));
    doc('cd.md', `# Move\n\n## Go\n\n\`\`\`sh\ncd ${join(box.cwd, 'work')}\n\`\`\`\n\n## Look\n\n\`\`\`sh\npwd > where.txt\n\`\`\`\n`);
    expect((await cli(['import', 'docs/cd.md', '-o', 'runbooks/cd.yml'])).code).toBe(0);
    expect((await run('runbooks/cd.yml')).code).toBe(0);
    expect(readFileSync(join(box.cwd, 'work', 'where.txt'), 'utf8')).toBe(`${join(box.cwd, 'work')}\n`);
  });

  it('a Windows-saved doc runs: no carriage return left in the commands', async () => {
    setup();
    doc('crlf.md', '# CRLF doc\r\n\r\n## Step one\r\n\r\n```sh\r\ncd /tmp\r\npwd\r\n```\r\n');
    const imported = await cli(['import', 'docs/crlf.md', '-o', 'runbooks/crlf.yml']);
    expect(imported.code).toBe(0);
    const yaml = parse(readFileSync(join(box.cwd, 'runbooks', 'crlf.yml'), 'utf8')) as { steps: { run: string }[] };
    expect(yaml.steps[0]!.run).toBe('cd /tmp\npwd');
    const ran = await run('runbooks/crlf.yml');
    expect(ran.stderr + ran.stdout).toMatch(/Run completed: 1 done/);
  });

  it('front matter is skipped and gives the title', async () => {
    setup();
    doc('fm.md', '---\ntitle: Restore DNS\nsidebar_position: 3\n---\n\nUse when the primary NS is down.\n\n## Reload\n\n```sh\nrndc reload\n```\n');
    const imported = await cli(['import', 'docs/fm.md', '-o', '-']);
    expect(imported.code).toBe(0);
    const yaml = parse(imported.stdout) as { title: string; steps: { title: string; description?: string }[] };
    expect(yaml.title).toBe('Restore DNS');
    expect(yaml.steps.map((s) => s.description ?? '').join('\n')).not.toMatch(/---|sidebar/);
  });
});

describe('drbook new', () => {
  it('writes a starter that validates and rehearses, and refuses to overwrite it', async () => {
    setup();
    const made = await cli(['new', 'mail-server']);
    expect(made.code).toBe(0);
    const file = 'runbooks/mail-server.yml';
    await validateAndRehearse(file, { new_ip: '192.0.2.10', dns_plan: 'reuse' });
    const again = await cli(['new', 'mail-server']);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/already exists/);
    rmSync(join(box.cwd, file));
  });

  it('honours --dir and refuses an id that is not a slug', async () => {
    setup();
    const made = await cli(['new', 'dns', '--dir', 'ops/books']);
    expect(made.code).toBe(0);
    expect(existsSync(join(box.cwd, 'ops', 'books', 'dns.yml'))).toBe(true);
    const bad = await cli(['new', 'Bad Id']);
    expect(bad.code).toBe(2);
  });
});

describe('the offline single file', () => {
  it('imports with plain node and no node_modules around (the parser is inside drbook.mjs)', async () => {
    const work = mkdtempSync(join(tmpdir(), 'drbook-import-single-'));
    try {
      const { buildSingleFile } = (await import(pathToFileURL(join(REPO, 'dist', 'adapters', 'single-file.js')).href)) as {
        buildSingleFile: (entry: string, out: string) => Promise<void>;
      };
      const single = join(work, 'drbook.mjs');
      await buildSingleFile(join(REPO, 'src', 'main.ts'), single);
      cpSync(join(FIXTURES, 'import', 'docs'), join(work, 'docs'), { recursive: true });
      const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: work, DRBOOK_HOME: join(work, 'home'), NO_COLOR: '1' };
      execFileSync(process.execPath, [single, 'import', 'docs/backups.md', 'docs/checklist.md', '-o', 'runbooks/close.yml'], { cwd: work, env, stdio: 'pipe' });
      const rehearsed = spawnSync(process.execPath, [single, 'rehearse', 'runbooks/close.yml', '--yes'], {
        cwd: work,
        env,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      expect(rehearsed.stdout + rehearsed.stderr).toMatch(/Rehearsal completed: 5 done/);
      expect(rehearsed.status).toBe(0);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }, 60_000);
});
