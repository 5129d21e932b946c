/**
 * Pushed dataset versions (VersionLease, VersionAcknowledgements) against the real Redis
 * `pnpm test` provides (TEST_REDIS_URL), in a database of this file's own: two read replicas'
 * caches and a writer. A replica holding a lease reads no version from Redis, and still sees
 * every write that has answered; a write waits for a lease holder that does not acknowledge
 * until its lease has ended; a replica whose subscription is cut stops trusting its lease.
 */
import { once } from 'node:events';
import Fastify from 'fastify';
import type { Redis } from 'ioredis';
import t from 'tap';
import { jsonResponse, ResponseCache } from '../src/index.js';
import { DatasetVersion } from '../src/dataset-version.js';
import { VERSION_LEASES_KEY } from '../src/keys.js';
import { connectRedis } from '../src/redis.js';
import { VersionAcknowledgements } from '../src/version-leases.js';

const redisUrl = process.env.TEST_REDIS_URL;
if (!redisUrl) {
  throw new Error(
    'TEST_REDIS_URL is not set. Run this test with `pnpm test` (it starts a throwaway redis-server and sets it).',
  );
}
/** A database no other test uses: the dataset version and lease keys are the same in every one. */
const DATABASE = 12;
const LEASE_MS = 1_000;
/** How long a condition below may take to come true before the test gives up on it. */
const CONDITION_DEADLINE_MS = 10_000;

const app = Fastify();
const url = new URL(redisUrl);
url.pathname = `/${DATABASE}`;

async function client(name: string): Promise<Redis> {
  const redis = connectRedis(url.href, { name, commandBackstopMs: 1_000, log: app.log });
  t.teardown(() => redis.disconnect());
  await once(redis, 'ready');
  return redis;
}

/** A read replica's cache, with its Redis client's GETs counted (the per-turn version reads). */
async function replica(name: string) {
  const redis = await client(name);
  const counted = { gets: 0 };
  const get = redis.get.bind(redis);
  redis.get = (...args: Parameters<typeof get>) => {
    counted.gets += 1;
    return get(...args);
  };
  const cache = new ResponseCache({ redis, log: app.log, memoryMaxBytes: 1_000_000, versionLeaseMs: LEASE_MS });
  t.teardown(() => cache.close());
  return { name, redis, cache, counted };
}
type Replica = Awaited<ReturnType<typeof replica>>;

/** What the database holds: each load serves the generation current when it ran. */
let generation = 0;
async function read({ cache }: Replica): Promise<number> {
  const response = await cache.get('todos', 60, async () => jsonResponse(200, { generation }));
  return (JSON.parse(String(response.body)) as { generation: number }).generation;
}

async function until(condition: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = performance.now() + CONDITION_DEADLINE_MS;
  while (!(await condition())) {
    if (performance.now() > deadline) throw new Error(`not within ${CONDITION_DEADLINE_MS} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Waits until `replica` reads without a version read: it holds its lease. */
async function leaseHeld(replica: Replica): Promise<void> {
  await until(async () => {
    const before = replica.counted.gets;
    for (let i = 0; i < 10; i += 1) await read(replica);
    return replica.counted.gets === before;
  }, `${replica.name} reads without a Redis read of the version`);
}

/** Redis's clock, ms. */
async function redisNowMs(redis: Redis): Promise<number> {
  const [seconds, microseconds] = await redis.time();
  return Number(seconds) * 1000 + Math.floor(Number(microseconds) / 1000);
}

const admin = await client('version-leases-test');
await admin.flushdb();
const writerRedis = await client('version-leases-writer');
const writer = new VersionAcknowledgements(writerRedis, new DatasetVersion(writerRedis));
t.teardown(() => writer.close());
const a = await replica('replica-a');
const b = await replica('replica-b');

t.test('replicas holding leases read no version from Redis and see every write that answered', async (t) => {
  await Promise.all([leaseHeld(a), leaseHeld(b)]);
  const gets = a.counted.gets + b.counted.gets;
  for (let write = 0; write < 20; write += 1) {
    generation += 1;
    const { leases, lapsed } = await writer.replace();
    t.equal(leases, 2, 'the write found both leases');
    t.equal(lapsed, 0, 'and both acknowledged');
    t.equal(await read(a), generation, `write ${write + 1}: replica A reads it at once`);
    t.equal(await read(b), generation, `write ${write + 1}: replica B reads it at once`);
  }
  t.equal(a.counted.gets + b.counted.gets, gets, 'without reading the version from Redis');
});

t.test('a write waits for a lease holder that does not acknowledge until its lease has ended', async (t) => {
  const expiresAt = (await redisNowMs(admin)) + 500;
  await admin.zadd(VERSION_LEASES_KEY, expiresAt, 'a-replica-that-stopped');
  generation += 1;
  const { leases, lapsed } = await writer.replace();
  t.equal(leases, 3, 'the write found the silent lease beside the two live ones');
  t.equal(lapsed, 1, 'and only the silent one did not acknowledge');
  t.ok((await redisNowMs(admin)) >= expiresAt, 'it answered only once that lease had ended, by Redis’s clock');
  t.equal(await read(a), generation, 'replica A reads the write');
});

t.test('a replica whose subscription is cut stops trusting its lease, and reads the write', async (t) => {
  await leaseHeld(a);
  const clients = await admin.client('LIST');
  const subscriber = /id=(\d+) [^\n]*name=replica-a:versions /.exec(String(clients))?.[1];
  t.ok(subscriber, "replica A's subscription has a connection of its own, named after it");
  await admin.client('KILL', 'ID', subscriber!);
  // The version replaced while the subscription is down: replica A cannot hear it.
  generation += 1;
  const { lapsed } = await writer.replace();
  t.ok(lapsed <= 1, 'at most replica A’s lease lapsed unacknowledged');
  t.equal(await read(a), generation, 'replica A reads the write');
  t.equal(await read(b), generation, 'and so does replica B');
  await leaseHeld(a);
  t.pass('and holds a lease again once it has subscribed again');
});

t.test('a replica that closes gives its lease up: no write waits for it', async (t) => {
  await b.cache.close();
  generation += 1;
  const { leases } = await writer.replace();
  t.equal(leases, 1, 'only replica A’s lease is left');
});
