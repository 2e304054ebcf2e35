/**
 * Terminal hygiene, field by field. Every text field the format has (read from `drbook
 * schema`, so a field added later must be added to the fixtures too) carries escape
 * sequences: CSI, OSC 0/2 (retitle), OSC 52 (clipboard), OSC 8 (hyperlink), 8-bit C1 and
 * bidi overrides. Each command that prints runbook or journal text (validate, show, list,
 * rehearse, run, note, sessions, export, undo) is run through the built binary and its
 * stdout and stderr are read byte for byte: none of those characters may come out raw.
 * Command output is the one exception (it streams raw, as in a shell), so the two outputs
 * the fixture's commands print are taken out before looking.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { visible } from '../src/core/visible.js';
import { BIN, ensureBuilt, FIXTURES, makeSandbox, runCli, type CliResult, type Sandbox } from './helpers/run-cli.js';
import { startTmux, tmuxAvailable, type TmuxSession } from './helpers/tmux.js';

/** What a terminal would act on: C0 (but newline and tab), DEL, C1, and the bidi controls. */
const RAW = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
const TOKEN = 's3cret-hyg-token';
/** What the fixture's own commands print, raw by design. */
const COMMAND_OUTPUT = ['F-captured\u001b]0;HJ\u0007', 'fail-out ***\u001b]52;c;SElKQUNL\u0007'];

let box: Sandbox;
let tmux: TmuxSession | undefined;
beforeAll(ensureBuilt);
afterEach(async () => {
  await tmux?.kill();
  tmux = undefined;
  box?.cleanup();
});

type Schema = {
  type?: string | string[];
  properties?: Record<string, Schema>;
  additionalProperties?: Schema | boolean;
  propertyNames?: Schema;
  items?: Schema;
  anyOf?: Schema[];
};

const takesString = (node: Schema): boolean => node.type === 'string' || (Array.isArray(node.type) && node.type.includes('string'));

/** Every place of the format that holds text, as `steps[].docs[].title`; a map's keys as `vars.*{key}`. */
function textFields(node: Schema, path: string, out: Set<string>): Set<string> {
  for (const alt of node.anyOf ?? []) textFields(alt, path, out);
  if (takesString(node)) out.add(path);
  if (node.items) textFields(node.items, `${path}[]`, out);
  for (const [key, child] of Object.entries(node.properties ?? {})) textFields(child, path ? `${path}.${key}` : key, out);
  if (typeof node.additionalProperties === 'object') {
    textFields(node.additionalProperties, `${path}.*`, out);
    out.add(`${path}.*{key}`);
  }
  return out;
}

const hasRaw = (text: string): boolean => new RegExp(RAW.source).test(text);

/** The fields of `value` (read with `node`) whose text or key carries a control character. */
function fieldsWithControls(node: Schema, value: unknown, path: string, out: Set<string>): Set<string> {
  for (const alt of node.anyOf ?? []) {
    if (Array.isArray(value) ? alt.items : typeof value === 'object' ? alt.type === 'object' : takesString(alt)) fieldsWithControls(alt, value, path, out);
  }
  if (typeof value === 'string' && takesString(node) && hasRaw(value)) out.add(path);
  if (Array.isArray(value) && node.items) for (const item of value) fieldsWithControls(node.items, item, `${path}[]`, out);
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    for (const [key, child] of Object.entries(value)) {
      const known = node.properties?.[key];
      if (known) fieldsWithControls(known, child, path ? `${path}.${key}` : key, out);
      else if (typeof node.additionalProperties === 'object') {
        if (hasRaw(key)) out.add(`${path}.*{key}`);
        fieldsWithControls(node.additionalProperties, child, `${path}.*`, out);
      }
    }
  }
  return out;
}

/** The fields (by their F- tag) whose control characters came out raw, with the stream. */
function leaks(label: string, result: CliResult, commandOutput: readonly string[] = []): string[] {
  const found: string[] = [];
  for (const [stream, text] of [
    ['stdout', result.stdout],
    ['stderr', result.stderr],
  ] as const) {
    let rest = text;
    for (const out of commandOutput) rest = rest.replaceAll(out, '');
    for (const match of rest.matchAll(RAW)) {
      const tag = rest.lastIndexOf('F-', match.index);
      const where = tag === -1 ? JSON.stringify(rest.slice(Math.max(0, match.index - 20), match.index + 5)) : rest.slice(tag, tag + 20).split(/[\s\\]/)[0];
      found.push(`${label} ${stream}: ${where} U+${match[0].charCodeAt(0).toString(16).padStart(4, '0')}`);
    }
  }
  return [...new Set(found)];
}

function setUp(): { env: Record<string, string>; fixture: string } {
  box = makeSandbox();
  for (const name of ['all-fields.yml', 'bad-values.yml']) copyFileSync(join(FIXTURES, 'hygiene', name), join(box.dir, name));
  // The doc paths carry escape sequences too: the files must exist for the runbook to be valid.
  writeFileSync(join(box.dir, 'F-docpath\u001b]0;HJ\u0007.md'), '# doc\n');
  writeFileSync(join(box.dir, 'F-inlinepath\u001b[2J.md'), '# doc\n');
  return { env: { DRBOOK_HOME: box.home, DRBOOK_DIR: box.dir, HYG_TOKEN: TOKEN }, fixture: join(box.dir, 'all-fields.yml') };
}

describe('terminal hygiene of every text field', () => {
  it('the fixtures carry control characters in every text field of the schema', async () => {
    const { env } = setUp();
    const schemaRun = await runCli(['schema'], { cwd: box.cwd, env });
    expect(schemaRun.code, schemaRun.stderr).toBe(0);
    const schema = JSON.parse(schemaRun.stdout) as Schema;
    const fields = textFields(schema, '', new Set());
    const covered = new Set<string>();
    for (const name of ['all-fields.yml', 'bad-values.yml']) {
      fieldsWithControls(schema, parse(readFileSync(join(FIXTURES, 'hygiene', name), 'utf8')), '', covered);
    }
    expect([...fields].filter((f) => !covered.has(f))).toEqual([]);
    // The list is read from the schema, not assumed: a sanity check that it was.
    expect(fields).toContain('steps[].undo.confirm');
    expect(fields).toContain('vars.*.choices.*{key}');
  }, 30_000);

  it('no command prints one of them raw: validate, show, list, rehearse, run, note, mark, sessions, export, undo', async () => {
    const { env, fixture } = setUp();
    const cli = (args: string[]) => runCli(args, { cwd: box.cwd, env, timeoutMs: 60_000 });
    const found: string[] = [];
    const check = async (args: string[], codes: number[], commandOutput: readonly string[] = []): Promise<CliResult> => {
      const result = await cli(args);
      expect(codes, `${args.join(' ')}: ${result.stderr}`).toContain(result.code);
      expect(result.stdout + result.stderr).not.toContain(TOKEN);
      found.push(...leaks(args.slice(0, 3).join(' '), result, commandOutput));
      return result;
    };

    const validated = await check(['validate', fixture, join(box.dir, 'bad-values.yml')], [1]);
    // Each field reached the screen (as text): a field nobody prints would prove nothing.
    for (const tag of ['F-title', 'F-prompt', 'F-undoconfirm', 'F-expecterr', 'F-rto', 'F-untiltimeout', 'F-milestone', 'F-when']) {
      expect(validated.stdout + validated.stderr).toContain(tag);
    }
    await check(['validate', fixture, '--json'], [0]);
    await check(['show', 'all-fields'], [0]);
    await check(['show', 'all-fields', '--format', 'md'], [0]);
    await check(['list'], [0, 1]);
    await check(['list', '--json'], [0, 1]);
    await check(['rehearse', 'all-fields', '--yes'], [0, 1]);
    const run = await check(['run', 'all-fields', '--yes'], [1], COMMAND_OUTPUT);
    expect(run.stdout + run.stderr).toContain('F-usecapture F-captured\\e]0;HJ^G');
    const session = /session (\S+)/.exec(run.stdout)![1]!;
    await check(['note', '--session', session, 'F-note \u001b]0;HJ\u0007\u202e\u009b2J'], [0]);
    await check(['mark', 'resolved', '--session', session, 'F-mark \u001b]52;c;SElKQUNL\u0007'], [0]);
    writeFileSync(join(box.cwd, 'evidence.txt'), 'evidence\n');
    await check(['attach', join(box.cwd, 'evidence.txt'), '--session', session, '--note', 'F-attach \u001b[2J\u2066'], [0]);
    await check(['sessions'], [0]);
    await check(['sessions', '--json'], [0]);
    const exported = await check(['export', session], [0]);
    expect(exported.stdout).toContain('F-note');
    await check(['export', session, '--format', 'json'], [0]);
    await check(['export', '--all', 'all-fields'], [0]);
    await check(['undo', session, '--yes'], [0, 1], ['undo-ok']);

    expect(found).toEqual([]);

    // -o FILE is the document itself (masked, not made visible); stdout is that document made visible.
    const file = join(box.cwd, 'pm.md');
    await check(['export', session, '-o', file], [0]);
    const written = readFileSync(file, 'utf8');
    expect(written).not.toContain(TOKEN);
    expect(written).toContain('fail-out ***');
    expect(written).toContain('\u202e');
    const again = await cli(['export', session]);
    expect(again.stdout).toBe(visible(written));
  }, 240_000);

  const hasScript = spawnSync('script', ['--version'], { stdio: 'ignore' }).status === 0;
  it.skipIf(!tmuxAvailable() || !hasScript)(
    'the interactive walk (prompts, choices, questions) sends none of them raw to the terminal',
    async () => {
      const { env } = setUp();
      const raw = join(box.cwd, 'raw.log');
      // script(1) records every byte drbook writes to its terminal, escape sequences included.
      tmux = await startTmux({
        cmd: 'script',
        args: ['-qfc', `${process.execPath} ${BIN} run all-fields`, raw],
        cwd: box.cwd,
        cols: 200,
        rows: 60,
        env: { ...env, NO_COLOR: undefined },
      });
      // Each question in turn, answered with its default once it is on the screen.
      for (const question of ['? F-prompt', '? Choose listed', '? Step 1/5', '? F-confirm', '? Step 2/5', '? F-manualconfirm', '? Step 3/5', '? Step 5/5']) {
        await tmux.waitFor(question, { timeoutMs: 30_000 });
        await tmux.sendKeys('Enter');
      }
      await tmux.waitFor('Next: drbook export', { timeoutMs: 30_000 });
      await tmux.waitForExit({ timeoutMs: 30_000 });
      let bytes = readFileSync(raw, 'utf8');
      for (const out of COMMAND_OUTPUT) bytes = bytes.replaceAll(out, '');
      // The prompts' own colours and cursor moves are CSI sequences drbook writes; what no
      // runbook text may bring is an OSC, a clear, a bell, an 8-bit C1 or a bidi control.
      const hijacks = [...bytes.matchAll(/\u001b\]|\u001b\[2J|\u0007|[\u0080-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g)].map((m) =>
        JSON.stringify(bytes.slice(Math.max(0, m.index - 30), m.index + 8)),
      );
      expect(hijacks).toEqual([]);
      for (const shown of ['F-prompt \\e]0;HJ^G\\e[2J', 'F-choicelabel \\e]0;HJ^G\\x9b2J', 'F-title \\e]0;HJ^G', '\\u202e']) expect(bytes).toContain(shown);
    },
    120_000,
  );
});
