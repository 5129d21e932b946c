import { endpointOf } from './endpoint.js';
import { eventKind, type LogEntry } from './log-entry.js';
import { isCountedRequest, type RequestFilter } from './request-filter.js';

export interface EndpointSummary {
  /** `GET /api/v1/todos/:id`. */
  endpoint: string;
  count: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Responses with a 5xx status. */
  serverErrors: number;
}

/**
 * The p-th percentile by the nearest-rank method: the smallest duration that at least p% of
 * the requests took no longer than. It is always a duration that was measured, and easy to
 * check by hand. `sorted` is ascending and not empty.
 */
export function percentile(sorted: readonly number[], p: number): number {
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1]!;
}

/**
 * Durations of the services' requests per endpoint. Keeps one number per request (8 bytes),
 * which exact percentiles need.
 */
export class EndpointStats {
  private readonly byEndpoint = new Map<string, { durations: number[]; serverErrors: number }>();

  constructor(private readonly filter: RequestFilter) {}

  add(entry: LogEntry): void {
    if (eventKind(entry) !== 'finished' || !isCountedRequest(entry, this.filter)) return;
    const endpoint = endpointOf(entry.method ?? '?', entry.url);
    let stats = this.byEndpoint.get(endpoint);
    if (!stats) {
      stats = { durations: [], serverErrors: 0 };
      this.byEndpoint.set(endpoint, stats);
    }
    stats.durations.push(entry.durationMs ?? 0);
    if (entry.status !== undefined && entry.status >= 500) stats.serverErrors += 1;
  }

  /** Slowest p95 first. */
  result(): EndpointSummary[] {
    const summaries = [...this.byEndpoint].map(([endpoint, { durations, serverErrors }]) => {
      const ascending = durations.sort((a, b) => a - b);
      return {
        endpoint,
        count: ascending.length,
        p50Ms: percentile(ascending, 50),
        p95Ms: percentile(ascending, 95),
        p99Ms: percentile(ascending, 99),
        maxMs: ascending[ascending.length - 1]!,
        serverErrors,
      };
    });
    return summaries.sort((a, b) => b.p95Ms - a.p95Ms || b.count - a.count || a.endpoint.localeCompare(b.endpoint));
  }
}
