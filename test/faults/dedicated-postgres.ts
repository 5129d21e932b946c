/**
 * A PostgreSQL server of a fault test's own (the shared test server must not be stopped or
 * frozen under other test files), with a `taskoverflow` database; stopped and removed when
 * the test ends. `restart` stops it and starts it again on the same data and port.
 */
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { databaseUrlFor, ensureDatabase, startEmbeddedPostgres, type EmbeddedPostgres } from '@taskoverflow/stack';
import type { Test } from 'tap';

export interface DedicatedPostgres {
  dataDir: string;
  databaseUrl: string;
  stop(): Promise<void>;
  start(): Promise<void>;
}

export async function startDedicatedPostgres(t: Test, name: string): Promise<DedicatedPostgres> {
  const dir = await mkdtemp(join(tmpdir(), `taskoverflow-${name}-`));
  await chmod(dir, 0o755); // PostgreSQL runs as `postgres` when we are root, and must enter it
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const dataDir = join(dir, 'data');
  let server: EmbeddedPostgres = await startEmbeddedPostgres({ dataDir });
  t.teardown(() => server.stop());
  await ensureDatabase(server.adminUrl, 'taskoverflow');
  return {
    dataDir,
    databaseUrl: databaseUrlFor(server.adminUrl, 'taskoverflow'),
    stop: () => server.stop(),
    async start() {
      server = await startEmbeddedPostgres({ dataDir, port: server.port });
    },
  };
}
