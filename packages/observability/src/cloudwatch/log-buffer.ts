import { PUT_LOG_EVENTS_LIMITS, type LogEvent } from './log-event.js';

export interface BufferLimits {
  /** Most events kept undelivered, the batch being sent included (but see its over-cap marks). */
  maxEvents: number;
  /** Most bytes (as counted by PutLogEvents) kept undelivered, counted like maxEvents. */
  maxBytes: number;
}

/**
 * The events not yet delivered to CloudWatch Logs, in arrival order, and the one batch being
 * sent. Memory is capped: past either limit the oldest events are dropped and counted, so an
 * unreachable CloudWatch costs a bounded amount of memory however much the service logs.
 * The batch in flight holds the oldest events, but its outcome is unknown: when the cap is
 * exceeded its events are only marked, and dropped if it fails (delivered, they cost nothing).
 * So the newest lines are kept while a batch is retried, and what is held is at most the cap
 * plus one batch.
 */
export class LogBuffer {
  readonly #limits: BufferLimits;
  #queue: LogEvent[] = [];
  #queueBytes = 0;
  #inFlight: LogEvent[] = [];
  #inFlightBytes = 0;
  /** How many of the batch in flight (its oldest) the cap drops if it fails, and their bytes. */
  #inFlightOverCap = 0;
  #inFlightOverCapBytes = 0;
  #dropped = 0;

  constructor(limits: BufferLimits) {
    if (!(Number.isInteger(limits.maxEvents) && limits.maxEvents >= 1)) {
      throw new Error(`maxBufferedEvents must be an integer ≥ 1, got ${limits.maxEvents}`);
    }
    if (!(limits.maxBytes >= PUT_LOG_EVENTS_LIMITS.eventBytes)) {
      throw new Error(
        `maxBufferedBytes must be at least ${PUT_LOG_EVENTS_LIMITS.eventBytes} (one event), got ${limits.maxBytes}`,
      );
    }
    this.#limits = limits;
  }

  /** Events waiting to be sent (the batch in flight not included). */
  get queued(): number {
    return this.#queue.length;
  }

  /** Whether the queue holds a full PutLogEvents call, which is worth sending before the next tick. */
  get hasFullBatch(): boolean {
    return (
      this.#queue.length >= PUT_LOG_EVENTS_LIMITS.batchEvents || this.#queueBytes >= PUT_LOG_EVENTS_LIMITS.batchBytes
    );
  }

  push(event: LogEvent): void {
    this.#queue.push(event);
    this.#queueBytes += event.size;
    this.#trim();
  }

  /**
   * Moves the oldest queued events that fit one PutLogEvents call in flight and returns them
   * sorted by timestamp, as the call requires. Settle it with release() or requeue() before
   * taking the next.
   */
  takeBatch(): LogEvent[] {
    if (this.#inFlight.length > 0) throw new Error('LogBuffer: the previous batch is not settled yet');
    let count = 0;
    let bytes = 0;
    let earliest = Infinity;
    let latest = -Infinity;
    for (const event of this.#queue) {
      const from = Math.min(earliest, event.timestamp);
      const to = Math.max(latest, event.timestamp);
      const { batchEvents, batchBytes, batchSpanMs } = PUT_LOG_EVENTS_LIMITS;
      if (count === batchEvents || bytes + event.size > batchBytes || to - from > batchSpanMs) break;
      count++;
      bytes += event.size;
      earliest = from;
      latest = to;
    }
    this.#inFlight = this.#queue.splice(0, count);
    this.#inFlightBytes = bytes;
    this.#queueBytes -= bytes;
    return [...this.#inFlight].sort((a, b) => a.timestamp - b.timestamp);
  }

  /** The batch in flight is done with: delivered, or refused for good. */
  release(): void {
    this.#inFlight = [];
    this.#inFlightBytes = 0;
    this.#inFlightOverCap = 0;
    this.#inFlightOverCapBytes = 0;
  }

  /** The batch in flight failed and will be retried: back to the front of the queue, less what the cap marked. */
  requeue(): void {
    this.#dropped += this.#inFlightOverCap;
    this.#queue = this.#inFlight.slice(this.#inFlightOverCap).concat(this.#queue);
    this.#queueBytes += this.#inFlightBytes - this.#inFlightOverCapBytes;
    this.release();
    this.#trim();
  }

  /** How many events the cap dropped since the last call. */
  takeDropped(): number {
    const dropped = this.#dropped;
    this.#dropped = 0;
    return dropped;
  }

  #trim(): void {
    const { maxEvents, maxBytes } = this.#limits;
    const keptEvents = () => this.#queue.length + this.#inFlight.length - this.#inFlightOverCap;
    const keptBytes = () => this.#queueBytes + this.#inFlightBytes - this.#inFlightOverCapBytes;
    while (keptEvents() > maxEvents || keptBytes() > maxBytes) {
      const oldestInFlight = this.#inFlight[this.#inFlightOverCap];
      if (oldestInFlight) {
        this.#inFlightOverCap++;
        this.#inFlightOverCapBytes += oldestInFlight.size;
      } else {
        this.#queueBytes -= this.#queue.shift()!.size;
        this.#dropped++;
      }
    }
  }
}
