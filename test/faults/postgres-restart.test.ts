/**
 * Fault (b): PostgreSQL restarts during a mixed load through the stand-in. Writes during the
 * outage must fail fast with 503 + Retry-After (never hang, never 500), cached reads keep
 * answering, everything recovers by itself, and afterwards the database holds exactly the
 * writes that were acknowledged with a 201: none lost, no phantoms.
 */
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { databaseUrlFor, ensureDatabase, startEmbeddedPostgres, startLocalStack } from '@taskoverflow/stack';
import pg from 'pg';
import t from 'tap';
import { describe, startLoad } from './load.js';

const dir = await mkdtemp(join(tmpdir(), 'taskoverflow-pg-restart-'));
await chmod(dir, 0o755); // PostgreSQL runs as `postgres` when we are root, and must enter it
t.teardown(() => rm(dir, { recursive: true, force: true }));
const dataDir = join(dir, 'data');
let postgres = await startEmbeddedPostgres({ dataDir });
t.teardown(() => postgres.stop());
await ensureDatabase(postgres.adminUrl, 'taskoverflow');
const databaseUrl = databaseUrlFor(postgres.adminUrl, 'taskoverflow');

const stack = await startLocalStack({ databaseUrl, readReplicas: 2, port: 0, quiet: true });
t.teardown(() => stack.stop());

t.test('a PostgreSQL restart loses no acknowledged write and creates no phantom', async (t) => {
  const load = startLoad({ url: stack.url, workers: 6, createShare: 0.3, maxRequests: 20_000, maxMs: 30_000 });
  await sleep(1_000);
  const outageStarted = Date.now();
  await postgres.stop();
  await sleep(2_000);
  postgres = await startEmbeddedPostgres({ dataDir, port: postgres.port });
  const outageMs = Date.now() - outageStarted;
  await sleep(2_000);
  const outcomes = await load.stop();
  t.comment(`PostgreSQL down for ${outageMs} ms: ${describe(outcomes)}`);

  const unexpected = outcomes.filter((o) => ![200, 201, 503].includes(o.status));
  t.same(unexpected.slice(0, 5), [], `no request failed other than with a 503 (${unexpected.length})`);
  const slowFailures = outcomes.filter((o) => o.status === 503 && o.latencyMs > 6_000);
  t.equal(slowFailures.length, 0, 'a 503 comes fast: no request hangs on the dead database');
  t.ok(outcomes.some((o) => o.status === 503 && o.kind === 'create'), 'writes during the outage were refused');
  t.ok(outcomes.some((o) => o.status === 200), 'reads were answered');

  const last = outcomes.slice(-50);
  t.ok(last.every((o) => o.status === 200 || o.status === 201), 'recovered by itself: the last 50 requests succeeded');

  const acknowledged = new Set(outcomes.filter((o) => o.status === 201).map((o) => o.id!));
  const pool = new pg.Pool({ connectionString: databaseUrl });
  t.teardown(() => pool.end());
  const stored = new Set(
    (await pool.query<{ id: number }>("select id from todos where title like 'load %'")).rows.map((row) => row.id),
  );
  const lost = [...acknowledged].filter((id) => !stored.has(id));
  const phantoms = [...stored].filter((id) => !acknowledged.has(id));
  t.comment(`writes acknowledged: ${acknowledged.size}, found: ${stored.size}, lost: ${lost.length}, phantoms: ${phantoms.length}`);
  t.same(lost, [], 'every acknowledged write is stored');
  t.same(phantoms, [], 'nothing is stored that was not acknowledged');
});
