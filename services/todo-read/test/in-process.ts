/** todo-read built in-process for a test file, over a database and a redis-server of its own. */
import { startRedisServer } from '@taskoverflow/stack';
import {
  createTestDatabase,
  readLogLines,
  temporaryLogDir,
  TEST_SERVICE_ENV,
  waitForLogLine,
  type LogLine,
  type TestStackOwner,
} from '@taskoverflow/stack/testing';
import pg from 'pg';
import { buildTodoReadApp, loadConfig } from '../src/app.js';

export interface InProcessTodoRead {
  base: string;
  /** Closes the app, which writes its last stats line and flushes its log file, and returns the file's lines. */
  closeAndReadLines(): Promise<LogLine[]>;
}

export interface TodoReadTestBed {
  /** A pool on the test file's database, to seed it and check it. */
  pool: pg.Pool;
  /** The test file's redis-server. */
  redisUrl: string;
  /**
   * A todo-read listening on loopback over the database, logging to a file of its own (`name`)
   * with a stats line a minute (none during a test), without shedding unless `env` asks for
   * it; closed at the owner's clean-up. With REDIS_URL, it resolves once its Redis client has
   * connected: until then the cache is bypassed.
   */
  listen: (owner: TestStackOwner, name: string, env?: Record<string, string>) => Promise<InProcessTodoRead>;
}

/** A database (migrated), a redis-server and a log directory of the test file's own; all gone at the owner's clean-up. */
export async function startTestBed(owner: TestStackOwner): Promise<TodoReadTestBed> {
  const database = await createTestDatabase();
  const redis = await startRedisServer();
  const logs = await temporaryLogDir(owner);
  const pool = new pg.Pool({ connectionString: database.url });
  owner.teardown(async () => {
    await pool.end();
    await redis.stop();
    await database.drop();
  });
  return {
    pool,
    redisUrl: redis.url,
    listen: async (owner, name, env = {}) => {
      const app = await buildTodoReadApp(
        loadConfig({
          ...TEST_SERVICE_ENV,
          DATABASE_URL: database.url,
          LOG_FILE: logs.logFile(name),
          STATS_INTERVAL_MS: '60000',
          ...env,
        }),
      );
      owner.teardown(() => app.close());
      const base = await app.listen({ host: '127.0.0.1', port: 0 });
      if (env.REDIS_URL) {
        await waitForLogLine(logs, (line) => line.msg === 'redis connected', {
          instance: name,
          description: `${name}'s "redis connected" line`,
        });
      }
      return {
        base,
        async closeAndReadLines() {
          await app.close();
          return readLogLines(logs, name);
        },
      };
    },
  };
}
