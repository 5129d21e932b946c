/**
 * Contract: PUT /api/v1/todos/:id (partial updates, clearing, errors that change nothing) and
 * DELETE /api/v1/todos/:id.
 */
import t, { type Test } from 'tap';
import {
  assertError,
  assertEveryResponse,
  assertOversizedRejected,
  assertTodoShape,
  client,
  createTodo,
  micros,
  raw,
  sleep,
  unique,
  type Json,
} from '../helpers/api.js';
import { getTarget } from '../helpers/target.js';

const target = await getTarget(t);
const { api, connection, responses } = client(target.url);

const UNKNOWN_ID = 2147483646;

/** PUTs an update that must succeed; checks it against the expected todo and a fresh GET. */
async function update(t: Test, before: Json, body: unknown, changes: Record<string, unknown>): Promise<Json> {
  await sleep(5); // so that a new updated_at is distinguishable at microsecond precision
  const res = await api('PUT', `/api/v1/todos/${before.id}`, body);
  const label = `PUT ${JSON.stringify(body)}`;
  t.equal(res.status, 200, `${label}: 200 (${res.status === 200 ? 'ok' : res.text.slice(0, 200)})`);
  t.match(res.contentType, /^application\/json\b/, `${label}: JSON`);
  assertTodoShape(t, res.json, `${label}: updated todo`);
  const after: Json = res.json ?? {};
  const { updated_at: _u1, ...restAfter } = after;
  const { updated_at: _u2, ...restBefore } = before;
  t.strictSame(restAfter, { ...restBefore, ...changes }, `${label}: exactly ${JSON.stringify(changes)} changed`);
  t.equal(after.created_at, before.created_at, `${label}: created_at unchanged`);
  t.ok(
    micros(after.updated_at) > micros(before.updated_at),
    `${label}: updated_at moved forward (${before.updated_at} → ${after.updated_at})`,
  );
  const got = await api('GET', `/api/v1/todos/${before.id}`);
  t.strictSame(got.json, after, `${label}: GET returns the updated todo`);
  return after;
}


t.test('PUT: partial updates keep absent fields', async (t) => {
  let todo = await createTodo(t, api, {
    title: unique('put partial'),
    description: 'first description',
    completed: false,
    deadline_at: '2030-01-01T00:00:00',
  });
  todo = await update(t, todo, { completed: true }, { completed: true });
  todo = await update(t, todo, { completed: false }, { completed: false });
  todo = await update(t, todo, { completed: true }, { completed: true });
  const title = unique('put renamed');
  todo = await update(t, todo, { title }, { title });
  todo = await update(t, todo, { description: 'second description' }, { description: 'second description' });
  todo = await update(t, todo, { description: null }, { description: null });
  todo = await update(t, todo, { deadline_at: '2025-09-06T01:00:00+10:00' }, { deadline_at: '2025-09-05T15:00:00' });
  todo = await update(t, todo, { deadline_at: '2025-09-05T15:00:00Z' }, {});
  todo = await update(t, todo, { deadline_at: '2026-03-04' }, { deadline_at: '2026-03-04T00:00:00' });
  todo = await update(t, todo, { deadline_at: null }, { deadline_at: null });
  todo = await update(t, todo, { deadline_at: '2031-05-06T07:08:09' }, { deadline_at: '2031-05-06T07:08:09' });
  const all = { title: unique('put all'), description: 'all at once', completed: false, deadline_at: '2032-01-01T12:00:00' };
  todo = await update(t, todo, all, all);
  const boundary = { title: 'B'.repeat(80), description: 'b'.repeat(120) };
  todo = await update(t, todo, boundary, boundary);
});

t.test('PUT {} → 200, nothing but updated_at may change', async (t) => {
  const todo = await createTodo(t, api, { title: unique('put empty'), description: 'd', deadline_at: '2030-01-01' });
  const res = await api('PUT', `/api/v1/todos/${todo.id}`, {});
  t.equal(res.status, 200, 'status 200');
  const { updated_at: _a, ...after } = res.json ?? {};
  const { updated_at: _b, ...before } = todo;
  t.strictSame(after, before, 'every field but updated_at unchanged');
});

t.test('PUT errors: the right status, and the todo is unchanged', async (t) => {
  const todo = await createTodo(t, api, {
    title: unique('put errors'),
    description: 'unchanged',
    completed: false,
    deadline_at: '2030-06-07T08:09:10',
  });
  const path = `/api/v1/todos/${todo.id}`;
  const unchanged = async (label: string): Promise<void> => {
    const got = await api('GET', path);
    t.strictSame(got.json, todo, `${label}: todo unchanged`);
  };

  for (const body of [
    { foo: 1 },
    { title: 'new', foo: 1 },
    { id: todo.id + 1 },
    { created_at: '2020-01-01T00:00:00' },
    { updated_at: '2020-01-01T00:00:00' },
    { title: 5, foo: 1 },
    { title: 'x'.repeat(81), foo: 1 },
  ]) {
    const label = `PUT ${JSON.stringify(body).slice(0, 80)}`;
    assertError(t, await api('PUT', path, body), 400, 'extra fields', label);
    await unchanged(label);
  }

  const invalid: Array<[string, unknown]> = [
    ['null title', { title: null }],
    ['title of 81 chars', { title: 'x'.repeat(81) }],
    ['description of 121 chars', { description: 'd'.repeat(121) }],
    ['title is a number', { title: 5 }],
    ['completed is the string "true"', { completed: 'true' }],
    ['completed is 1', { completed: 1 }],
    ['completed is null', { completed: null }],
    ['description is a number', { description: 7 }],
    ['deadline_at "tomorrow"', { deadline_at: 'tomorrow' }],
    ['deadline_at "2025-13-01"', { deadline_at: '2025-13-01' }],
    ['deadline_at "2025-02-30"', { deadline_at: '2025-02-30' }],
    ['deadline_at is a number', { deadline_at: 1757084400 }],
    ['valid title but bad completed', { title: 'should not be applied', completed: 'yes' }],
    ['valid completed but bad deadline', { completed: true, deadline_at: 'tomorrow' }],
  ];
  for (const [label, body] of invalid) {
    assertError(t, await api('PUT', path, body), 400, undefined, `PUT ${label}`);
    await unchanged(`PUT ${label}`);
  }

  const bodies: Array<[string, string]> = [
    ['array', JSON.stringify([{ title: 'x' }])],
    ['string', '"x"'],
    ['null', 'null'],
    ['number', '5'],
    ['malformed JSON', '{"title": "x"'],
    ['empty body', ''],
  ];
  for (const [label, body] of bodies) {
    assertError(t, await api('PUT', path, raw(body)), 400, undefined, `PUT body ${label}`);
    await unchanged(`PUT body ${label}`);
  }

  assertError(t, await api('PUT', path, raw(JSON.stringify({ title: 'x' }), 'text/plain')), 415, undefined, 'PUT text/plain');
  await unchanged('PUT text/plain');
  const conn = connection();
  t.teardown(() => conn.close());
  const big = (bytes: number) => raw(JSON.stringify({ description: 'x'.repeat(bytes) }));
  await assertOversizedRejected(t, conn, 'PUT', path, big);
  await unchanged('PUT over the limit');
});

t.test('PUT: extra fields are checked before existence; unknown ids → 404', async (t) => {
  assertError(t, await api('PUT', `/api/v1/todos/${UNKNOWN_ID}`, { foo: 1 }), 400, 'extra fields', 'PUT extra field, unknown id');
  assertError(
    t,
    await api('PUT', `/api/v1/todos/${UNKNOWN_ID}`, { title: 'x', foo: 1 }),
    400,
    'extra fields',
    'PUT title + extra field, unknown id',
  );
  assertError(t, await api('PUT', `/api/v1/todos/${UNKNOWN_ID}`, { title: 'x' }), 404, 'Todo not found', 'PUT unknown id');
  assertError(t, await api('PUT', `/api/v1/todos/${UNKNOWN_ID}`, {}), 404, 'Todo not found', 'PUT {} unknown id');
  for (const id of ['abc', '1.5', '-1', '0', '99999999999999999999', '2147483648']) {
    assertError(t, await api('PUT', `/api/v1/todos/${id}`, { title: 'x' }), 404, undefined, `PUT /api/v1/todos/${id}`);
  }
});

t.test('DELETE: 200 with the deleted todo, then it is gone', async (t) => {
  const todo = await createTodo(t, api, {
    title: unique('delete me'),
    description: 'bye',
    completed: true,
    deadline_at: '2030-01-01T00:00:00',
  });
  const keep = await createTodo(t, api, { title: unique('keep me') });
  const path = `/api/v1/todos/${todo.id}`;

  const res = await api('DELETE', path);
  t.equal(res.status, 200, 'status 200');
  t.match(res.contentType, /^application\/json\b/, 'JSON content type');
  t.strictSame(res.json, todo, 'the body is the deleted todo');

  assertError(t, await api('GET', path), 404, 'Todo not found', 'GET after DELETE');
  assertError(t, await api('DELETE', path), 404, 'Todo not found', 'second DELETE');
  assertError(t, await api('PUT', path, { title: 'x' }), 404, 'Todo not found', 'PUT after DELETE');
  const list = await api('GET', '/api/v1/todos');
  const ids = (Array.isArray(list.json) ? list.json : []).map((x: Json) => x.id);
  t.notOk(ids.includes(todo.id), 'the list no longer has it');
  t.ok(ids.includes(keep.id), 'the list still has the other todo');
  t.strictSame((await api('GET', `/api/v1/todos/${keep.id}`)).json, keep, 'the other todo is untouched');
});

t.test('DELETE: unknown and malformed ids → 404', async (t) => {
  assertError(t, await api('DELETE', `/api/v1/todos/${UNKNOWN_ID}`), 404, 'Todo not found', 'DELETE unknown id');
  for (const id of ['abc', '1.5', '-1', '0', '99999999999999999999', '2147483648']) {
    assertError(t, await api('DELETE', `/api/v1/todos/${id}`), 404, undefined, `DELETE /api/v1/todos/${id}`);
  }
});

t.test('every response in this file: no 5xx, x-request-id, no stray HTML, JSON errors', async (t) => {
  assertEveryResponse(t, responses);
});
