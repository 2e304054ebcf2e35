/**
 * localZoneName() reads the zone's name from TZ or /etc/localtime instead of asking Intl
 * (which costs ICU's start-up). Whatever it answers must be a zone Intl knows, and one
 * that keeps the same hours as the system clock: the journal records it, and export shows
 * every time of the session in it.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, REPO } from './helpers/run-cli.js';

const system = pathToFileURL(join(REPO, 'dist', 'adapters', 'system.js')).href;

/** In a node whose TZ is `tz` (undefined: unset): the name, and whether it keeps the system's hours. */
function zoneUnder(tz: string | undefined): { name: string; sameHours: boolean } {
  const script = `
    import { localZoneName } from ${JSON.stringify(system)};
    const name = localZoneName();
    const parts = new Intl.DateTimeFormat('en-US', { timeZone: name, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit' });
    // Instants around the DST changes of both hemispheres, and midnight.
    const instants = ['2026-01-15T12:00:00Z', '2026-03-29T00:30:00Z', '2026-03-29T01:30:00Z', '2026-07-01T23:59:00Z', '2026-10-04T16:00:00Z', '2026-11-01T06:30:00Z'];
    const sameHours = instants.every((iso) => {
      const d = new Date(iso);
      const p = Object.fromEntries(parts.formatToParts(d).map((x) => [x.type, x.value]));
      const local = [d.getFullYear(), String(d.getMonth() + 1).padStart(2, '0'), String(d.getDate()).padStart(2, '0'), String(d.getHours()).padStart(2, '0'), String(d.getMinutes()).padStart(2, '0')].join(' ');
      return local === [p.year, p.month, p.day, p.hour, p.minute].join(' ');
    });
    process.stdout.write(JSON.stringify({ name, sameHours }));`;
  const env = { ...process.env };
  if (tz === undefined) delete env.TZ;
  else env.TZ = tz;
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', env });
  expect(result.stderr).toBe('');
  return JSON.parse(result.stdout) as { name: string; sameHours: boolean };
}

beforeAll(ensureBuilt);

describe('localZoneName', () => {
  it.each(['Europe/Paris', ':America/New_York', 'Asia/Kolkata', 'Australia/Lord_Howe', 'America/Argentina/Buenos_Aires', 'Pacific/Chatham', 'Etc/GMT+5', 'Asia/Tehran'])(
    'TZ=%s: that zone, keeping the system clock hours',
    (tz) => {
      const zone = zoneUnder(tz);
      expect(zone.name).toBe(tz.replace(/^:/, ''));
      expect(zone.sameHours).toBe(true);
    },
  );

  it.each(['Etc/UTC', 'UTC', 'Zulu', ''])('TZ=%s: UTC, as Intl names it', (tz) => {
    expect(zoneUnder(tz)).toEqual({ name: 'UTC', sameHours: true });
  });

  it.each(['CET-1CEST', 'Nope/Zone', '../../etc/passwd', 'posix/Europe/Paris'])('TZ=%s, not a zone of the database: what Intl says', (tz) => {
    const zone = zoneUnder(tz);
    expect(() => new Intl.DateTimeFormat('en-US', { timeZone: zone.name })).not.toThrow();
    expect(zone.sameHours).toBe(true);
  });

  it('TZ unset: the zone of /etc/localtime, keeping the system clock hours', () => {
    const zone = zoneUnder(undefined);
    expect(() => new Intl.DateTimeFormat('en-US', { timeZone: zone.name })).not.toThrow();
    expect(zone.sameHours).toBe(true);
  });
});
