import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderTemplate, scanTemplate, shellWord, templateNames } from '../src/core/template.js';

/** Values an attacker or a careless paste would try; each must come back as itself. */
const HOSTILE = [
  '',
  ' ',
  '$(touch pwned)',
  '`touch pwned`',
  'a; touch pwned',
  'a && touch pwned',
  'a | touch pwned',
  "'; touch pwned; '",
  '"; touch pwned; "',
  "it's",
  '"quoted"',
  "'",
  "''",
  "'\\''",
  '\\',
  '\\n',
  'a\nb',
  'line\n$(touch pwned)\n',
  '\r\n',
  '\t',
  '$HOME',
  '${HOME}',
  "$'\\x41'",
  '!!',
  '!$',
  '*',
  '?',
  '[a-z]*',
  '~',
  '~root',
  '{a,b}',
  '#comment',
  'a #comment',
  '-n',
  '--help',
  '%s%s%d',
  '> pwned',
  '< /etc/passwd',
  '2>&1',
  'a=b',
  'mail.example.org',
  '10.0.0.1',
  'üñíçødé ☃ 日本語 🔥',
  '\u00a0',
  '\u202e',
  '\u0007\u001b[31m',
];

/** A process argument is UTF-8: a lone surrogate cannot travel in one and come back. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Any string a process argument can hold (no NUL, well-formed UTF-16). */
const value = fc
  .oneof(
    fc.constantFrom(...HOSTILE),
    fc.string({ unit: 'grapheme', maxLength: 40 }),
    fc.string({ unit: 'binary', maxLength: 40 }),
    fc.array(fc.constantFrom(...HOSTILE), { maxLength: 4 }).map((parts) => parts.join('')),
  )
  .filter((s) => !s.includes('\0') && !LONE_SURROGATE.test(s));

describe('shellWord: a value is exactly one shell word, and nothing runs', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'drbook-shellword-'));
    // A file for an unquoted * or ? to expand to: globbing would show.
    writeFileSync(join(dir, 'sentinel'), '');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const run = (shell: string, script: string) =>
    spawnSync(shell, ['-c', script], { cwd: dir, env: { PATH: process.env.PATH, HOME: dir, LANG: 'C.UTF-8' }, encoding: 'utf8', timeout: 5000 });

  for (const shell of ['bash', 'sh']) {
    it(`${shell} -c "printf %s <word>" prints the value back exactly`, () => {
      fc.assert(
        fc.property(value, (v) => {
          const result = run(shell, `printf %s ${shellWord(v)}`);
          expect(result.stderr).toBe('');
          expect(result.status).toBe(0);
          expect(result.stdout).toBe(v);
          expect(readdirSync(dir)).toEqual(['sentinel']);
        }),
        { numRuns: shell === 'bash' ? 150 : 60 },
      );
    });

    it(`${shell}: the word is one argument`, () => {
      fc.assert(
        fc.property(value, (v) => {
          const result = run(shell, `set -- ${shellWord(v)}; printf %s "$#"`);
          expect(result.stdout).toBe('1');
        }),
        { numRuns: 40 },
      );
    });
  }

  it('every hostile value, in bash and sh', () => {
    for (const shell of ['bash', 'sh']) {
      const script = HOSTILE.map((v) => `printf '%s\\0' ${shellWord(v)}`).join('\n');
      const result = run(shell, script);
      expect(result.stdout.split('\0').slice(0, -1)).toEqual(HOSTILE);
      expect(readdirSync(dir)).toEqual(['sentinel']);
    }
  });

  it('leaves plain words as they are and quotes the rest', () => {
    expect(shellWord('mail.example.org')).toBe('mail.example.org');
    expect(shellWord('user@host:/srv/a_b-c,d=e+f%g')).toBe('user@host:/srv/a_b-c,d=e+f%g');
    expect(shellWord('')).toBe("''");
    expect(shellWord('a b')).toBe("'a b'");
    expect(shellWord("it's")).toBe("'it'\\''s'");
    expect(shellWord('$(x)')).toBe("'$(x)'");
    expect(shellWord('~')).toBe("'~'");
    expect(shellWord('*')).toBe("'*'");
  });
});

describe('renderTemplate', () => {
  const vars: Record<string, string> = { host: 'mail.example.org', ip: '10.0.0.2', evil: '$(touch pwned); echo {{host}}', spaced: 'a b' };
  const lookup = (name: string) => vars[name];

  it.each([
    ['ping {{host}}', 'ping mail.example.org'],
    ['ping {{ host }}', 'ping mail.example.org'],
    ['{{host}}{{ip}}', 'mail.example.org10.0.0.2'],
    ['{{\n  host\n}}', 'mail.example.org'],
    ['no templates', 'no templates'],
    ['{{missing}} stays', '{{missing}} stays'],
    ['{{.State}} and {{ 1abc }} stay', '{{.State}} and {{ 1abc }} stay'],
    ['{{{host}}}', '{mail.example.org}'],
    ['{{evil}}', '$(touch pwned); echo {{host}}'],
  ])('text: %j', (template, rendered) => {
    expect(renderTemplate(template, lookup)).toBe(rendered);
  });

  it.each([
    ['ping -c 1 {{host}}', 'ping -c 1 mail.example.org'],
    ['echo {{spaced}}', "echo 'a b'"],
    ['echo {{evil}}', "echo '$(touch pwned); echo {{host}}'"],
    ['echo {{missing}}', 'echo {{missing}}'],
  ])('shell: %j', (template, rendered) => {
    expect(renderTemplate(template, lookup, 'shell')).toBe(rendered);
  });

  it('never expands a value a second time', () => {
    fc.assert(
      fc.property(value, (v) => {
        expect(renderTemplate('{{a}}', (n) => (n === 'a' ? v : 'X'))).toBe(v);
      }),
    );
  });

  it('a rendered command prints the values back through bash', () => {
    fc.assert(
      fc.property(value, value, (a, b) => {
        const command = renderTemplate("printf '%s|%s' {{a}} {{ b }}", (n) => (n === 'a' ? a : b), 'shell');
        const result = spawnSync('bash', ['-c', command], { encoding: 'utf8', timeout: 5000, cwd: tmpdir() });
        expect(result.stdout).toBe(`${a}|${b}`);
      }),
      { numRuns: 40 },
    );
  });
});

describe('scanTemplate', () => {
  it.each([
    ['echo {{a}} {{ b }} {{a}}', ['a', 'b', 'a'], []],
    ['{{\n  multi\n}}', ['multi'], []],
    ['{{{v}}}', ['v'], []],
    ['{{ 1abc }}', [], [' 1abc ']],
    ['{{new-ip}}', [], ['new-ip']],
    ['{{}}', [], ['']],
    ['{{ }}', [], [' ']],
    ["docker inspect -f '{{.State.Running}}'", [], []],
    ['{{range .items}}{{.name}}{{ end }}', ['end'], []],
    ['{{ x | default }}', [], []],
    ['{{ "quoted" }}', [], []],
    ['{ {a} } {a}} {{a}', [], []],
  ])('%j', (text, refs, malformed) => {
    const scan = scanTemplate(text);
    expect(scan.refs.map((r) => r.name)).toEqual(refs);
    expect(scan.malformed.map((r) => r.name)).toEqual(malformed);
  });

  it('gives the offset and length of each {{...}}', () => {
    const text = 'a {{x}} b {{ y }} {{1z}}';
    const { refs, malformed } = scanTemplate(text);
    expect(refs.map((r) => text.slice(r.offset, r.offset + r.length))).toEqual(['{{x}}', '{{ y }}']);
    expect(malformed.map((r) => text.slice(r.offset, r.offset + r.length))).toEqual(['{{1z}}']);
  });

  it('finds every name renderTemplate would substitute', () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 60 }),
        fc.array(fc.constantFrom('{{', '}}', '{', '}', 'a', ' ', '\n', '.', '-', '1'), { maxLength: 20 }),
        (text, noise) => {
          const mixed = text + noise.join('');
          const substituted = new Set<string>();
          renderTemplate(mixed, (name) => {
            substituted.add(name);
            return undefined;
          });
          expect(new Set(templateNames(mixed))).toEqual(substituted);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('templateNames lists each name once, in order of first use', () => {
    expect(templateNames('{{b}} {{a}} {{b}}')).toEqual(['b', 'a']);
  });
});
