/**
 * Window walking (issue 20): 20 connections asking for `?window=1,2,3…` (with every
 * `completed` value) through the edge, each a list no cache has seen, while a well-behaved
 * client reads the list. Every list is cut from the cached full list in the replica, so the
 * walk costs PostgreSQL nothing: at most 20 transactions per 1,000 walking requests
 * (pg_stat_database), and the well-behaved client keeps ≥ 99 % of its reads 200 (its p50 and
 * p99 are printed). Printed, not asserted (docs/results/ records them): the well-behaved
 * client's list throughput alone, during the walk, during 20 connections reading the plain
 * list (the same load without the walk: on two cores any 20 busy connections take a share) and
 * during a walk at the rate the issue's attack reached, with the replicas' CPU time per request
 * in each.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { loadavg } from 'node:os';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { startTestStack } from '@taskoverflow/stack/testing';
import pg from 'pg';
import t from 'tap';
import { percentile } from '../faults/load.js';
import { wellBehavedReads, type Reads } from './clients.js';

const TODOS = 1_000;
const WALKERS = 20;
/** The walk's address: not the well-behaved client's, as an attacker's is not. */
const WALKER_ADDRESS = '127.0.0.2';
const MIN_WALKING_REQUESTS = 1_000;
const MAX_TRANSACTIONS_PER_1000 = 20;
/** What the issue's 20 walking connections reached before the fix: 1,709 transactions in 8 s. */
const ISSUE_WALKING_RATE = 210;
const WELL_BEHAVED_CONNECTIONS = 4;
const PHASE_MS = 3_000;
/**
 * PostgreSQL publishes a backend's transaction counts when it goes idle, at most once a second,
 * and otherwise within 10 s (PGSTAT_IDLE_INTERVAL): a reading this long after the last request
 * counts every transaction of the walk.
 */
const STATS_PUBLISHED_WITHIN_MS = 11_000;
const WALKER = fileURLToPath(new URL('window-walker.mjs', import.meta.url));

const adminUrl = process.env.TEST_DATABASE_URL;
if (!adminUrl) throw new Error('TEST_DATABASE_URL is not set. Run this test with `pnpm test`.');

const stack = await startTestStack(t, { readReplicas: 2 });
{
  // Deadlines over a year (from a month ago), so that each window up to 336 days is a list of its own.
  const pool = new pg.Pool({ connectionString: stack.databaseUrl });
  await pool.query(
    `insert into todos (title, description, completed, deadline_at)
     select 'Window walking todo ' || n, 'seeded for the window-walking test, number ' || n, n % 3 = 0,
            (now() at time zone 'utc') + make_interval(days => n % 366 - 30, hours => n % 24)
       from generate_series(1, $1::int) as n`,
    [TODOS],
  );
  await pool.end();
}
// The full list, once per replica: the walk is about query strings, not the first read.
await wellBehavedReads(stack.url, 4);

const stats = new pg.Client({ connectionString: adminUrl, application_name: 'window-walking-test' });
await stats.connect();
t.teardown(() => stats.end());
const databaseName = decodeURIComponent(new URL(stack.databaseUrl).pathname.slice(1));
async function transactions(): Promise<number> {
  const { rows } = await stats.query<{ count: string }>(
    'SELECT xact_commit + xact_rollback AS count FROM pg_stat_database WHERE datname = $1',
    [databaseName],
  );
  return Number(rows[0]!.count);
}

/** The replicas' processes: the ones whose environment names this test's database and a replica's port. */
const replicaPids = readdirSync('/proc')
  .filter((entry) => /^\d+$/.test(entry))
  .filter((pid) => {
    let environment: string[];
    try {
      environment = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
    } catch {
      return false; // gone, or not ours
    }
    const databaseUrl = environment.find((variable) => variable.startsWith('DATABASE_URL='));
    return (
      databaseUrl?.includes(`/${databaseName}`) === true &&
      stack.readUrls.some((url) => environment.includes(`PORT=${new URL(url).port}`))
    );
  });
if (replicaPids.length !== stack.readUrls.length)
  throw new Error(`found ${replicaPids.length} replica processes, not ${stack.readUrls.length}`);
/** CPU time (user + system) the replicas have used, in ms: /proc/<pid>/stat's utime and stime, in 10 ms ticks. */
function replicasCpuMs(): number {
  return replicaPids.reduce((sum, pid) => {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return sum + (Number(fields[11]) + Number(fields[12])) * 10;
  }, 0);
}

interface WalkerSummary {
  requests: number;
  statuses: Record<string, number>;
  nextWindow: number;
}

/** Starts window-walker.mjs; once it is ready, `go()` sets it off and `stop()` ends it and resolves with its summary. */
async function startWalkers(mode: 'walk' | 'plain', rate: number, firstWindow: number) {
  const child = spawn(
    process.execPath,
    [WALKER, stack.url, WALKER_ADDRESS, String(WALKERS), mode, String(rate), String(firstWindow), '60'],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  t.teardown(() => void child.kill());
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const ready = await lines.next();
  if (ready.value !== 'ready') throw new Error(`window-walker.mjs did not start: ${String(ready.value)}`);
  return {
    go: () => child.stdin.write('go\n'),
    async stop(): Promise<WalkerSummary> {
      child.stdin.end();
      const summary = await lines.next();
      return JSON.parse(String(summary.value)) as WalkerSummary;
    },
  };
}

/** The well-behaved client: `WELL_BEHAVED_CONNECTIONS` connections reading the list one request at a time for `ms`. */
async function readList(ms: number): Promise<Reads & { perSecond: number }> {
  const agent = new Agent({ keepAlive: true, maxSockets: WELL_BEHAVED_CONNECTIONS });
  const reads: Reads = { statuses: [], latenciesMs: [] };
  const { hostname, port } = new URL(stack.url);
  const until = performance.now() + ms;
  const read = () =>
    new Promise<number>((resolve) => {
      const req = request({ host: hostname, port, path: '/api/v1/todos', agent, timeout: 5_000 }, (res) => {
        res.on('end', () => resolve(res.statusCode ?? 0)).resume();
        res.on('error', () => resolve(0));
      });
      req.on('timeout', () => req.destroy());
      req.on('error', () => resolve(0));
      req.end();
    });
  await Promise.all(
    Array.from({ length: WELL_BEHAVED_CONNECTIONS }, async () => {
      while (performance.now() < until) {
        const startedAt = performance.now();
        reads.statuses.push(await read());
        reads.latenciesMs.push(performance.now() - startedAt);
      }
    }),
  );
  agent.destroy();
  return { ...reads, perSecond: (reads.statuses.filter((status) => status === 200).length * 1000) / ms };
}

interface Phase {
  reads: Reads & { perSecond: number };
  walkers: WalkerSummary;
  /** The replicas' CPU time per request they served (the walkers' and the well-behaved client's), in µs. */
  cpuPerRequestUs: number;
}

/** The well-behaved client reads for `ms` while the walkers run, as `mode` at `rate` from `firstWindow`. */
async function phase(mode: 'walk' | 'plain', rate: number, firstWindow: number, ms = PHASE_MS): Promise<Phase> {
  const walkers = await startWalkers(mode, rate, firstWindow);
  const cpuBefore = replicasCpuMs();
  walkers.go();
  const reads = await readList(ms);
  const summary = await walkers.stop();
  const served = summary.requests + reads.statuses.length;
  return { reads, walkers: summary, cpuPerRequestUs: ((replicasCpuMs() - cpuBefore) * 1000) / served };
}

t.test('20 connections walking window=1,2,3… cost PostgreSQL nothing and take no reads away', async (t) => {
  const alone = await readList(PHASE_MS);
  const before = await transactions();

  const walk = await phase('walk', 0, 1);
  let { walkers: walked } = walk;
  // A machine busy elsewhere may have let the walkers send fewer than the 1,000 counted on.
  while (walked.requests < MIN_WALKING_REQUESTS) {
    const more = await phase('walk', 0, walked.nextWindow, 1_000);
    walked = {
      requests: walked.requests + more.walkers.requests,
      statuses: mergeStatuses(walked.statuses, more.walkers.statuses),
      nextWindow: more.walkers.nextWindow,
    };
  }
  const walkEndedAt = performance.now();
  const ok = walk.reads.statuses.filter((status) => status === 200).length;
  t.ok(
    ok >= walk.reads.statuses.length * 0.99,
    `during ${walked.requests} walking requests, ≥ 99 % of a well-behaved client's reads are 200 (${ok}/${walk.reads.statuses.length}; ` +
      `p50 ${percentile(walk.reads.latenciesMs, 50).toFixed(0)} ms, p99 ${percentile(walk.reads.latenciesMs, 99).toFixed(0)} ms)`,
  );

  // Figures only: the same connections reading the plain list, and walking at the issue's rate.
  const crowd = await phase('plain', 0, 0);
  const paced = await phase('walk', ISSUE_WALKING_RATE, walked.nextWindow);

  // The count covers the walk and whatever came after it: with the fix, nothing queries.
  while (performance.now() < walkEndedAt + STATS_PUBLISHED_WITHIN_MS)
    await new Promise((resolve) => setTimeout(resolve, 250));
  const walkingRequests = walked.requests + paced.walkers.requests;
  const used = (await transactions()) - before;
  const perThousand = (used * 1000) / walkingRequests;

  const describe = ({ reads, walkers, cpuPerRequestUs }: Phase) =>
    `${reads.perSecond.toFixed(0)} (${(reads.perSecond / alone.perSecond).toFixed(2)}×; the ${WALKERS} connections ${((walkers.requests * 1000) / PHASE_MS).toFixed(0)} req/s; ` +
    `replicas ${cpuPerRequestUs.toFixed(0)} µs CPU per request)`;
  const load = loadavg()
    .map((average) => average.toFixed(1))
    .join(' ');
  t.comment(
    `well-behaved client (${WELL_BEHAVED_CONNECTIONS} connections, ${TODOS} todos, load average ${load}): alone ${alone.perSecond.toFixed(0)} list req/s; ` +
      `during ${WALKERS} connections walking at full speed ${describe(walk)}; reading the plain list at full speed ${describe(crowd)} ` +
      `(the walk keeps ${(walk.reads.perSecond / crowd.reads.perSecond).toFixed(2)}× of what the same connections reading the list leave); ` +
      `walking at ${ISSUE_WALKING_RATE} req/s (the issue's rate) ${describe(paced)}`,
  );
  t.comment(
    `PostgreSQL: ${used} transactions for ${walkingRequests} walking requests (${perThousand.toFixed(1)} per 1,000); walk statuses ${JSON.stringify(walked.statuses)}`,
  );
  t.ok(
    perThousand <= MAX_TRANSACTIONS_PER_1000,
    `at most ${MAX_TRANSACTIONS_PER_1000} PostgreSQL transactions per 1,000 walking requests (${used} for ${walkingRequests})`,
  );
});

function mergeStatuses(a: Record<string, number>, b: Record<string, number>): Record<string, number> {
  const merged = { ...a };
  for (const [status, count] of Object.entries(b)) merged[status] = (merged[status] ?? 0) + count;
  return merged;
}
