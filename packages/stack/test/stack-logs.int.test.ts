/**
 * Logs off the data path: each service writes its own log file, and the process that runs the
 * stack sees only what its console shows (warnings, errors, stats), never each request's lines.
 * The edge's lines are in its file too: the Node edge writes it, HAProxy's are relayed to it
 * (HAProxy logs only to stdout or syslog), never to the console.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { startLocalStack } from '../src/stack.js';
import { createTestDatabase, readLogLines, TEST_SERVICE_ENV, waitForLogLine } from '../src/testing.js';

const database = await createTestDatabase();
t.teardown(() => database.drop());

/** What the stack printed on its console. */
let consoleText = '';
// Stats every 200 ms, so that a summary comes soon: from every instance, as with
// `STATS_INTERVAL_MS=200 pnpm start` (the edge and the services inherit the environment).
process.env.STATS_INTERVAL_MS = '200';
const stack = await startLocalStack({
  databaseUrl: database.url,
  port: 0,
  readReplicas: 1,
  console: { write: (text: string) => void (consoleText += text) },
  // Without a cache each service warns at start-up.
  serviceEnv: { ...TEST_SERVICE_ENV, REDIS_URL: '', LOG_LEVEL: 'info' },
});
t.teardown(() => stack.stop());

/** Until `pattern` is on the console, for at most `timeoutMs`. */
async function consoleShows(pattern: RegExp, timeoutMs = 10_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!pattern.test(consoleText) && Date.now() < deadline) await sleep(50);
  return pattern.test(consoleText);
}

t.test("each request's lines go to the instance's own file, not through the stack's process", async (t) => {
  for (let i = 0; i < 5; i += 1) {
    const response = await fetch(`${stack.url}/api/v1/todos`, { headers: { 'x-request-id': `stack-logs-${i}` } });
    t.equal(response.status, 200);
    await response.body?.cancel();
  }
  const finished = await waitForLogLine(
    stack,
    (line) => line.request_id === 'stack-logs-4' && line.msg === 'request finished',
    {
      instance: 'todo-read-1',
      description: 'the read’s "request finished" line',
    },
  );
  t.match(finished, { service: 'todo-read', hostname: 'todo-read-1', status: 200 });
  const proxied = await waitForLogLine(stack, (line) => line.request_id === 'stack-logs-4', {
    instance: 'edge',
    description: 'the edge’s line of the read',
  });
  t.match(proxied, { service: 'edge' }, 'the edge has its own file too');
  t.ok(
    (await readLogLines(stack, 'todo-write-1')).some(
      (line) => line.msg === 'REDIS_URL is not set: todo-write does not invalidate a cache',
    ),
    'todo-write-1 has a file of its own, warnings included',
  );

  // A summary row starts with the instance's name and a figure (its lines start `name │`).
  t.ok(await consoleShows(/^── .* per instance, last \d+ s ──$/m), 'the console shows a summary');
  t.ok(await consoleShows(/^todo-read-1 +\d/m), 'with a row for todo-read-1');
  t.ok(await consoleShows(/^edge +\d/m), 'and one for the edge, from its own stats line');
  t.match(
    consoleText,
    /^todo-read-1 +│ \S+ WARN {2}REDIS_URL is not set: todo-read runs uncached/m,
    'and its warning, readable',
  );
  t.match(
    consoleText,
    /^edge \((HAProxy \d|Node edge)[^)]*\): http:\/\/127\.0\.0\.1:\d+ → todo-read ×1, todo-write ×1 ✓$/m,
    'and the start-up progress, naming the balancer',
  );
  t.notMatch(consoleText, /stack-logs-|request finished|"level":/, 'but no request line, and nothing raw');
});
