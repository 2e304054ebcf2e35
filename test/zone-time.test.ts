/**
 * `drbook note --at`: the time a backdated note happened, read in the session's zone. The
 * 01:50 alert noticed at 07:30 is this morning; the 23:40 one noticed at 00:20 is last
 * night; daylight saving changes and their repeated or skipped hour come out right.
 */
import { describe, expect, it } from 'vitest';
import { parseNoteTime } from '../src/core/zone-time.js';

/** The instant as ISO, or the error message when it is not a time. */
function at(text: string, now: string, zone: string): string {
  const result = parseNoteTime(text, new Date(now), zone);
  return typeof result === 'string' ? `error: ${result}` : result.toISOString();
}

describe('HH:MM and HH:MM:SS: today, or yesterday when today would be later than now', () => {
  it('is this morning when it is earlier today', () => {
    expect(at('01:50', '2026-03-11T07:30:00Z', 'UTC')).toBe('2026-03-11T01:50:00.000Z');
    expect(at('1:50', '2026-03-11T07:30:00Z', 'UTC')).toBe('2026-03-11T01:50:00.000Z');
    expect(at(' 07:29 ', '2026-03-11T07:30:00Z', 'UTC')).toBe('2026-03-11T07:29:00.000Z');
  });

  it('keeps the seconds of HH:MM:SS', () => {
    expect(at('01:50:15', '2026-03-11T07:30:00Z', 'UTC')).toBe('2026-03-11T01:50:15.000Z');
    expect(at('00:00:00', '2026-03-11T07:30:00Z', 'UTC')).toBe('2026-03-11T00:00:00.000Z');
    expect(at('23:59:59', '2026-03-11T07:30:00Z', 'UTC')).toBe('2026-03-10T23:59:59.000Z');
  });

  it('is last night when noted just after midnight', () => {
    expect(at('23:40', '2026-03-11T00:20:00Z', 'UTC')).toBe('2026-03-10T23:40:00.000Z');
    expect(at('00:10', '2026-03-11T00:20:00Z', 'UTC')).toBe('2026-03-11T00:10:00.000Z');
    // The first of the month: yesterday is the last day of the month before.
    expect(at('23:40', '2026-03-01T00:20:00Z', 'UTC')).toBe('2026-02-28T23:40:00.000Z');
    expect(at('23:40', '2028-03-01T00:20:00Z', 'UTC')).toBe('2028-02-29T23:40:00.000Z');
    expect(at('23:40', '2027-01-01T00:20:00Z', 'UTC')).toBe('2026-12-31T23:40:00.000Z');
  });

  it('is now when it is the current minute, and yesterday a minute later', () => {
    expect(at('07:30', '2026-03-11T07:30:00Z', 'UTC')).toBe('2026-03-11T07:30:00.000Z');
    expect(at('07:30', '2026-03-11T07:30:42Z', 'UTC')).toBe('2026-03-11T07:30:00.000Z');
    expect(at('07:31', '2026-03-11T07:30:42Z', 'UTC')).toBe('2026-03-10T07:31:00.000Z');
    expect(at('07:30:43', '2026-03-11T07:30:42Z', 'UTC')).toBe('2026-03-10T07:30:43.000Z');
  });

  it("reads the day in the session's zone, not in UTC", () => {
    // 00:20 in Paris on the 11th is still the 10th in UTC.
    const now = '2026-03-10T23:20:00Z';
    expect(at('00:10', now, 'Europe/Paris')).toBe('2026-03-10T23:10:00.000Z');
    expect(at('23:40', now, 'Europe/Paris')).toBe('2026-03-10T22:40:00.000Z');
    expect(at('01:50', '2026-03-11T06:30:00Z', 'Europe/Paris')).toBe('2026-03-11T00:50:00.000Z');
    // 20:20 in New York on the 10th is already the 11th in UTC.
    expect(at('19:55', '2026-03-11T00:20:00Z', 'America/New_York')).toBe('2026-03-10T23:55:00.000Z');
    expect(at('23:40', '2026-03-11T04:20:00Z', 'America/New_York')).toBe('2026-03-11T03:40:00.000Z');
    expect(at('00:10', '2026-03-11T04:20:00Z', 'America/New_York')).toBe('2026-03-11T04:10:00.000Z');
  });
});

describe('across daylight saving changes', () => {
  it('Europe/Paris, clocks forward (29 March 2026, 02:00 CET → 03:00 CEST)', () => {
    const now = '2026-03-29T07:00:00Z'; // 09:00 CEST
    expect(at('01:30', now, 'Europe/Paris')).toBe('2026-03-29T00:30:00.000Z'); // CET, +01:00
    expect(at('03:30', now, 'Europe/Paris')).toBe('2026-03-29T01:30:00.000Z'); // CEST, +02:00
    expect(at('08:59', now, 'Europe/Paris')).toBe('2026-03-29T06:59:00.000Z');
    // 02:30 does not exist that night: read as half an hour after 02:00, i.e. 03:30 CEST.
    expect(at('02:30', now, 'Europe/Paris')).toBe('2026-03-29T01:30:00.000Z');
    // Yesterday, in winter time, from a morning in summer time.
    expect(at('23:50', '2026-03-29T01:30:00Z', 'Europe/Paris')).toBe('2026-03-28T22:50:00.000Z');
    expect(at('09:30', now, 'Europe/Paris')).toBe('2026-03-28T08:30:00.000Z');
  });

  it('Europe/Paris, clocks back (25 October 2026, 03:00 CEST → 02:00 CET): the repeated hour', () => {
    const now = '2026-10-25T08:00:00Z'; // 09:00 CET
    expect(at('01:30', now, 'Europe/Paris')).toBe('2026-10-24T23:30:00.000Z'); // CEST
    expect(at('03:30', now, 'Europe/Paris')).toBe('2026-10-25T02:30:00.000Z'); // CET
    // 02:30 happened twice: the later one, as both are past.
    expect(at('02:30', now, 'Europe/Paris')).toBe('2026-10-25T01:30:00.000Z');
    // Noted at 02:45 the first time round (00:45 UTC): the 02:30 a quarter of an hour ago.
    expect(at('02:30', '2026-10-25T00:45:00Z', 'Europe/Paris')).toBe('2026-10-25T00:30:00.000Z');
    // Noted at 02:15 the second time round (01:15 UTC): 02:30 was the first time round.
    expect(at('02:30', '2026-10-25T01:15:00Z', 'Europe/Paris')).toBe('2026-10-25T00:30:00.000Z');
  });

  it('America/New_York (8 March 2026 forward, 1 November 2026 back)', () => {
    const spring = '2026-03-08T12:00:00Z'; // 08:00 EDT
    expect(at('01:50', spring, 'America/New_York')).toBe('2026-03-08T06:50:00.000Z'); // EST, -05:00
    expect(at('07:30', spring, 'America/New_York')).toBe('2026-03-08T11:30:00.000Z'); // EDT, -04:00
    expect(at('02:30', spring, 'America/New_York')).toBe('2026-03-08T07:30:00.000Z'); // skipped: 03:30 EDT
    expect(at('23:30', spring, 'America/New_York')).toBe('2026-03-08T04:30:00.000Z'); // yesterday, EST
    const autumn = '2026-11-01T12:00:00Z'; // 07:00 EST
    expect(at('00:30', autumn, 'America/New_York')).toBe('2026-11-01T04:30:00.000Z'); // EDT
    expect(at('01:30', autumn, 'America/New_York')).toBe('2026-11-01T06:30:00.000Z'); // the later 01:30, EST
    expect(at('03:00', autumn, 'America/New_York')).toBe('2026-11-01T08:00:00.000Z'); // EST
  });
});

describe('ISO times', () => {
  const now = '2026-03-11T07:30:00Z';

  it('with an offset: that instant, whatever the zone', () => {
    for (const zone of ['UTC', 'Europe/Paris', 'America/New_York', 'Asia/Kolkata']) {
      expect(at('2026-03-11T01:50:00+01:00', now, zone)).toBe('2026-03-11T00:50:00.000Z');
      expect(at('2026-03-11T01:50+0100', now, zone)).toBe('2026-03-11T00:50:00.000Z');
      expect(at('2026-03-11T01:50+01', now, zone)).toBe('2026-03-11T00:50:00.000Z');
      expect(at('2026-03-11T01:50:00Z', now, zone)).toBe('2026-03-11T01:50:00.000Z');
      expect(at('2026-03-11 01:50z', now, zone)).toBe('2026-03-11T01:50:00.000Z');
      expect(at('2026-03-10T20:50:00-05:00', now, zone)).toBe('2026-03-11T01:50:00.000Z');
      expect(at('2026-03-11T07:00:00+05:30', now, zone)).toBe('2026-03-11T01:30:00.000Z');
    }
  });

  it('keeps milliseconds', () => {
    expect(at('2026-03-11T01:50:00.250Z', now, 'UTC')).toBe('2026-03-11T01:50:00.250Z');
    expect(at('2026-03-11T01:50:00.25', now, 'Europe/Paris')).toBe('2026-03-11T00:50:00.250Z');
    expect(at('2026-03-11T01:50:00,5+01:00', now, 'UTC')).toBe('2026-03-11T00:50:00.500Z');
  });

  it("without an offset: a wall time in the session's zone", () => {
    expect(at('2026-03-11T01:50', now, 'Europe/Paris')).toBe('2026-03-11T00:50:00.000Z');
    expect(at('2026-03-11 01:50:30', now, 'Europe/Paris')).toBe('2026-03-11T00:50:30.000Z');
    expect(at('2026-03-10T21:50', now, 'America/New_York')).toBe('2026-03-11T01:50:00.000Z');
    expect(at('2026-03-11T01:50', now, 'UTC')).toBe('2026-03-11T01:50:00.000Z');
    // Summer and winter offsets of the same zone.
    expect(at('2026-07-14T22:00', now, 'Europe/Paris')).toBe(
      'error: --at 2026-07-14T22:00: that is in the future (now is 2026-03-11T07:30:00.000Z): a note can only be backdated',
    );
    expect(at('2025-07-14T22:00', now, 'Europe/Paris')).toBe('2025-07-14T20:00:00.000Z');
    expect(at('2025-12-24T22:00', now, 'Europe/Paris')).toBe('2025-12-24T21:00:00.000Z');
    // The repeated hour: the first time round; the skipped one: after the change.
    expect(at('2025-10-26T02:30', now, 'Europe/Paris')).toBe('2025-10-26T00:30:00.000Z');
    expect(at('2025-03-30T02:30', now, 'Europe/Paris')).toBe('2025-03-30T01:30:00.000Z');
  });

  it('refuses a time in the future, with a minute of leeway between clocks', () => {
    expect(at('2026-03-11T07:30:59Z', now, 'UTC')).toBe('2026-03-11T07:30:59.000Z');
    expect(at('2026-03-11T07:31:00Z', now, 'UTC')).toBe('2026-03-11T07:31:00.000Z');
    expect(at('2026-03-11T07:31:01Z', now, 'UTC')).toMatch(/^error: .*in the future.*can only be backdated$/);
    expect(at('2027-01-01T00:00', now, 'UTC')).toMatch(/in the future/);
  });
});

describe('what is not a time', () => {
  const now = '2026-03-11T07:30:00Z';

  it.each([
    ['24:00', 'not a time of day'],
    ['25:10', 'not a time of day'],
    ['12:60', 'not a time of day'],
    ['12:00:60', 'not a time of day'],
    ['2026-13-01T10:00', 'no such date'],
    ['2026-00-10T10:00', 'no such date'],
    ['2026-02-29T10:00', 'no such date'],
    ['2026-04-31T10:00', 'no such date'],
    ['2026-02-10T24:00', 'not a time of day'],
    ['2026-02-10T10:61Z', 'not a time of day'],
    ['2026-02-10T10:00+15:00', 'not a UTC offset'],
    ['2026-02-10T10:00+01:75', 'not a UTC offset'],
  ])('%s: %s', (text, problem) => {
    expect(at(text, now, 'Europe/Paris')).toBe(`error: ${parseNoteTime(text, new Date(now), 'Europe/Paris') as string}`);
    expect(parseNoteTime(text, new Date(now), 'Europe/Paris')).toContain(problem);
    expect(parseNoteTime(text, new Date(now), 'Europe/Paris')).toMatch(new RegExp(`^--at ${text.replace(/[+.]/g, '\\$&')}: `));
  });

  it.each([
    '',
    ' ',
    'yesterday',
    'now',
    '1250',
    '12:5',
    '12h50',
    '7:30pm',
    '2026-03-11',
    '2026-03-11T',
    '11/03/2026 01:50',
    '2026-3-11T01:50',
    'T01:50',
    '01:50 UTC',
    '2026-03-11T01:50:00+01:00 extra',
  ])('%j: says which forms are understood', (text) => {
    expect(parseNoteTime(text, new Date(now), 'UTC')).toBe(
      `--at ${text}: give HH:MM, HH:MM:SS or an ISO time such as 2026-03-11T01:50 or 2026-03-11T01:50:00+01:00`,
    );
  });
});

describe('a session zone this node does not know', () => {
  it('reads HH:MM at the offset the session recorded, not as UTC', () => {
    // Europe/Atlantis: as a zone newer than node's time-zone data would be, at +09:00.
    const result = parseNoteTime('17:35', new Date('2026-11-27T09:00:00Z'), 'Europe/Atlantis', 540);
    expect(result instanceof Date ? result.toISOString() : result).toBe('2026-11-27T08:35:00.000Z');
  });
});
