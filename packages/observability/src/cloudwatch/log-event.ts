/**
 * One log line as a CloudWatch Logs event, within the PutLogEvents limits
 * (https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutLogEvents.html).
 */
export const PUT_LOG_EVENTS_LIMITS = {
  /** Events in one call. */
  batchEvents: 10_000,
  /** Bytes in one call: each event's UTF-8 message plus `eventOverheadBytes`. */
  batchBytes: 1_048_576,
  eventOverheadBytes: 26,
  /** One event, overhead included. */
  eventBytes: 256 * 1024,
  /** The events of one call may span at most 24 hours. */
  batchSpanMs: 24 * 60 * 60 * 1000,
} as const;

export interface LogEvent {
  /** Epoch milliseconds. */
  timestamp: number;
  message: string;
  /** What the event counts towards a call's byte limit: UTF-8 length plus the overhead. */
  size: number;
}

const MAX_MESSAGE_BYTES = PUT_LOG_EVENTS_LIMITS.eventBytes - PUT_LOG_EVENTS_LIMITS.eventOverheadBytes;
/** Appended to a cut line, so a reader knows the JSON is incomplete on purpose. */
export const TRUNCATION_MARKER = '…[truncated to 256 KiB by the CloudWatch transport]';

/**
 * The event for one line of pino output, or null for a blank line (CloudWatch Logs refuses
 * empty messages). Its timestamp is the line's `time` (epoch ms or ISO 8601), else `now`.
 */
export function toLogEvent(line: string, now: number): LogEvent | null {
  if (line.trim() === '') return null;
  // Kept as a copy, not `line` itself: split2 hands out slices of pino's whole chunk (up to
  // megabytes), which one buffered slice would keep alive.
  const bytes = Buffer.from(line);
  const message = bytes.length <= MAX_MESSAGE_BYTES ? bytes.toString() : truncate(bytes);
  return {
    timestamp: timeOf(line) ?? now,
    message,
    size: Buffer.byteLength(message) + PUT_LOG_EVENTS_LIMITS.eventOverheadBytes,
  };
}

function timeOf(line: string): number | undefined {
  let time: unknown;
  try {
    time = (JSON.parse(line) as { time?: unknown } | null)?.time;
  } catch {
    return undefined; // not JSON: a stray line still ships, stamped when it arrived
  }
  const timestamp = typeof time === 'number' ? time : typeof time === 'string' ? Date.parse(time) : NaN;
  return Number.isFinite(timestamp) ? timestamp : undefined;
}

function truncate(bytes: Buffer): string {
  let end = MAX_MESSAGE_BYTES - Buffer.byteLength(TRUNCATION_MARKER);
  // Never cut inside a multi-byte character: back up to the first byte of the one at `end`.
  while ((bytes[end]! & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end).toString() + TRUNCATION_MARKER;
}
