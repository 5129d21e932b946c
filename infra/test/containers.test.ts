/**
 * Static checks of the container build: the Dockerfiles and docker-compose.yml are read and
 * cross-checked against the repository and the routing table. No image is built here (there
 * is no Docker engine); see docs/deploy.md.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SERVICES, type ServiceName } from '@taskoverflow/routing';
import t, { type Test } from 'tap';
import { parse } from 'yaml';
import { RDS_CA_BUNDLE_PATH } from '../src/database.js';
import { CONTAINER_PORTS } from '../src/ports.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const read = (path: string) => readFileSync(join(repoRoot, path), 'utf8');

interface Instruction {
  keyword: string;
  args: string;
}

/** A Dockerfile's instructions, continuation lines joined, comments dropped. */
function instructions(dockerfile: string): Instruction[] {
  return dockerfile
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => {
      const [keyword, ...rest] = line.split(/\s+/);
      return { keyword: keyword!.toUpperCase(), args: rest.join(' ') };
    });
}

/** Checks every Dockerfile must pass; returns the final stage's instructions. */
function checkDockerfile(t: Test, label: string, dockerfile: string, ignored: string[]): Instruction[] {
  const all = instructions(dockerfile);
  const stages: string[] = [];
  let finalStage: Instruction[] = [];
  for (const instruction of all) {
    if (instruction.keyword === 'FROM') {
      const stage = /\bAS\s+(\S+)$/i.exec(instruction.args)?.[1];
      t.ok(stage, `${label}: every stage is named (${instruction.args})`);
      stages.push(stage!);
      finalStage = [];
      continue;
    }
    finalStage.push(instruction);
    if (instruction.keyword !== 'COPY' && instruction.keyword !== 'ADD') continue;
    const words = instruction.args.split(/\s+/);
    const from = words.find((word) => word.startsWith('--from='))?.slice('--from='.length);
    if (from) {
      t.ok(stages.slice(0, -1).includes(from), `${label}: COPY --from=${from} names an earlier stage`);
      continue;
    }
    const sources = words.filter((word) => !word.startsWith('--')).slice(0, -1);
    for (const source of sources.filter((source) => !/^https?:\/\//.test(source))) {
      t.ok(existsSync(join(repoRoot, source)), `${label}: COPY source ${source} exists in the repository`);
      t.notOk(ignored.includes(source), `${label}: COPY source ${source} is not excluded by .dockerignore`);
    }
  }
  t.ok(stages.length >= 2, `${label}: multi-stage`);

  const user = finalStage.filter((instruction) => instruction.keyword === 'USER').at(-1)?.args;
  t.ok(user && !['root', '0'].includes(user), `${label}: runs as a non-root user (${user})`);
  t.same(finalStage.filter((instruction) => instruction.keyword === 'CMD').at(-1)?.args, '["node", "dist/server.js"]', `${label}: runs the compiled server`);
  return finalStage;
}

const ignored = read('.dockerignore')
  .split('\n')
  .map((line) => line.trim())
  .filter((line) => line && !line.startsWith('#'));

t.test('.dockerignore keeps local builds out and what the build needs in', async (t) => {
  for (const pattern of ['**/node_modules', '**/dist', '.git']) t.ok(ignored.includes(pattern), `ignores ${pattern}`);
  for (const needed of ['package.json', 'pnpm-lock.yaml', 'pnpm-workspace.yaml', '.npmrc', 'tsconfig.base.json', 'packages', 'services']) {
    t.notOk(ignored.includes(needed), `keeps ${needed}`);
  }
});

for (const service of SERVICES) {
  t.test(`services/${service}/Dockerfile`, async (t) => {
    const dockerfile = read(`services/${service}/Dockerfile`);
    const finalStage = checkDockerfile(t, service, dockerfile, ignored);
    const packageJson = JSON.parse(read(`services/${service}/package.json`));
    t.equal(packageJson.scripts.start, 'node dist/server.js', "the image's CMD is the package's start script");

    t.match(dockerfile, `--filter-prod "@taskoverflow/${service}..."`, 'installs only what the service needs');
    t.match(dockerfile, `tsc -b services/${service}`, 'compiles the service and its references');
    t.match(dockerfile, `--filter "@taskoverflow/${service}" deploy --prod`, 'deploys the production files');

    const healthcheck = finalStage.find((instruction) => instruction.keyword === 'HEALTHCHECK');
    t.match(healthcheck?.args, '/api/v1/health', 'HEALTHCHECK calls the health route');
    t.match(finalStage.find((instruction) => instruction.keyword === 'EXPOSE')?.args, String(CONTAINER_PORTS[service]), 'exposes its port');
    t.ok(
      finalStage.some((instruction) => instruction.keyword === 'ADD' && instruction.args.endsWith(` ${RDS_CA_BUNDLE_PATH}`)),
      'adds the RDS CA bundle where DATABASE_URL (infra) expects it',
    );
  });
}

const compose = parse(read('docker-compose.yml'), { merge: true });
const composeServices: Record<string, any> = compose.services;

t.test('docker-compose.yml is interpolation-safe', async (t) => {
  // Compose replaces $VAR and ${VAR…} in every value, the inline Dockerfile included; `$$` is a literal $.
  const strings = (value: unknown): string[] =>
    typeof value === 'string' ? [value] : value && typeof value === 'object' ? Object.values(value).flatMap(strings) : [];
  for (const value of strings(compose)) {
    t.same(value.match(/(?<!\$)\$(?!\$|\{[A-Z_]+(:-[^}]*)?\})/g) ?? [], [], `every $ is $$ or \${VARIABLE}: ${value.slice(0, 40)}`);
  }
});

t.test('docker-compose.yml runs postgres, redis, both services (read twice) and the edge on :8080', async (t) => {
  t.same(Object.keys(composeServices).sort(), ['edge', 'postgres', 'redis', 'todo-read-1', 'todo-read-2', 'todo-write']);
  const published = Object.entries(composeServices).filter(([, definition]) => definition.ports);
  t.same(published.map(([name, definition]) => [name, definition.ports]), [['edge', ['8080:8080']]], 'only the edge is published');
});

/** The compose services that run a service's image, by routing-table name. */
function replicasOf(service: ServiceName): [string, any][] {
  return Object.entries(composeServices).filter(([, definition]) => definition.build?.dockerfile === `services/${service}/Dockerfile`);
}

t.test('the edge routes to every replica of each service, as the routing table names them', async (t) => {
  const edge = composeServices.edge.environment;
  t.equal(edge.HOST, '0.0.0.0', 'the edge listens beyond its container');
  const upstreams = { 'todo-read': edge.READ_UPSTREAMS, 'todo-write': edge.WRITE_UPSTREAMS } satisfies Record<ServiceName, string>;
  for (const service of SERVICES) {
    const replicas = replicasOf(service);
    t.ok(replicas.length >= (service === 'todo-read' ? 2 : 1), `${service}: ${replicas.length} replica(s)`);
    const expected = replicas.map(([name, definition]) => `http://${name}:${definition.environment.PORT}`).sort();
    t.same(upstreams[service].split(',').sort(), expected, `${service}: upstreams`);
  }
});

t.test('services get the database, the cache and their settings; only todo-write migrates', async (t) => {
  for (const service of SERVICES) {
    for (const [name, definition] of replicasOf(service)) {
      const environment = definition.environment;
      t.equal(new URL(environment.DATABASE_URL).hostname, 'postgres', `${name}: DATABASE_URL`);
      t.equal(environment.REDIS_URL, 'redis://redis:6379', `${name}: REDIS_URL`);
      t.equal(Number(environment.PORT), CONTAINER_PORTS[service], `${name}: PORT`);
      t.equal(environment.SERVICE_INSTANCE, name, `${name}: SERVICE_INSTANCE`);
      t.equal(environment.MIGRATE_ON_START, service === 'todo-write' ? 'true' : undefined, `${name}: MIGRATE_ON_START`);
      t.ok('CLOUDWATCH_LOG_GROUP' in environment, `${name}: CloudWatch shipping can be switched on from the shell`);
    }
  }
});

t.test('everything starts in order: each dependency must be healthy first, and can tell', async (t) => {
  const hasHealthcheck = (name: string) => {
    const definition = composeServices[name];
    if (definition.healthcheck) return true;
    const dockerfile = definition.build?.dockerfile;
    return Boolean(dockerfile) && instructions(read(dockerfile)).some((instruction) => instruction.keyword === 'HEALTHCHECK');
  };
  for (const [name, definition] of Object.entries(composeServices)) {
    for (const [dependency, condition] of Object.entries<any>(definition.depends_on ?? {})) {
      t.equal(condition.condition, 'service_healthy', `${name} waits for ${dependency} to be healthy`);
      t.ok(hasHealthcheck(dependency), `${dependency} has a healthcheck`);
    }
  }
  for (const service of ['todo-read-1', 'todo-read-2']) t.ok(composeServices[service].depends_on['todo-write'], `${service} starts after the migration`);
  t.ok(hasHealthcheck('edge'), 'the edge has a healthcheck');
});

t.test("the edge's inline Dockerfile", async (t) => {
  const dockerfile = composeServices.edge.build.dockerfile_inline.replaceAll('$$', '$');
  checkDockerfile(t, 'edge', dockerfile, ignored);
  t.match(dockerfile, 'tsc -b packages/edge');
  t.ok(existsSync(join(repoRoot, 'packages/edge/src/server.ts')), 'dist/server.js is compiled from packages/edge/src/server.ts');
});
