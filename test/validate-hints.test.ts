import { describe, expect, it } from 'vitest';
import { formatProblem } from '../src/core/model.js';
import { loadRunbookText } from '../src/core/runbook-loader.js';
import { reparsedPlaceholders } from '../src/core/validate-hints.js';
import { scanTemplate } from '../src/core/template.js';

function problems(text: string): string[] {
  const result = loadRunbookText(text, { file: 'rb.yml', absFile: '/rb/rb.yml', sha256: '0'.repeat(64), fileExists: () => false });
  return result.problems.map(formatProblem);
}

const head = ['drbook: 1', 'id: t', 'title: T', 'vars:', '  host: { default: h }', '  cmd: { default: uptime }', 'steps:'];
const rb = (...steps: string[]) => [...head, ...steps].join('\n') + '\n';

/** The placeholders of a run: that a command parses again, as `name@via`. */
function reparsed(run: string): string[] {
  return reparsedPlaceholders(run, scanTemplate(run).refs).map((r) => `${r.name}@${r.via}`);
}

describe('validate hints', () => {
  it('an unquoted ": " in a value says to use a block or quotes, at the value', () => {
    const got = problems(rb('  - id: a', '    title: A', '    run: echo key: value'));
    expect(got).toHaveLength(1);
    expect(got[0]).toMatch(/^rb\.yml:10:10: error: YAML: .*the value of run holds ": ".*`run: \|`.*quotes/);
  });

  it('the hint is not given for other YAML errors', () => {
    const got = problems(rb('  - id: a', '    title: "A', '    run: echo'));
    expect(got.join('\n')).not.toMatch(/run: \|/);
  });

  it('{{x}} in ssh, sh -c and eval gets a warning pointing at it; other commands do not', () => {
    const got = problems(
      rb(
        '  - id: a',
        '    title: A',
        '    run: ssh -p 22 {{host}} ls {{cmd}}',
        '  - id: b',
        '    title: B',
        '    run: sudo sh -c {{cmd}} x {{host}}; eval {{cmd}}',
        '  - id: c',
        '    title: C',
        '    run: echo {{cmd}} | grep ssh {{cmd}}',
      ),
    );
    expect(got).toEqual([
      expect.stringMatching(/^rb\.yml:10:32: warning: steps\[0\] \(a\)\.run: \{\{cmd\}\} is an argument of ssh, .*far side.*env:/),
      // Only the script of sh -c is parsed again: {{host}} after it is $1, data.
      expect.stringMatching(/^rb\.yml:13:21: warning: .*\{\{cmd\}\} is an argument of sh -c/),
      expect.stringMatching(/^rb\.yml:13:46: warning: .*\{\{cmd\}\} is an argument of eval/),
    ]);
  });

  it('watch and parallel run their arguments with a shell: {{x}} there gets the warning too', () => {
    expect(reparsed('watch -n 1 "ls {{x}}"')).toEqual(['x@watch']);
    expect(reparsed('watch -d ls {{x}}')).toEqual(['x@watch']);
    expect(reparsed('parallel echo ::: {{x}}')).toEqual(['x@parallel']);
  });

  it('the fix for ssh quotes the value for the far side: env: alone does not cross ssh', () => {
    const got = problems(rb('  - id: a', '    title: A', '    run: ssh {{host}} ls {{cmd}}'));
    expect(got).toHaveLength(1);
    expect(got[0]).toMatch(/printf %q/);
    expect(got[0]).not.toMatch(/pass it through env: instead/);
  });

  it('reads the words of each simple command', () => {
    expect(reparsed('ssh {{host}} uptime')).toEqual([]);
    expect(reparsed('ssh -i key -o BatchMode=yes {{host}} systemctl restart {{cmd}}')).toEqual(['cmd@ssh']);
    expect(reparsed('/usr/bin/ssh root@{{host}} {{cmd}}')).toEqual(['cmd@ssh']);
    expect(reparsed('timeout 10 bash -c {{cmd}}')).toEqual(['cmd@bash -c']);
    expect(reparsed('bash script.sh {{cmd}}')).toEqual([]);
    expect(reparsed("sh -c 'echo $1' x {{cmd}}")).toEqual([]);
    expect(reparsed('sudo bash -lc {{cmd}} {{host}}')).toEqual(['cmd@bash -c']);
    expect(reparsed('FOO=1 eval {{cmd}} && echo {{host}}')).toEqual(['cmd@eval']);
    expect(reparsed('echo {{cmd}}\nssh h {{host}}')).toEqual(['host@ssh']);
    expect(reparsed('')).toEqual([]);
  });
});
