/**
 * The pure part of `drbook bundle` (src/core/bundle/): doc names, doc paths in the YAML,
 * INDEX.md, SHA256SUMS and the `--check` verdict. No file system, no process.
 */
import { describe, expect, it } from 'vitest';
import { parse as parseYaml, parseDocument } from 'yaml';
import { planDocNames } from '../src/core/bundle/doc-names.js';
import { docPathNodes, lineCol, rewriteDocPaths } from '../src/core/bundle/doc-paths.js';
import { localLinks, renderIndex } from '../src/core/bundle/index-md.js';
import { isLeftoverName, leftoverOf, looksLikeBundle, previousName, temporaryName } from '../src/core/bundle/layout.js';
import { nameClashes } from '../src/core/bundle/name-clash.js';
import { checkReport, describeChanges, formatSums, parseSums, sumsLine, type HashResult } from '../src/core/bundle/sums.js';
import { loadRunbookText } from '../src/core/runbook-loader.js';

describe('doc names in docs/', () => {
  it('keeps file names, and adds parent directories only where names collide', () => {
    const names = planDocNames(['/r/docs/ansible.md', '/r/docs/mail/backups.md', '/r/wiki/dns/backups.md', '/r/x/a/notes.md', '/r/y/a/notes.md']);
    expect([...names.values()]).toEqual(['ansible.md', 'mail/backups.md', 'dns/backups.md', 'x/a/notes.md', 'y/a/notes.md']);
  });

  it('tells names apart case-insensitively (a FAT stick), as a file never also a directory, and safe for FAT', () => {
    const names = planDocNames(['/r/Mail/Backups.md', '/r/mail/backups.md', '/r/docs/dns', '/r/a/dns/x.md', '/r/b/mail/x.md', '/r/odd/a:b?#c.md']);
    expect(names.get('/r/Mail/Backups.md')).toBe('Backups.md');
    expect(names.get('/r/mail/backups.md')).toBe('backups-2.md');
    expect(names.get('/r/docs/dns')).toBe('dns-2');
    expect(names.get('/r/a/dns/x.md')).toBe('dns/x.md');
    expect(names.get('/r/b/mail/x.md')).toBe('mail/x.md');
    expect(names.get('/r/odd/a:b?#c.md')).toBe('a_b__c.md');
  });
});

describe('names a stick cannot tell apart', () => {
  const nfc = 'caf\u00e9.md';
  const nfd = 'cafe\u0301.md';

  it('gives two docs named alike in NFC and NFD distinct names in docs/', () => {
    const names = planDocNames([`/r/docs/${nfc}`, `/r/docs/${nfd}`]);
    expect(names.get(`/r/docs/${nfc}`)).toBe(nfc);
    expect(names.get(`/r/docs/${nfd}`)).toBe('cafe\u0301-2.md');
  });

  it('finds names equal but for letter case or Unicode normalization, and a file named as a directory', () => {
    expect(nameClashes(['B.yml', 'a.yml', 'b.yml'])).toEqual([['B.yml', 'b.yml']]);
    expect(nameClashes([`docs/${nfc}`, `docs/${nfd}`])).toEqual([[`docs/${nfc}`, `docs/${nfd}`]]);
    expect(nameClashes(['tools', 'Tools/x.sh', 'Tools/y.sh'])).toEqual([['tools', 'Tools/x.sh']]);
    expect(nameClashes(['Tools/x.sh', 'tools'])).toEqual([['Tools/x.sh', 'tools']]);
    // A directory named in two cases merges on the stick: its files stay apart.
    expect(nameClashes(['Scripts/a.sh', 'scripts/b.sh', 'mail.yml', 'scripts/mail.yml'])).toEqual([]);
  });
});

describe('rewriting doc paths in the YAML', () => {
  const text = [
    '# top comment',
    'drbook: 1',
    'title: T',
    'docs:',
    '  # a comment above',
    '  a:',
    '    title: A',
    '    path: ../docs/a.md#restore   # trailing comment',
    "  b: { title: B, path: 'b b.md' }",
    '  c: {title: C, path: "c.md"}',
    '  d: &shared',
    '    title: D',
    '    path: d.md',
    'steps:',
    '  - id: s',
    '    title: S',
    '    docs:',
    '      - a',
    '      - { title: Inline, path: inline.md#top }',
    '      - *shared',
    '',
  ].join('\n');

  it('changes only the path values, keeping comments, layout, quoting and anchors', () => {
    const out = rewriteDocPaths(text, (v) => `../docs/new-${v.replace(/^\.\.\/docs\//, '').replace(/ /g, '_')}`);
    expect(out).toBe(
      text
        .replace('path: ../docs/a.md#restore   #', 'path: ../docs/new-a.md#restore   #')
        .replace("path: 'b b.md'", "path: '../docs/new-b_b.md'")
        .replace('path: "c.md"', 'path: "../docs/new-c.md"')
        .replace('path: d.md', 'path: ../docs/new-d.md')
        .replace('path: inline.md#top', 'path: ../docs/new-inline.md#top'),
    );
  });

  it('quotes a value that would not be a safe plain scalar', () => {
    const out = rewriteDocPaths(text, (v) => (v === 'c.md' ? undefined : `../docs/with space, comma {x}.md`));
    const data = parseYaml(out) as { docs: Record<string, { path: string }> };
    expect(data.docs.a!.path).toBe('../docs/with space, comma {x}.md');
    expect(data.docs.b!.path).toBe('../docs/with space, comma {x}.md');
    expect(data.docs.c!.path).toBe('c.md');
  });
});

describe('local links inside docs', () => {
  it('lists relative links and images, not URLs or anchors', () => {
    const md = '![net](img/net.png) [wiki](https://w.example) [here](#top) [next](other.md#x)\n[ref]: ./ref.md\n<img src="pic.jpg"> [m](mailto:a@b)';
    expect(localLinks(md)).toEqual(['img/net.png', 'other.md', './ref.md', 'pic.jpg']);
  });
});

describe('doc path nodes', () => {
  it('finds local paths in top-level docs, inline step docs and through aliases, once each, never URLs', () => {
    const doc = parseDocument(
      [
        'docs:',
        '  a: &a { title: A, path: a.md }',
        '  web: { title: W, url: "https://x.example" }',
        '  empty: { title: E, path: "" }',
        'steps:',
        '  - id: s',
        '    docs: [a, { title: I, path: "inline.md#top" }, *a]',
        '',
      ].join('\n'),
    );
    expect(docPathNodes(doc).map((n) => n.value)).toEqual(['a.md', 'inline.md#top']);
  });

  it('gives an offset as 1-based line:col', () => {
    const text = 'one\ntwo\n  three';
    expect(lineCol(text, 0)).toBe('1:1');
    expect(lineCol(text, text.indexOf('two'))).toBe('2:1');
    expect(lineCol(text, text.indexOf('three'))).toBe('3:3');
  });
});

describe('the names around a bundle', () => {
  it('tells its own leftovers from other names', () => {
    expect(leftoverOf('out', 'out.tmp-123')).toEqual({ kind: 'tmp', pid: 123 });
    expect(leftoverOf('out', 'out.old-7')).toEqual({ kind: 'old', pid: 7 });
    for (const entry of ['out', 'out.tmp-', 'out.tmp-12x', 'other.tmp-1', 'out.new-1', 'outer.tmp-1']) expect(leftoverOf('out', entry)).toBeUndefined();
    expect(leftoverOf('out', temporaryName('out', 42))).toEqual({ kind: 'tmp', pid: 42 });
    expect(leftoverOf('out', previousName('out', 42))).toEqual({ kind: 'old', pid: 42 });
    expect(isLeftoverName('any.old-9')).toBe(true);
    expect(isLeftoverName('notes.old')).toBe(false);
  });

  it('replaces a directory only when it holds SHA256SUMS and INDEX.md', () => {
    expect(looksLikeBundle(['SHA256SUMS', 'INDEX.md', 'docs'])).toBe(true);
    expect(looksLikeBundle(['SHA256SUMS'])).toBe(false);
    expect(looksLikeBundle(['INDEX.md', 'photos'])).toBe(false);
  });
});

describe('SHA256SUMS', () => {
  const h = (c: string) => c.repeat(64);

  it('writes lines sha256sum -c reads, escaping a name with a backslash or a line break', () => {
    expect(sumsLine(h('a'), 'docs/x.md')).toBe(`${h('a')}  docs/x.md\n`);
    expect(sumsLine(h('b'), 'odd\\name\nx\ry')).toBe(`\\${h('b')}  odd\\\\name\\nx\\ry\n`);
  });

  it('reads back what it writes, in order, whatever the name', () => {
    const sums = new Map([
      ['INDEX.md', h('1')],
      ['docs/a b.md', h('2')],
      ['runbooks/we\\ird\nname', h('3')],
      ['x\r', h('4')],
    ]);
    expect(parseSums(formatSums(sums))).toEqual({ entries: sums, bad: [] });
  });

  it('accepts the binary marker and upper-case hex, and names each line it cannot read', () => {
    const text = `${h('A')} *bin/tool\nnot a sum line\n${h('c')}  ok.md\n${h('d')} missing-second-space\n`;
    const { entries, bad } = parseSums(text);
    expect([...entries]).toEqual([
      ['bin/tool', h('a')],
      ['ok.md', h('c')],
    ]);
    expect(bad).toEqual([2, 4]);
  });

  it('says what changed between two bundles', () => {
    const before = new Map([
      ['a', h('1')],
      ['b', h('2')],
      ['gone', h('3')],
    ]);
    expect(describeChanges(before, before)).toBe('no file changed');
    const after = new Map([
      ['a', h('1')],
      ['b', h('9')],
      ['new', h('4')],
    ]);
    expect(describeChanges(before, after)).toBe('1 changed (b), 1 added (new), 1 removed (gone)');
    const many = new Map([...'abcdefgh'].map((c) => [c, h('5')]));
    expect(describeChanges(new Map(), many)).toBe('0 changed, 8 added (a, b, c, d, e, f, ...), 0 removed');
  });
});

describe('bundle --check verdict', () => {
  const h = (c: string) => c.repeat(64);
  const check = (sumsText: string, actual: Record<string, HashResult>, files: string[], scripts: string[] = []) => {
    const asked: string[] = [];
    const report = checkReport({
      sums: parseSums(sumsText),
      hashOf: (name) => {
        asked.push(name);
        return actual[name] ?? { missing: undefined };
      },
      files,
      scripts,
      shown: 'stick',
    });
    return { ...report, asked };
  };

  it('is OK when every listed file matches and nothing else is there', () => {
    const r = check(`${h('a')}  INDEX.md\n${h('b')}  docs/x.md\n`, { 'INDEX.md': { hash: h('a') }, 'docs/x.md': { hash: h('b') } }, ['INDEX.md', 'docs/x.md']);
    expect(r).toEqual({ lines: ['stick: OK, all 2 files match SHA256SUMS'], ok: true, asked: ['INDEX.md', 'docs/x.md'] });
  });

  it('names each changed, missing, unreadable, extra and outside file, and counts them', () => {
    const sums = [
      `${h('a')}  changed.md`,
      `${h('b')}  gone.md`,
      `${h('c')}  fifo`,
      `${h('d')}  ../../etc/passwd`,
      `${h('e')}  /etc/shadow`,
      'garbage',
      '',
    ].join('\n');
    const r = check(
      sums,
      { 'changed.md': { hash: h('f') }, fifo: { missing: 'not a regular file' } },
      ['changed.md', 'fifo', 'new.sh'],
      ['missing script: runbooks/a.yml step s calls ./x.sh'],
    );
    expect(r.ok).toBe(false);
    // A name outside the bundle is never read.
    expect(r.asked).toEqual(['changed.md', 'gone.md', 'fifo']);
    expect(r.lines).toEqual([
      'invalid: SHA256SUMS line 6 is not "<sha256>  <file>"',
      'changed: changed.md',
      'missing: gone.md',
      'missing: fifo (not a regular file)',
      'invalid: SHA256SUMS names "../../etc/passwd", outside the bundle',
      'invalid: SHA256SUMS names "/etc/shadow", outside the bundle',
      'extra: new.sh (not listed in SHA256SUMS)',
      'missing script: runbooks/a.yml step s calls ./x.sh',
      'stick: does NOT match SHA256SUMS (5 files listed: 1 changed, 2 missing, 1 not listed, 1 script steps call missing or not executable, 1 invalid line); rebuild it with drbook bundle -o stick',
    ]);
  });
});

describe('INDEX.md', () => {
  const load = (text: string, absFile: string) => {
    const { runbook, problems } = loadRunbookText(text, { file: absFile, absFile, sha256: '0'.repeat(64), fileExists: () => true });
    if (!runbook) throw new Error(problems.map((p) => p.message).join('; '));
    return runbook;
  };
  const dns = [
    'drbook: 1',
    'id: dns',
    'title: Move DNS',
    'rto: 30m',
    'docs:',
    '  backups: { title: Zone backups, path: "docs/backups.md#restore" }',
    '  console: { title: Console, url: "https://dns.example.net/console" }',
    '  unused: { title: Old wiki, url: "https://wiki.example/old" }',
    'steps:',
    '  - id: export-zone',
    '    title: Export the zone',
    '    run: echo exporting',
    '    cwd: work/zones',
    '    docs: [backups, console]',
    '',
  ].join('\n');
  const index = (docLinks: { name: string; targets: string[] }[] = []) =>
    renderIndex(
      [
        { runbook: load(dns, '/bundle/runbooks/dns.yml'), source: '/src/runbooks/dns.yml' },
        { runbook: load(dns.replace('title: Move DNS', 'title: Move DNS again'), '/bundle/runbooks/dns-copy.yml'), source: '/src/runbooks/dns-copy.yml' },
      ],
      { root: '/bundle', sourceDir: '/src/runbooks', docs: 1, made: new Date('2026-03-04T05:06:07Z'), docLinks },
    );

  it('lists the runbooks under anchors of their own, even when two share an id', () => {
    const { text } = index();
    expect(text).toMatch(/^# Recovery bundle\n\nMade 2026-03-04 05:06 UTC by drbook \S+ from `\/src\/runbooks`: 2 runbooks, 1 local doc\./);
    expect(text).toContain('- [Move DNS](#runbook-dns) — `dns`, 1 step, RTO 30m');
    expect(text).toContain('- [Move DNS again](#runbook-dns-2) — `dns`, 1 step, RTO 30m');
    expect(text).toContain('<a id="runbook-dns"></a>');
    expect(text).toContain('<a id="runbook-dns-2"></a>');
  });

  it('links local docs relative to the bundle, and lists every URL with where it is used', () => {
    const { text, urls } = index();
    expect(text).toContain('runbooks/docs/backups.md#restore');
    expect(urls).toBe(2);
    const external = text.slice(text.indexOf('### External URLs'));
    expect(external).toContain('- <https://dns.example.net/console> — `dns` step 1 `export-zone` (Console); `dns` step 1 `export-zone` (Console)');
    expect(external).toContain('- <https://wiki.example/old> — `dns` docs.unused (not linked from a step); `dns` docs.unused (not linked from a step)');
  });

  it('says which working directories and which files the docs link are not in the bundle', () => {
    const { text } = index([
      { name: 'backups.md', targets: ['img/zone.png'] },
      { name: 'plain.md', targets: [] },
    ]);
    expect(text).toContain('- `dns` step 1 `export-zone`: `work/zones` (relative to /src/runbooks)');
    expect(text).toContain('- `docs/backups.md` links `img/zone.png`');
    expect(text).not.toContain('docs/plain.md');
  });
});
