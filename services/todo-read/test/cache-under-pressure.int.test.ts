/**
 * The response cache when its own process is busy, and when Redis is gone: the plugin as
 * todo-read registers it, with the settings todo-read reads, against a real redis-server. The
 * loader stands in for PostgreSQL and counts how often the cache falls through to it.
 */
import { once } from 'node:events';
import { Writable } from 'node:stream';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { jsonResponse, responseCachePlugin, type CachedResponse } from '@taskoverflow/cache';
import { startRedisServer } from '@taskoverflow/stack';
import { busyWait, waitUntil } from '@taskoverflow/stack/testing';
import Fastify from 'fastify';
import t from 'tap';
import { loadConfig } from '../src/config.js';

const redis = await startRedisServer();
t.teardown(() => redis.stop());

/** Every line the cache logs, parsed. */
const logged: Array<{ msg: string }> = [];
const app = Fastify({
  logger: {
    level: 'info',
    stream: new Writable({
      write(chunk: Buffer, _encoding, done) {
        logged.push(JSON.parse(chunk.toString()) as { msg: string });
        done();
      },
    }),
  },
});
const { cache: settings } = loadConfig({ REDIS_URL: redis.url, DATABASE_URL: 'postgres://127.0.0.1/unused' });
await app.register(responseCachePlugin, settings);
await app.ready();
t.teardown(() => app.close());
const cache = app.responseCache!;
if (app.redis!.status !== 'ready') await once(app.redis!, 'ready');

t.test('an event loop blocked for 300 ms while Redis answers does not mark Redis unavailable', async (t) => {
  let loads = 0;
  const load = async (): Promise<CachedResponse> => jsonResponse(200, { load: ++loads });
  await cache.get('stall', 60, load);
  t.equal(loads, 1, 'the first lookup is a miss');

  for (let round = 0; round < 5; round += 1) {
    const lookup = cache.get('stall', 60, load);
    // One turn: the dataset-version GET has gone out (the cache sends it on the next turn).
    await nextTurn();
    // Redis answers within a millisecond; the reply waits in the socket while the loop is stuck.
    busyWait(300);
    t.same(JSON.parse((await lookup).body.toString()), { load: 1 }, `round ${round}: served from the cache`);
  }
  t.equal(loads, 1, 'no lookup went past the cache to the loader');
  t.same(
    logged.filter((line) => line.msg.startsWith('cache unavailable')),
    [],
    'Redis was never marked unavailable',
  );
});

t.test(
  'with Redis gone, concurrent reads of one key share one load, and reads arriving during it the next one',
  async (t) => {
    await redis.stop();
    let loads = 0;
    let release = (): void => {};
    const firstLoadDone = new Promise<void>((resolve) => (release = resolve));
    const load = async (): Promise<CachedResponse> => {
      const number = ++loads;
      if (number === 1) await firstLoadDone;
      return jsonResponse(200, { load: number });
    };

    const burst = Array.from({ length: 50 }, () => cache.get('outage', 60, load));
    await waitUntil('the reads falling through to the loader', () => loads > 0 || undefined, 5_000, 0);
    t.pass('the reads fall through to the loader');
    // Turns for any read that did not join the first load to start its own.
    for (let turn = 0; turn < 10; turn += 1) await nextTurn();
    t.equal(loads, 1, '50 concurrent reads while Redis is down: one load');

    const duringLoad = Array.from({ length: 20 }, () => cache.get('outage', 60, load));
    for (let turn = 0; turn < 10; turn += 1) await nextTurn();
    t.equal(loads, 1, 'reads arriving while it runs wait: one load per key at a time');

    release();
    const served = await Promise.all(burst);
    t.ok(
      served.every((response) => response === served[0]),
      'all 50 got the one response',
    );
    const later = await Promise.all(duringLoad);
    t.equal(loads, 2, 'the later reads shared one load of their own');
    // It started after they arrived, so it sees every write that answered before they were sent.
    t.ok(
      later.every((response) => JSON.parse(response.body.toString()).load === 2),
      'they got the load that began after they arrived',
    );
    t.ok(
      logged.some((line) => line.msg.startsWith('cache unavailable')),
      'the outage is logged',
    );
  },
);
