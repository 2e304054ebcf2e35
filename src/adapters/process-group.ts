/**
 * Where a command's processes live: a process group of their own, so that a signal to
 * drbook can stop all of them with one `kill(-pgid)` and `resume` can find them by group.
 *
 * - **No terminal to share** (stdin is not a terminal: `--yes` in CI, a pipe): a new session
 *   (`setsid`, Node's `detached`), at no extra cost. The command has no controlling terminal.
 * - **An operator at the terminal**: Node cannot `setpgid` a child, so a few lines of perl run
 *   first in the child: `setpgid(0, 0)`, `tcsetpgrp` (the terminal's foreground is now the
 *   command's group: it reads the terminal, gets Ctrl-C), then `exec` of the shell. The shell
 *   keeps perl's pid, so drbook still waits for its own child and sees its exact status.
 *   After the command, drbook takes the terminal back the same way.
 * - **Neither possible** (no perl, drbook in the background of its terminal, no /proc): the
 *   command stays in drbook's group, as a shell without job control would run it.
 */
import { accessSync, constants, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { delimiter, isAbsolute, join } from 'node:path';

export type GroupMode =
  /** New session and group (setsid): nothing to share with a terminal. */
  | 'session'
  /** Own group, foreground of drbook's terminal. */
  | 'foreground'
  /** drbook's own group (the fallback). */
  | 'shared';

/** TIOCSPGRP where it is 0x5410 (asm-generic: x86, arm, arm64, riscv, s390, loongarch). */
const TIOCSPGRP: Readonly<Record<string, number>> = { x64: 0x5410, ia32: 0x5410, arm: 0x5410, arm64: 0x5410, riscv64: 0x5410, s390x: 0x5410, loong64: 0x5410 };

/** The child's first steps, before it becomes the shell. On failure it stays in drbook's group. */
const TAKE_GROUP = [
  'my $was = getpgrp();',
  'if (setpgrp(0, 0)) {',
  '  local $SIG{TTOU} = "IGNORE";',
  '  setpgrp(0, $was) unless ioctl(STDIN, $ARGV[0] + 0, pack("i", $$));',
  '}',
  'shift @ARGV;',
  'exec { $ARGV[0] } @ARGV or do { print STDERR "cannot start $ARGV[0]: $!\\n"; exit 127 };',
].join(' ');

/** drbook's group becomes the terminal's foreground again. */
const TAKE_BACK = '$SIG{TTOU} = "IGNORE"; ioctl(STDIN, $ARGV[0] + 0, pack("i", getpgrp())) or exit 1;';

let perlPath: string | null | undefined;

/**
 * Set in every command's environment, which its processes inherit: `DRIVER_PID/STEP/ATTEMPT`.
 * If drbook dies before journaling the command's pid, this is how `resume` finds it.
 */
export const COMMAND_ENV = 'DRBOOK_COMMAND';

export function commandMark(driverPid: number, step: string, attempt: number): string {
  return `${driverPid}/${step}/${attempt}`;
}

/** An executable on PATH, or undefined. */
export function findOnPath(name: string, path: string | undefined): string | undefined {
  if (name.includes('/')) return name;
  for (const dir of (path ?? '').split(delimiter)) {
    if (dir === '' || !isAbsolute(dir)) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

interface TerminalState {
  /** Field 7 of /proc/self/stat: 0 without a controlling terminal. */
  ttyNr: number;
  pgrp: number;
  /** The terminal's foreground group. */
  tpgid: number;
}

function ownTerminal(): TerminalState | undefined {
  try {
    const text = readFileSync('/proc/self/stat', 'utf8');
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { pgrp: Number(fields[2]), ttyNr: Number(fields[4]), tpgid: Number(fields[5]) };
  } catch {
    return undefined;
  }
}

/**
 * How the next command runs. `interactive`: the command inherits drbook's stdin, a terminal.
 */
export function chooseGroupMode(interactive: boolean): GroupMode {
  if (!interactive) return 'session';
  const ioctl = TIOCSPGRP[process.arch];
  const terminal = ownTerminal();
  // Only when drbook holds the terminal's foreground now: it can then hand it on and back.
  if (ioctl === undefined || terminal === undefined || terminal.ttyNr === 0 || terminal.tpgid !== terminal.pgrp) return 'shared';
  if (perlPath === undefined) perlPath = findOnPath('perl', process.env.PATH) ?? null;
  return perlPath === null ? 'shared' : 'foreground';
}

/** What to spawn: the shell itself, or perl taking the group and the terminal first. */
export function spawnTarget(mode: GroupMode, file: string, args: readonly string[]): { file: string; args: string[] } {
  if (mode !== 'foreground' || perlPath == null) return { file, args: [...args] };
  return { file: perlPath, args: ['-e', TAKE_GROUP, String(TIOCSPGRP[process.arch]), file, ...args] };
}

/** After a `foreground` command: drbook's group gets the terminal back (a no-op if it has it). */
export function takeTerminalBack(): void {
  const ioctl = TIOCSPGRP[process.arch];
  if (perlPath == null || ioctl === undefined) return;
  const terminal = ownTerminal();
  if (terminal === undefined || terminal.ttyNr === 0 || terminal.tpgid === terminal.pgrp) return;
  spawnSync(perlPath, ['-e', TAKE_BACK, String(ioctl)], { stdio: ['inherit', 'ignore', 'ignore'] });
}

/** drbook's controlling terminal is gone (hung up: ssh dropped, window closed). Linux only. */
export function terminalLost(): boolean {
  const terminal = ownTerminal();
  return terminal !== undefined && terminal.ttyNr === 0;
}
