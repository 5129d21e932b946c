import { Pool, type Dispatcher } from 'undici';

/** The bounded queue in front of each replica (EDGE_* settings in server.ts). */
export interface ReplicaQueueSettings {
  /** Requests in progress at a replica at once, one keep-alive connection each. */
  connections: number;
  /** Requests that may wait for a connection; one more is refused at once. */
  queueLimit: number;
  /** A request that waited this long for a connection is refused. */
  queueTimeoutMs: number;
  /** What a refused request's Retry-After says (s). */
  retryAfterSeconds: number;
}

/**
 * 64 connections cover what one single-threaded replica can have in progress usefully
 * (its own admission control refuses more); 64 more may wait, for at most 50 ms. A request
 * refused for waiting is answered within ≈ 50 ms, so a client told "503, retry after 1 s" is
 * told at once, not after seconds in a queue it cannot see (issue #12: shed requests took
 * over 1 s behind the old edge's unbounded pool queue).
 */
export const DEFAULT_REPLICA_QUEUE: ReplicaQueueSettings = {
  connections: 64,
  queueLimit: 64,
  queueTimeoutMs: 50,
  retryAfterSeconds: 1,
};

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
    this.#active += 1;
    return true;
  }

  /**
   * Queues `exchange` for the next connection that comes free (it is called back either way),
   * or refuses it when the queue is full (false, and nothing is kept).
   */
  enqueue(exchange: QueuedExchange): boolean {
    if (this.#waiting.length >= this.settings.queueLimit) return false;
    const waiter: Waiter = {
      exchange,
      timer: setTimeout(() => {
        this.#remove(waiter);
        exchange.waitedTooLong(this);
      }, this.settings.queueTimeoutMs),
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
