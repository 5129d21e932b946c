/**
 * Contract: GET /api/v1/todos (order, completed/window filters, bad queries) and
 * GET /api/v1/todos/:id.
 */
import t from 'tap';
import {
  DAY_MS,
  HOUR_MS,
  TODO_KEYS,
  assertError,
  assertEveryResponse,
  assertTodoShape,
  client,
  createTodo,
  micros,
  naiveUtc,
  unique,
  type Json,
} from '../helpers/api.js';
import { getTarget } from '../helpers/target.js';

const target = await getTarget(t);
const { api, responses } = client(target.url);

/** True when the list is newest created_at first, ties broken by the higher id first. */
function newestFirst(list: Json[]): boolean {
  return list.every((todo, i) => {
    if (i === 0) return true;
    const prev = list[i - 1];
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
  const list: Json[] = Array.isArray(res.json) ? res.json : [];
  const ours = list.filter((todo) => [a.id, b.id, c.id].includes(todo.id));
  t.strictSame(ours, [c, b, a], 'our three todos, as created, newest first');
  t.strictSame(
    list.filter((todo) => JSON.stringify(Object.keys(todo ?? {}).sort()) !== JSON.stringify(TODO_KEYS)).map((x) => x?.id),
    [],
    'every item has exactly the todo keys',
  );
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
    ['?window=30', { window: 30 }, ['overdue3d', 'overdue1h', 'in12h', 'in3d', 'in10d', 'doneIn3d', 'doneOverdue', 'doneIn10d']],
    ['?completed=true&window=7', { completed: true, window: 7 }, ['doneIn3d', 'doneOverdue']],
    ['?window=7&completed=false', { completed: false, window: 7 }, ['overdue3d', 'overdue1h', 'in12h', 'in3d']],
    ['?completed=false&window=0', { completed: false, window: 0 }, ['overdue3d', 'overdue1h']],
    ['?completed=true&window=-1', { completed: true, window: -1 }, ['doneOverdue']],
  ];
  for (const [query, filter, expected] of cases) {
    const res = await api('GET', `/api/v1/todos${query}`);
    const checkedAt = Date.now();
    t.equal(res.status, 200, `GET ${query || '(no filter)'}: 200`);
    const list: Json[] = Array.isArray(res.json) ? res.json : [];
    t.ok(Array.isArray(res.json), `GET ${query}: an array`);
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
      (res.status === 200 && Array.isArray(res.json)) || (res.status === 400 && typeof res.json?.error === 'string'),
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

t.test('every response in this file: no 5xx, x-request-id, no stray HTML, JSON errors', async (t) => {
  assertEveryResponse(t, responses);
});
