import { readlinkSync, statSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { Clock } from '../core/ports.js';

export const systemClock: Clock = {
  now: () => new Date(),
  monotonic: () => performance.now(),
};

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
  return { tz: localZoneName(), tzOffsetMinutes: -now.getTimezoneOffset() };
}

/**
 * The local time zone's IANA name. Asking Intl loads ICU's time-zone data: about 10 ms of
 * every `run` before its first prompt (npm run bench). So the name is read where Intl
 * itself finds it: TZ, else the zone file /etc/localtime links to. Anything else (TZ in
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

const ZONE_NAME = /^[A-Za-z][A-Za-z0-9_+-]*(?:\/[A-Za-z0-9_+-]+)*$/;
/** Intl's one name for the aliases of UTC a system may use. */
const UTC_ALIASES = new Set(['Etc/UTC', 'Etc/UCT', 'Etc/Universal', 'Etc/Zulu', 'UCT', 'Universal', 'Zulu', 'UTC']);

function zoneNameFromSystem(): string | undefined {
  let name: string | undefined;
  const tz = process.env.TZ;
  if (tz === '') return 'UTC'; // as the C library reads an empty TZ
  if (tz !== undefined) {
    name = tz.replace(/^:/, '');
    if (!isFile(`/usr/share/zoneinfo/${name}`)) return undefined;
  } else {
    try {
      name = /\/zoneinfo\/(.+)$/.exec(readlinkSync('/etc/localtime'))?.[1];
    } catch {
      return undefined; // not a link, or no /etc/localtime
    }
  }
  if (name === undefined || !ZONE_NAME.test(name) || name.startsWith('posix/') || name.startsWith('right/')) return undefined;
  return UTC_ALIASES.has(name) ? 'UTC' : name;
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}
