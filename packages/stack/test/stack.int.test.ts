import t from 'tap';
import { HEALTH_PATH } from '@taskoverflow/routing';
import { startTestStack, waitForLogLine, type LogLine } from '../src/testing.js';

// Not about overload: startTestStack's services do not shed (a busy CI machine made one of
// this file's reads a 503).
const stack = await startTestStack(t);

/** Whether `instance`'s log file gets a line that `matches` (it is written after the response). */
async function logged(instance: string, matches: (line: LogLine) => boolean): Promise<boolean> {
  return waitForLogLine(stack, matches, { instance }).then(
    () => true,
    () => false,
  );
}

t.test('runs todo-write and two todo-read replicas behind the edge', async (t) => {
  t.match(stack.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  t.match(stack.databaseUrl, /\/test_\w+$/, "the test's own database");
  t.equal(stack.readUrls.length, 2);
  t.same(
    stack.services.map(({ instance }) => instance),
    ['todo-write-1', 'todo-read-1', 'todo-read-2'],
  );
  for (const { url } of stack.services) {
    t.equal((await fetch(`${url}${HEALTH_PATH}`)).status, 200, `${url} is healthy`);
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
  const readOf = (line: LogLine): boolean => line.url === `/api/v1/todos/${todo.id}`;
  t.ok(await logged('todo-read-1', readOf), 'todo-read-1 served one of the reads');
  t.ok(await logged('todo-read-2', readOf), 'todo-read-2 served the other');
  t.ok(
    await logged('todo-write-1', (line) => line.request_id === 'stack-test-write'),
    'the request id reached the write service and its logs',
  );
});

t.test('stop() stops everything, and again is harmless', async (t) => {
  // Taken before stop(), which empties stack.services.
  const urls = [stack.url, ...stack.services.map((service) => service.url)];
  await stack.stop();
  await stack.stop();
  for (const url of urls) {
    await t.rejects(fetch(`${url}${HEALTH_PATH}`), `${url} is closed`);
  }
});
