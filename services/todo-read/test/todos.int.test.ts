import { buildTestApp } from '@taskoverflow/stack/testing';
import t from 'tap';
import { buildTodoReadApp, loadConfig } from '../src/app.js';

const { app, pool, databaseUrl } = await buildTestApp(t, (env) => buildTodoReadApp(loadConfig(env)));

async function get(url: string) {
  const response = await app.inject({ method: 'GET', url });
  return { status: response.statusCode, body: response.json(), headers: response.headers };
}

/** Inserts rows directly: the read service never writes, and tests need exact timestamps. */
async function insert(title: string, fields: { completed?: boolean; deadline?: string | null; created?: string } = {}) {
  const { rows } = await pool.query(
    `insert into todos (title, completed, deadline_at, created_at, updated_at)
     values ($1, $2, ${fields.deadline ?? 'null'}, ${fields.created ?? "statement_timestamp() at time zone 'utc'"},
             ${fields.created ?? "statement_timestamp() at time zone 'utc'"})
     returning id`,
    [title, fields.completed ?? false],
  );
  return rows[0].id as number;
}

const utcNowPlus = (days: number) => `(now() at time zone 'utc') + interval '${days} days'`;

const overdue = await insert('overdue', { deadline: utcNowPlus(-2) });
const dueSoon = await insert('due soon', { deadline: utcNowPlus(2), completed: true });
const dueLater = await insert('due later', { deadline: utcNowPlus(10) });
const noDeadline = await insert('no deadline', { completed: true });
const tieA = await insert('tie a', { created: "'2020-01-01 00:00:00'" });
const tieB = await insert('tie b', { created: "'2020-01-01 00:00:00'" });

t.test('the list is newest first, ties broken by the higher id', async (t) => {
  const { status, body } = await get('/api/v1/todos');
  t.equal(status, 200);
  t.same(
    body.map((todo: { id: number }) => todo.id),
    [noDeadline, dueLater, dueSoon, overdue, tieB, tieA],
  );
  t.equal(body.at(-1).created_at, '2020-01-01T00:00:00');
});

t.test('completed and window filter the list, alone and combined', async (t) => {
  const ids = async (query: string) => (await get(`/api/v1/todos${query}`)).body.map((todo: { id: number }) => todo.id);
  t.same(await ids('?completed=true'), [noDeadline, dueSoon]);
  t.same(await ids('?completed=false'), [dueLater, overdue, tieB, tieA]);
  t.same(await ids('?window=3'), [dueSoon, overdue], 'due within 3 days, overdue included, no deadline excluded');
  t.same(await ids('?window=0'), [overdue]);
  t.same(await ids('?window=-1'), [overdue]);
  t.same(await ids('?window=-3'), []);
  t.same(await ids('?window=30&completed=false'), [dueLater, overdue]);
});

t.test('one todo by id; anything that is not an existing id is a 404', async (t) => {
  const { status, body } = await get(`/api/v1/todos/${dueSoon}`);
  t.equal(status, 200);
  t.match(body, { id: dueSoon, title: 'due soon', completed: true, description: null });
  t.match(body.deadline_at, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{6})?$/);
  for (const id of ['999999', 'abc', '-1', '1.5', '0', '99999999999999999999', 'x'.repeat(500)]) {
    const { status, body } = await get(`/api/v1/todos/${id}`);
    t.same({ status, body }, { status: 404, body: { error: 'Todo not found' } }, id.slice(0, 20));
  }
});

t.test('the OpenAPI document describes the whole API, writes included', async (t) => {
  const { status, body } = await get('/api/v1/openapi.json');
  t.equal(status, 200);
  t.equal(body.openapi, '3.1.0');
  t.same(Object.keys(body.paths).sort(), ['/api/v1/health', '/api/v1/todos', '/api/v1/todos/{id}']);
  t.same(Object.keys(body.paths['/api/v1/todos']).sort(), ['get', 'post']);
  t.same(Object.keys(body.paths['/api/v1/todos/{id}']).sort(), ['delete', 'get', 'put']);
  t.equal(body.paths['/api/v1/todos'].post.operationId, 'createTodo');
  t.ok(body.paths['/api/v1/todos'].post.responses['201'], 'create answers 201');

  // What no single route schema says: headers on every answer, the retryable statuses.
  for (const [path, item] of Object.entries<Record<string, any>>(body.paths)) {
    for (const [method, operation] of Object.entries<any>(item)) {
      const name = `${method.toUpperCase()} ${path}`;
      for (const [status, response] of Object.entries<any>(operation.responses)) {
        t.equal(response.headers?.['x-request-id']?.required, true, `${name} ${status}: x-request-id header`);
        t.not(response.description, 'Default Response', `${name} ${status}: described`);
      }
      if (operation.operationId === 'health') continue;
      for (const status of ['429', '503']) {
        t.equal(
          operation.responses[status]?.headers?.['retry-after']?.required,
          true,
          `${name} ${status} with Retry-After`,
        );
      }
    }
  }
  const todo = body.paths['/api/v1/todos/{id}'].get.responses['200'];
  t.equal(todo.headers.etag.required, true, 'GET one documents its ETag');
  const created = todo.content['application/json'].schema.properties.created_at;
  t.match('2026-04-18T05:46:10.381173', new RegExp(created.pattern), 'wire dates have a pattern: with microseconds');
  t.match('2025-09-05T15:00:00', new RegExp(created.pattern), 'wire dates have a pattern: whole seconds');
  t.notMatch('2025-09-05T15:00:00Z', new RegExp(created.pattern), 'wire dates have a pattern: no offset');
});

t.test('the web UI is served at /, its hashed assets cached for a year, with security headers', async (t) => {
  const page = await app.inject({ method: 'GET', url: '/' });
  t.equal(page.statusCode, 200);
  t.match(page.headers['content-type'], /^text\/html/);
  t.match(page.body, /TaskOverflow/);
  t.equal(page.headers['cache-control'], 'no-cache', 'the page is revalidated on every load');
  t.match(page.headers['content-security-policy'], /script-src 'self'/);
  t.equal(page.headers['x-content-type-options'], 'nosniff');
  const revalidated = await app.inject({
    method: 'GET',
    url: '/',
    headers: { 'if-none-match': String(page.headers.etag) },
  });
  t.equal(revalidated.statusCode, 304, 'an unchanged page is a 304');

  const assets = [...page.body.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((match) => match[1]!);
  t.ok(
    assets.some((url) => /\/assets\/index-[\w-]+\.js$/.test(url)),
    `the page loads a hashed script (${assets.join(', ')})`,
  );
  for (const url of assets) {
    const asset = await app.inject({ method: 'GET', url });
    t.equal(asset.statusCode, 200, `${url} is served`);
    t.equal(asset.headers['cache-control'], 'public, max-age=31536000, immutable', `${url} is cached for a year`);
  }
  const missing = await app.inject({ method: 'GET', url: '/assets/index-missing.js' });
  t.equal(missing.statusCode, 404);
  t.match(
    missing.headers['content-type'],
    /^application\/json/,
    'a missing asset is a JSON 404, like any unknown path',
  );

  const api = await app.inject({ method: 'GET', url: '/api/v1/todos' });
  t.notOk(api.headers['content-security-policy'], 'the JSON API has no page headers');
});

t.test('configuration errors name the variable and the fix', async (t) => {
  t.throws(() => loadConfig({}), /DATABASE_URL is not set/);
  t.throws(() => loadConfig({ DATABASE_URL: 'mysql://x@y/z' }), /DATABASE_URL is not a postgres URL/);
  t.throws(
    () => loadConfig({ DATABASE_URL: databaseUrl, PORT: 'eighty' }),
    /PORT must be an integer from 0 to 65535, got "eighty"/,
  );
  t.throws(() => loadConfig({ DATABASE_URL: databaseUrl, LOG_LEVEL: 'loud' }), /LOG_LEVEL must be one of/);
  t.throws(() => loadConfig({ DATABASE_URL: databaseUrl, REDIS_URL: 'http://x' }), /REDIS_URL is not a redis URL/);
  t.throws(
    () => loadConfig({ DATABASE_URL: databaseUrl, CLOUDWATCH_LOG_GROUP: 'taskoverflow' }),
    /CLOUDWATCH_LOG_GROUP is set \("taskoverflow"\) but no AWS region is/,
  );
  const shipping = loadConfig({
    DATABASE_URL: databaseUrl,
    CLOUDWATCH_LOG_GROUP: 'taskoverflow',
    AWS_REGION: 'eu-west-1',
    SERVICE_INSTANCE: 'todo-read-7',
  });
  t.match(shipping.logTargets, [
    {
      options: {
        logGroupName: 'taskoverflow',
        logStreamName: 'todo-read/todo-read-7',
        region: 'eu-west-1',
        createLogGroup: false,
      },
    },
  ]);
  const creating = loadConfig({
    DATABASE_URL: databaseUrl,
    CLOUDWATCH_LOG_GROUP: 'taskoverflow',
    AWS_REGION: 'eu-west-1',
    CLOUDWATCH_CREATE_LOG_GROUP: 'true',
  });
  t.match(
    creating.logTargets,
    [{ options: { createLogGroup: true } }],
    'a missing group is created only when CLOUDWATCH_CREATE_LOG_GROUP=true',
  );
  t.throws(
    () => loadConfig({ DATABASE_URL: databaseUrl, CLOUDWATCH_CREATE_LOG_GROUP: 'yes' }),
    /CLOUDWATCH_CREATE_LOG_GROUP must be true or false, got "yes"/,
  );
  t.same(loadConfig({ DATABASE_URL: databaseUrl }).logTargets, [], 'stdout only unless CLOUDWATCH_LOG_GROUP is set');
});
