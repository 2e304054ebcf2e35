import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { integerOnlyPattern, rewriteScript, scriptEnv, siteRefusal, renderShown, type ShellDialect } from '../src/core/shell-template.js';
import { sitesOf } from './helpers/shell.js';

const work = mkdtempSync(join(tmpdir(), 'drbook-shell-'));
const X = join(work, 'X');
afterAll(() => rmSync(work, { recursive: true, force: true }));
beforeEach(() => {
  for (const f of readdirSync(work)) rmSync(join(work, f), { recursive: true, force: true });
});

/** The hostile values of the contract, and more; each must arrive as itself and run nothing. */
const HOSTILE = [
  `$(touch ${X})`,
  `\`touch ${X}\``,
  `a[$(touch ${X})]`,
  `'; touch ${X}; '`,
  `"; touch ${X}; "`,
  `$'; touch ${X}; '`,
  `\\'; touch ${X}; #`,
  'a\nb',
  `line\n$(touch ${X})\nEOF\ntouch ${X}\n`,
  'EOF',
  '',
  ' ',
  '*',
  '$HOME ${HOME} $1 $@',
  '\\',
  '\\n',
  "it's",
  '"',
  '}',
  '${',
  'üñíçødé ☃ 日本語 🔥',
  '\u202e\u0007\u001b[31m',
  '-n',
  '%s %d',
  '!!',
  '~',
  '{a,b}',
];

/** Each context: a template that prints the value, and what it must print for a value `v`. */
interface Context {
  name: string;
  run: string;
  out: (v: string) => string;
  shells: ShellDialect[];
}
const BOTH: ShellDialect[] = ['bash', 'sh'];
const CONTEXTS: Context[] = [
  { name: 'plain word', run: 'printf %s {{v}}', out: (v) => v, shells: BOTH },
  { name: 'double quotes', run: 'printf %s "<{{v}}>"', out: (v) => `<${v}>`, shells: BOTH },
  { name: 'single quotes', run: "printf %s '<{{v}}>'", out: (v) => `<${v}>`, shells: BOTH },
  { name: 'JSON body in single quotes', run: `printf %s '{"ip":"{{v}}"}'`, out: (v) => `{"ip":"${v}"}`, shells: BOTH },
  { name: 'ANSI-C quotes', run: "printf %s $'<\\t{{v}}>'", out: (v) => `<\t${v}>`, shells: ['bash'] },
  { name: 'unquoted here-document', run: 'cat <<EOF\n<{{v}}>\nEOF', out: (v) => `<${v}>\n`, shells: BOTH },
  { name: 'here-document with - in its delimiter', run: 'cat <<E-F\n{{v}}\nE-F', out: (v) => `${v}\n`, shells: BOTH },
  { name: 'here-document <<- with tabs', run: 'cat <<-EOF\n\t{{v}}\n\tEOF', out: (v) => `${v}\n`, shells: BOTH },
  { name: 'command substitution', run: 'x=$(printf %s {{v}}; echo .); printf %s "${x%.}"', out: (v) => v, shells: BOTH },
  { name: 'backticks', run: 'x=`printf %s {{v}}; echo .`; printf %s "${x%.}"', out: (v) => v, shells: BOTH },
  { name: 'backticks inside double quotes', run: 'printf %s "<`printf %s {{v}}; echo .`>"', out: (v) => `<${v}.>`, shells: ['bash'] },
  { name: 'quotes inside $() inside quotes', run: 'printf %s "$(printf %s "{{v}}"; echo .)"', out: (v) => `${v}.`, shells: BOTH },
  { name: 'assignment', run: 'x={{v}}; printf %s "$x"', out: (v) => v, shells: BOTH },
  { name: 'default of an expansion in quotes', run: 'printf %s "${unset_var:-{{v}}}"', out: (v) => v, shells: BOTH },
  {
    name: 'case subject and pattern, after a $var',
    run: 'case {{v}} in {{v}}) printf %s "$HOME{{v}}";; *) echo no;; esac',
    out: (v) => `/nohome${v}`,
    shells: BOTH,
  },
  { name: '[[ string comparison ]]', run: '[[ {{v}} == "$DRBOOK_V_v" ]] && printf %s {{v}}', out: (v) => v, shells: ['bash'] },
  { name: 'a comment keeps its text', run: "printf %s ok # it's {{v}}", out: () => 'ok', shells: BOTH },
  { name: 'two placeholders in one word', run: 'printf %s {{v}}{{v}}', out: (v) => v + v, shells: BOTH },
];

function run(dialect: ShellDialect, script: string, env: Record<string, string>) {
  const args = dialect === 'sh' ? ['-e', '-c', script] : ['-e', '-o', 'pipefail', '-c', script];
  return spawnSync(dialect, args, {
    cwd: work,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: '/nohome', ...env },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Runs a template with `v` = value, as drbook does: the rewritten script, the value in the environment. */
function runTemplate(template: string, dialect: ShellDialect, value: string) {
  const sites = sitesOf(template, dialect);
  for (const site of sites) expect(siteRefusal(site, undefined), `${template}`).toBeUndefined();
  const script = rewriteScript(template, sites);
  // What runs never holds the value.
  if (value.length > 3 && !template.includes(value)) expect(script.includes(value)).toBe(false);
  return run(
    dialect,
    script,
    scriptEnv(sites, () => value),
  );
}

describe('every context × hostile values, through real bash and dash: nothing runs, the value arrives byte-identical', () => {
  for (const context of CONTEXTS) {
    for (const dialect of context.shells) {
      it(`${context.name} (${dialect})`, () => {
        for (const value of HOSTILE) {
          const result = runTemplate(context.run, dialect, value);
          expect(result.stderr, `${JSON.stringify(value)}`).toBe('');
          expect(result.stdout, `${JSON.stringify(value)}`).toBe(context.out(value));
          expect(existsSync(X), `${JSON.stringify(value)} ran code`).toBe(false);
        }
      });
    }
  }

  it('a value with NUL cannot travel in the environment: it never reaches a shell (the engine refuses it)', () => {
    const sites = sitesOf('printf %s {{v}}');
    expect(() => spawnSync('bash', ['-c', rewriteScript('printf %s {{v}}', sites)], { env: scriptEnv(sites, () => 'a\0b') })).toThrow();
  });
});

/** Contexts where a shell evaluates a value as code. */
const EVALUATING: [string, string][] = [
  ['$(( ))', 'echo $(( {{v}} + 1 ))'],
  ['$(( )) in quotes', 'echo "$(( {{v}} + 1 ))"'],
  ['(( ))', '(( {{v}} > 0 )) && echo yes'],
  ['[[ -gt ]]', '[[ {{v}} -gt 0 ]] && echo yes'],
  ['[[ -eq ]] quoted', '[[ "{{v}}" -eq 1 ]] && echo yes'],
  ['let', 'let x={{v}}+1; echo $x'],
  ['declare -i', 'declare -i n={{v}}; echo $n'],
  ['local -i in a function', 'f() { local -i n={{v}}; echo $n; }; f'],
  ['array subscript (assignment)', 'a[{{v}}]=1; echo ok'],
  ['array subscript (expansion)', 'a=(1 2); echo "${a[{{v}}]}"'],
  ['for (( ))', 'for (( i = 0; i < {{v}}; i++ )); do echo $i; done'],
  ['[[ -v ]]', '[[ -v {{v}} ]] && echo set'],
  ['test -v', 'test -v {{v}} && echo set'],
  ['eval', 'eval echo {{v}}'],
  ['bash -c', 'bash -c "echo {{v}}"'],
  ['unset', 'unset {{v}}'],
  ['${x:offset}', 'x=abcdef; echo "${x:{{v}}}"'],
  ['${x:offset:length}', 'x=abcdef; echo "${x:1:{{v}}}"'],
  ['trap', 'trap "echo {{v}}" EXIT'],
  ['read', 'read -r {{v}} <<< x; echo ok'],
  ['mapfile', 'mapfile -t {{v}} < /dev/null; echo ok'],
  ['assignment to a var declared -i', 'declare -i n; n={{v}}; echo $n'],
  ['+= to a var declared local -i', 'f() { local -i n=1; n+={{v}}; echo $n; }; f'],
  ['sudo sh -c', 'sudo sh -c "echo {{v}}"'],
  ['xargs sh -c', 'echo | xargs sh -c {{v}}'],
  ['find -exec bash -c', 'find . -maxdepth 0 -exec bash -c {{v}} \\;'],
  ['su -c', 'su root -c "echo {{v}}"'],
  ['command eval', 'command eval echo {{v}}'],
  ['time eval', 'time eval echo {{v}}'],
  ['a here-string read by bash', 'bash <<< {{v}}'],
  ['. /dev/stdin', '. /dev/stdin <<< "echo {{v}}"'],
  ['source <( )', 'source <(echo {{v}})'],
  ['a pipe into sh', 'echo {{v}} | grep . | sh'],
  ['a here-document read by bash', 'bash <<EOF\necho {{v}}\nEOF'],
  ['array subscript in a compound assignment', 'a=([{{v}}]=1); echo ok'],
  ['array subscript in a declared compound assignment', 'declare -a a=([{{v}}]=1); echo ok'],
  ['array subscript in a compound += assignment', 'a=(); a+=([{{v}}]=1); echo ok'],
  ['$(( )) in an unquoted here-document', 'cat <<EOF\n$(( {{v}} + 1 ))\nEOF'],
  ['a here-document piped into sh', 'cat <<EOF | sh\necho {{v}}\nEOF'],
  ['a here-document piped into bash through grep', 'cat <<EOF | grep . | bash -s\necho {{v}}\nEOF'],
  ['eval written \\eval', '\\eval echo {{v}}'],
  ["eval written 'eval'", "'eval' echo {{v}}"],
  ['bash -c written "bash"', '"bash" -c "echo {{v}}"'],
  ['an assignment to a var later read in $(( ))', 'n={{v}}; echo $(( n + 1 ))'],
  ['an assignment to a var later read in (( ))', 'n="{{v}}"; (( n > 0 )) && echo yes'],
  ['an assignment to a var later read in [[ -gt ]]', 'local_n={{v}}; [[ $local_n -gt 0 ]] && echo yes'],
  ['an assignment to a var later read in for (( ))', 'count={{v}}; for (( i = 0; i < count; i++ )); do echo $i; done'],
  ['a name given to declare', 'declare {{v}}=1; echo ok'],
  ['a name given to local', 'f() { local {{v}}=1; }; f'],
  ['compgen -W', 'compgen -W {{v}} a'],
  ['BASH_ENV of a bash', 'BASH_ENV={{v}} bash -c true'],
  ['BASH_ENV through env', 'env BASH_ENV={{v}} bash -c true'],
  // A shell anywhere in the command, whatever runs it, reading its script from its input or a file.
  ['a here-document read by bash through timeout', 'timeout 60 bash <<EOF\necho {{v}}\nEOF'],
  ['a here-document read by bash through env', 'env bash <<EOF\necho {{v}}\nEOF'],
  ['a here-document read by bash through sudo -u', 'sudo -u postfix bash <<EOF\nchmod -R go-rwx "{{v}}"\nEOF'],
  ['a here-document read by bash -s -- arg', 'bash -s -- arg <<EOF\necho {{v}}\nEOF'],
  ['a here-document read by bash -s through ssh', 'ssh -T root@host bash -s <<EOF\nmkdir -p {{v}}\nEOF'],
  ['a here-document read by the remote shell of ssh', 'ssh host <<EOF\nls {{v}}\nEOF'],
  ['a here-document read by sh in docker exec', 'docker exec -i c sh <<EOF\nls {{v}}\nEOF'],
  ['a here-document read by bash in a chroot', 'chroot /mnt /bin/bash <<EOF\ngrub-install {{v}}\nEOF'],
  ['a here-string read by bash /dev/stdin', 'bash /dev/stdin <<< "echo {{v}}"'],
  ['a process substitution read by bash', 'bash <(echo "echo {{v}}")'],
  ['a process substitution on the input of bash', 'bash < <(echo "echo {{v}}")'],
  ['a pipe into nice sh', 'echo "echo {{v}}" | nice sh'],
  ['a pipe into sh in kubectl exec', 'echo "ls {{v}}" | kubectl exec -i pod -- sh'],
  ['${SHELL:-sh} -c', '${SHELL:-sh} -c "echo {{v}}"'],
  ['flock -c', 'flock /tmp/lock -c "echo {{v}}"'],
  ['script -qc', 'script -qc "echo {{v}}" /dev/null'],
  ['xargs -I{} into sh -c', 'echo "{{v}}" | xargs -I{} sh -c \'echo restarting {}\''],
  ['su without -c reading a here-document', 'su - postgres <<EOF\npsql -c "{{v}}"\nEOF'],
  ['the target of >&', 'echo restoring >&{{v}}'],
  ['an alias body', "alias st='systemctl status {{v}} --no-pager'"],
  ['a name read with ${!x}', 'x={{v}}; echo "${!x}"'],
  ['an array element read in (( ))', 'a=("{{v}}"); (( a[0] >= 1 )) && echo yes'],
];

/** Look alike, but the value stays data. */
const NOT_EVALUATING: string[] = [
  'echo {{v}} | grep .',
  'sh ./script.sh {{v}}',
  'echo {{v}} | sh ./filter.sh',
  'command -v {{v}}',
  'cat <<EOF\n{{v}}\nEOF',
  'bash -c \'echo "$1"\' _ {{v}}',
  // Arrays, lengths and here-strings into read: the value is never evaluated.
  'servers=("{{v}}" "{{v}}"); for s in "${servers[@]}"; do echo "$s"; done',
  'hosts=("{{v}}"); echo "${#hosts[@]}"',
  'read -r name prio <<< "{{v}}"; echo "$name"',
  'IFS=. read -ra parts <<< "{{v}}"; echo "${parts[0]}"',
  'mapfile -t items <<< "{{v}}"; echo "${items[0]}"',
  'name="{{v}}"; if (( ${#name} > 63 )); then echo long; fi',
  // The fix the refusal gives: the value as an argument of a script in a quoted here-document.
  'sudo -u postfix bash -s -- {{v}} <<\'EOF\'\nchmod -R go-rwx "$1"\nEOF',
  // A shell named as data, a script file, or a command that reads data.
  'useradd -s /bin/bash -c "{{v}}" user',
  'grep -c bash {{v}}',
  'ssh host "cat > /etc/motd" <<EOF\n{{v}}\nEOF',
  'runuser -u postgres -- psql <<EOF\nselect 1; -- {{v}}\nEOF',
  'echo {{v}} | xargs sh -c \'echo "$@"\' _',
  'bash -s > {{v}} <<EOF\necho hi\nEOF',
];

/** The newer of those contexts, with a hostile value in the environment: each runs it. */
const PROVEN: [string, string][] = [
  ['${x:offset}', 'x=abcdef; echo "${x:$DRBOOK_V_v}"'],
  ['${x:offset:length}', 'x=abcdef; echo "${x:1:$DRBOOK_V_v}"'],
  ['trap', 'trap "echo $DRBOOK_V_v" EXIT'],
  ['read', 'declare -a a; read -r "$DRBOOK_V_v" <<< x'],
  ['assignment to a var declared -i', 'declare -i n; n=$DRBOOK_V_v'],
  ['sh -c run by another command', 'echo | xargs sh -c "$DRBOOK_V_v"'],
  ['command eval', 'command eval "$DRBOOK_V_v"'],
  ['a pipe into sh', 'echo "$DRBOOK_V_v" | sh'],
  ['a here-string read by bash', 'bash <<< "$DRBOOK_V_v"'],
  ['array subscript in a compound assignment', 'a=(["$DRBOOK_V_v"]=1)'],
  ['$(( )) in an unquoted here-document', 'cat <<EOF\n$(( "$DRBOOK_V_v" + 1 ))\nEOF'],
  ['a here-document piped into sh', 'cat <<EOF | sh\necho $DRBOOK_V_v\nEOF'],
  ['an assignment to a var later read in $(( ))', 'n="$DRBOOK_V_v"; echo $(( n + 1 ))'],
  ['a name given to declare', 'declare "$DRBOOK_V_v"=1'],
  ['compgen -W', 'compgen -W "$DRBOOK_V_v" a'],
  ['BASH_ENV of a bash', 'BASH_ENV="$DRBOOK_V_v" bash /dev/null'],
];

/** Wrapped shells and their scripts, with a hostile value in the environment: each runs it (the outside tester's cases). */
const PROVEN_WRAPPED: [string, string, string][] = [
  ['timeout bash <<EOF', 'timeout 60 bash <<EOF\necho $DRBOOK_V_v\nEOF', `x; touch ${X}`],
  ['env bash <<EOF', 'env bash <<EOF\necho $DRBOOK_V_v\nEOF', `x; touch ${X}`],
  ['bash -s -- arg <<EOF', 'bash -s -- arg <<EOF\necho $DRBOOK_V_v\nEOF', `x; touch ${X}`],
  ['bash /dev/stdin <<<', 'bash /dev/stdin <<< "echo $DRBOOK_V_v"', `x; touch ${X}`],
  ['bash <( )', 'bash <(echo "echo $DRBOOK_V_v")', `x; touch ${X}`],
  ['bash < <( )', 'bash < <(echo "echo $DRBOOK_V_v")', `x; touch ${X}`],
  ['| nice sh', 'echo "echo $DRBOOK_V_v" | nice sh', `x; touch ${X}`],
  ['${SHELL:-sh} -c', 'SHELL=; ${SHELL:-sh} -c "echo $DRBOOK_V_v"', `x; touch ${X}`],
  ['flock -c', `flock ${join(tmpdir(), 'drbook-flock-test')} -c "echo $DRBOOK_V_v"`, `x; touch ${X}`],
  ['xargs -I{} sh -c', 'echo "$DRBOOK_V_v" | xargs -I{} sh -c "echo restarting {}"', `x; touch ${X}`],
  ['>&"$V"', 'echo restoring >&"$DRBOOK_V_v"', `2$(touch ${X})`],
  ['an alias body', `shopt -s expand_aliases\nalias st="echo $DRBOOK_V_v"\nst`, `x; touch ${X}`],
  ['${!x}', 'x="$DRBOOK_V_v"; echo "${!x}"', `a[$(touch ${X})]`],
  ['an array element in (( ))', 'a=("$DRBOOK_V_v"); (( a[0] > 1 ))', `a[$(touch ${X})]`],
];

describe('contexts that evaluate a value: refused unless the pattern admits only integers', () => {
  it.each(PROVEN_WRAPPED)('%s would run a hostile value (why it is refused)', (_name, script, value) => {
    run('bash', script, { DRBOOK_V_v: value });
    expect(existsSync(X)).toBe(true);
  });

  it('arrays, ${#x} in (( )) and here-strings into read and mapfile do not evaluate a value: they run it as data', () => {
    const cases: [string, (v: string) => string][] = [
      ['servers=("{{v}}" "{{v}}"); for s in "${servers[@]}"; do printf "%s|" "$s"; done', (v) => `${v}|${v}|`],
      ['hosts=("{{v}}"); printf %s "${#hosts[@]}"', () => '1'],
      ['read -r first <<< "{{v}}"; printf %s "$first"', (v) => v],
      ['IFS=. read -ra parts <<< "{{v}}"; printf %s "${parts[0]}"', (v) => v.split('.')[0]!],
      ['mapfile -t items <<< "{{v}}"; printf %s "${items[0]}"', (v) => v],
      ['name="{{v}}"; if (( ${#name} > 3 )); then printf long; fi', () => 'long'],
      ['bash -s -- {{v}} <<\'EOF\'\nprintf %s "$1"\nEOF', (v) => v],
    ];
    for (const [template, out] of cases) {
      for (const value of [`a[$(touch ${X})]`, `x; touch ${X}`, `$(touch ${X})`]) {
        const result = runTemplate(template, 'bash', value);
        expect(result.stderr, template).toBe('');
        expect(result.stdout, template).toBe(out(value));
        expect(existsSync(X), `${template} ran ${value}`).toBe(false);
      }
    }
  });

  it('>&{{fd}} with an integer pattern duplicates the descriptor; any other value is refused at run time', () => {
    const sites = sitesOf('echo restoring >&{{fd}}');
    expect(siteRefusal(sites[0]!, '^\\d+$')).toBeUndefined();
    const result = run(
      'bash',
      rewriteScript('echo restoring >&{{fd}}', sites),
      scriptEnv(sites, () => '2'),
    );
    expect(result.stderr).toBe('restoring\n');
  });

  it.each(EVALUATING)('%s is refused without an integer pattern, with how to fix it', (_name, template) => {
    const sites = sitesOf(template);
    const refusals = sites.map((s) => siteRefusal(s, undefined));
    expect(refusals.some((r) => r !== undefined)).toBe(true);
    const refusal = refusals.find((r) => r !== undefined)!;
    expect(refusal).toMatch(/integer pattern \(pattern: '\^-\?\\d\+\$' or narrower\)/);
    // A script another shell reads gets the value as an argument (the environment may not reach it: sudo, ssh); >& a file.
    expect(refusal).toMatch(/env:|as an argument|redirect to a file/);
  });

  it.each(
    EVALUATING.filter(
      ([name]) =>
        ![
          'eval',
          'bash -c',
          'unset',
          '[[ -v ]]',
          'test -v',
          'trap',
          'read',
          'mapfile',
          'sudo sh -c',
          'xargs sh -c',
          'find -exec bash -c',
          'su -c',
          'command eval',
          'time eval',
          'a here-string read by bash',
          '. /dev/stdin',
          'source <( )',
          'a pipe into sh',
          'a here-document read by bash',
          'a here-document piped into sh',
          'a here-document piped into bash through grep',
          'eval written \\eval',
          "eval written 'eval'",
          'bash -c written "bash"',
          'a name given to declare',
          'a name given to local',
          'compgen -W',
          'BASH_ENV of a bash',
          'BASH_ENV through env',
        ].includes(name) && !/here-document|here-string|process substitution|pipe into|-c$|-qc|sh -c|alias|\$\{!x\}|su without/.test(name),
    ),
  )('%s with an integer pattern runs with an integer value', (_name, template) => {
    const sites = sitesOf(template);
    for (const s of sites) expect(siteRefusal(s, '^-?\\d+$')).toBeUndefined();
    const result = run(
      'bash',
      rewriteScript(template, sites),
      scriptEnv(sites, () => '1'),
    );
    expect(result.status, result.stderr).toBe(0);
  });

  it('what those contexts would do with a hostile value: run it (why they are refused)', () => {
    run('bash', 'x=$DRBOOK_V_v; echo $(( x + 1 ))', { DRBOOK_V_v: `a[$(touch ${X})]` });
    expect(existsSync(X)).toBe(true);
  });

  it.each(NOT_EVALUATING)('%s is data, not code: accepted', (template) => {
    for (const site of sitesOf(template)) expect(siteRefusal(site, undefined)).toBeUndefined();
  });

  it.each(PROVEN)('%s would run a hostile value (why it is refused)', (_name, script) => {
    const value = /sh -c|eval|sh$|^bash <<</.test(script) ? `touch ${X}` : script.includes('trap') ? `x; touch ${X}` : `a[$(touch ${X})]`;
    run('bash', script, { DRBOOK_V_v: value });
    expect(existsSync(X)).toBe(true);
  });

  it('a quoted here-document is refused: use an unquoted delimiter or env:', () => {
    for (const template of ["cat <<'EOF'\n{{v}}\nEOF", 'cat <<"EOF"\n{{v}}\nEOF', 'cat <<\\EOF\n{{v}}\nEOF']) {
      const [site] = sitesOf(template);
      expect(siteRefusal(site!, '^\\d+$')).toMatch(/quoted here-document.*unquoted \(<<EOF\) or set it in the step's env:/);
    }
  });

  it("sh gets the POSIX subset: $'…' and [[ ]] are refused in an sh runbook", () => {
    expect(siteRefusal(sitesOf("printf %s $'{{v}}'", 'sh')[0]!, undefined)).toMatch(/sh has no \$'…'/);
    expect(siteRefusal(sitesOf('[[ {{v}} == a ]]', 'sh')[0]!, undefined)).toMatch(/sh has no \[\[/);
  });

  it('backquotes inside a here-document or inside double quotes, which the parser cannot see into: refused, with $( ) as the fix', () => {
    for (const template of ['cat <<EOF\n`echo {{v}}`\nEOF', 'echo "`echo \\"{{v}}\\"`"']) {
      const refusals = sitesOf(template).map((s) => siteRefusal(s, undefined));
      expect(refusals[0], template).toMatch(/backquotes.*\$\( \)/);
    }
    // Elsewhere, and in double quotes without \" or \\ inside them, the parser reads backquotes as the shell does: accepted (see CONTEXTS).
    for (const template of ['x=`printf %s {{v}}`', 'echo "`printf %s {{v}}`"']) expect(siteRefusal(sitesOf(template)[0]!, undefined), template).toBeUndefined();
  });

  it('a $ just before a placeholder (${{v}}, "${{v}}") would make $$ or $"…" of it: refused', () => {
    for (const template of ['echo ${{v}}', 'echo "${{v}}"', 'cat <<EOF\n${{v}}\nEOF']) {
      expect(siteRefusal(sitesOf(template)[0]!, undefined), template).toMatch(/a \$ stands just before it/);
    }
    expect(siteRefusal(sitesOf('echo \\${{v}}')[0]!, undefined)).toBeUndefined();
  });

  it('a var assigned a placeholder but never read as a number stays data', () => {
    for (const template of ['n={{v}}; echo "$n"; echo $(( m + 1 ))', 'n={{v}}; for (( i = 0; i < 2; i++ )); do echo "$n"; done']) {
      for (const site of sitesOf(template)) expect(siteRefusal(site, undefined), template).toBeUndefined();
    }
  });

  it('[ … -gt … ] and test … -eq … compare numbers without evaluating them (unlike [[ ]]): accepted, and the value stays data', () => {
    for (const template of ['[ {{v}} -gt 0 ] && echo yes', 'test {{v}} -eq 1 && echo yes']) {
      const sites = sitesOf(template);
      for (const site of sites) expect(siteRefusal(site, undefined), template).toBeUndefined();
      run(
        'bash',
        rewriteScript(template, sites),
        scriptEnv(sites, () => `a[$(touch ${X})]`),
      );
      expect(existsSync(X), template).toBe(false);
    }
  });

  it('a command that does not parse, a backslash before a placeholder, a variable name: refused', () => {
    expect(siteRefusal(sitesOf('echo "{{v}}')[0]!, undefined)).toMatch(/does not parse/);
    expect(siteRefusal(sitesOf('echo "\\{{v}}"')[0]!, undefined)).toMatch(/backslash/);
    expect(siteRefusal(sitesOf('echo ${{{v}}}')[0]!, undefined)).toBeDefined();
  });
});

describe('integerOnlyPattern', () => {
  it.each([
    ['^-?\\d+$', true],
    ['^\\d+$', true],
    ['^[0-9]{1,5}$', true],
    ['^(0|[1-9]\\d*)$', true],
    ['^-?[0-9]+$', true],
    ['\\d+', false],
    ['^\\d+', false],
    ['^\\d+$|^a', false],
    ['^[0-9a]+$', false],
    ['^.+$', false],
    ['^\\w+$', false],
  ])('%s → %s', (pattern, integer) => {
    expect(integerOnlyPattern(pattern)).toBe(integer);
  });
});

describe('property: random values in random supported contexts arrive literally', () => {
  const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
  const value = fc
    .oneof(
      fc.constantFrom(...HOSTILE),
      fc.string({ unit: 'grapheme', maxLength: 30 }),
      fc.string({ unit: 'binary', maxLength: 30 }),
      fc.array(fc.constantFrom(...HOSTILE), { maxLength: 4 }).map((p) => p.join('')),
    )
    .filter((s) => !s.includes('\0') && !LONE_SURROGATE.test(s));
  const bashContexts = CONTEXTS.filter((c) => c.shells.includes('bash'));
  it('bash', () => {
    fc.assert(
      fc.property(fc.constantFrom(...bashContexts), value, (context, v) => {
        const result = runTemplate(context.run, 'bash', v);
        expect(result.stdout).toBe(context.out(v));
        expect(existsSync(X)).toBe(false);
      }),
      { numRuns: 150 },
    );
  });
  it('dash', () => {
    const shContexts = CONTEXTS.filter((c) => c.shells.includes('sh'));
    fc.assert(
      fc.property(fc.constantFrom(...shContexts), value, (context, v) => {
        const result = runTemplate(context.run, 'sh', v);
        expect(result.stdout).toBe(context.out(v));
        expect(existsSync(X)).toBe(false);
      }),
      { numRuns: 100 },
    );
  });
});

describe('what the operator sees', () => {
  it('values rendered: a plain word as one shell word, inside quotes as it is, a comment as written', () => {
    const text = `curl -H "Authorization: Bearer {{t}}" --data '{"ip":"{{ip}}"}' {{ip}} # {{t}}`;
    const values: Record<string, string> = { t: 'tok en', ip: '10.0.0.1 x' };
    expect(renderShown(text, sitesOf(text), (n) => values[n])).toBe(`curl -H "Authorization: Bearer tok en" --data '{"ip":"10.0.0.1 x"}' '10.0.0.1 x' # {{t}}`);
  });
});
