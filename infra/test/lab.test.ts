/**
 * The lab preset (the default), as `pulumi up` would create it: the cheap shape of the
 * practical. Plain HTTP without a certificate, and the outputs say so; no WAF; a single-AZ
 * burstable database that applies changes at once; one Redis node; one NAT gateway; one
 * todo-write task; alarms routed to the topic, with no address required. (production.test.ts
 * has the production preset.)
 */
import t from 'tap';
import { deployWithMocks, TYPES } from './helpers/mock-deployment.js';

const deployment = await deployWithMocks();

t.test('a lab stack without a certificate serves plain HTTP on port 80 and says so in its outputs', async (t) => {
  const listeners = deployment.ofType(TYPES.listener);
  t.same(
    listeners.map((listener) => listener.name),
    ['taskoverflow-http'],
    'one listener',
  );
  t.match(listeners[0]!.inputs, { port: 80, protocol: 'HTTP' });
  t.same(deployment.ofType(TYPES.certificate), [], 'no certificate');
  const alb = deployment.named(TYPES.loadBalancer, 'taskoverflow');
  t.match(alb.inputs, {
    loadBalancerType: 'application',
    internal: false,
    subnets: ['subnet-public-a', 'subnet-public-b'],
  });
  t.equal(deployment.outputs.url, `http://${alb.state.dnsName}`, 'the url output is the ALB over http');
  t.match(
    deployment.outputs.tls,
    /^off — plain HTTP on port 80; set domainName \+ hostedZoneId \(or certificateArn\) for HTTPS$/,
  );
  t.equal(deployment.outputs.preset, 'lab');
});

t.test('a lab stack has no WAF by default; the services rate-limit on their own', async (t) => {
  t.same(deployment.ofType(TYPES.webAcl), []);
  t.same(deployment.ofType(TYPES.webAclAssociation), []);
  t.equal(deployment.outputs.webAclArn, undefined);
});

t.test('RDS: single-AZ, burstable, changes applied at once', async (t) => {
  const [db] = deployment.ofType(TYPES.rdsInstance);
  t.match(db!.inputs, { multiAz: false, instanceClass: 'db.t4g.micro', applyImmediately: true });
  t.equal(
    deployment.ofType(TYPES.metricAlarm).filter((alarm) => alarm.name === 'taskoverflow-database-cpu-credits').length,
    1,
    'with a CPU-credit alarm',
  );
});

t.test('Redis: one node, no failover', async (t) => {
  const [redis] = deployment.ofType(TYPES.replicationGroup);
  t.match(redis!.inputs, {
    numCacheClusters: 1,
    automaticFailoverEnabled: false,
    multiAzEnabled: false,
    applyImmediately: true,
  });
});

t.test('one NAT gateway; one todo-write task; todo-read autoscales from two', async (t) => {
  t.match(deployment.ofType(TYPES.vpc)[0]!.inputs, { natGateways: { strategy: 'Single' } });
  t.equal(deployment.named(TYPES.ecsService, 'taskoverflow-todo-write').inputs.desiredCount, 1);
  t.equal(deployment.named(TYPES.ecsService, 'taskoverflow-todo-read').inputs.desiredCount, 2);
});

t.test('alarms and failed deployments notify the topic, which has no address until one is set', async (t) => {
  const [topic, ...others] = deployment.ofType(TYPES.snsTopic);
  t.equal(others.length, 0);
  t.same(deployment.ofType(TYPES.snsSubscription), []);
  const alarms = deployment.ofType(TYPES.metricAlarm);
  t.equal(alarms.length, 15);
  for (const alarm of alarms) t.same(alarm.inputs.alarmActions, [topic!.state.arn], alarm.name);
  t.same(
    deployment.ofType(TYPES.eventTarget).map((target) => target.inputs.arn),
    [topic!.state.arn],
  );
});
