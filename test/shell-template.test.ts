import { describe, expect, it } from 'vitest';
import { formatProblem } from '../src/core/model.js';
import { loadRunbookText } from '../src/core/runbook-loader.js';
import { programWarning, siteRefusal } from '../src/core/shell-template.js';
import { sitesOf } from './helpers/shell.js';

/** Why the first refused placeholder of a command is refused, or undefined when all are accepted. */
function refusal(run: string, pattern?: string): string | undefined {
  return sitesOf(run)
    .map((s) => siteRefusal(s, pattern))
    .find((r) => r !== undefined);
}

function warning(run: string): string | undefined {
  return sitesOf(run)
    .map((s) => programWarning(s))
    .find((r) => r !== undefined);
}

describe('a script a shell reads, whatever runs the shell', () => {
  it.each([
    ['ssh -T root@{{h}} bash -s <<EOF\nmkdir -p {{v}}\nEOF', /a here-document read by bash on the far side of ssh as its script/],
    ['sudo -u postfix bash <<EOF\nchmod -R go-rwx "{{v}}"\nEOF', /a here-document read by bash as its script/],
    ['timeout 60 bash <<EOF\necho {{v}}\nEOF', /a here-document read by bash as its script/],
    ['env bash <<EOF\necho {{v}}\nEOF', /a here-document read by bash as its script/],
    ['bash -s -- arg <<EOF\necho {{v}}\nEOF', /a here-document read by bash as its script/],
    ['ssh host <<EOF\nls {{v}}\nEOF', /a here-document read by the remote shell of ssh as its script/],
    ['echo "ls {{v}}" | ssh host', /a pipe into the remote shell of ssh/],
    ['ssh host "bash -s" <<EOF\nls {{v}}\nEOF', /bash on the far side of ssh/],
    ['bash /dev/stdin <<< "echo {{v}}"', /the script bash reads/],
    ['bash <(echo "echo {{v}}")', /the script bash reads/],
    ['bash < <(echo "echo {{v}}")', /the script bash reads/],
    ['echo "echo {{v}}" | nice sh', /a pipe into sh, which runs what it reads/],
    ['${SHELL:-sh} -c "echo {{v}}"', /\$\{SHELL:-sh\} -c/],
    ['"$SHELL" -c "echo {{v}}"', /\$SHELL -c/],
    ['busybox sh -c "echo {{v}}"', /sh -c/],
    ['flock /run/x.lock -c "echo {{v}}"', /flock -c/],
    ['script -qc "echo {{v}}" /dev/null', /script -c/],
    ['runuser -l postgres --command="echo {{v}}"', /runuser --command/],
    ['echo "{{v}}" | xargs -I{} sh -c \'echo restarting {}\'', /a pipe into xargs -I\{\} sh -c/],
    ['docker exec -i c sh <<EOF\nls {{v}}\nEOF', /read by sh as its script/],
    ['docker exec -i web sh <<< "ls {{v}}"', /the script sh reads/],
    ['echo "ls {{v}}" | kubectl exec -i pod -- sh', /a pipe into sh/],
    ['podman exec -i c /bin/ash <<EOF\nls {{v}}\nEOF', /read by ash as its script/],
    ['chroot /mnt /bin/bash <<EOF\ngrub-install {{v}}\nEOF', /read by bash as its script/],
    ['nsenter -t 1 -m -- sh <<EOF\nls {{v}}\nEOF', /read by sh as its script/],
    ['su - postgres <<EOF\npsql {{v}}\nEOF', /read by the shell of su as its script/],
    ['sudo -i <<EOF\nls {{v}}\nEOF', /read by the shell of sudo as its script/],
    ['bash -o pipefail -ec "echo {{v}}"', /bash -c/],
  ])('%s is refused', (run, why) => {
    const got = refusal(run);
    expect(got).toMatch(why);
    expect(got).toMatch(/where the shell evaluates a value as code/);
    expect(got).toMatch(/as an argument/);
  });

  it.each([
    'bash -s -- {{v}} <<\'EOF\'\necho "$1"\nEOF',
    'sudo -u postfix bash -s -- {{v}} <<\'EOF\'\nchmod "$1"\nEOF',
    'sh ./script.sh {{v}}',
    'echo {{v}} | sh ./filter.sh',
    'bash -c \'echo "$1"\' _ {{v}}',
    'echo {{v}} | xargs sh -c \'echo "$@"\' _',
    'echo {{v}} | xargs -I{} sh -c \'echo "$1"\' _ {}',
    'ssh host "cat > /etc/motd" <<EOF\n{{v}}\nEOF',
    'ssh host sudo tee /etc/x <<EOF\n{{v}}\nEOF',
    'runuser -u postgres -- psql <<EOF\nselect 1; -- {{v}}\nEOF',
    'kubectl exec -i pod -- psql <<EOF\n{{v}}\nEOF',
    'useradd -s /bin/bash -c "{{v}}" user',
    'chsh -s /bin/bash {{v}}',
    'grep -c bash {{v}}',
    'bash -s > {{v}} <<EOF\necho hi\nEOF',
    'cat <<EOF\n{{v}}\nEOF',
  ])('%s is data: accepted', (run) => {
    expect(refusal(run)).toBeUndefined();
  });
});

describe('arrays, lengths and here-strings: data, not arithmetic or names', () => {
  it.each([
    'servers=("{{p}}" "{{b}}"); for s in "${servers[@]}"; do echo "$s"; done',
    'hosts=("{{h}}"); echo "${#hosts[@]}"',
    'read -r name prio <<< "{{pair}}"; echo "$name $prio"',
    'IFS=. read -ra parts <<< "{{host}}"; echo "${parts[0]}"',
    'mapfile -t items <<< "{{list}}"',
    'readarray -t items < {{file}}',
    'name="{{host}}"; if (( ${#name} > 63 )); then echo too long; fi',
    'x={{v}}; echo ${!x*}',
    'X={{v}} eval "echo \\$X"',
  ])('%s is accepted', (run) => {
    expect(refusal(run)).toBeUndefined();
  });

  it.each([
    ['echo ${arr[{{i}}]}', /an array subscript/],
    ['(( {{n}} > 3 ))', /\(\( \)\)/],
    ['read {{name}}', /read \(its arguments name variables\)/],
    ['mapfile -t {{name}} < f', /mapfile/],
    ['a=("{{v}}"); (( a[0] > 1 ))', /an assignment to a, which the script reads as a number in \(\( \)\)/],
    ['n="{{v}}"; (( ${n} > 1 ))', /an assignment to n/],
    ['x={{v}}; echo "${!x}"', /the name of a variable in \$\{!…\}/],
    ['echo restoring >&{{fd}}', /the target of >&.*> "\{\{fd\}\}" 2>&1/],
    ['cat <&{{fd}}', /the target of <&/],
    ["alias st='systemctl status {{v}} --no-pager'", /alias \(its body is read again as code/],
  ])('%s is still refused', (run, why) => {
    expect(refusal(run)).toMatch(why);
  });

  it('>&{{fd}} is accepted with an integer pattern', () => {
    expect(refusal('echo restoring >&{{fd}}', '^\\d+$')).toBeUndefined();
  });
});

describe('a value in the program of another language: warned', () => {
  it.each([
    ["awk '/status=bounced/ && /{{v}}/ { n++ }' log", /the program of awk, which runs it as awk code.*ENVIRON\["V"\]/],
    ['python3 -c \'import json; print(json.dumps({"domain": "{{v}}"}))\'', /the program of python3.*sys\.argv\[1\].*os\.environ/],
    ["echo old | sed 's/old/{{v}}/'", /the program of sed.*keep the program fixed/],
    ["sed -n -e 's/a/b/' -e '/{{v}}/p' f", /the program of sed/],
    ["perl -lne 'print if /{{v}}/' f", /the program of perl.*\$ARGV\[0\]/],
    ['ruby -e \'puts "{{v}}"\'', /the program of ruby.*ARGV\[0\]/],
    ['node -e \'console.log("{{v}}")\'', /the program of node.*process\.argv\[1\]/],
    ['php -r \'echo "{{v}}";\'', /the program of php.*\$argv\[1\]/],
    ["python3 - <<EOF\nprint('{{v}}')\nEOF", /a here-document read by python3 as its script/],
    ['sudo -u x python3 <<< \'print("{{v}}")\'', /the script python3 reads/],
  ])('%s', (run, why) => {
    expect(refusal(run)).toBeUndefined();
    expect(warning(run)).toMatch(why);
  });

  it.each([
    "awk -v d={{v}} '$0 ~ d' f",
    "python3 -c 'import sys; print(sys.argv[1])' {{v}}",
    "echo {{v}} | awk '{print}'",
    "sed -i 's/x/y/' {{v}}",
    'awk -f prog.awk {{v}}',
    'python3 -m http.server {{v}}',
    'grep -F -e {{v}} f',
  ])('%s passes the value as data: no warning', (run) => {
    expect(warning(run)).toBeUndefined();
  });
});

describe('validate: file:line:col for each', () => {
  const load = (text: string) =>
    loadRunbookText(text, { file: 'rb.yml', absFile: '/rb/rb.yml', sha256: '0'.repeat(64), fileExists: () => false, shellSites: sitesOf }).problems.map(
      formatProblem,
    );
  const rb = (...lines: string[]) =>
    ['drbook: 1', 'title: T', 'vars:', '  v: { default: x }', 'steps:', '  - id: a', '    title: A', ...lines].join('\n') + '\n';

  it('a templated BASH_ENV, ENV, PS4, PROMPT_COMMAND or SHELLOPTS in env: is refused at the placeholder', () => {
    const got = load(
      rb(
        '    run: echo restoring',
        "    env: { BASH_ENV: '/etc/profile.d/dr-{{v}}.sh', PS4: '{{v}}', PROMPT_COMMAND: '{{v}}', SHELLOPTS: '{{v}}', OK: '{{v}}' }",
      ),
    );
    expect(got).toEqual([
      expect.stringMatching(/^rb\.yml:9:41: error: steps\[0\] \(a\)\.env\.BASH_ENV: \{\{v\}\} cannot be substituted in BASH_ENV: .*fixed value/),
      expect.stringMatching(/^rb\.yml:9:58: error: .*env\.PS4: \{\{v\}\} cannot be substituted in PS4/),
      expect.stringMatching(/^rb\.yml:9:83: error: .*env\.PROMPT_COMMAND/),
      expect.stringMatching(/^rb\.yml:9:103: error: .*env\.SHELLOPTS/),
    ]);
  });

  it('an awk program warns at the placeholder; the runbook stays valid', () => {
    const got = load(rb("    run: awk '/{{v}}/ { n++ }' log"));
    expect(got).toEqual([expect.stringMatching(/^rb\.yml:8:16: warning: steps\[0\] \(a\)\.run: \{\{v\}\} stands in the program of awk/)]);
  });

  it('sudo bash <<EOF is refused at the placeholder', () => {
    const got = load(rb('    run: |', '      sudo -u postfix bash <<EOF', '      chmod -R go-rwx "{{v}}"', '      EOF'));
    expect(got).toEqual([expect.stringMatching(/^rb\.yml:10:24: error: .*\{\{v\}\} stands in a here-document read by bash as its script/)]);
  });
});
