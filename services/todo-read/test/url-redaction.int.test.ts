/**
 * No password in what a service prints (issue 20): a DATABASE_URL or REDIS_URL too malformed
 * to parse is named in the start-up error with its password masked, by the one rule every URL
 * in a log line or an error goes through (redactPassword, packages/config/test). Both services
 * run as real processes; the configuration fails before any connection is tried.
 */
import { SERVICES } from '@taskoverflow/routing';
import { runServiceToExit } from '@taskoverflow/stack/testing';
import t from 'tap';

for (const service of SERVICES) {
  t.test(`${service} names a malformed DATABASE_URL and REDIS_URL without their passwords`, async (t) => {
    const { code, stdout, stderr } = await runServiceToExit(service, {
      LOG_LEVEL: 'debug',
      DATABASE_URL: 'postgres://app:S3CRET-db#1@db.example:5432/todos',
      REDIS_URL: 'redis://default:S3CRET#redis@cache.example:6379',
    });
    const output = stdout + stderr;
    t.equal(code, 1, 'exits 1');
    t.match(output, `${service} failed to start: invalid configuration`);
    t.match(output, 'DATABASE_URL is not a URL: "postgres://app:***@db.example:5432/todos"');
    t.match(output, 'REDIS_URL is not a URL: "redis://default:***@cache.example:6379"');
    t.notMatch(output, 'S3CRET', `no password printed: ${output}`);
  });
}
