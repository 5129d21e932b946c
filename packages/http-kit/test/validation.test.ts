import t from 'tap';
import { createServiceApp } from '../src/index.js';
import { CreateTodoBody, ListTodosQuery, operationSchemas } from '@taskoverflow/domain';

/**
 * The app factory alone, with routes that echo what validation let through: checks the
 * contract's error wording and ordering without a database.
 */
async function buildEchoApp() {
  const app = createServiceApp({ service: 'todo-write', logLevel: 'silent' });
  app.post('/api/v1/todos', { schema: { body: CreateTodoBody } }, async (request, reply) =>
    reply.code(201).send(request.body),
  );
  app.get('/api/v1/todos', { schema: { querystring: ListTodosQuery } }, async (request) => request.query);
  await app.ready();
  return app;
}

t.test('body validation follows the contract', async (t) => {
  const app = await buildEchoApp();
  t.teardown(() => app.close());
  const post = async (payload: unknown, contentType = 'application/json') => {
    const response = await app.inject({
      method: 'POST',
      url: '/api/v1/todos',
      headers: { 'content-type': contentType },
      payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
    });
    return { status: response.statusCode, body: response.json<Record<string, unknown>>() };
  };

  t.same(await post({ title: 'x', priority: 1 }), { status: 400, body: { error: 'extra fields' } });
  t.same(
    await post({ priority: 1 }),
    { status: 400, body: { error: 'extra fields' } },
    'extra fields before missing title',
  );
  t.same(await post({ description: 'd' }), { status: 400, body: { error: 'missing title' } });
  t.same(await post([]), { status: 400, body: { error: 'body must be a JSON object' } });
  t.same(await post('null'), { status: 400, body: { error: 'body must be a JSON object' } });
  t.same(await post('"text"'), { status: 400, body: { error: 'body must be a JSON object' } });
  t.match(await post('{"title":'), { status: 400, body: { error: /^malformed JSON/ } });
  t.match(await post('{"title":"a"}', 'text/plain'), { status: 415, body: { error: /application\/json/ } });
  t.match(await post({ title: 5 }), { status: 400, body: { error: /^title must be a string/ } });
  t.match(await post({ title: null }), { status: 400, body: { error: /^title must be a string/ } });
  t.match(await post({ title: 'x'.repeat(81) }), { status: 400, body: { error: /at most 80/ } });
  t.match(await post({ title: 'a\u0000b' }), { status: 400, body: { error: /NUL/ } });
  t.match(await post({ title: 'x', completed: 'true' }), { status: 400, body: { error: /completed/ } });
  t.match(await post({ title: 'x', description: 'd'.repeat(121) }), { status: 400, body: { error: /at most 120/ } });
  t.match(await post({ title: 'x', deadline_at: '2025-02-30' }), {
    status: 400,
    body: { error: /^deadline_at must be an ISO 8601/ },
  });
  t.match(await post({ title: 'x', deadline_at: 5 }), { status: 400, body: { error: /^deadline_at/ } });
  t.match(await post('{"title":"x","__proto__":{"a":1}}'), { status: 400 });

  t.same(
    await post({ title: 'x'.repeat(80), description: null, deadline_at: null, completed: true }),
    {
      status: 201,
      body: { title: 'x'.repeat(80), description: null, deadline_at: null, completed: true },
    },
    'valid input passes through unchanged (nothing coerced or removed)',
  );
  t.same(await post({ title: 'ünïcødé 🚀', deadline_at: '2025-09-05T15:00:00+10:00' }), {
    status: 201,
    body: { title: 'ünïcødé 🚀', deadline_at: '2025-09-05T15:00:00+10:00' },
  });

  const tooLarge = await post({ title: 'x', description: 'y'.repeat(70_000) });
  t.equal(tooLarge.status, 413);
  t.match(tooLarge.body, { error: /too large/ });
});

t.test('query validation follows the contract', async (t) => {
  const app = await buildEchoApp();
  t.teardown(() => app.close());
  const get = async (query: string) => {
    const response = await app.inject({ method: 'GET', url: `/api/v1/todos${query}` });
    return { status: response.statusCode, body: response.json<Record<string, unknown>>() };
  };
  t.same(await get('?completed=true&window=-3&other=1'), {
    status: 200,
    body: { completed: 'true', window: '-3', other: '1' },
  });
  t.same(await get('?completed=yes'), { status: 400, body: { error: 'completed must be true or false' } });
  t.same(await get('?completed=true&completed=false'), {
    status: 400,
    body: { error: 'completed must be true or false' },
  });
  for (const window of ['abc', '1.5', '', '1000001', '--1', '1e3']) {
    t.match(
      await get(`?window=${window}`),
      { status: 400, body: { error: /^window must be a whole number of days/ } },
      window,
    );
  }
  t.equal((await get('?window=1000000')).status, 200);
});

t.test('unknown routes, wrong methods and misdirected requests', async (t) => {
  const app = createServiceApp({ service: 'todo-write', logLevel: 'silent' });
  app.post('/api/v1/todos', { schema: operationSchemas.createTodo }, async () => {});
  t.teardown(() => app.close());

  const notFound = await app.inject({ method: 'GET', url: '/nowhere' });
  t.equal(notFound.statusCode, 404);
  t.match(notFound.json(), { error: /Not found/ });
  t.ok(notFound.headers['x-request-id'], 'errors carry x-request-id');

  const patch = await app.inject({ method: 'PATCH', url: '/api/v1/todos/1' });
  t.equal(patch.statusCode, 405);
  t.equal(patch.headers.allow, 'GET, HEAD, PUT, DELETE');
  t.match(patch.json(), { error: /not allowed/ });

  // The answer does not depend on a body no route would read: Fastify's own body checks
  // (QUERY needs a Content-Type, JSON must parse) must not get there first.
  const bodies = [
    { method: 'QUERY', url: '/api/v1/todos', payload: '{}', status: 405, label: 'QUERY without Content-Type' },
    {
      method: 'QUERY',
      url: '/api/v1/todos/1',
      payload: '{',
      headers: { 'content-type': 'application/json' },
      status: 405,
      label: 'QUERY with malformed JSON',
    },
    {
      method: 'PATCH',
      url: '/api/v1/todos/1',
      payload: 'x=1',
      headers: { 'content-type': 'text/plain' },
      status: 405,
      label: 'PATCH as text/plain',
    },
    {
      method: 'DELETE',
      url: '/nowhere',
      payload: '{',
      headers: { 'content-type': 'application/json' },
      status: 404,
      label: 'DELETE with malformed JSON',
    },
  ] as const;
  for (const { label, status, ...request } of bodies) {
    const response = await app.inject({ ...request, method: request.method as 'POST' });
    t.equal(response.statusCode, status, `${label} → ${status}`);
    t.match(response.json(), { error: status === 405 ? /not allowed/ : /Not found/ }, `${label}: the contract's error`);
    if (status === 405) t.ok(response.headers.allow, `${label}: Allow header`);
  }

  const misdirected = await app.inject({ method: 'GET', url: '/api/v1/todos' });
  t.equal(misdirected.statusCode, 421);
  t.match(misdirected.json(), { error: /served by todo-read/ });

  const health = await app.inject({ method: 'GET', url: '/api/v1/health' });
  t.same([health.statusCode, health.json()], [200, { status: 'ok' }]);
});
