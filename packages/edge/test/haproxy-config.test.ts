/**
 * HAProxy's configuration as the edge: generated from the routing table and the EDGE_*
 * settings, and accepted by the real haproxy (`haproxy -c`). Its behaviour with real traffic
 * is tested with the Node edge's (packages/stack/test/edge-process.test.ts, test/hostile).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { routingRules } from '@taskoverflow/routing';
import t from 'tap';
import { readEdgeConfig } from '../src/config.js';
import { HAPROXY_LOG_FORMAT, haproxySetup, type HaproxySetupOptions } from '../src/haproxy-config.js';

const UPSTREAMS = {
  READ_UPSTREAMS: 'http://127.0.0.1:3101,http://127.0.0.1:3102',
  WRITE_UPSTREAMS: 'http://127.0.0.1:3201',
};
const OPTIONS: HaproxySetupOptions = {
  dir: '/run/edge',
  adminSocket: '/run/edge/admin.sock',
  spareSlots: 2,
  fileDescriptorLimit: 65_536,
  logFd: 3,
};

function lines(config: string, prefix: string): string[] {
  return config
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.startsWith(prefix));
}

t.test('a use_backend per routing rule, in priority order, then the default', async (t) => {
  const { config } = haproxySetup(readEdgeConfig(UPSTREAMS), OPTIONS);
  const rules = [...routingRules].sort((a, b) => a.priority - b.priority);
  t.same(
    lines(config, 'use_backend'),
    rules.map((rule) => `use_backend ${rule.service} if ${rule.name}_method ${rule.name}_path`),
  );
  for (const rule of rules) {
    t.same(lines(config, `acl ${rule.name}_method `), [`acl ${rule.name}_method method ${rule.methods.join(' ')}`]);
    const [pathAcl] = lines(config, `acl ${rule.name}_path `);
    t.equal(pathAcl?.match(/'[^']+'/g)?.length, rule.pathPatterns.length, `${rule.name}: one regex per path pattern`);
  }
  t.same(lines(config, 'default_backend'), ['default_backend todo-read']);
});

t.test('each backend has its replicas, then spare slots in maintenance for rolling restarts', async (t) => {
  const { config } = haproxySetup(readEdgeConfig(UPSTREAMS), OPTIONS);
  const servers = lines(config, 'server ');
  t.same(servers, [
    'server replica-1 127.0.0.1:3101',
    'server replica-2 127.0.0.1:3102',
    'server replica-3 127.0.0.1:1 disabled',
    'server replica-4 127.0.0.1:1 disabled',
    'server replica-1 127.0.0.1:3201',
    'server replica-2 127.0.0.1:1 disabled',
    'server replica-3 127.0.0.1:1 disabled',
  ]);
});

t.test('the EDGE_* settings become its timeouts, caps and queue', async (t) => {
  const { config } = haproxySetup(
    readEdgeConfig({
      ...UPSTREAMS,
      EDGE_REQUEST_TIMEOUT_MS: '4000',
      EDGE_HEADERS_TIMEOUT_MS: '3000',
      EDGE_CLIENT_DRAIN_TIMEOUT_MS: '1500',
      EDGE_MAX_CONNECTIONS: '500',
      EDGE_MAX_CONNECTIONS_PER_CLIENT: '7',
      EDGE_REPLICA_CONNECTIONS: '12',
      EDGE_MAX_QUEUE_WAIT_MS: '250',
    }),
    OPTIONS,
  );
  t.same(lines(config, 'timeout http-request'), ['timeout http-request 3000'], 'the headers');
  t.same(lines(config, 'http-request wait-for-body'), ['http-request wait-for-body time 4000'], 'the whole request');
  t.same(lines(config, 'timeout client'), ['timeout client 1500'], 'a client that reads nothing for 1.5 s has left');
  t.same(lines(config, 'timeout queue'), ['timeout queue 250']);
  t.same(lines(config, 'maxconn'), ['maxconn 500', 'maxconn 500']);
  t.match(
    config,
    /http-request return status 503 [^\n]*too many connections from this client: at most 7;[^\n]*sc0_conn_cur gt 7 \}/,
  );
  t.match(config, /default-server check inter 500 fall 1 rise 1 maxconn 12\n/);
});

t.test('a line per request at LOG_LEVEL=info, none at warn, as the Node edge', async (t) => {
  t.match(
    haproxySetup(readEdgeConfig(UPSTREAMS), OPTIONS).config,
    /\n {2}log fd@3 format raw local0 info\n {2}log-format '\{"level":"info"/,
  );
  t.notMatch(haproxySetup(readEdgeConfig({ ...UPSTREAMS, LOG_LEVEL: 'warn' }), OPTIONS).config, /\n {2}log/);
});

t.test('only the frontend logs, to the descriptor it is given: the log file, or stdout', async (t) => {
  const config = haproxySetup(readEdgeConfig(UPSTREAMS), OPTIONS).config;
  t.same(lines(config, 'log'), ['log fd@3 format raw local0 info', `log-format '${HAPROXY_LOG_FORMAT}'`]);
  t.match(
    config,
    /\nfrontend edge\n( {2}.*\n)* {2}log fd@3 /,
    'in the frontend section: no backend message among the JSON lines',
  );
  t.same(lines(haproxySetup(readEdgeConfig(UPSTREAMS), { ...OPTIONS, logFd: 1 }).config, 'log fd@'), [
    'log fd@1 format raw local0 info',
  ]);
});

t.test('connections are capped to what the open-file limit allows, two descriptors each', async (t) => {
  const { config } = haproxySetup(readEdgeConfig(UPSTREAMS), { ...OPTIONS, fileDescriptorLimit: 1024 });
  t.same(lines(config, 'maxconn 4'), ['maxconn 412', 'maxconn 412']);
});

t.test('the Host allowlist: on loopback by default, any Host with EDGE_ALLOWED_HOSTS=*', async (t) => {
  const loopback = haproxySetup(readEdgeConfig({ ...UPSTREAMS, PORT: '8080' }), OPTIONS).config;
  t.match(
    loopback,
    /http-request return status 421 [^\n]*unless \{ req\.hdr\(host\) -i 127\.0\.0\.1:8080 localhost:8080 \[::1\]:8080 \}/,
  );
  const any = haproxySetup(readEdgeConfig({ ...UPSTREAMS, EDGE_ALLOWED_HOSTS: '*' }), OPTIONS).config;
  t.notMatch(any, /status 421/);
});

t.test("its own answers are the Node edge's JSON errors, each naming the service", async (t) => {
  const { files } = haproxySetup(readEdgeConfig(UPSTREAMS), OPTIONS);
  t.match(
    files['todo-read-502.http'],
    /^HTTP\/1\.1 502 Bad Gateway\r\n[^]*\r\n\r\n\{"error":"todo-read is unavailable/,
  );
  t.match(files['todo-write-504.http'], /^HTTP\/1\.1 504 [^]*\{"error":"todo-write did not answer within 60 s"\}$/);
  t.match(files['queue-full.http'], /^HTTP\/1\.1 503 [^]*retry-after: 1\r\n[^]*"error":"the replicas are at capacity/);
  t.match(files['timeout.http'], /^HTTP\/1\.1 408 [^]*"error":"request not received in time/);
});

t.test('haproxy -c accepts the configuration, with its error files in place', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'haproxy-config-test-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const setup = haproxySetup(readEdgeConfig({ ...UPSTREAMS, PORT: '18080' }), {
    ...OPTIONS,
    dir,
    adminSocket: join(dir, 'admin.sock'),
  });
  writeFileSync(join(dir, 'haproxy.cfg'), setup.config);
  for (const [name, content] of Object.entries(setup.files)) writeFileSync(join(dir, name), content);
  const check = spawnSync('haproxy', ['-c', '-f', join(dir, 'haproxy.cfg')], { encoding: 'utf8' });
  t.equal(check.error, undefined, 'haproxy is installed (CI installs it: apt-get install haproxy)');
  t.equal(check.status, 0, `haproxy -c: ${check.stdout}${check.stderr}`);
});
