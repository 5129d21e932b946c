/**
 * The verdict on recorded runs (2026-12-01, the shared 2-core machine at a load average of
 * 15–20 from other work), each cut to what reproduces its verdict: the /proc samples, k6's
 * summary and series whole; the logs from k6's start, every stats line, and the request lines
 * of a few seconds (and, for the quiet run, of every failed request).
 * - uncached-seed-2000: `pnpm loadtest --scenario stress --seed 2000` with TARGET_VUS=150
 *   RAMP=20s HOLD=20s and no redis-server on PATH (todo-read ran uncached); 3 s of the hold.
 * - quiet: `--scenario stress`, TARGET_VUS=20 RAMP=10s HOLD=20s; 2 s, and the 3 failed requests.
 * Each verdict must follow from the figures computed beside it.
 */
import { cp } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';
import { writeBottleneckReport } from '../src/report/index.js';
import { SATURATED_SHARE } from '../src/report/verdict.js';

async function reportOn(fixture: string, t: Test) {
  const runDir = t.testdir();
  await cp(fileURLToPath(new URL(`./fixtures/${fixture}/`, import.meta.url)), runDir, { recursive: true });
  return writeBottleneckReport(runDir);
}

t.test(
  'cache off, 2000 todos: the verdict names the uncached read path, database time and serialization in todo-read',
  async (t) => {
    const { figures, verdict } = await reportOn('uncached-seed-2000', t);
    const { reads, cache, uncached } = figures.readPath;
    t.ok(reads > 0 && cache.none === reads, `the figures: no read looked at a cache (${reads} reads)`);
    t.ok(
      uncached.reads / reads >= 0.5 && uncached.atService,
      `the figures: ${uncached.reads} of ${reads} reads went to PostgreSQL`,
    );
    const finding = verdict.findings.find((candidate) => candidate.rule === 'uncached read path');
    t.ok(finding, 'the verdict has the uncached read path');
    const total = uncached.dbMs + uncached.cacheMs + uncached.otherMs;
    t.equal(
      finding!.evidence.dbShare,
      Number((uncached.dbMs / total).toFixed(2)),
      'database share: db_ms over duration_ms',
    );
    t.equal(
      finding!.evidence.serializationShare,
      Number((uncached.otherMs / total).toFixed(2)),
      'serialization share: duration − db − cache',
    );
    t.ok(uncached.otherMs > 0 && uncached.dbMs > 0, 'both took time');
    t.match(finding!.sentence, /the cache was off \(todo-read ran without Redis\)/);
    t.match(
      finding!.sentence,
      /\d+ % of that time in the database and \d+ % in todo-read itself \(serializing the list to JSON/,
    );
  },
);

t.test('cache off: k6 failures beyond what the cut logs hold are said to be in no log', async (t) => {
  const { figures, verdict } = await reportOn('uncached-seed-2000', t);
  const client = figures.failures.client!;
  t.equal(client.failed, client.causes['status:503'], "the figures: k6's failures were all 503s");
  const finding = verdict.findings.find((candidate) => candidate.rule === 'failed requests')!;
  t.ok(Number(finding.evidence.unplaced) > 0, 'the logs are cut to 3 s: most failures are in none');
  t.match(finding.sentence, /are in no log: the logs are cut/);
});

t.test('a quiet run: nothing saturated among its own processes, on a machine busy with other work', async (t) => {
  const { figures, verdict } = await reportOn('quiet', t);
  const { list, run, machine, cores } = figures.processes;
  t.ok(
    run && cores && run.peakCores < SATURATED_SHARE * cores,
    `the figures: this run's processes at ${run?.peakCores.toFixed(2)} cores`,
  );
  t.ok(
    list.every((process) => process.peakCores < SATURATED_SHARE),
    'no process of the run at 90 % of a core',
  );
  const p95 = figures.client.find((group) => group.name === 'all requests')!.p95Ms!;
  t.ok(
    figures.run.p95TargetMs !== undefined && p95 < figures.run.p95TargetMs,
    `k6 p95 ${p95} ms within the ${figures.run.p95TargetMs} ms target`,
  );
  t.equal(verdict.saturated, undefined);
  // Its 3 shed requests failed checks: those findings come first, then the speed ones.
  const speed = verdict.findings.filter(
    (finding) => !['failed checks', 'failed request group', 'check explained'].includes(finding.rule),
  );
  t.equal(speed[0]!.rule, 'nothing saturated');
  t.equal(speed[0]!.evidence.busiestProcess, list[0]!.name);
  const busy = machine !== undefined && machine.peakCores >= SATURATED_SHARE * cores!;
  t.ok(busy, `the figures: the machine at ${machine?.peakCores.toFixed(2)} of ${cores} cores, from other work`);
  t.equal(speed[1]?.rule, 'machine busy with other work', 'the verdict says the machine was busy');
});

t.test("a quiet run: its few failed requests are placed, from k6's causes and the services' lines", async (t) => {
  const { figures, verdict } = await reportOn('quiet', t);
  const client = figures.failures.client!;
  t.ok(
    client.failed > 0 && client.failed === figures.readPath.shed,
    `the figures: k6 saw ${client.failed} failed, the services shed ${figures.readPath.shed}`,
  );
  t.equal(figures.failures.edgeStatuses['503'], client.failed, 'the edge passed each 503 on');
  const finding = verdict.findings.find((candidate) => candidate.rule === 'failed requests')!;
  t.equal(finding.evidence.unplaced, 0);
  t.equal(finding.evidence.mostFrom, 'the services shedding load');
  t.match(finding.sentence, /Most came from the services shedding load \(100 %\)\.$/);
});
