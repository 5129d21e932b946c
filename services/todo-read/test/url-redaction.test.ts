/**
 * No password in what a service prints (issue 20): a DATABASE_URL or REDIS_URL too malformed
 * to parse is named in the start-up error with its password masked, by the one rule every URL
 * in a log line or an error goes through (redactPassword, packages/config/test). Both services
 * run as real processes; the configuration fails before any connection is tried.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import t from 'tap';

const SERVICES = ['todo-read', 'todo-write'] as const;
/** Generous for a busy machine; the child is killed past it. */
const START_TIMEOUT_MS = 40_000;

/** Runs a service until it exits; its exit code and everything it printed. */
async function start(service: (typeof SERVICES)[number], env: Record<string, string>) {
  const entry = fileURLToPath(new URL(`../../${service}/src/server.ts`, import.meta.url));
  const { DATABASE_URL: _database, REDIS_URL: _redis, ...inherited } = process.env;
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--conditions=development', entry], {
      env: { ...inherited, HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'debug', ...env },
      timeout: START_TIMEOUT_MS,
    });
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const { code, signal, stdout, stderr } = error as { code?: number; signal?: string; stdout: string; stderr: string };
    return { code: code ?? signal, output: stdout + stderr };
  }
}

for (const service of SERVICES) {
  t.test(`${service} names a malformed DATABASE_URL and REDIS_URL without their passwords`, async (t) => {
    const { code, output } = await start(service, {
      DATABASE_URL: 'postgres://app:S3CRET-db#1@db.example:5432/todos',
      REDIS_URL: 'redis://default:S3CRET#redis@cache.example:6379',
    });
    t.equal(code, 1, 'exits 1');
    t.match(output, `${service} failed to start: invalid configuration`);
    t.match(output, 'DATABASE_URL is not a URL: "postgres://app:***@db.example:5432/todos"');
    t.match(output, 'REDIS_URL is not a URL: "redis://default:***@cache.example:6379"');
    t.notMatch(output, 'S3CRET', `no password printed: ${output}`);
  });
}
