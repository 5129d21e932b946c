/**
 * An Idempotency-Key is a client's credential for its create: whoever has it can replay the
 * create's answer, so its value appears in no log line (issue 20), at any level. In-process
 * over real PostgreSQL, logging at debug to LOG_FILE; closing the app flushes the file.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase, TEST_SERVICE_ENV } from '@taskoverflow/stack/testing';
import t from 'tap';
import { buildTodoWriteApp, loadConfig } from '../src/app.js';

const database = await createTestDatabase();
const logDir = await mkdtemp(join(tmpdir(), 'taskoverflow-idempotency-log-'));
t.teardown(async () => {
  await database.drop();
  await rm(logDir, { recursive: true, force: true });
});

t.test('a create, its replay and a reuse with another body log no Idempotency-Key value', async (t) => {
  const logFile = join(logDir, 'todo-write.log');
  const app = await buildTodoWriteApp(
    loadConfig({ ...TEST_SERVICE_ENV, DATABASE_URL: database.url, LOG_FILE: logFile, LOG_LEVEL: 'debug' }),
  );
  t.teardown(() => app.close());
  const base = await app.listen({ host: '127.0.0.1', port: 0 });
  const key = 'secret-key-5f0c2a9e-0d4b-4c1e-9a57-3c2f1b7e8d60';
  const post = async (title: string, requestId: string) => {
    const response = await fetch(`${base}/api/v1/todos`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': key, 'x-request-id': requestId },
      body: JSON.stringify({ title }),
    });
    await response.arrayBuffer();
    return response.status;
  };
  t.equal(await post('once', 'key-create'), 201);
  t.equal(await post('once', 'key-replay'), 201, 'the replay answers as the first did');
  t.equal(await post('another', 'key-reused'), 422);

  await app.close();
  const lines = (await readFile(logFile, 'utf8')).split('\n').filter((line) => line !== '');
  const requestIds = new Set(lines.map((line) => (JSON.parse(line) as { request_id?: string }).request_id));
  t.ok(
    ['key-create', 'key-replay', 'key-reused'].every((id) => requestIds.has(id)),
    'each request logged',
  );
  t.ok(
    lines.some((line) => line.includes('idempotent retry')),
    'the replay is logged',
  );
  t.same(
    lines.filter((line) => line.includes(key.slice('secret-key-'.length))),
    [],
    'no line holds the key',
  );
});
