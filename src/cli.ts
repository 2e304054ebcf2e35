import { Command, Option } from 'commander';
import { VERSION } from './version.js';

/**
 * The command tree. Each action imports its command module only when it runs, so
 * `drbook --version` and `drbook validate` do not pay for prompts, spinners and execa.
 */
export function buildCli(setExitCode: (code: number) => void): Command {
  const program = new Command('drbook')
    .description('Disaster-recovery runbooks: walk the operator through recovery and journal every step.')
    .version(VERSION, '-V, --version')
    .option('--debug', 'show stack traces of internal errors')
    .showHelpAfterError('(run drbook --help for usage)')
    .configureHelp({ sortSubcommands: false })
    .exitOverride();

  const dirOption = () => new Option('--dir <dir>', 'runbooks directory (default: $DRBOOK_DIR or ./runbooks)');
  const done = (code: number) => setExitCode(code);

  program
    .command('list')
    .description('list the runbooks of the runbooks directory')
    .option('--json', 'print JSON')
    .addOption(dirOption())
    .action(async (opts) => done(await (await import('./commands/list.js')).runList(opts)));

  program
    .command('validate')
    .description('check runbooks: schema and meaning; each problem as file:line:col')
    .argument('[paths...]', 'runbook files or directories (default: the runbooks directory)')
    .option('--json', 'print JSON')
    .addOption(dirOption())
    .action(async (paths: string[], opts) => done(await (await import('./commands/validate.js')).runValidate(paths, opts)));

  program
    .command('show')
    .description('show a runbook as readable text or a printable markdown checklist')
    .argument('<runbook>', 'runbook file or id')
    .addOption(new Option('--format <format>', 'text or md').default('text'))
    .addOption(dirOption())
    .action(async (ref: string, opts) => done(await (await import('./commands/show.js')).runShow(ref, opts)));

  program
    .command('schema')
    .description('print the JSON Schema of the runbook format (for editors)')
    .action(async () => done(await (await import('./commands/schema.js')).runSchema()));

  return program;
}
