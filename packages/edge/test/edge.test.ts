import { EventEmitter, once } from 'node:events';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { HEALTH_PATH } from '@taskoverflow/routing';
import t, { type Test } from 'tap';
import { buildEdge, type EdgeOptions } from '../src/index.js';
import { startUpstream } from '../src/testing.js';

/** What an echo upstream saw. */
interface Echo {
  replica: string;
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** Answers with its name and everything it received; `x-reply-status` picks the status. */
function echoUpstream(t: Test, replica: string): Promise<string> {
  return startUpstream(t, (request, response) => {
    let body = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => (body += chunk));
    request.on('end', () => {
      const echo: Echo = { replica, method: request.method!, url: request.url!, headers: request.headers, body };
      response.writeHead(Number(request.headers['x-reply-status'] ?? 200), {
        'content-type': 'application/json',
        'x-replica': replica,
      });
      response.end(JSON.stringify(echo));
    });
  });
}

/** A base URL nothing listens on: a replica that is down. */
async function deadUpstream(): Promise<string> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  await new Promise((resolve) => server.close(resolve));
  return url;
}

async function startEdge(t: Test, options: EdgeOptions): Promise<string> {
  const edge = await buildEdge({ logging: { level: 'silent' }, ...options });
  t.teardown(() => edge.close());
  return edge.listen({ host: '127.0.0.1', port: 0 });
}

/** A raw TCP connection to `edge`, once connected (its errors ignored: the edge may close it); destroyed at the test's end. */
async function openConnection(t: Test, edge: string): Promise<Socket> {
  const socket = connect(Number(new URL(edge).port), '127.0.0.1');
  socket.on('error', () => {});
  t.teardown(() => socket.destroy());
  await once(socket, 'connect');
  return socket;
}

/** An edge over two echoing replicas per service. */
async function startEchoStack(t: Test): Promise<string> {
  return startEdge(t, {
    upstreams: {
      'todo-read': [await echoUpstream(t, 'read-1'), await echoUpstream(t, 'read-2')],
      'todo-write': [await echoUpstream(t, 'write-1'), await echoUpstream(t, 'write-2')],
    },
  });
}

t.test('routes each request by the routing table', async (t) => {
  const edge = await startEchoStack(t);
  const cases: Array<[method: string, path: string, service: 'read' | 'write']> = [
    ['GET', '/api/v1/todos', 'read'],
    ['GET', '/', 'read'],
    ['HEAD', '/api/v1/todos/1', 'read'],
    ['POST', '/api/v1/todos', 'write'],
    ['PUT', '/api/v1/todos/1', 'write'],
    ['DELETE', '/api/v1/todos/1', 'write'],
    // No rule matches: the listener's default action, todo-read, answers 404/405.
    ['PATCH', '/api/v1/todos/1', 'read'],
    ['POST', '/elsewhere', 'read'],
  ];
  for (const [method, path, service] of cases) {
    const response = await fetch(edge + path, { method });
    t.match(response.headers.get('x-replica'), new RegExp(`^${service}-`), `${method} ${path} → todo-${service}`);
    await response.arrayBuffer();
  }
});

t.test('alternates between the replicas of a service', async (t) => {
  const edge = await startEchoStack(t);
  const replicas: string[] = [];
  for (let i = 0; i < 4; i += 1) {
    const echo = (await (await fetch(`${edge}/api/v1/todos`)).json()) as Echo;
    replicas.push(echo.replica);
  }
  t.same(new Set(replicas), new Set(['read-1', 'read-2']));
  t.equal(replicas[0], replicas[2]);
  t.equal(replicas[1], replicas[3]);
  t.not(replicas[0], replicas[1]);
});

t.test('passes method, path, query, headers and body through intact', async (t) => {
  const edge = await startEchoStack(t);
  const body = JSON.stringify({ title: 'ünïcode ✓', description: 'x'.repeat(60_000) });
  const response = await fetch(`${edge}/api/v1/todos/7?completed=true&window=-3&q=a%20b`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json', 'x-custom': 'kept' },
    body,
  });
  const echo = (await response.json()) as Echo;
  t.equal(echo.method, 'PUT');
  t.equal(echo.url, '/api/v1/todos/7?completed=true&window=-3&q=a%20b');
  t.equal(echo.headers['x-custom'], 'kept');
  t.equal(echo.headers['content-type'], 'application/json');
  t.equal(echo.body, body, 'a 60 KB body arrives byte for byte');
  t.equal(echo.headers.host, new URL(edge).host, 'the client Host is kept, as the ALB does');
  t.equal(echo.headers['x-forwarded-proto'], 'http');
  t.equal(echo.headers['x-forwarded-for'], '127.0.0.1');
});

t.test('passes a QUERY without Content-Type on as it came (Fastify alone would answer 400)', async (t) => {
  const edge = await startEchoStack(t);
  const response = await fetch(`${edge}/api/v1/todos`, { method: 'QUERY', body: new TextEncoder().encode('{"q":1}') });
  t.equal(response.status, 200, 'the replica answered');
  const echo = (await response.json()) as Echo;
  t.equal(echo.method, 'QUERY');
  t.match(echo.replica, /^read-/, 'no rule matches QUERY: the default service');
  t.equal(echo.body, '{"q":1}', 'the body arrives intact');
  t.equal(echo.headers['content-type'], undefined, 'still without Content-Type');
});

t.test("passes the upstream's status and headers back", async (t) => {
  const edge = await startEchoStack(t);
  const response = await fetch(`${edge}/api/v1/todos/404`, { headers: { 'x-reply-status': '404' } });
  t.equal(response.status, 404);
  t.equal(response.headers.get('content-type'), 'application/json');
  t.match(response.headers.get('x-replica'), /^read-/);
  t.match(await response.json(), { method: 'GET' });
});

t.test('x-request-id: kept when present, else the trace Root, else a new UUID; echoed on the response', async (t) => {
  const edge = await startEchoStack(t);

  const generated = await fetch(`${edge}/api/v1/todos`);
  const generatedEcho = (await generated.json()) as Echo;
  t.match(generatedEcho.headers['x-request-id'], /^[0-9a-f-]{36}$/, 'the upstream gets a UUID');
  t.equal(generated.headers.get('x-request-id'), generatedEcho.headers['x-request-id'], 'the client gets the same one');

  const given = await fetch(`${edge}/api/v1/todos`, { method: 'POST', headers: { 'x-request-id': 'client-chosen-1' } });
  t.equal(((await given.json()) as Echo).headers['x-request-id'], 'client-chosen-1');
  t.equal(given.headers.get('x-request-id'), 'client-chosen-1');

  const traceId = 'Root=1-67891233-abcdef012345678912345678;Sampled=1';
  const traced = await fetch(`${edge}/api/v1/todos`, { headers: { 'x-amzn-trace-id': traceId } });
  t.equal(
    ((await traced.json()) as Echo).headers['x-request-id'],
    '1-67891233-abcdef012345678912345678',
    "else the ALB trace id's Root",
  );
  t.equal(traced.headers.get('x-request-id'), '1-67891233-abcdef012345678912345678');

  const both = await fetch(`${edge}/api/v1/todos`, {
    headers: { 'x-amzn-trace-id': traceId, 'x-request-id': 'client-chosen-2' },
  });
  t.equal(both.headers.get('x-request-id'), 'client-chosen-2', 'x-request-id comes first');
  await both.arrayBuffer();
});

t.test('a replica that refuses connections is skipped, body and all', async (t) => {
  const edge = await startEdge(t, {
    upstreams: {
      'todo-read': [await deadUpstream(), await echoUpstream(t, 'read-live')],
      'todo-write': [await deadUpstream(), await echoUpstream(t, 'write-live')],
    },
  });
  for (let i = 0; i < 4; i += 1) {
    const response = await fetch(`${edge}/api/v1/todos`);
    t.equal(response.status, 200);
    t.equal(((await response.json()) as Echo).replica, 'read-live');
  }
  for (let i = 0; i < 2; i += 1) {
    const body = JSON.stringify({ title: `write ${i}` });
    const response = await fetch(`${edge}/api/v1/todos`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    const echo = (await response.json()) as Echo;
    t.equal(echo.replica, 'write-live');
    t.equal(echo.body, body, 'the body reaches the replica that answered');
  }
});

t.test("passes on a replica's early answer to a body it does not read", async (t) => {
  // As a service does with a body over its limit: answer 413 at once, then close.
  const refusing = await startUpstream(t, (_request, response) => {
    response.writeHead(413, { 'content-type': 'application/json', connection: 'close' });
    response.end('{"error":"request body is too large"}');
  });
  const edge = await startEdge(t, { upstreams: { 'todo-read': [refusing], 'todo-write': [refusing] } });
  for (let i = 0; i < 3; i += 1) {
    const response = await fetch(`${edge}/api/v1/todos`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ title: 'x'.repeat(60_000) }),
    });
    t.equal(response.status, 413);
    t.same(await response.json(), { error: 'request body is too large' });
  }
});

t.test("refuses a body over the services' limit itself, as they would", async (t) => {
  let reached = 0;
  const counting = await startUpstream(t, (_request, response) => {
    reached += 1;
    response.end('{}');
  });
  const edge = await startEdge(t, { upstreams: { 'todo-read': [counting], 'todo-write': [counting] } });
  const response = await fetch(`${edge}/api/v1/todos`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ title: 'x'.repeat(4 * 1024 * 1024) }),
  });
  t.equal(response.status, 413);
  t.same(await response.json(), { error: 'request body is too large' });
  t.ok(response.headers.get('x-request-id'), 'with a correlation id');
  t.equal(reached, 0, 'the replica never saw it');
});

t.test('a hostile x-request-id is replaced, not passed on', async (t) => {
  const edge = await startEchoStack(t);
  for (const hostile of ['x'.repeat(800), 'a b', 'id"with"quotes', 'ünïcode']) {
    const response = await fetch(`${edge}/api/v1/todos`, {
      headers: {
        'x-request-id': encodeURIComponent(hostile) === hostile ? hostile : hostile.replace(/[^\x20-\x7e]/g, '?'),
      },
    });
    const echo = (await response.json()) as Echo;
    t.match(echo.headers['x-request-id'], /^[0-9a-f-]{36}$/, `${hostile.slice(0, 12)}… replaced by a UUID`);
    t.equal(response.headers.get('x-request-id'), echo.headers['x-request-id']);
  }
});

t.test('answers 502 JSON when no replica of the service answers', async (t) => {
  const dead = [await deadUpstream(), await deadUpstream()];
  const edge = await startEdge(t, {
    upstreams: { 'todo-read': dead, 'todo-write': [await echoUpstream(t, 'write-1')] },
  });
  const response = await fetch(`${edge}/api/v1/todos`, { headers: { 'x-request-id': 'trace-502' } });
  t.equal(response.status, 502);
  t.match(response.headers.get('content-type'), /^application\/json/);
  t.equal(response.headers.get('x-request-id'), 'trace-502');
  // Which service failed, not where its replicas run nor undici's wording (those are logged).
  t.same(await response.json(), { error: 'todo-read is unavailable: no replica answered' });

  const write = await fetch(`${edge}/api/v1/todos`, { method: 'POST' });
  t.equal(write.status, 200, 'the other service is unaffected');
  await write.arrayBuffer();
});

t.test('answers 504 JSON when a replica does not answer in time', async (t) => {
  const slow = await startUpstream(t, (_request, response) => {
    setTimeout(() => response.end('late'), 1_000);
  });
  const edge = await startEdge(t, {
    upstreams: { 'todo-read': [slow], 'todo-write': [slow] },
    upstreamTimeoutMs: 100,
  });
  const response = await fetch(`${edge}/api/v1/todos`);
  t.equal(response.status, 504);
  t.same(await response.json(), { error: 'todo-read did not answer within 0.1 s' }, 'no replica address');
});

t.test('refuses to start without replicas for a service', async (t) => {
  await t.rejects(buildEdge({ upstreams: { 'todo-read': [], 'todo-write': ['http://127.0.0.1:1'] } }), {
    message: /no replicas given for todo-read/,
  });
});

t.test('a replica failing its health check leaves the rotation, and returns when it passes', async (t) => {
  let draining = false;
  const healthChecks = new EventEmitter();
  const flaky = await startUpstream(t, (request, response) => {
    const healthCheck = request.url === HEALTH_PATH;
    if (healthCheck && draining) response.writeHead(503);
    response.end(JSON.stringify({ replica: 'flaky' }));
    if (healthCheck) healthChecks.emit('answered');
  });
  // Two checks answered after a change: the edge has had the first answer, in the new state.
  const twoHealthChecksAnswered = async (): Promise<void> => {
    const signal = AbortSignal.timeout(5_000);
    await once(healthChecks, 'answered', { signal });
    await once(healthChecks, 'answered', { signal });
  };
  const steady = await echoUpstream(t, 'steady');
  const edge = await buildEdge({
    upstreams: { 'todo-read': [flaky, steady], 'todo-write': [steady] },
    logging: { level: 'silent' },
    healthCheck: { intervalMs: 50 },
  });
  t.teardown(() => edge.close());
  const url = await edge.listen({ host: '127.0.0.1', port: 0 });
  const servedBy = async () => {
    const replicas = [];
    for (let i = 0; i < 6; i += 1)
      replicas.push(((await (await fetch(`${url}/api/v1/todos`)).json()) as { replica: string }).replica);
    return new Set(replicas);
  };
  t.same([...(await servedBy())].sort(), ['flaky', 'steady'], 'both in rotation');
  draining = true;
  await twoHealthChecksAnswered();
  t.same([...(await servedBy())], ['steady'], 'a draining replica gets no requests');
  draining = false;
  await twoHealthChecksAnswered();
  t.same([...(await servedBy())].sort(), ['flaky', 'steady'], 'back once healthy');
});

t.test('replicas can be registered and deregistered while the edge runs', async (t) => {
  const first = await echoUpstream(t, 'first');
  const second = await echoUpstream(t, 'second');
  const edge = await buildEdge({
    upstreams: { 'todo-read': [first], 'todo-write': [first] },
    logging: { level: 'silent' },
  });
  t.teardown(() => edge.close());
  const url = await edge.listen({ host: '127.0.0.1', port: 0 });
  const write = async () =>
    ((await (await fetch(`${url}/api/v1/todos`, { method: 'POST' })).json()) as { replica: string }).replica;

  await edge.targetGroups['todo-write'].register(second);
  t.same(
    new Set([await write(), await write()]),
    new Set(['first', 'second']),
    'a new replica takes traffic once healthy',
  );
  await edge.targetGroups['todo-write'].deregister(first);
  t.same([await write(), await write(), await write()], ['second', 'second', 'second'], 'a deregistered one gets none');
  await edge.targetGroups['todo-write'].deregister(second);
  const none = await fetch(`${url}/api/v1/todos`, { method: 'POST' });
  t.equal(none.status, 502);
  t.match(await none.json(), { error: /no replica is registered/ });
});

/** A replica that holds every request until released; says how many it holds. */
async function holdingUpstream(t: Test) {
  const held: Array<() => void> = [];
  let maxHeld = 0;
  const arrivals: Array<{ count: number; resolve: () => void }> = [];
  const url = await startUpstream(t, (_request, response) => {
    held.push(() => response.end(JSON.stringify({ replica: 'held' })));
    maxHeld = Math.max(maxHeld, held.length);
    for (const arrival of arrivals.filter((waiting) => held.length >= waiting.count)) arrival.resolve();
  });
  return {
    url,
    /** Resolves once `count` requests are held at once. */
    holding: (count: number) =>
      held.length >= count ? Promise.resolve() : new Promise<void>((resolve) => arrivals.push({ count, resolve })),
    releaseAll: () => held.splice(0).forEach((release) => release()),
    get maxHeld() {
      return maxHeld;
    },
  };
}

t.test('a saturated replica: a request past the queue is refused at once with 503 and Retry-After', async (t) => {
  const replica = await holdingUpstream(t);
  const edge = await startEdge(t, {
    upstreams: { 'todo-read': [replica.url], 'todo-write': [replica.url] },
    // The wait bound is long here: what is refused must be refused at arrival, for the queue's
    // length alone (no completion yet, so its floor of 2).
    queue: { connections: 2, minQueueLimit: 2, maxQueueWaitMs: 30_000 },
  });
  const admitted = Array.from({ length: 4 }, () => fetch(`${edge}/api/v1/todos`));
  await replica.holding(2);

  const refused = await fetch(`${edge}/api/v1/todos`, { headers: { 'x-request-id': 'refused-1' } });
  t.equal(refused.status, 503, 'answered while the replica still holds every connection');
  t.equal(refused.headers.get('retry-after'), '1');
  t.equal(refused.headers.get('x-request-id'), 'refused-1');
  t.match(refused.headers.get('content-type'), /^application\/json/);
  t.same(await refused.json(), {
    error:
      'todo-read is at capacity: every todo-read replica has more requests waiting than it serves in 30000 ms; retry after 1 s',
  });

  replica.releaseAll();
  await replica.holding(2);
  replica.releaseAll();
  const statuses = await Promise.all(admitted.map(async (response) => (await response).status));
  t.same(statuses, [200, 200, 200, 200], 'the two that waited were served once connections came free');
  t.equal(replica.maxHeld, 2, 'the replica never had more than its connections at once');
});

t.test('a request that waits past the queue wait bound is refused with 503 and Retry-After', async (t) => {
  const replica = await holdingUpstream(t);
  const edge = await startEdge(t, {
    upstreams: { 'todo-read': [replica.url], 'todo-write': [replica.url] },
    queue: { connections: 1, minQueueLimit: 10, maxQueueWaitMs: 50 },
  });
  const first = fetch(`${edge}/api/v1/todos`);
  await replica.holding(1);
  const waited = await fetch(`${edge}/api/v1/todos/1`);
  t.equal(waited.status, 503, 'answered while the replica still holds the one connection');
  t.equal(waited.headers.get('retry-after'), '1');
  t.same(await waited.json(), {
    error: 'todo-read is at capacity: no connection to a todo-read replica came free within 50 ms; retry after 1 s',
  });
  replica.releaseAll();
  t.equal((await first).status, 200);
  t.equal(replica.maxHeld, 1, 'the refused read never reached the replica');
});

t.test(
  'large responses to clients slow to take them: a request past the queue is refused at once, not after them',
  async (t) => {
    // 32 MB each: more than all the socket buffers between the replica, the edge and a client
    // that reads nothing, so neither response can finish while the refused request is asked.
    const body = Buffer.alloc(32 * 1024 * 1024, 'x');
    const arrivals = new EventEmitter();
    let received = 0;
    const replica = await startUpstream(t, (_request, response) => {
      received += 1;
      arrivals.emit('request');
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
      response.end(body);
    });
    const edge = await startEdge(t, {
      upstreams: { 'todo-read': [replica], 'todo-write': [replica] },
      // Nothing may wait before a completion rate is known: the third request is refused on arrival.
      queue: { connections: 2, minQueueLimit: 0, maxQueueWaitMs: 30_000 },
      // No bytes held for slow clients: the responses keep the replica's connections.
      limits: { maxBufferedBytes: 0 },
    });
    for (let i = 0; i < 2; i += 1) {
      const client = connect(Number(new URL(edge).port), '127.0.0.1');
      client.pause();
      client.write('GET /api/v1/todos HTTP/1.1\r\nHost: test\r\n\r\n');
      t.teardown(() => client.destroy());
    }
    const signal = AbortSignal.timeout(10_000);
    while (received < 2) await once(arrivals, 'request', { signal });

    const refused = await fetch(`${edge}/api/v1/todos`);
    t.equal(refused.status, 503, 'answered while both large responses are still on their way');
    t.equal(refused.headers.get('retry-after'), '1');
    t.match(await refused.json(), { error: /^todo-read is at capacity/ });
    t.equal(received, 2, 'the refused request never reached the replica');
  },
);

t.test('a replica with every connection busy is passed over for one with a free connection', async (t) => {
  const busy = await holdingUpstream(t);
  const free = await echoUpstream(t, 'free');
  const edge = await startEdge(t, {
    upstreams: { 'todo-read': [busy.url, free], 'todo-write': [free] },
    // Room in the busy one's queue: the request must not wait there while the other is free.
    queue: { connections: 1, minQueueLimit: 10, maxQueueWaitMs: 30_000 },
  });
  // Round robin: the first read goes to `busy` and stays there.
  const held = fetch(`${edge}/api/v1/todos`);
  await busy.holding(1);
  for (let i = 0; i < 2; i += 1) {
    const response = await fetch(`${edge}/api/v1/todos`);
    t.equal(response.status, 200);
    t.equal(((await response.json()) as Echo).replica, 'free', `read ${i + 1} served by the replica with room`);
  }
  busy.releaseAll();
  t.equal((await held).status, 200);
});

t.test(
  'writes a stats line every STATS_INTERVAL_MS: requests, latency, 5xx, its own 503s, upstream errors, the process',
  async (t) => {
    const lines: Array<Record<string, unknown>> = [];
    const logged = new EventEmitter();
    const destination = {
      write(line: string) {
        lines.push(JSON.parse(line) as Record<string, unknown>);
        logged.emit('line');
      },
    };
    const stats = () => lines.filter((line) => line.msg === 'stats');
    const counted = () => stats().reduce((sum, line) => sum + (line.requests as number), 0);
    const replica = await holdingUpstream(t);
    const edge = await startEdge(t, {
      upstreams: { 'todo-read': [replica.url], 'todo-write': [await deadUpstream()] },
      // No queue: a read while the one connection is busy is shed at once.
      queue: { connections: 1, minQueueLimit: 0 },
      logging: { level: 'info', destination },
      statsIntervalMs: 50,
    });

    const served = fetch(`${edge}/api/v1/todos`);
    await replica.holding(1);
    t.equal((await fetch(`${edge}/api/v1/todos`)).status, 503, 'shed');
    t.equal((await fetch(`${edge}/api/v1/todos`, { method: 'POST' })).status, 502, 'no replica answered');
    replica.releaseAll();
    t.equal((await served).status, 200);
    const signal = AbortSignal.timeout(5_000);
    while (counted() < 3) await once(logged, 'line', { signal });

    const fields = [
      'interval_ms',
      'requests',
      'rps',
      'p50_ms',
      'p95_ms',
      'p99_ms',
      'status_5xx',
      'shed',
      'upstream_errors',
      'event_loop_delay_p99_ms',
      'rss_mb',
      'cpu_ms',
    ];
    for (const line of stats()) {
      t.same(
        Object.keys(line).filter((key) => !['level', 'time', 'service', 'hostname', 'msg'].includes(key)),
        fields,
        'its fields, no cache or database ones',
      );
      t.ok(
        fields.every((key) => typeof line[key] === 'number'),
        'all numeric',
      );
      t.equal(line.service, 'edge');
    }
    const total = (field: string) => stats().reduce((sum, line) => sum + (line[field] as number), 0);
    t.same(
      {
        requests: total('requests'),
        status_5xx: total('status_5xx'),
        shed: total('shed'),
        upstream_errors: total('upstream_errors'),
      },
      { requests: 3, status_5xx: 2, shed: 1, upstream_errors: 1 },
    );
  },
);

t.test(
  'connections past EDGE_MAX_CONNECTIONS are closed as they are accepted; those within it are served',
  async (t) => {
    const edge = await startEdge(t, {
      upstreams: { 'todo-read': [await echoUpstream(t, 'read-1')], 'todo-write': [await echoUpstream(t, 'write-1')] },
      limits: { maxConnections: 2 },
    });
    const open = () => openConnection(t, edge);
    const held = [await open(), await open()];
    const extra = await open();
    const signal = AbortSignal.timeout(5_000);
    await once(extra, 'close', { signal });
    t.pass('the third connection was closed');
    const answer = once(held[0]!, 'data', { signal });
    held[0]!.write('GET /api/v1/todos HTTP/1.1\r\nHost: test\r\n\r\n');
    t.match(String((await answer)[0]), /^HTTP\/1\.1 200 /, 'a connection within the cap is served');
  },
);

t.test(
  'a burst while every queue refuses: new connections are answered 503 as they are accepted, before any request',
  async (t) => {
    const busy = await holdingUpstream(t);
    const edge = await startEdge(t, {
      upstreams: { 'todo-read': [busy.url], 'todo-write': [busy.url] },
      queue: { connections: 1, minQueueLimit: 0 },
    });
    const open = () => openConnection(t, edge);
    const held = fetch(`${edge}/api/v1/todos`);
    await busy.holding(1);
    // More connections than twice the replicas' (2 replicas × 1): a burst.
    for (let i = 0; i < 4; i += 1) await open();
    // The mark lasts 100 ms after the last such refusal: on a busy machine the next accept may
    // come later, so refuse again and retry, a bounded number of times.
    let first: string | undefined;
    for (let attempt = 0; attempt < 10 && first === undefined; attempt += 1) {
      const refused = await fetch(`${edge}/api/v1/todos`);
      t.equal(refused.status, 503, 'a request past the full queue is refused, which marks the edge saturated');
      await refused.arrayBuffer();
      const late = await open();
      const data = once(late, 'data').then(([chunk]) => String(chunk));
      first = await Promise.race([
        data,
        new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 500)),
      ]);
    }
    t.match(
      first,
      /^HTTP\/1\.1 503 [^]*retry-after: 1\r\n[^]*"error":"the replicas are at capacity: retry after 1 s"/,
      'answered without sending a byte',
    );
    busy.releaseAll();
    t.equal((await held).status, 200);
  },
);
