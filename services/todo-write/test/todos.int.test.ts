import { buildTestApp } from '@taskoverflow/stack/testing';
import t from 'tap';
import { buildTodoWriteApp, loadConfig } from '../src/app.js';

const WIRE_TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{6})?$/;

const { app, pool } = await buildTestApp(t, (env) => buildTodoWriteApp(loadConfig(env)));

async function send(method: string, url: string, payload?: unknown) {
  const response = await app.inject({
    method: method as 'POST',
    url,
    ...(payload !== undefined && { headers: { 'content-type': 'application/json' }, payload: JSON.stringify(payload) }),
  });
  return { status: response.statusCode, body: response.json() };
}

/** Every row, as PostgreSQL holds it: what a rejected request must leave untouched. */
async function snapshot(): Promise<unknown[]> {
  return (await pool.query('select * from todos order by id')).rows;
}

t.test('POST creates a todo and answers 201 with the wire format', async (t) => {
  const { status, body } = await send('POST', '/api/v1/todos', {
    title: 'CSSE6400 Clout Assignment',
    completed: false,
    description: '',
    deadline_at: '2025-09-06T01:00:00+10:00',
  });
  t.equal(status, 201);
  t.same(Object.keys(body).sort(), [
    'completed',
    'created_at',
    'deadline_at',
    'description',
    'id',
    'title',
    'updated_at',
  ]);
  t.match(body, {
    title: 'CSSE6400 Clout Assignment',
    completed: false,
    description: '',
    deadline_at: '2025-09-05T15:00:00',
  });
  t.match(body.created_at, WIRE_TIMESTAMP);
  t.equal(body.updated_at, body.created_at, 'a new todo was last updated when it was created');
  const row = (await pool.query('select title, deadline_at::text from todos where id = $1', [body.id])).rows[0];
  t.same(
    row,
    { title: 'CSSE6400 Clout Assignment', deadline_at: '2025-09-05 15:00:00' },
    'stored in PostgreSQL as naive UTC',
  );

  const minimal = await send('POST', '/api/v1/todos', { title: 'defaults' });
  t.match(minimal, {
    status: 201,
    body: { title: 'defaults', completed: false, description: null, deadline_at: null },
  });
});

t.test('PUT updates only the fields it is given', async (t) => {
  const created = (
    await send('POST', '/api/v1/todos', { title: 'before', description: 'keep me', deadline_at: '2030-01-01' })
  ).body;
  const renamed = await send('PUT', `/api/v1/todos/${created.id}`, { title: 'after', completed: true });
  t.equal(renamed.status, 200);
  t.match(renamed.body, {
    id: created.id,
    title: 'after',
    completed: true,
    description: 'keep me',
    deadline_at: '2030-01-01T00:00:00',
  });
  t.equal(renamed.body.created_at, created.created_at);
  t.ok(renamed.body.updated_at > created.updated_at, 'updated_at moves forward');

  const cleared = await send('PUT', `/api/v1/todos/${created.id}`, { deadline_at: null, description: null });
  t.match(cleared.body, { title: 'after', deadline_at: null, description: null });

  t.same(await send('PUT', '/api/v1/todos/2147483647', { title: 'x' }), {
    status: 404,
    body: { error: 'Todo not found' },
  });
  t.same(await send('PUT', '/api/v1/todos/abc', { title: 'x' }), { status: 404, body: { error: 'Todo not found' } });
  t.same(
    await send('PUT', '/api/v1/todos/2147483647', { title: 'x', colour: 'red' }),
    { status: 400, body: { error: 'extra fields' } },
    'extra fields are checked before existence',
  );
});

t.test('DELETE answers the deleted todo, then 404', async (t) => {
  const created = (await send('POST', '/api/v1/todos', { title: 'short-lived' })).body;
  t.same(await send('DELETE', `/api/v1/todos/${created.id}`), { status: 200, body: created });
  t.same(await send('DELETE', `/api/v1/todos/${created.id}`), { status: 404, body: { error: 'Todo not found' } });
  t.same(await send('DELETE', '/api/v1/todos/-1'), { status: 404, body: { error: 'Todo not found' } });
  t.equal((await pool.query('select 1 from todos where id = $1', [created.id])).rowCount, 0);
});

t.test('rejected requests change nothing', async (t) => {
  const existing = (await send('POST', '/api/v1/todos', { title: 'untouched' })).body;
  const before = await snapshot();
  const rejected: Array<[string, string, unknown]> = [
    ['POST', '/api/v1/todos', { title: 'x', extra: true }],
    ['POST', '/api/v1/todos', { description: 'no title' }],
    ['POST', '/api/v1/todos', { title: 'x'.repeat(81) }],
    ['POST', '/api/v1/todos', { title: 'nul\u0000' }],
    ['POST', '/api/v1/todos', { title: 'x', deadline_at: '2025-02-30' }],
    ['POST', '/api/v1/todos', { title: 'x', deadline_at: '0001-01-01T00:00:00+01:00' }],
    ['PUT', `/api/v1/todos/${existing.id}`, { title: null }],
    ['PUT', `/api/v1/todos/${existing.id}`, { completed: 'yes' }],
    ['PUT', `/api/v1/todos/${existing.id}`, { title: 'y', extra: 1 }],
    ['PUT', `/api/v1/todos/${existing.id}`, [1, 2]],
  ];
  for (const [method, url, payload] of rejected) {
    const { status, body } = await send(method, url, payload);
    t.equal(status, 400, `${method} ${JSON.stringify(payload)}`);
    t.type(body.error, 'string');
  }
  t.same(await snapshot(), before);
});

t.test('SQL-looking and unicode input is stored verbatim', async (t) => {
  const title = "'); drop table todos; -- ✓ 日本語 🚀";
  const { status, body } = await send('POST', '/api/v1/todos', { title, description: '%_\\' });
  t.equal(status, 201);
  t.match(body, { title, description: '%_\\' });
  t.equal((await pool.query('select count(*)::int as n from todos')).rows[0].n > 0, true);
});

t.test('an unreachable database is a 503 with Retry-After, not a 500', async (t) => {
  // Port 1 on loopback refuses connections: a real, immediate connection failure.
  const offline = await buildTodoWriteApp(
    loadConfig({ DATABASE_URL: 'postgres://nobody:secret@127.0.0.1:1/none', LOG_LEVEL: 'silent' }),
  );
  t.teardown(() => offline.close());
  const response = await offline.inject({
    method: 'POST',
    url: '/api/v1/todos',
    headers: { 'content-type': 'application/json' },
    payload: '{"title":"lost?"}',
  });
  t.equal(response.statusCode, 503);
  t.equal(response.headers['retry-after'], '1');
  t.match(response.json(), { error: /database unavailable/ });
});

t.test('Idempotency-Key: retries return the first result and create nothing more', async (t) => {
  const post = async (key: string, payload: unknown) => {
    const response = await app.inject({
      method: 'POST',
      url: '/api/v1/todos',
      headers: { 'content-type': 'application/json', 'idempotency-key': key },
      payload: JSON.stringify(payload),
    });
    return { status: response.statusCode, body: response.json(), replayed: response.headers['idempotent-replayed'] };
  };
  const countTitled = async (title: string) =>
    (await pool.query('select count(*)::int as n from todos where title = $1', [title])).rows[0].n as number;

  const first = await post('retry-key-1', { title: 'exactly once', completed: false });
  t.equal(first.status, 201);
  t.equal(first.replayed, undefined);
  const retry = await post('retry-key-1', { completed: false, title: 'exactly once' });
  t.same(
    retry,
    { status: 201, body: first.body, replayed: 'true' },
    'same key, same body (any key order): the first response',
  );
  t.equal(await countTitled('exactly once'), 1);

  t.same(await post('retry-key-1', { title: 'something else' }), {
    status: 422,
    body: { error: 'Idempotency-Key was already used with a different request body' },
    replayed: undefined,
  });
  t.equal(await countTitled('something else'), 0, 'a reused key creates nothing');

  const concurrent = await Promise.all(Array.from({ length: 12 }, () => post('retry-key-2', { title: 'raced' })));
  t.equal(new Set(concurrent.map((r) => r.body.id)).size, 1, '12 concurrent retries agree on one todo');
  t.ok(concurrent.every((r) => r.status === 201));
  t.equal(concurrent.filter((r) => r.replayed === undefined).length, 1, 'exactly one of them created it');
  t.equal(await countTitled('raced'), 1);

  for (const bad of ['', 'x'.repeat(256), 'has space', 'ünï']) {
    const response = await app.inject({
      method: 'POST',
      url: '/api/v1/todos',
      headers: { 'content-type': 'application/json', 'idempotency-key': bad },
      payload: '{"title":"bad key"}',
    });
    t.equal(response.statusCode, 400, JSON.stringify(bad).slice(0, 20));
    t.match(response.json(), { error: /Idempotency-Key must be/ });
  }
  t.equal(await countTitled('bad key'), 0);

  await post('no-key-a', { title: 'twice without a key' });
  await send('POST', '/api/v1/todos', { title: 'twice without a key' });
  await send('POST', '/api/v1/todos', { title: 'twice without a key' });
  t.equal(await countTitled('twice without a key'), 3, 'without a key every POST creates');
});
