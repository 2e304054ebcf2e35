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
  const tz = Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  return { tz, tzOffsetMinutes: -now.getTimezoneOffset() };
}
