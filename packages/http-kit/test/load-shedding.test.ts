import { once } from 'node:events';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type {} from '@fastify/under-pressure'; // declares app.isUnderPressure(), which http-kit's plugin adds
import t from 'tap';
import { HEALTH_PATH } from '@taskoverflow/routing';
import { busyWait, waitUntil } from '@taskoverflow/stack/testing';
import { createServiceApp, describeLateShedding } from '../src/index.js';
import type { LoadSheddingSettings } from '../src/load-shedding.js';

/** Every limit off: each test turns on the one it is about. */
const NO_SHEDDING: LoadSheddingSettings = {
  maxEventLoopDelayMs: 0,
  maxEventLoopUtilization: 0,
  maxConcurrentRequests: 0,
  maxBytesInFlight: 0,
  retryAfterSeconds: 1,
};

/** A service app shedding by `shedding` alone; its routes are the test's to add. */
function sheddingApp(shedding: Partial<LoadSheddingSettings>) {
  return createServiceApp({ service: 'todo-read', logLevel: 'silent', loadShedding: { ...NO_SHEDDING, ...shedding } });
}

/** Resolves once `condition` holds (checked every 5 ms); rejects after `timeoutMs`. */
async function until(condition: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  await waitUntil(what, () => condition() || undefined, timeoutMs, 5);
}

t.test(
  'an overloaded service sheds requests with 503 + Retry-After, keeps its health check, and recovers',
  async (t) => {
    const app = sheddingApp({ maxEventLoopDelayMs: 50, retryAfterSeconds: 2 });
    app.get('/api/v1/todos', async () => ({ ok: true }));
    const base = await app.listen({ host: '127.0.0.1', port: 0 });
    t.teardown(() => app.close());

    t.equal((await fetch(`${base}/api/v1/todos`)).status, 200, 'not overloaded yet');

    // Block the loop across several samples: the sample taken right after sees the delay
    // (and the one after that, 250 ms later, sees a loop that keeps up again).
    busyWait(800);
    await until(() => app.isUnderPressure(), 'under pressure');
    const shed = await fetch(`${base}/api/v1/todos`);
    t.equal(shed.status, 503, 'shed while the event loop lags');
    t.equal(shed.headers.get('retry-after'), '2');
    t.same(await shed.json(), { error: 'service overloaded, retry shortly' });
    t.equal((await fetch(`${base}${HEALTH_PATH}`)).status, 200, 'the health check is never shed');

    let recovered = false;
    for (let i = 0; i < 20 && !recovered; i += 1) {
      await sleep(250);
      recovered = (await fetch(`${base}/api/v1/todos`)).status === 200;
    }
    t.ok(recovered, 'serves again once the loop keeps up');
  },
);

t.test('a cap on requests in progress sheds the ones over it at once', async (t) => {
  const app = sheddingApp({ maxConcurrentRequests: 2 });
  let release: () => void = () => {};
  const released = new Promise<void>((resolve) => (release = resolve));
  let inHandler = 0;
  app.get('/api/v1/todos', async () => {
    inHandler += 1;
    await released;
    return { ok: true };
  });
  const base = await app.listen({ host: '127.0.0.1', port: 0 });
  t.teardown(() => app.close());

  const slow = [fetch(`${base}/api/v1/todos`), fetch(`${base}/api/v1/todos`)];
  await until(() => inHandler === 2, 'two requests in the handler');
  const third = await fetch(`${base}/api/v1/todos`);
  t.equal(third.status, 503, 'the third concurrent request is shed');
  t.equal(third.headers.get('retry-after'), '1');
  t.equal((await fetch(`${base}${HEALTH_PATH}`)).status, 200, 'health checks do not count');
  release();
  t.same(
    (await Promise.all(slow)).map((r) => r.status),
    [200, 200],
  );
  t.equal((await fetch(`${base}/api/v1/todos`)).status, 200, 'capacity is given back when requests finish');
});

t.test(
  'a cap on response bytes in flight sheds new requests while a large response is still being written',
  async (t) => {
    const app = sheddingApp({ maxBytesInFlight: 1024 * 1024 });
    // Larger than what loopback's socket buffers absorb, so it stays in flight until read.
    const large = Buffer.alloc(64 * 1024 * 1024, 'x');
    app.get('/large', async (_request, reply) => reply.type('application/json').send(large));
    app.get('/small', async () => ({ ok: true }));
    const base = await app.listen({ host: '127.0.0.1', port: 0 });
    t.teardown(() => app.close());
    t.equal((await fetch(`${base}/small`)).status, 200, 'small responses do not add up to the cap');

    // A client that asks for the large response and does not read it.
    const { port } = new URL(base);
    const stalled = connect({ host: '127.0.0.1', port: Number(port) });
    await once(stalled, 'connect');
    stalled.pause();
    stalled.write('GET /large HTTP/1.1\r\nHost: localhost\r\n\r\n');
    let shed: Response | undefined;
    for (let attempt = 0; attempt < 100 && shed?.status !== 503; attempt += 1) {
      shed = await fetch(`${base}/small`);
      await shed.arrayBuffer();
    }
    t.equal(shed?.status, 503, 'a small request is shed while the large response is not drained');
    t.equal(shed?.headers.get('retry-after'), '1');
    t.equal((await fetch(`${base}${HEALTH_PATH}`)).status, 200, 'the health check is never shed');

    stalled.destroy();
    let recovered = false;
    for (let attempt = 0; attempt < 100 && !recovered; attempt += 1) {
      const response = await fetch(`${base}/small`);
      recovered = response.status === 200;
      await response.arrayBuffer();
    }
    t.ok(recovered, 'the bytes are given back once the response is done (here: its client went away)');
  },
);

t.test('a response whose client went away before it was sent counts no bytes in flight', async (t) => {
  const app = sheddingApp({ maxBytesInFlight: 1024 });
  let clientGone: Promise<unknown> | undefined;
  app.get('/slow', async (_request, reply) => {
    clientGone = once(reply.raw, 'close');
    await clientGone;
    // Sent after the connection closed: nothing will ever write these bytes.
    return reply.type('application/json').send(Buffer.alloc(4096, 'x'));
  });
  app.get('/small', async () => ({ ok: true }));
  const base = await app.listen({ host: '127.0.0.1', port: 0 });
  t.teardown(() => app.close());

  const client = connect({ host: '127.0.0.1', port: Number(new URL(base).port) });
  await once(client, 'connect');
  client.write('GET /slow HTTP/1.1\r\nHost: localhost\r\n\r\n');
  await until(() => clientGone !== undefined, 'the slow request in its handler');
  client.destroy();
  await clientGone;
  const statuses: number[] = [];
  for (let attempt = 0; attempt < 3; attempt += 1) {
    const response = await fetch(`${base}/small`);
    statuses.push(response.status);
    await response.arrayBuffer();
  }
  t.same(statuses, [200, 200, 200], 'the abandoned response holds no capacity');
});

t.test('event-loop shedding must begin before the Redis backstop could fire', async (t) => {
  const settings = (maxEventLoopDelayMs: number) => ({ ...NO_SHEDDING, maxEventLoopDelayMs });
  const backstop = { setting: 'REDIS_COMMAND_BACKSTOP_MS', ms: 1_000 };
  t.equal(describeLateShedding(settings(500), backstop), undefined, 'the defaults: 500 ms + one 250 ms sample < 1 s');
  t.equal(describeLateShedding(settings(0), backstop), undefined, 'no event-loop shedding, nothing to order');
  t.match(
    describeLateShedding(settings(800), backstop),
    /SHED_EVENT_LOOP_DELAY_MS \(800\).*below REDIS_COMMAND_BACKSTOP_MS \(1000\).*lower SHED_EVENT_LOOP_DELAY_MS to 749 or less/,
  );
});
