import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { EdgeConfigError, readEdgeConfig } from '../src/config.js';
import { DEFAULT_REPLICA_QUEUE } from '../src/replica.js';

const serverEntry = fileURLToPath(new URL('../src/server.ts', import.meta.url));

t.test('readEdgeConfig reads host, port and both upstream lists', async (t) => {
  t.same(
    readEdgeConfig({
      PORT: '9000',
      READ_UPSTREAMS: 'http://127.0.0.1:3101, http://127.0.0.1:3102',
      WRITE_UPSTREAMS: 'http://127.0.0.1:3201',
    }),
    {
      host: '127.0.0.1',
      port: 9000,
      upstreams: {
        'todo-read': ['http://127.0.0.1:3101', 'http://127.0.0.1:3102'],
        'todo-write': ['http://127.0.0.1:3201'],
      },
      queue: DEFAULT_REPLICA_QUEUE,
    },
  );
});

t.test('readEdgeConfig reads the bounds of the queue in front of each replica', async (t) => {
  const valid = { READ_UPSTREAMS: 'http://127.0.0.1:3101', WRITE_UPSTREAMS: 'http://127.0.0.1:3201' };
  t.same(readEdgeConfig({ ...valid, EDGE_REPLICA_CONNECTIONS: '8', EDGE_QUEUE_LIMIT: '0', EDGE_QUEUE_TIMEOUT_MS: '20' }).queue, {
    ...DEFAULT_REPLICA_QUEUE,
    connections: 8,
    queueLimit: 0,
    queueTimeoutMs: 20,
  });
  t.throws(() => readEdgeConfig({ ...valid, EDGE_REPLICA_CONNECTIONS: '0' }), {
    name: 'EdgeConfigError',
    message: 'EDGE_REPLICA_CONNECTIONS must be a whole number of at least 1, e.g. EDGE_REPLICA_CONNECTIONS=64 (got "0")',
  });
  t.throws(() => readEdgeConfig({ ...valid, EDGE_QUEUE_TIMEOUT_MS: '1.5' }), { message: /^EDGE_QUEUE_TIMEOUT_MS must be a whole number/ });
});

t.test('readEdgeConfig names the variable at fault and shows a valid value', async (t) => {
  const valid = { READ_UPSTREAMS: 'http://127.0.0.1:3101', WRITE_UPSTREAMS: 'http://127.0.0.1:3201' };
  t.throws(() => readEdgeConfig({ ...valid, READ_UPSTREAMS: undefined }), {
    name: 'EdgeConfigError',
    message: 'READ_UPSTREAMS must list the replicas\' base URLs, comma-separated, e.g. READ_UPSTREAMS=http://127.0.0.1:3101,http://127.0.0.1:3102 (it is unset)',
  });
  t.throws(() => readEdgeConfig({ ...valid, WRITE_UPSTREAMS: '127.0.0.1:3201' }), {
    message: /^WRITE_UPSTREAMS must list .* \("127\.0\.0\.1:3201" is not an http:\/\/ URL\)$/,
  });
  t.throws(() => readEdgeConfig({ ...valid, PORT: 'eighty' }), new EdgeConfigError('PORT must be a port number from 0 to 65535, e.g. PORT=8080 (got "eighty")'));
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
  t.match(output, /^edge: WRITE_UPSTREAMS must list the replicas' base URLs, comma-separated, e.g. WRITE_UPSTREAMS=http:\/\/127\.0\.0\.1:3201 \(it is empty\)\n$/);
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
