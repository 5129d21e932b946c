import { errorMessage, numberField, textField, type LogEntry } from '../log-entry.js';
import type { Breakdown, Timeline, TimelineEvent } from '../timeline.js';
import { paintStatus, type Style } from './style.js';
import { formatMs, formatShare, isoTime, truncate } from './text.js';

/** Fields the timeline's columns and descriptions already show, left out of "other" lines. */
const SHOWN_FIELDS = new Set([
  'time',
  'level',
  'service',
  'hostname',
  'msg',
  'request_id',
  'method',
  'url',
  'pid',
  'err',
]);

/** The narrowest SQL worth showing, whatever the terminal width. */
const MIN_SQL_WIDTH = 20;

/** A request's timeline for a terminal `width` columns wide. */
export function renderTimeline(timeline: Timeline, width: number, style: Style): string[] {
  const offsets = timeline.events.map((event) => `+${event.offsetMs} ms`);
  const offsetWidth = Math.max(...offsets.map((offset) => offset.length));
  const serviceWidth = Math.max(...timeline.events.map((event) => event.entry.service.length));
  const hostWidth = Math.max(...timeline.events.map((event) => event.entry.hostname.length));
  const lines = [...header(timeline, style), ''];
  timeline.events.forEach((event, index) => {
    const prefix = [
      offsets[index]!.padStart(offsetWidth),
      event.entry.service.padEnd(serviceWidth),
      event.entry.hostname.padEnd(hostWidth),
    ].join('  ');
    const [description, ...details] = describe(event, Math.max(MIN_SQL_WIDTH, width - prefix.length - 2), style);
    lines.push(`${style.dim(prefix)}  ${description}`);
    for (const detail of details) lines.push(`${' '.repeat(prefix.length)}  ${detail}`);
  });
  return [...lines, '', ...renderBreakdown(timeline.breakdown, style)];
}

function header(timeline: Timeline, style: Style): string[] {
  const { breakdown, status } = timeline;
  const request = `${timeline.method ?? '?'} ${timeline.url ?? '?'}`;
  const outcome =
    status === undefined
      ? style.yellow('no "request finished" line (still running, or its process stopped)')
      : `${paintStatus(style, status, String(status))} in ${formatMs(breakdown.totalMs)}${breakdown.edgeMs !== undefined ? ' at the edge' : ''}`;
  const lines = [
    `${style.bold(request)}  →  ${outcome}`,
    style.dim(`${timeline.requestId} · ${isoTime(timeline.startedAtMs)} · ${timeline.events.length} log lines`),
  ];
  if (breakdown.serviceRequests > 1) {
    lines.push(
      style.yellow(
        `${breakdown.serviceRequests} requests carry this id (a client reused x-request-id): the figures add them up`,
      ),
    );
  }
  return lines;
}

/** What happened, then any lines of detail. */
function describe({ kind, entry }: TimelineEvent, width: number, style: Style): string[] {
  switch (kind) {
    case 'started':
      return ['started'];
    case 'finished': {
      const status = String(entry.status ?? '?');
      const duration = ` in ${formatMs(entry.durationMs)}`;
      const upstream = textField(entry, 'upstream');
      const via = upstream
        ? truncate(` via ${upstream}`, width - 'finished '.length - status.length - duration.length)
        : '';
      return [
        `finished ${paintStatus(style, entry.status, status)}${duration}${via ? style.dim(via) : ''}`,
        ...cacheDetail(entry),
        ...errorDetail(entry, style),
      ];
    }
    case 'query': {
      const rows = numberField(entry, 'rows');
      const label = `query ${formatMs(entry.durationMs)}, ${rows ?? '?'} ${rows === 1 ? 'row' : 'rows'}: `;
      return [label + truncate(textField(entry, 'sql') ?? '', width - label.length)];
    }
    case 'query failed': {
      const label = `query failed after ${formatMs(entry.durationMs)}: `;
      return [
        style.red(label) + truncate(textField(entry, 'sql') ?? '', width - label.length),
        ...errorDetail(entry, style),
      ];
    }
    case 'other':
      return [otherLine(entry, style), ...errorDetail(entry, style)];
  }
}

/** A line the timeline has no special form for: its level, message and other fields as they are. */
function otherLine(entry: LogEntry, style: Style): string {
  const fields = Object.entries(entry.record)
    .filter(([name]) => !SHOWN_FIELDS.has(name))
    .map(
      ([name, value]) =>
        `${name}=${typeof value === 'string' && !/[\s"=]/.test(value) ? value : JSON.stringify(value)}`,
    );
  const text = [entry.msg, ...fields].join(' ');
  if (entry.level === 'info') return text;
  const line = `${entry.level}: ${text}`;
  return entry.level === 'warn'
    ? style.yellow(line)
    : entry.level === 'error' || entry.level === 'fatal'
      ? style.red(line)
      : line;
}

/** A service's canonical line: what its cache lookup found, where, and how long it took. */
function cacheDetail(entry: LogEntry): string[] {
  const outcome = textField(entry, 'cache');
  if (outcome === undefined) return [];
  const tier = textField(entry, 'cache_tier');
  return [`↳ cache ${outcome}${tier ? ` (${tier})` : ''} ${formatMs(numberField(entry, 'cache_ms'))}`];
}

function errorDetail(entry: LogEntry, style: Style): string[] {
  const message = errorMessage(entry);
  return message === undefined ? [] : [style.red(`↳ ${message}`)];
}

/** Where the time went, each part with its share of the total. */
export function renderBreakdown(breakdown: Breakdown, style: Style): string[] {
  const total = breakdown.totalMs;
  const share = (ms: number | undefined): string =>
    ms === undefined || total === undefined ? '' : formatShare(ms, total);
  const count = (n: number, one: string, many: string): string => `${n} ${n === 1 ? one : many}`;
  const rows: Array<[label: string, ms: number | undefined, share: string, note: string]> = [
    ['total', total, '', totalNote(breakdown)],
    ['db', breakdown.dbMs, share(breakdown.dbMs), count(breakdown.queries, 'query', 'queries')],
    ['cache', breakdown.cacheMs, share(breakdown.cacheMs), count(breakdown.cacheLookups, 'lookup', 'lookups')],
    ['other', breakdown.otherMs, share(breakdown.otherMs), 'service total − db − cache'],
    [
      'edge overhead',
      breakdown.edgeOverheadMs,
      share(breakdown.edgeOverheadMs),
      breakdown.edgeMs === undefined ? 'no edge line' : 'edge total − service total',
    ],
  ];
  const msWidth = Math.max(...rows.map(([, ms]) => formatMs(ms).length));
  const shareWidth = Math.max(...rows.map(([, , part]) => part.length));
  return [
    style.bold('breakdown'),
    ...rows.map(([label, ms, part, note]) =>
      `  ${label.padEnd(13)}  ${formatMs(ms).padStart(msWidth)}  ${part.padStart(shareWidth)}  ${style.dim(note)}`.trimEnd(),
    ),
  ];
}

function totalNote(breakdown: Breakdown): string {
  if (breakdown.edgeMs !== undefined) return 'as the edge saw it';
  return breakdown.serviceMs !== undefined
    ? 'as the service saw it (no edge line)'
    : 'unknown: no "request finished" line';
}
