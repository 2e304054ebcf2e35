/**
 * Wall-clock formatting in an IANA zone. The offset is computed for each instant (not
 * once per session) so a session that crosses a DST change reads right on both sides.
 */

/** `UTC+09:00`, `UTC-03:30`: a fixed offset, which drbook names so when a zone is unknown. */
const FIXED_OFFSET = /^UTC([+-])(\d{2}):([0-5]\d)$/;

/** The offset in minutes of a fixed-offset name (`UTC+09:00` → 540), else undefined. */
function fixedOffsetMinutes(zone: string): number | undefined {
  const m = FIXED_OFFSET.exec(zone.trim());
  if (!m) return undefined;
  const minutes = Number(m[2]) * 60 + Number(m[3]);
  if (minutes > 14 * 60) return undefined;
  return m[1] === '-' ? -minutes : minutes;
}

/** The name of a fixed offset: 540 → `UTC+09:00`, 0 → `UTC`. */
function fixedOffsetName(minutes: number): string {
  return minutes === 0 ? 'UTC' : `UTC${formatOffset(minutes)}`;
}

/**
 * The zone a session's times are in, from what it recorded. A POSIX TZ (`UTC+5`, or
 * `EST5EDT` with no zone file) is named `UTC` by Intl while the clock keeps the TZ's own
 * offset: a session recorded as `UTC` with an offset that is not 0 is in that offset
 * (`UTC-05:00`), the time the operator's clock showed.
 */
export function sessionZone(tz: string, offsetMinutes: number): string {
  return tz === 'UTC' && offsetMinutes !== 0 && Math.abs(offsetMinutes) <= 14 * 60 ? fixedOffsetName(offsetMinutes) : tz;
}

/**
 * The canonical name of a zone Intl knows (`utc` → `UTC`) or of a fixed offset
 * (`UTC+09:00`), or undefined for an unknown one.
 */
export function canonicalTimeZone(zone: string): string | undefined {
  if (zone.trim() === '') return undefined;
  const fixed = fixedOffsetMinutes(zone);
  if (fixed !== undefined) return fixedOffsetName(fixed);
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: zone }).resolvedOptions().timeZone;
  } catch {
    return undefined;
  }
}

export interface WallTime {
  /** `2026-03-11` */
  date: string;
  /** `09:05` */
  time: string;
  /** `09:05:12` */
  timeSeconds: string;
  /** `+01:00` */
  offset: string;
  offsetMinutes: number;
  /** 0 = Sunday, of the local date. */
  weekday: number;
}

const MINUTE = 60_000;

/**
 * Formats instants in one zone. Offsets are cached per UTC minute: zone transitions fall on
 * whole minutes, and a 100,000-event journal would otherwise cost one `formatToParts` each.
 */
export class ZoneClock {
  readonly zone: string;
  /** Undefined when the zone is not one Intl knows: then every instant has `fixedOffset`. */
  private readonly parts: Intl.DateTimeFormat | undefined;
  private readonly fixedOffset: number;
  private readonly offsets = new Map<number, number>();

  /**
   * `zone` should be one Intl knows. A journal may still record one this node's Intl does
   * not: a zone newer than its time-zone data, or "Etc/Unknown", which earlier builds wrote
   * when TZ was empty. Then the clock keeps `fallbackOffsetMinutes` (the offset the session
   * recorded at its start, UTC when unknown) and says so in `zone` ("UTC+09:00"), rather
   * than fail the whole export or shift every time. A fixed offset may also be given as
   * `zone` itself (`export --tz UTC+09:00`).
   */
  constructor(zone: string, fallbackOffsetMinutes = 0) {
    const fixed = fixedOffsetMinutes(zone) ?? (canonicalTimeZone(zone) === undefined ? fallbackOffsetMinutes : undefined);
    if (fixed !== undefined) {
      this.fixedOffset = fixed;
      this.zone = fixedOffsetName(fixed);
      this.parts = undefined;
      return;
    }
    this.zone = zone;
    this.fixedOffset = 0;
    this.parts = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
  }

  /** Offset from UTC in minutes at this instant (60 for Paris in winter). */
  offsetMinutes(ms: number): number {
    const minute = Math.floor(ms / MINUTE);
    let offset = this.offsets.get(minute);
    if (offset === undefined) {
      offset = this.computeOffset(minute * MINUTE);
      this.offsets.set(minute, offset);
    }
    return offset;
  }

  wall(ms: number): WallTime {
    const offsetMinutes = this.offsetMinutes(ms);
    const local = new Date(ms + offsetMinutes * MINUTE);
    const date = `${local.getUTCFullYear()}-${pad(local.getUTCMonth() + 1)}-${pad(local.getUTCDate())}`;
    const time = `${pad(local.getUTCHours())}:${pad(local.getUTCMinutes())}`;
    return {
      date,
      time,
      timeSeconds: `${time}:${pad(local.getUTCSeconds())}`,
      offset: formatOffset(offsetMinutes),
      offsetMinutes,
      weekday: local.getUTCDay(),
    };
  }

  private computeOffset(ms: number): number {
    if (!this.parts) return this.fixedOffset;
    const values: Record<string, number> = {};
    for (const part of this.parts.formatToParts(new Date(ms))) {
      if (part.type !== 'literal') values[part.type] = Number(part.value);
    }
    const asUtc = Date.UTC(values.year ?? 1970, (values.month ?? 1) - 1, values.day ?? 1, values.hour ?? 0, values.minute ?? 0, values.second ?? 0);
    return Math.round((asUtc - ms) / MINUTE);
  }
}

/** `60` → `+01:00`, `-330` → `-05:30`. */
function formatOffset(minutes: number): string {
  const sign = minutes < 0 ? '-' : '+';
  const abs = Math.abs(minutes);
  return `${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

/** `Wednesday 11 March 2026`: fixed English words, so a golden file does not depend on the machine's locale. */
export function longDate(wall: Pick<WallTime, 'date' | 'weekday'>): string {
  const [year, month, day] = wall.date.split('-');
  return `${WEEKDAYS[wall.weekday] ?? ''} ${Number(day)} ${MONTHS[Number(month) - 1] ?? ''} ${year ?? ''}`;
}

function pad(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}
