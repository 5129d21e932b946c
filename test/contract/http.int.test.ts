/**
 * Contract of everything around the todo routes, written from the contract alone (docs/api.md; docs/design.md, Contract details): health,
 * correlation IDs, the OpenAPI document, the web UI, unknown routes and wrong methods; and end
 * to end through the load balancer (locally its stand-in): writes go to todo-write, reads to the
 * todo-read replicas, and once a write has answered every read sees it.
 */
import t, { type Test } from 'tap';
import {
  assertError,
  assertEveryResponse,
  at,
  client,
  createTodo,
  field,
  isTodo,
  listOf,
  todoOf,
  unique,
  type ApiResponse,
  type WireTodo,
} from '../helpers/api.js';
import { getTarget } from '../helpers/target.js';

const target = await getTarget(t);
const recorded: ApiResponse[] = [];
const { api } = client(target.url, recorded);
/** The todo-read replicas asked directly (local stack only). */
const replicas = target.readUrls.map((url) => ({ url, api: client(url, recorded).api }));
const ROUNDS = 6;

t.test('GET /api/v1/health → 200 {"status":"ok"}', async (t) => {
  const res = await api('GET', '/api/v1/health');
  t.equal(res.status, 200, 'status 200');
  t.match(res.contentType, /^application\/json\b/, 'JSON content type');
  t.strictSame(res.json, { status: 'ok' }, 'body is exactly {"status":"ok"}');
});

t.test('x-request-id', async (t) => {
  t.test('a request without one gets a fresh UUID (behind the ALB: its trace Root)', async (t) => {
    // The ALB adds X-Amzn-Trace-Id to every request, and its Root= wins over a fresh UUID.
    const fresh = /^(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|1-[0-9a-f]{8}-[0-9a-f]{24})$/i;
    const a = await api('GET', '/api/v1/health');
    const b = await api('GET', '/api/v1/health');
    const c = await api('POST', '/api/v1/todos', { nope: true });
    const ids = [a, b, c].map((res) => res.headers.get('x-request-id'));
    for (const [i, id] of ids.entries()) t.match(id, fresh, `response ${i + 1} has a fresh UUID (${id})`);
    t.equal(new Set(ids).size, 3, 'each request gets its own');
  });

  const sent = `contract-${Date.now()}-abc`;
  const cases: Array<[string, string, unknown?]> = [
    ['GET', '/api/v1/health'],
    ['GET', '/api/v1/todos'],
    ['GET', '/api/v1/todos/99999999'], // 404
    ['GET', '/api/v1/todos?completed=yes'], // 400
    ['POST', '/api/v1/todos', { nope: true }], // 400, via todo-write
    ['PUT', '/api/v1/todos/99999999', { title: 'x' }], // 404, via todo-write
    ['DELETE', '/api/v1/todos/99999999'], // 404, via todo-write
    ['GET', '/api/v1/no-such-route'], // 404
    ['PATCH', '/api/v1/todos/1'], // 405
    ['GET', '/api/v1/openapi.json'],
    ['GET', '/'],
  ];
  for (const [method, path, body] of cases) {
    t.test(`an incoming x-request-id is echoed: ${method} ${path}`, async (t) => {
      const res = await api(method, path, body, { 'x-request-id': sent });
      t.equal(res.headers.get('x-request-id'), sent, `echoed (status ${res.status})`);
    });
  }

  t.test('the ALB X-Amzn-Trace-Id Root= is used when there is no x-request-id', async (t) => {
    const root = `1-${Math.floor(Date.now() / 1000).toString(16)}-abcdef012345678912345678`;
    const res = await api('GET', '/api/v1/health', undefined, { 'x-amzn-trace-id': `Root=${root};Sampled=1` });
    t.equal(res.headers.get('x-request-id'), root, 'x-request-id is the Root value');
  });
});

t.test('GET /api/v1/openapi.json → an OpenAPI 3.x document of the API', async (t) => {
  const res = await api('GET', '/api/v1/openapi.json');
  t.equal(res.status, 200, 'status 200');
  t.match(res.contentType, /^application\/json\b/, 'JSON content type');
  const doc = res.json;
  t.type(doc, 'object', 'body is JSON');
  t.match(field(doc, 'openapi'), /^3\.\d+\.\d+$/, `openapi is a 3.x version (${String(field(doc, 'openapi'))})`);
  t.type(at(doc, 'info', 'title'), 'string', 'info.title is a string');
  t.type(at(doc, 'info', 'version'), 'string', 'info.version is a string');
  t.type(field(doc, 'paths'), 'object', 'paths is an object');

  const list = at(doc, 'paths', '/api/v1/todos');
  const one = at(doc, 'paths', '/api/v1/todos/{id}');
  t.type(list, 'object', 'documents /api/v1/todos');
  t.type(one, 'object', 'documents /api/v1/todos/{id}');
  for (const [path, item, methods] of [
    ['/api/v1/todos', list, ['get', 'post']],
    ['/api/v1/todos/{id}', one, ['get', 'put', 'delete']],
  ] as const) {
    for (const method of methods) {
      t.type(at(item, method, 'responses'), 'object', `${method.toUpperCase()} ${path} is documented with responses`);
    }
  }
  t.ok(at(list, 'post', 'responses', '201'), 'POST /api/v1/todos documents 201');
  for (const method of ['get', 'put', 'delete']) {
    t.ok(at(one, method, 'responses', '404'), `${method.toUpperCase()} /api/v1/todos/{id} documents 404`);
  }
  for (const method of ['get', 'put', 'delete']) {
    const params = [...listOf(field(one, 'parameters')), ...listOf(at(one, method, 'parameters'))].map((p) => {
      const ref = field(p, '$ref');
      return typeof ref === 'string' ? resolveRef(doc, ref) : p;
    });
    t.ok(
      params.some((p) => field(p, 'name') === 'id' && field(p, 'in') === 'path'),
      `${method.toUpperCase()} /api/v1/todos/{id} declares the id path parameter`,
    );
  }

  // Every local $ref must resolve inside the document.
  const refs: string[] = [];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(walk);
    else if (node && typeof node === 'object') {
      for (const [key, value] of Object.entries(node)) {
        if (key === '$ref' && typeof value === 'string') refs.push(value);
        else walk(value);
      }
    }
  };
  walk(doc);
  t.strictSame(
    refs.filter((ref) => !ref.startsWith('#/') || resolveRef(doc, ref) === undefined),
    [],
    `all ${refs.length} $refs resolve within the document`,
  );
});

function resolveRef(doc: unknown, ref: string): unknown {
  if (!ref.startsWith('#/')) return undefined;
  return at(
    doc,
    ...ref
      .slice(2)
      .split('/')
      .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~')),
  );
}

t.test('GET / → 200 the web UI (HTML)', async (t) => {
  const res = await api('GET', '/');
  t.equal(res.status, 200, 'status 200');
  t.match(res.contentType, /^text\/html\b/, `text/html (${res.contentType})`);
  t.match(res.text, /<html[\s>]/i, 'an HTML document');
});

t.test('unknown route → 404 JSON', async (t) => {
  for (const [method, path] of [
    ['GET', '/api/v1/no-such-route'],
    ['GET', '/no-such-page'],
    ['GET', '/api/v2/todos'],
    ['GET', '/api/v1/todos/1/extra'],
    ['POST', '/api/v1/no-such-route'],
    ['DELETE', '/api/v1/no-such-route/1'],
  ] as const) {
    assertError(t, await api(method, path), 404);
  }
});

t.test('wrong method on a known path → 405 JSON', async (t) => {
  for (const [method, path, body] of [
    ['PATCH', '/api/v1/todos/1', { title: 'x' }],
    ['DELETE', '/api/v1/todos', undefined],
    ['PUT', '/api/v1/todos', { title: 'x' }],
    ['PATCH', '/api/v1/todos', { title: 'x' }],
    ['POST', '/api/v1/todos/1', { title: 'x' }],
    ['POST', '/api/v1/health', {}],
    ['DELETE', '/api/v1/health', undefined],
    // QUERY (RFC 10008) without Content-Type: Fastify alone would answer its own 400.
    ['QUERY', '/api/v1/todos', undefined],
    ['QUERY', '/api/v1/todos/1', undefined],
  ] as const) {
    assertError(t, await api(method, path, body), 405);
  }
});

// ============================================================================================
// End to end: repeated so that every replica serves; locally each replica is also asked directly.

/** Reads the todo and the list through the stand-in ROUNDS times and from each replica. */
async function seenEverywhere(t: Test, id: number, expected: WireTodo | null, label: string): Promise<void> {
  const readers = [
    ...Array.from({ length: ROUNDS }, (_, i) => ({ name: `stand-in #${i + 1}`, api })),
    ...replicas.map((replica, i) => ({ name: `todo-read replica ${i + 1} (${replica.url})`, api: replica.api })),
  ];
  for (const reader of readers) {
    const one = await reader.api('GET', `/api/v1/todos/${id}`);
    const list = await reader.api('GET', '/api/v1/todos');
    const listed = listOf(list.json).find((x) => field(x, 'id') === id);
    if (expected === null) {
      assertError(t, one, 404, 'Todo not found', `${label}: GET by id via ${reader.name}`);
      t.equal(listed, undefined, `${label}: not listed via ${reader.name}`);
    } else {
      t.equal(one.status, 200, `${label}: GET by id via ${reader.name} → 200`);
      t.strictSame(one.json, expected, `${label}: GET by id via ${reader.name} sees the write`);
      t.strictSame(listed, expected, `${label}: the list via ${reader.name} sees the write`);
    }
  }
}

t.test('create, read, update, read, delete, read: every read sees the last write', async (t) => {
  if (target.readUrls.length > 0) t.equal(target.readUrls.length, 2, 'the local stack runs two read replicas');
  for (let round = 1; round <= 3; round++) {
    const created = await createTodo(t, api, { title: unique(`e2e ${round}`), deadline_at: '2030-01-01T00:00:00' });
    await seenEverywhere(t, created.id, created, `round ${round} after POST`);

    const put = await api('PUT', `/api/v1/todos/${created.id}`, { completed: true, description: `round ${round}` });
    t.equal(put.status, 200, `round ${round}: PUT 200`);
    t.ok(isTodo(put.json), `round ${round}: PUT answers the todo`);
    const updated = todoOf(put);
    t.strictSame([updated.completed, updated.description], [true, `round ${round}`], `round ${round}: PUT applied`);
    await seenEverywhere(t, created.id, updated, `round ${round} after PUT`);

    const del = await api('DELETE', `/api/v1/todos/${created.id}`);
    t.equal(del.status, 200, `round ${round}: DELETE 200`);
    t.strictSame(del.json, put.json, `round ${round}: DELETE answers the deleted todo`);
    await seenEverywhere(t, created.id, null, `round ${round} after DELETE`);
  }
});

t.test('every response in this file: no 5xx, x-request-id, no stray HTML, JSON errors', async (t) => {
  assertEveryResponse(t, recorded);
});
