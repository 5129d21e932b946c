import { EDGE_SERVICE } from '@taskoverflow/observability';
import { eventKind, numberField, receivedAtMs, textField, type EventKind, type LogEntry } from './log-entry.js';

export interface TimelineEvent {
  /** Milliseconds since the request arrived (see receivedAtMs), to the millisecond below. */
  offsetMs: number;
  kind: EventKind;
  entry: LogEntry;
}

/**
 * Where the time of one request went. Totals are undefined when the line they come from is
 * missing (no edge in front, or a request that never finished).
 */
export interface Breakdown {
  /** As the client saw it: the edge's total, else the service's. */
  totalMs: number | undefined;
  edgeMs: number | undefined;
  serviceMs: number | undefined;
  /** Time in SQL, failed statements included: the services' `db_ms`. */
  dbMs: number;
  /** The services' `cache_ms`. */
  cacheMs: number;
  /** Edge total − service total: proxying and the network between them. */
  edgeOverheadMs: number | undefined;
  /** Service total − db − cache: the service's own work (routing, validation, serialising). */
  otherMs: number | undefined;
  /** The services' `db_queries`. */
  queries: number;
  /** Service requests that looked the response up in the cache (their line has `cache`). */
  cacheLookups: number;
  /**
   * How many times a service finished this id: more than once when a client reused an
   * `x-request-id`, and then the figures add those requests up.
   */
  serviceRequests: number;
}

export interface Timeline {
  requestId: string;
  method: string | undefined;
  url: string | undefined;
  /** The status the client got: the edge's, else the service's. */
  status: number | undefined;
  startedAtMs: number;
  events: TimelineEvent[];
  breakdown: Breakdown;
}

/**
 * One request's lines from all files in time order. Lines of the same millisecond keep their
 * nesting: the edge starts before and finishes after the service it forwards to. The figures
 * come from the `request finished` lines (the canonical lines), the SQL from the query lines.
 */
export function buildTimeline(requestId: string, entries: LogEntry[]): Timeline {
  // Array.prototype.sort is stable, so lines of one file and millisecond keep file order.
  const sorted = [...entries].sort((a, b) => a.timeMs - b.timeMs || nestingRank(a) - nestingRank(b));
  if (sorted.length === 0) throw new Error(`buildTimeline: no lines for request ${requestId}`);
  const startedAtMs = Math.floor(
    sorted.reduce((earliest, entry) => Math.min(earliest, receivedAtMs(entry)), Number.POSITIVE_INFINITY),
  );
  const events = sorted.map((entry) => ({ offsetMs: entry.timeMs - startedAtMs, kind: eventKind(entry), entry }));
  const edgeFinished = events.find((event) => event.kind === 'finished' && event.entry.service === EDGE_SERVICE);
  const serviceFinished = events.find((event) => event.kind === 'finished' && event.entry.service !== EDGE_SERVICE);
  const described = sorted.find((entry) => entry.method !== undefined && entry.url !== undefined);
  return {
    requestId,
    method: described?.method,
    url: described?.url,
    status: edgeFinished?.entry.status ?? serviceFinished?.entry.status,
    startedAtMs,
    events,
    breakdown: breakdownOf(events),
  };
}

function nestingRank(entry: LogEntry): number {
  if (entry.service !== EDGE_SERVICE) return 1;
  return eventKind(entry) === 'finished' ? 2 : 0;
}

function breakdownOf(events: TimelineEvent[]): Breakdown {
  let edgeMs: number | undefined;
  let serviceMs: number | undefined;
  let serviceRequests = 0;
  let dbMs = 0;
  let cacheMs = 0;
  let queries = 0;
  let cacheLookups = 0;
  for (const { kind, entry } of events) {
    if (kind !== 'finished') continue;
    const durationMs = entry.durationMs ?? 0;
    if (entry.service === EDGE_SERVICE) {
      edgeMs = (edgeMs ?? 0) + durationMs;
      continue;
    }
    serviceMs = (serviceMs ?? 0) + durationMs;
    serviceRequests += 1;
    dbMs += numberField(entry, 'db_ms') ?? 0;
    queries += numberField(entry, 'db_queries') ?? 0;
    cacheMs += numberField(entry, 'cache_ms') ?? 0;
    if (textField(entry, 'cache') !== undefined) cacheLookups += 1;
  }
  return {
    totalMs: edgeMs ?? serviceMs,
    edgeMs,
    serviceMs,
    dbMs,
    cacheMs,
    edgeOverheadMs: edgeMs !== undefined && serviceMs !== undefined ? edgeMs - serviceMs : undefined,
    otherMs: serviceMs !== undefined ? serviceMs - dbMs - cacheMs : undefined,
    queries,
    cacheLookups,
    serviceRequests,
  };
}
