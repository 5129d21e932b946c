import * as pulumi from '@pulumi/pulumi';
import t from 'tap';
import { fargateSizeProblem, readStackConfig } from '../src/config.js';

function readWith(config: Record<string, string>) {
  pulumi.runtime.setAllConfig(Object.fromEntries(Object.entries(config).map(([key, value]) => [`taskoverflow:${key}`, value])));
  return readStackConfig();
}

t.test('defaults: 1 vCPU / 2 GB tasks, 2–10 read tasks, one write task', async (t) => {
  const config = readWith({});
  t.same(config.read, { size: { cpu: 1024, memory: 2048 }, minCount: 2, maxCount: 10, cpuTargetPercent: 60, requestsPerTarget: 1000 });
  t.same(config.write, { size: { cpu: 1024, memory: 2048 }, desiredCount: 1 });
  t.same(config.logs, { groupName: 'taskoverflow', retentionDays: 14 });
  t.match(config.database, { instanceClass: 'db.t4g.micro', multiAz: false });
  const connections = (config.read.maxCount + config.write.desiredCount) * config.app.pgPoolMax;
  t.ok(connections <= 80, `at most ${connections} database connections fit a db.t4g.micro`);
});

t.test('the practical\'s fix, 4 vCPU / 8 GB, is a config change', async (t) => {
  t.same(readWith({ readCpu: '4096', readMemory: '8192' }).read.size, { cpu: 4096, memory: 8192 });
});

t.test('task sizes Fargate would refuse fail before anything is deployed', async (t) => {
  t.throws(() => readWith({ readCpu: '4096', readMemory: '2048' }), /read: with cpu 4096, Fargate takes memory from 8192 to 30720 in steps of 1024 MiB, not 2048/);
  t.throws(() => readWith({ writeCpu: '3000' }), /write: Fargate has no CPU size 3000/);
  t.throws(() => readWith({ readMinCount: '5', readMaxCount: '3' }), /readMinCount \(5\) must not exceed readMaxCount \(3\)/);
  t.throws(() => readWith({ natGateways: 'Many' }), /natGateways/);
  t.throws(() => readWith({ logRetentionDays: '10' }), /logRetentionDays/);
});

t.test('fargateSizeProblem knows the Fargate size table', async (t) => {
  for (const [cpu, memory] of [[256, 512], [512, 4096], [1024, 8192], [2048, 16384], [4096, 30720], [8192, 61440], [16384, 122880]] as const) {
    t.equal(fargateSizeProblem('s', { cpu, memory }), undefined, `${cpu}/${memory}`);
  }
  for (const [cpu, memory] of [[256, 1536], [256, 4096], [1024, 1024], [4096, 8704], [8192, 18432]] as const) {
    t.type(fargateSizeProblem('s', { cpu, memory }), 'string', `${cpu}/${memory} is refused`);
  }
});
