/**
 * Journals written by real walks (the built engine, a real shell, the file journal), then
 * exported by the built command: the export must read what drbook actually writes.
 *
 * Needs `npm run build` first (as `npm test` does); skipped when dist/ lacks the commands.
 * With UPDATE_E2E_FIXTURES=1 the journals of this run are also copied to
 * test/fixtures/journals/e2e-*.jsonl, where the golden tests pick them up.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { marked, type Token, type Tokens } from 'marked';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist', 'commands');
const built = existsSync(join(dist, 'walk.js')) && existsSync(join(dist, 'export.js'));
const SECRET = 's3cr3t-e2e-token-value';

/** Written so its output is hostile too: pipes, a code fence, a closing </details>. */
const RUNBOOK = `drbook: 1
id: e2e-drill
title: "Restore the cache | a drill with \`code\` and <b>tags</b>"
rto: 5m
vars:
  api_token: { env: E2E_TOKEN, secret: true }
  plan: { default: rename }
  target: { default: cache-1.internal }
steps:
  - id: check
    title: Check {{target}}
    run: echo checking {{target}}; echo auth with {{api_token}}
    safe: true
  - id: announce
    title: Announce the drill
    confirm: Is the drill announced?
  - id: dns-reuse
    title: Point the old name at the new host
    when: plan == reuse
    run: echo dns
  - id: keyscan
    title: Read the host key
    run: printf 'cache-1 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE2e\\n'
    capture: host_key
  - id: flaky
    title: Warm the cache
    run: |
      echo "| table | breaker |"
      echo '\`\`\`'
      echo "</details> token" {{api_token}}
      exit 3
    on_failure: continue
  - id: final
    title: Check the hit rate
    run: sleep 0.3 && echo "hit rate 97%"
`;

let work: string;
let home: string;
const env = (): NodeJS.ProcessEnv => ({ ...process.env, DRBOOK_HOME: home, TZ: 'Europe/Paris', E2E_TOKEN: SECRET });

/** Runs a module snippet against dist/ in a child process, as the CLI would. */
function node(script: string): { stdout: string; status: number } {
  try {
    return {
      stdout: execFileSync(process.execPath, ['--input-type=module', '-e', script], {
        cwd: work,
        env: env(),
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
      status: 0,
    };
  } catch (error) {
    const e = error as { stdout: string; status: number };
    return { stdout: e.stdout, status: e.status };
  }
}

function walk(mode: 'live' | 'rehearsal'): number {
  const walkJs = JSON.stringify(join(dist, 'walk.js'));
  return node(
    `const { runWalk } = await import(${walkJs}); process.exitCode = await runWalk('runbooks/e2e-drill.yml', '${mode}', { yes: true, runSafe: true });`,
  ).status;
}

function exportSession(session: string | undefined, options: Record<string, string> = {}): string {
  const exportJs = JSON.stringify(join(dist, 'export.js'));
  const result = node(
    `const { runExport } = await import(${exportJs}); process.exitCode = await runExport(${session === undefined ? 'undefined' : JSON.stringify(session)}, ${JSON.stringify(options)});`,
  );
  expect(result.status).toBe(0);
  return result.stdout;
}

function stepsTable(md: string): Tokens.Table {
  let table: Tokens.Table | undefined;
  marked.walkTokens(marked.lexer(md), (t: Token) => {
    if (t.type === 'table' && (t as Tokens.Table).header[1]?.text === 'Step') table = t as Tokens.Table;
  });
  return table!;
}

describe.skipIf(!built)('export of journals written by real walks', () => {
  const sessions: Record<string, string> = {};

  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'drbook-export-e2e-'));
    home = join(work, 'home');
    mkdirSync(join(work, 'runbooks'));
    writeFileSync(join(work, 'runbooks', 'e2e-drill.yml'), RUNBOOK);
    expect(walk('live')).toBe(1); // a failed step (on_failure: continue)
    expect(walk('rehearsal')).toBe(0);
    const ids = readdirSync(join(home, 'sessions'))
      .filter((f) => f.endsWith('.jsonl'))
      .map((f) => f.slice(0, -'.jsonl'.length));
    for (const id of ids) {
      const first = JSON.parse(readFileSync(join(home, 'sessions', `${id}.jsonl`), 'utf8').split('\n')[0]!) as { mode: string };
      sessions[first.mode] = id;
    }
    if (process.env.UPDATE_E2E_FIXTURES === '1') {
      for (const [mode, id] of Object.entries(sessions)) {
        copyFileSync(join(home, 'sessions', `${id}.jsonl`), join(root, 'test', 'fixtures', 'journals', `e2e-${mode}.jsonl`));
      }
    }
  }, 60_000);

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('never lets the secret reach the journal or the export', () => {
    for (const id of Object.values(sessions)) {
      expect(readFileSync(join(home, 'sessions', `${id}.jsonl`), 'utf8')).not.toContain(SECRET);
      expect(exportSession(id)).not.toContain(SECRET);
      expect(exportSession(id, { format: 'json' })).not.toContain(SECRET);
    }
  });

  it('exports the live run: every step in the table, the failure with its output', () => {
    const md = exportSession(sessions.live!);
    expect(md).toMatch(/^# Post-mortem: Restore the cache \\\| a drill with \\`code\\` and &lt;b&gt;tags&lt;\/b&gt;\n/);
    const table = stepsTable(md);
    expect(table.rows.map((r) => [r[0]!.text, r[2]!.text, r[6]!.text])).toEqual([
      ['1', 'done', '0'],
      ['2', 'done', '—'],
      ['3', 'skipped', '—'],
      ['4', 'done', '0'],
      ['5', '**failed**', '3'],
      ['6', 'done', '0'],
    ]);
    expect(md).toContain('**RTO 5m not met**: recovery did not complete');
    expect(md).toContain('- **Journal:** `' + sessions.live + '`');
    expect(md).toContain('the chain verifies');
    const html = marked.parse(md, { async: false });
    expect(html).toContain('<pre><code class="language-text">| table | breaker |\n```\n&lt;/details&gt; token ***\n</code></pre>');
    expect(html).not.toMatch(/<b>tags/);
  });

  it('exports the rehearsal: the safe step ran, the rest was shown', () => {
    const md = exportSession(sessions.rehearsal!);
    expect(md).toMatch(/^# Post-mortem \(rehearsal\): /);
    expect(stepsTable(md).rows.map((r) => r[5]!.text)).toEqual(['1', '—', '—', 'rehearsed', 'rehearsed', 'rehearsed']);
  });

  it('writes -o FILE with mode 0600 and the drill history of both', () => {
    const out = join(work, 'pm.md');
    expect(exportSession(sessions.live!, { output: out })).toBe('');
    expect(statSync(out).mode & 0o777).toBe(0o600);
    expect(readFileSync(out, 'utf8')).toBe(exportSession(sessions.live!));
    const history = JSON.parse(exportSession(undefined, { all: 'e2e-drill', format: 'json' })) as { sessions: { mode: string; status: string }[] };
    expect(history.sessions.map((s) => [s.mode, s.status])).toEqual([
      ['live', 'failed'],
      ['rehearsal', 'completed'],
    ]);
  });
});
