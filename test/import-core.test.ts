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
  isTranscript,
  prepareSource,
  PROMPT,
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

  it('names a block assigns for itself are the script’s own, not placeholders', async () => {
    const draft = await draftOf('# T\n\n## A\n\n```sh\nexport TARGET=/srv\nread -r -p "host: " HOST\nrsync x "$TARGET" $HOST $OTHER\n```\n');
    expect(draft.vars.map((v) => v.name)).toEqual(['other']);
    expect(draft.steps[0]!.env).toEqual({ OTHER: '{{other}}' });
    expect(draft.steps[0]!.todos).toEqual([]);
  });
});

describe('what one block leaves in the shell for another (each step runs in its own shell)', () => {
  const render = (draft: Awaited<ReturnType<typeof draftOf>>) =>
    parse(renderDraft(draft, 'schema.json')) as { vars?: Record<string, unknown>; steps: { cwd?: string }[] };

  it('a plain value set in one block and used in a later one becomes a var with that default', async () => {
    const draft = await draftOf(
      '# Clean staging\n\n## Pick the staging dir\n\n```sh\nSTAGING=/srv/restore-staging\nmkdir -p "$STAGING"\n```\n\n## Empty it\n\n```sh\nrm -rf $STAGING/*\n```\n',
    );
    const [pick, empty] = draft.steps;
    expect(pick!.run).toBe('STAGING={{staging}}\nmkdir -p "$STAGING"');
    expect(revertSubstitutions(pick!.run!, pick!.substitutions!)).toBe(pick!.original);
    expect(empty!.run).toBe('rm -rf $STAGING/*');
    expect(empty!.env).toEqual({ STAGING: '{{staging}}' });
    const yaml = render(draft);
    expect(yaml.vars).toEqual({ staging: { prompt: 'STAGING (the docs set STAGING=/srv/restore-staging)', default: '/srv/restore-staging' } });
    expect(renderDraft(draft, 's.json')).toMatch(/# TODO: the docs set STAGING at doc.md:5 and use it in other blocks/);
  });

  it('an exported value reaches every later step; a variable used before the block that sets it too', async () => {
    const draft = await draftOf(
      '# T\n\n## A\n\n```sh\nping -c1 "$NEW_HOST"\n```\n\n## B\n\n```sh\nexport NEW_HOST=10.0.0.1 KUBECONFIG=/etc/k.conf\n```\n\n## C\n\n```sh\n./deploy.sh\n```\n',
    );
    const [a, b, c] = draft.steps;
    expect(a!.env).toEqual({ NEW_HOST: '{{new_host}}' });
    expect(b!.run).toBe('export NEW_HOST={{new_host}} KUBECONFIG=/etc/k.conf');
    expect(c!.env).toEqual({ NEW_HOST: '{{new_host}}' });
    // A standard variable is no var: a TODO says what is lost.
    expect(b!.todos).toEqual([
      expect.stringMatching(/^KUBECONFIG is changed here \(export NEW_HOST=10\.0\.0\.1 KUBECONFIG=\/etc\/k\.conf\) for the commands after it/),
    ]);
    expect(draft.vars.map((v) => [v.name, v.default])).toEqual([['new_host', '10.0.0.1']]);
  });

  it('a value a command computes (or read, or a loop) is asked for, with a TODO on the step that uses it', async () => {
    const draft = await draftOf(
      '# T\n\n## A\n\n```sh\nNEW_IP=$(dig +short mail.example.org)\nread -r ZONE\nfor HOST in a b; do :; done\n```\n\n## B\n\n```sh\nssh "$HOST" echo "$NEW_IP" ${ZONE}\n```\n',
    );
    const b = draft.steps[1]!;
    expect(b.env).toEqual({ NEW_IP: '{{new_ip}}', ZONE: '{{zone}}', HOST: '{{host}}' });
    expect(b.todos).toHaveLength(3);
    expect(b.todos[0]).toMatch(
      /^\$NEW_IP is set by another block \(NEW_IP=\$\(dig \+short mail\.example\.org\) at doc\.md:5\), but each step runs in its own shell/,
    );
    expect(b.todos[0]).toMatch(/capture: new_ip/);
    expect(draft.vars.find((v) => v.name === 'new_ip')!.default).toBeUndefined();
    expect(draft.steps[0]!.run).toBe(draft.steps[0]!.original);
  });

  it('names set and used in one block, or set differently in two, are not taken for plain values', async () => {
    const draft = await draftOf('# T\n\n## A\n\n```sh\nD=/a\nls $D\n```\n\n## B\n\n```sh\nD=/b\nls $D\n```\n\n## C\n\n```sh\nls $D\n```\n');
    expect(draft.steps[0]!.run).toBe('D=/a\nls $D');
    expect(draft.steps[2]!.env).toEqual({ D: '{{d}}' });
    expect(draft.steps[2]!.todos[0]).toMatch(/D=\/a at doc\.md:5, D=\/b at doc\.md:12/);
  });

  it('a cd to a known directory becomes cwd: on the later steps; an unknown one a TODO', async () => {
    const draft = await draftOf(
      '# T\n\n## A\n\n```sh\ncd /tmp\n```\n\n## B\n\n```sh\npwd\ncd sub\n```\n\n## C\n\n```sh\nls\n(cd /elsewhere)\n```\n\n## D\n\n```sh\ncd "$(mktemp -d)"\n```\n\n## E\n\n```sh\nls\n```\n\n## F\n\n```sh\ncd /srv && ls\n```\n',
    );
    expect(draft.steps.map((s) => s.cwd)).toEqual([undefined, '/tmp', '/tmp/sub', '/tmp/sub', undefined, undefined]);
    expect(draft.steps[4]!.todos).toEqual([
      expect.stringMatching(/^the docs ran `cd "\$\(mktemp -d\)"` at doc\.md:25 before this block, but each step starts in the runbook's directory: set cwd:/),
    ]);
    // A step that starts with its own cd to an absolute path needs none.
    expect(draft.steps[5]!.todos).toEqual([]);
    expect(render(draft).steps[1]!.cwd).toBe('/tmp');
  });

  it('shell settings and functions that later steps would rely on are TODOs', async () => {
    const draft = await draftOf('# T\n\n## A\n\n```sh\nset -e\nset -u\nsource ./env.sh\nlog() { echo "$@"; }\n```\n\n## B\n\n```sh\nlog restoring\n```\n');
    expect(draft.steps[0]!.todos).toEqual([
      expect.stringMatching(/^`set -u` changes this step's shell only/),
      expect.stringMatching(/^`source \.\/env\.sh` changes this step's shell only/),
    ]);
    expect(draft.steps[1]!.todos).toEqual([expect.stringMatching(/^`log` is a shell function defined at doc\.md:5/)]);
  });
});

describe('console blocks', () => {
  it('keeps the commands after prompts and continuations, drops the output', () => {
    expect(consoleCommands('$ ls -l\ntotal 0\n# id\nuid=0(root)\n$ echo a \\\n> b\na b\n> not a continuation\n')).toBe('ls -l\nid\necho a \\\nb');
  });

  it('knows the prompts shells show by default', async () => {
    expect(
      consoleCommands(
        'root@mail:~# postqueue -f\n[root@mail ~]# systemctl restart postfix\nuser@host:~/src$ mailq\nMail queue is empty\n(venv) $ python manage.py migrate\n',
      ),
    ).toBe('postqueue -f\nsystemctl restart postfix\nmailq\npython manage.py migrate');
    const draft = await draftOf('# T\n\n## A\n\n```console\nroot@mail:~# postqueue -f\n(venv) $ python manage.py migrate\n```\n');
    expect(draft.steps[0]!.run).toBe('postqueue -f\npython manage.py migrate');
  });

  it('reads a shell block that starts at a prompt as a transcript, output dropped with a TODO', async () => {
    const draft = await draftOf(
      '# T\n\n## A\n\n```bash\n$ systemctl status postfix\n● postfix.service - Postfix\n   Active: active (running)\n$ rm -rf /var/spool/postfix/deferred/*\n```\n\n## B\n\n```bash\n# a comment, not a prompt\necho $ done\n```\n',
    );
    expect(draft.steps[0]!.run).toBe('systemctl status postfix\nrm -rf /var/spool/postfix/deferred/*');
    expect(draft.steps[0]!.todos).toEqual([expect.stringMatching(/^2 lines of this bash block without a prompt were read as command output and left out/)]);
    expect(draft.steps[1]!.run).toBe('# a comment, not a prompt\necho $ done');
  });
});

describe('markdown as saved by editors and site generators', () => {
  it('CRLF and lone CR line endings become LF', () => {
    expect(prepareSource('# T\r\n\r\n```sh\r\ncd /tmp\r\npwd\r\n```\r\n').text).toBe('# T\n\n```sh\ncd /tmp\npwd\n```\n');
    expect(prepareSource('a\rb').text).toBe('a\nb');
  });

  it('front matter is no step; its title is the title when there is no H1; line numbers hold', async () => {
    const raw = '---\ntitle: Restore DNS\nsidebar_position: 3\n---\n\nUse when the NS is down.\n\n## Reload\n\n```sh\nrndc reload\n```\n';
    const prepared = prepareSource(raw);
    expect(prepared.title).toBe('Restore DNS');
    const doc: SourceDoc = { file: 'doc.md', docPath: 'doc.md', text: prepared.text, tree: await parseMarkdown(prepared.text), title: prepared.title! };
    const draft = buildDraft([doc], { id: 'x', resolveLink: () => undefined, parse: parseShell });
    expect(draft.title).toBe('Restore DNS');
    expect(draft.steps.map((s) => [s.title, s.source.line])).toEqual([
      ['doc.md', 1],
      ['Reload', 10],
    ]);
    expect(draft.steps.some((s) => s.description?.includes('---') || s.description?.includes('sidebar'))).toBe(false);
    // An H1 wins; a document that only opens with a thematic break keeps its text.
    expect(prepareSource('+++\ntitle = "Toml"\n+++\n# H\n').title).toBe('Toml');
    expect(prepareSource('---\nJust text.\n---\n').text).toBe('---\nJust text.\n---\n');
  });
});

describe('here-strings', () => {
  it('a quoted here-string opens no here-document: the next line is plain', () => {
    const converted = convertCommand('grep -c foo <<< "$X"\necho <host>', new Set());
    expect(converted.run).toBe('grep -c foo <<< "$X"\necho {{host}}');
    expect(converted.notes).toEqual([]);
    expect(convertCommand("cat <<<'<x>' && echo <y>", new Set()).run).toBe("cat <<<'<x>' && echo {{y}}");
  });
});

describe('slugs and names', () => {
  it('drops HTML tags from anchors as GitHub does, keeping their text', async () => {
    const draft = await draftOf('# T\n\n## [Link](http://x) and <kbd>Ctrl</kbd>\n\nx.\n');
    expect(draft.steps[0]!.docs[0]!.path).toBe('doc.md#link-and-ctrl');
  });

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
        fc.pre(!isTranscript(code));
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
        line.filter((l) => !PROMPT.test(l) && !/^>( |$)/.test(l)),
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
