/**
 * Test helpers, imported as `@taskoverflow/stack/testing`. `pnpm test` provides the PostgreSQL
 * server: it sets TEST_DATABASE_URL before it runs tap.
 */
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { parseLogRecord } from '@taskoverflow/observability/log-schema';
import type { ServiceName } from '@taskoverflow/routing';
import pg from 'pg';
import { databaseUrlFor, dropDatabase, ensureDatabase, migrateDatabase, migrationDatabaseUrl } from './database.js';
import { AppendedLines, logFilePath } from './log-files.js';
import { repoRoot } from './paths.js';
import { startLocalStack, type LocalStack, type LocalStackOptions } from './stack.js';

export { startUpstream } from '@taskoverflow/edge/testing';
export { MOTO_INSTALL, MotoServer, motoEnvironment, startMoto } from './moto.js';

export interface TestDatabase {
  /** URL of a new, migrated database that only this test uses (as the administrator). */
  url: string;
  /** The same database as the migration role, which owns its schema (as `pnpm migrate` connects). */
  migrationUrl: string;
  /** Drops the database, closing any connections still open to it. Safe to call more than once. */
  drop(): Promise<void>;
}

/**
 * Creates a migrated database of its own for one test. Each has a unique name, so test files
 * that tap runs in parallel never see each other's rows.
 */
export async function createTestDatabase(): Promise<TestDatabase> {
  const adminUrl = process.env.TEST_DATABASE_URL;
  if (!adminUrl) {
    throw new Error(
      'TEST_DATABASE_URL is not set. Run the tests with `pnpm test` (it starts a throwaway PostgreSQL and sets it), ' +
        'or set it to the URL of a PostgreSQL role allowed to CREATE DATABASE.',
    );
  }
  const name = `test_${process.pid}_${randomBytes(4).toString('hex')}`;
  await ensureDatabase(adminUrl, name);
  let dropping: Promise<void> | undefined;
  const drop = (): Promise<void> => (dropping ??= dropDatabase(adminUrl, name));

  const url = databaseUrlFor(adminUrl, name);
  try {
    await migrateDatabase(url);
  } catch (error) {
    await drop();
    throw error;
  }
  return { url, migrationUrl: migrationDatabaseUrl(url), drop };
}

/**
 * A test stack's services do not shed load on event-loop delay: beside other test files on
 * two cores a replica can be descheduled for half a second, and the 503s it would then
 * rightly shed would fail a test about something else. Tests of shedding set their own
 * SHED_EVENT_LOOP_DELAY_MS in serviceEnv. Exported for tests that start a stack on a server
 * of their own or build a service in-process (spread it into serviceEnv or loadConfig).
 */
export const TEST_SERVICE_ENV: Readonly<Record<string, string>> = { SHED_EVENT_LOOP_DELAY_MS: '0' };

/**
 * A service app built in-process by `build` (from its environment: `(env) =>
 * buildTodoReadApp(loadConfig(env))`) over a migrated database of its own, silent and without
 * shedding, with a pool on that database to seed and check it; closed and dropped at the
 * owner's clean-up.
 */
export async function buildTestApp<App extends { close(): Promise<unknown> }>(
  owner: TestStackOwner,
  build: (env: Record<string, string>) => Promise<App>,
): Promise<{ app: App; pool: pg.Pool; databaseUrl: string }> {
  const database = await createTestDatabase();
  const app = await build({ ...TEST_SERVICE_ENV, DATABASE_URL: database.url, LOG_LEVEL: 'silent' });
  const pool = new pg.Pool({ connectionString: database.url });
  owner.teardown(async () => {
    await app.close();
    await pool.end();
    await database.drop();
  });
  return { app, pool, databaseUrl: database.url };
}

/**
 * Runs one statement as `url`'s role, on a connection of its own: 'ok', or the SQLSTATE it
 * failed with (its message when it has none, e.g. no connection): for tests of what a role may do.
 */
export async function sqlOutcome(url: string, statement: string): Promise<string> {
  const client = new pg.Client({ connectionString: url });
  try {
    await client.connect();
    await client.query(statement);
    return 'ok';
  } catch (error) {
    return (error as { code?: string }).code ?? (error as Error).message;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** What owns a test stack and cleans up after it: a tap test (`t`). */
export interface TestStackOwner {
  teardown(cleanUp: () => Promise<void>): void;
}

/**
 * The local split stack for one test file: quiet, on free ports, over a migrated database of
 * its own (`stack.databaseUrl`), with its log files in a temporary directory of its own
 * (read them with readLogLines, waitForLogLine or followLogLines), and without event-loop
 * shedding unless serviceEnv asks for it. The owner's clean-up stops the stack before it drops the database.
 */
export async function startTestStack(
  owner: TestStackOwner,
  { serviceEnv, ...options }: Omit<LocalStackOptions, 'databaseUrl' | 'port' | 'quiet'> = {},
): Promise<LocalStack> {
  const database = await createTestDatabase();
  let stack: LocalStack;
  try {
    stack = await startLocalStack({
      ...options,
      databaseUrl: database.url,
      port: 0,
      quiet: true,
      serviceEnv: { ...TEST_SERVICE_ENV, ...serviceEnv },
    });
  } catch (error) {
    await database.drop();
    throw error;
  }
  owner.teardown(async () => {
    try {
      await stack.stop();
    } finally {
      await database.drop();
    }
  });
  return stack;
}

/** One JSON log line, parsed; a request's lines carry its `request_id`. */
export type LogLine = Record<string, unknown> & { msg?: string; request_id?: string };

/** How often the log files are read again while waiting for or following their lines. */
const LOG_POLL_MS = 20;

type LogFiles = Pick<LocalStack, 'logDir' | 'logFile'>;

/**
 * Reads the lines added to the stack's log files (one instance's, or all of them) since its
 * last read. Services write their files asynchronously, after they answer; a line still being
 * written waits for the next read.
 */
class LogReader {
  readonly #files = new Map<string, AppendedLines>();

  constructor(
    private readonly stack: LogFiles,
    private readonly instance?: string,
  ) {}

  async newLines(): Promise<Array<{ instance: string; line: LogLine }>> {
    const names = this.instance
      ? [basename(this.stack.logFile(this.instance))]
      : (await readdir(this.stack.logDir).catch(absentAsNone)).filter((name) => name.endsWith('.log')).sort();
    const lines: Array<{ instance: string; line: LogLine }> = [];
    for (const name of names) {
      let file = this.#files.get(name);
      if (!file) this.#files.set(name, (file = new AppendedLines(join(this.stack.logDir, name))));
      const instance = name.slice(0, -'.log'.length);
      for (const line of await file.read()) {
        // HAProxy's request lines are read in the edge's schema, as pnpm trace reads them.
        const record = line.startsWith('{') ? parseLogRecord(line) : undefined;
        if (record) lines.push({ instance, line: record });
      }
    }
    return lines;
  }
}

/** No files in a directory that is not there (yet, or any more: removed by the clean-up). */
function absentAsNone(error: NodeJS.ErrnoException): string[] {
  if (error.code === 'ENOENT') return [];
  throw error;
}

/**
 * A temporary directory for the log files of apps a test builds in-process: `logFile(name)` is
 * the LOG_FILE to give one; read them with readLogLines and waitForLogLine, as a stack's. Removed
 * at the owner's clean-up.
 */
export async function temporaryLogDir(owner: TestStackOwner): Promise<LogFiles> {
  const logDir = await mkdtemp(join(tmpdir(), 'taskoverflow-logs-'));
  owner.teardown(() => rm(logDir, { recursive: true, force: true }));
  return { logDir, logFile: (instance) => logFilePath(logDir, instance) };
}

/** The JSON lines written so far to one instance's log file (`todo-read-1`, `edge`), or to all of the stack's. */
export async function readLogLines(stack: LogFiles, instance?: string): Promise<LogLine[]> {
  return (await new LogReader(stack, instance).newLines()).map(({ line }) => line);
}

/**
 * The first line of an instance's log file (or of any of the stack's) that `matches`, once it
 * is there. Fails after `timeoutMs` saying what it waited for.
 */
export async function waitForLogLine(
  stack: LogFiles,
  matches: (line: LogLine) => boolean,
  {
    instance,
    timeoutMs = 5_000,
    description = 'the line',
  }: { instance?: string; timeoutMs?: number; description?: string } = {},
): Promise<LogLine> {
  const reader = new LogReader(stack, instance);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = (await reader.newLines()).find(({ line }) => matches(line));
    if (found) return found.line;
    if (Date.now() >= deadline) {
      throw new Error(
        `${description} was not in ${instance ? stack.logFile(instance) : `the log files in ${stack.logDir}`} within ${timeoutMs} ms`,
      );
    }
    await sleep(LOG_POLL_MS);
  }
}

/**
 * Hands each JSON line the stack's instances write to their log files to `onLine`, soon after
 * it is written, until the owner's clean-up: for a test that collects lines as it goes.
 */
export function followLogLines(
  owner: TestStackOwner,
  stack: LogFiles,
  onLine: (line: LogLine, instance: string) => void,
): void {
  const reader = new LogReader(stack);
  // Widened: the clean-up sets it, which TypeScript's narrowing (and so the lint) cannot see.
  let following = true as boolean;
  const done = (async () => {
    while (following) {
      for (const { instance, line } of await reader.newLines()) onLine(line, instance);
      await sleep(LOG_POLL_MS);
    }
  })();
  owner.teardown(async () => {
    following = false;
    await done;
  });
}

/**
 * What `check` returns once it returns something other than undefined (a condition: `cond ||
 * undefined`), polled every `pollMs`. Fails after `timeoutMs` saying what it waited for.
 */
export async function waitUntil<T>(
  what: string,
  check: () => T | undefined | Promise<T | undefined>,
  timeoutMs = 10_000,
  pollMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = await check();
    if (found !== undefined) return found;
    if (Date.now() >= deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(pollMs);
  }
}

/** How a command run to its end ended, and what it printed. */
export interface CommandRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stdout and stderr together, in the order they arrived: what a terminal would show. */
  output: string;
}

/**
 * Runs a TypeScript entry (a CLI, a fixture) in a child process under tsx, as pnpm's scripts
 * run it, until it exits; its stdin is closed. `env` is the child's whole environment
 * (default: this process's). With an `owner` (a tap test), the owner's clean-up sends it
 * SIGTERM should the test end (time out) first, so a tool still stops what it started.
 */
export async function runEntry(
  entry: string,
  args: readonly string[],
  {
    env = process.env,
    cwd,
    owner,
  }: { env?: NodeJS.ProcessEnv; cwd?: string; owner?: { teardown(cleanUp: () => void): void } } = {},
): Promise<CommandRun> {
  const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=development', entry, ...args], {
    env,
    cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  owner?.teardown(() => void child.kill('SIGTERM'));
  let stdout = '';
  let stderr = '';
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    output += chunk;
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
    output += chunk;
  });
  const [code] = (await once(child, 'close')) as [number | null];
  return { code, stdout, stderr, output };
}

/** How long a service run to its exit may take on a busy machine; it is killed past it. */
const SERVICE_EXIT_TIMEOUT_MS = 40_000;

/**
 * Runs a service from its TypeScript source until it exits, as a start-up that fails does: on
 * 127.0.0.1 port 0, with this process's environment but for DATABASE_URL and REDIS_URL, then
 * `env`. Its exit code (or the signal that ended it) and what it printed.
 */
export async function runServiceToExit(
  service: ServiceName,
  env: Record<string, string>,
): Promise<{ code: number | string; stdout: string; stderr: string }> {
  const entry = join(repoRoot, 'services', service, 'src', 'server.ts');
  const { DATABASE_URL: _database, REDIS_URL: _redis, ...inherited } = process.env;
  try {
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', '--conditions=development', entry],
      {
        env: { ...inherited, HOST: '127.0.0.1', PORT: '0', ...env },
        timeout: SERVICE_EXIT_TIMEOUT_MS,
      },
    );
    return { code: 0, stdout, stderr };
  } catch (error) {
    const { code, signal, stdout, stderr } = error as {
      code?: number;
      signal?: string;
      stdout: string;
      stderr: string;
    };
    return { code: code ?? signal ?? 'unknown', stdout, stderr };
  }
}

/** Sets environment variables of this process until the owner's clean-up, which puts back what was there. */
export function setEnv(owner: { teardown(cleanUp: () => void): void }, values: Record<string, string>): void {
  for (const [name, value] of Object.entries(values)) {
    const saved = process.env[name];
    process.env[name] = value;
    owner.teardown(() => {
      if (saved === undefined) delete process.env[name];
      else process.env[name] = saved;
    });
  }
}

/**
 * A stream for a logger under test (pino's destination) that keeps each JSON line written to
 * it, parsed, in `lines`, as soon as it is written.
 */
export function jsonLinesDestination(): { lines: LogLine[]; destination: Writable } {
  const lines: LogLine[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line !== '') lines.push(JSON.parse(line) as LogLine);
      done();
    },
  });
  return { lines, destination };
}

/** Blocks this process's event loop for `ms`, as CPU-bound work (an overload) would. */
export function busyWait(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}
