/**
 * The verdict on recorded runs with a fault planted (loadtests/test/fixtures/record-fault-runs.ts:
 * the real local stack, a short planners-and-studiers run, the fault 8 s into it; see
 * fixtures/README.md), and on the practical's full run (synthesised, fixtures/practical-full).
 * Each verdict must name the fault, and its sentence must rest on what the fixture's own lines
 * say: the counts, codes and request ids are read from the logs here and compared.
 */
import { cp, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';
import { writeBottleneckReport } from '../src/report/index.js';

const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));

async function reportOn(fixture: string, t: Test) {
  const runDir = t.testdir();
  await cp(join(FIXTURES, fixture), runDir, { recursive: true });
  return writeBottleneckReport(runDir);
}

/** Every line of a fixture's logs, parsed. */
async function logLines(fixture: string): Promise<Array<Record<string, unknown>>> {
  const dir = join(FIXTURES, fixture, 'logs');
  const lines = await Promise.all((await readdir(dir)).map((name) => readFile(join(dir, name), 'utf8')));
  return lines
    .join('\n')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** When the recorded run's k6 started: lines before it are the seeding's. */
async function startedAtMs(fixture: string): Promise<number> {
  const samples = JSON.parse(await readFile(join(FIXTURES, fixture, 'process-samples.json'), 'utf8')) as {
    startedAtMs: number;
  };
  return samples.startedAtMs;
}

t.test(
  'PostgreSQL frozen: the headline says the run failed, and each failed create is traced to the query deadline',
  async (t) => {
    const fixture = 'fault-postgres-frozen';
    const { verdict } = await reportOn(fixture, t);
    const failed = (await logLines(fixture)).filter(
      (line) => line.msg === 'request finished' && line.service === 'todo-write' && line.status === 503,
    );
    t.ok(failed.length > 0, `the fixture: todo-write answered ${failed.length} creates with 503`);
    t.ok(
      failed.every(
        (line) => line.error_code === 'TASKOVERFLOW_DATABASE_UNAVAILABLE' && line.error_cause === 'Query read timeout',
      ),
      'the fixture: each canonical line carries the error code and its cause',
    );
    t.match(
      verdict.headline,
      new RegExp(`^FAILED: .*POST /api/v1/todos → 503 × ${failed.length}`),
      'the headline says what failed, first',
    );
    const group = verdict.findings.find(
      (finding) => finding.rule === 'failed request group' && finding.evidence.status === 503,
    )!;
    t.ok(group, 'a finding for the failed creates');
    t.match(group.evidence, {
      method: 'POST',
      path: '/api/v1/todos',
      count: failed.length,
      errorCode: 'TASKOVERFLOW_DATABASE_UNAVAILABLE',
    });
    t.match(group.sentence, /answered 503 after 6\.0 s because PostgreSQL did not answer within the query deadline/);
    t.ok(
      failed.some((line) => line.request_id === group.evidence.exampleRequestId),
      `its example request id (${group.evidence.exampleRequestId}) is one of them`,
    );
    t.equal(verdict.findings[0]?.rule, 'failed checks', 'failures come before anything about speed');
    const counts = JSON.parse(await readFile(join(FIXTURES, fixture, 'todo-counts.json'), 'utf8')) as {
      before: number;
      after: number;
    };
    const left = verdict.findings.find((finding) => finding.rule === 'todos left behind');
    t.ok(
      counts.after > counts.before,
      `the fixture: ${counts.before} todos before, ${counts.after} after (the timed-out creates committed later)`,
    );
    t.match(left?.sentence, new RegExp(`^The run left ${counts.after - counts.before} todos behind`));
  },
);

t.test('Redis gone: the verdict says from when Redis could not be used and how many reads bypassed it', async (t) => {
  const fixture = 'fault-redis-gone';
  const { verdict } = await reportOn(fixture, t);
  const from = await startedAtMs(fixture);
  const lines = await logLines(fixture);
  const bypassed = lines.filter(
    (line) => line.msg === 'request finished' && line.cache === 'bypass' && Date.parse(line.time as string) >= from,
  );
  const lost = lines
    .filter((line) => line.msg === 'redis connection lost; reconnecting')
    .map((line) => line.time as string)
    .sort()[0]!;
  t.ok(
    bypassed.length > 0 && lost,
    `the fixture: ${bypassed.length} reads bypassed the cache; the connection was lost at ${lost}`,
  );
  const finding = verdict.findings.find((candidate) => candidate.rule === 'redis unusable');
  t.ok(finding, 'the verdict names Redis');
  t.equal(finding?.evidence.bypassed, bypassed.length);
  t.match(finding?.sentence, new RegExp(`^Redis could not be used from ${lost.slice(11, 19)} to the end of the run`));
});

t.test('a replica killed: the verdict names it, when it stopped, and the failed request it took with it', async (t) => {
  const fixture = 'fault-replica-killed';
  const { verdict } = await reportOn(fixture, t);
  const lines = await logLines(fixture);
  const lastLine = lines
    .filter((line) => line.hostname === 'todo-read-2')
    .map((line) => line.time as string)
    .sort()
    .at(-1)!;
  const stopped = verdict.findings.find((finding) => finding.rule === 'instance stopped');
  t.equal(stopped?.evidence.instance, 'todo-read-2');
  t.match(
    stopped?.sentence,
    new RegExp(`^todo-read-2 stopped during the run: its log ends at ${lastLine.slice(11, 19)}`),
  );
  t.match(stopped?.sentence, /its health checks took it out of rotation/);
  t.notOk(
    verdict.findings.some(
      (finding) => finding.rule === 'instance stopped' && finding.evidence.instance !== 'todo-read-2',
    ),
    'no other instance is said to have stopped',
  );
  const edge502 = lines.filter(
    (line) => line.service === 'edge' && line.msg === 'request finished' && line.status === 502,
  );
  const group = verdict.findings.find(
    (finding) => finding.rule === 'failed request group' && finding.evidence.status === 502,
  );
  t.equal(group?.evidence.count, edge502.length, `the edge's ${edge502.length} 502s are one group`);
  t.match(group?.sentence, /because the edge lost the replica it had sent them to: todo-read-2 stopped at/);
});

t.test("the edge's queue full: its own 503s are a group, traced to the bounded queue", async (t) => {
  const fixture = 'fault-edge-queue-full';
  const { verdict, outcomes } = await reportOn(fixture, t);
  const refused = (await logLines(fixture)).filter(
    (line) =>
      line.service === 'edge' && line.msg === 'request finished' && line.status === 503 && line.upstream === undefined,
  );
  t.ok(refused.length > 0, `the fixture: the edge refused ${refused.length} requests itself`);
  const edgeGroups = outcomes.requests.filter((group) => group.answeredBy === 'edge' && group.status === 503);
  t.equal(
    edgeGroups.reduce((sum, group) => sum + group.count, 0),
    refused.length,
    'every one of them is in a group answered by the edge',
  );
  t.match(verdict.headline, /^FAILED: .*GET \/api\/v1\/todos → 503 × \d+/);
  const group = verdict.findings.find(
    (finding) => finding.rule === 'failed request group' && finding.evidence.answeredBy === 'edge',
  );
  t.match(group?.sentence, /answered 503 because the edge's bounded queue was full/);
});

t.test(
  "the practical's full run (7,520 VUs, 120 s think time, every threshold met): healthy, no false alarm",
  async (t) => {
    const { verdict, figures, outcomes } = await reportOn('practical-full', t);
    t.equal(figures.run.peakVus ?? figures.throughput?.peakVus, 7520, 'the figures: 7,520 VUs at most');
    t.ok(
      outcomes.thresholds.length > 0 && outcomes.thresholds.every((threshold) => threshold.ok),
      'the figures: every threshold met',
    );
    const machine = figures.processes.machine!;
    t.ok(
      machine.peakCores >= 0.9 * figures.processes.cores!,
      `the figures: the machine at ${machine.peakCores.toFixed(2)} cores at the peak (k6 starting)`,
    );
    t.ok(
      figures.throughput?.plateau,
      'the figures: throughput flattened while VUs rose (what read as a plateau before)',
    );
    t.match(verdict.headline, /^Healthy: every threshold met/);
    t.equal(verdict.saturated, undefined, 'nothing saturated');
    const rules = verdict.findings.map((finding) => finding.rule);
    t.notOk(rules.includes('machine saturated'), 'the load generator’s start-up is not a saturated machine');
    t.notOk(rules.includes('throughput plateau'), 'nor is the think-time bound a plateau');
    t.ok(rules.includes('load generator busy'), 'k6’s busy moment is a note');
    const bound = verdict.findings.find((finding) => finding.rule === 'rate set by think time')!;
    const [vus, thinkSeconds, requestsPerIteration, requestMsPerIteration, boundRps] = (
      ['vus', 'thinkSeconds', 'requestsPerIteration', 'requestMsPerIteration', 'boundRps'] as const
    ).map((name) => Number(bound.evidence[name])) as [number, number, number, number, number];
    t.equal(thinkSeconds, 120, 'the think time as the script states it');
    const summary = JSON.parse(
      await readFile(join(FIXTURES, 'practical-full', 'planners-and-studiers-full-summary.json'), 'utf8'),
    ) as {
      metrics: Record<string, { values: Record<string, number> }>;
    };
    t.equal(
      requestsPerIteration,
      Number((summary.metrics.http_reqs!.values.count! / summary.metrics.iterations!.values.count!).toFixed(3)),
    );
    t.ok(
      Math.abs(boundRps - (vus * requestsPerIteration * 1000) / (thinkSeconds * 1000 + requestMsPerIteration)) < 0.5,
      `the bound is VUs × requests per iteration ÷ (think time + request time): ${vus} × ${requestsPerIteration} ÷ (${thinkSeconds} s + ${requestMsPerIteration} ms) ≈ ${boundRps} req/s`,
    );
  },
);
