/**
 * Every service runs with the same Node options, SERVICE_NODE_OPTIONS (the V8 heap sizing that
 * keeps a replica's memory down): the ECS task definitions set them, and the image carries
 * them for docker-compose and a plain `docker run`. The local stack's side is
 * packages/stack/test/service-node-options.int.test.ts.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { SERVICE_NODE_OPTIONS, SERVICES } from '@taskoverflow/routing';
import t from 'tap';
import { deployWithMocks, TYPES } from './helpers/mock-deployment.js';

const deployment = await deployWithMocks();

t.test("each service's task definition sets NODE_OPTIONS to SERVICE_NODE_OPTIONS", async (t) => {
  for (const service of SERVICES) {
    const taskDefinition = deployment.named(TYPES.taskDefinition, `taskoverflow-${service}`);
    const containers: { name: string; environment: { name: string; value: string }[] }[] = JSON.parse(
      taskDefinition.inputs.containerDefinitions,
    );
    const container = containers.find((candidate) => candidate.name === service);
    const nodeOptions = container?.environment.filter(({ name }) => name === 'NODE_OPTIONS');
    t.same(nodeOptions, [{ name: 'NODE_OPTIONS', value: SERVICE_NODE_OPTIONS }], service);
  }
});

t.test("the image's runtime stage sets the same NODE_OPTIONS", async (t) => {
  const dockerfile = readFileSync(fileURLToPath(new URL('../../Dockerfile', import.meta.url)), 'utf8');
  const runtimeStage = dockerfile.split(/^FROM /m).find((stage) => /^\S+ AS runtime$/m.test(stage));
  t.ok(runtimeStage, 'the Dockerfile has a runtime stage (the aws stage builds on it)');
  const values = [...(runtimeStage ?? '').matchAll(/^ENV NODE_OPTIONS=(.*)$/gm)].map((match) => match[1]);
  t.same(values, [JSON.stringify(SERVICE_NODE_OPTIONS)], 'ENV NODE_OPTIONS="<SERVICE_NODE_OPTIONS>", once');
});
