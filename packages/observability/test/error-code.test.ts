/**
 * A request answered with an error carries the error's code and its cause on its canonical
 * `request finished` line (so that the bottleneck report needs no second line to say why it
 * failed); a request answered without one carries neither.
 */
import createError from '@fastify/error';
import Fastify from 'fastify';
import { jsonLinesDestination } from '@taskoverflow/stack/testing';
import t from 'tap';
import { fastifyLogging, observabilityPlugin } from '../src/index.js';

/** The code packages/db gives "no database now"; its cause is pg's error. */
const Unavailable = createError<'TASKOVERFLOW_DATABASE_UNAVAILABLE', [options: { cause: unknown }]>(
  'TASKOVERFLOW_DATABASE_UNAVAILABLE',
  'database unavailable, retry shortly',
  503,
);

t.test('the canonical line names a failed request’s error code and cause, and nothing on success', async (t) => {
  const { lines, destination } = jsonLinesDestination();
  const app = Fastify(fastifyLogging({ service: 'todo-write', hostname: 'test', level: 'info', destination }));
  await app.register(observabilityPlugin, {});
  app.get('/timeout', async () => {
    throw new Unavailable({ cause: new Error('Query read timeout') });
  });
  app.get('/refused', async () => {
    throw new Unavailable({
      cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }),
    });
  });
  app.get('/ok', async () => ({ ok: true }));
  app.setErrorHandler((error: Error & { statusCode?: number }, _request, reply) =>
    reply.code(error.statusCode ?? 500).send({ error: 'x' }),
  );
  t.teardown(() => app.close());

  for (const [path, status] of [
    ['/timeout', 503],
    ['/refused', 503],
    ['/ok', 200],
  ] as const) {
    const response = await app.inject({ method: 'GET', url: path });
    t.equal(response.statusCode, status, path);
  }
  const finished = (url: string) => lines.find((line) => line.msg === 'request finished' && line.url === url);
  t.match(finished('/timeout'), {
    status: 503,
    error_code: 'TASKOVERFLOW_DATABASE_UNAVAILABLE',
    error_cause: 'Query read timeout',
  });
  t.match(finished('/refused'), {
    status: 503,
    error_code: 'TASKOVERFLOW_DATABASE_UNAVAILABLE',
    error_cause: 'ECONNREFUSED',
  });
  const ok = finished('/ok');
  t.equal(ok?.status, 200);
  t.notOk('error_code' in ok! || 'error_cause' in ok!, 'a success carries neither field');
});
