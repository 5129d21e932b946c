import * as pulumi from '@pulumi/pulumi';
import t from 'tap';
import {
  defaultRequestsPerTarget,
  DEPLOYMENT_MAXIMUM_PERCENT,
  estimatedMaxConnections,
  fargateSizeProblem,
  MIGRATION_CONNECTIONS,
  peakConnections,
  PRESETS,
  readStackConfig,
  RESERVED_CONNECTIONS,
  DEFAULT_RATE_LIMITS,
  defaultWafRateLimit,
  tlsSummary,
} from '../src/config.js';

function readWith(config: Record<string, string>) {
  const withChecksum = { rdsCaBundleSha256: 'ab'.repeat(32), ...config };
  pulumi.runtime.setAllConfig(
    Object.fromEntries(Object.entries(withChecksum).map(([key, value]) => [`taskoverflow:${key}`, value])),
  );
  return readStackConfig(undefined, 'dev');
}

t.test('defaults: 1 vCPU / 2 GB tasks, 2–10 read tasks, one write task', async (t) => {
  const config = readWith({});
  t.same(config.read, {
    size: { cpu: 1024, memory: 2048 },
    minCount: 2,
    maxCount: 10,
    cpuTargetPercent: 60,
    requestsPerTarget: 45_900,
  });
  t.same(config.write, { size: { cpu: 1024, memory: 2048 }, desiredCount: 1 });
  t.match(config.database, {
    instanceClass: 'db.t4g.micro',
    multiAz: false,
    maxAllocatedStorageGb: 100,
    maxConnections: 78,
  });
  t.equal(config.app.pgPoolMax, 3);
});

t.test('names are scoped to the stack by default', async (t) => {
  t.same(readWith({}).logs, { groupName: 'taskoverflow-dev', retentionDays: 14 });
  t.equal(readWith({ logGroupName: 'shared' }).logs.groupName, 'shared', 'unless set');
});

t.test('data protection is on unless the stack is a lab stack', async (t) => {
  t.equal(readWith({}).database.protect, true);
  t.equal(readWith({ labStack: 'false' }).database.protect, true);
  t.equal(readWith({ labStack: 'true' }).database.protect, false);
});

t.test('requests per read task: what one core serves of the uncached read, at the CPU target', async (t) => {
  // 1,000,000 µs / 784 µs = 1275.5 req/s; × 60 % = 765.3 req/s; × 60 s = 45,918 → 45,900 a minute.
  t.equal(defaultRequestsPerTarget({ cpu: 1024, memory: 2048 }, 60), 45_900);
  t.equal(
    defaultRequestsPerTarget({ cpu: 4096, memory: 8192 }, 60),
    45_900,
    'one Node.js process: more than one vCPU adds nothing',
  );
  t.equal(defaultRequestsPerTarget({ cpu: 512, memory: 1024 }, 60), 22_900, 'half a vCPU, about half');
  t.equal(defaultRequestsPerTarget({ cpu: 1024, memory: 2048 }, 30), 22_900, 'follows the CPU target');
  t.equal(readWith({ readCpuTargetPercent: '30' }).read.requestsPerTarget, 22_900, 'the default follows the config');
  t.equal(readWith({ readRequestsPerTarget: '700' }).read.requestsPerTarget, 700, 'unless set');
});

t.test("the practical's fix, 4 vCPU / 8 GB, is a config change", async (t) => {
  t.same(readWith({ readCpu: '4096', readMemory: '8192' }).read.size, { cpu: 4096, memory: 8192 });
});

t.test('max_connections is estimated from the instance class', async (t) => {
  t.equal(estimatedMaxConnections('db.t4g.micro'), 78);
  t.equal(estimatedMaxConnections('db.t4g.small'), 157);
  t.equal(estimatedMaxConnections('db.m7g.large'), 630);
  t.equal(estimatedMaxConnections('db.r7g.16xlarge'), 5_000, 'capped as RDS caps it');
  t.equal(estimatedMaxConnections('db.x2g.large'), undefined, 'unknown families are not guessed');
});

t.test('the connection budget counts every task at its maximum, doubled during a deployment', async (t) => {
  const { read, write, app } = readWith({});
  t.equal(DEPLOYMENT_MAXIMUM_PERCENT, 200);
  t.equal(
    peakConnections(read, write, app.pgPoolMax),
    2 * (10 + 1) * 3 + MIGRATION_CONNECTIONS,
    '67 with the defaults',
  );
  t.ok(peakConnections(read, write, app.pgPoolMax) <= 78 - RESERVED_CONNECTIONS, 'which fit a db.t4g.micro');
});

t.test('a configuration that could exhaust the database connections fails before anything is deployed', async (t) => {
  t.throws(
    () => readWith({ pgPoolMax: '5' }),
    /connection budget: up to 111 connections \(\(readMaxCount 10 \+ writeDesiredCount 1\) × pgPoolMax 5 × 2 during a deployment \+ 1 migrating\) exceed the 73 that db\.t4g\.micro leaves the services/,
  );
  // 20 read tasks × 3 connections fit without the deployment surge (64 ≤ 73), not with it (127).
  t.throws(() => readWith({ readMaxCount: '20' }), /connection budget: up to 127 connections/, 'the surge is counted');
  t.doesNotThrow(() => readWith({ pgPoolMax: '5', dbInstanceClass: 'db.t4g.small' }), 'a larger instance takes it');
  t.doesNotThrow(() => readWith({ pgPoolMax: '5', dbMaxConnections: '200' }), 'as does a known max_connections');
  t.throws(
    () => readWith({ dbInstanceClass: 'db.x2g.large' }),
    /dbInstanceClass db\.x2g\.large: its max_connections is not known here; set dbMaxConnections/,
  );
  t.doesNotThrow(() => readWith({ dbInstanceClass: 'db.x2g.large', dbMaxConnections: '1000' }));
});

t.test('task sizes and settings AWS would refuse fail before anything is deployed', async (t) => {
  t.throws(
    () => readWith({ readCpu: '4096', readMemory: '2048' }),
    /read: with cpu 4096, Fargate takes memory from 8192 to 30720 in steps of 1024 MiB, not 2048/,
  );
  t.throws(() => readWith({ writeCpu: '3000' }), /write: Fargate has no CPU size 3000/);
  t.throws(
    () => readWith({ readMinCount: '5', readMaxCount: '3' }),
    /readMinCount \(5\) must not exceed readMaxCount \(3\)/,
  );
  t.throws(() => readWith({ natGateways: 'Many' }), /natGateways/);
  t.throws(() => readWith({ logRetentionDays: '10' }), /logRetentionDays/);
  t.throws(
    () => readWith({ dbAllocatedStorageGb: '100' }),
    /dbMaxAllocatedStorageGb \(100\) must exceed dbAllocatedStorageGb \(100\)/,
  );
  t.throws(() => readWith({ alarmEmail: 'not an address' }), /alarmEmail/);
  t.throws(
    () => readWith({ rdsCaBundleSha256: 'not-a-digest' }),
    /rdsCaBundleSha256/,
    'the CA bundle checksum is 64 hex digits',
  );
});

t.test('fargateSizeProblem knows the Fargate size table', async (t) => {
  for (const [cpu, memory] of [
    [256, 512],
    [512, 4096],
    [1024, 8192],
    [2048, 16384],
    [4096, 30720],
    [8192, 61440],
    [16384, 122880],
  ] as const) {
    t.equal(fargateSizeProblem('s', { cpu, memory }), undefined, `${cpu}/${memory}`);
  }
  for (const [cpu, memory] of [
    [256, 1536],
    [256, 4096],
    [1024, 1024],
    [4096, 8704],
    [8192, 18432],
  ] as const) {
    t.type(fargateSizeProblem('s', { cpu, memory }), 'string', `${cpu}/${memory} is refused`);
  }
});

const PRODUCTION = {
  preset: 'production',
  domainName: 'api.example.com',
  hostedZoneId: 'Z0123456789ABCDEFGHIJ',
  alarmEmail: 'oncall@example.com',
};

t.test('the lab preset (the default) is the cheap shape', async (t) => {
  const config = readWith({});
  t.equal(config.preset, 'lab');
  t.match(config.database, { instanceClass: 'db.t4g.micro', multiAz: false, applyImmediately: true, burstable: true });
  t.match(config.cache, { nodeCount: 1 });
  t.equal(config.network.natGateways, 'Single');
  t.equal(config.write.desiredCount, 1);
  t.same(config.loadBalancer.tls, { mode: 'off' }, 'plain HTTP without a certificate');
  t.equal(config.loadBalancer.wafRateLimitPer5Minutes, undefined, 'no WAF');
  t.equal(config.alarms.email, undefined, 'an address is optional');
});

t.test('the production preset removes every single point of failure', async (t) => {
  const config = readWith(PRODUCTION);
  t.match(config.database, {
    instanceClass: 'db.m7g.large',
    multiAz: true,
    applyImmediately: false,
    burstable: false,
    maxConnections: 630,
  });
  t.match(config.cache, { nodeCount: 2, applyImmediately: false });
  t.equal(config.network.natGateways, 'OnePerAz');
  t.equal(config.write.desiredCount, 2);
  t.same(config.loadBalancer.tls, {
    mode: 'dns',
    domainName: 'api.example.com',
    hostedZoneId: 'Z0123456789ABCDEFGHIJ',
  });
  t.equal(config.loadBalancer.wafRateLimitPer5Minutes, 66_000, 'a WAF');
  t.same(PRESETS.production.waf, true);
});

t.test('production refuses what it exists to prevent, each with the key to set', async (t) => {
  t.throws(
    () => readWith({ preset: 'production' }),
    /the production preset requires HTTPS: set domainName and hostedZoneId \(or certificateArn\)\n {2}- the production preset requires an address for the alarms: set alarmEmail/,
  );
  t.throws(
    () => readWith({ ...PRODUCTION, dbInstanceClass: 'db.t4g.large' }),
    /a non-burstable dbInstanceClass \(db\.t4g\.large runs on CPU credits\)/,
  );
  t.throws(() => readWith({ ...PRODUCTION, dbMultiAz: 'false' }), /requires dbMultiAz true/);
  t.throws(() => readWith({ ...PRODUCTION, cacheNodeCount: '1' }), /requires cacheNodeCount ≥ 2/);
  t.throws(() => readWith({ ...PRODUCTION, writeDesiredCount: '1' }), /requires writeDesiredCount ≥ 2/);
  t.doesNotThrow(
    () => readWith({ ...PRODUCTION, dbInstanceClass: 'db.r7g.large', natGateways: 'OnePerAz' }),
    'other classes are fine',
  );
});

t.test('TLS from config: a certificate ARN, or a domain with its hosted zone', async (t) => {
  const arn = 'arn:aws:acm:eu-west-1:123456789012:certificate/0a1b2c3d-4e5f-6789-abcd-ef0123456789';
  t.same(readWith({ certificateArn: arn }).loadBalancer.tls, {
    mode: 'certificate',
    certificateArn: arn,
    domainName: undefined,
  });
  t.same(
    readWith({ certificateArn: arn, domainName: 'api.example.com' }).loadBalancer.tls.mode,
    'certificate',
    'the ARN wins',
  );
  t.throws(() => readWith({ domainName: 'api.example.com' }), /domainName and hostedZoneId go together/);
  t.throws(() => readWith({ certificateArn: 'not-an-arn' }), /certificateArn/);
  t.throws(() => readWith({ domainName: 'not a domain', hostedZoneId: 'Z0123' }), /domainName/);
});

t.test('the rate limits are on by default, from what one client sends, and the WAF limit follows them', async (t) => {
  const { app } = readWith({});
  t.same(app.rateLimitMaxRequests, { 'todo-read': 6_000, 'todo-write': 600 });
  t.equal(app.rateLimitWindowSeconds, 60);
  // One IP running the practical at any scale: at most 3,870 reads and 240 writes a minute (docs/results/2026-12-06-hostile-clients.md).
  t.ok(
    3_870 * 1.5 < DEFAULT_RATE_LIMITS['todo-read'] && 240 * 2.5 <= DEFAULT_RATE_LIMITS['todo-write'],
    'with a margin over the practical',
  );
  t.equal(defaultWafRateLimit(app), 2 * (6_000 + 600) * 5, "twice both services' limits over WAF's 5 minutes");
  t.equal(
    defaultWafRateLimit({ rateLimitMaxRequests: { 'todo-read': 0, 'todo-write': 0 }, rateLimitWindowSeconds: 60 }),
    66_000,
    'the default figures when the services do not limit',
  );
  t.equal(
    defaultWafRateLimit({ rateLimitMaxRequests: { 'todo-read': 600, 'todo-write': 300 }, rateLimitWindowSeconds: 30 }),
    2 * (1_200 + 600) * 5,
    'per minute whatever the window',
  );
  t.equal(readWith({ waf: 'true', wafRateLimit: '5000' }).loadBalancer.wafRateLimitPer5Minutes, 5000, 'or as set');
  t.throws(() => readWith({ waf: 'true', wafRateLimit: '5' }), /wafRateLimit/, "below AWS WAF's minimum of 10");
  t.same(
    readWith({ rateLimitMaxRequests: '0' }).app.rateLimitMaxRequests,
    { 'todo-read': 0, 'todo-write': 600 },
    'reads lifted for a stress run',
  );
  t.same(readWith({ writeRateLimitMaxRequests: '1200' }).app.rateLimitMaxRequests['todo-write'], 1200);
});

t.test('the stack output says whether TLS is on and how to turn it on', async (t) => {
  t.match(tlsSummary({ mode: 'off' }), /^off — .*set domainName \+ hostedZoneId \(or certificateArn\)/);
  t.match(
    tlsSummary({ mode: 'dns', domainName: 'api.example.com', hostedZoneId: 'Z1' }),
    /^on — HTTPS on 443 for api\.example\.com/,
  );
});
