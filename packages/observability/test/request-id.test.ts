/**
 * The correlation ID (issue 20): a client's x-request-id is kept only in a bounded, safe shape
 * (SAFE_REQUEST_ID: 1–64 of A-Z a-z 0-9 . _ : -), else the ALB trace Root, else a new UUID;
 * the response and the request's log line carry the same one. The edge applies the same
 * function (correlationId), so one rule holds at both.
 */
import Fastify from 'fastify';
import { jsonLinesDestination } from '@taskoverflow/stack/testing';
import t from 'tap';
import { fastifyLogging, observabilityPlugin } from '../src/index.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

t.test('x-request-id: kept when 1-64 safe characters, else the trace Root, else a new UUID', async (t) => {
  const { lines, destination } = jsonLinesDestination();
  const app = Fastify(fastifyLogging({ service: 'todo-read', hostname: 'test', level: 'info', destination }));
  await app.register(observabilityPlugin, {});
  app.get('/', async () => ({}));
  t.teardown(() => app.close());

  const idOf = async (headers: Record<string, string>) => {
    const response = await app.inject({ method: 'GET', url: '/', headers });
    const id = String(response.headers['x-request-id']);
    t.ok(
      lines.some((line) => line.msg === 'request finished' && line.request_id === id),
      `the log line carries ${id.slice(0, 20)}…`,
    );
    return id;
  };
  const longest = `${'a'.repeat(20)}.b_c:d-${'9'.repeat(37)}`;
  t.equal(longest.length, 64);
  t.equal(await idOf({ 'x-request-id': longest }), longest, '64 safe characters are kept');
  t.equal(
    await idOf({ 'x-request-id': '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' }),
    '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
  );
  for (const hostile of [
    `${longest}x`,
    'x'.repeat(10_000),
    'a b',
    'id"quoted"',
    'semi;colon',
    'slash/path',
    'percent%0a',
    '',
  ]) {
    t.match(
      await idOf({ 'x-request-id': hostile }),
      UUID,
      `"${hostile.slice(0, 20)}" (${hostile.length} characters) is replaced`,
    );
  }
  t.equal(
    await idOf({
      'x-request-id': 'x'.repeat(65),
      'x-amzn-trace-id': 'Root=1-67891233-abcdef012345678912345678;Sampled=1',
    }),
    '1-67891233-abcdef012345678912345678',
    "else the ALB trace id's Root",
  );
});
