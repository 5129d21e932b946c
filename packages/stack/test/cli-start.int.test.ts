import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';
import { findFreePort } from '../src/free-port.js';
import { createTestDatabase } from '../src/testing.js';

const startEntry = fileURLToPath(new URL('../src/cli/start.ts', import.meta.url));

/**
 * Runs `pnpm start`'s entry with `args`; `whileRunning` sees the output so far each time it
 * grows. Resolves with the exit code and all output.
 */
async function runStart(
  args: string[],
  env: NodeJS.ProcessEnv = {},
  whileRunning?: (output: string, child: ChildProcess) => void,
): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=development', startEntry, ...args], {
    env: { ...process.env, DATABASE_URL: '', PORT: '', LOG_LEVEL: 'warn', ...env },
  });
  let output = '';
  const collect = (chunk: Buffer): void => {
    output += chunk.toString();
    whileRunning?.(output, child);
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const [code] = await once(child, 'exit');
  return { code, output };
}

/**
 * A log directory of the test's own: a run writes its log files there instead of deleting
 * those of whoever runs `pnpm start` in this checkout.
 */
async function temporaryLogDir(t: Test): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'taskoverflow-cli-start-logs-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

t.test('--help prints the usage and exits 0', async (t) => {
  const { code, output } = await runStart(['--help']);
  t.equal(code, 0);
  t.match(
    output,
    /^Usage: pnpm start \[--port N\] \[--read-replicas N\] \[--balancer KIND\] \[--logs DIR\] \[--data DIR\] \[--pretty\]\n/,
  );
});

t.test('a bad flag value exits 2 naming the flag, with the usage', async (t) => {
  const { code, output } = await runStart(['--read-replicas', '0']);
  t.equal(code, 2);
  t.match(output, /✗ pnpm start: --read-replicas must be a whole number from 1 to 32 \(got "0"\)\n\nUsage: pnpm start/);
});

t.test('a balancer it does not know exits 2 naming the choices', async (t) => {
  const { code, output } = await runStart(['--balancer', 'nginx']);
  t.equal(code, 2);
  t.match(output, /✗ pnpm start: --balancer must be one of auto, haproxy, node \(it is "nginx"\)\n\nUsage: pnpm start/);
});

t.test('a port in use exits 1 saying how to pick another', async (t) => {
  const blocker = createServer().listen(0, '127.0.0.1');
  await once(blocker, 'listening');
  t.teardown(() => blocker.close());
  const { port } = blocker.address() as AddressInfo;

  const { code, output } = await runStart(['--port', String(port), '--logs', await temporaryLogDir(t)]);
  t.equal(code, 1);
  t.match(
    output,
    `✗ pnpm start: port ${port} on 127.0.0.1 is already in use: stop whatever listens there, or choose another port ` +
      '(is another pnpm start running? --port N chooses another)',
  );
});

t.test(
  'a DATABASE_URL where nothing answers exits 1 naming the problem and the fix, without a stack trace',
  async (t) => {
    const closedPort = await findFreePort(); // free: nothing listens there
    const url = `postgres://someone:secret@127.0.0.1:${closedPort}/taskoverflow`;
    const { code, output } = await runStart(['--port', '0', '--logs', await temporaryLogDir(t)], { DATABASE_URL: url });
    t.equal(code, 1);
    t.match(
      output,
      `✗ pnpm start: cannot connect to PostgreSQL at postgres://someone:***@127.0.0.1:${closedPort}/taskoverflow: ` +
        `connect ECONNREFUSED 127.0.0.1:${closedPort}. Check that the server runs and that the URL names it, its user and password; ` +
        'or unset DATABASE_URL to use the embedded PostgreSQL\n',
    );
    t.notMatch(output, /^\s+at /m, 'no stack trace');
    t.notMatch(output, /secret/, 'no password');
  },
);

t.test('runs the stack on DATABASE_URL, prints where, and stops cleanly on SIGINT, exiting 130', async (t) => {
  const database = await createTestDatabase();
  t.teardown(() => database.drop());

  const logDir = await temporaryLogDir(t);

  let health: Promise<number> | undefined;
  const args = ['--port', '0', '--read-replicas', '1', '--logs', logDir];
  const { code, output } = await runStart(args, { DATABASE_URL: database.url }, (output, child) => {
    const url = /TaskOverflow is running at (http:\/\/\S+)/.exec(output)?.[1];
    if (url && !health) {
      health = fetch(`${url}/api/v1/health`).then((response) => response.status);
      void health.finally(() => child.kill('SIGINT'));
    }
  });
  t.equal(await health, 200, 'the API answered through the edge');
  t.equal(code, 130, 'exit code 130 (128 + SIGINT) when run without pnpm');
  t.match(
    output,
    /^build: tsc -b \(services and load balancer\)…\nbuild: compiled to dist\/ ✓ \(\d+\.\d s\)\n/,
    'it built first, saying so',
  );
  t.match(output, /migrations: up to date ✓/, 'createTestDatabase migrated it already');
  t.match(
    output,
    /\nedge \(HAProxy \d[^)]*\): http:\/\/127\.0\.0\.1:\d+ → todo-read ×1, todo-write ×1 ✓\n/,
    'HAProxy, installed, is the edge; the progress says so',
  );
  t.match(output, /│ {3}todo-read-1 +http:\/\/127\.0\.0\.1:\d+ +│/);
  t.match(
    output,
    /postgres +postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:\d+\/test_/,
    'the given URL is shown without its password',
  );
  t.match(output, /SIGINT: stopping… \(again to exit at once\)\nstopped ✓\n$/);
  t.match(output, `Logs: ${logDir}/<instance>.log; follow a request with: pnpm trace --logs ${logDir} <x-request-id>`);
  t.same(
    (await readdir(logDir)).sort(),
    ['edge.log', 'todo-read-1.log', 'todo-write-1.log'],
    'the log files went to --logs',
  );
});
