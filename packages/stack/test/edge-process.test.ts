/**
 * The edge as `pnpm start` runs it, with each balancer: the Node edge's compiled entry in a
 * child process (replicas registered over its IPC channel) and HAProxy (over its runtime API).
 */
import { once } from 'node:events';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { parseLogRecord } from '@taskoverflow/observability/log-schema';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { BALANCER_KINDS, startBalancer, type BalancerKind } from '../src/balancer.js';
import type { EdgeProcess } from '../src/edge-process.js';
import { startUpstream, waitUntil } from '../src/testing.js';

/** A replica that answers every request with its name. */
function namedUpstream(t: Test, name: string): Promise<string> {
  return startUpstream(t, (_request, response) => response.end(JSON.stringify({ replica: name })));
}

async function startEdge(
  t: Test,
  kind: BalancerKind,
  upstreams: { read: string[]; write: string[] },
  port = 0,
): Promise<EdgeProcess> {
  const edge = await startBalancer({
    kind,
    host: '127.0.0.1',
    port,
    upstreams: { 'todo-read': upstreams.read, 'todo-write': upstreams.write },
    env: { LOG_LEVEL: 'warn' },
    onLine: (line) => t.comment(`edge: ${line}`),
  });
  t.teardown(() => edge.stop());
  return edge;
}

/** Which replicas served `count` reads in a row. */
async function readers(url: string, count: number): Promise<string[]> {
  const names = [];
  for (let i = 0; i < count; i += 1)
    names.push(((await (await fetch(`${url}/api/v1/todos`)).json()) as { replica: string }).replica);
  return names;
}

/** A replica that answers with its name, what it was asked and the headers the edge set. */
function echoUpstream(t: Test, name: string): Promise<string> {
  return startUpstream(t, (request, response) =>
    response.end(
      JSON.stringify({
        replica: name,
        method: request.method,
        url: request.url,
        requestId: request.headers['x-request-id'],
        forwardedFor: request.headers['x-forwarded-for'],
      }),
    ),
  );
}

for (const kind of BALANCER_KINDS) {
  t.test(
    `${kind}: routes by the routing table, tags each request, answers its own errors in JSON, logs the edge's lines`,
    async (t) => {
      const logDir = await mkdtemp(join(tmpdir(), 'edge-process-test-'));
      t.teardown(() => rm(logDir, { recursive: true, force: true }));
      const logFile = join(logDir, 'edge.log');
      const read = await echoUpstream(t, 'read');
      const write = await echoUpstream(t, 'write');
      const edge = await startBalancer({
        kind,
        host: '127.0.0.1',
        port: 0,
        upstreams: { 'todo-read': [read], 'todo-write': [write] },
        env: { LOG_FILE: logFile, STATS_INTERVAL_MS: '200' },
        onLine: (line) => t.comment(`edge: ${line}`),
      });
      t.teardown(() => edge.stop());
      const ask = async (method: string, path: string, headers: Record<string, string> = {}) => {
        const response = await fetch(`${edge.url}${path}`, { method, headers });
        return { response, body: (await response.json()) as Record<string, string> };
      };

      for (const [method, path, replica] of [
        ['GET', '/api/v1/todos?completed=true', 'read'],
        ['POST', '/api/v1/todos', 'write'],
        ['DELETE', '/api/v1/todos/7', 'write'],
        ['GET', '/assets/app.js', 'read'],
        ['PATCH', '/api/v1/todos/7', 'read'],
      ] as const) {
        const { body } = await ask(method, path);
        t.same([body.replica, body.method, body.url], [replica, method, path], `${method} ${path} → ${replica}`);
      }
      const kept = await ask('GET', '/api/v1/todos', { 'x-request-id': 'trace-1.a:b' });
      t.equal(kept.body.requestId, 'trace-1.a:b', 'a well-formed x-request-id is passed on');
      t.equal(kept.response.headers.get('x-request-id'), 'trace-1.a:b', 'and returned');
      const replaced = await ask('GET', '/api/v1/todos', { 'x-request-id': 'no spaces "or quotes"' });
      t.match(replaced.body.requestId, /^[0-9a-f-]{36}$/, 'a hostile one is replaced by a UUID');
      t.equal(replaced.body.forwardedFor, '127.0.0.1', 'X-Forwarded-For names the client');

      // fetch sets Host itself: node:http sends the one given.
      const foreign = await new Promise<{ status?: number; body: string }>((resolve, reject) => {
        request(`${edge.url}/api/v1/todos`, { headers: { host: 'rebound.example' } }, (response) => {
          let body = '';
          response.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
          response.on('end', () => resolve({ status: response.statusCode, body }));
        })
          .on('error', reject)
          .end();
      });
      t.equal(foreign.status, 421);
      t.match(foreign.body, /^\{"error":"this edge serves only the Host names /, 'a Host it does not serve: 421 JSON');

      await edge.deregister('todo-write', write);
      const unavailable = await ask('POST', '/api/v1/todos');
      t.equal(unavailable.response.status, 502, 'no todo-write replica: 502');
      t.match(unavailable.body.error, /^todo-write is unavailable/, 'naming the service');

      const finished = await waitUntil(
        'the request lines and a stats line in the edge log',
        async () => {
          const entries = await edgeLogLines(logFile);
          const requests = entries.filter((entry) => entry.msg === 'request finished');
          return requests.length >= 9 && entries.some((entry) => entry.msg === 'stats') ? entries : undefined;
        },
        10_000,
        100,
      );
      const line = finished.find((entry) => entry.request_id === 'trace-1.a:b')!;
      t.match(
        line,
        { level: 'info', service: 'edge', method: 'GET', url: '/api/v1/todos', status: 200, upstream: read },
        'a request line in the edge schema, with the replica that answered',
      );
      t.type(line.duration_ms, 'number');
      t.type(line.bytes, 'number');
      const refused = finished.find((entry) => entry.status === 421)!;
      t.equal(refused.upstream, undefined, 'an answer the edge gave itself names no replica');
      const stats = finished.find((entry) => entry.msg === 'stats')!;
      t.ok((stats.rss_mb as number) > 0, `the stats line has the balancer's own RSS (${String(stats.rss_mb)} MB)`);
      t.type(stats.cpu_ms, 'number');
    },
  );

  t.test(
    `${kind}: replicas are registered and deregistered in the running edge over its control channel`,
    async (t) => {
      const first = await namedUpstream(t, 'first');
      const second = await namedUpstream(t, 'second');
      const edge = await startEdge(t, kind, { read: [first], write: [first] });
      t.match(edge.url, /^http:\/\/127\.0\.0\.1:\d+$/);
      t.same(await readers(edge.url, 2), ['first', 'first']);

      await edge.register('todo-read', second);
      t.same(
        new Set(await readers(edge.url, 2)),
        new Set(['first', 'second']),
        'the registered replica takes its turn',
      );

      await edge.deregister('todo-read', first);
      t.same(await readers(edge.url, 3), ['second', 'second', 'second'], 'the deregistered one gets nothing');

      await t.rejects(edge.register('todo-nothing' as 'todo-read', second), {
        code: 'TASKOVERFLOW_EDGE_CONTROL_FAILED',
        message: /^the edge refused: no target group for "todo-nothing"/,
      });

      await edge.stop();
      await t.rejects(fetch(`${edge.url}/api/v1/todos`), 'stopped, it no longer listens');
    },
  );

  t.test(`${kind}: a burst beyond what the queue admits is refused at once, 503 JSON with Retry-After`, async (t) => {
    const logDir = await mkdtemp(join(tmpdir(), 'edge-process-test-'));
    t.teardown(() => rm(logDir, { recursive: true, force: true }));
    const logFile = join(logDir, 'edge.log');
    // One replica taking 2 at a time, 200 ms each: 8 may wait before any has completed.
    const slow = await startUpstream(t, (_request, response) => {
      setTimeout(() => response.end('{}'), 200);
    });
    const edge = await startBalancer({
      kind,
      host: '127.0.0.1',
      port: 0,
      upstreams: { 'todo-read': [slow], 'todo-write': [slow] },
      env: { LOG_FILE: logFile, EDGE_REPLICA_CONNECTIONS: '2', EDGE_MAX_QUEUE_WAIT_MS: '5000' },
      onLine: (line) => t.comment(`edge: ${line}`),
    });
    t.teardown(() => edge.stop());
    const answers = await Promise.all(
      Array.from({ length: 40 }, async () => {
        const response = await fetch(`${edge.url}/api/v1/todos`);
        return {
          status: response.status,
          retryAfter: response.headers.get('retry-after'),
          body: await response.text(),
        };
      }),
    );
    const refused = answers.filter((answer) => answer.status === 503);
    t.ok(refused.length >= 20, `most of the 40 refused (${refused.length}), not queued for 5 s`);
    t.equal(
      answers.length - refused.length,
      answers.filter((answer) => answer.status === 200).length,
      'the rest served',
    );
    for (const answer of refused) {
      t.equal(answer.retryAfter, '1');
      // The queue's refusal, or the Node edge's at accept while every queue refuses (SATURATION_HOLD_MS).
      t.match(
        answer.body,
        /^\{"error":"(todo-read is at capacity: every todo-read replica has more requests waiting than it serves in 5000 ms;|the replicas are at capacity:) retry after 1 s"\}$/,
      );
    }
    const served = answers.length - refused.length;
    const lines = await waitUntil(
      `the ${served} served requests' lines in the edge log`,
      async () => {
        const entries = (await edgeLogLines(logFile)).filter((entry) => entry.msg === 'request finished');
        return entries.filter((entry) => entry.status === 200).length >= served ? entries : undefined;
      },
      10_000,
      100,
    );
    t.ok(
      lines.filter((line) => line.status === 503).every((line) => line.upstream === undefined),
      'each refusal logged as the edge’s own answer (no replica), as the report counts them',
    );
  });

  t.test(`${kind}: without a LOG_FILE (every-line mode) each request line reaches the console`, async (t) => {
    const lines: string[] = [];
    const edge = await startBalancer({
      kind,
      host: '127.0.0.1',
      port: 0,
      upstreams: { 'todo-read': [await namedUpstream(t, 'r1')], 'todo-write': [await namedUpstream(t, 'w1')] },
      env: { LOG_LEVEL: 'info' },
      onLine: (line) => lines.push(line),
    });
    t.teardown(() => edge.stop());
    await fetch(`${edge.url}/api/v1/todos`, { headers: { 'x-request-id': 'every-line-1' } });
    const line = await waitUntil(
      'the request line on the console',
      async () => lines.map((text) => parseLogRecord(text)).find((record) => record?.request_id === 'every-line-1'),
      10_000,
      20,
    );
    t.match(line, { service: 'edge', msg: 'request finished', status: 200, method: 'GET', url: '/api/v1/todos' });
    t.match(line.upstream, /^http:\/\/127\.0\.0\.1:\d+$/, 'the replica that answered');
  });

  t.test(`${kind}: a taken port fails the start with PortInUseError, naming the port`, async (t) => {
    const taken = createServer().listen(0, '127.0.0.1');
    await once(taken, 'listening');
    t.teardown(() => taken.close());
    const upstream = await namedUpstream(t, 'any');
    const { port } = taken.address() as AddressInfo;
    await t.rejects(startEdge(t, kind, { read: [upstream], write: [upstream] }, port), {
      code: 'TASKOVERFLOW_PORT_IN_USE',
      message: `port ${port} on 127.0.0.1 is already in use: stop whatever listens there, or choose another port`,
    });
  });
}

/** The edge log's lines, read as `pnpm trace` reads them; a line that is not a JSON object fails the test. */
async function edgeLogLines(logFile: string): Promise<Array<Record<string, unknown>>> {
  return (await readFile(logFile, 'utf8').catch(() => ''))
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const record = parseLogRecord(line);
      if (!record) throw new Error(`not a JSON log line: ${line}`);
      return record;
    });
}
