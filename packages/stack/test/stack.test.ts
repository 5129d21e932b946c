import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { startLocalStack } from '../src/stack.js';
import { createTestDatabase } from '../src/testing.js';

/** Whether `check` holds within a second: log lines come through a pipe, after the response. */
async function eventually(check: () => boolean): Promise<boolean> {
  for (let attempt = 0; attempt < 50 && !check(); attempt += 1) await sleep(20);
  return check();
}

const database = await createTestDatabase();
t.teardown(() => database.drop());

const logs: Array<{ instance: string; line: string }> = [];
const stack = await startLocalStack({
  databaseUrl: database.url,
  port: 0,
  quiet: true,
  onLog: (instance, line) => logs.push({ instance, line }),
});
t.teardown(() => stack.stop());

t.test('runs todo-write and two todo-read replicas behind the edge', async (t) => {
  t.match(stack.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  t.equal(stack.databaseUrl, database.url);
  t.equal(stack.readUrls.length, 2);
  t.same(
    stack.services.map(({ instance }) => instance),
    ['todo-write-1', 'todo-read-1', 'todo-read-2'],
  );
  for (const { url } of stack.services) {
    t.equal((await fetch(`${url}/api/v1/health`)).status, 200, `${url} is healthy`);
  }
});

t.test('serves the API through the edge: a write, then reads on both replicas', async (t) => {
  const created = await fetch(`${stack.url}/api/v1/todos`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-request-id': 'stack-test-write' },
    body: JSON.stringify({ title: 'through the edge' }),
  });
  t.equal(created.status, 201);
  t.equal(created.headers.get('x-request-id'), 'stack-test-write');
  const todo = (await created.json()) as { id: number; title: string };

  // Round robin: two reads in a row land on both replicas; both must see the write.
  for (let i = 0; i < 2; i += 1) {
    const read = await fetch(`${stack.url}/api/v1/todos/${todo.id}`);
    t.equal(read.status, 200);
    t.match(await read.json(), { id: todo.id, title: 'through the edge' });
  }
  const logged = (instance: string, text: string): Promise<boolean> =>
    eventually(() => logs.some((entry) => entry.instance === instance && entry.line.includes(text)));
  t.ok(await logged('todo-read-1', `/api/v1/todos/${todo.id}`), 'todo-read-1 served one of the reads');
  t.ok(await logged('todo-read-2', `/api/v1/todos/${todo.id}`), 'todo-read-2 served the other');
  t.ok(await logged('todo-write-1', 'stack-test-write'), 'the request id reached the write service and its logs');
});

t.test('stop() stops everything, and again is harmless', async (t) => {
  await stack.stop();
  await stack.stop();
  for (const url of [stack.url, ...stack.services.map((service) => service.url)]) {
    await t.rejects(fetch(`${url}/api/v1/health`), `${url} is closed`);
  }
});
