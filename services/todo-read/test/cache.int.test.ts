/**
 * The cache guarantees of docs/design.md (Cache), against the real split stack: real processes, real
 * PostgreSQL, a real redis-server this file starts, stops and restarts.
 */
import { EventEmitter, once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { startRedisServer } from '@taskoverflow/stack';
import { followLogLines, startTestStack } from '@taskoverflow/stack/testing';
import t from 'tap';

interface LogLine {
  msg: string;
  hostname: string;
  request_id?: string;
  url?: string;
  sql?: string;
  cache?: string;
  cache_tier?: string;
}

let redis = await startRedisServer();
t.teardown(() => redis.stop());

const lines: LogLine[] = [];
const lineLogged = new EventEmitter();
const stack = await startTestStack(t, { redisUrl: redis.url, readReplicas: 2 });
followLogLines(t, stack, (line) => {
  lines.push(line as unknown as LogLine);
  lineLogged.emit('line');
});
const [readA, readB] = stack.readUrls as [string, string];

async function getJson(url: string, headers: Record<string, string> = {}) {
  const response = await fetch(url, { headers });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined };
}

async function create(title: string, extra: Record<string, unknown> = {}): Promise<{ id: number }> {
  const response = await fetch(`${stack.writeUrl}/api/v1/todos`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ title, ...extra }),
  });
  if (response.status !== 201) throw new Error(`create answered ${response.status}`);
  return (await response.json()) as { id: number };
}

/** Lines logged for one request, by its x-request-id. */
function linesOf(requestId: string): LogLine[] {
  return lines.filter((line) => line.request_id === requestId);
}

/** How long a service's log lines may take to reach its log file after it answered. */
const LOG_WAIT_MS = 5_000;

/**
 * Waits until every one of `requestIds` has its `request finished` line, a request's last:
 * the services log after they answer, to their files. Fails after LOG_WAIT_MS.
 */
async function finished(...requestIds: string[]): Promise<void> {
  const done = (): boolean =>
    requestIds.every((id) => lines.some((line) => line.request_id === id && line.msg === 'request finished'));
  const signal = AbortSignal.timeout(LOG_WAIT_MS);
  while (!done()) {
    await once(lineLogged, 'line', { signal }).catch(() => {
      throw new Error(`not every one of ${requestIds.join(', ')} logged "request finished" within ${LOG_WAIT_MS} ms`);
    });
  }
}

t.test(
  'read-your-writes: a write is visible at once on every replica, even one that had cached the list',
  async (t) => {
    for (let round = 0; round < 10; round += 1) {
      // Both replicas hold the list in memory (and Redis has it) before the write.
      await getJson(`${readA}/api/v1/todos`);
      await getJson(`${readB}/api/v1/todos`);
      // And the filtered lists derived from it.
      await getJson(`${readB}/api/v1/todos?completed=false&window=3`);
      const created = await create(`round ${round}`, { deadline_at: new Date(Date.now() + 86_400_000).toISOString() });
      const fromB = await getJson(`${readB}/api/v1/todos`);
      t.equal(fromB.body[0].id, created.id, `round ${round}: the other replica serves the new todo first`);
      const filtered = await getJson(`${readB}/api/v1/todos?completed=false&window=3`);
      t.equal(filtered.body[0].id, created.id, `round ${round}: in a filtered list too`);
      const byId = await getJson(`${readA}/api/v1/todos/${created.id}`);
      t.equal(byId.status, 200, `round ${round}: by id too (${byId.status} ${JSON.stringify(byId.body)})`);
    }
    const updatedId = (await create('to update')).id;
    await getJson(`${readA}/api/v1/todos/${updatedId}`);
    await fetch(`${stack.writeUrl}/api/v1/todos/${updatedId}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: '{"completed":true}',
    });
    t.equal(
      (await getJson(`${readA}/api/v1/todos/${updatedId}`)).body.completed,
      true,
      'an update replaces a cached todo',
    );
    await fetch(`${stack.writeUrl}/api/v1/todos/${updatedId}`, { method: 'DELETE' });
    t.equal((await getJson(`${readB}/api/v1/todos/${updatedId}`)).status, 404, 'a delete removes it');
  },
);

t.test('hits are served from memory, then Redis, and say so in the logs and Server-Timing', async (t) => {
  await create('warm-up');
  const first = await getJson(`${readA}/api/v1/todos?completed=false`, { 'x-request-id': 'cache-first' });
  const second = await getJson(`${readA}/api/v1/todos?completed=false`, { 'x-request-id': 'cache-second' });
  const otherReplica = await getJson(`${readB}/api/v1/todos?completed=false`, { 'x-request-id': 'cache-other' });
  await finished('cache-first', 'cache-second', 'cache-other');
  t.match(
    linesOf('cache-first').find((l) => l.msg === 'request finished'),
    { cache: 'stale' },
    'the full list this filtered list is cut from was held under the version before the write',
  );
  t.ok(
    linesOf('cache-first').some((l) => l.msg === 'query'),
    'a miss queries PostgreSQL',
  );
  t.match(
    linesOf('cache-second').find((l) => l.msg === 'request finished'),
    { cache: 'hit', cache_tier: 'memory' },
  );
  t.notOk(
    linesOf('cache-second').some((l) => l.msg === 'query'),
    'a hit does not',
  );
  t.match(
    linesOf('cache-other').find((l) => l.msg === 'request finished'),
    { cache: 'hit', cache_tier: 'redis' },
  );
  t.same(second.body, first.body);
  t.same(otherReplica.body, first.body);
  t.match(second.headers.get('server-timing'), /^db;dur=0, cache;dur=[\d.]+, total;dur=[\d.]+$/);
});

for (const path of ['/api/v1/todos', '/api/v1/todos?completed=false&window=30']) {
  t.test(`ETag and If-None-Match on ${path}: 304 while current, 200 after a write`, async (t) => {
    const first = await getJson(`${readA}${path}`);
    const etag = first.headers.get('etag')!;
    t.match(etag, /^"[\w:-]+"$/);
    t.equal(first.headers.get('cache-control'), 'no-cache');
    const revalidated = await fetch(`${readB}${path}`, { headers: { 'if-none-match': etag } });
    t.equal(revalidated.status, 304, 'another replica agrees the ETag is current');
    t.equal(await revalidated.text(), '');
    t.equal((await fetch(`${readA}${path}`, { headers: { 'if-none-match': `W/${etag}, "other"` } })).status, 304);
    await create('changes the list', { deadline_at: new Date(Date.now() + 86_400_000).toISOString() });
    const changed = await fetch(`${readA}${path}`, { headers: { 'if-none-match': etag } });
    t.equal(changed.status, 200, 'after a write the old ETag no longer matches');
    t.not(changed.headers.get('etag'), etag);
  });
}

t.test('a stampede of misses on one key runs one query per replica', async (t) => {
  await create('invalidates everything');
  const burst = 60;
  const ids = Array.from({ length: burst }, (_, i) => `stampede-${i}`);
  const responses = await Promise.all(
    ids.map((id, i) => getJson(`${i % 2 ? readB : readA}/api/v1/todos?window=30`, { 'x-request-id': id })),
  );
  await finished(...ids);
  t.ok(
    responses.every((r) => r.status === 200),
    'every request answered 200',
  );
  const queries = ids.flatMap(linesOf).filter((line) => line.msg === 'query');
  const queriesByReplica = new Map<string, number>();
  for (const query of queries) queriesByReplica.set(query.hostname, (queriesByReplica.get(query.hostname) ?? 0) + 1);
  // At most one each: a replica whose load starts after the other's filled Redis needs none.
  const counts = [...queriesByReplica.values()];
  t.ok(
    counts.length >= 1 && counts.every((count) => count === 1),
    `${burst} concurrent misses: ${JSON.stringify(Object.fromEntries(queriesByReplica))}`,
  );
});

t.test(
  'a window list follows the clock: a todo is listed in window=0 once its deadline has passed, with no write',
  async (t) => {
    // Due in 1.5 s: outside window=0 now, inside it once the deadline has passed.
    const dueAt = new Date(Date.now() + 1_500);
    const due = await create('due very soon', { deadline_at: dueAt.toISOString() });
    for (const replica of [readA, readB]) {
      const before = await getJson(`${replica}/api/v1/todos?window=0`);
      t.notOk(
        before.body.some((todo: { id: number }) => todo.id === due.id),
        `${replica}: not due yet`,
      );
    }
    // The replicas share this clock: a read sent after the deadline is answered after it.
    await sleep(dueAt.getTime() + 1 - Date.now());
    for (const replica of [readA, readB]) {
      const after = await getJson(`${replica}/api/v1/todos?window=0`);
      t.ok(
        after.body.some((todo: { id: number }) => todo.id === due.id),
        `${replica}: due now, and listed`,
      );
    }
  },
);

t.test('Redis down: reads stay 200 and current; the cache comes back by itself', async (t) => {
  await getJson(`${readA}/api/v1/todos`);
  await redis.stop();
  const written = await create('written while Redis is down');
  const outageReads: string[] = [];
  for (const replica of [readA, readB]) {
    for (let i = 0; i < 5; i += 1) {
      outageReads.push(`redis-down-${outageReads.length}`);
      const response = await getJson(`${replica}/api/v1/todos`, { 'x-request-id': outageReads.at(-1)! });
      t.equal(response.status, 200);
      t.equal(response.body[0].id, written.id, 'served from PostgreSQL, so the write made during the outage is there');
    }
  }
  await finished(...outageReads);
  t.ok(
    lines.some((l) => l.cache === 'bypass'),
    'the outage is logged',
  );

  redis = await startRedisServer({ port: redis.port });
  const deadline = Date.now() + 10_000;
  let recovered = false;
  while (!recovered && Date.now() < deadline) {
    await getJson(`${readA}/api/v1/todos`, { 'x-request-id': 'after-outage-1' });
    await getJson(`${readA}/api/v1/todos`, { 'x-request-id': 'after-outage-2' });
    await finished('after-outage-1', 'after-outage-2');
    recovered = linesOf('after-outage-2').some((l) => l.cache === 'hit');
    lines.splice(0, lines.length, ...lines.filter((l) => !l.request_id?.startsWith('after-outage')));
  }
  t.ok(recovered, 'hits again once Redis is back');
  const afterRecovery = await create('written after Redis came back');
  t.equal((await getJson(`${readB}/api/v1/todos`)).body[0].id, afterRecovery.id, 'and read-your-writes holds again');
});
