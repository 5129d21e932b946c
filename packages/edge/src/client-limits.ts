import type { Server } from 'node:http';
import type { Socket } from 'node:net';

/**
 * What one client may hold at the edge, each bounded by a count or a time, as HAProxy bounds
 * them (`timeout http-request`, `timeout client`, `maxconn`): a client that sends slowly, reads
 * slowly or opens connections without end runs into one of these instead of holding the
 * replicas' connections. EDGE_* settings in config.ts; docs/design.md has the table.
 */
export interface ClientLimits {
  /** A request's headers must arrive within this long of its first byte (408 after it). */
  headersTimeoutMs: number;
  /** A whole request, body included, must arrive within this long of its first byte (408 after it). */
  requestTimeoutMs: number;
  /**
   * A response the client has stopped reading (its socket's buffer full, no 'drain') for this
   * long ends the exchange: the client's connection is destroyed and the replica's request
   * aborted, so that its connection is returned. A client that does not read has left.
   */
  drainTimeoutMs: number;
  /**
   * Response bytes held in memory, in all, for clients slower than their replica, so that the
   * replica's connection is returned before the client has read its answer; beyond it a
   * replica's response waits for its client.
   */
  maxBufferedBytes: number;
  /** Open client connections in all; over it a new connection is closed as it is accepted. */
  maxConnections: number;
  /** Open connections from one client address; over it a new one is answered 503 + Retry-After and closed. */
  maxConnectionsPerClient: number;
}

/**
 * 10 s to send a request (ALB-like clients send theirs in one packet; a 64 KB body needs
 * 6.4 KB/s), far below Node's default 300 s. 5 s for a stalled reader: long against a
 * client's scheduling hiccup, short against the 1 s a queued request may wait. 64 MB held for
 * slow readers: 50 lists of 1.28 MB, 400 of 167 KB, beside the process's ~100 MB. Connections:
 * k6's largest stress preset opens 5,000 from one address, and 10,000 in all stay below the
 * file descriptors a process gets here (20,000).
 */
export const DEFAULT_CLIENT_LIMITS: ClientLimits = {
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 10_000,
  drainTimeoutMs: 5_000,
  maxBufferedBytes: 64 * 1024 * 1024,
  maxConnections: 10_000,
  maxConnectionsPerClient: 6_000,
};

/**
 * Pipelined requests one connection may have waiting behind the one in progress. They are
 * served one at a time (one replica connection per client connection, never more); a client
 * that sends more than this ahead of its answers is flooding, and its connection is closed.
 */
export const MAX_PIPELINED_REQUESTS = 16;

/** How often Node checks headersTimeout and requestTimeout (its default, 30 s, would stretch a 10 s bound to 40 s). */
export const TIMEOUT_CHECK_INTERVAL_MS = 1_000;

/**
 * After a request is refused because every replica's queue is full, new connections are
 * refused as they are accepted for this long (each such refusal extends it).
 */
export const SATURATION_HOLD_MS = 100;

/** How long a refused connection may stay open for the client to read its 503. */
const REFUSED_LINGER_MS = 1_000;

/** A request on a connection, served in its turn. */
export interface ConnectionTurn {
  /** Its turn came: begin (routing, reading the body, the replica). */
  start(): void;
  /** Its request is still arriving, and nothing of its response was written. */
  readonly receiving: boolean;
}

/**
 * One client connection: the exchange in progress on it, the pipelined ones waiting behind
 * it (Node parses pipelined requests ahead and would have them all forwarded at once).
 */
export class ClientConnection {
  #active: ConnectionTurn | undefined;
  #waiting: ConnectionTurn[] | undefined;
  /** The connection ends after the response in progress (its framing broke behind it). */
  #closing = false;

  constructor(readonly socket: Socket) {}

  /**
   * Whether an answer the edge writes itself (a parse error's) would be read as the answer to
   * the request in progress: no exchange is under way, or the only one is still receiving its
   * request (the one that failed).
   */
  get answerable(): boolean {
    return this.#active === undefined || (this.#active.receiving && !this.#waiting?.length);
  }

  /** Starts `turn` now, or after the ones before it; false when too many already wait. */
  admit(turn: ConnectionTurn): boolean {
    if (this.#active === undefined) {
      this.#active = turn;
      turn.start();
      return true;
    }
    const waiting = (this.#waiting ??= []);
    if (waiting.length >= MAX_PIPELINED_REQUESTS) return false;
    waiting.push(turn);
    return true;
  }

  /**
   * What arrived after the request in progress cannot be read (a parse error): its response
   * is finished, then the connection closed; the requests waiting behind it are dropped.
   */
  closeAfterActive(): void {
    this.#closing = true;
    this.#waiting = undefined;
  }

  /** `turn` is done (its response finished, or the connection closed): the next one starts. */
  finished(turn: ConnectionTurn): void {
    if (this.#active !== turn) {
      // A waiting one whose connection closed before its turn.
      const index = this.#waiting?.indexOf(turn) ?? -1;
      if (index !== -1) this.#waiting!.splice(index, 1);
      return;
    }
    if (this.#closing) {
      this.#active = undefined;
      this.socket.end();
      return;
    }
    this.#active = this.#waiting?.shift();
    if (this.#active && !this.socket.destroyed) this.#active.start();
  }
}

/**
 * Tracks the server's client connections: caps them per client address (a clear 503 at once,
 * `refusal`) and in all (Node's maxConnections: closed as accepted), and gives each request its
 * ClientConnection. Costs a map update per connection, nothing per request but a WeakMap look-up.
 */
export class ClientConnections {
  readonly #connections = new WeakMap<Socket, ClientConnection>();
  readonly #perAddress = new Map<string, number>();
  #open = 0;
  /**
   * `refusals`: the whole responses (rawResponse) for a connection over the per-client cap, and
   * for one arriving while `saturated(open)` says the replicas' queues are refusing requests
   * and `open` connections are more than they can use.
   */
  constructor(
    server: Server,
    private readonly limits: ClientLimits,
    refusals: { tooManyConnections: string; saturated: string },
    saturated: (open: number) => boolean,
    /** Called for each connection refused (to count it as a shed 503). */
    onRefused: () => void,
  ) {
    server.maxConnections = limits.maxConnections;
    server.on('connection', (socket: Socket) => {
      const address = socket.remoteAddress ?? '';
      const count = (this.#perAddress.get(address) ?? 0) + 1;
      this.#perAddress.set(address, count);
      this.#open += 1;
      socket.once('close', () => this.#closed(address));
      if (count > this.limits.maxConnectionsPerClient) {
        refuse(socket, refusals.tooManyConnections);
        onRefused();
      } else if (saturated(this.#open)) {
        // A burst the replicas cannot take: its requests would be refused after parsing and
        // routing anyway. Answered at accept, the burst costs the edge least, and the answers
        // the client waits for do not queue behind the work on the requests already admitted.
        refuse(socket, refusals.saturated);
        onRefused();
      } else {
        this.#connections.set(socket, new ClientConnection(socket));
      }
    });
  }

  /** The connection a request arrived on; undefined for a refused one (already answered). */
  of(socket: Socket): ClientConnection | undefined {
    return this.#connections.get(socket);
  }

  #closed(address: string): void {
    this.#open -= 1;
    const count = this.#perAddress.get(address)! - 1;
    if (count === 0) this.#perAddress.delete(address);
    else this.#perAddress.set(address, count);
  }
}

/** Answers a connection before any of its requests is read, and closes it once the client has had time to read that. */
function refuse(socket: Socket, response: string): void {
  socket.end(response);
  setTimeout(() => socket.destroy(), REFUSED_LINGER_MS).unref();
}
