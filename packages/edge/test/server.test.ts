import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { ConfigError, type Env } from '@taskoverflow/config';
import { readEdgeConfig } from '../src/config.js';
import { DEFAULT_CLIENT_LIMITS } from '../src/client-limits.js';
import { DEFAULT_REPLICA_QUEUE } from '../src/replica.js';

const serverEntry = fileURLToPath(new URL('../src/server.ts', import.meta.url));

t.test('readEdgeConfig reads host, port, both upstream lists, the logging and the stats interval', async (t) => {
  t.same(
    readEdgeConfig({
      PORT: '9000',
      READ_UPSTREAMS: 'http://127.0.0.1:3101, http://127.0.0.1:3102',
      WRITE_UPSTREAMS: 'http://127.0.0.1:3201',
      LOG_LEVEL: 'warn',
      LOG_FILE: '/tmp/edge.log',
      STATS_INTERVAL_MS: '1000',
    }),
    {
      host: '127.0.0.1',
      port: 9000,
      upstreams: {
        'todo-read': ['http://127.0.0.1:3101', 'http://127.0.0.1:3102'],
        'todo-write': ['http://127.0.0.1:3201'],
      },
      queue: DEFAULT_REPLICA_QUEUE,
      limits: DEFAULT_CLIENT_LIMITS,
      allowedHosts: ['127.0.0.1', 'localhost', '[::1]'],
      logLevel: 'warn',
      logFile: '/tmp/edge.log',
      statsIntervalMs: 1000,
    },
  );
  t.equal(
    readEdgeConfig({ READ_UPSTREAMS: 'http://127.0.0.1:3101', WRITE_UPSTREAMS: 'http://127.0.0.1:3201' })
      .statsIntervalMs,
    5000,
    'every 5 s by default, as the services',
  );
});

const valid = { READ_UPSTREAMS: 'http://127.0.0.1:3101', WRITE_UPSTREAMS: 'http://127.0.0.1:3201' };

/** The problems a ConfigError from readEdgeConfig lists, or [] if it accepts `env`. */
function problems(env: Env): string[] {
  try {
    readEdgeConfig(env);
    return [];
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return error.problems;
  }
}

t.test('readEdgeConfig reads the bounds of the queue in front of each replica', async (t) => {
  t.same(readEdgeConfig({ ...valid, EDGE_REPLICA_CONNECTIONS: '8', EDGE_MAX_QUEUE_WAIT_MS: '20' }).queue, {
    ...DEFAULT_REPLICA_QUEUE,
    connections: 8,
    maxQueueWaitMs: 20,
  });
  t.same(problems({ ...valid, EDGE_REPLICA_CONNECTIONS: '0' }), [
    'EDGE_REPLICA_CONNECTIONS must be an integer from 1 to 10000, got "0"',
  ]);
  t.match(problems({ ...valid, EDGE_MAX_QUEUE_WAIT_MS: '1.5' }), [/^EDGE_MAX_QUEUE_WAIT_MS must be an integer/]);
});

t.test('readEdgeConfig reads what a client may hold: timeouts and connection caps', async (t) => {
  t.same(
    readEdgeConfig({
      ...valid,
      EDGE_HEADERS_TIMEOUT_MS: '2000',
      EDGE_REQUEST_TIMEOUT_MS: '3000',
      EDGE_CLIENT_DRAIN_TIMEOUT_MS: '1500',
      EDGE_MAX_BUFFERED_MB: '8',
      EDGE_MAX_CONNECTIONS: '500',
      EDGE_MAX_CONNECTIONS_PER_CLIENT: '50',
    }).limits,
    {
      headersTimeoutMs: 2000,
      requestTimeoutMs: 3000,
      drainTimeoutMs: 1500,
      maxBufferedBytes: 8 * 1024 * 1024,
      maxConnections: 500,
      maxConnectionsPerClient: 50,
    },
  );
  t.same(problems({ ...valid, EDGE_HEADERS_TIMEOUT_MS: '20000' }), [
    'EDGE_HEADERS_TIMEOUT_MS (20000) must not exceed EDGE_REQUEST_TIMEOUT_MS (10000), which bounds the whole request, headers included: lower the first or raise the second',
  ]);
  t.match(problems({ ...valid, EDGE_CLIENT_DRAIN_TIMEOUT_MS: '0' }), [
    /^EDGE_CLIENT_DRAIN_TIMEOUT_MS must be an integer from 100/,
  ]);
});

t.test(
  'readEdgeConfig: on loopback only the loopback Host names are served, elsewhere any; EDGE_ALLOWED_HOSTS says otherwise',
  async (t) => {
    t.same(readEdgeConfig(valid).allowedHosts, ['127.0.0.1', 'localhost', '[::1]']);
    t.equal(readEdgeConfig({ ...valid, HOST: '0.0.0.0' }).allowedHosts, undefined, 'in a container: any Host');
    t.equal(readEdgeConfig({ ...valid, EDGE_ALLOWED_HOSTS: '*' }).allowedHosts, undefined);
    t.same(readEdgeConfig({ ...valid, EDGE_ALLOWED_HOSTS: 'localhost, todo.test:8080,[::1]' }).allowedHosts, [
      'localhost',
      'todo.test:8080',
      '[::1]',
    ]);
    t.same(problems({ ...valid, EDGE_ALLOWED_HOSTS: 'http://evil/' }), [
      'EDGE_ALLOWED_HOSTS must list Host names, comma-separated (e.g. localhost,todo.test:8080), or be *; "http://evil/" is not one',
    ]);
  },
);

t.test('readEdgeConfig reports every bad value at once, each naming the variable and a valid value', async (t) => {
  t.same(problems({ PORT: 'eighty', WRITE_UPSTREAMS: '127.0.0.1:3201', LOG_LEVEL: 'loud' }), [
    'PORT must be an integer from 0 to 65535, got "eighty"',
    "READ_UPSTREAMS must list the replicas' base URLs, comma-separated, e.g. READ_UPSTREAMS=http://127.0.0.1:3101,http://127.0.0.1:3102 (it is unset)",
    'WRITE_UPSTREAMS must list the replicas\' base URLs, comma-separated, e.g. WRITE_UPSTREAMS=http://127.0.0.1:3201 ("127.0.0.1:3201" is not an http:// URL)',
    'LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent, got "loud"',
  ]);
  t.throws(() => readEdgeConfig({}), { code: 'TASKOVERFLOW_INVALID_CONFIGURATION' }, 'a ConfigError, by its code');
});

/** Runs server.ts with `env`; resolves with its exit code and output. */
function runServer(env: NodeJS.ProcessEnv, onListening?: (child: ReturnType<typeof spawn>) => void) {
  const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=development', serverEntry], {
    env: { ...process.env, HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'warn', ...env },
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
    if (onListening && output.includes('edge listening on')) {
      onListening(child);
      onListening = undefined;
    }
  });
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return once(child, 'exit').then(([code]) => ({ code: code as number | null, output }));
}

t.test('server.ts exits 1 with the problem when the configuration is invalid', async (t) => {
  const { code, output } = await runServer({ READ_UPSTREAMS: 'http://127.0.0.1:3101', WRITE_UPSTREAMS: '' });
  t.equal(code, 1);
  t.equal(
    output,
    "edge: invalid configuration:\n  - WRITE_UPSTREAMS must list the replicas' base URLs, comma-separated, e.g. WRITE_UPSTREAMS=http://127.0.0.1:3201 (it is empty)\n",
  );
});

t.test('server.ts says where it listens and routes, and exits 0 on SIGTERM', async (t) => {
  const { code, output } = await runServer(
    { READ_UPSTREAMS: 'http://127.0.0.1:3101,http://127.0.0.1:3102', WRITE_UPSTREAMS: 'http://127.0.0.1:3201' },
    (child) => child.kill('SIGTERM'),
  );
  t.equal(code, 0);
  t.match(
    output,
    /^edge listening on http:\/\/127\.0\.0\.1:\d+; todo-read → http:\/\/127\.0\.0\.1:3101, http:\/\/127\.0\.0\.1:3102; todo-write → http:\/\/127\.0\.0\.1:3201\n$/,
  );
});
