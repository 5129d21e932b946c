/**
 * todo-write's canonical `request finished` line, in-process over real PostgreSQL, logging to
 * LOG_FILE as under `pnpm start`: a write's line counts its SQL statements and their time.
 * Closing the app flushes the file, so the test reads it once, after closing.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase } from '@taskoverflow/stack/testing';
import t from 'tap';
import { buildTodoWriteApp, loadConfig } from '../src/app.js';

type LogLine = Record<string, unknown> & { msg: string; request_id?: string };

const database = await createTestDatabase();
const logDir = await mkdtemp(join(tmpdir(), 'taskoverflow-request-log-'));
t.teardown(async () => {
  await database.drop();
  await rm(logDir, { recursive: true, force: true });
});

t.test('a write: one canonical line with its route pattern and its SQL statements counted and timed', async (t) => {
  const logFile = join(logDir, 'todo-write.log');
  const app = await buildTodoWriteApp(
    loadConfig({
      DATABASE_URL: database.url,
      SHED_EVENT_LOOP_DELAY_MS: '0',
      LOG_FILE: logFile,
      STATS_INTERVAL_MS: '60000',
    }),
  );
  t.teardown(() => app.close());
  const base = await app.listen({ host: '127.0.0.1', port: 0 });
  const send = (method: string, path: string, requestId: string, body: unknown) =>
    fetch(`${base}${path}`, {
      method,
      headers: { 'content-type': 'application/json', 'x-request-id': requestId },
      body: JSON.stringify(body),
    });
  const created = await send('POST', '/api/v1/todos', 'log-create', { title: 'logged' });
  const createdText = await created.text();
  t.equal(created.status, 201);
  const { id } = JSON.parse(createdText) as { id: number };
  const updated = await send('PUT', `/api/v1/todos/${id}`, 'log-update', { completed: true });
  await updated.arrayBuffer();
  t.equal(updated.status, 200);

  await app.close();
  const lines = (await readFile(logFile, 'utf8'))
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as LogLine);
  for (const [requestId, method, url, route, status] of [
    ['log-create', 'POST', '/api/v1/todos', '/api/v1/todos', 201],
    ['log-update', 'PUT', `/api/v1/todos/${id}`, '/api/v1/todos/:id', 200],
  ] as const) {
    const ofRequest = lines.filter((line) => line.request_id === requestId);
    const queries = ofRequest.filter((line) => line.msg === 'query');
    t.same(
      ofRequest.filter((line) => line.msg !== 'query').map((line) => line.msg),
      ['request finished'],
      `${requestId}: one line besides its SQL`,
    );
    const finished = ofRequest.find((line) => line.msg === 'request finished')!;
    t.match(finished, {
      level: 'info',
      method,
      url,
      route,
      status,
      duration_ms: Number,
      bytes: Number,
      db_queries: queries.length,
      db_ms: Number,
    });
    t.ok(queries.length > 0, `${requestId}: a write runs SQL (${queries.length} statements)`);
    const queryMs = queries.reduce((sum, line) => sum + (line.duration_ms as number), 0);
    const dbMs = finished.db_ms as number;
    t.ok(Math.abs(dbMs - queryMs) < 0.01, `${requestId}: db_ms (${dbMs}) is the sum of its statements' (${queryMs})`);
  }
  const createLine = lines.find((line) => line.request_id === 'log-create' && line.msg === 'request finished');
  t.equal(createLine?.bytes, Buffer.byteLength(createdText), 'bytes: the size of the body sent');
  t.match(
    lines.filter((line) => line.msg === 'stats'),
    [{ requests: 2, status_5xx: 0 }],
    'closing writes the stats line',
  );
});
