/**
 * PostgreSQL ends a connection in the same read that completes it. A server
 * shutting down (a restart, a failover) sends each backend's FATAL right behind the
 * ReadyForQuery of a connection that was just being opened; a replica whose event loop is
 * busy reads both at once. pg hands the new client to the pool at ReadyForQuery and emits the
 * FATAL as an 'error' before the pool's caller has had a chance to listen for it: with nobody
 * listening, the error crashed the replica, and every request it had in flight ended with
 * "other side closed" (a 502 at the edge, seen in the PostgreSQL restart test on a busy CI
 * machine).
 *
 * Here the real PostgreSQL does that, deterministically: a TCP hop between todo-read and the
 * test server holds back what the server sends on the next new connection from its
 * AuthenticationOk on, the backend is terminated once it waits for a query, and then
 * everything it sent is delivered in one write.
 */
import { once } from 'node:events';
import { createServer, connect, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { createTestDatabase, TEST_SERVICE_ENV, waitUntil } from '@taskoverflow/stack/testing';
import pg from 'pg';
import t from 'tap';
import { buildTodoReadApp, loadConfig } from '../src/app.js';

/** Bound on each wait for the server or the service: generous, for a busy machine. */
const WAIT_MS = 10_000;

/** A connection the hop holds back from AuthenticationOk on. */
interface HeldConnection {
  /** The hop's port towards PostgreSQL: pg_stat_activity's client_port of the backend. */
  upstreamPort: number;
  /** Resolves once PostgreSQL has closed its side. */
  serverClosed: Promise<void>;
  /** Sends everything held back in one write, then closes the client's side. */
  release(): void;
}

/** A TCP hop to PostgreSQL that passes bytes on, except for the connection `holdNext` picks. */
function startHop(target: { host: string; port: number }): {
  server: Server;
  /** Connections opened through the hop so far. */
  opened(): number;
  holdNext(): Promise<HeldConnection>;
} {
  let onNextHeld: ((held: HeldConnection) => void) | undefined;
  let opened = 0;
  const server = createServer((client: Socket) => {
    opened += 1;
    const upstream = connect(target);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.pipe(upstream);
    const deliver = onNextHeld;
    onNextHeld = undefined;
    if (!deliver) {
      upstream.pipe(client);
      return;
    }
    // Server messages: type byte, int32 length (itself included), body. AuthenticationOk is
    // type 'R' with code 0; it and all that follows it are held.
    let pending = Buffer.alloc(0);
    let holding = false;
    const held: Buffer[] = [];
    upstream.on('data', (chunk: Buffer) => {
      if (holding) return void held.push(chunk);
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 5) {
        const length = pending.readInt32BE(1);
        if (pending.length < 1 + length) break;
        if (pending[0] === 0x52 && length === 8 && pending.readInt32BE(5) === 0) {
          holding = true;
          held.push(pending);
          return;
        }
        client.write(pending.subarray(0, 1 + length));
        pending = pending.subarray(1 + length);
      }
    });
    const serverClosed = once(upstream, 'close').then(() => undefined);
    upstream.once('connect', () =>
      deliver({
        upstreamPort: upstream.localPort!,
        serverClosed,
        release: () => client.end(Buffer.concat(held)),
      }),
    );
  });
  return {
    server,
    opened: () => opened,
    holdNext: () => new Promise((resolve) => (onNextHeld = resolve)),
  };
}

const database = await createTestDatabase();
t.teardown(() => database.drop());
const direct = new URL(database.url);
const hop = startHop({ host: direct.hostname, port: Number(direct.port) });
hop.server.listen(0, '127.0.0.1');
await once(hop.server, 'listening');
t.teardown(() => hop.server.close());
const viaHop = new URL(database.url);
viaHop.port = String((hop.server.address() as AddressInfo).port);

const admin = new pg.Client({ connectionString: database.url });
await admin.connect();
t.teardown(() => admin.end());

const app = await buildTodoReadApp(
  loadConfig({
    ...TEST_SERVICE_ENV,
    DATABASE_URL: viaHop.toString(),
    LOG_LEVEL: 'silent',
    // The held connection must not give up on its own while the test terminates it.
    PG_CONNECT_TIMEOUT_MS: String(WAIT_MS * 3),
  }),
);
const base = await app.listen({ host: '127.0.0.1', port: 0 });
t.teardown(() => app.close());

t.test(
  'a connection terminated in the read that completes it fails its request with 503, and the replica lives on',
  async (t) => {
    // An idle connection would serve the read without a new one.
    t.equal(hop.opened(), 0, 'the service has opened no connection yet');
    const heldConnection = hop.holdNext();
    const read = fetch(`${base}/api/v1/todos`);
    const held = await heldConnection;

    // 'idle': the backend has sent ReadyForQuery (held back) and waits for a query.
    const backend = await waitUntil(
      'the backend waiting for a query',
      async () => {
        const { rows } = await admin.query<{ pid: number }>(
          "select pid from pg_stat_activity where client_port = $1 and state = 'idle'",
          [held.upstreamPort],
        );
        return rows[0]?.pid;
      },
      WAIT_MS,
      20,
    );
    await admin.query('select pg_terminate_backend($1)', [backend]);
    await held.serverClosed;
    held.release();

    const response = await read;
    t.equal(response.status, 503, 'the read that got the dead connection is answered 503, not cut off');
    t.equal(response.headers.get('retry-after'), '1', 'with Retry-After');
    const next = await fetch(`${base}/api/v1/todos`);
    t.equal(next.status, 200, 'the next read gets a fresh connection');
    t.same(await next.json(), [], 'and answers it');
  },
);
