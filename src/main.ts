import { DrbookError, ExitCode, SignalStop } from './core/errors.js';
import { visible } from './core/visible.js';
import { VERSION, versionOnly } from './version.js';

/** The one place that turns an outcome or an error into an exit code. */
async function main(argv: string[]): Promise<void> {
  // `drbook --version` alone is answered before commander loads, with the same answer:
  // loading commander was about half of what --version added to node's start (npm run bench).
  if (versionOnly(argv.slice(2))) {
    process.stdout.write(`${VERSION}\n`);
    return;
  }
  const debug = argv.includes('--debug');
  const { buildCli } = await import('./cli.js');
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
  // Messages quote file names, session ids and values: made visible, as any text drbook
  // did not write itself (a file named with an OSC would retitle the terminal).
  if (error instanceof SignalStop) {
    process.stderr.write(`drbook: ${visible(error.message)}\n`);
    return error.exitCode;
  }
  if (error instanceof DrbookError) {
    for (const line of error.details) process.stderr.write(visible(line) + '\n');
    process.stderr.write(`drbook: ${visible(error.message)}\n`);
    if (debug && error.stack) process.stderr.write(error.stack + '\n');
    return error.exitCode;
  }
  const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
  process.stderr.write(`drbook: internal error: ${visible(message ?? '')}${debug ? '' : ' (run again with --debug for details, and report it)'}\n`);
  if (debug && error instanceof Error && error.stack) process.stderr.write(error.stack + '\n');
  return ExitCode.failed;
}

// EPIPE when the reader goes away (drbook list | head) is not an error worth a trace. When
// the command had not finished yet (a walk piped to head), it did not succeed either: say so,
// and exit 2. The journal already holds every event; `resume` continues the session.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') return;
  if (process.exitCode === undefined) {
    try {
      process.stderr.write('drbook: standard output was closed before drbook finished: stopped (an unfinished session can be continued with drbook resume)\n');
    } catch {
      // stderr may be the same closed pipe.
    }
    process.exit(ExitCode.usage);
  }
  process.exit(process.exitCode);
});

// Not a top-level await: bin/drbook.cjs runs this module bundled as CommonJS, which has
// none. What a top-level await gave for free is kept: if node runs out of work while main
// is still pending (a promise nobody will settle), that is a failure, not a success.
// 'beforeExit' fires exactly then (and not on process.exit or a signal); 'exit' would not
// do, as the prompts' exit hooks set exitCode to 0 before other listeners see it.
let finished = false;
// A file-size limit (ulimit -f) would kill drbook silently with SIGXFSZ at the write that
// crosses it. Ignored, the write fails with EFBIG instead, and the one-line error says why.
process.on('SIGXFSZ', () => {});
main(process.argv)
  .catch((error: unknown) => {
    process.exitCode = exitCodeFor(error, process.argv.includes('--debug'));
  })
  .finally(() => {
    finished = true;
  });
process.on('beforeExit', () => {
  if (finished) return;
  finished = true; // once: writing below must not start another round
  process.stderr.write('drbook: internal error: stopped before finishing (run again with --debug, and report it)\n');
  process.exitCode = ExitCode.failed;
});
