/**
 * Read-your-writes across a Redis outage. A write that answers while Redis is out leaves its
 * invalidation pending (todo-write retries it until it goes through), so when a reader gets
 * Redis back first, the dataset version Redis holds predates that write, and so do the
 * entries built under it, in Redis and in the reader's memory. The reader must not serve them.
 * Against the real Redis `pnpm test` provides (TEST_REDIS_URL), in a database of this file's
 * own, through a TCP hop this test cuts and restores: the reader's outage, and its end.
 */
import { once } from 'node:events';
import { createServer, connect, type Server, type Socket } from 'node:net';
import Fastify from 'fastify';
import t from 'tap';
import { jsonResponse, ResponseCache } from '../src/index.js';
import { connectRedis } from '../src/redis.js';

const redisUrl = process.env.TEST_REDIS_URL;
if (!redisUrl) {
  throw new Error(
    'TEST_REDIS_URL is not set. Run this test with `pnpm test` (it starts a throwaway redis-server and sets it).',
  );
}
const redis = new URL(redisUrl);
/** A database no other test uses: the dataset version key is the same in every one. */
const DATABASE = 11;

/** A TCP hop to Redis on a port of its own: cut() drops its connections and refuses new ones, restore() accepts again. */
class Hop {
  readonly #sockets = new Set<Socket>();
  #server: Server | undefined;
  port = 0;

  async restore(): Promise<void> {
    this.#server = createServer((client) => {
      const upstream = connect({ host: redis.hostname, port: Number(redis.port) });
      for (const socket of [client, upstream]) {
        this.#sockets.add(socket);
        socket.on('error', () => undefined).on('close', () => this.#sockets.delete(socket));
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    this.#server.listen(this.port, '127.0.0.1');
    await once(this.#server, 'listening');
    this.port = (this.#server.address() as { port: number }).port;
  }

  async cut(): Promise<void> {
    const closed = new Promise((resolve) => this.#server?.close(resolve));
    for (const socket of this.#sockets) socket.destroy();
    await closed;
  }
}

// Both ways a reader learns the dataset version: a Redis read per turn, and pushed under a lease.
for (const versionLeaseMs of [0, 1_000])
  t.test(
    `a reader that gets Redis back before the pending invalidation does not serve what it cached before the outage (version lease ${versionLeaseMs} ms)`,
    async (t) => {
      const hop = new Hop();
      await hop.restore();
      t.teardown(() => hop.cut());
      const app = Fastify();
      const client = connectRedis(`redis://127.0.0.1:${hop.port}/${DATABASE}`, {
        name: 'outage-recovery-test',
        commandBackstopMs: 1_000,
        log: app.log,
      });
      t.teardown(() => client.disconnect());
      await once(client, 'ready');
      // No back-off after a failure: the first read after Redis is back goes to Redis.
      const cache = new ResponseCache({
        redis: client,
        log: app.log,
        memoryMaxBytes: 1_000_000,
        outageBackoffMs: 0,
        versionLeaseMs,
      });
      t.teardown(() => cache.close());

      let stored = ['before the outage'];
      let loads = 0;
      const load = async () => {
        loads += 1;
        return jsonResponse(200, stored);
      };
      // A key of its own per pass: the first pass's entries stay in Redis.
      const read = async () =>
        JSON.parse(String((await cache.get(`todos-${versionLeaseMs}`, 60, load)).body)) as string[];

      t.same(await read(), ['before the outage'], 'cached before the outage');
      t.same(await read(), ['before the outage'], 'and served from the cache');
      t.equal(loads, 1);

      await hop.cut();
      // A write answers while Redis is out: committed, its invalidation still pending.
      stored = ['before the outage', 'written during the outage'];
      t.same(await read(), stored, 'during the outage, reads go to the database');

      const ready = once(client, 'ready');
      await hop.restore();
      await ready;
      t.same(await read(), stored, 'back: the write that answered during the outage is read');
      const loadsAfterRecovery = loads;
      t.same(await read(), stored, 'and the cache serves again');
      t.equal(loads, loadsAfterRecovery, 'from the cache, without a load');
    },
  );
