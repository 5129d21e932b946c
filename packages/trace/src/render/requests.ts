import type { EndpointSummary } from '../endpoint-stats.js';
import type { Candidate } from '../request-lookup.js';
import type { RequestSummary } from '../slowest.js';
import { paintStatus, type Style } from './style.js';
import { renderTable, type Column } from './table.js';
import { compactTimes, formatMsCell, formatShare, isoTime } from './text.js';

const NO_REQUESTS =
  'no finished requests found (health checks do not count, nor requests outside --since and --service)';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * An id short enough for a table: a UUID's first 12 hex digits (48 random bits: unique in
 * any log), which `pnpm trace` accepts as a prefix. Other ids, e.g. an ALB trace root that
 * starts with a timestamp, are kept whole.
 */
export function shortId(requestId: string): string {
  return UUID.test(requestId) ? requestId.slice(0, 13) : requestId;
}

/** The --slowest table and a hint to trace the slowest of them. */
export function renderSlowest(requests: RequestSummary[], width: number, style: Style): string[] {
  if (requests.length === 0) return [NO_REQUESTS];
  const times = compactTimes(requests.map((request) => request.finishedAtMs));
  const rows = requests.map((request, index) => ({ request, time: times[index]! }));
  const ms = (header: string, value: (request: RequestSummary) => number): Column<(typeof rows)[number]> => ({
    header,
    align: 'right',
    cell: ({ request }) => formatMsCell(value(request)),
  });
  const columns: Array<Column<(typeof rows)[number]>> = [
    { header: 'request', align: 'left', cell: ({ request }) => shortId(request.requestId), paint: style.cyan },
    { header: 'endpoint', align: 'left', cell: ({ request }) => `${request.method} ${request.url}`, shrinks: true },
    {
      header: 'status',
      align: 'right',
      cell: ({ request }) => String(request.status ?? '?'),
      paint: (text, { request }) => paintStatus(style, request.status, text),
    },
    { ...ms('total ms', (request) => request.totalMs), paint: style.bold },
    ms('db ms', (request) => request.dbMs),
    ms('cache ms', (request) => request.cacheMs),
    ms('other ms', (request) => request.otherMs),
    { header: 'queries', align: 'right', cell: ({ request }) => String(request.queries) },
    { header: 'finished (UTC)', align: 'left', cell: ({ time }) => time },
  ];
  const slowest = requests[0]!;
  return [
    ...renderTable(columns, rows, width, style),
    '',
    style.dim(`where the time of one went, line by line: pnpm trace ${shortId(slowest.requestId)}`),
  ];
}

/** The --endpoints table. */
export function renderEndpoints(endpoints: EndpointSummary[], width: number, style: Style): string[] {
  if (endpoints.length === 0) return [NO_REQUESTS];
  const ms = (header: string, value: (endpoint: EndpointSummary) => number): Column<EndpointSummary> => ({
    header,
    align: 'right',
    cell: (endpoint) => formatMsCell(value(endpoint)),
  });
  const columns: Array<Column<EndpointSummary>> = [
    { header: 'endpoint', align: 'left', cell: (endpoint) => endpoint.endpoint, shrinks: true },
    { header: 'count', align: 'right', cell: (endpoint) => String(endpoint.count) },
    ms('p50 ms', (endpoint) => endpoint.p50Ms),
    { ...ms('p95 ms', (endpoint) => endpoint.p95Ms), paint: style.bold },
    ms('p99 ms', (endpoint) => endpoint.p99Ms),
    ms('max ms', (endpoint) => endpoint.maxMs),
    {
      header: '5xx',
      align: 'right',
      cell: (endpoint) => formatShare(endpoint.serverErrors, endpoint.count),
      paint: (text, endpoint) => (endpoint.serverErrors > 0 ? style.red(text) : text),
    },
  ];
  return [
    ...renderTable(columns, endpoints, width, style),
    '',
    style.dim('percentiles by nearest rank; sorted by p95, slowest first'),
  ];
}

/** The requests an ambiguous prefix matches, to pick one from. */
export function renderCandidates(candidates: Candidate[], more: boolean): string[] {
  const idWidth = Math.max(...candidates.map((candidate) => candidate.requestId.length));
  return [
    ...candidates.map(
      (candidate) =>
        `  ${candidate.requestId.padEnd(idWidth)}  ${isoTime(candidate.timeMs)}  ${candidate.method ?? '?'} ${candidate.url ?? '?'}`,
    ),
    ...(more ? ['  … and more'] : []),
  ];
}
