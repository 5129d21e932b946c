/**
 * Contract of the todo routes, written from the contract alone (docs/api.md; docs/design.md, Contract details):
 * POST /api/v1/todos, GET /api/v1/todos (order, filters), GET/PUT/DELETE /api/v1/todos/:id,
 * and every error case of each, each of which must change nothing.
 *
 * The target may hold other data (see ../helpers/target.ts): tests create their own todos and
 * find them by id or unique title.
 */
import t, { type Test } from 'tap';
import {
  DAY_MS,
  HOUR_MS,
  TODO_KEYS,
  assertError,
  assertEveryResponse,
  assertOversizedRejected,
  resetWhileUploading,
  assertTodoShape,
  client,
  createTodo,
  micros,
  naiveUtc,
  raw,
  sleep,
  unique,
  field,
  listOf,
  todoOf,
  todosOf,
  type ApiResponse,
  type WireTodo,
} from '../helpers/api.js';
import { getTarget } from '../helpers/target.js';

const target = await getTarget(t);
const { api, connection, responses } = client(target.url);
const UNKNOWN_ID = 2147483646;

// ============================================================================================
// POST /api/v1/todos

t.test('201 with the exact todo shape and the defaults', async (t) => {
  const title = unique('create defaults');
  const before = Date.now();
  const res = await api('POST', '/api/v1/todos', { title });
  const after = Date.now();
  t.equal(res.status, 201, 'status 201');
  t.match(res.contentType, /^application\/json\b/, 'JSON content type');
  assertTodoShape(t, res.json);
  const todo = todoOf(res);
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
  const explicitNulls = await createTodo(t, api, {
    title: unique('nulls'),
    description: null,
    deadline_at: null,
    completed: false,
  });
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
    t.equal(field(res.json, 'deadline_at'), expected, `${input} → ${expected}`);
    if (res.status === 201) {
      const got = await api('GET', `/api/v1/todos/${todoOf(res).id}`);
      t.equal(field(got.json, 'deadline_at'), expected, `${input}: stored and read back as ${expected}`);
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
      const created = todoOf(res);
      t.equal(created.title, body.title, `${label}: title stored intact`);
      if ('description' in body) t.equal(created.description, body.description, `${label}: description stored intact`);
    }
  }
});

t.test('a valid request with Expect: 100-continue (standard HTTP/1.1) is served', async (t) => {
  const conn = connection();
  t.teardown(() => conn.close());
  const title = unique('expect 100-continue');
  const res = await conn.request('POST', '/api/v1/todos', raw(JSON.stringify({ title })), { expect: '100-continue' });
  t.equal(res.status, 201, `POST with Expect: 100-continue → 201 (${res.status}: ${res.text.slice(0, 150)})`);
  t.equal(field(res.json, 'title'), title, 'the todo as sent');
  if (res.status === 201) {
    const put = await conn.request('PUT', `/api/v1/todos/${todoOf(res).id}`, raw('{"completed":true}'), {
      expect: '100-continue',
    });
    t.equal(put.status, 200, `PUT with Expect: 100-continue → 200 (${put.status}: ${put.text.slice(0, 150)})`);
    t.equal(field(put.json, 'completed'), true, 'the update applied');
  }
  const big = raw(JSON.stringify({ title, description: 'x'.repeat(1024 * 1024) }));
  // This client sends its body without waiting for 100 Continue, as many do; HAProxy 2.6 answers
  // 413 and closes without draining it (assertOversizedRejected says more).
  const tooBig = await conn.request('POST', '/api/v1/todos', big, { expect: '100-continue' });
  if (target.balancer === 'haproxy' && resetWhileUploading(tooBig)) {
    t.pass(`POST 1 MiB with Expect: 100-continue: reset while uploading, its 413 lost (${tooBig.text})`);
    return;
  }
  assertError(
    t,
    tooBig,
    413,
    undefined,
    `POST 1 MiB with Expect: 100-continue (${tooBig.status}: ${tooBig.text.slice(0, 120)})`,
  );
});

t.test('Content-Type application/json with a charset is accepted', async (t) => {
  const title = unique('charset');
  const res = await api('POST', '/api/v1/todos', raw(JSON.stringify({ title }), 'application/json; charset=utf-8'));
  t.equal(res.status, 201, 'status 201');
  t.equal(field(res.json, 'title'), title, 'title as sent');
});

t.test('rejected creates: the right error, and nothing is created', async (t) => {
  // A marker in every rejected body that can carry one: afterwards no todo may contain it.
  const marker = unique('REJECTED');
  const listBefore = await api('GET', '/api/v1/todos');
  t.equal(listBefore.status, 200, 'list before');

  const post = (body: unknown): Promise<ApiResponse> => api('POST', '/api/v1/todos', body);

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
    for (const body of [
      {},
      { description: marker },
      { description: marker, completed: true, deadline_at: '2025-09-05' },
    ]) {
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
    assertError(
      t,
      await post(raw(`title=${encodeURIComponent(marker)}`, 'application/x-www-form-urlencoded')),
      415,
      undefined,
      'POST a form',
    );
  });

  t.test('a body over the limit (1 MiB) → 413 every time, and the connection stays usable', async (t) => {
    const conn = connection();
    t.teardown(() => conn.close());
    const body = (bytes: number) => raw(JSON.stringify({ title: marker, description: 'x'.repeat(bytes) }));
    await assertOversizedRejected(t, conn, 'POST', '/api/v1/todos', body, undefined, target.balancer === 'haproxy');
  });

  t.test('afterwards: no todo carries the marker, and (when the database is ours) the list is unchanged', async (t) => {
    const listAfter = await api('GET', '/api/v1/todos');
    t.equal(listAfter.status, 200, 'list after');
    const leaked = todosOf(listAfter).filter(
      (todo) => todo.title.includes(marker) || (todo.description ?? '').includes(marker),
    );
    t.strictSame(leaked, [], 'no rejected create left a todo behind');
    if (target.exclusive) t.strictSame(listAfter.json, listBefore.json, 'the whole list is unchanged');
  });
});

// ============================================================================================
// GET /api/v1/todos and GET /api/v1/todos/:id

/** True when the list is newest created_at first, ties broken by the higher id first. */
function newestFirst(list: WireTodo[]): boolean {
  return list.every((todo, i) => {
    if (i === 0) return true;
    const prev = list[i - 1]!;
    const a = micros(prev.created_at);
    const b = micros(todo.created_at);
    return a > b || (a === b && prev.id > todo.id);
  });
}

t.test('GET /api/v1/todos → 200 array of todos, newest created_at first', async (t) => {
  const a = await createTodo(t, api, { title: unique('order a') });
  const b = await createTodo(t, api, { title: unique('order b') });
  const c = await createTodo(t, api, { title: unique('order c') });
  const res = await api('GET', '/api/v1/todos');
  t.equal(res.status, 200, 'status 200');
  t.match(res.contentType, /^application\/json\b/, 'JSON content type');
  t.ok(Array.isArray(res.json), 'body is an array');
  t.strictSame(
    listOf(res.json)
      .filter((todo) => JSON.stringify(Object.keys(todo ?? {}).sort()) !== JSON.stringify(TODO_KEYS))
      .map((x) => field(x, 'id')),
    [],
    'every item has exactly the todo keys',
  );
  const list = todosOf(res);
  const ours = list.filter((todo) => [a.id, b.id, c.id].includes(todo.id));
  t.strictSame(ours, [c, b, a], 'our three todos, as created, newest first');
  t.ok(newestFirst(list), 'the whole list is ordered by created_at desc, then id desc');
  for (const todo of ours) assertTodoShape(t, todo, `listed todo ${todo.id}`);
});

t.test('filters: completed and window', async (t) => {
  const now = Date.now();
  const tag = unique('filter');
  const at = (ms: number): string => naiveUtc(new Date(now + ms));
  const specs = {
    overdue3d: { completed: false, deadline_at: at(-3 * DAY_MS) },
    overdue1h: { completed: false, deadline_at: at(-1 * HOUR_MS) },
    in12h: { completed: false, deadline_at: at(12 * HOUR_MS) },
    in3d: { completed: false, deadline_at: at(3 * DAY_MS) },
    in10d: { completed: false, deadline_at: at(10 * DAY_MS) },
    none: { completed: false, deadline_at: null },
    doneIn3d: { completed: true, deadline_at: at(3 * DAY_MS) },
    doneOverdue: { completed: true, deadline_at: at(-2 * DAY_MS) },
    doneIn10d: { completed: true, deadline_at: at(10 * DAY_MS) },
    doneNone: { completed: true, deadline_at: null },
  } as const;
  type Name = keyof typeof specs;
  const names = Object.keys(specs) as Name[];
  const idOf = {} as Record<Name, number>;
  for (const name of names) {
    const todo = await createTodo(t, api, { title: `${tag} ${name}`, ...specs[name] });
    t.equal(todo.deadline_at, specs[name].deadline_at, `${name}: deadline stored`);
    idOf[name] = todo.id;
  }
  const nameOf = new Map(names.map((name) => [idOf[name], name]));

  const cases: Array<[string, { completed?: boolean; window?: number }, Name[]]> = [
    ['', {}, names],
    ['?completed=true', { completed: true }, ['doneIn3d', 'doneOverdue', 'doneIn10d', 'doneNone']],
    ['?completed=false', { completed: false }, ['overdue3d', 'overdue1h', 'in12h', 'in3d', 'in10d', 'none']],
    ['?window=7', { window: 7 }, ['overdue3d', 'overdue1h', 'in12h', 'in3d', 'doneIn3d', 'doneOverdue']],
    ['?window=1', { window: 1 }, ['overdue3d', 'overdue1h', 'in12h', 'doneOverdue']],
    ['?window=0', { window: 0 }, ['overdue3d', 'overdue1h', 'doneOverdue']],
    ['?window=-1', { window: -1 }, ['overdue3d', 'doneOverdue']],
    ['?window=-4', { window: -4 }, []],
    [
      '?window=30',
      { window: 30 },
      ['overdue3d', 'overdue1h', 'in12h', 'in3d', 'in10d', 'doneIn3d', 'doneOverdue', 'doneIn10d'],
    ],
    ['?completed=true&window=7', { completed: true, window: 7 }, ['doneIn3d', 'doneOverdue']],
    ['?window=7&completed=false', { completed: false, window: 7 }, ['overdue3d', 'overdue1h', 'in12h', 'in3d']],
    ['?completed=false&window=0', { completed: false, window: 0 }, ['overdue3d', 'overdue1h']],
    ['?completed=true&window=-1', { completed: true, window: -1 }, ['doneOverdue']],
  ];
  for (const [query, filter, expected] of cases) {
    const res = await api('GET', `/api/v1/todos${query}`);
    const checkedAt = Date.now();
    t.equal(res.status, 200, `GET ${query || '(no filter)'}: 200`);
    t.ok(Array.isArray(res.json), `GET ${query}: an array`);
    const list = todosOf(res);
    const ours = list.filter((todo) => nameOf.has(todo.id)).map((todo) => nameOf.get(todo.id));
    // Expected in newest-first order: the reverse of creation order.
    const want = names.filter((name) => expected.includes(name)).reverse();
    t.strictSame(ours, want, `GET ${query || '(no filter)'}: exactly ${JSON.stringify(want)} of ours, newest first`);
    t.ok(newestFirst(list), `GET ${query}: ordered newest first`);
    // Every item (ours or not) satisfies the filter.
    const wrong = list.filter((todo) => {
      if (filter.completed !== undefined && todo.completed !== filter.completed) return true;
      if (filter.window !== undefined) {
        if (todo.deadline_at === null) return true;
        // now + N days, with a minute's slack for the request's own duration and clock skew.
        if (micros(todo.deadline_at) / 1000 > checkedAt + filter.window * DAY_MS + 60_000) return true;
      }
      return false;
    });
    t.strictSame(wrong, [], `GET ${query}: every item matches the filter`);
  }
});

t.test('bad list queries → 400 JSON error', async (t) => {
  for (const query of [
    'completed=yes',
    'completed=1',
    'completed=0',
    'completed=truee',
    'window=abc',
    'window=1.5',
    'window=-0.5',
    'window=7days',
    'completed=true&window=abc',
    'completed=yes&window=7',
  ]) {
    assertError(t, await api('GET', `/api/v1/todos?${query}`), 400);
  }
});

t.test('odd list queries never cause a 5xx', async (t) => {
  for (const query of [
    'window=99999999999999999999',
    'window=-99999999999999999999',
    'window=2147483648',
    'completed=true&completed=false',
    'window=1&window=2',
  ]) {
    const res = await api('GET', `/api/v1/todos?${query}`);
    t.ok(
      (res.status === 200 && Array.isArray(res.json)) ||
        (res.status === 400 && typeof field(res.json, 'error') === 'string'),
      `GET ?${query}: a 200 array or a 400 JSON error (got ${res.status} ${res.text.slice(0, 100)})`,
    );
  }
});

t.test('GET /api/v1/todos/:id', async (t) => {
  const todo = await createTodo(t, api, {
    title: unique('get one'),
    description: 'desc',
    completed: true,
    deadline_at: '2030-01-02T03:04:05',
  });
  const res = await api('GET', `/api/v1/todos/${todo.id}`);
  t.equal(res.status, 200, 'status 200');
  t.match(res.contentType, /^application\/json\b/, 'JSON content type');
  assertTodoShape(t, res.json);
  t.strictSame(res.json, todo, 'the todo as created');

  assertError(t, await api('GET', '/api/v1/todos/2147483646'), 404, 'Todo not found', 'GET unknown id 2147483646');

  for (const id of ['abc', '1.5', '-1', '0', '99999999999999999999', '2147483648', '9223372036854775808', '1abc']) {
    assertError(t, await api('GET', `/api/v1/todos/${id}`), 404, undefined, `GET /api/v1/todos/${id}`);
  }
});

// ============================================================================================
// PUT and DELETE /api/v1/todos/:id

/** PUTs an update that must succeed; checks it against the expected todo and a fresh GET. */
async function update(t: Test, before: WireTodo, body: unknown, changes: Record<string, unknown>): Promise<WireTodo> {
  await sleep(5); // so that a new updated_at is distinguishable at microsecond precision
  const res = await api('PUT', `/api/v1/todos/${before.id}`, body);
  const label = `PUT ${JSON.stringify(body)}`;
  t.equal(res.status, 200, `${label}: 200 (${res.status === 200 ? 'ok' : res.text.slice(0, 200)})`);
  t.match(res.contentType, /^application\/json\b/, `${label}: JSON`);
  assertTodoShape(t, res.json, `${label}: updated todo`);
  const after = todoOf(res);
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
  const all = {
    title: unique('put all'),
    description: 'all at once',
    completed: false,
    deadline_at: '2032-01-01T12:00:00',
  };
  todo = await update(t, todo, all, all);
  const boundary = { title: 'B'.repeat(80), description: 'b'.repeat(120) };
  await update(t, todo, boundary, boundary);
});

t.test('PUT {} → 200, nothing but updated_at may change', async (t) => {
  const todo = await createTodo(t, api, { title: unique('put empty'), description: 'd', deadline_at: '2030-01-01' });
  const res = await api('PUT', `/api/v1/todos/${todo.id}`, {});
  t.equal(res.status, 200, 'status 200');
  const { updated_at: _a, ...after } = todoOf(res);
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

  assertError(
    t,
    await api('PUT', path, raw(JSON.stringify({ title: 'x' }), 'text/plain')),
    415,
    undefined,
    'PUT text/plain',
  );
  await unchanged('PUT text/plain');
  const conn = connection();
  t.teardown(() => conn.close());
  const big = (bytes: number) => raw(JSON.stringify({ description: 'x'.repeat(bytes) }));
  await assertOversizedRejected(t, conn, 'PUT', path, big, undefined, target.balancer === 'haproxy');
  await unchanged('PUT over the limit');
});

t.test('PUT: extra fields are checked before existence; unknown ids → 404', async (t) => {
  assertError(
    t,
    await api('PUT', `/api/v1/todos/${UNKNOWN_ID}`, { foo: 1 }),
    400,
    'extra fields',
    'PUT extra field, unknown id',
  );
  assertError(
    t,
    await api('PUT', `/api/v1/todos/${UNKNOWN_ID}`, { title: 'x', foo: 1 }),
    400,
    'extra fields',
    'PUT title + extra field, unknown id',
  );
  assertError(
    t,
    await api('PUT', `/api/v1/todos/${UNKNOWN_ID}`, { title: 'x' }),
    404,
    'Todo not found',
    'PUT unknown id',
  );
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
  const ids = todosOf(list).map((x) => x.id);
  t.notOk(ids.includes(todo.id), 'the list no longer has it');
  t.ok(ids.includes(keep.id), 'the list still has the other todo');
  t.strictSame((await api('GET', `/api/v1/todos/${keep.id}`)).json, keep, 'the other todo is untouched');
});

t.test('DELETE with Content-Type: application/json and no body (as many HTTP clients send it) → 200', async (t) => {
  const todo = await createTodo(t, api, { title: unique('delete with a stray content type') });
  const res = await api('DELETE', `/api/v1/todos/${todo.id}`, raw(''));
  t.equal(res.status, 200, `status 200 (${res.text})`);
  t.strictSame(res.json, todo, 'the body is the deleted todo');
  assertError(t, await api('GET', `/api/v1/todos/${todo.id}`), 404, 'Todo not found', 'then it is gone');
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
