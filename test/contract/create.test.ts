/**
 * Contract: POST /api/v1/todos — the created todo, its defaults and date handling, and every
 * way a create is rejected (each of which must change nothing).
 */
import t from 'tap';
import {
  assertError,
  assertEveryResponse,
  assertOversizedRejected,
  assertTodoShape,
  client,
  createTodo,
  micros,
  raw,
  unique,
  type Json,
} from '../helpers/api.js';
import { getTarget } from '../helpers/target.js';

const target = await getTarget(t);
const { api, connection, responses } = client(target.url);

t.test('201 with the exact todo shape and the defaults', async (t) => {
  const title = unique('create defaults');
  const before = Date.now();
  const res = await api('POST', '/api/v1/todos', { title });
  const after = Date.now();
  t.equal(res.status, 201, 'status 201');
  t.match(res.contentType, /^application\/json\b/, 'JSON content type');
  assertTodoShape(t, res.json);
  const todo: Json = res.json;
  t.equal(todo.title, title, 'title as sent');
  t.equal(todo.completed, false, 'completed defaults to false');
  t.equal(todo.description, null, 'description defaults to null');
  t.equal(todo.deadline_at, null, 'deadline_at defaults to null');
  // Timestamps are UTC: within a minute of this machine's clock read as UTC.
  const created = micros(todo.created_at) / 1000;
  t.ok(
    created >= before - 60_000 && created <= after + 60_000,
    `created_at ${todo.created_at} is now in UTC (client clock ${new Date(before).toISOString()})`,
  );

  const got = await api('GET', `/api/v1/todos/${todo.id}`);
  t.equal(got.status, 200, 'GET by id finds it');
  t.strictSame(got.json, todo, 'GET by id returns the same todo');
});

t.test('all fields given are stored as sent', async (t) => {
  const title = unique('create full');
  const todo = await createTodo(t, api, {
    title,
    description: 'some words',
    completed: true,
    deadline_at: '2025-09-05T15:00:00',
  });
  t.strictSame(
    { title: todo.title, description: todo.description, completed: todo.completed, deadline_at: todo.deadline_at },
    { title, description: 'some words', completed: true, deadline_at: '2025-09-05T15:00:00' },
    'title, description, completed, deadline_at',
  );
  const explicitNulls = await createTodo(t, api, { title: unique('nulls'), description: null, deadline_at: null, completed: false });
  t.equal(explicitNulls.description, null, 'explicit null description');
  t.equal(explicitNulls.deadline_at, null, 'explicit null deadline_at');
  t.equal(explicitNulls.completed, false, 'explicit completed false');
});

t.test('each create makes a new todo with its own id', async (t) => {
  const a = await createTodo(t, api, { title: unique('id a') });
  const b = await createTodo(t, api, { title: unique('id b') });
  t.not(b.id, a.id, `ids differ (${a.id}, ${b.id})`);
  t.ok(micros(b.created_at) >= micros(a.created_at), 'the later create has the later (or same) created_at');
});

t.test('deadline_at input formats → naive UTC wire format', async (t) => {
  const cases: Array<[string, string]> = [
    ['2025-09-05T15:00:00', '2025-09-05T15:00:00'], // naive = UTC, unchanged
    ['2025-09-05T15:00:00Z', '2025-09-05T15:00:00'], // Z
    ['2025-09-06T01:00:00+10:00', '2025-09-05T15:00:00'], // positive offset → UTC
    ['2025-09-05T10:00:00-05:00', '2025-09-05T15:00:00'], // negative offset → UTC
    ['2026-01-01T05:00:00+10:00', '2025-12-31T19:00:00'], // offset crossing a year
    ['2025-09-05T15:00:00+00:00', '2025-09-05T15:00:00'],
    ['2025-09-05', '2025-09-05T00:00:00'], // date only
    ['2024-02-29', '2024-02-29T00:00:00'], // leap day
    ['2025-09-05T15:00:00.123456', '2025-09-05T15:00:00.123456'], // naive with microseconds, unchanged
  ];
  for (const [input, expected] of cases) {
    const res = await api('POST', '/api/v1/todos', { title: unique('deadline'), deadline_at: input });
    t.equal(res.status, 201, `${input}: 201 (${res.status === 201 ? 'ok' : res.text.slice(0, 200)})`);
    t.equal(res.json?.deadline_at, expected, `${input} → ${expected}`);
    if (res.status === 201) {
      const got = await api('GET', `/api/v1/todos/${res.json.id}`);
      t.equal(got.json?.deadline_at, expected, `${input}: stored and read back as ${expected}`);
    }
  }
});

t.test('boundary lengths are accepted', async (t) => {
  const cases: Array<[string, Record<string, unknown>]> = [
    ['title of 80 ASCII chars', { title: 'T'.repeat(72) + unique('').slice(-8).padStart(8, 'x') }],
    ['title of 80 non-ASCII chars', { title: 'é'.repeat(80) }],
    ['title of 80 astral chars (160 UTF-16 units)', { title: '😀'.repeat(80) }],
    ['description of 120 chars', { title: unique('desc 120'), description: 'd'.repeat(120) }],
    ['description of 120 non-ASCII chars', { title: unique('desc 120 ü'), description: 'ü'.repeat(120) }],
  ];
  for (const [label, body] of cases) {
    const res = await api('POST', '/api/v1/todos', body);
    t.equal(res.status, 201, `${label}: 201 (${res.status === 201 ? 'ok' : res.text.slice(0, 200)})`);
    if (res.status === 201) {
      t.equal(res.json.title, body.title, `${label}: title stored intact`);
      if ('description' in body) t.equal(res.json.description, body.description, `${label}: description stored intact`);
    }
  }
});

t.test('Content-Type application/json with a charset is accepted', async (t) => {
  const title = unique('charset');
  const res = await api('POST', '/api/v1/todos', raw(JSON.stringify({ title }), 'application/json; charset=utf-8'));
  t.equal(res.status, 201, 'status 201');
  t.equal(res.json?.title, title, 'title as sent');
});

t.test('rejected creates: the right error, and nothing is created', async (t) => {
  // A marker in every rejected body that can carry one: afterwards no todo may contain it.
  const marker = unique('REJECTED');
  const listBefore = await api('GET', '/api/v1/todos');
  t.equal(listBefore.status, 200, 'list before');

  const post = (body: unknown): Promise<Json> => api('POST', '/api/v1/todos', body);

  t.test('extra fields → 400 {"error":"extra fields"}, checked first', async (t) => {
    for (const body of [
      { title: marker, foo: 1 },
      { title: marker, id: 12345 },
      { title: marker, created_at: '2025-01-01T00:00:00' },
      { title: marker, updated_at: '2025-01-01T00:00:00' },
      { title: marker, Title: 'x' },
      { foo: marker }, // missing title as well: extra fields wins
      { description: marker, extra: null }, // missing title as well
      { title: 5, description: marker, foo: 1 }, // wrong type as well
      { title: 'x'.repeat(81), description: marker, foo: 1 }, // too long as well
      { title: marker, deadline_at: 'tomorrow', foo: 1 }, // bad date as well
    ]) {
      assertError(t, await post(body), 400, 'extra fields', `POST ${JSON.stringify(body).slice(0, 90)}`);
    }
  });

  t.test('missing title → 400 {"error":"missing title"}', async (t) => {
    for (const body of [{}, { description: marker }, { description: marker, completed: true, deadline_at: '2025-09-05' }]) {
      assertError(t, await post(body), 400, 'missing title', `POST ${JSON.stringify(body)}`);
    }
  });

  t.test('invalid values → 400 JSON error', async (t) => {
    const cases: Array<[string, unknown]> = [
      ['null title', { title: null, description: marker }],
      ['title of 81 chars', { title: 'x'.repeat(81), description: marker }],
      ['title of 81 astral chars', { title: '😀'.repeat(81), description: marker }],
      ['description of 121 chars', { title: marker, description: 'd'.repeat(121) }],
      ['title is a number', { title: 5, description: marker }],
      ['title is a boolean', { title: true, description: marker }],
      ['title is an array', { title: [marker] }],
      ['title is an object', { title: { text: marker } }],
      ['completed is the string "true"', { title: marker, completed: 'true' }],
      ['completed is 1', { title: marker, completed: 1 }],
      ['completed is null', { title: marker, completed: null }],
      ['description is a number', { title: marker, description: 7 }],
      ['description is a boolean', { title: marker, description: false }],
      ['deadline_at is a number', { title: marker, deadline_at: 1757084400 }],
      ['deadline_at is a boolean', { title: marker, deadline_at: true }],
      ['deadline_at "tomorrow"', { title: marker, deadline_at: 'tomorrow' }],
      ['deadline_at "2025-13-01"', { title: marker, deadline_at: '2025-13-01' }],
      ['deadline_at "2025-02-30"', { title: marker, deadline_at: '2025-02-30' }],
      ['deadline_at "2025-02-29" (not a leap year)', { title: marker, deadline_at: '2025-02-29' }],
      ['deadline_at "2025-09-05T25:00:00"', { title: marker, deadline_at: '2025-09-05T25:00:00' }],
      ['deadline_at ""', { title: marker, deadline_at: '' }],
    ];
    for (const [label, body] of cases) assertError(t, await post(body), 400, undefined, `POST ${label}`);
  });

  t.test('a body that is not a JSON object, or malformed JSON → 400', async (t) => {
    const cases: Array<[string, string]> = [
      ['array of a todo', JSON.stringify([{ title: marker }])],
      ['empty array', '[]'],
      ['string', JSON.stringify(marker)],
      ['null', 'null'],
      ['number', '5'],
      ['true', 'true'],
      ['malformed JSON', `{"title": "${marker}"`],
      ['malformed JSON (trailing comma)', `{"title": "${marker}",}`],
      ['single-quoted', `{'title': '${marker}'}`],
      ['empty body', ''],
    ];
    for (const [label, body] of cases) assertError(t, await post(raw(body)), 400, undefined, `POST ${label}`);
  });

  t.test('wrong Content-Type → 415', async (t) => {
    const body = JSON.stringify({ title: marker });
    for (const contentType of ['text/plain', 'application/x-www-form-urlencoded', 'text/html', 'application/xml']) {
      assertError(t, await post(raw(body, contentType)), 415, undefined, `POST as ${contentType}`);
    }
    assertError(t, await post(raw(`title=${encodeURIComponent(marker)}`, 'application/x-www-form-urlencoded')), 415, undefined, 'POST a form');
  });

  t.test('bodies over the limit (1, 4, 16 MiB) → 413 every time, and the connection stays usable', async (t) => {
    const conn = connection();
    t.teardown(() => conn.close());
    const body = (bytes: number) => raw(JSON.stringify({ title: marker, description: 'x'.repeat(bytes) }));
    await assertOversizedRejected(t, conn, 'POST', '/api/v1/todos', body);
  });

  t.test('afterwards: no todo carries the marker, and (when the database is ours) the list is unchanged', async (t) => {
    const listAfter = await api('GET', '/api/v1/todos');
    t.equal(listAfter.status, 200, 'list after');
    const leaked = (listAfter.json as Json[]).filter(
      (todo) => String(todo.title).includes(marker) || String(todo.description ?? '').includes(marker),
    );
    t.strictSame(leaked, [], 'no rejected create left a todo behind');
    if (target.exclusive) t.strictSame(listAfter.json, listBefore.json, 'the whole list is unchanged');
  });
});

t.test('every response in this file: no 5xx, x-request-id, no stray HTML, JSON errors', async (t) => {
  assertEveryResponse(t, responses);
});
