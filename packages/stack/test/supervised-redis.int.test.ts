/**
 * `pnpm start`'s redis-server is started again on its port when it dies, and each event is
 * reported; one that keeps dying is left down, and that is reported too. A real redis-server,
 * shut down from outside (SHUTDOWN NOSAVE, as a crash would end it).
 */
import { once } from 'node:events';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { startSupervisedRedis } from '../src/supervised-redis.js';

/** Bound on each wait for a report: generous, for a busy 2-core machine. */
const WAIT_MS = 15_000;

/** Sends one inline command to the server on `port`; its reply, or the error connecting. */
async function command(port: number, text: string): Promise<string> {
  const socket = connect({ host: '127.0.0.1', port });
  try {
    await once(socket, 'connect');
    socket.write(`${text}\r\n`);
    const reply = await Promise.race([
      once(socket, 'data').then(([data]) => String(data)),
      once(socket, 'close').then(() => '(closed)'),
    ]);
    return reply;
  } catch (error) {
    return (error as { code?: string }).code ?? String(error);
  } finally {
    socket.destroy();
  }
}

async function waitForReport(reports: string[], fragment: string, from: number): Promise<string> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const found = reports.slice(from).find((line) => line.includes(fragment));
    if (found) return found;
    if (Date.now() > deadline)
      throw new Error(`no report with "${fragment}" within ${WAIT_MS} ms; reports: ${reports.join(' | ')}`);
    await sleep(20);
  }
}

t.test('a redis-server that dies is started again on its port, and that is said', async (t) => {
  const reports: string[] = [];
  const redis = await startSupervisedRedis((line) => reports.push(line));
  t.teardown(() => redis.stop());
  t.match(await command(redis.port, 'SET key before'), '+OK');

  await command(redis.port, 'SHUTDOWN NOSAVE');
  t.match(
    await waitForReport(reports, 'exited unexpectedly', 0),
    `redis: redis-server on port ${redis.port} exited unexpectedly: the services serve uncached`,
  );
  t.match(await waitForReport(reports, 'back on port', 0), `redis: redis-server back on port ${redis.port} ✓`);
  t.match(await command(redis.port, 'PING'), '+PONG', 'answers on the same port');
  t.match(await command(redis.port, 'GET key'), '$-1', 'empty: a throwaway cache');

  await redis.stop();
  t.equal(await command(redis.port, 'PING'), 'ECONNREFUSED', 'stop() stops it for good');
  t.equal(reports.filter((line) => line.includes('exited unexpectedly')).length, 1, 'and is no unexpected exit');
});

t.test('one that keeps dying is left down after 3 restarts within a minute, and that is said', async (t) => {
  const reports: string[] = [];
  const redis = await startSupervisedRedis((line) => reports.push(line));
  t.teardown(() => redis.stop());
  for (let restart = 1; restart <= 3; restart += 1) {
    const seen = reports.length;
    await command(redis.port, 'SHUTDOWN NOSAVE');
    await waitForReport(reports, 'back on port', seen);
  }
  await command(redis.port, 'SHUTDOWN NOSAVE');
  t.match(await waitForReport(reports, 'exited again', 0), 'running WITHOUT the read cache from now on');
  t.equal(await command(redis.port, 'PING'), 'ECONNREFUSED', 'left down');
});
