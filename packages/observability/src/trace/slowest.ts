import { endpointOf } from './endpoint.js';
import { EDGE_SERVICE, eventKind, type LogEntry } from './log-entry.js';
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

interface OpenRequest {
  dbMs: number;
  cacheMs: number;
  queries: number;
}

/**
 * The N slowest requests by the service's own duration. Sums the query and cache lines of
 * each request while it is open and settles it at its `request finished` line, so what it
 * holds is the requests in flight plus the N kept — not the log.
 */
export class SlowestRequests {
  /** Keyed by service, replica and id: replicas share a file, and ids may repeat across them. */
  private readonly open = new Map<string, OpenRequest>();
  /** The slowest so far, slowest first. */
  private readonly kept: RequestSummary[] = [];

  constructor(
    private readonly limit: number,
    private readonly filter: RequestFilter,
  ) {}

  add(entry: LogEntry): void {
    const { requestId } = entry;
    if (requestId === undefined || entry.service === EDGE_SERVICE) return;
    const key = `${entry.service}\n${entry.hostname}\n${requestId}`;
    const kind = eventKind(entry);
    if (kind === 'finished') {
      const open = this.open.get(key);
      this.open.delete(key);
      if (isCountedRequest(entry, this.filter)) this.keep(summarize(entry, requestId, open));
      return;
    }
    if (kind !== 'query' && kind !== 'query failed' && kind !== 'cache') return;
    let open = this.open.get(key);
    if (!open) {
      open = { dbMs: 0, cacheMs: 0, queries: 0 };
      this.open.set(key, open);
    }
    if (kind === 'cache') {
      open.cacheMs += entry.durationMs ?? 0;
    } else {
      open.dbMs += entry.durationMs ?? 0;
      open.queries += 1;
    }
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

function summarize(finished: LogEntry & { url: string }, requestId: string, open: OpenRequest | undefined): RequestSummary {
  const method = finished.method ?? '?';
  const { url } = finished;
  const totalMs = finished.durationMs ?? 0;
  const dbMs = open?.dbMs ?? 0;
  const cacheMs = open?.cacheMs ?? 0;
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
    queries: open?.queries ?? 0,
    finishedAtMs: finished.timeMs,
  };
}
