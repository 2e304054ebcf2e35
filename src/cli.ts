import { Command, Option } from 'commander';
import { VERSION } from './version.js';

/**
 * The command tree. Each action imports its command module only when it runs, so
 * `drbook --version` and `drbook validate` do not pay for prompts, spinners and the process executor.
 */
export function buildCli(setExitCode: (code: number) => void): Command {
  const program = new Command('drbook')
    .description('Disaster-recovery runbooks: walk the operator through recovery and journal every step.')
    .version(VERSION, '-V, --version')
    .option('--debug', 'show stack traces of internal errors')
    .showHelpAfterError('(run drbook --help for usage)')
    .configureHelp({ sortSubcommands: false })
    .exitOverride();

  /** `drbook CMD --help` ends with examples: what an operator types, not only the flags. */
  const examples = (lines: string[]) => `\nExamples:\n${lines.map((l) => `  $ ${l}`).join('\n')}`;
  const dirOption = () => new Option('--dir <dir>', 'runbooks directory (default: $DRBOOK_DIR or ./runbooks)');
  const done = (code: number) => setExitCode(code);

  program
    .command('list')
    .addHelpText('after', examples(['drbook list', 'drbook list --dir /media/usb/drbook/runbooks --json']))
    .description('list the runbooks of the runbooks directory')
    .option('--json', 'print JSON')
    .addOption(dirOption())
    .action(async (opts) => done(await (await import('./commands/list.js')).runList(opts)));

  program
    .command('validate')
    .addHelpText('after', examples(['drbook validate', 'drbook validate runbooks/mail-server.yml', 'drbook validate --json runbooks/ > problems.json']))
    .description('check runbooks: schema and meaning; each problem as file:line:col')
    .argument('[paths...]', 'runbook files or directories (default: the runbooks directory)')
    .option('--json', 'print JSON')
    .addOption(dirOption())
    .action(async (paths: string[], opts) => done(await (await import('./commands/validate.js')).runValidate(paths, opts)));

  program
    .command('show')
    .addHelpText('after', examples(['drbook show mail-server', 'drbook show mail-server --format md > checklist.md']))
    .description('show a runbook as readable text or a printable markdown checklist')
    .argument('<runbook>', 'runbook file or id')
    .addOption(new Option('--format <format>', 'text or md').default('text'))
    .addOption(dirOption())
    .action(async (ref: string, opts) => done(await (await import('./commands/show.js')).runShow(ref, opts)));

  const collect = (value: string, previous: string[] = []) => [...previous, value];
  const walkCommand = (name: 'run' | 'rehearse', description: string) => {
    const command = program
      .command(name)
      .description(description)
      .addHelpText(
        'after',
        examples(
          name === 'run'
            ? [
                'drbook run mail-server',
                'drbook run mail-server --var new_ip=192.0.2.10 --from dns-reuse',
                'DNS_API_TOKEN=... drbook run mail-server --vars-file vars.yml',
              ]
            : ['drbook rehearse mail-server', 'drbook rehearse mail-server --yes --var dns_plan=rename', 'drbook rehearse mail-server --run-safe'],
        ),
      )
      .argument('<runbook>', 'runbook file or id')
      .option('--var <name=value>', 'set a variable (repeatable); name=- reads the value from stdin (use it for secrets: never on the command line)', collect)
      .option('--vars-file <file>', 'variables from a YAML or JSON file of name: value')
      .option('--from <step>', 'start at this step id (earlier steps are journaled as skipped)')
      .option('-y, --yes', 'answer every question with its default: run, confirm, abort on a failure')
      .option('--allow-short-secret', 'accept a secret shorter than 6 characters (masked only as a whole word)')
      .addOption(dirOption());
    if (name === 'rehearse') command.option('--run-safe', 'execute the steps marked safe (read-only checks)');
    command.action(async (ref: string, opts) => done(await (await import('./commands/walk.js')).runWalk(ref, name === 'run' ? 'live' : 'rehearsal', opts)));
  };
  walkCommand('run', 'walk a runbook live: run or confirm each step, journaling everything');
  walkCommand('rehearse', 'dry run: walk the runbook, show commands without executing them');

  program
    .command('resume')
    .addHelpText(
      'after',
      examples([
        'drbook resume',
        'drbook resume 20260311T090512Z-mail-server --var dns_token=-',
        'drbook resume 20260311T090512Z-mail-server --reopen',
        'drbook resume 20260311T090512Z-mail-server --runbook /media/usb/drbook/runbooks/mail-server.yml',
      ]),
    )
    .description('continue the latest (or given) session that did not finish')
    .argument('[session]', 'session id or unique prefix (default: the latest paused or interrupted one)')
    .option('--var <name=value>', 'set a variable (repeatable), e.g. a secret to give again as name=- (read from stdin)', collect)
    .option('--vars-file <file>', 'variables from a YAML or JSON file of name: value')
    .option('-y, --yes', 'answer every question with its default')
    .option('--allow-short-secret', 'accept a secret shorter than 6 characters (masked only as a whole word)')
    .option('--force', 'take over a session whose driver lock belongs to another host')
    .option('--reopen', 'continue a session that ended aborted, in the same journal (give its SESSION)')
    .option('--runbook <path>', 'the runbook moved (a bundle mounted elsewhere): read it from here; its sha256 is checked')
    .action(async (session: string | undefined, opts) => done(await (await import('./commands/resume.js')).runResume(session, opts)));

  program
    .command('undo')
    .addHelpText(
      'after',
      examples(['drbook undo', 'drbook undo 20260311T090512Z-mail-server --var dns_token=-', 'drbook undo 20260311T090512Z-mail-server --yes']),
    )
    .description('walk back: the undo: of every step done, latest first, each asked like a step')
    .argument('[session]', 'session id or journal path (default: the latest session not running)')
    .option('--var <name=value>', 'set a variable (repeatable)', collect)
    .option('--vars-file <file>', 'variables from a YAML or JSON file of name: value')
    .option('-y, --yes', 'run every undo in order, stop at the first failure')
    .action(async (session: string | undefined, opts) => done(await (await import('./commands/undo.js')).runUndo(session, opts)));

  program
    .command('note')
    .addHelpText('after', examples(['drbook note "provider confirms the fire"', 'drbook note --at 01:50 "monitoring SMS received"']))
    .description('append a note to the open session, from any terminal')
    .argument('<text...>', 'the note')
    .option('--session <session>', 'the session (default: the open one); any session, even finished, for the post-mortem')
    .option('--at <time>', 'when it happened: HH:MM, HH:MM:SS (today, or yesterday if later than now) or an ISO time')
    .action(async (words: string[], opts) => done(await (await import('./commands/note.js')).runNote(words, opts)));

  program
    .command('mark')
    .description('mark an incident milestone in the open session: impact-started, detected, mitigated or resolved')
    .argument('<milestone>', 'impact-started, detected, mitigated or resolved')
    .argument('[text...]', 'what happened')
    .option('--session <session>', 'the session (default: the open one); any session, even finished, for the post-mortem')
    .option('--at <time>', 'when it happened: HH:MM, HH:MM:SS (today, or yesterday if later than now) or an ISO time')
    .action(async (milestone: string, words: string[], opts) => done(await (await import('./commands/mark.js')).runMark(milestone, words, opts)));

  program
    .command('attach')
    .description('copy a piece of evidence into the session (0600) and journal its sha256')
    .argument('<file>', 'the file to attach')
    .option('--session <session>', 'the session (default: the open one)')
    .option('--step <id>', 'the step it belongs to (default: the current one)')
    .option('--at <time>', 'when it was taken: HH:MM, HH:MM:SS or an ISO time')
    .option('--note <text>', 'what it shows')
    .action(async (file: string, opts) => done(await (await import('./commands/attach.js')).runAttach(file, opts)));

  program
    .command('sessions')
    .addHelpText('after', examples(['drbook sessions', 'drbook sessions --json', 'drbook sessions --verify']))
    .description('list sessions: id, runbook, mode, status, start, duration, progress')
    .option('--json', 'print JSON')
    .option('--verify [session]', 'check the hash chain of a session journal (default: the latest)')
    .action(async (opts) => done(await (await import('./commands/sessions.js')).runSessions(opts)));

  program
    .command('notify')
    .addHelpText(
      'after',
      examples(['drbook notify', 'drbook notify 20260311T090512Z-mail-server --flush', 'SLACK_WEBHOOK_URL=... drbook notify --flush', 'drbook notify --json']),
    )
    .description("the timeline's notification sinks of a session: what each still waits for; --flush sends it")
    .argument('[session]', 'session id or unique prefix (default: the latest)')
    .option('--flush', 'send every event still waiting (retries with backoff; exit 1 if some are left)')
    .option('--json', 'print JSON')
    .action(async (session: string | undefined, opts) => done(await (await import('./commands/notify.js')).runNotify(session, opts)));

  program
    .command('verify')
    .addHelpText('after', examples(['drbook verify', 'drbook verify 20260311T090512Z-mail-server --json']))
    .description("check a session journal's hash chain (tamper evidence)")
    .argument('[session]', 'session id (default: the latest)')
    .option('--json', 'print JSON')
    .action(async (session: string | undefined, opts) => done(await (await import('./commands/sessions.js')).runVerify(session, opts)));

  program
    .command('export')
    .addHelpText(
      'after',
      examples([
        'drbook export > postmortem.md',
        'drbook export 20260311T090512Z-mail-server --tz Europe/Paris -o postmortem.md',
        'drbook export --all mail-server',
      ]),
    )
    .description('the post-mortem of a session as markdown (default) or JSON')
    .argument('[session]', 'session id (default: the latest)')
    .addOption(new Option('--format <format>', 'md or json').default('md'))
    .option('--tz <zone>', "IANA time zone for the times (default: the session's)")
    .option('-o, --output <file>', 'write to a file instead of stdout')
    .option('--all <runbook>', "the drill history of a runbook's sessions instead")
    .action(async (session: string | undefined, opts) => done(await (await import('./commands/export.js')).runExport(session, opts)));

  program
    .command('bundle')
    .addHelpText('after', examples(['drbook bundle -o /media/usb/drbook', 'drbook bundle --check /media/usb/drbook']))
    .description('write an offline bundle: validated runbooks, their local docs, a printable INDEX.md, drbook.mjs and SHA256SUMS')
    .option('-o, --output <dir>', 'bundle directory (default: ./drbook-bundle)')
    .option('--check <dir>', 'verify a bundle against its SHA256SUMS (what changed, is missing or was added) and that every script a step calls is in it')
    .option(
      '--docs-root <dir>',
      "docs and scripts must resolve (after symlinks) inside the runbooks directory or this one (default: the runbooks directory's parent)",
    )
    .addOption(dirOption())
    .action(async (opts) => done(await (await import('./commands/bundle.js')).runBundle(opts)));

  program
    .command('import')
    .description('a draft runbook from markdown procedures: a step per section, shell blocks as commands, placeholders as vars')
    .argument('<docs...>', 'markdown files, concatenated in this order')
    .option('-o, --output <file>', 'the runbook to write; - prints it (default: <dir>/<id>.yml)')
    .option('--id <id>', 'runbook id (default: from the file name or the title)')
    .option('--title <text>', 'runbook title (default: the first level-1 heading)')
    .option('--force', 'replace an existing file')
    .addOption(dirOption())
    .addHelpText(
      'after',
      `
Examples:
  drbook import docs/restore-mail.md -o runbooks/mail-server.yml
  drbook import docs/dns.md docs/backups.md --id mail-restore --title "Restore the mail server"
  drbook import docs/restore-mail.md -o -      # print the draft, write nothing

The draft is written only if it validates. Read its # TODO comments, then rehearse it.`,
    )
    .action(async (docs: string[], opts) => done(await (await import('./commands/import.js')).runImport(docs, opts)));

  program
    .command('new')
    .description('write a commented starter runbook (every field once) into the runbooks directory')
    .argument('<id>', 'runbook id: lower-case letters, digits and dashes')
    .addOption(dirOption())
    .addHelpText(
      'after',
      `
Examples:
  drbook new mail-server                 # ./runbooks/mail-server.yml
  drbook new dns-failover --dir ops/runbooks`,
    )
    .action(async (id: string, opts) => done(await (await import('./commands/new.js')).runNew(id, opts)));

  program
    .command('schema')
    .addHelpText('after', examples(['drbook schema > schema/runbook.schema.json']))
    .description('print the JSON Schema of the runbook format (for editors)')
    .action(async () => done(await (await import('./commands/schema.js')).runSchema()));

  return program;
}
