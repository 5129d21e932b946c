import { fileURLToPath } from 'node:url';
import { HEALTH_PATH } from '@taskoverflow/routing';
import t from 'tap';
import { findFreePort } from '../src/free-port.js';
import { startServiceProcess, type ServiceProcessOptions } from '../src/processes.js';

const fixture = (name: string): string => fileURLToPath(new URL(`fixtures/${name}`, import.meta.url));

/** Options for a fixture service on a free port; `lines` collects what it prints. */
async function fixtureService(entry: string, env: Record<string, string> = {}) {
  const port = await findFreePort();
  const lines: string[] = [];
  const options: ServiceProcessOptions = {
    instance: 'fixture-1',
    entry: fixture(entry),
    env: { PORT: String(port), SERVICE_INSTANCE: 'fixture-1', ...env },
    healthUrl: `http://127.0.0.1:${port}${HEALTH_PATH}`,
    onLine: (line) => lines.push(line),
  };
  return { options, lines, healthUrl: options.healthUrl };
}

t.test('resolves once the health URL answers 200, and stop() ends the process', async (t) => {
  const { options, lines, healthUrl } = await fixtureService('health-server.ts');
  const service = await startServiceProcess(options);
  t.teardown(() => service.stop());

  t.equal((await fetch(healthUrl)).status, 200);

  await service.stop();
  t.match(
    JSON.parse(lines[0]!),
    { msg: 'listening', instance: 'fixture-1' },
    'the environment reached it, its output reached us',
  );
  t.equal(lines[1], 'closing', 'it was asked to stop with SIGTERM');
  await t.rejects(fetch(healthUrl), 'nothing listens any more');
  await service.stop();
  t.pass('stop() again is harmless');
});

t.test('fails with the tail of its output when the process exits before it is ready', async (t) => {
  const { options } = await fixtureService('crash.ts');
  await t.rejects(startServiceProcess(options), {
    message:
      /^fixture-1 exited with code 3 before it was ready; its last output:\n {2}(about to fail\n {2}boom: DATABASE_URL is not set|boom: DATABASE_URL is not set\n {2}about to fail)$/,
  });
});

t.test('fails, and stops the process, when it is not ready in time', async (t) => {
  const { options, lines, healthUrl } = await fixtureService('health-server.ts', { HEALTH_STATUS: '503' });
  // Long enough for it to start listening (and answer 503) even on a busy machine.
  const error = await startServiceProcess({ ...options, readyTimeoutMs: 3_000 }).catch((error: Error) => error);
  t.equal(
    (error as Error).message,
    `fixture-1 did not answer GET ${healthUrl} with 200 within 3 s; its last output:\n  ${lines.join('\n  ')}`,
  );
  t.equal(lines.at(-1), 'closing', 'it was stopped');
});

t.test('stop() kills a process that ignores SIGTERM once the grace period is over', async (t) => {
  const { options } = await fixtureService('health-server.ts', { IGNORE_SIGTERM: '1' });
  const service = await startServiceProcess({ ...options, stopGraceMs: 200 });
  const started = Date.now();
  await service.stop();
  t.ok(Date.now() - started >= 200, 'it waited for the grace period');
});
