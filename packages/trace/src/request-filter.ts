import { EDGE_SERVICE } from '@taskoverflow/observability';
import type { LogEntry } from './log-entry.js';
import { isHealthCheck } from './endpoint.js';

/** Which served requests --slowest and --endpoints look at. */
export interface RequestFilter {
  /** Only requests that finished at or after this time (ms since the epoch). */
  sinceMs?: number | undefined;
  /** Only requests served by this service. */
  service?: string | undefined;
}

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const RELATIVE = /^(\d+)([smhd])$/;
const ISO_TIME = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$/i;

/**
 * The time a `--since` value stands for: a duration back from `nowMs` (`90s`, `10m`, `1h`,
 * `2d`) or an ISO 8601 date or date-time — UTC when it has no offset, as the logs are.
 * Undefined when it is neither.
 */
export function parseSince(value: string, nowMs: number): number | undefined {
  const relative = RELATIVE.exec(value);
  if (relative) return nowMs - Number(relative[1]) * UNIT_MS[relative[2]!]!;
  const iso = ISO_TIME.exec(value);
  if (!iso) return undefined;
  const hasTime = value.length > 10;
  const ms = Date.parse(hasTime && !iso[1] ? `${value}Z` : value);
  return Number.isNaN(ms) ? undefined : ms;
}

/**
 * Whether a `request finished` line is one of the served requests to count: logged by a
 * service (the edge only forwards), not a health check, and within the filter.
 */
export function isCountedRequest(finished: LogEntry, filter: RequestFilter): finished is LogEntry & { url: string } {
  if (finished.service === EDGE_SERVICE || finished.url === undefined || isHealthCheck(finished.url)) return false;
  if (filter.sinceMs !== undefined && finished.timeMs < filter.sinceMs) return false;
  return filter.service === undefined || finished.service === filter.service;
}
