import { PUT_LOG_EVENTS_LIMITS, type LogEvent } from './log-event.js';

export interface BufferLimits {
  /** Most events kept undelivered, the batch being sent included. */
  maxEvents: number;
  /** Most bytes (as counted by PutLogEvents) kept undelivered, the batch being sent included. */
  maxBytes: number;
}

/**
 * The events not yet delivered to CloudWatch Logs, in arrival order, and the one batch being
 * sent. Memory is capped: past either limit the oldest queued events are dropped and counted,
 * so an unreachable CloudWatch costs a bounded amount of memory however much the service logs.
 * The batch in flight is not dropped while its outcome is unknown; a failed batch goes back
 * to the front of the queue, where it is the first to go if the cap is still exceeded.
 */
export class LogBuffer {
  readonly #limits: BufferLimits;
  #queue: LogEvent[] = [];
  #queueBytes = 0;
  #inFlight: LogEvent[] = [];
  #inFlightBytes = 0;
  #dropped = 0;

  constructor(limits: BufferLimits) {
    if (!(Number.isInteger(limits.maxEvents) && limits.maxEvents >= 1)) {
      throw new Error(`maxBufferedEvents must be an integer ≥ 1, got ${limits.maxEvents}`);
    }
    if (!(limits.maxBytes >= PUT_LOG_EVENTS_LIMITS.eventBytes)) {
      throw new Error(`maxBufferedBytes must be at least ${PUT_LOG_EVENTS_LIMITS.eventBytes} (one event), got ${limits.maxBytes}`);
    }
    this.#limits = limits;
  }

  /** Events waiting to be sent (the batch in flight not included). */
  get queued(): number {
    return this.#queue.length;
  }

  /** Whether the queue holds a full PutLogEvents call, which is worth sending before the next tick. */
  get hasFullBatch(): boolean {
    return this.#queue.length >= PUT_LOG_EVENTS_LIMITS.batchEvents || this.#queueBytes >= PUT_LOG_EVENTS_LIMITS.batchBytes;
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
  }

  /** The batch in flight failed and will be retried: back to the front of the queue. */
  requeue(): void {
    this.#queue = this.#inFlight.concat(this.#queue);
    this.#queueBytes += this.#inFlightBytes;
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
    while (
      this.#queue.length > 0 &&
      (this.#queue.length + this.#inFlight.length > maxEvents || this.#queueBytes + this.#inFlightBytes > maxBytes)
    ) {
      this.#queueBytes -= this.#queue.shift()!.size;
      this.#dropped++;
    }
  }
}
