import { LEVEL_LABELS, parseLogRecord } from '@taskoverflow/observability/log-schema';

/** Fields every line has, or that the prefix already shows: left out of the readable form. */
const HIDDEN_FIELDS = new Set(['time', 'level', 'msg', 'service', 'hostname', 'pid', 'instance']);

/**
 * A pino JSON line made readable for a terminal:
 * `12:00:01.234 INFO  request completed status=200 duration_ms=3.1`. Errors' stacks follow on
 * indented lines. Lines that are not JSON objects come back unchanged.
 */
export function formatLogLine(line: string): string {
  const entry = parseLogRecord(line);
  if (!entry) return line;

  const { time, level, msg, err } = entry;
  const parts = [formatTime(time), formatLevel(level)];
  if (typeof msg === 'string') parts.push(msg);
  for (const [key, value] of Object.entries(entry)) {
    if (HIDDEN_FIELDS.has(key) || key === 'err') continue;
    parts.push(`${key}=${formatValue(value)}`);
  }
  const stack = (err as { stack?: unknown } | undefined)?.stack;
  return parts.join(' ') + (typeof stack === 'string' ? `\n    ${stack.replaceAll('\n', '\n    ')}` : '');
}

function formatTime(time: unknown): string {
  const date = new Date(typeof time === 'string' || typeof time === 'number' ? time : Date.now());
  return Number.isNaN(date.getTime()) ? String(time) : date.toISOString().slice(11, 23);
}

function formatLevel(level: unknown): string {
  const name = typeof level === 'number' ? (LEVEL_LABELS[level] ?? String(level)) : String(level);
  return name.toUpperCase().padEnd(5);
}

function formatValue(value: unknown): string {
  return typeof value === 'string' && /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
}
