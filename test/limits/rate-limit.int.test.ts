/**
 * Optional rate limiting (RATE_LIMIT_MAX_REQUESTS), against the real split stack through the
 * stand-in: the budget is per client and shared by all replicas of a service (counters in
 * Redis), a client cannot escape it by writing its own X-Forwarded-For, the health check is
 * never limited, and a Redis outage lets requests through instead of failing them.
 *
 * Clients are told apart by source address: each "client" here binds its own loopback
 * address (127.0.0.2, 127.0.0.3), which the stand-in puts into X-Forwarded-For as the ALB would.
 */
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { startRedisServer } from '@taskoverflow/stack';
import { startTestStack } from '@taskoverflow/stack/testing';
import t from 'tap';

const LIMIT = 6;

const redis = await startRedisServer();
t.teardown(() => redis.stop());
const stack = await startTestStack(t, {
  redisUrl: redis.url,
  readReplicas: 2,
  serviceEnv: { RATE_LIMIT_MAX_REQUESTS: String(LIMIT), RATE_LIMIT_WINDOW_S: '300' },
});
const edge = new URL(stack.url);

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: { error?: string } & Record<string, unknown>;
}

/** One request through the stand-in, sent from the loopback address `client`. */
function send(
  client: string,
  method: string,
  path: string,
  options: { body?: unknown; headers?: Record<string, string> } = {},
) {
  const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
  return new Promise<Answer>((resolve, reject) => {
    const req = httpRequest(
      {
        host: edge.hostname,
        port: edge.port,
        localAddress: client,
        method,
        path,
        agent: false,
        timeout: 10_000,
        headers: { ...options.headers, ...(payload && { 'content-type': 'application/json' }) },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text ? JSON.parse(text) : {} }),
        );
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${path} from ${client}: no answer within 10 s`)));
    req.on('error', reject);
    req.end(payload);
  });
}

t.test('a client gets its budget across both read replicas, then 429 with Retry-After', async (t) => {
  const client = '127.0.0.2';
  const remaining: number[] = [];
  for (let i = 0; i < LIMIT; i += 1) {
    const answer = await send(client, 'GET', '/api/v1/todos');
    t.equal(answer.status, 200, `request ${i + 1} of ${LIMIT} is served`);
    remaining.push(Number(answer.headers['x-ratelimit-remaining']));
  }
  // The stand-in alternates between the replicas; counted per replica this would be 5,5,4,4,…
  t.same(remaining, [5, 4, 3, 2, 1, 0], 'one budget, counted down across both replicas');

  const refused = await send(client, 'GET', '/api/v1/todos/1');
  t.equal(refused.status, 429, 'over the limit: 429');
  t.match(refused.body, { error: /rate limit exceeded: at most 6 requests per 300 s/ }, 'a JSON error that says why');
  t.match(
    refused.headers['retry-after'],
    /^[1-9][0-9]*$/,
    `Retry-After in seconds (${refused.headers['retry-after']})`,
  );
  t.ok(refused.headers['x-request-id'], 'with its x-request-id');

  const spoofed = await send(client, 'GET', '/api/v1/todos', { headers: { 'x-forwarded-for': '198.51.100.23' } });
  t.equal(spoofed.status, 429, 'an X-Forwarded-For the client wrote itself does not reset its budget');

  const health = await send(client, 'GET', '/api/v1/health');
  t.same([health.status, health.body], [200, { status: 'ok' }], 'the health check is never limited');
});

t.test('each client and each service has its own budget', async (t) => {
  const other = await send('127.0.0.3', 'GET', '/api/v1/todos');
  t.equal(other.status, 200, 'another client is served');
  t.equal(other.headers['x-ratelimit-remaining'], String(LIMIT - 1), 'from a full budget');

  const write = await send('127.0.0.2', 'POST', '/api/v1/todos', {
    body: { title: 'written by a client its reads exhausted' },
  });
  t.equal(write.status, 201, 'todo-write counts separately from todo-read');
});

t.test('with Redis gone, requests are let through rather than refused', async (t) => {
  await redis.stop();
  const answers = [];
  for (let i = 0; i < LIMIT + 2; i += 1) answers.push((await send('127.0.0.4', 'GET', '/api/v1/todos')).status);
  t.same(answers, Array(LIMIT + 2).fill(200), `all ${LIMIT + 2} reads served from PostgreSQL, none limited or failed`);
  const limitedBefore = await send('127.0.0.2', 'GET', '/api/v1/todos');
  t.equal(limitedBefore.status, 200, 'even a client that was over its limit: the limiter fails open');
});
