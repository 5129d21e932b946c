/** redactPassword: the one rule for every URL that goes into a log line, an error or the console. */
import t from 'tap';
import { redactPassword } from '../src/index.js';

t.test('redactPassword masks the password of any URL, parseable or not, and never throws', async (t) => {
  const cases: Array<[string, string]> = [
    ['postgres://app:s3cret@db.example:5432/todos', 'postgres://app:***@db.example:5432/todos'],
    ['redis://:t0ken@cache.example:6379', 'redis://:***@cache.example:6379'],
    ['rediss://default:t0ken@cache.example:6379/0', 'rediss://default:***@cache.example:6379/0'],
    ['postgres://app@db.example:5432/todos', 'postgres://app@db.example:5432/todos'],
    ['redis://127.0.0.1:6379', 'redis://127.0.0.1:6379'],
    [
      'postgres://db.example/todos?user=app&password=s3cret&sslmode=require',
      'postgres://db.example/todos?user=app&password=***&sslmode=require',
    ],
    // Malformed: characters that break the URL inside the password.
    ['postgres://app:s3c@r/e#t@db.example:5432/todos', 'postgres://app:***@db.example:5432/todos'],
    ['postgres://app:s3c ret@db.example:notaport/todos', 'postgres://app:***@db.example:notaport/todos'],
    ['redis://default:pa ss#word@cache.example:6379', 'redis://default:***@cache.example:6379'],
    // No scheme: `app:` would parse as one.
    ['app:s3cret@db.example:5432/todos', 'app:***@db.example:5432/todos'],
    ['not a url at all', 'not a url at all'],
    ['', ''],
  ];
  for (const [url, redacted] of cases) t.equal(redactPassword(url), redacted, url);
});
