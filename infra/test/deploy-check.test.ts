/**
 * The deploy check (src/deployment-check.ts) on recorded DescribeServices answers, shaped as
 * `aws ecs describe-services` prints them (test/fixtures/describe-services/): each case of
 * issue 21 is one answer. The update started at 09:00 UTC and registered task definition :8.
 */
import { readFileSync } from 'node:fs';
import t from 'tap';
import { describedServiceOf, judgeDeployment, type DescribeServicesEntry } from '../src/deployment-check.js';

const TASK_DEFINITION = (revision: number) =>
  `arn:aws:ecs:eu-west-1:123456789012:task-definition/taskoverflow-todo-write-prod:${revision}`;
const STARTED_AT = new Date('2026-12-06T09:00:00Z');

function recorded(name: string) {
  const answer: { services: DescribeServicesEntry[] } = JSON.parse(
    readFileSync(new URL(`fixtures/describe-services/${name}.json`, import.meta.url), 'utf8'),
  );
  return describedServiceOf(answer.services[0]!);
}
const judge = (name: string, registered = TASK_DEFINITION(8)) =>
  judgeDeployment(recorded(name), { registeredTaskDefinition: registered, startedAt: STARTED_AT });

t.test('healthy: the deployment this update started completed on its task definition', async (t) => {
  const verdict = judge('healthy');
  t.equal(verdict.kind, 'healthy');
  t.equal(verdict.message, 'deployment ecs-svc/6671958431937208470 completed: 2 of 2 tasks run');
  t.ok(
    recorded('healthy').events.some((event) => event.message.includes('rolling back')),
    "the answer still lists last week's rollback, which is not this update's",
  );
});

t.test('rolled back: the circuit breaker returned the service to the previous task definition', async (t) => {
  const verdict = judge('rolled-back');
  t.equal(verdict.kind, 'rolled-back');
  t.match(
    verdict.message,
    `the deployment was rolled back: the service runs ${TASK_DEFINITION(7)}, not ${TASK_DEFINITION(8)} registered by this update; 2 of 2 tasks run`,
  );
  t.match(
    verdict.message,
    /Recent events: .*has reached a steady state\. \| .*deployment completed\. \| .*rolling back to deployment/,
  );
});

t.test('rolled back to the same task definition: a failed service-level change is caught too', async (t) => {
  const verdict = judge('rolled-back-service-change');
  t.equal(verdict.kind, 'rolled-back', 'the task definition alone would say healthy');
  t.match(verdict.message, `the service runs ${TASK_DEFINITION(8)}, the task definition this update registered`);
  t.match(verdict.message, /the change rolled back was to the service itself/);
  t.match(verdict.message, /rolling back to deployment ecs-svc\/6671958431937208470/);
});

t.test('in progress: a scale-out during the update does not fail it on runningCount < desiredCount', async (t) => {
  const verdict = judge('scaling-out');
  t.equal(verdict.kind, 'in-progress');
  t.match(
    verdict.message,
    /^deployment ecs-svc\/6671958431937208470 completed and is scaling out: 2 of 4 tasks run\. Recent events: .*has started 2 tasks/,
  );
});

t.test('in progress: a rollout ECS is still completing passes with a warning, not a failure', async (t) => {
  const service = recorded('healthy');
  const primary = service.deployments[0]!;
  primary.rolloutState = 'IN_PROGRESS';
  service.deployments.push({
    ...primary,
    id: 'ecs-svc/4019364880227151921',
    status: 'ACTIVE',
    taskDefinition: TASK_DEFINITION(7),
  });
  const verdict = judgeDeployment(service, { registeredTaskDefinition: TASK_DEFINITION(8), startedAt: STARTED_AT });
  t.equal(verdict.kind, 'in-progress');
  t.match(
    verdict.message,
    /^deployment ecs-svc\/6671958431937208470 is still rolling out \(2 of 2 tasks run, 2 deployments\)/,
  );
});

t.test('first deploy failed: nothing to roll back to, and the check says so', async (t) => {
  const verdict = judge('first-deploy-failed', TASK_DEFINITION(1));
  t.equal(verdict.kind, 'failed');
  t.match(
    verdict.message,
    'deployment ecs-svc/5550193847261038475 failed (ECS deployment circuit breaker: tasks failed to start.) and there is no earlier ' +
      'deployment to roll back to, as on a first deploy: 0 of 2 tasks run, 10 failed',
  );
});

t.test('a failed deployment still listed beside the PRIMARY one counts as rolled back', async (t) => {
  const service = recorded('healthy');
  service.events = [];
  service.deployments.push({
    ...service.deployments[0]!,
    id: 'ecs-svc/8812094735561029384',
    status: 'ACTIVE',
    rolloutState: 'FAILED',
    rolloutStateReason: 'ECS deployment circuit breaker: tasks failed to start.',
  });
  const verdict = judgeDeployment(service, { registeredTaskDefinition: TASK_DEFINITION(8), startedAt: STARTED_AT });
  t.equal(verdict.kind, 'rolled-back');
  t.match(
    verdict.message,
    /^the deployment was rolled back \(ECS deployment circuit breaker: tasks failed to start\.\)/,
  );
  t.match(verdict.message, /Recent events: none since this update started$/);
});

t.test('the answer is read the same from the SDK (Dates, epoch seconds) and from the CLI (ISO strings)', async (t) => {
  const fromCli = describedServiceOf({ deployments: [{ id: 'd', createdAt: '2026-12-06T09:03:12.845000+00:00' }] });
  const fromSdk = describedServiceOf({ deployments: [{ id: 'd', createdAt: new Date('2026-12-06T09:03:12.845Z') }] });
  const fromWire = describedServiceOf({ deployments: [{ id: 'd', createdAt: 1_796_547_792.845 }] });
  t.equal(fromCli.deployments[0]!.createdAt.toISOString(), '2026-12-06T09:03:12.845Z');
  t.same(fromSdk.deployments[0]!.createdAt, fromCli.deployments[0]!.createdAt);
  t.same(fromWire.deployments[0]!.createdAt, fromCli.deployments[0]!.createdAt);
});
