/**
 * Contract: health, correlation IDs, the OpenAPI document, the web UI, unknown routes and
 * wrong methods. Written from docs/DESIGN "API contract (v1)".
 */
import t from 'tap';
import { assertError, assertEveryResponse, client, type Json } from '../helpers/api.js';
import { getTarget } from '../helpers/target.js';

const target = await getTarget(t);
const { api, responses } = client(target.url);

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

t.test('GET /api/v1/health → 200 {"status":"ok"}', async (t) => {
  const res = await api('GET', '/api/v1/health');
  t.equal(res.status, 200, 'status 200');
  t.match(res.contentType, /^application\/json\b/, 'JSON content type');
  t.strictSame(res.json, { status: 'ok' }, 'body is exactly {"status":"ok"}');
});

t.test('x-request-id', async (t) => {
  t.test('a request without one gets a fresh UUID', async (t) => {
    const a = await api('GET', '/api/v1/health');
    const b = await api('GET', '/api/v1/health');
    const idA = a.headers.get('x-request-id');
    const idB = b.headers.get('x-request-id');
    t.match(idA, UUID, `first response has a UUID (${idA})`);
    t.match(idB, UUID, `second response has a UUID (${idB})`);
    t.not(idA, idB, 'each request gets its own');
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
  const doc: Json = res.json;
  t.type(doc, 'object', 'body is JSON');
  t.match(doc?.openapi, /^3\.\d+\.\d+$/, `openapi is a 3.x version (${doc?.openapi})`);
  t.type(doc?.info?.title, 'string', 'info.title is a string');
  t.type(doc?.info?.version, 'string', 'info.version is a string');
  t.type(doc?.paths, 'object', 'paths is an object');

  const list = doc?.paths?.['/api/v1/todos'];
  const one = doc?.paths?.['/api/v1/todos/{id}'];
  t.type(list, 'object', 'documents /api/v1/todos');
  t.type(one, 'object', 'documents /api/v1/todos/{id}');
  for (const [path, item, methods] of [
    ['/api/v1/todos', list, ['get', 'post']],
    ['/api/v1/todos/{id}', one, ['get', 'put', 'delete']],
  ] as const) {
    for (const method of methods) {
      t.type(item?.[method]?.responses, 'object', `${method.toUpperCase()} ${path} is documented with responses`);
    }
  }
  t.ok(list?.post?.responses?.['201'], 'POST /api/v1/todos documents 201');
  for (const method of ['get', 'put', 'delete']) {
    t.ok(one?.[method]?.responses?.['404'], `${method.toUpperCase()} /api/v1/todos/{id} documents 404`);
  }
  for (const method of ['get', 'put', 'delete']) {
    const params: Json[] = [...(one?.parameters ?? []), ...(one?.[method]?.parameters ?? [])].map((p: Json) =>
      p?.$ref ? resolveRef(doc, p.$ref) : p,
    );
    t.ok(
      params.some((p) => p?.name === 'id' && p?.in === 'path'),
      `${method.toUpperCase()} /api/v1/todos/{id} declares the id path parameter`,
    );
  }

  // Every local $ref must resolve inside the document.
  const refs: string[] = [];
  const walk = (node: Json): void => {
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

function resolveRef(doc: Json, ref: string): Json {
  if (!ref.startsWith('#/')) return undefined;
  return ref
    .slice(2)
    .split('/')
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((node: Json, key) => (node && typeof node === 'object' ? node[key] : undefined), doc);
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
  ] as const) {
    assertError(t, await api(method, path, body), 405);
  }
});

t.test('every response in this file: no 5xx, x-request-id, no stray HTML, JSON errors', async (t) => {
  assertEveryResponse(t, responses);
});
