/**
 * The production preset, as `pulumi up` would create it: HTTPS with a DNS-validated certificate
 * and a redirect from 80, the WAF, Multi-AZ RDS on a non-burstable class that applies changes in
 * the maintenance window, Redis with automatic failover, a NAT gateway per AZ, two todo-write
 * tasks, and every alarm routed to the required address. (lab.test.ts has the lab preset.)
 */
import t from 'tap';
import { HTTPS_PORT, HTTP_PORT } from '../src/ports.js';
import { deployWithMocks, MOCK_ACCOUNT, TYPES } from './helpers/mock-deployment.js';

// In a region opened since August 2022, which has no ELB account for access-log delivery.
const deployment = await deployWithMocks(
  {
    preset: 'production',
    domainName: 'api.example.com',
    hostedZoneId: 'Z0123456789ABCDEFGHIJ',
    alarmEmail: 'oncall@example.com',
  },
  { noElbAccount: true },
);

t.test('HTTPS on 443 with a certificate ACM issues for the domain, validated by DNS in its zone', async (t) => {
  const [certificate, ...otherCertificates] = deployment.ofType(TYPES.certificate);
  t.equal(otherCertificates.length, 0, 'one certificate');
  t.match(certificate!.inputs, { domainName: 'api.example.com', validationMethod: 'DNS' });

  const validationRecord = deployment.named(TYPES.dnsRecord, 'taskoverflow-certificate-validation');
  const [option] = certificate!.state.domainValidationOptions;
  t.match(validationRecord.inputs, {
    zoneId: 'Z0123456789ABCDEFGHIJ',
    name: option.resourceRecordName,
    type: option.resourceRecordType,
    records: [option.resourceRecordValue],
  });
  const validation = deployment.named(TYPES.certificateValidation, 'taskoverflow-certificate');
  t.same(validation.inputs, {
    certificateArn: certificate!.state.arn,
    validationRecordFqdns: [validationRecord.state.fqdn],
  });

  const https = deployment.named(TYPES.listener, 'taskoverflow-https');
  t.match(https.inputs, {
    port: HTTPS_PORT,
    protocol: 'HTTPS',
    sslPolicy: 'ELBSecurityPolicy-TLS13-1-2-2021-06',
    certificateArn: validation.state.certificateArn,
  });
  t.ok(
    https.registeredAt > validation.finishedAt,
    'the listener is created once the certificate is issued (validated)',
  );
  const rules = deployment.ofType(TYPES.listenerRule);
  t.ok(rules.length > 0);
  for (const rule of rules) t.equal(rule.inputs.listenerArn, https.state.arn, `${rule.name}: on the HTTPS listener`);
});

t.test('port 80 only redirects to HTTPS (301)', async (t) => {
  const http = deployment.named(TYPES.listener, 'taskoverflow-http');
  t.match(http.inputs, { port: HTTP_PORT, protocol: 'HTTP' });
  t.same(http.inputs.defaultActions, [
    { type: 'redirect', redirect: { protocol: 'HTTPS', port: '443', statusCode: 'HTTP_301' } },
  ]);
  t.equal(deployment.ofType(TYPES.listener).length, 2, 'two listeners');
});

t.test('the domain points at the ALB, and the outputs say HTTPS is on', async (t) => {
  const alb = deployment.named(TYPES.loadBalancer, 'taskoverflow');
  t.match(deployment.named(TYPES.dnsRecord, 'taskoverflow-alias').inputs, {
    zoneId: 'Z0123456789ABCDEFGHIJ',
    name: 'api.example.com',
    type: 'A',
    aliases: [{ name: alb.state.dnsName, zoneId: alb.state.zoneId, evaluateTargetHealth: true }],
  });
  t.equal(deployment.outputs.url, 'https://api.example.com');
  t.equal(deployment.outputs.tls, 'on — HTTPS on 443 for api.example.com (ACM, DNS-validated); port 80 redirects');
  t.equal(deployment.outputs.preset, 'production');
});

t.test('443, and 80 for the redirect, are the only ports open to the internet', async (t) => {
  const fromAnywhere = deployment
    .ofType(TYPES.ingressRule)
    .filter(
      (rule) =>
        rule.inputs.cidrIpv4 === '0.0.0.0/0' || rule.inputs.cidrIpv6 === '::/0' || rule.inputs.ipProtocol === '-1',
    );
  const loadBalancerGroup = deployment.named(TYPES.securityGroup, 'taskoverflow-load-balancer').id;
  t.same(fromAnywhere.map((rule) => [rule.inputs.securityGroupId, rule.inputs.fromPort, rule.inputs.toPort]).sort(), [
    [loadBalancerGroup, HTTPS_PORT, HTTPS_PORT],
    [loadBalancerGroup, HTTP_PORT, HTTP_PORT],
  ]);
});

t.test('a WAF web ACL on the ALB blocks an IP over its rate, with 429', async (t) => {
  const webAcl = deployment.named(TYPES.webAcl, 'taskoverflow-waf');
  t.match(webAcl.inputs, { scope: 'REGIONAL', defaultAction: { allow: {} } });
  const [rule, ...others] = webAcl.inputs.rules;
  t.equal(others.length, 0, 'one rule');
  t.match(rule, {
    name: 'rate-limit-per-ip',
    action: { block: { customResponse: { responseCode: 429, customResponseBodyKey: 'rate-limited' } } },
    statement: { rateBasedStatement: { aggregateKeyType: 'IP', evaluationWindowSec: 300, limit: 66_000 } },
    visibilityConfig: { cloudwatchMetricsEnabled: true },
  });
  const [body] = webAcl.inputs.customResponseBodies;
  t.match(body, { key: 'rate-limited', contentType: 'APPLICATION_JSON' });
  t.match(
    JSON.parse(body.content),
    { error: /^rate limit exceeded: at most 66000 requests per 5 minutes/ },
    "in the API's error shape",
  );
  const alb = deployment.named(TYPES.loadBalancer, 'taskoverflow');
  t.same(deployment.named(TYPES.webAclAssociation, 'taskoverflow-waf').inputs, {
    resourceArn: alb.state.arn,
    webAclArn: webAcl.state.arn,
  });
  t.equal(deployment.outputs.webAclArn, webAcl.state.arn);
});

t.test('the services rate-limit too, by default', async (t) => {
  for (const taskDefinition of deployment
    .ofType(TYPES.taskDefinition)
    .filter((candidate) => candidate.name !== 'taskoverflow-migration')) {
    const [container] = JSON.parse(taskDefinition.inputs.containerDefinitions);
    const environment = Object.fromEntries(
      container.environment.map(({ name, value }: { name: string; value: string }) => [name, value]),
    );
    const expected = taskDefinition.name === 'taskoverflow-todo-write' ? '600' : '6000';
    t.same(
      [environment.RATE_LIMIT_MAX_REQUESTS, environment.RATE_LIMIT_WINDOW_S],
      [expected, '60'],
      taskDefinition.name,
    );
  }
});

t.test('RDS: Multi-AZ, a non-burstable class, changes in the maintenance window', async (t) => {
  const [db, ...others] = deployment.ofType(TYPES.rdsInstance);
  t.equal(others.length, 0);
  t.match(db!.inputs, { multiAz: true, instanceClass: 'db.m7g.large', applyImmediately: false });
  t.same(
    deployment.ofType(TYPES.metricAlarm).filter((alarm) => alarm.name.includes('cpu-credits')),
    [],
    'no CPU-credit alarm: the class earns none',
  );
});

t.test('Redis: a replica with automatic failover, in another AZ', async (t) => {
  const [redis] = deployment.ofType(TYPES.replicationGroup);
  t.match(redis!.inputs, {
    numCacheClusters: 2,
    automaticFailoverEnabled: true,
    multiAzEnabled: true,
    applyImmediately: false,
  });
  const cacheAlarms = deployment
    .ofType(TYPES.metricAlarm)
    .filter((alarm) => alarm.inputs.namespace === 'AWS/ElastiCache')
    .map((alarm) => [alarm.name, alarm.inputs.dimensions.CacheClusterId]);
  t.same(cacheAlarms, [
    ['taskoverflow-cache-engine-cpu', 'taskoverflow-cache-001'],
    ['taskoverflow-cache-evictions', 'taskoverflow-cache-001'],
    ['taskoverflow-cache-engine-cpu-node-2', 'taskoverflow-cache-002'],
    ['taskoverflow-cache-evictions-node-2', 'taskoverflow-cache-002'],
  ]);
});

t.test('a NAT gateway per AZ', async (t) => {
  t.match(deployment.ofType(TYPES.vpc)[0]!.inputs, {
    numberOfAvailabilityZones: 2,
    natGateways: { strategy: 'OnePerAz' },
  });
});

t.test('two todo-write tasks; todo-read autoscales from two', async (t) => {
  t.equal(deployment.named(TYPES.ecsService, 'taskoverflow-todo-write').inputs.desiredCount, 2);
  t.equal(deployment.named(TYPES.ecsService, 'taskoverflow-todo-read').inputs.desiredCount, 2);
});

t.test('every alarm and every failed deployment reaches the required address', async (t) => {
  const [topic, ...otherTopics] = deployment.ofType(TYPES.snsTopic);
  t.equal(otherTopics.length, 0);
  t.same(
    deployment.ofType(TYPES.snsSubscription).map((subscription) => subscription.inputs),
    [{ topic: topic!.state.arn, protocol: 'email', endpoint: 'oncall@example.com' }],
  );
  const alarms = deployment.ofType(TYPES.metricAlarm);
  t.equal(alarms.length, 16, '14 of the lab stack, and the second Redis node');
  for (const alarm of alarms) t.same(alarm.inputs.alarmActions, [topic!.state.arn], alarm.name);
  t.same(
    deployment.ofType(TYPES.eventTarget).map((target) => target.inputs.arn),
    [topic!.state.arn],
  );
});

t.test(
  'in a region without an ELB account, the log-delivery service principal alone may write the access logs',
  async (t) => {
    const bucket = deployment.named(TYPES.bucket, 'taskoverflow-access-logs');
    const [delivery] = JSON.parse(
      deployment.named(TYPES.bucketPolicy, 'taskoverflow-access-logs').inputs.policy,
    ).Statement;
    t.same(delivery.Principal, { Service: 'logdelivery.elasticloadbalancing.amazonaws.com' });
    t.equal(delivery.Resource, `${bucket.state.arn}/AWSLogs/${MOCK_ACCOUNT}/*`);
  },
);
