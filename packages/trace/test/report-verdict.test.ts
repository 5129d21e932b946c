/**
 * The verdict's rules, each on figures made to sit just either side of its bound: a rule
 * fires on the figures that meet it and stays quiet on those that do not, and its sentence
 * carries the figures it rests on.
 */
import t from 'tap';
import type { Figures, ProcessFigures } from '../src/report/figure-types.js';
import { throughputOf } from '../src/report/k6-figures.js';
import { CEILING_EDGE_PROCESS, isCeilingProcess, peakOf, processKind } from '../src/report/process-figures.js';
import type { PeriodPoint } from '../src/report/dashboard-data.js';
import {
  bypassFinding,
  failuresFinding,
  queueingFinding,
  saturationFindings,
  sheddingFinding,
  uncachedFinding,
  verdictOf,
} from '../src/report/verdict.js';

function processFigures(name: string, peakCores: number, averageCores = peakCores / 2): ProcessFigures {
  return {
    name,
    kind: processKind(name),
    cpuSeconds: averageCores * 60,
    averageCores,
    peakCores,
    cpuPerRequestUs: 100,
    peakRssMb: 80,
    count: 1,
  };
}

/** A quiet run: 2 cores, little CPU, every read a hit, the client close to the services. */
function quiet(): Figures {
  const percentiles = (p95Ms: number) => ({
    count: 1000,
    p50Ms: p95Ms / 2,
    p95Ms,
    p99Ms: p95Ms * 1.5,
    maxMs: p95Ms * 3,
  });
  return {
    runDir: '/tmp/run',
    run: {
      name: 'studiers-stress',
      scale: 'smoke',
      endpoint: 'http://127.0.0.1:1',
      balancer: 'HAProxy 2.6.12',
      p95TargetMs: 200,
      peakVus: 50,
    },
    window: { startMs: 0, endMs: 60_000 },
    client: [{ name: 'all requests', count: 1000, p50Ms: 3, p95Ms: 6, p99Ms: 9, maxMs: 20 }],
    edge: percentiles(5),
    services: percentiles(2),
    byService: { 'todo-read': percentiles(2) },
    endpoints: [],
    requests: 1000,
    throughput: undefined,
    processes: {
      missing: [],
      cores: 2,
      list: [processFigures('k6', 0.3), processFigures('edge', 0.2), processFigures('todo-read-1', 0.1)],
      perRequest: { fromMs: 0, toMs: 60_000, requests: 1000, counted: 'k6' },
      run: { averageCores: 0.3, peakCores: 0.5 },
      machine: { averageCores: 0.4, peakCores: 0.8 },
      series: [],
    },
    readPath: {
      reads: 1000,
      cache: { hit: 1000, miss: 0, stale: 0, bypass: 0, none: 0 },
      queriesPer1000Reads: 0,
      uncached: { reads: 0, atService: undefined, dbMs: 0, cacheMs: 0, otherMs: 0 },
      shed: 0,
      rateLimited: 0,
      serverErrors: 0,
      replicas: [{ instance: 'todo-read-1', requests: 1000, eventLoopDelayP99MaxMs: 21, peakRssMb: 90, cpuMs: 900 }],
      series: [],
    },
    failures: {
      client: { requests: 1000, failed: 0, causes: {} },
      edgeStatuses: { 200: 1000 },
      serviceStatuses: { 200: 1000 },
      edgeQueueFull: 0,
      edgeQueueTimeout: 0,
    },
    slowest: [],
  };
}

t.test('a quiet run: nothing saturated, with the busiest figures as evidence', async (t) => {
  const verdict = verdictOf(quiet());
  t.equal(verdict.saturated, undefined);
  t.same(
    verdict.findings.map((finding) => finding.rule),
    ['nothing saturated'],
  );
  t.match(
    verdict.findings[0]!.sentence,
    /^Nothing saturated: this run's busiest process, k6, peaked at 30 % of a core, its processes together at 0\.5 of the machine's 2 cores, and k6's p95 \(6\.0 ms\) met its 200 ms target\.$/,
  );
});

t.test(
  'nothing saturated yet the target missed: the sentence says it missed, and that the wait was not for CPU',
  async (t) => {
    const figures = quiet();
    figures.client = [{ name: 'all requests', count: 1000, p50Ms: 300, p95Ms: 591, p99Ms: 700, maxMs: 900 }];
    const [finding] = saturationFindings(figures);
    t.equal(finding!.rule, 'nothing saturated');
    t.match(
      finding!.sentence,
      /, yet k6's p95 \(591 ms\) missed its 200 ms target: the requests waited on something other than CPU/,
    );
    t.notMatch(finding!.sentence, /met its/);
  },
);

t.test('a one-thread process at 90 % of a core is saturated; at 89 % it is not', async (t) => {
  const figures = quiet();
  figures.processes.list = [processFigures('edge', 0.9), processFigures('k6', 0.5)];
  t.equal(verdictOf(figures).saturated, 'edge (one core)');
  t.match(saturationFindings(figures)[0]!.sentence, /^edge was saturated: 90 % of a core at its busiest/);
  figures.processes.list = [processFigures('edge', 0.89), processFigures('k6', 1.5)];
  t.equal(verdictOf(figures).saturated, undefined, 'k6 runs on many threads: 1.5 cores is not its limit');
});

t.test(
  'the machine at 90 % of its cores, the run missing its p95 target: saturated, and the sentence tells this run from other work',
  async (t) => {
    const figures = quiet();
    figures.client[0]!.p95Ms = 450;
    figures.processes.machine = { averageCores: 1.5, peakCores: 1.8 };
    figures.processes.run = { averageCores: 0.5, peakCores: 0.8 };
    const [finding] = saturationFindings(figures);
    t.equal(finding!.rule, 'machine saturated');
    t.equal(verdictOf(figures).saturated, 'the machine (2 cores)');
    t.match(
      finding!.sentence,
      /1\.8 of its 2 cores busy at the peak, this run's processes 0\.8 of them, the rest other work on the machine; .*k6's p95 \(450 ms\) missed its 200 ms target\.$/,
    );
    figures.processes.machine = { averageCores: 1.5, peakCores: 1.79 };
    t.equal(verdictOf(figures).saturated, undefined);
  },
);

t.test(
  'the machine busy with other work while the run met its target: nothing saturated in this run, and the busy machine said',
  async (t) => {
    const figures = quiet();
    figures.processes.machine = { averageCores: 1.9, peakCores: 2 };
    figures.processes.run = { averageCores: 0.1, peakCores: 0.2 };
    const verdict = verdictOf(figures);
    t.equal(verdict.saturated, undefined);
    t.same(
      verdict.findings.map((finding) => finding.rule),
      ['nothing saturated', 'machine busy with other work'],
    );
    t.match(
      verdict.findings[1]!.sentence,
      /^The machine was busy with other work: 2\.0 of its 2 cores at the peak, this run's processes 0\.2 of them/,
    );
    figures.processes.run = { averageCores: 1.5, peakCores: 1.8 };
    t.equal(
      verdictOf(figures).saturated,
      'the machine (2 cores)',
      'this run filled the cores itself: saturated, target met or not',
    );
    figures.processes.run = { averageCores: 0.1, peakCores: 0.2 };
    figures.run.p95TargetMs = undefined;
    t.equal(
      verdictOf(figures).saturated,
      'the machine (2 cores)',
      'no target to judge the latency by: the busy machine counts',
    );
  },
);

t.test('no CPU samples: the verdict says saturation cannot be judged and why', async (t) => {
  const figures = quiet();
  figures.processes = {
    missing: ['the services ran elsewhere (ENDPOINT)'],
    cores: undefined,
    list: [],
    perRequest: undefined,
    run: undefined,
    machine: undefined,
    series: [],
  };
  const [finding] = saturationFindings(figures);
  t.match(
    finding!.sentence,
    /^CPU was not sampled, so saturation cannot be judged: the services ran elsewhere \(ENDPOINT\)\.$/,
  );
});

t.test('queueing: the share of k6 p95 the services did not see, split at the edge', async (t) => {
  const figures = quiet();
  t.equal(queueingFinding(figures), undefined, '6 ms vs 2 ms: a gap under 10 ms is not worth a sentence');
  figures.client[0]!.p95Ms = 4820;
  figures.edge!.p95Ms = 1000;
  figures.services!.p95Ms = 226;
  const finding = queueingFinding(figures)!;
  t.match(finding.sentence, /^95 % of k6's p95 \(4\.82 s\) was spent before the services \(their p95 226 ms\)/);
  t.match(finding.sentence, /3\.82 s of it before the edge and 774 ms in it\.$/);
  figures.services!.p95Ms = 2411;
  t.equal(queueingFinding(figures), undefined, 'the services saw more than half of it');
});

t.test('cache bypass: from 5 % of reads, with the event-loop lag when it is 100 ms or more', async (t) => {
  const figures = quiet();
  figures.readPath.cache = { hit: 651, miss: 0, stale: 0, bypass: 349, none: 0 };
  figures.readPath.replicas[0]!.eventLoopDelayP99MaxMs = 180;
  t.match(bypassFinding(figures)!.sentence, /^35 % of reads bypassed the cache .*event loops lagged up to 180 ms/);
  figures.readPath.cache = { hit: 951, miss: 0, stale: 0, bypass: 49, none: 0 };
  t.equal(bypassFinding(figures), undefined);
});

t.test('the uncached read path: database time and serialization in todo-read', async (t) => {
  const figures = quiet();
  figures.readPath.cache = { hit: 0, miss: 0, stale: 0, bypass: 0, none: 1000 };
  figures.readPath.queriesPer1000Reads = 2000;
  figures.readPath.uncached = {
    reads: 1000,
    atService: { count: 1000, p50Ms: 20, p95Ms: 60, p99Ms: 80, maxMs: 90 },
    dbMs: 12_000,
    cacheMs: 0,
    otherMs: 18_000,
  };
  const finding = uncachedFinding(figures)!;
  t.match(
    finding.sentence,
    /100 % of reads went to PostgreSQL \(the cache was off \(todo-read ran without Redis\); 2000 queries per 1000 reads\)/,
  );
  t.match(
    finding.sentence,
    /40 % of that time in the database and 60 % in todo-read itself \(serializing the list to JSON/,
  );
  figures.readPath.uncached.reads = 499;
  t.equal(uncachedFinding(figures), undefined, 'fewer than half the reads went to PostgreSQL');
});

t.test("failed requests: k6's causes, placed by the edge's and the services' lines", async (t) => {
  const figures = quiet();
  t.equal(failuresFinding(figures), undefined, 'no failures, no sentence');
  // The 1000-VU stress run of 2026-12-01: 9 % failed, every one a 503 the edge sent from its queue.
  figures.failures = {
    client: { requests: 31_684, failed: 2895, causes: { 'status:0': 0, 'status:503': 2895, 'status:502': 0 } },
    edgeStatuses: { 200: 28_789, 503: 2895 },
    serviceStatuses: { 200: 28_789 },
    edgeQueueFull: 2895,
    edgeQueueTimeout: 0,
  };
  const finding = failuresFinding(figures)!;
  t.match(
    finding.sentence,
    /^k6 saw 2,895 failed requests \(9 % of 31,684\): 2,895 were answered 503\. The logs place them: 2,895 refused at once by the edge's bounded queue/,
  );
  t.match(finding.sentence, /Most came from the edge's bounded queue \(100 %\)\.$/);
  t.equal(finding.evidence.unplaced, 0);
  // Shed by the services, and connections that got no answer, which no log holds.
  figures.readPath.shed = 1000;
  figures.failures = {
    client: { requests: 31_684, failed: 2895, causes: { 'status:0': 500, 'status:503': 2000 } },
    edgeStatuses: { 200: 28_789, 503: 2100 },
    serviceStatuses: { 200: 28_789, 503: 1000 },
    edgeQueueFull: 700,
    edgeQueueTimeout: 400,
  };
  const mixed = failuresFinding(figures)!;
  t.match(
    mixed.sentence,
    /1,000 shed by the services .*; 700 refused at once .*; 400 refused by the edge's bounded queue after waiting in it .*; 500 no response at all/,
  );
  t.match(mixed.sentence, /\. 295 are in no log: the logs are cut, or the requests never reached the edge/);
  t.equal(mixed.evidence.mostFrom, "the edge's bounded queue", '700 + 400 from the edge against 1,000 shed');
  t.notMatch(mixed.sentence, /Most came from/, 'not said when the largest source is under half of the failures');
});

t.test('shed and rate-limited requests', async (t) => {
  const figures = quiet();
  t.equal(sheddingFinding(figures), undefined);
  figures.readPath.shed = 30;
  figures.readPath.rateLimited = 20;
  t.match(
    sheddingFinding(figures)!.sentence,
    /^The services refused 5 % of requests: 30 shed with 503 \(overloaded\) and 20 rate-limited with 429\.$/,
  );
});

t.test('throughput stops rising while VUs keep rising', async (t) => {
  const period = (atSeconds: number, vus: number, requestsPerSecond: number): PeriodPoint => ({
    atSeconds,
    vus,
    requestsPerSecond,
    failedShare: 0,
    medianMs: 1,
    p95Ms: 2,
    maxMs: 3,
  });
  const rising = [1, 2, 3, 4, 5, 6].map((second) => period(second, second * 100, second * 100));
  t.equal(throughputOf(rising)!.plateau, undefined, 'still rising at the end');
  // Three-period mean: the first at 95 % of the peak is 8 s, (600 + 600 + 600) / 3, not 7 s, (500 + 600 + 600) / 3.
  const flat = [...rising, ...[7, 8, 9, 10].map((second) => period(second, second * 100, 600))];
  const plateau = throughputOf(flat)!.plateau!;
  t.same(
    { atSeconds: plateau.atSeconds, vus: plateau.vus, vusLater: plateau.vusLater },
    { atSeconds: 8, vus: 800, vusLater: 1000 },
  );
});

t.test('a peak is the busiest stretch of 3 samples, not one busy sample', async (t) => {
  t.equal(peakOf([0, 0, 3, 0, 0]), 1);
  t.equal(peakOf([1, 1, 1]), 1);
  t.equal(peakOf([2]), 2);
});

t.test(
  "the ceilings' processes: the bare servers serve as replicas, the balanced ceiling's balancer is an edge",
  async (t) => {
    t.equal(processKind(CEILING_EDGE_PROCESS), 'edge');
    t.equal(processKind('ceiling'), 'replica');
    t.equal(processKind('ceiling-2'), 'replica');
    t.ok(isCeilingProcess('ceiling-2') && isCeilingProcess(CEILING_EDGE_PROCESS));
    t.notOk(isCeilingProcess('todo-read-1') || isCeilingProcess('edge') || isCeilingProcess('ceilings'));
  },
);
