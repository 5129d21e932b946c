import { Pool, type Dispatcher } from 'undici';

/** The bounded queue in front of each replica (EDGE_* settings in server.ts). */
export interface ReplicaQueueSettings {
  /** Requests in progress at a replica at once, one keep-alive connection each. */
  connections: number;
  /**
   * The queue's bound, as a time: a request is refused at arrival when the replica's queue
   * already holds more than it drains in this long, and refused if it still waits after it.
   */
  maxQueueWaitMs: number;
  /** The queue's length before any completion rate is measured (a cold start is not refused). */
  minQueueLimit: number;
  /** What a refused request's Retry-After says (s). */
  retryAfterSeconds: number;
}

/**
 * 64 connections cover what one single-threaded replica can have in progress usefully (its
 * own admission control, counting bytes in flight, refuses more). The queue is bounded by
 * time, not count: 64 small reads drain in a few milliseconds and 64 lists of 1.28 MB in
 * seconds. 1 s of wait is what a 200 may spend queued, the same as Retry-After: a client
 * queued longer would have done as well told to retry. Before a rate is known, 8 may wait: a
 * cold start is not refused, and if the first responses are large few wait out the bound.
 */
export const DEFAULT_REPLICA_QUEUE: ReplicaQueueSettings = {
  connections: 64,
  maxQueueWaitMs: 1_000,
  minQueueLimit: 8,
  retryAfterSeconds: 1,
};

/**
 * The admission rule: a request may join a queue of `queueLength` when the replica, completing
 * `completionsPerSecond`, drains what is ahead of it within the wait bound (at least
 * `minQueueLimit` may always wait).
 */
export function admitsToQueue(
  queueLength: number,
  completionsPerSecond: number,
  settings: ReplicaQueueSettings,
): boolean {
  return queueLength < Math.max(settings.minQueueLimit, (completionsPerSecond * settings.maxQueueWaitMs) / 1_000);
}

/** Busy time over which one rate sample is taken, and the weight of each sample in the average. */
const RATE_SAMPLE_MS = 100;
const RATE_SAMPLE_WEIGHT = 0.3;

/**
 * A replica's completion rate while it has work (an EWMA of completions per second of time
 * with at least one request in progress), so an idle spell does not read as a slow replica.
 * O(1) and allocation-free per completion.
 */
export class CompletionRate {
  /** Completions per second; 0 until the first sample. */
  perSecond = 0;
  #completions = 0;
  /** Busy time of the current sample, up to #busySince. */
  #busyMs = 0;
  #busySince = 0;

  /** Work began (nothing was in progress). */
  busy(now: number): void {
    this.#busySince = now;
  }

  /** A request completed. */
  completed(now: number): void {
    this.#completions += 1;
    this.#busyMs += now - this.#busySince;
    this.#busySince = now;
    if (this.#busyMs < RATE_SAMPLE_MS) return;
    const sample = (this.#completions * 1_000) / this.#busyMs;
    this.perSecond = this.perSecond === 0 ? sample : this.perSecond + RATE_SAMPLE_WEIGHT * (sample - this.perSecond);
    this.#completions = 0;
    this.#busyMs = 0;
  }
}

/** Options of one request to a replica, as undici's dispatch takes them. */
export type ReplicaRequest = Dispatcher.DispatchOptions;

/** A request waiting for one of a replica's connections. */
export interface QueuedExchange {
  /** It got a connection: send it now. */
  dispatchTo(replica: Replica): void;
  /** It waited past the bound: refuse it. */
  waitedTooLong(replica: Replica): void;
}

interface Waiter {
  exchange: QueuedExchange;
  timer: NodeJS.Timeout;
}

/**
 * One replica: a pool of at most `connections` keep-alive connections and a bounded FIFO of
 * requests waiting for one. undici's own pool queue is unbounded and invisible; this one is
 * never let in: at most `connections` requests are dispatched to the pool at once.
 */
export class Replica {
  readonly #pool: Pool;
  #active = 0;
  readonly #waiting: Waiter[] = [];
  readonly #rate = new CompletionRate();
  #closed: Promise<void> | undefined;
  /** Set by close() while requests are still under way; the last one calls it. */
  #onIdle: (() => void) | undefined;

  constructor(
    readonly origin: string,
    private readonly settings: ReplicaQueueSettings,
    timeoutMs: number,
  ) {
    this.#pool = new Pool(origin, {
      connections: settings.connections,
      // How long the replica may take to start its response, and to send each next chunk.
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
  }

  /** Takes one of its connections if one is free. */
  tryAcquire(): boolean {
    if (this.#active >= this.settings.connections) return false;
    if (this.#active === 0) this.#rate.busy(performance.now());
    this.#active += 1;
    return true;
  }

  /**
   * Queues `exchange` for the next connection that comes free (it is called back either way),
   * or refuses it when the queue holds more than the replica drains within the wait bound
   * (false, and nothing is kept).
   */
  enqueue(exchange: QueuedExchange): boolean {
    if (!admitsToQueue(this.#waiting.length, this.#rate.perSecond, this.settings)) return false;
    const waiter: Waiter = {
      exchange,
      timer: setTimeout(() => {
        this.#remove(waiter);
        exchange.waitedTooLong(this);
      }, this.settings.maxQueueWaitMs),
    };
    this.#waiting.push(waiter);
    return true;
  }

  /** An exchange that was queued no longer waits (its client went away). */
  withdraw(exchange: QueuedExchange): void {
    const waiter = this.#waiting.find((candidate) => candidate.exchange === exchange);
    if (waiter) {
      clearTimeout(waiter.timer);
      this.#remove(waiter);
    }
  }

  dispatch(options: ReplicaRequest, handler: Dispatcher.DispatchHandler): void {
    this.#pool.dispatch(options, handler);
  }

  /** A dispatched request is done with its connection: the longest waiter gets it. */
  release(): void {
    this.#rate.completed(performance.now());
    const next = this.#waiting.shift();
    if (next) {
      clearTimeout(next.timer);
      next.exchange.dispatchTo(this);
      return;
    }
    this.#active -= 1;
    if (this.#active === 0) this.#onIdle?.();
  }

  /** Closes the connections once the requests in progress and waiting are done. */
  close(): Promise<void> {
    this.#closed ??= new Promise<void>((resolve) => {
      if (this.#active === 0) resolve();
      else this.#onIdle = resolve;
    }).then(() => this.#pool.close());
    return this.#closed;
  }

  #remove(waiter: Waiter): void {
    const index = this.#waiting.indexOf(waiter);
    if (index !== -1) this.#waiting.splice(index, 1);
  }
}
