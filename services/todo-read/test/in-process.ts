/** todo-read built in-process for a test, as request-log and todo-lists use it. */
import {
  readLogLines,
  TEST_SERVICE_ENV,
  waitForLogLine,
  type LogLine,
  type TestStackOwner,
} from '@taskoverflow/stack/testing';
import { buildTodoReadApp, loadConfig } from '../src/app.js';

/** Where an in-process todo-read writes its log file (temporaryLogDir). */
interface LogDir {
  logDir: string;
  logFile(instance: string): string;
}

/**
 * A todo-read listening on loopback, logging to `logs.logFile(name)` with a stats line a minute
 * (none during a test), without shedding unless `env` asks for it; closed at the owner's
 * clean-up. With REDIS_URL, it resolves once its Redis client has connected: until then the
 * cache is bypassed.
 */
export async function listenTodoRead(
  owner: TestStackOwner,
  logs: LogDir,
  name: string,
  env: Record<string, string>,
): Promise<{ base: string; closeAndReadLines(): Promise<LogLine[]> }> {
  const app = await buildTodoReadApp(
    loadConfig({ ...TEST_SERVICE_ENV, LOG_FILE: logs.logFile(name), STATS_INTERVAL_MS: '60000', ...env }),
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
    /** Closes the app, which writes its last stats line and flushes its log file, and returns the file's lines. */
    async closeAndReadLines() {
      await app.close();
      return readLogLines(logs, name);
    },
  };
}
