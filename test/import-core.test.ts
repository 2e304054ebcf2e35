import fc from 'fast-check';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { parseMarkdown } from '../src/adapters/markdown.js';
import { parse as parseShell } from './helpers/shell.js';
import {
  buildDraft,
  consoleCommands,
  convertCommand,
  HeadingSlugger,
  renderDraft,
  revertSubstitutions,
  snakeName,
  type SourceDoc,
} from '../src/core/import/index.js';

async function draftOf(markdown: string) {
  const doc: SourceDoc = { file: 'doc.md', docPath: 'doc.md', text: markdown, tree: await parseMarkdown(markdown) };
  return buildDraft([doc], { id: 'prop', resolveLink: () => undefined, parse: parseShell });
}

describe('placeholders in commands', () => {
  const none = new Set<string>();
  it.each([
    ['ssh root@<new-host> uptime', 'ssh root@{{new_host}} uptime', {}],
    ['restic restore <BACKUP_ID>', 'restic restore {{backup_id}}', {}],
    ['cmd 2>&1 | tee log', 'cmd 2>&1 | tee log', {}],
    ['diff <(ls a) <(ls b)', 'diff <(ls a) <(ls b)', {}],
    ['sort <in.txt >out.txt', 'sort <in.txt >out.txt', {}],
    ['echo "$HOME $PATH $1 $? $@"', 'echo "$HOME $PATH $1 $? $@"', {}],
    ['ping "$NEW_HOST"', 'ping "$NEW_HOST"', { NEW_HOST: '{{new_host}}' }],
    ['ping ${NEW_HOST}', 'ping ${NEW_HOST}', { NEW_HOST: '{{new_host}}' }],
    ["echo '$NEW_HOST <x>'", "echo '$NEW_HOST <x>'", {}],
    ['echo \\$NEW_HOST', 'echo \\$NEW_HOST', {}],
    ['echo "to <host>"', 'echo "to {{host}}"', {}],
    ['cat <<EOF\n<host> $ZONE\nEOF\necho <host>', 'cat <<EOF\n{{host}} $ZONE\nEOF\necho {{host}}', { ZONE: '{{zone}}' }],
    ["cat <<'EOF'\n$ZONE\nEOF", "cat <<'EOF'\n$ZONE\nEOF", {}],
    ['echo hi # see <docs> and $LATER', 'echo hi # see <docs> and $LATER', {}],
  ])('%j', (command, run, env) => {
    const converted = convertCommand(command, none);
    expect(converted.run).toBe(run);
    expect(converted.env).toEqual(env);
    expect(revertSubstitutions(converted.run, converted.substitutions)).toBe(command);
  });

  it('names the docs assign are the script’s own, not placeholders', async () => {
    const draft = await draftOf(
      '# T\n\n## A\n\n```sh\nexport TARGET=/srv\nread -r -p "host: " HOST\n```\n\n## B\n\n```sh\nrsync x "$TARGET" $HOST $OTHER\n```\n',
    );
    expect(draft.vars.map((v) => v.name)).toEqual(['other']);
    expect(draft.steps[1]!.env).toEqual({ OTHER: '{{other}}' });
  });
});

describe('console blocks', () => {
  it('keeps the commands after prompts and continuations, drops the output', () => {
    expect(consoleCommands('$ ls -l\ntotal 0\n# id\nuid=0(root)\n$ echo a \\\n> b\na b\n> not a continuation\n')).toBe('ls -l\nid\necho a \\\nb');
  });
});

describe('slugs and names', () => {
  it('follows GitHub for duplicate headings', () => {
    const s = new HeadingSlugger();
    expect(['Close the incident', 'Close the incident', 'Close the incident', 'Étape 2: (DNS)!'].map((t) => s.slug(t))).toEqual([
      'close-the-incident',
      'close-the-incident-1',
      'close-the-incident-2',
      'étape-2-dns',
    ]);
  });
  it('makes snake_case var names', () => {
    expect(['new-host', 'NEW_HOST', 'newHost', 'your server name', '1st'].map(snakeName)).toEqual([
      'new_host',
      'new_host',
      'new_host',
      'your_server_name',
      '_1st',
    ]);
  });
});

// Shell-ish text: quotes, dollars, angle brackets, braces, backslashes, tabs, unicode.
const lineChar = fc.constantFrom(...'abcXYZ _-=$<>{}()"\'\\|&;#*.:/\t0123é→'.split(''));
const line = fc.array(lineChar, { maxLength: 30 }).map((cs) => cs.join(''));
const placeholder = fc.constantFrom('<new-host>', '<BACKUP_ID>', '${NEW_HOST}', '$ZONE', '<your server>');
const commandLine = fc.array(fc.oneof(line, placeholder), { minLength: 1, maxLength: 4 }).map((parts) => parts.join(' '));

describe('property: imported commands are the code block’s command lines', () => {
  it('sh blocks: byte-identical apart from the placeholder substitutions', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(commandLine, { minLength: 1, maxLength: 5 }), async (lines) => {
        const code = lines.join('\n');
        fc.pre(code.trim() !== '');
        // Every line behind a `$ ` prompt is a transcript, whose commands are the text after
        // the prompts (tested on its own): not this property's case.
        fc.pre(!code.split('\n').every((l) => l.trim() === '' || /^\$ /.test(l)));
        const draft = await draftOf(`# Doc\n\n## Do it\n\n\`\`\`\`sh\n${code}\n\`\`\`\`\n`);
        const step = draft.steps.find((s) => s.run !== undefined)!;
        expect(step.original).toBe(code);
        expect(revertSubstitutions(step.run!, step.substitutions!)).toBe(code);
        // The YAML text carries the run exactly.
        const yaml = parse(renderDraft(draft, 'schema.json')) as { steps: { run?: string }[] };
        expect(yaml.steps.find((s) => s.run !== undefined)!.run).toBe(step.run);
      }),
      { numRuns: 150 },
    );
  });

  it('console blocks: the lines after the prompts, output dropped', async () => {
    const entry = fc.record({
      command: commandLine,
      continuation: fc.array(commandLine, { maxLength: 2 }),
      output: fc.array(
        line.filter((l) => !/^[$#>]( |$)/.test(l)),
        { maxLength: 3 },
      ),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(entry, { minLength: 1, maxLength: 4 }), async (entries) => {
        const expected = entries
          .flatMap((e) => [e.command, ...e.continuation])
          .join('\n')
          .replace(/\n+$/, '');
        fc.pre(expected.trim() !== '');
        const transcript = entries.map((e) => [`$ ${e.command}`, ...e.continuation.map((c) => `> ${c}`), ...e.output].join('\n')).join('\n');
        const draft = await draftOf(`# Doc\n\n## Do it\n\n\`\`\`\`console\n${transcript}\n\`\`\`\`\n`);
        const step = draft.steps.find((s) => s.run !== undefined)!;
        expect(step.original).toBe(expected);
        expect(revertSubstitutions(step.run!, step.substitutions!)).toBe(expected);
      }),
      { numRuns: 150 },
    );
  });
});

describe('hostile docs', () => {
  it('CRLF, an emoji heading, braces in prose and code of other languages', async () => {
    const draft = await draftOf(
      '# T\r\n\r\n## 🔥\r\n\r\nDo it {{now}}.\r\n\r\n```sh\r\ndocker inspect -f "{{.State.Running}}" <container>\r\n```\r\n\r\n## Next\r\n\r\n```yaml\r\nkey: {{ value }}\r\n```\r\n',
    );
    const [fire, next] = draft.steps;
    expect(fire!.id).toBe('step');
    expect(fire!.docs[0]).toEqual({ title: 'doc.md: 🔥', path: 'doc.md' });
    expect(fire!.run).toBe('docker inspect -f "{{.State.Running}}" {{container}}');
    expect(fire!.description).toBe('Do it { {now}}.');
    expect(next!.description).toBe('```yaml\nkey: { { value }}\n```');
    expect(next!.confirm).toBe('Done: Next?');
  });

  it('a title and intro only: one manual step rather than none', async () => {
    const draft = await draftOf('# Failover\n\nCall the provider and ask for the spare.\n');
    expect(draft.steps.map((s) => [s.id, s.confirm])).toEqual([['failover', 'Done: Call the provider and ask for the spare?']]);
  });
});

describe('docs as people write them', () => {
  it('an sh block written as a transcript is read as one', async () => {
    const draft = await draftOf('# T\n\n## Look\n\n```sh\n$ ls -l /srv\n\n$ df -h\n```\n');
    expect(draft.steps[0]!.run).toBe('ls -l /srv\ndf -h');
  });

  it('keeps the link definitions a description refers to', async () => {
    const draft = await draftOf('# T\n\n## Check\n\nSee [the report][dash].\n\n## Other\n\nNothing.\n\n[dash]: https://backups.example.org/report\n');
    expect(draft.steps[0]!.description).toBe('See [the report][dash].\n\n[dash]: https://backups.example.org/report');
    expect(draft.steps[0]!.docs[1]).toEqual({ title: 'the report', url: 'https://backups.example.org/report' });
    expect(draft.steps[1]!.description).toBe('Nothing.');
  });
});
