import { LEVEL_LABELS, parseLogRecord, REQUEST_FINISHED_MESSAGE } from '@taskoverflow/observability';

/**
 * One log line in the schema of docs/design.md ("Observability"), its fields checked and typed. Fields a
 * line does not have, or has with the wrong type, are undefined.
 */
export interface LogEntry {
  /** `time`, in milliseconds since the epoch. */
  timeMs: number;
  level: string;
  service: string;
  hostname: string;
  msg: string;
  requestId: string | undefined;
  method: string | undefined;
  url: string | undefined;
  status: number | undefined;
  durationMs: number | undefined;
  /** The whole line, for the fields the schema does not name (shown as they are). */
  record: Record<string, unknown>;
}

/**
 * The log entry a line holds, or undefined when it holds none: not JSON, not an object, or
 * without a `time` to place it on a timeline.
 */
export function parseLogLine(line: string): LogEntry | undefined {
  const fields = parseLogRecord(line);
  if (!fields) return undefined;
  const timeMs = epochMs(fields.time);
  if (timeMs === undefined) return undefined;
  return {
    timeMs,
    level:
      typeof fields.level === 'number'
        ? (LEVEL_LABELS[fields.level] ?? String(fields.level))
        : (text(fields.level) ?? 'info'),
    service: text(fields.service) ?? 'unknown',
    hostname: text(fields.hostname) ?? '',
    msg: text(fields.msg) ?? '',
    requestId: text(fields.request_id),
    method: text(fields.method),
    url: text(fields.url),
    status: number(fields.status),
    durationMs: number(fields.duration_ms),
    record: fields,
  };
}

/** A named string field of the line, if it is one. */
export function textField(entry: LogEntry, name: string): string | undefined {
  return text(entry.record[name]);
}

/** A named numeric field of the line, if it is one. */
export function numberField(entry: LogEntry, name: string): number | undefined {
  return number(entry.record[name]);
}

/** The message of an `err` field: pino serialises errors as objects with `message`. */
export function errorMessage(entry: LogEntry): string | undefined {
  const err = entry.record.err;
  if (err === undefined || err === null) return undefined;
  if (typeof err === 'object') {
    const { message, type } = err as { message?: unknown; type?: unknown };
    if (typeof message === 'string' && message !== '') return message;
    if (typeof type === 'string') return type;
    return JSON.stringify(err);
  }
  // The record is parsed JSON: anything else is a string, a number or a boolean.
  return typeof err === 'string' ? err : JSON.stringify(err);
}

function epochMs(time: unknown): number | undefined {
  const ms = typeof time === 'string' ? Date.parse(time) : typeof time === 'number' ? time : Number.NaN;
  return Number.isFinite(ms) ? ms : undefined;
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function number(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/**
 * What a line says happened, by its `msg`. A service's `request finished` line is the
 * request's canonical line: it carries its cache outcome and time and its database figures;
 * `request started` is logged at debug only.
 */
export type EventKind = 'started' | 'finished' | 'query' | 'query failed' | 'other';

const KINDS_BY_MSG = new Map<string, EventKind>([
  ['request started', 'started'],
  [REQUEST_FINISHED_MESSAGE, 'finished'],
  ['query', 'query'],
  ['query failed', 'query failed'],
]);

export function eventKind(entry: LogEntry): EventKind {
  return KINDS_BY_MSG.get(entry.msg) ?? 'other';
}

/**
 * When a line's process had the request: a `request finished` line is written when it ends,
 * its duration back; any other line when it is written. (`request started` is at debug only.)
 */
export function receivedAtMs(entry: LogEntry): number {
  return eventKind(entry) === 'finished' && entry.durationMs !== undefined
    ? entry.timeMs - entry.durationMs
    : entry.timeMs;
}
