const UNIT_MS: Record<string, number> = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000, ms: 1 };
// Parts may be spaced (`1h 30m`), the way formatDuration writes them and people type them.
const DURATION = /^(?:(\d+)d\s*)?(?:(\d+)h\s*)?(?:(\d+)m(?!s)\s*)?(?:(\d+)s\s*)?(?:(\d+)ms)?$/;

/** Parses `90m`, `2h`, `1h30m`, `45s`, `1d`, `500ms`. Returns milliseconds, or undefined. */
export function parseDuration(text: string): number | undefined {
  const trimmed = text.trim();
  if (trimmed === '') return undefined;
  const m = DURATION.exec(trimmed);
  if (!m) return undefined;
  const units = ['d', 'h', 'm', 's', 'ms'] as const;
  let total = 0;
  let any = false;
  units.forEach((unit, i) => {
    const part = m[i + 1];
    if (part !== undefined) {
      any = true;
      total += Number(part) * (UNIT_MS[unit] ?? 0);
    }
  });
  return any ? total : undefined;
}

/** `3723000` → `1h 2m 3s`; below a minute keeps one decimal of seconds. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) ms = 0;
  // 59.6 s rounds to a minute: show `1m`, not `60s`.
  if (ms < 59_500) {
    const s = ms / 1000;
    return s < 9.95 ? `${s.toFixed(1)}s` : `${Math.round(s)}s`;
  }
  const totalSeconds = Math.round(ms / 1000);
  const d = Math.floor(totalSeconds / 86_400);
  const h = Math.floor((totalSeconds % 86_400) / 3600);
  const m = Math.floor((totalSeconds % 3600) / 60);
  const s = totalSeconds % 60;
  const parts: string[] = [];
  if (d) parts.push(`${d}d`);
  if (h) parts.push(`${h}h`);
  if (m) parts.push(`${m}m`);
  if (s && !d) parts.push(`${s}s`);
  return parts.join(' ') || '0s';
}
