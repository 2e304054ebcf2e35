/**
 * Backdated times for `drbook note --at`, read as wall-clock times in the session's zone;
 * the offset comes per instant from ZoneClock, so daylight saving changes come out right.
 */

import { ZoneClock } from './export/time-zone.js';

const MINUTE = 60_000;

interface WallTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

function wallTime(instant: Date, zone: ZoneClock): WallTime {
  const local = new Date(instant.getTime() + zone.offsetMinutes(instant.getTime()) * MINUTE);
  return {
    year: local.getUTCFullYear(),
    month: local.getUTCMonth() + 1,
    day: local.getUTCDate(),
    hour: local.getUTCHours(),
    minute: local.getUTCMinutes(),
    second: local.getUTCSeconds(),
  };
}

/** The instant at which the zone's clocks show this wall time. */
function instantOf(w: WallTime, zone: ZoneClock): Date {
  const guess = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
  let instant = guess - zone.offsetMinutes(guess) * MINUTE;
  // Once more with the offset at the candidate instant: right across a DST change.
  instant = guess - zone.offsetMinutes(instant) * MINUTE;
  return new Date(instant);
}

const CLOCK = /^(\d{1,2}):(\d{2})(?::(\d{2}))?$/;

/**
 * When a backdated note happened. `HH:MM` or `HH:MM:SS` is today in the session's zone,
 * or yesterday if today's would be in the future (the 01:50 alert noted at 07:30 is this
 * morning; the 23:40 one noted at 00:20 is last night). Anything else must be an ISO time
 * with a date. Returns an error message instead of a date when the text is not a time.
 */
export function parseNoteTime(text: string, now: Date, timeZone: string): Date | string {
  const zone = new ZoneClock(timeZone);
  const trimmed = text.trim();
  const clock = CLOCK.exec(trimmed);
  if (clock) {
    const hour = Number(clock[1]);
    const minute = Number(clock[2]);
    const second = clock[3] === undefined ? 0 : Number(clock[3]);
    if (hour > 23 || minute > 59 || second > 59) return `--at ${text}: not a time of day (HH:MM or HH:MM:SS, 24-hour)`;
    const today = wallTime(now, zone);
    let instant = instantOf({ ...today, hour, minute, second }, zone);
    if (instant.getTime() > now.getTime()) {
      const yesterday = new Date(Date.UTC(today.year, today.month - 1, today.day - 1));
      instant = instantOf({ year: yesterday.getUTCFullYear(), month: yesterday.getUTCMonth() + 1, day: yesterday.getUTCDate(), hour, minute, second }, zone);
    }
    return instant;
  }
  if (/^\d{4}-\d{2}-\d{2}[T ]\d{1,2}:\d{2}/.test(trimmed)) {
    const hasZone = /(Z|[+-]\d{2}:?\d{2})$/i.test(trimmed);
    if (hasZone) {
      const parsed = new Date(trimmed.replace(' ', 'T'));
      if (!Number.isNaN(parsed.getTime())) return parsed;
    } else {
      // An ISO time without an offset is a wall time in the session's zone.
      const m = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{1,2}):(\d{2})(?::(\d{2}))?(?:\.\d+)?$/.exec(trimmed);
      if (m) {
        return instantOf({ year: +m[1]!, month: +m[2]!, day: +m[3]!, hour: +m[4]!, minute: +m[5]!, second: m[6] ? +m[6] : 0 }, zone);
      }
    }
  }
  return `--at ${text}: give HH:MM, HH:MM:SS or an ISO time such as 2026-03-11T01:50 or 2026-03-11T01:50:00+01:00`;
}
