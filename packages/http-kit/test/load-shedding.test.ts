import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { createServiceApp, HEALTH_PATH } from '../src/index.js';

/** Blocks this process's event loop, as a CPU-bound overload would. */
function busyWait(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until);
}

t.test('an overloaded service sheds requests with 503 + Retry-After, keeps its health check, and recovers', async (t) => {
  const app = createServiceApp({
    service: 'todo-read',
    logLevel: 'silent',
    loadShedding: { maxEventLoopDelayMs: 50, maxEventLoopUtilization: 0, maxConcurrentRequests: 0, retryAfterSeconds: 2 },
  });
  app.get('/api/v1/todos', async () => ({ ok: true }));
  const base = await app.listen({ host: '127.0.0.1', port: 0 });
  t.teardown(() => app.close());

  t.equal((await fetch(`${base}/api/v1/todos`)).status, 200, 'not overloaded yet');

  // Block the loop across several samples: the sample taken right after sees the delay
  // (and the one after that, 250 ms later, sees a loop that keeps up again).
  busyWait(800);
  await sleep(20);
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
});

t.test('a cap on requests in progress sheds the ones over it at once', async (t) => {
  const app = createServiceApp({
    service: 'todo-read',
    logLevel: 'silent',
    loadShedding: { maxEventLoopDelayMs: 0, maxEventLoopUtilization: 0, maxConcurrentRequests: 2, retryAfterSeconds: 1 },
  });
  let release: () => void = () => {};
  const released = new Promise<void>((resolve) => (release = resolve));
  app.get('/api/v1/todos', async () => {
    await released;
    return { ok: true };
  });
  const base = await app.listen({ host: '127.0.0.1', port: 0 });
  t.teardown(() => app.close());

  const slow = [fetch(`${base}/api/v1/todos`), fetch(`${base}/api/v1/todos`)];
  await sleep(100);
  const third = await fetch(`${base}/api/v1/todos`);
  t.equal(third.status, 503, 'the third concurrent request is shed');
  t.equal(third.headers.get('retry-after'), '1');
  t.equal((await fetch(`${base}${HEALTH_PATH}`)).status, 200, 'health checks do not count');
  release();
  t.same((await Promise.all(slow)).map((r) => r.status), [200, 200]);
  t.equal((await fetch(`${base}/api/v1/todos`)).status, 200, 'capacity is given back when requests finish');
});
