/**
 * localZoneName() reads the zone's name from TZ or /etc/localtime instead of asking Intl
 * (which costs ICU's start-up). Whatever it answers must be a zone Intl knows, and one
 * that keeps the hours of the wall clock (`date`): the journal records it, and export
 * shows every time of the session in it.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, REPO } from './helpers/run-cli.js';

const system = pathToFileURL(join(REPO, 'dist', 'adapters', 'system.js')).href;

interface Zone {
  name: string;
  /** Intl's own answer, made valid ("Etc/Unknown" and no answer are UTC). */
  intl: string;
  sameHours: boolean;
}

/** In a node whose TZ is `tz` (undefined: unset): the name, Intl's, and whether it keeps the wall clock's hours. */
function zoneUnder(tz: string | undefined): Zone {
  const script = `
    import { execFileSync } from 'node:child_process';
    import { localZoneName } from ${JSON.stringify(system)};
    const name = localZoneName();
    const parts = new Intl.DateTimeFormat('en-US', { timeZone: name, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit' });
    // Instants around the DST changes of both hemispheres, and midnight.
    const instants = ['2026-01-15T12:00:00Z', '2026-03-29T00:30:00Z', '2026-03-29T01:30:00Z', '2026-07-01T23:59:00Z', '2026-10-04T16:00:00Z', '2026-11-01T06:30:00Z'];
    // The operator's wall clock is the C library's (what \`date\` prints); node's Date may
    // disagree for a zone ICU cannot name (TZ=/usr/share/zoneinfo/Europe/Paris drops DST).
    const sameHours = instants.every((iso) => {
      const d = new Date(iso);
      const p = Object.fromEntries(parts.formatToParts(d).map((x) => [x.type, x.value]));
      const wall = execFileSync('date', ['-d', iso, '+%Y %m %d %H %M'], { encoding: 'utf8' }).trim();
      return wall === [p.year, p.month, p.day, p.hour, p.minute].join(' ');
    });
    let intl = 'UTC';
    try {
      intl = new Intl.DateTimeFormat('en-US', { timeZone: Intl.DateTimeFormat().resolvedOptions().timeZone }).resolvedOptions().timeZone || 'UTC';
    } catch {}
    process.stdout.write(JSON.stringify({ name, intl, sameHours }));`;
  const env = { ...process.env };
  if (tz === undefined) delete env.TZ;
  else env.TZ = tz;
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', env });
  expect(result.stderr).toBe('');
  return JSON.parse(result.stdout) as Zone;
}

beforeAll(ensureBuilt);

describe('localZoneName', () => {
  it.each([
    'Europe/Paris',
    ':America/New_York',
    'Asia/Kolkata',
    'Australia/Lord_Howe',
    'America/Argentina/Buenos_Aires',
    'Pacific/Chatham',
    'Etc/GMT+5',
    'Asia/Tehran',
  ])('TZ=%s: that zone, keeping the system clock hours', (tz) => {
    const zone = zoneUnder(tz);
    expect(zone.name).toBe(tz.replace(/^:/, ''));
    expect(zone.sameHours).toBe(true);
  });

  it.each(['Etc/UTC', 'UTC', 'Zulu', '', 'GMT', 'Etc/GMT0', 'Greenwich'])('TZ=%s: UTC, as Intl names it', (tz) => {
    expect(zoneUnder(tz)).toEqual({ name: 'UTC', intl: 'UTC', sameHours: true });
  });

  // Aliases stand for the zone their zone file is (US/Eastern, posixrules: New York), which
  // Intl does not always know (posixrules); an absolute TZ names the file itself.
  it.each([
    ['/usr/share/zoneinfo/Europe/Paris', 'Europe/Paris'],
    [':/usr/share/zoneinfo/Asia/Tokyo', 'Asia/Tokyo'],
    ['US/Eastern', 'America/New_York'],
    ['posixrules', 'America/New_York'],
    ['GB', 'Europe/London'],
  ])('TZ=%s: the zone of its file, %s', (tz, expected) => {
    const zone = zoneUnder(tz);
    // A distribution may ship an alias as a copy rather than a link: then Intl names it.
    expect([expected, zone.intl]).toContain(zone.name);
    expect(zone.sameHours).toBe(true);
  });

  // Names of the database that are not zones, and what is not a name at all: Intl's
  // answer, made valid, as before the name was read from the system.
  it.each(['Factory', 'leapseconds', 'CET-1CEST', 'Nope/Zone', 'Europe/Nowhere', 'Europe', '../../etc/passwd', 'right/Europe/Paris'])(
    'TZ=%s: what Intl says, a zone Intl knows',
    (tz) => {
      const zone = zoneUnder(tz);
      expect(zone.name).toBe(zone.intl);
      expect(() => new Intl.DateTimeFormat('en-US', { timeZone: zone.name })).not.toThrow();
    },
  );

  it('TZ unset: the zone of /etc/localtime, keeping the system clock hours', () => {
    const zone = zoneUnder(undefined);
    expect(() => new Intl.DateTimeFormat('en-US', { timeZone: zone.name })).not.toThrow();
    expect(zone.sameHours).toBe(true);
  });
});
