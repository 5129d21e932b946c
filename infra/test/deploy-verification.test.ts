/**
 * A deploy that ECS rolled back fails `pulumi up`: the mocked ECS answers DescribeServices, as
 * AWS does after a circuit-breaker rollback, with todo-write on its previous task definition and
 * the rollback among its events (deploy-check.test.ts judges recorded answers case by case).
 */
import t from 'tap';
import { deployWithMocks, PREVIOUS_TASK_DEFINITION, TYPES, type RecordedResource } from './helpers/mock-deployment.js';

// The failed check also rejects what depends on it (todo-read's outputs and its own check),
// which Pulumi reports as unhandled; in `pulumi up` that is the same failure. Each is kept and
// checked below, so an unrelated error still fails this file.
const unhandled: unknown[] = [];
process.on('unhandledRejection', (reason) => unhandled.push(reason));

const failure = await deployWithMocks({}, { rolledBack: ['todo-write'] }).then(
  () => undefined,
  (error: Error & { resources: RecordedResource[] }) => error,
);

t.test('a rolled-back todo-write deploy fails the update, saying what ECS runs instead', async (t) => {
  t.ok(failure, 'the program fails');
  t.match(
    failure!.message,
    `todo-write failed to deploy: the deployment was rolled back: the service runs ${PREVIOUS_TASK_DEFINITION}, not `,
  );
  t.match(failure!.message, /docs\/deploy\.md, "How a failed deploy surfaces"/);
  t.match(failure!.message, /taskoverflow-todo-write-test:2 registered by this update/);
  t.match(failure!.message, /Recent events: .*rolling back to deployment/, "with ECS's own account of it");
});

t.test('todo-read is then not deployed against a schema that did not change', async (t) => {
  const services = failure!.resources
    .filter((resource) => resource.type === TYPES.ecsService)
    .map((resource) => resource.name);
  t.same(services, ['taskoverflow-todo-write'], 'only todo-write was registered');
  t.equal(
    failure!.resources.filter((resource) => resource.type === TYPES.lambdaInvocation).length,
    1,
    'after the migration ran, once',
  );
});

t.test('every other error the program raised is this same failure', async (t) => {
  await new Promise((resolve) => setImmediate(resolve));
  for (const reason of unhandled)
    t.match(
      reason instanceof Error ? reason.message : reason,
      /todo-write failed to deploy: the deployment was rolled back/,
    );
});
