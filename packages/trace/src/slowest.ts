import { endpointOf } from './endpoint.js';
import { eventKind, numberField, type LogEntry } from './log-entry.js';
import { isCountedRequest, type RequestFilter } from './request-filter.js';

/** One request served by a service, with where its time went. */
export interface RequestSummary {
  requestId: string;
  method: string;
  url: string;
  /** `GET /api/v1/todos/:id`. */
  endpoint: string;
  service: string;
  hostname: string;
  status: number | undefined;
  /** The service's `request finished` duration. */
  totalMs: number;
  dbMs: number;
  cacheMs: number;
  /** totalMs − dbMs − cacheMs. */
  otherMs: number;
  queries: number;
  /** When the `request finished` line was written. */
  finishedAtMs: number;
}

/**
 * The N slowest requests by the service's own duration, each with the db and cache figures of
 * its `request finished` line (the canonical line). Holds the N kept, not the log.
 */
export class SlowestRequests {
  /** The slowest so far, slowest first. */
  private readonly kept: RequestSummary[] = [];

  constructor(
    private readonly limit: number,
    private readonly filter: RequestFilter,
  ) {}

  add(entry: LogEntry): void {
    const { requestId } = entry;
    if (requestId === undefined || eventKind(entry) !== 'finished' || !isCountedRequest(entry, this.filter)) return;
    this.keep(summarize(entry, requestId));
  }

  /** Slowest first. */
  result(): RequestSummary[] {
    return [...this.kept];
  }

  private keep(request: RequestSummary): void {
    if (this.kept.length === this.limit && request.totalMs <= this.kept[this.kept.length - 1]!.totalMs) return;
    // Binary search for the first kept request faster than this one; equals stay in log order.
    let low = 0;
    let high = this.kept.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.kept[middle]!.totalMs >= request.totalMs) low = middle + 1;
      else high = middle;
    }
    this.kept.splice(low, 0, request);
    if (this.kept.length > this.limit) this.kept.pop();
  }
}

function summarize(finished: LogEntry & { url: string }, requestId: string): RequestSummary {
  const method = finished.method ?? '?';
  const { url } = finished;
  const totalMs = finished.durationMs ?? 0;
  const dbMs = numberField(finished, 'db_ms') ?? 0;
  const cacheMs = numberField(finished, 'cache_ms') ?? 0;
  return {
    requestId,
    method,
    url,
    endpoint: endpointOf(method, url),
    service: finished.service,
    hostname: finished.hostname,
    status: finished.status,
    totalMs,
    dbMs,
    cacheMs,
    otherMs: totalMs - dbMs - cacheMs,
    queries: numberField(finished, 'db_queries') ?? 0,
    finishedAtMs: finished.timeMs,
  };
}
