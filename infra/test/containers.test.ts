/**
 * Checks of the container build without a Docker engine (docs/deploy.md): the Dockerfile and
 * docker-compose.yml are cross-checked against the repository and the routing table, and what
 * can run outside Docker runs: the build stage's shell steps (with pnpm recorded, then its
 * filter and tsc's project graph asked of the real workspace), the argument checks, and the
 * HEALTHCHECK command against a loopback stand-in of the server.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  MIGRATION_PASSWORD_VARIABLE,
  MIGRATION_ROLE,
  ROLE_PASSWORD_VARIABLES,
  SERVICE_ROLES,
} from '@taskoverflow/db/roles';
import { HEALTH_PATH, SERVICES, type ServiceName } from '@taskoverflow/routing';
import { LOCAL_ROLE_PASSWORDS } from '@taskoverflow/stack';
import t, { type Test } from 'tap';
import { parse } from 'yaml';
import { MASTER_USER, RDS_CA_BUNDLE_PATH } from '../src/database.js';
import { CONTAINER_PORTS } from '../src/ports.js';
import { BOOTSTRAP_COMMAND, MIGRATE_COMMAND } from '../src/migration-task.js';
import { AWS_IMAGE_STAGE } from '../src/todo-service.js';

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

/** Checks every Dockerfile must pass. Returns each stage's instructions by name, as stagesOf. */
function checkDockerfile(t: Test, label: string, dockerfile: string, ignored: string[]): Map<string, Instruction[]> {
  const stageNames: string[] = [];
  for (const instruction of instructions(dockerfile)) {
    if (instruction.keyword === 'FROM') {
      const stage = fromParts(instruction.args)?.[1];
      t.ok(stage, `${label}: every stage is named (${instruction.args})`);
      stageNames.push(stage!);
      continue;
    }
    if (instruction.keyword !== 'COPY' && instruction.keyword !== 'ADD') continue;
    const words = instruction.args.split(/\s+/);
    const from = words.find((word) => word.startsWith('--from='))?.slice('--from='.length);
    if (from) {
      t.ok(stageNames.slice(0, -1).includes(from), `${label}: COPY --from=${from} names an earlier stage`);
      continue;
    }
    const sources = words.filter((word) => !word.startsWith('--')).slice(0, -1);
    for (const source of sources.filter((source) => !/^https?:\/\//.test(source))) {
      t.ok(existsSync(join(repoRoot, source)), `${label}: COPY source ${source} exists in the repository`);
      t.notOk(ignored.includes(source), `${label}: COPY source ${source} is not excluded by .dockerignore`);
    }
  }
  const stages = new Map(stagesOf(dockerfile));
  t.ok(stages.size >= 2, `${label}: multi-stage`);
  return stages;
}

/** Checks an image stage (one that is run) must pass. */
function checkImageStage(t: Test, label: string, stage: Instruction[]): void {
  const user = stage.filter((instruction) => instruction.keyword === 'USER').at(-1)?.args;
  t.ok(user && !['root', '0'].includes(user), `${label}: runs as a non-root user (${user})`);
  t.same(
    stage.filter((instruction) => instruction.keyword === 'CMD').at(-1)?.args,
    '["node", "dist/server.js"]',
    `${label}: runs the compiled server`,
  );
  t.equal(stage.find((instruction) => instruction.keyword === 'EXPOSE')?.args, '${PORT}', `${label}: exposes its port`);
  t.ok(
    stage.some((instruction) => instruction.keyword === 'ENV' && instruction.args === 'PORT=${PORT}'),
    `${label}: and listens on it`,
  );
}

/** A FROM instruction's base and stage name: `node:24 AS build` → ['node:24', 'build']. */
const fromParts = (args: string) =>
  /^(\S+)\s+AS\s+(\S+)$/i.exec(args)?.slice(1) as [base: string, stage: string] | undefined;

/** Each stage's name and instructions, in order, a stage built FROM another starting with that one's (it inherits its USER, CMD…). */
function stagesOf(dockerfile: string): [string, Instruction[]][] {
  const stages = new Map<string, Instruction[]>();
  let current: Instruction[] = [];
  for (const instruction of instructions(dockerfile)) {
    if (instruction.keyword !== 'FROM') {
      current.push(instruction);
      continue;
    }
    const [base, stage] = fromParts(instruction.args) ?? [];
    current = [...(stages.get(base!) ?? [])];
    stages.set(stage!, current);
  }
  return [...stages];
}

/**
 * Runs RUN instructions' shell commands in order, as Docker does (sh -c, build arguments in
 * the environment), from the repository root, which stands in for the build's copy of it.
 * Their --mount options need BuildKit and are left out. Stops at the first that fails.
 */
/** The PATH the steps run with: this node (as the image's) and the system's tools (sh, test, grep). */
const STEP_PATH = `${dirname(process.execPath)}:/usr/bin:/bin`;

function runSteps(steps: Instruction[], env: Record<string, string>): { status: number | null; stderr: string } {
  let stderr = '';
  for (const step of steps) {
    const command = step.args.replace(/^(--mount=\S+\s+)+/, '');
    const run = spawnSync('sh', ['-c', command], {
      cwd: repoRoot,
      encoding: 'utf8',
      env: { PATH: STEP_PATH, ...env },
    });
    stderr += run.stderr;
    if (run.status !== 0) return { status: run.status, stderr };
  }
  return { status: 0, stderr };
}

/** Stand-ins for npm and pnpm that only record how they were called: the steps' commands, evaluated by the shell. */
function commandRecorder(t: Test): { env: Record<string, string>; calls(): string[][] } {
  const dir = mkdtempSync(join(tmpdir(), 'taskoverflow-dockerfile-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const log = join(dir, 'calls.jsonl');
  for (const tool of ['npm', 'pnpm']) {
    const script = `#!${process.execPath}\nrequire('node:fs').appendFileSync(${JSON.stringify(log)}, JSON.stringify([${JSON.stringify(tool)}, ...process.argv.slice(2)]) + '\\n');\n`;
    writeFileSync(join(dir, tool), script);
    chmodSync(join(dir, tool), 0o755);
  }
  return {
    env: { PATH: `${dir}:${STEP_PATH}` },
    /** The calls since the last time this was asked. */
    calls() {
      if (!existsSync(log)) return [];
      const calls = readFileSync(log, 'utf8')
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as string[]);
      rmSync(log);
      return calls;
    },
  };
}

/** A pnpm command line's options without its command, e.g. the --filter options of `pnpm install …`. */
const withoutCommand = (args: string[], command: string) => args.filter((arg) => arg !== command);

/** The workspace packages pnpm selects with these options (--filter, --filter-prod…), asked of the real workspace. */
function selectedProjects(filterArgs: string[]): string[] {
  const selection = filterArgs.flatMap((arg, index) =>
    /^--filter(-prod)?$/.test(arg) ? [arg, filterArgs[index + 1]!] : [],
  );
  if (selection.length === 0) return [];
  const output = execFileSync('pnpm', ['ls', '--depth', '-1', '--json', ...selection], {
    cwd: repoRoot,
    encoding: 'utf8',
  });
  return (JSON.parse(output) as { name: string }[]).map((project) => project.name);
}

/** Workspace package name → its directory, relative to the repository root. */
const workspaceDirs = new Map(
  ['packages', 'services'].flatMap((parent) =>
    readdirSync(join(repoRoot, parent))
      .map((entry) => `${parent}/${entry}`)
      .filter((dir) => existsSync(join(repoRoot, dir, 'package.json')))
      .map((dir) => [JSON.parse(read(`${dir}/package.json`)).name as string, dir] as const),
  ),
);
const workspaceDir = (name: string) => workspaceDirs.get(name) ?? name;

/** A workspace package and the workspace packages it needs at run time, transitively (its dependencies, not devDependencies). */
function productionClosure(name: string, found = new Set<string>()): Set<string> {
  if (found.has(name)) return found;
  found.add(name);
  const { dependencies = {} } = JSON.parse(read(`${workspaceDir(name)}/package.json`)) as {
    dependencies?: Record<string, string>;
  };
  for (const [dependency, range] of Object.entries(dependencies))
    if (range.startsWith('workspace:')) productionClosure(dependency, found);
  return found;
}

/** The projects `tsc -b <args>` builds, as directories relative to the repository root (asked with --dry --force: nothing is written). */
function builtProjects(tscArgs: string[]): string[] {
  const tsc = spawnSync(join(repoRoot, 'node_modules/.bin/tsc'), [...tscArgs, '--dry', '--force'], {
    cwd: repoRoot,
    encoding: 'utf8',
  });
  return [...tsc.stdout.matchAll(/would build project '([^']+)'/g)].map((match) =>
    relative(repoRoot, dirname(resolve(match[1]!))),
  );
}

/** Runs a command with only `env` (and a PATH to node), resolving to its exit code. */
async function exitCode(command: string, args: string[], env: Record<string, string>): Promise<number | null> {
  const child = spawn(command, args, { env: { PATH: dirname(process.execPath), ...env }, stdio: 'ignore' });
  const [code] = (await once(child, 'exit')) as [number | null];
  return code;
}

/** The stage docker-compose.yml builds: the local stack never talks to RDS. */
const COMPOSE_IMAGE_STAGE = 'runtime';

/** Instructions that have to do with the RDS CA bundle: its checksum argument or the file itself. */
const touchesRdsCaBundle = (instruction: Instruction) =>
  instruction.args.includes('RDS_CA_BUNDLE_SHA256') || instruction.args.includes(RDS_CA_BUNDLE_PATH);

const ignored = read('.dockerignore')
  .split('\n')
  .map((line) => line.trim())
  .filter((line) => line && !line.startsWith('#'));

t.test('.dockerignore keeps local builds out and what the build needs in', async (t) => {
  for (const pattern of ['**/node_modules', '**/dist', '.git']) t.ok(ignored.includes(pattern), `ignores ${pattern}`);
  for (const needed of [
    'package.json',
    'pnpm-lock.yaml',
    'pnpm-workspace.yaml',
    '.npmrc',
    'tsconfig.base.json',
    'packages',
    'services',
  ]) {
    t.notOk(ignored.includes(needed), `keeps ${needed}`);
  }
});

t.test('the Dockerfile builds one server package, named by its build arguments', async (t) => {
  const dockerfile = read('Dockerfile');
  const all = instructions(dockerfile);
  const stages = checkDockerfile(t, 'Dockerfile', dockerfile, ignored);
  const buildArgs = all.filter((instruction) => instruction.keyword === 'ARG').map((instruction) => instruction.args);
  t.ok(
    buildArgs.includes('PACKAGE_DIR') && buildArgs.includes('PORT'),
    'PACKAGE_DIR and PORT are build arguments, without defaults',
  );

  t.same(
    [...stages.keys()],
    ['build', COMPOSE_IMAGE_STAGE, AWS_IMAGE_STAGE],
    'build, then the compose image, then the AWS image: a plain docker build makes the AWS one',
  );
  const composeImage = stages.get(COMPOSE_IMAGE_STAGE) ?? [];
  const awsImage = stages.get(AWS_IMAGE_STAGE) ?? [];
  checkImageStage(t, `stage ${COMPOSE_IMAGE_STAGE}`, composeImage);
  checkImageStage(t, `stage ${AWS_IMAGE_STAGE}`, awsImage);

  t.same(
    composeImage.filter(touchesRdsCaBundle),
    [],
    `stage ${COMPOSE_IMAGE_STAGE}: no RDS CA bundle, so no checksum to pass`,
  );
  t.same(
    awsImage.slice(0, composeImage.length),
    composeImage,
    `stage ${AWS_IMAGE_STAGE}: built FROM ${COMPOSE_IMAGE_STAGE}, the same image underneath`,
  );
  const addBundle = awsImage.find(
    (instruction) => instruction.keyword === 'ADD' && instruction.args.endsWith(` ${RDS_CA_BUNDLE_PATH}`),
  );
  t.ok(addBundle, `stage ${AWS_IMAGE_STAGE}: adds the RDS CA bundle where DATABASE_URL (infra) expects it`);
  t.match(
    addBundle?.args,
    /^--checksum=sha256:\$\{RDS_CA_BUNDLE_SHA256\} /,
    'verified against the RDS_CA_BUNDLE_SHA256 build argument',
  );
  t.ok(
    awsImage.some((instruction) => instruction.keyword === 'ARG' && instruction.args === 'RDS_CA_BUNDLE_SHA256'),
    'which has no default',
  );
  const awsChecks = awsImage.slice(composeImage.length).filter((instruction) => instruction.keyword === 'RUN');
  for (const checksum of ['', 'abc', 'A'.repeat(64), `${'a'.repeat(64)} `, 'sha256:' + 'a'.repeat(64)]) {
    const run = runSteps(awsChecks, { RDS_CA_BUNDLE_SHA256: checksum });
    t.not(run.status, 0, `stage ${AWS_IMAGE_STAGE}: RDS_CA_BUNDLE_SHA256="${checksum}" fails the build`);
    t.match(run.stderr, 'RDS_CA_BUNDLE_SHA256 must be the SHA-256 (64 hex digits)', 'saying what to pass');
  }
  t.equal(
    runSteps(awsChecks, { RDS_CA_BUNDLE_SHA256: '0123456789abcdef'.repeat(4) }).status,
    0,
    'a checksum of 64 hex digits passes',
  );
});

t.test(
  'the build stage installs what the package needs for production, compiles it with its references and deploys it',
  async (t) => {
    const stages = new Map(stagesOf(read('Dockerfile')));
    const build = stages.get('build') ?? [];
    const runtimeCopy = stages
      .get(COMPOSE_IMAGE_STAGE)
      ?.find((instruction) => /^--from=build\s/.test(instruction.args));
    const recorder = commandRecorder(t);
    const steps = build.filter((instruction) => instruction.keyword === 'RUN');
    const environment = Object.fromEntries(
      build
        .filter((instruction) => instruction.keyword === 'ENV')
        .map((instruction) => instruction.args.split('=') as [string, string]),
    );

    const wrongDir = runSteps(steps, { ...environment, ...recorder.env, PACKAGE_DIR: 'services/todo-nothing' });
    t.not(wrongDir.status, 0, 'a PACKAGE_DIR that is no workspace package fails the build');
    t.match(
      wrongDir.stderr,
      "PACKAGE_DIR must name the workspace package to build (services/todo-read, services/todo-write or packages/edge), got 'services/todo-nothing'",
    );
    t.same(
      recorder.calls().filter(([tool]) => tool === 'pnpm'),
      [],
      'before anything is installed',
    );

    const rootPackage = JSON.parse(read('package.json'));
    for (const packageDir of ['services/todo-read', 'services/todo-write', 'packages/edge']) {
      const name: string = JSON.parse(read(`${packageDir}/package.json`)).name;
      const run = runSteps(steps, { ...environment, ...recorder.env, PACKAGE_DIR: packageDir });
      t.equal(run.status, 0, `${packageDir}: every step runs`, { stderr: run.stderr });
      const calls = recorder.calls();
      t.same(
        calls.find(([tool]) => tool === 'npm'),
        ['npm', 'install', '--global', '--no-fund', '--no-audit', `pnpm@${rootPackage.packageManager.split('@')[1]}`],
        `${packageDir}: installs the pnpm package.json pins`,
      );
      const pnpm = calls.filter(([tool]) => tool === 'pnpm').map(([, ...args]) => args);

      const install = pnpm.find((args) => args.includes('install'));
      t.ok(install?.includes('--frozen-lockfile'), `${packageDir}: installs what the lockfile says`);
      const installed = selectedProjects(withoutCommand(install ?? [], 'install'));
      t.same(
        installed.sort(),
        [...productionClosure(name)].sort(),
        `${packageDir}: installs the package and the workspace packages it needs in production, no others`,
      );

      const compile = pnpm.find((args) => args[0] === 'exec' && args[1] === 'tsc');
      const compiled = builtProjects(compile?.slice(2) ?? []);
      t.ok(compiled.includes(packageDir), `${packageDir}: tsc compiles it (its dist/server.js)`);
      const installedDirs = installed.map(workspaceDir);
      t.same(
        compiled.filter((dir) => !installedDirs.includes(dir)),
        [],
        `${packageDir}: and only projects whose dependencies were installed`,
      );

      const deploy = pnpm.find((args) => args.includes('deploy'));
      t.ok(deploy?.includes('--prod'), `${packageDir}: deploys its production dependencies only`);
      t.same(
        selectedProjects(withoutCommand(deploy ?? [], 'deploy').filter((arg) => !arg.startsWith('/'))),
        [name],
        `${packageDir}: deploys this package`,
      );
      t.equal(
        deploy?.at(-1),
        runtimeCopy?.args.split(/\s+/)[1],
        `${packageDir}: into the directory the ${COMPOSE_IMAGE_STAGE} stage copies`,
      );
    }
  },
);

t.test('an image stage refuses to build without PORT', async (t) => {
  const runtime = stagesOf(read('Dockerfile')).find(([name]) => name === COMPOSE_IMAGE_STAGE)?.[1] ?? [];
  const steps = runtime.filter((instruction) => instruction.keyword === 'RUN');
  const missing = runSteps(steps, { PORT: '' });
  t.not(missing.status, 0, 'no PORT: the build fails');
  t.match(missing.stderr, 'PORT must be the port the server listens on (3000, 3001 or 8080)');
  t.equal(runSteps(steps, { PORT: '3000' }).status, 0, 'PORT=3000 passes');
});

t.test("the HEALTHCHECK command exits 0 while the server's health route answers 200, 1 otherwise", async (t) => {
  for (const [stageName, stage] of stagesOf(read('Dockerfile')).filter(([name]) => name !== 'build')) {
    const healthcheck = stage.find((instruction) => instruction.keyword === 'HEALTHCHECK');
    const command = JSON.parse(/\bCMD\s+(\[.*\])$/.exec(healthcheck?.args ?? '')?.[1] ?? 'null') as string[] | null;
    t.equal(command?.[0], 'node', `stage ${stageName}: an exec-form CMD run by the image's node`);
    if (!command) continue;

    let status = 200;
    const paths: string[] = [];
    const server = createServer((request, response) => {
      paths.push(request.url ?? '');
      response.writeHead(request.url === HEALTH_PATH ? status : 404).end();
    }).listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = String((server.address() as AddressInfo).port);
    const check = () => exitCode(process.execPath, command.slice(1), { PORT: port });

    t.equal(await check(), 0, `stage ${stageName}: healthy when the server answers 200`);
    t.same(paths, [HEALTH_PATH], `stage ${stageName}: it asked the health route, on PORT`);
    status = 503;
    t.equal(await check(), 1, `stage ${stageName}: unhealthy when it answers 503 (draining, or shedding)`);
    server.close();
    await once(server, 'close');
    t.equal(await check(), 1, `stage ${stageName}: unhealthy when nothing listens`);
  }
});

const compose = parse(read('docker-compose.yml'), { merge: true });
const composeServices: Record<string, any> = compose.services;

t.test('docker-compose.yml is interpolation-safe', async (t) => {
  // Compose replaces $VAR and ${VAR…} in every value; `$$` is a literal $.
  const strings = (value: unknown): string[] =>
    typeof value === 'string'
      ? [value]
      : value && typeof value === 'object'
        ? Object.values(value).flatMap(strings)
        : [];
  for (const value of strings(compose)) {
    t.same(
      value.match(/(?<!\$)\$(?!\$|\{[A-Z_0-9]+(:[-?][^}]*)?\})/g) ?? [],
      [],
      `every $ is $$ or \${VARIABLE}: ${value.slice(0, 40)}`,
    );
  }
});

t.test(
  'docker-compose.yml runs postgres, redis, the migration, both services (read twice) and the edge on :8080',
  async (t) => {
    t.same(Object.keys(composeServices).sort(), [
      'edge',
      'migrate',
      'migrate-bootstrap',
      'postgres',
      'redis',
      'todo-read-1',
      'todo-read-2',
      'todo-write',
    ]);
    const published = Object.entries(composeServices).filter(([, definition]) => definition.ports);
    t.same(
      published.map(([name, definition]) => [name, definition.ports]),
      [['edge', ['8080:8080']]],
      'only the edge is published',
    );
  },
);

/** The image compose builds for a workspace package (services/todo-read…). */
const imageOf = (packageDir: string) =>
  Object.values(composeServices).find((definition) => definition.build?.args?.PACKAGE_DIR === packageDir)?.image;

/** The compose services that run a service's image as that service (not the migrate job), by routing-table name. */
function replicasOf(service: ServiceName): [string, any][] {
  return Object.entries(composeServices).filter(
    ([, definition]) => definition.image === imageOf(`services/${service}`) && !definition.command,
  );
}

t.test('each image is built once; the services that share it run the built image', async (t) => {
  const builders = Object.entries(composeServices).filter(([, definition]) => definition.build);
  const images = builders.map(([, definition]) => definition.image);
  t.same(images.length, new Set(images).size, 'no two services build the same image');
  const sharing = Object.entries(composeServices).filter(
    ([, definition]) => !definition.build && images.includes(definition.image),
  );
  t.same(sharing.map(([name]) => name).sort(), ['migrate', 'migrate-bootstrap', 'todo-read-2']);
  for (const [name, definition] of sharing)
    t.equal(definition.pull_policy, 'never', `${name}: never pulled, always the local build`);
});

t.test(
  "every image compose builds is one of the workspace's servers, built by the Dockerfile for its port",
  async (t) => {
    const built = Object.entries(composeServices).filter(([, definition]) => definition.build);
    t.same(built.map(([name]) => name).sort(), ['edge', 'todo-read-1', 'todo-write']);
    for (const [name, { build, environment }] of built) {
      t.same(
        Object.keys(build).sort(),
        ['args', 'context', 'target'],
        `${name}: the root Dockerfile, the repository as context`,
      );
      t.equal(build.target, COMPOSE_IMAGE_STAGE, `${name}: the image without the RDS CA bundle`);
      t.same(
        Object.keys(build.args).sort(),
        ['PACKAGE_DIR', 'PORT'],
        `${name}: the Dockerfile's build arguments, no checksum among them`,
      );
      t.equal(build.context, '.', `${name}: context`);
      const packageDir: string = build.args.PACKAGE_DIR;
      const packageJson = JSON.parse(read(`${packageDir}/package.json`));
      t.equal(
        packageJson.scripts?.start,
        'node dist/server.js',
        `${name}: ${packageDir} starts as the image's CMD does`,
      );
      t.ok(
        existsSync(join(repoRoot, packageDir, 'src/server.ts')),
        `${name}: dist/server.js is compiled from ${packageDir}/src/server.ts`,
      );
      t.equal(
        String(build.args.PORT),
        String(environment.PORT),
        `${name}: the image exposes the port it is told to listen on`,
      );
    }
    t.equal(composeServices.edge.build.args.PACKAGE_DIR, 'packages/edge');
    t.notMatch(
      read('docker-compose.yml'),
      'RDS_CA_BUNDLE_SHA256',
      '`docker compose up --build` needs no RDS_CA_BUNDLE_SHA256 from the shell',
    );
  },
);

t.test('the edge routes to every replica of each service, as the routing table names them', async (t) => {
  const edge = composeServices.edge.environment;
  t.equal(edge.HOST, '0.0.0.0', 'the edge listens beyond its container');
  const upstreams = { 'todo-read': edge.READ_UPSTREAMS, 'todo-write': edge.WRITE_UPSTREAMS } satisfies Record<
    ServiceName,
    string
  >;
  for (const service of SERVICES) {
    const replicas = replicasOf(service);
    t.ok(replicas.length >= (service === 'todo-read' ? 2 : 1), `${service}: ${replicas.length} replica(s)`);
    const expected = replicas.map(([name, definition]) => `http://${name}:${definition.environment.PORT}`).sort();
    t.same(upstreams[service].split(',').sort(), expected, `${service}: upstreams`);
  }
});

t.test('services get the database as their own role, the cache and their settings', async (t) => {
  t.same(
    SERVICES.map((service) => replicasOf(service).length),
    [2, 1],
    'todo-read twice, todo-write once',
  );
  for (const service of SERVICES) {
    for (const [name, definition] of replicasOf(service)) {
      const environment = definition.environment;
      const databaseUrl = new URL(environment.DATABASE_URL);
      t.equal(databaseUrl.hostname, 'postgres', `${name}: DATABASE_URL`);
      t.same(
        [databaseUrl.username, databaseUrl.password],
        [SERVICE_ROLES[service], LOCAL_ROLE_PASSWORDS[service]],
        `${name}: logs in as its role`,
      );
      t.equal(environment.REDIS_URL, 'redis://redis:6379', `${name}: REDIS_URL`);
      t.equal(Number(environment.PORT), CONTAINER_PORTS[service], `${name}: PORT`);
      t.equal(environment.SERVICE_INSTANCE, name, `${name}: SERVICE_INSTANCE`);
      t.notOk('MIGRATE_ON_START' in environment, `${name}: does not migrate (its role may not)`);
      t.ok('CLOUDWATCH_LOG_GROUP' in environment, `${name}: CloudWatch shipping can be switched on from the shell`);
      t.ok('CLOUDWATCH_CREATE_LOG_GROUP' in environment, `${name}: and creating a group of one's own`);
    }
  }
});

t.test(
  'as on AWS, the superuser bootstraps the migration role, which migrates; todo-write waits for both',
  async (t) => {
    const bootstrap = composeServices['migrate-bootstrap'];
    t.same(bootstrap.command, BOOTSTRAP_COMMAND, "the same command as the AWS migration task's bootstrap container");
    t.equal(new URL(bootstrap.environment.DATABASE_URL).username, MASTER_USER, "as the image's superuser");
    const migrationPassword = bootstrap.environment[MIGRATION_PASSWORD_VARIABLE];
    t.ok(migrationPassword, "with the migration role's password to set");

    const migrate = composeServices.migrate;
    t.same(migrate.command, MIGRATE_COMMAND, "the same command as the AWS migration task's migrate container");
    const url = new URL(migrate.environment.DATABASE_URL);
    t.same(
      [url.username, url.password],
      [MIGRATION_ROLE, migrationPassword],
      'as the migration role, with that password',
    );
    for (const service of SERVICES) {
      t.equal(
        migrate.environment[ROLE_PASSWORD_VARIABLES[service]],
        LOCAL_ROLE_PASSWORDS[service],
        `sets ${SERVICE_ROLES[service]}'s password`,
      );
    }
    t.same(migrate.depends_on['migrate-bootstrap'], { condition: 'service_completed_successfully' });
    t.same(composeServices['todo-write'].depends_on.migrate, { condition: 'service_completed_successfully' });
    for (const job of [bootstrap, migrate]) {
      t.match(
        job.restart,
        /^on-failure(:\d+)?$/,
        `${job.command.at(-1)}: a refused connection on a first start is retried by a restart`,
      );
    }
  },
);

t.test(
  "postgres's health check asks over TCP, which the image's temporary init server does not listen on",
  async (t) => {
    const test: string[] = composeServices.postgres.healthcheck.test;
    t.equal(test[1], 'pg_isready');
    t.ok(
      test.includes('-h') && test[test.indexOf('-h') + 1] === '127.0.0.1',
      'pg_isready -h 127.0.0.1 (docker-library/postgres#146)',
    );
  },
);

t.test('everything starts in order: each dependency must be healthy first, and can tell', async (t) => {
  const hasHealthcheck = (name: string) => {
    const definition = composeServices[name];
    if (definition.healthcheck) return true;
    const builtHere =
      Boolean(definition.build) ||
      Object.values(composeServices).some((other) => other.build && other.image === definition.image);
    return builtHere && instructions(read('Dockerfile')).some((instruction) => instruction.keyword === 'HEALTHCHECK');
  };
  for (const [name, definition] of Object.entries(composeServices)) {
    for (const [dependency, condition] of Object.entries<any>(definition.depends_on ?? {})) {
      // A one-off job (the migrations) is waited for until it exits successfully; a server until healthy.
      if (/^on-failure/.test(composeServices[dependency].restart)) {
        t.equal(condition.condition, 'service_completed_successfully', `${name} waits for ${dependency} to succeed`);
        continue;
      }
      t.equal(condition.condition, 'service_healthy', `${name} waits for ${dependency} to be healthy`);
      t.ok(hasHealthcheck(dependency), `${dependency} has a healthcheck`);
    }
  }
  for (const service of ['todo-read-1', 'todo-read-2'])
    t.ok(composeServices[service].depends_on['todo-write'], `${service} starts after the migration`);
  t.ok(hasHealthcheck('edge'), 'the edge has a healthcheck');
});
