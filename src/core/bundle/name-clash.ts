/**
 * Names a USB stick cannot tell apart. FAT and exFAT ignore letter case, APFS (and HFS+)
 * ignore Unicode normalization too: `B.yml` and `b.yml`, or `café.md` written NFC and
 * NFD, are one file there, and copying both keeps only the last.
 */

/** The name as such a file system compares it. */
export function foldName(name: string): string {
  return name.normalize('NFC').toLowerCase();
}

/**
 * Pairs of distinct paths (relative, with `/`) that would land on the same name, or where
 * one would be a file and the other a directory of the same name. Each pair once, in the
 * order the paths were given.
 */
export function nameClashes(paths: readonly string[]): [string, string][] {
  const files = new Map<string, string>();
  /** A directory's folded name to the first path under it. */
  const dirs = new Map<string, string>();
  const clashes: [string, string][] = [];
  const seen = new Set<string>();
  /** Each pair once; a file and a directory once, whatever number of files the directory holds. */
  const clash = (a: string, b: string, key = `${a}\0${b}`) => {
    if (!seen.has(key)) clashes.push([a, b]);
    seen.add(key);
  };
  for (const path of paths) {
    const key = foldName(path);
    const file = files.get(key);
    if (file !== undefined) {
      if (file !== path) clash(file, path);
    } else {
      files.set(key, path);
      const dir = dirs.get(key);
      if (dir !== undefined) clash(dir, path);
    }
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) {
      const prefix = foldName(parts.slice(0, i).join('/'));
      const asFile = files.get(prefix);
      if (asFile !== undefined) clash(asFile, path, `${asFile}\0${prefix}/`);
      if (!dirs.has(prefix)) dirs.set(prefix, path);
    }
  }
  return clashes;
}
