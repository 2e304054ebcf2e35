/**
 * A bundle is built in `DIR.tmp-<pid>` and swapped in whole; what a crashed bundle left
 * is repaired before the next one starts.
 */
import { existsSync, lstatSync, mkdirSync, readdirSync, readlinkSync, realpathSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { DIR_MODE, INDEX, leftoverOf, looksLikeBundle, previousName, SUMS, temporaryName, type Leftover } from '../core/bundle/layout.js';
import { DrbookError, ExitCode } from '../core/errors.js';
import { syncDir } from './durable-file.js';
import { displayPath, errnoText } from './file-text.js';
import { makeDirs } from './make-dirs.js';
import { isProcessAlive } from './process-tree.js';

/** The leftovers of bundles into `out`, with their paths. */
export function leftoversOf(out: string): (Leftover & { path: string })[] {
  let entries: string[];
  try {
    entries = readdirSync(dirname(out));
  } catch {
    return [];
  }
  const name = basename(out);
  return entries.flatMap((entry) => {
    const leftover = leftoverOf(name, entry);
    return leftover ? [{ ...leftover, path: join(dirname(out), entry) }] : [];
  });
}

/**
 * Where `-o` really is. A symlink (to the bundle on a stick) is followed: the bundle it
 * leads to is updated, and the link stays; publishing at the link's own name would
 * replace the link with a local directory and leave the real bundle stale. A link that
 * leads nowhere (a stick not mounted) is refused: creating its target would put the
 * bundle on the local disk.
 */
export function bundleDestination(out: string): string {
  try {
    if (!lstatSync(out).isSymbolicLink()) return out;
  } catch {
    // Nothing there yet (or a parent missing, which making the directories reports).
    return out;
  }
  try {
    return realpathSync(out);
  } catch (error) {
    let target: string;
    try {
      target = displayPath(resolve(dirname(out), readlinkSync(out)));
    } catch {
      target = 'something';
    }
    const why =
      (error as NodeJS.ErrnoException).code === 'ENOENT' ? `which does not exist (a disk not mounted?)` : `which cannot be followed (${errnoText(error)})`;
    throw new DrbookError(
      `${displayPath(out)} is a symlink to ${target}, ${why}: mount or create it, or choose another -o; nothing was written`,
      ExitCode.usage,
    );
  }
}

/**
 * Builds a bundle into a temporary directory beside `out` with `build`, then swaps it in.
 * Before that: finishes what a crashed bundle left, and makes sure `out` is ours to replace.
 * Returns what it repaired, for the operator, and what `build` returned.
 */
export async function buildAndPublish<T>(out: string, build: (dir: string) => Promise<T>): Promise<{ notes: string[]; made: T }> {
  let notes: string[];
  try {
    notes = prepareDestination(out);
  } catch (error) {
    throw cannotWrite(out, error);
  }
  const tmp = temporaryName(out, process.pid);
  try {
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { mode: DIR_MODE });
    const made = await build(tmp);
    publish(out, tmp);
    return { notes, made };
  } catch (error) {
    try {
      rmSync(tmp, { recursive: true, force: true });
    } catch {
      // A read-only or full file system may refuse even that; the next bundle removes it.
    }
    throw cannotWrite(out, error);
  }
}

function prepareDestination(out: string): string[] {
  makeDirs(dirname(out), DIR_MODE);
  const leftovers = leftoversOf(out).filter((l) => l.pid !== process.pid);
  for (const l of leftovers) {
    if (isProcessAlive(l.pid)) {
      throw new DrbookError(
        `another drbook bundle (pid ${l.pid}) is writing ${displayPath(out)}: wait for it to finish (or remove ${displayPath(l.path)} if that process is not drbook)`,
        ExitCode.usage,
      );
    }
  }
  const notes: string[] = [];
  if (!existsSync(out)) {
    // A crash between the two renames of publish(): the previous bundle is whole in
    // DIR.old-<pid>. Put it back first, so that this run replaces it like any other.
    const old = leftovers.filter((l) => l.kind === 'old').sort((a, b) => statSync(b.path).mtimeMs - statSync(a.path).mtimeMs)[0];
    if (old) {
      renameSync(old.path, out);
      notes.push(`repaired: put the previous bundle back from ${displayPath(old.path)} (an earlier bundle stopped between its two renames)`);
    }
  }
  for (const l of leftovers) if (existsSync(l.path)) rmSync(l.path, { recursive: true, force: true });

  if (existsSync(out)) {
    if (!statSync(out).isDirectory()) throw new DrbookError(`${displayPath(out)} exists and is not a directory: choose another -o`, ExitCode.usage);
    const entries = readdirSync(out);
    // DIR is renamed away and deleted: never do that to a directory that is not a bundle.
    if (entries.length > 0 && !looksLikeBundle(entries)) {
      throw new DrbookError(
        `${displayPath(out)} exists and is not a drbook bundle (no ${SUMS} and ${INDEX}): refusing to replace it; choose a new or empty directory with -o`,
        ExitCode.usage,
      );
    }
  }
  return notes;
}

/**
 * A file system error while writing the bundle (read-only, full, a file where a directory
 * should be) is the operator's to fix: one line, exit 2. Anything else is a bug and stays one.
 */
function cannotWrite(out: string, error: unknown): unknown {
  if (error instanceof DrbookError) return error;
  const code = (error as NodeJS.ErrnoException).code;
  if (typeof code !== 'string' || !/^E[A-Z]+$/.test(code)) return error;
  const hint = code === 'ENOSPC' ? 'free some space, or choose another -o' : 'choose another -o';
  return new DrbookError(`cannot write the bundle ${displayPath(out)}: ${errnoText(error)}; ${hint}`, ExitCode.usage);
}

/**
 * Swaps the finished bundle in. Each rename is atomic; the pair is not. A crash between
 * them leaves no DIR, but DIR.old-<pid> (the previous bundle) and DIR.tmp-<pid> (the new
 * one), both whole: `--check DIR` says so, and the next `bundle` puts the old one back
 * before it starts (or move DIR.tmp-<pid> to DIR by hand).
 */
function publish(out: string, tmp: string): void {
  const old = previousName(out, process.pid);
  const replacing = existsSync(out);
  if (replacing) renameSync(out, old);
  renameSync(tmp, out);
  syncDir(dirname(out));
  if (replacing) rmSync(old, { recursive: true, force: true });
}
