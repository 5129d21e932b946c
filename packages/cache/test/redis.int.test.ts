/**
 * connectRedis's connection log, against the real Redis that `pnpm test` provides
 * (TEST_REDIS_URL): a connection lost is a warning, our own quit() or disconnect() is not.
 */
import { once } from 'node:events';
import Fastify from 'fastify';
import { Redis } from 'ioredis';
import t, { type Test } from 'tap';
import { connectRedis } from '../src/redis.js';

const redisUrl = process.env.TEST_REDIS_URL;
if (!redisUrl) {
  throw new Error(
    'TEST_REDIS_URL is not set. Run this test with `pnpm test` (it starts a throwaway redis-server and sets it).',
  );
}

interface LogLine {
  level: number;
  msg: string;
}
const WARN = 40;

/** A client as the services make it, with the lines it logs. */
async function connect(t: Test): Promise<{ redis: Redis; lines: LogLine[] }> {
  const lines: LogLine[] = [];
  const app = Fastify({
    logger: { level: 'debug', stream: { write: (line: string) => lines.push(JSON.parse(line) as LogLine) } },
  });
  const redis = connectRedis(redisUrl!, { name: 'connect-redis-test', commandBackstopMs: 1_000, log: app.log });
  t.teardown(() => redis.disconnect());
  await once(redis, 'ready');
  return { redis, lines };
}

const warnings = (lines: LogLine[]): string[] => lines.filter((line) => line.level >= WARN).map((line) => line.msg);

t.test('quit() logs no warning', async (t) => {
  const { redis, lines } = await connect(t);
  await Promise.all([redis.quit(), once(redis, 'end')]);
  t.same(warnings(lines), []);
});

t.test('disconnect() logs no warning', async (t) => {
  const { redis, lines } = await connect(t);
  const ended = once(redis, 'end');
  redis.disconnect();
  await ended;
  t.same(warnings(lines), []);
});

t.test('a connection killed by the server is one warning, and the client reconnects', async (t) => {
  const { redis, lines } = await connect(t);
  const admin = new Redis(redisUrl);
  t.teardown(() => admin.disconnect());

  const id = await redis.client('ID');
  const reconnecting = once(redis, 'reconnecting');
  t.equal(await admin.client('KILL', 'ID', String(id)), 1, 'the server killed the connection');
  await reconnecting;
  await once(redis, 'ready');
  t.same(warnings(lines), ['redis connection lost; reconnecting']);

  await Promise.all([redis.quit(), once(redis, 'end')]);
  t.same(warnings(lines), ['redis connection lost; reconnecting'], 'the quit after it adds none');
});
