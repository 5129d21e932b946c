import * as pulumi from '@pulumi/pulumi';
import t from 'tap';
import {
  defaultRequestsPerTarget,
  DEPLOYMENT_MAXIMUM_PERCENT,
  estimatedMaxConnections,
  fargateSizeProblem,
  peakConnections,
  readStackConfig,
  RESERVED_CONNECTIONS,
} from '../src/config.js';

function readWith(config: Record<string, string>) {
  const withChecksum = { rdsCaBundleSha256: 'ab'.repeat(32), ...config };
  pulumi.runtime.setAllConfig(Object.fromEntries(Object.entries(withChecksum).map(([key, value]) => [`taskoverflow:${key}`, value])));
  return readStackConfig(undefined, 'dev');
}

t.test('defaults: 1 vCPU / 2 GB tasks, 2–10 read tasks, one write task', async (t) => {
  const config = readWith({});
  t.same(config.read, { size: { cpu: 1024, memory: 2048 }, minCount: 2, maxCount: 10, cpuTargetPercent: 60, requestsPerTarget: 45_900 });
  t.same(config.write, { size: { cpu: 1024, memory: 2048 }, desiredCount: 1 });
  t.match(config.database, { instanceClass: 'db.t4g.micro', multiAz: false, maxAllocatedStorageGb: 100, maxConnections: 78 });
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
  t.equal(defaultRequestsPerTarget({ cpu: 4096, memory: 8192 }, 60), 45_900, 'one Node.js process: more than one vCPU adds nothing');
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
  t.equal(peakConnections(read, write, app.pgPoolMax), 2 * ((10 + 1) * 3 + 1), '68 with the defaults');
  t.ok(peakConnections(read, write, app.pgPoolMax) <= 78 - RESERVED_CONNECTIONS, 'which fit a db.t4g.micro');
});

t.test('a configuration that could exhaust the database connections fails before anything is deployed', async (t) => {
  t.throws(
    () => readWith({ pgPoolMax: '5' }),
    /connection budget: up to 112 connections \(\(readMaxCount 10 \+ writeDesiredCount 1\) × pgPoolMax 5 \+ 1 migrating, × 2 during a deployment\) exceed the 73 that db\.t4g\.micro leaves the services/,
  );
  // 20 read tasks × 3 connections fit without the deployment surge (64 ≤ 73), not with it (128).
  t.throws(() => readWith({ readMaxCount: '20' }), /connection budget: up to 128 connections/, 'the surge is counted');
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
  t.throws(() => readWith({ readMinCount: '5', readMaxCount: '3' }), /readMinCount \(5\) must not exceed readMaxCount \(3\)/);
  t.throws(() => readWith({ natGateways: 'Many' }), /natGateways/);
  t.throws(() => readWith({ logRetentionDays: '10' }), /logRetentionDays/);
  t.throws(() => readWith({ dbAllocatedStorageGb: '100' }), /dbMaxAllocatedStorageGb \(100\) must exceed dbAllocatedStorageGb \(100\)/);
  t.throws(() => readWith({ alarmEmail: 'not an address' }), /alarmEmail/);
  t.throws(() => readWith({ rdsCaBundleSha256: 'not-a-digest' }), /rdsCaBundleSha256/, 'the CA bundle checksum is 64 hex digits');
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
