/**
 * A cache outage is not a crash loop: with Redis killed before the services start, todo-read
 * and todo-write start anyway, each says so in one warn line, todo-read serves reads uncached
 * (`cache: bypass`) and its `stats` line shows `redis_connected: 0`, todo-write acknowledges
 * writes. When Redis comes back the cache resumes (hits, `redis_connected: 1`) and a read
 * still sees the write that answered before it. The real split stack (startTestStack), over
 * a redis-server of this file's own on a port it kills and later reuses.
 */
import { startRedisServer } from '@taskoverflow/stack';
import { startTestStack, waitForLogLine, type LogLine } from '@taskoverflow/stack/testing';
import t from 'tap';

let redis = await startRedisServer();
const redisPort = redis.port;
await redis.stop();
t.teardown(() => redis.stop());

const stack = await startTestStack(t, {
  redisUrl: redis.url,
  readReplicas: 1,
  // A stats line every 200 ms, so the test need not wait 5 s for one.
  serviceEnv: { STATS_INTERVAL_MS: '200' },
});
const [writer, reader] = ['todo-write-1', 'todo-read-1'];

async function create(title: string): Promise<{ id: number }> {
  const response = await fetch(`${stack.url}/api/v1/todos`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ title }),
  });
  if (response.status !== 201) throw new Error(`create answered ${response.status}: ${await response.text()}`);
  return (await response.json()) as { id: number };
}

/** GET the list with a request id of its own; its ids, and its "request finished" line. */
async function list(requestId: string): Promise<{ ids: number[]; line: LogLine }> {
  const response = await fetch(`${stack.url}/api/v1/todos`, { headers: { 'x-request-id': requestId } });
  if (response.status !== 200) throw new Error(`list answered ${response.status}`);
  const ids = ((await response.json()) as Array<{ id: number }>).map((todo) => todo.id);
  const line = await waitForLogLine(
    stack,
    (candidate) => candidate.request_id === requestId && candidate.msg === 'request finished',
    {
      instance: reader,
      description: `the line of ${requestId}`,
    },
  );
  return { ids, line };
}

const isStats = (line: LogLine) => line.msg === 'stats';

t.test('both services start without Redis, and say so', async (t) => {
  for (const instance of [reader, writer]) {
    const warning = await waitForLogLine(
      stack,
      (line) => String(line.msg).startsWith('Redis unavailable at start-up'),
      { instance },
    );
    t.equal(warning.level, 'warn', `${instance}: a warning`);
    t.match(warning.reason, /ECONNREFUSED/, `${instance}: with the reason`);
    t.equal(warning.redis, redis.url, `${instance}: and where`);
  }
});

t.test('todo-read serves uncached, todo-write acknowledges writes, and the stats line says so', async (t) => {
  const written = await create('written while Redis is down');
  const { ids, line } = await list('while-down');
  t.equal(ids[0], written.id, 'the list has the write');
  t.equal(line.cache, 'bypass', 'from PostgreSQL, past the cache');
  const stats = await waitForLogLine(stack, isStats, { instance: reader, description: 'a stats line' });
  t.equal(stats.redis_connected, 0, 'redis_connected: 0');
});

t.test('when Redis comes back, the cache resumes and reads still see every answered write', async (t) => {
  redis = await startRedisServer({ port: redisPort });
  const deadline = Date.now() + 15_000;
  let hit = false;
  for (let attempt = 0; !hit && Date.now() < deadline; attempt += 1) {
    hit = (await list(`after-${attempt}`)).line.cache === 'hit';
  }
  t.ok(hit, 'a read is a cache hit again');
  const stats = await waitForLogLine(stack, (line) => isStats(line) && line.redis_connected === 1, {
    instance: reader,
    description: 'a stats line with redis_connected: 1',
  });
  t.equal(stats.redis_connected, 1, 'redis_connected: 1');

  const written = await create('written after Redis came back');
  t.equal((await list('read-your-write')).ids[0], written.id, 'read-your-writes holds');
});
