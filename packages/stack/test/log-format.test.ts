import t from 'tap';
import { formatLogLine } from '../src/log-format.js';

t.test('shows time, level, message and the other fields of a pino line', async (t) => {
  const line = JSON.stringify({
    level: 30,
    time: '2026-04-18T05:46:10.381Z',
    service: 'todo-read',
    hostname: 'box',
    pid: 7,
    request_id: 'abc',
    msg: 'request completed',
    status: 200,
    url: '/api/v1/todos?completed=true',
    cache: { hit: true },
    note: 'two words',
  });
  t.equal(
    formatLogLine(line),
    '05:46:10.381 INFO  request completed request_id=abc status=200 url="/api/v1/todos?completed=true" cache={"hit":true} note="two words"',
  );
});

t.test('accepts level labels and epoch times, and puts error stacks below', async (t) => {
  const line = JSON.stringify({
    level: 'error',
    time: Date.UTC(2026, 0, 1, 12),
    msg: 'failed',
    err: { message: 'x', stack: 'Error: x\n    at f' },
  });
  t.equal(formatLogLine(line), '12:00:00.000 ERROR failed\n    Error: x\n        at f');
});

t.test('leaves lines that are not JSON objects alone', async (t) => {
  t.equal(formatLogLine('plain text'), 'plain text');
  t.equal(formatLogLine('42'), '42');
});
