/** `pnpm start`: runs the whole split stack on this machine until Ctrl-C. */
import { parseArgs } from 'node:util';
import { describeDatabaseUrlProblem } from '@taskoverflow/db';
import { apiOperations, OPENAPI_PATH, routeRequest, serviceOf } from '@taskoverflow/routing';
import { join, resolve } from 'node:path';
import { buildServices } from '../build.js';
import { interruptedExitCode, onStopSignal, redactPassword, type StopSignal } from '@taskoverflow/config';
import { BALANCER_VARIABLE, chooseBalancer } from '../balancer.js';
import { PORT_IN_USE_CODE, START_USAGE_CODE, StartUsageError } from '../errors.js';
import { repoRoot } from '../paths.js';
import { startLocalStack, type LocalStack } from '../stack.js';
import { since } from '../stack-output.js';

const USAGE = `Usage: pnpm start [--port N] [--read-replicas N] [--balancer KIND] [--logs DIR] [--data DIR] [--pretty]

Runs TaskOverflow locally: PostgreSQL, todo-write, N todo-read replicas and the load
balancer in front of them (the edge: HAProxy when installed, else the Node edge), on
127.0.0.1. The services and the Node edge run as compiled JavaScript, as in their
containers: it first builds them with tsc -b (incremental), so restart it to run what you
have edited.

The console shows the start-up, the services' warnings and errors, and every few seconds a
summary per instance (each service and the edge) from its stats line: req/s, p50/p95/p99
latency, 5xx, 503s shed, cache hit and bypass shares, event-loop delay p99, CPU and memory.

Ctrl-C (or SIGTERM) stops the edge, then the services (each finishes its requests), then
Redis and PostgreSQL, and exits 0 (130 for Ctrl-C when run without pnpm, which would report
that as a failure). Ctrl-C again exits at once.

Options:
  --port N            the load balancer's port (default: $PORT, else 8080)
  --read-replicas N   how many todo-read replicas (default: 2)
  --balancer KIND     the edge: haproxy, node (@taskoverflow/edge) or auto (default:
                      $TASKOVERFLOW_BALANCER, else auto: HAProxy when haproxy is on PATH)
  --logs DIR          write the log files to DIR instead of the repository's logs/ (its
                      *.log files are deleted first); read them with pnpm trace --logs DIR
  --data DIR          keep the embedded PostgreSQL's data in DIR instead of .data/postgres
  --pretty            show every log line of every instance instead of the summary (as
                      LOG_FORMAT=pretty); this process then relays them all, which costs
                      CPU under load
  -h, --help          show this help

Environment:
  DATABASE_URL   use this PostgreSQL (its role migrates and creates the services' roles: it
                 needs CREATEROLE); unset, an embedded one keeps its data in .data/postgres,
                 or as root in /var/tmp/taskoverflow-postgres when the postgres user cannot reach it
  REDIS_URL      use this Redis for the read cache; unset, a throwaway redis-server from
                 PATH, or no cache when there is none
  PORT           the default for --port
  TASKOVERFLOW_BALANCER  the default for --balancer
  LOG_LEVEL      the services' and the edge's log level (default: info)
  LOG_FORMAT     pretty: as --pretty; json (default): the summary
  STATS_INTERVAL_MS  how often each instance (services, edge) logs its stats line (default: 5000)

Each instance writes its JSON log lines to logs/<instance>.log (todo-read-1.log, edge.log…;
the logs of the previous run are deleted), or in --logs DIR; \`pnpm trace <request-id>\`
follows one request through them.`;

const DEFAULT_LOG_DIR = join(repoRoot, 'logs');

interface StartOptions {
  port: number;
  readReplicas: number;
  balancer: string;
  databaseUrl: string | undefined;
  redisUrl: string | undefined;
  logDir: string;
  dataDir: string | undefined;
  everyLine: boolean;
}

function readOptions(argv: string[], env: NodeJS.ProcessEnv): StartOptions | 'help' {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        port: { type: 'string' },
        'read-replicas': { type: 'string' },
        balancer: { type: 'string' },
        logs: { type: 'string' },
        data: { type: 'string' },
        pretty: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    throw new StartUsageError((error as Error).message);
  }
  if (values.help) return 'help';

  const databaseUrl = env.DATABASE_URL || undefined;
  const databaseProblem = databaseUrl && describeDatabaseUrlProblem(databaseUrl);
  if (databaseProblem)
    throw new StartUsageError(`${databaseProblem}; or unset DATABASE_URL to use the embedded PostgreSQL`);
  if (databaseUrl && values.data !== undefined) {
    throw new StartUsageError(
      '--data is for the embedded PostgreSQL, which does not run when DATABASE_URL is set: drop one of them',
    );
  }
  const redisUrl = env.REDIS_URL || undefined;
  if (redisUrl && !/^rediss?:\/\//.test(redisUrl)) {
    throw new StartUsageError(
      `REDIS_URL is not a redis URL: "${redactPassword(redisUrl)}". Expected redis://host:6379, or unset it`,
    );
  }
  const balancer = values.balancer ?? env[BALANCER_VARIABLE] ?? 'auto';
  try {
    chooseBalancer(balancer);
  } catch (error) {
    throw new StartUsageError((error as Error).message.replace(BALANCER_VARIABLE, '--balancer'));
  }
  const logFormat = env.LOG_FORMAT || 'json';
  if (logFormat !== 'json' && logFormat !== 'pretty') {
    throw new StartUsageError(`LOG_FORMAT must be json or pretty (got "${logFormat}"), or unset it`);
  }
  return {
    port: wholeNumber(values.port ? '--port' : 'PORT', values.port ?? env.PORT ?? '8080', 0, 65_535),
    readReplicas: wholeNumber('--read-replicas', values['read-replicas'] ?? '2', 1, 32),
    balancer,
    databaseUrl,
    redisUrl,
    // Relative to where the user ran pnpm from: pnpm runs scripts from the root, INIT_CWD keeps theirs.
    logDir: values.logs === undefined ? DEFAULT_LOG_DIR : resolve(env.INIT_CWD ?? process.cwd(), values.logs),
    dataDir: values.data === undefined ? undefined : resolve(env.INIT_CWD ?? process.cwd(), values.data),
    everyLine: values.pretty === true || logFormat === 'pretty',
  };
}

function wholeNumber(name: string, text: string, min: number, max: number): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new StartUsageError(`${name} must be a whole number from ${min} to ${max} (got "${text}")`);
  }
  return value;
}

/** What is running where, framed so that it stands out from the log lines around it. */
function summary(stack: LocalStack, databaseGiven: boolean, logDir: string): string {
  const routes: Array<[route: string, service: string]> = [
    ...apiOperations.map((operation): [string, string] => [
      `${operation.method.padEnd(6)} ${operation.url}`,
      serviceOf(operation),
    ]),
    [`GET    ${OPENAPI_PATH}`, routeRequest('GET', OPENAPI_PATH)],
    ['GET    /  (web UI)', routeRequest('GET', '/')],
  ];
  const processes: Array<[name: string, url: string]> = [
    ...stack.services.map(({ instance, url }): [string, string] => [instance, url]),
    // The embedded server's credentials are fixed and local; a given URL's may be secret.
    ['postgres', databaseGiven ? redactPassword(stack.databaseUrl) : stack.databaseUrl],
    ['redis', stack.redisUrl ? redactPassword(stack.redisUrl) : 'none: reads are not cached'],
  ];
  const routeWidth = Math.max(...routes.map(([route]) => route.length));
  const nameWidth = Math.max(...processes.map(([name]) => name.length));
  return box([
    `TaskOverflow is running at ${stack.url}`,
    '',
    'API, through the load balancer:',
    ...routes.map(([route, service]) => `  ${route.padEnd(routeWidth)}  → ${service}`),
    '',
    'Processes:',
    ...processes.map(([name, url]) => `  ${name.padEnd(nameWidth)}  ${url}`),
    '',
    logDir === DEFAULT_LOG_DIR
      ? 'Logs: logs/<instance>.log; follow a request with: pnpm trace <x-request-id>'
      : `Logs: ${logDir}/<instance>.log; follow a request with: pnpm trace --logs ${logDir} <x-request-id>`,
    'Press Ctrl-C to stop everything.',
  ]);
}

function box(lines: string[]): string {
  const width = Math.max(...lines.map((line) => line.length));
  return [
    `┌${'─'.repeat(width + 2)}┐`,
    ...lines.map((line) => `│ ${line.padEnd(width)} │`),
    `└${'─'.repeat(width + 2)}┘`,
  ].join('\n');
}

/**
 * The error, and how to get past it where we know. The project's own errors (TASKOVERFLOW_*
 * codes, errors.ts) name the problem and the fix: their message alone. Anything else is a bug
 * or a surprise: its stack too.
 */
function explain(error: unknown): string {
  const code = (error as { code?: unknown } | undefined)?.code;
  if (code === PORT_IN_USE_CODE)
    return `${(error as Error).message} (is another pnpm start running? --port N chooses another)`;
  if (code === START_USAGE_CODE) return `${(error as Error).message}\n\n${USAGE}`;
  if (!(error instanceof Error)) return String(error);
  return String(code).startsWith('TASKOVERFLOW_') ? error.message : (error.stack ?? error.message);
}

/** Compiles what runs as processes, saying so: on a fresh clone this takes a while. */
async function build(): Promise<void> {
  const startedAt = Date.now();
  console.log('build: tsc -b (services and load balancer)…');
  await buildServices();
  console.log(`build: compiled to dist/ ✓ ${since(startedAt)}`);
}

async function main(): Promise<void> {
  const options = readOptions(process.argv.slice(2), process.env);
  if (options === 'help') {
    console.log(USAGE);
    process.exit(0);
  }

  // The children run in process groups of their own (detached-child.ts): a Ctrl-C reaches this
  // process alone, which stops them in order.
  const interrupted = new AbortController();
  const starting = build().then(() => startLocalStack({ ...options, signal: interrupted.signal }));
  onStopSignal('stopping… (again to exit at once)', (signal) => void stop(signal));
  const stop = async (signal: StopSignal): Promise<void> => {
    interrupted.abort();
    try {
      // A start cut short by the signal cleans up after itself and rejects: nothing to stop.
      const stack = await starting.catch(() => undefined);
      await stack?.stop();
    } catch (error) {
      console.error(`✗ stopping failed: ${explain(error)}`);
      process.exit(1);
    }
    console.log('stopped ✓');
    process.exit(interruptedExitCode('start', signal));
  };

  try {
    const stack = await starting;
    console.log(`\n${summary(stack, options.databaseUrl !== undefined, options.logDir)}\n`);
  } catch (error) {
    if (!interrupted.signal.aborted) throw error; // else the signal cut the start short, and stop() exits
  }
}

main().catch((error: unknown) => {
  console.error(`\n✗ pnpm start: ${explain(error)}`);
  // Bad usage exits 2, as in the other CLIs.
  process.exit((error as { code?: unknown }).code === START_USAGE_CODE ? 2 : 1);
});
