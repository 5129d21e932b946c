/**
 * Fail fast at start-up on what a restart cannot fix: a service that cannot use its database,
 * or that its configured Redis rejects (AUTH), exits with one line saying what and where,
 * before it listens. (A Redis that does not answer is an outage it starts through:
 * services/todo-read/test/redis-at-startup.int.test.ts.) Each service runs as a real process
 * against the real PostgreSQL `pnpm test` provides, and a redis-server of this file's own.
 */
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createTlsServer } from 'node:tls';
import { promisify } from 'node:util';
import { ensureLocalServiceRoles, serviceDatabaseUrl, startRedisServer } from '@taskoverflow/stack';
import { SERVICES, type ServiceName } from '@taskoverflow/routing';
import { createTestDatabase, runServiceToExit } from '@taskoverflow/stack/testing';
import t from 'tap';

const database = await createTestDatabase();
t.teardown(() => database.drop());
await ensureLocalServiceRoles(process.env.TEST_DATABASE_URL!);

/** Runs a service until it exits, logging warnings and worse: its exit code and stderr. */
const start = (service: ServiceName, env: Record<string, string>) =>
  runServiceToExit(service, { LOG_LEVEL: 'warn', ...env });

/** A redis-server that requires a password: started without one, then given it (CONFIG SET requirepass). */
const REDIS_PASSWORD = 'the-right-token';
const redis = await startRedisServer();
t.teardown(() => redis.stop());
{
  const socket = connect({ host: '127.0.0.1', port: redis.port });
  await once(socket, 'connect');
  socket.write(`CONFIG SET requirepass ${REDIS_PASSWORD}\r\n`);
  const [reply] = (await once(socket, 'data')) as [Buffer];
  socket.destroy();
  if (!String(reply).startsWith('+OK')) throw new Error(`CONFIG SET requirepass: ${String(reply)}`);
}

/**
 * A TLS endpoint whose certificate no CA vouches for (self-signed, made by openssl for this
 * file): what a rediss:// URL meets when the CA bundle or the host name is wrong.
 */
const certificateDir = await mkdtemp(join(tmpdir(), 'taskoverflow-self-signed-'));
t.teardown(() => rm(certificateDir, { recursive: true, force: true }));
const [keyFile, certificateFile] = [join(certificateDir, 'key.pem'), join(certificateDir, 'certificate.pem')];
await promisify(execFile)('openssl', [
  'req',
  '-x509',
  '-newkey',
  'rsa:2048',
  '-nodes',
  '-days',
  '1',
  '-subj',
  '/CN=127.0.0.1',
  '-keyout',
  keyFile,
  '-out',
  certificateFile,
]);
const selfSigned = createTlsServer({ key: await readFile(keyFile), cert: await readFile(certificateFile) }, (socket) =>
  socket.destroy(),
);
await new Promise<void>((resolve) => selfSigned.listen(0, '127.0.0.1', resolve));
t.teardown(() => new Promise((resolve) => selfSigned.close(resolve)));
const selfSignedPort = (selfSigned.address() as { port: number }).port;

for (const service of SERVICES) {
  t.test(`${service} with a wrong database password exits with one clear line`, async (t) => {
    const url = new URL(serviceDatabaseUrl(database.url, service));
    url.password = 'wrong-password';
    const { code, stderr } = await start(service, { DATABASE_URL: url.href });
    t.equal(code, 1, 'exits 1');
    const lines = stderr.trimEnd().split('\n');
    t.equal(lines.length, 1, `one line: ${stderr}`);
    t.match(
      lines[0],
      new RegExp(
        `^${service} failed to start: cannot use PostgreSQL at ${url.username}@${url.host}${url.pathname}: password authentication failed`,
      ),
    );
    t.match(lines[0], /Check DATABASE_URL and PGPASSWORD/, 'names the fix');
  });

  for (const [problem, redisUrl, reply] of [
    ['a wrong Redis password', `redis://:wrong-token@127.0.0.1:${redis.port}`, 'WRONGPASS'],
    ['no password for a Redis that requires one', `redis://127.0.0.1:${redis.port}`, 'NOAUTH'],
    [
      'a Redis whose TLS certificate does not verify',
      `rediss://127.0.0.1:${selfSignedPort}`,
      'self-signed certificate',
    ],
  ] as const) {
    t.test(`${service} with ${problem} exits with one clear line`, async (t) => {
      const { code, stderr } = await start(service, {
        DATABASE_URL: serviceDatabaseUrl(database.url, service),
        REDIS_URL: redisUrl,
      });
      t.equal(code, 1, 'exits 1');
      const lines = stderr.trimEnd().split('\n');
      t.equal(lines.length, 1, `one line: ${stderr}`);
      const shown = new URL(redisUrl);
      if (shown.password) shown.password = '***';
      t.match(lines[0], `${service} failed to start: Redis at ${shown.href} rejects this service: ${reply}`);
      t.match(lines[0], /A restart cannot fix this: check REDIS_URL/, 'names the fix');
      t.notMatch(lines[0], 'wrong-token', 'without the password');
    });
  }
}
