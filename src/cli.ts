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
  /** A subcommand: its one-line description, and the examples its --help ends with. */
  const command = (name: string, description: string, exampleLines?: string[]) => {
    const created = program.command(name).description(description);
    return exampleLines === undefined ? created : created.addHelpText('after', examples(exampleLines));
  };
  // Options several commands share, worded once.
  const dirOption = () => new Option('--dir <dir>', 'runbooks directory (default: $DRBOOK_DIR or ./runbooks)');
  const collect = (value: string, previous: string[] = []) => [...previous, value];
  const varOption = (help: string) => new Option('--var <name=value>', help).argParser(collect);
  const varsFileOption = () => new Option('--vars-file <file>', 'variables from a YAML or JSON file of name: value');
  const shortSecretOption = () => new Option('--allow-short-secret', 'accept a secret shorter than 6 characters (masked only as a whole word)');
  const sessionOption = (help: string) => new Option('--session <session>', help);
  const atOption = (help: string) => new Option('--at <time>', help);
  const openSession = 'the session (default: the open one); any session, even finished, for the post-mortem';
  const happenedAt = 'when it happened: HH:MM, HH:MM:SS (today, or yesterday if later than now) or an ISO time';
  const done = (code: number) => setExitCode(code);

  command('list', 'list the runbooks of the runbooks directory', ['drbook list', 'drbook list --dir /media/usb/drbook/runbooks --json'])
    .option('--json', 'print JSON')
    .addOption(dirOption())
    .action(async (opts) => done(await (await import('./commands/list.js')).runList(opts)));

  command('validate', 'check runbooks: schema and meaning; each problem as file:line:col', [
    'drbook validate',
    'drbook validate runbooks/mail-server.yml',
    'drbook validate --json runbooks/ > problems.json',
  ])
    .argument('[paths...]', 'runbook files or directories (default: the runbooks directory)')
    .option('--json', 'print JSON')
    .addOption(dirOption())
    .action(async (paths: string[], opts) => done(await (await import('./commands/validate.js')).runValidate(paths, opts)));

  command('show', 'show a runbook as readable text or a printable markdown checklist', [
    'drbook show mail-server',
    'drbook show mail-server --format md > checklist.md',
  ])
    .argument('<runbook>', 'runbook file or id')
    .addOption(new Option('--format <format>', 'text or md').default('text'))
    .addOption(dirOption())
    .action(async (ref: string, opts) => done(await (await import('./commands/show.js')).runShow(ref, opts)));

  const walkCommand = (name: 'run' | 'rehearse', description: string, exampleLines: string[]) => {
    const walk = command(name, description, exampleLines)
      .argument('<runbook>', 'runbook file or id')
      .addOption(varOption('set a variable (repeatable); name=- reads the value from stdin (use it for secrets: never on the command line)'))
      .addOption(varsFileOption())
      .option('--from <step>', 'start at this step id (earlier steps are journaled as skipped)')
      .option('-y, --yes', 'answer every question with its default: run, confirm, abort on a failure')
      .addOption(shortSecretOption())
      .addOption(dirOption());
    if (name === 'rehearse') walk.option('--run-safe', 'execute the steps marked safe (read-only checks)');
    if (name === 'run')
      walk.option(
        '--parallel',
        'start a new session even while another live session of this runbook runs or has not ended (without it: refused, or in a terminal you are offered to resume that one)',
      );
    walk.action(async (ref: string, opts) => {
      const outcome = await (await import('./commands/walk.js')).runWalk(ref, name === 'run' ? 'live' : 'rehearsal', opts);
      if (typeof outcome === 'number') return done(outcome);
      // The operator chose to resume the session of this runbook that did not end: resume it, with the variables given.
      const { var: vars, varsFile, allowShortSecret, from } = opts as { var?: string[]; varsFile?: string; allowShortSecret?: boolean; from?: string };
      if (from !== undefined) process.stderr.write(`--from ${from} is not used: resume continues where the session stopped\n`);
      return done(await (await import('./commands/resume.js')).runResume(outcome.resume, { var: vars, varsFile, allowShortSecret }));
    });
  };
  walkCommand('run', 'walk a runbook live: run or confirm each step, journaling everything', [
    'drbook run mail-server',
    'drbook run mail-server --var new_ip=192.0.2.10 --from dns-reuse',
    'DNS_API_TOKEN=... drbook run mail-server --vars-file vars.yml',
    'drbook run mail-server --parallel   # a second live session beside one already running',
  ]);
  walkCommand('rehearse', 'dry run: walk the runbook, show commands without executing them', [
    'drbook rehearse mail-server',
    'drbook rehearse mail-server --yes --var dns_plan=rename',
    'drbook rehearse mail-server --run-safe',
  ]);

  command('resume', 'continue the latest (or given) session that did not finish', [
    'drbook resume',
    'drbook resume 20260311T090512Z-mail-server --var dns_token=-',
    'drbook resume 20260311T090512Z-mail-server --reopen',
    'drbook resume 20260311T090512Z-mail-server --runbook /media/usb/drbook/runbooks/mail-server.yml',
  ])
    .argument('[session]', 'session id or unique prefix (default: the latest paused or interrupted one)')
    .addOption(varOption('set a variable (repeatable), e.g. a secret to give again as name=- (read from stdin)'))
    .addOption(varsFileOption())
    .option('-y, --yes', 'answer every question with its default')
    .addOption(shortSecretOption())
    .option('--force', 'take over a session whose driver lock belongs to another host')
    .option('--reopen', 'continue a session that ended aborted, in the same journal (give its SESSION)')
    .option('--runbook <path>', 'the runbook moved (a bundle mounted elsewhere): read it from here; its sha256 is checked')
    .action(async (session: string | undefined, opts) => done(await (await import('./commands/resume.js')).runResume(session, opts)));

  command('undo', 'walk back: the undo: of every step done, latest first, each asked like a step', [
    'drbook undo',
    'drbook undo 20260311T090512Z-mail-server --var dns_token=-',
    'drbook undo 20260311T090512Z-mail-server --yes',
  ])
    .argument('[session]', 'session id or journal path (default: the latest session not running)')
    .addOption(varOption('set a variable (repeatable)'))
    .addOption(varsFileOption())
    .option('-y, --yes', 'run every undo in order, stop at the first failure')
    .action(async (session: string | undefined, opts) => done(await (await import('./commands/undo.js')).runUndo(session, opts)));

  command('note', 'append a note to the open session, from any terminal', [
    'drbook note "provider confirms the fire"',
    'drbook note --at 01:50 "monitoring SMS received"',
  ])
    .argument('<text...>', 'the note')
    .addOption(sessionOption(openSession))
    .addOption(atOption(happenedAt))
    .action(async (words: string[], opts) => done(await (await import('./commands/note.js')).runNote(words, opts)));

  command('mark', 'mark an incident milestone in the open session: impact-started, detected, mitigated or resolved')
    .argument('<milestone>', 'impact-started, detected, mitigated or resolved')
    .argument('[text...]', 'what happened')
    .addOption(sessionOption(openSession))
    .addOption(atOption(happenedAt))
    .action(async (milestone: string, words: string[], opts) => done(await (await import('./commands/mark.js')).runMark(milestone, words, opts)));

  command('attach', 'copy a piece of evidence into the session (0600) and journal its sha256')
    .argument('<file>', 'the file to attach')
    .addOption(sessionOption('the session (default: the open one)'))
    .option('--step <id>', 'the step it belongs to (default: the current one)')
    .addOption(atOption('when it was taken: HH:MM, HH:MM:SS or an ISO time'))
    .option('--note <text>', 'what it shows')
    .action(async (file: string, opts) => done(await (await import('./commands/attach.js')).runAttach(file, opts)));

  command('sessions', 'list sessions: id, runbook, mode, status, start, duration, progress', [
    'drbook sessions',
    'drbook sessions --json',
    'drbook sessions --verify',
  ])
    .option('--json', 'print JSON')
    .option('--verify [session]', 'check the hash chain of a session journal (default: the latest)')
    .action(async (opts) => done(await (await import('./commands/sessions.js')).runSessions(opts)));

  command('notify', "the timeline's notification sinks of a session: what each still waits for; --flush sends it", [
    'drbook notify',
    'drbook notify 20260311T090512Z-mail-server --flush',
    'SLACK_WEBHOOK_URL=... drbook notify --flush',
    'drbook notify --json',
  ])
    .argument('[session]', 'session id or unique prefix (default: the latest)')
    .option('--flush', 'send every event still waiting (retries with backoff; exit 1 if some are left)')
    .option('--json', 'print JSON')
    .action(async (session: string | undefined, opts) => done(await (await import('./commands/notify.js')).runNotify(session, opts)));

  command('verify', "check a session journal's hash chain (tamper evidence)", ['drbook verify', 'drbook verify 20260311T090512Z-mail-server --json'])
    .argument('[session]', 'session id (default: the latest)')
    .option('--json', 'print JSON')
    .action(async (session: string | undefined, opts) => done(await (await import('./commands/sessions.js')).runVerify(session, opts)));

  command('export', 'the post-mortem of a session as markdown (default) or JSON', [
    'drbook export > postmortem.md',
    'drbook export 20260311T090512Z-mail-server --tz Europe/Paris -o postmortem.md',
    'drbook export --all mail-server',
  ])
    .argument('[session]', 'session id (default: the latest)')
    .addOption(new Option('--format <format>', 'md or json').default('md'))
    .option('--tz <zone>', "IANA time zone for the times (default: the session's)")
    .option('-o, --output <file>', 'write to a file instead of stdout')
    .option('--all <runbook>', "the drill history of a runbook's sessions instead")
    .action(async (session: string | undefined, opts) => done(await (await import('./commands/export.js')).runExport(session, opts)));

  command('bundle', 'write an offline bundle: validated runbooks, their local docs, a printable INDEX.md, drbook.mjs and SHA256SUMS', [
    'drbook bundle -o /media/usb/drbook',
    'drbook bundle --check /media/usb/drbook',
  ])
    .option('-o, --output <dir>', 'bundle directory (default: ./drbook-bundle)')
    .option('--check <dir>', 'verify a bundle against its SHA256SUMS (what changed, is missing or was added) and that every script a step calls is in it')
    .option(
      '--docs-root <dir>',
      "docs and scripts must resolve (after symlinks) inside the runbooks directory or this one (default: the runbooks directory's parent)",
    )
    .addOption(dirOption())
    .action(async (opts) => done(await (await import('./commands/bundle.js')).runBundle(opts)));

  command('import', 'a draft runbook from markdown procedures: a step per section, shell blocks as commands, placeholders as vars')
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

  command('new', 'write a commented starter runbook (every field once) into the runbooks directory')
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

  command('schema', 'print the JSON Schema of the runbook format (for editors)', ['drbook schema > schema/runbook.schema.json']).action(async () =>
    done(await (await import('./commands/schema.js')).runSchema()),
  );

  return program;
}
