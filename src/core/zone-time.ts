/**
 * Backdated times for `drbook note --at`, read as wall-clock times in the session's zone;
 * the offset comes per instant from ZoneClock, so daylight saving changes come out right.
 */

import { ZoneClock } from './export/time-zone.js';

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
/** Clocks of two terminals may differ a little: a time this far ahead still counts as now. */
const FUTURE_TOLERANCE_MS = MINUTE;

interface WallTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  millisecond: number;
}

function wallTime(instant: number, zone: ZoneClock): WallTime {
  const local = new Date(instant + zone.offsetMinutes(instant) * MINUTE);
  return {
    year: local.getUTCFullYear(),
    month: local.getUTCMonth() + 1,
    day: local.getUTCDate(),
    hour: local.getUTCHours(),
    minute: local.getUTCMinutes(),
    second: local.getUTCSeconds(),
    millisecond: local.getUTCMilliseconds(),
  };
}

function asUtc(w: WallTime): number {
  return Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second, w.millisecond);
}

/**
 * Every instant at which the zone's clocks show this wall time, earliest first: one on most
 * days, two in the hour repeated when clocks go back. A time skipped when clocks go forward
 * (02:30 in Paris on the last Sunday of March) is read with the offset from before the
 * change, so it lands as far after the change as it was meant after 02:00 (03:30).
 */
function instantsOf(w: WallTime, zone: ZoneClock): number[] {
  const guess = asUtc(w);
  const offsets = new Set([zone.offsetMinutes(guess - DAY), zone.offsetMinutes(guess), zone.offsetMinutes(guess + DAY)]);
  const found = [...offsets]
    .map((offset) => guess - offset * MINUTE)
    .filter((instant) => asUtc(wallTime(instant, zone)) === guess)
    .sort((a, b) => a - b);
  if (found.length > 0) return [...new Set(found)];
  return [guess - zone.offsetMinutes(guess - DAY) * MINUTE];
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** Hours, minutes and seconds in range; the caller has checked the shape. */
function clockInRange(hour: number, minute: number, second: number): boolean {
  return hour <= 23 && minute <= 59 && second <= 59;
}

const CLOCK = /^(\d{1,2}):(\d{2})(?::(\d{2}))?$/;
const ISO = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

const USAGE = 'give HH:MM, HH:MM:SS or an ISO time such as 2026-03-11T01:50 or 2026-03-11T01:50:00+01:00';

/**
 * When a backdated note happened. `HH:MM` or `HH:MM:SS` is today in the session's zone,
 * or yesterday if today's would be in the future (the 01:50 alert noted at 07:30 is this
 * morning; the 23:40 one noted at 00:20 is last night). Anything else must be an ISO time
 * with a date: with an offset (`Z`, `+01:00`, `+0100`, `+01`) it is that instant, without
 * one a wall time in the session's zone. A note is backdated, never postdated: a time
 * later than now is refused. Returns an error message instead of a date when the text is
 * not such a time. `fallbackOffsetMinutes` is kept if this node's Intl does not know
 * `timeZone` (the offset the session recorded at its start).
 */
export function parseNoteTime(text: string, now: Date, timeZone: string, fallbackOffsetMinutes = 0): Date | string {
  const zone = new ZoneClock(timeZone, fallbackOffsetMinutes);
  const trimmed = text.trim();
  const nowMs = now.getTime();

  const clock = CLOCK.exec(trimmed);
  if (clock) {
    const hour = Number(clock[1]);
    const minute = Number(clock[2]);
    const second = clock[3] === undefined ? 0 : Number(clock[3]);
    if (!clockInRange(hour, minute, second)) return `--at ${text}: not a time of day (HH:MM or HH:MM:SS, 24-hour)`;
    const today = wallTime(nowMs, zone);
    // Noon of yesterday's date, as a wall time: a day back on the calendar, whatever DST does.
    const back = new Date(Date.UTC(today.year, today.month - 1, today.day - 1, 12));
    const yesterday = { year: back.getUTCFullYear(), month: back.getUTCMonth() + 1, day: back.getUTCDate() };
    // The latest reading that is not in the future: in the repeated hour of a fall-back
    // night, 02:30 noted at 02:45 (the first time round) is a quarter of an hour ago.
    for (const day of [today, yesterday]) {
      const past = instantsOf({ ...day, hour, minute, second, millisecond: 0 }, zone).filter((instant) => instant <= nowMs);
      const latest = past[past.length - 1];
      if (latest !== undefined) return new Date(latest);
    }
    return `--at ${text}: not a time of the last 24 hours`;
  }

  const iso = ISO.exec(trimmed);
  if (iso) {
    const [year, month, day, hour, minute] = [1, 2, 3, 4, 5].map((i) => Number(iso[i]));
    const second = iso[6] === undefined ? 0 : Number(iso[6]);
    const millisecond = iso[7] === undefined ? 0 : Math.floor(Number(`0.${iso[7]}`) * 1000);
    if (month! < 1 || month! > 12 || day! < 1 || day! > daysInMonth(year!, month!)) return `--at ${text}: no such date`;
    if (!clockInRange(hour!, minute!, second)) return `--at ${text}: not a time of day (24-hour, seconds up to 59)`;
    const wall: WallTime = { year: year!, month: month!, day: day!, hour: hour!, minute: minute!, second, millisecond };
    let instant: number;
    const offset = iso[8];
    if (offset !== undefined) {
      const minutes = offsetMinutesOf(offset);
      if (minutes === undefined) return `--at ${text}: not a UTC offset: ${offset}`;
      instant = asUtc(wall) - minutes * MINUTE;
    } else {
      // A wall time in the session's zone; in a repeated hour, the first time round.
      instant = instantsOf(wall, zone)[0]!;
    }
    if (instant > nowMs + FUTURE_TOLERANCE_MS) {
      return `--at ${text}: that is in the future (now is ${new Date(nowMs).toISOString()}): a note can only be backdated`;
    }
    return new Date(instant);
  }
  return `--at ${text}: ${USAGE}`;
}

/** `Z`, `+01:00`, `+0100` or `+01` as minutes east of UTC; undefined out of range. */
function offsetMinutesOf(offset: string): number | undefined {
  if (offset.toUpperCase() === 'Z') return 0;
  const m = /^([+-])(\d{2}):?(\d{2})?$/.exec(offset);
  if (!m) return undefined;
  const hours = Number(m[2]);
  const minutes = m[3] === undefined ? 0 : Number(m[3]);
  if (hours > 14 || minutes > 59) return undefined;
  return (m[1] === '-' ? -1 : 1) * (hours * 60 + minutes);
}
