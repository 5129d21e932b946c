/**
 * `pnpm test [tap arguments…]`: runs tap against a throwaway embedded PostgreSQL, unless
 * TEST_DATABASE_URL already names a server, and a throwaway redis-server, unless
 * TEST_REDIS_URL names one. Tests create their own databases on it through
 * createTestDatabase() from @taskoverflow/stack/testing.
 *
 * `pnpm test:unit [files…]` (`--unit`): starts neither, and runs the given test files, or else
 * every test file not named `*.int.test.ts`: the edit-and-test loop.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { statSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { constants, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { redactPassword } from '@taskoverflow/config';
import { repoRoot } from '../paths.js';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../postgres.js';
import { REDIS_INSTALL_HINT, startRedisServer, type RedisServer } from '../redis.js';

/** Data nobody keeps: skip the disk flushes, and allow many parallel test files' pools. */
const THROWAWAY_SETTINGS = { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off', max_connections: '300' };
const TAP_BIN = join(repoRoot, 'node_modules', '.bin', 'tap');
const UNIT_FLAG = '--unit';

/**
 * The naming rule: a test that needs a server or tool (PostgreSQL, Redis, Chromium, k6, moto,
 * Schemathesis) is named `*.int.test.ts`; every other `*.test.ts` needs only loopback HTTP and
 * child processes of our own. `pnpm test:unit` runs tap's own include list (.taprc) without
 * them. tap's default exclusion is repeated because an --exclude given replaces it.
 */
const UNIT_EXCLUDES = ['--exclude=**/@(fixture*(s)|dist)/**', '--exclude=**/*.int.test.ts'];

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const unit = args.includes(UNIT_FLAG);
  const tapArgs = tapArguments(args.filter((arg) => arg !== UNIT_FLAG));
  if (unit && !tapArgs.some(isFileArgument)) tapArgs.push(...UNIT_EXCLUDES);

  // Until tap runs, a signal only sets this: PostgreSQL is then stopped before we exit.
  let interrupted: NodeJS.Signals | undefined;
  let forwardSignal = (signal: NodeJS.Signals): void => void (interrupted = signal);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => forwardSignal(signal));

  let postgres: EmbeddedPostgres | undefined;
  let redis: RedisServer | undefined;
  let tempDir: string | undefined;
  try {
    if (unit) {
      // A test that needs a server then fails saying so, rather than finding one by chance.
      delete process.env.TEST_DATABASE_URL;
      delete process.env.TEST_REDIS_URL;
      console.log('unit tests: no PostgreSQL, no Redis');
    } else {
      if (process.env.TEST_DATABASE_URL) {
        console.log(`test postgres: TEST_DATABASE_URL ${redactPassword(process.env.TEST_DATABASE_URL)}`);
      } else {
        tempDir = await mkdtemp(join(tmpdir(), 'taskoverflow-test-'));
        // mkdtemp makes it 0700; when we run as root, PostgreSQL runs as `postgres` and must enter it.
        await chmod(tempDir, 0o755);
        postgres = await startEmbeddedPostgres({ dataDir: join(tempDir, 'data'), settings: THROWAWAY_SETTINGS });
        process.env.TEST_DATABASE_URL = postgres.adminUrl;
        console.log(`test postgres on 127.0.0.1:${postgres.port} (embedded, data in ${postgres.dataDir}) ✓`);
      }
      if (process.env.TEST_REDIS_URL) {
        console.log(`test redis: TEST_REDIS_URL ${redactPassword(process.env.TEST_REDIS_URL)}`);
      } else {
        // The cache tests need a real Redis; without one they fail and say so.
        redis = await startRedisServer().catch((error: Error) => {
          console.warn(`test redis: none (${error.message}); the cache tests will fail: ${REDIS_INSTALL_HINT}`);
          return undefined;
        });
        if (redis) {
          process.env.TEST_REDIS_URL = redis.url;
          console.log(`test redis on 127.0.0.1:${redis.port} (throwaway) ✓`);
        }
      }
    }
    if (interrupted) return exitCodeOf(interrupted);

    const tap = spawn(TAP_BIN, tapArgs, { cwd: repoRoot, stdio: 'inherit' });
    // A terminal's Ctrl-C reaches tap directly; a signal sent to us alone is passed on.
    forwardSignal = (signal) => tap.kill(signal);
    const [code, signal] = (await once(tap, 'exit')) as [number | null, NodeJS.Signals | null];
    return code ?? exitCodeOf(signal ?? 'SIGTERM');
  } finally {
    await redis?.stop();
    if (postgres) {
      await postgres.stop();
      console.log('test postgres stopped ✓');
    }
    if (tempDir) await rm(tempDir, { recursive: true, force: true });
  }
}

/**
 * What to pass on to tap. `pnpm test -- packages/edge` passes its `--` along, and tap would run
 * every file of a directory it is given, sources included: a directory stands for the test
 * files under it.
 */
function tapArguments(args: string[]): string[] {
  return args
    .filter((arg, i) => !(i === 0 && arg === '--'))
    .map((arg) => (isFileArgument(arg) && isDirectory(arg) ? `${arg.replace(/\/+$/, '')}/**/*.test.ts` : arg));
}

/** A test file, directory or glob, rather than an option to tap. */
function isFileArgument(arg: string): boolean {
  return !arg.startsWith('-');
}

function isDirectory(path: string): boolean {
  return statSync(resolve(repoRoot, path), { throwIfNoEntry: false })?.isDirectory() ?? false;
}

/** The shell's convention for a process ended by a signal. */
function exitCodeOf(signal: NodeJS.Signals): number {
  return 128 + constants.signals[signal];
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`pnpm test: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
