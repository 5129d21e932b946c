/**
 * As root, PostgreSQL runs as the postgres user, who cannot reach a checkout under a home of
 * mode 0700 (/root in containers and CI images): neither the binaries in its node_modules nor
 * its .data directory. These tests build such places and start PostgreSQL from them.
 */
import { spawnSync } from 'node:child_process';
import { cp, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import pg from 'pg';
import t, { type Test } from 'tap';
import { canReach, postgresUser, reachableBinaries, ROOT_REACHABLE_DIR } from '../src/postgres-root.js';
import { installedBinaries, startEmbeddedPostgres } from '../src/postgres.js';

const skip = process.getuid?.() === 0 ? false : 'PostgreSQL runs as another user only when we are root';

/** A fresh directory of mode 0700, as mkdtemp makes it: the postgres user cannot enter it. */
async function unreachableDirectory(t: Test): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'taskoverflow-root-test-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  t.equal((await stat(dir)).mode & 0o777, 0o700);
  return dir;
}

t.test(
  'a data directory the postgres user cannot reach moves where it can, the same one on every start',
  { skip },
  async (t) => {
    const requested = join(await unreachableDirectory(t), 'data');
    t.notOk(canReach(postgresUser()!, join(requested, '..')), 'the postgres user cannot enter the directory asked for');

    const first = await startEmbeddedPostgres({ dataDir: requested });
    t.teardown(async () => {
      await first.stop();
      await rm(first.dataDir, { recursive: true, force: true });
    });
    t.equal(first.created, true);
    t.equal(join(first.dataDir, '..'), ROOT_REACHABLE_DIR, 'moved into ROOT_REACHABLE_DIR');
    const client = new pg.Client({ connectionString: first.adminUrl });
    await client.connect();
    await client.query(`CREATE TABLE kept (note text); INSERT INTO kept VALUES ('still here')`);
    await client.end();
    await first.stop();

    const second = await startEmbeddedPostgres({ dataDir: requested });
    t.teardown(() => second.stop());
    t.same({ dataDir: second.dataDir, created: second.created }, { dataDir: first.dataDir, created: false });
    const again = new pg.Client({ connectionString: second.adminUrl });
    await again.connect();
    t.same((await again.query('SELECT note FROM kept')).rows, [{ note: 'still here' }]);
    await again.end();
  },
);

t.test('binaries the postgres user cannot execute where they are installed run from a copy', { skip }, async (t) => {
  const user = postgresUser()!;
  const unreachable = join(await unreachableDirectory(t), 'native');
  await cp(installedBinaries().nativeDir, unreachable, { recursive: true, verbatimSymlinks: true });
  t.notOk(canReach(user, join(unreachable, 'bin', 'initdb')), 'the postgres user cannot execute them there');

  const version = `test-${basename(join(unreachable, '..'))}`;
  const copyDir = await reachableBinaries(user, { version, nativeDir: unreachable });
  t.teardown(() => rm(copyDir, { recursive: true, force: true }));
  t.equal(copyDir, join(ROOT_REACHABLE_DIR, `bin-${version}`));
  t.equal((await stat(copyDir)).mode & 0o777, 0o755);
  const postgres = spawnSync(join(copyDir, 'bin', 'postgres'), ['--version'], { ...user, encoding: 'utf8' });
  t.match(postgres.stdout, /^postgres \(PostgreSQL\) \d+/, 'the postgres user runs the copy, its libraries found');
  t.equal(
    await reachableBinaries(user, { version, nativeDir: unreachable }),
    copyDir,
    'a second start reuses the copy',
  );
});
