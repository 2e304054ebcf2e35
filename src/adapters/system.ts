import { realpathSync, statSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { performance } from 'node:perf_hooks';
import { isatty } from 'node:tty';
import { sessionZone } from '../core/export/time-zone.js';
import type { Clock } from '../core/ports.js';

export const systemClock: Clock = {
  now: () => new Date(),
  monotonic: () => performance.now(),
};

/**
 * Whether drbook's stdin is a terminal. Asked of the descriptor, not of process.stdin: that
 * getter builds a stream (about 5 ms of loading node's stream code, npm run bench) that a
 * `run --yes` without a terminal never reads.
 */
export function stdinIsTerminal(): boolean {
  return isatty(0);
}

export function operatorName(): { user: string; host: string } {
  let user = process.env.USER ?? process.env.LOGNAME ?? 'unknown';
  try {
    user = userInfo().username;
  } catch {
    // No passwd entry (some containers): keep the environment's name.
  }
  return { user, host: hostname() };
}

export function localZone(now = new Date()): { tz: string; tzOffsetMinutes: number } {
  const tzOffsetMinutes = -now.getTimezoneOffset();
  // TZ=UTC+5 (POSIX form): Intl says UTC, the clock runs at UTC-05:00; the clock's offset is the zone.
  return { tz: sessionZone(localZoneName(), tzOffsetMinutes), tzOffsetMinutes };
}

/**
 * The local time zone's IANA name. Asking Intl loads ICU's time-zone data: about 10 ms of
 * every `run` before its first prompt (npm run bench). So the name is read from the zone
 * file node's clock follows: the one TZ names, else /etc/localtime. Anything else (TZ in
 * POSIX form such as CET-1CEST, a copied /etc/localtime, no zone database) asks Intl.
 */
export function localZoneName(): string {
  return zoneNameFromSystem() ?? intlZoneName();
}

/** Intl's answer, when it is one Intl accepts back (TZ='' gives "Etc/Unknown", which it refuses). */
function intlZoneName(): string {
  const name = Intl.DateTimeFormat().resolvedOptions().timeZone;
  try {
    if (name) return new Intl.DateTimeFormat('en-US', { timeZone: name }).resolvedOptions().timeZone;
  } catch {
    // Not a zone Intl can format in.
  }
  return 'UTC';
}

/** Where the zones of the IANA database live; the old aliases (US/Eastern, GB) are left to Intl. */
const AREA_ZONE = /^(?:Africa|America|Antarctica|Arctic|Asia|Atlantic|Australia|Europe|Indian|Pacific|Etc)(?:\/[A-Za-z0-9_+-]+)+$/;
/** The names of UTC a system may use, all of which Intl calls UTC. */
const UTC_NAMES = new Set(['UTC', 'UCT', 'Universal', 'Zulu', 'GMT', 'GMT0', 'GMT+0', 'GMT-0', 'Greenwich']);

function zoneNameFromSystem(): string | undefined {
  const tz = process.env.TZ;
  if (tz === '') return 'UTC'; // as the C library reads an empty TZ
  let zoneFile = '/etc/localtime';
  if (tz !== undefined) {
    const given = tz.replace(/^:/, '');
    if (UTC_NAMES.has(given.replace(/^Etc\//, ''))) return 'UTC';
    zoneFile = given.startsWith('/') ? given : `/usr/share/zoneinfo/${given}`;
  }
  // The file the C library reads, and so node's clock: through its links, an alias
  // (US/Eastern, posixrules, /etc/localtime) is the zone it stands for.
  let real: string;
  try {
    real = realpathSync(zoneFile);
    if (!statSync(real).isFile()) return undefined;
  } catch {
    return undefined; // no such zone file: Intl answers
  }
  const name = zoneFileName(real);
  if (name === undefined) return undefined;
  if (UTC_NAMES.has(name.replace(/^Etc\//, ''))) return 'UTC';
  return AREA_ZONE.test(name) ? name : undefined;
}

/** `Europe/Paris` from `/usr/share/zoneinfo/Europe/Paris` (or macOS's /var/db/timezone/zoneinfo/...). */
function zoneFileName(path: string): string | undefined {
  return /\/zoneinfo\/(.+)$/.exec(path)?.[1];
}
