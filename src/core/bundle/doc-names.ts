/** Doc names in docs/: readable, unique, and safe on the FAT/exFAT/APFS of a USB stick. */

import { foldName } from './name-clash.js';

/**
 * A name under docs/ for each doc file: its own file name when that is unique; when
 * several docs share a name, as many parent directories as tell them apart
 * (`mail/backups.md`, `dns/backups.md`); `-2`, `-3` as a last resort. Names are compared
 * as the stick's file system does (foldName): without case, and NFC and NFD alike.
 */
export function planDocNames(paths: string[]): Map<string, string> {
  const segmentsOf = (path: string) =>
    path
      .split(/[\\/]+/)
      .filter((s) => s !== '')
      .map(safeSegment);
  const groups = new Map<string, string[]>();
  for (const path of paths) {
    const key = foldName(segmentsOf(path).pop() ?? 'doc');
    groups.set(key, [...(groups.get(key) ?? []), path]);
  }
  const names = new Map<string, string>();
  for (const group of groups.values()) {
    const segs = group.map(segmentsOf);
    const longest = Math.max(...segs.map((s) => s.length));
    let chosen: string[] | undefined;
    for (let depth = 1; depth <= longest; depth++) {
      const candidate = segs.map((s) => s.slice(-depth).join('/'));
      if (new Set(candidate.map(foldName)).size === candidate.length) {
        chosen = candidate;
        break;
      }
    }
    group.forEach((path, i) => names.set(path, chosen?.[i] ?? segs[i]!.slice(-1).join('/')));
  }
  // Make every name unique, and never both a file and a directory (`a` and `a/b.md`).
  const taken = new Set<string>();
  const dirs = new Set<string>();
  for (const name of names.values()) {
    const parts = foldName(name).split('/');
    for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join('/'));
  }
  for (const [path, name] of names) {
    let unique = name;
    for (let n = 2; taken.has(foldName(unique)) || dirs.has(foldName(unique)); n++) unique = numbered(name, n);
    taken.add(foldName(unique));
    names.set(path, unique);
  }
  return names;
}

function numbered(name: string, n: number): string {
  const slash = name.lastIndexOf('/');
  const dot = name.lastIndexOf('.');
  return dot > slash + 1 ? `${name.slice(0, dot)}-${n}${name.slice(dot)}` : `${name}-${n}`;
}

/** FAT forbids these; `#` would read as an anchor; `\` and line breaks would need escapes in SHA256SUMS. */
function safeSegment(segment: string): string {
  const cleaned = segment.replace(/[\u0000-\u001f<>:"|?*#\\]/g, '_').replace(/[. ]+$/, '');
  return cleaned === '' || cleaned === '.' || cleaned === '..' ? '_' : cleaned;
}
