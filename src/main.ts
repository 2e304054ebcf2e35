import { DrbookError, ExitCode } from './core/errors.js';
import { buildCli } from './cli.js';

/** The one place that turns an outcome or an error into an exit code. */
async function main(argv: string[]): Promise<void> {
  const debug = argv.includes('--debug');
  const program = buildCli((code) => {
    process.exitCode = code;
  });
  try {
    await program.parseAsync(argv);
  } catch (error) {
    process.exitCode = exitCodeFor(error, debug);
  }
}

function exitCodeFor(error: unknown, debug: boolean): number {
  const commanderCode = (error as { code?: string }).code;
  if (typeof commanderCode === 'string' && commanderCode.startsWith('commander.')) {
    // Commander has already printed its message.
    if (commanderCode === 'commander.helpDisplayed' || commanderCode === 'commander.version' || commanderCode === 'commander.help') return ExitCode.ok;
    return ExitCode.usage;
  }
  if (error instanceof DrbookError) {
    process.stderr.write(`drbook: ${error.message}\n`);
    if (debug && error.stack) process.stderr.write(error.stack + '\n');
    return error.exitCode;
  }
  const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
  process.stderr.write(`drbook: internal error: ${message}${debug ? '' : ' (run again with --debug for details, and report it)'}\n`);
  if (debug && error instanceof Error && error.stack) process.stderr.write(error.stack + '\n');
  return ExitCode.failed;
}

// EPIPE when the reader goes away (drbook list | head) is not an error worth a trace.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
});

await main(process.argv);
