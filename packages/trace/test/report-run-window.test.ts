/**
 * What counts as the run's, on the recorded runs of test/fixtures (their logs cut to a few
 * seconds, their /proc samples and k6 files whole):
 * - CPU per request divides the CPU of one stretch of time by the requests of the same stretch,
 *   however short the logs are cut;
 * - the seeding before k6 starts stays out of the figures, its stats lines too, with or without
 *   /proc samples;
 * - the run's VUs are the most it had, never the gauge's last value nor a period k6 had not yet
 *   sampled.
 */
import { appendFile, cp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import t, { type Test } from 'tap';
import { readDashboardSeries, vusWhereP95Crosses, type PeriodPoint } from '../src/report/dashboard-data.js';
import { collectFigures } from '../src/report/figures.js';
import { cpuSecondsAt } from '../src/report/process-figures.js';
import { writeBottleneckReport } from '../src/report/index.js';
import { readReportInputs, type K6Summary, type ProcessSamples, type ReportInputs } from '../src/report/inputs.js';
import { LOADTEST_REQUEST_ID_PREFIX } from '../src/report/outcomes.js';

const noWaterfall = (): string[] => [];

async function runDirOf(fixture: string, t: Test): Promise<string> {
  const runDir = t.testdir();
  await cp(fileURLToPath(new URL(`./fixtures/${fixture}/`, import.meta.url)), runDir, { recursive: true });
  return runDir;
}

async function inputsOf(fixture: string, t: Test): Promise<ReportInputs> {
  return readReportInputs(await runDirOf(fixture, t));
}

const k6Count = (inputs: ReportInputs): number => inputs.k6Summary!.metrics.http_reqs!.values!.count!;

t.test(
  'CPU per request: CPU over the sampled time by the requests k6 sent in it, however short the logs are cut',
  async (t) => {
    for (const fixture of ['stress-local', 'quiet', 'uncached-seed-2000']) {
      const inputs = await inputsOf(fixture, t);
      const figures = await collectFigures(inputs, noWaterfall);
      const samples = inputs.processes!.samples;
      const requests = k6Count(inputs);
      t.same(
        figures.processes.perRequest,
        { fromMs: samples[0]!.atMs, toMs: samples[samples.length - 1]!.atMs, requests, counted: 'k6' },
        `${fixture}: the window is the sampled time, the requests k6's ${requests}`,
      );
      t.ok(figures.requests < requests / 2, `${fixture}: the logs hold ${figures.requests} of them (cut)`);
      for (const process of figures.processes.list) {
        const wholeRun = Math.max(...samples.map((sample) => sample.processes[process.name]?.cpuSeconds ?? 0));
        t.equal(
          process.cpuPerRequestUs!.toFixed(6),
          ((wholeRun * 1e6) / requests).toFixed(6),
          `${fixture}: ${process.name}`,
        );
      }
    }
  },
);

t.test('the page says what CPU per request divides', async (t) => {
  const runDir = await runDirOf('stress-local', t);
  const { files } = await writeBottleneckReport(runDir);
  t.match(
    await readFile(files.html, 'utf8'),
    "µs per request: each process's CPU over 68.8 s by the requests k6 sent in those seconds (31,684).",
  );
});

t.test(
  'CPU per request without k6 summary: the CPU of the stretch the logs cover, by the requests in it',
  async (t) => {
    const inputs = await inputsOf('stress-local', t);
    const withoutSummary = await collectFigures({ ...inputs, k6Summary: undefined }, noWaterfall);
    const window = withoutSummary.processes.perRequest!;
    const samples = inputs.processes!.samples;
    t.equal(window.counted, 'edge');
    t.equal(window.requests, withoutSummary.requests, 'every edge line of the cut logs lies in the sampled time');
    t.ok(
      window.toMs - window.fromMs < 1000,
      `the logs cover ${window.toMs - window.fromMs} ms of the ${samples.length} s sampled`,
    );
    const whole = await collectFigures(inputs, noWaterfall);
    for (const process of withoutSummary.processes.list.filter(
      (candidate) => candidate.name === 'k6' || candidate.name === 'edge',
    )) {
      const inWindow =
        cpuSecondsAt(samples, process.name, window.toMs) - cpuSecondsAt(samples, process.name, window.fromMs);
      t.equal(
        process.cpuPerRequestUs,
        (inWindow * 1e6) / window.requests,
        `${process.name}: its CPU in those ${window.toMs - window.fromMs} ms`,
      );
      // The same processes doing the same work: the half second at the peak costs what the whole
      // run does per request, give or take the ramp (the whole run's CPU by the cut logs' count was 95× it).
      const wholeRunUs = whole.processes.list.find((candidate) => candidate.name === process.name)!.cpuPerRequestUs!;
      const ratio = process.cpuPerRequestUs! / wholeRunUs;
      t.ok(
        ratio > 0.5 && ratio < 2,
        `${process.name}: ${Math.round(process.cpuPerRequestUs!)} µs in the window, ${Math.round(wholeRunUs)} µs over the run`,
      );
    }
  },
);

t.test("the seeding's stats lines stay out: the quiet run only read, so todo-write served nothing in it", async (t) => {
  const inputs = await inputsOf('quiet', t);
  const writeLog = await readFile(join(inputs.runDir, 'logs', 'todo-write-1.log'), 'utf8');
  t.match(writeLog, /"requests":100,.*"msg":"stats"/, "todo-write's one stats line counts the 100 seeded creates");
  const figures = await collectFigures(inputs, noWaterfall);
  const write = figures.readPath.replicas.find((replica) => replica.instance === 'todo-write-1');
  t.equal(write?.requests ?? 0, 0, 'todo-write: no request of the run');
  const counted = figures.readPath.replicas.reduce((sum, replica) => sum + replica.requests, 0);
  t.ok(
    counted <= k6Count(inputs),
    `the replicas' stats lines count ${counted} requests, of the ${k6Count(inputs)} k6 sent`,
  );
});

t.test('the seeding stays out without /proc samples too (macOS): k6 start is recorded on its own', async (t) => {
  const runDir = await runDirOf('quiet', t);
  const samplesFile = join(runDir, 'process-samples.json');
  const recorded = JSON.parse(await readFile(samplesFile, 'utf8')) as ProcessSamples;
  const startedAtMs = recorded.samples[0]!.atMs;
  const notLinux: ProcessSamples = { startedAtMs, cores: recorded.cores, intervalMs: recorded.intervalMs, samples: [] };
  await writeFile(samplesFile, JSON.stringify(notLinux));
  // Five seeded creates, the last finishing 100 ms before k6 started, through the edge.
  for (let n = 1; n <= 5; n += 1) {
    const time = new Date(startedAtMs - 600 + n * 100).toISOString();
    const requestId = `5eed000${n}-0000-4000-8000-000000000000`;
    const line = {
      level: 'info',
      time,
      request_id: requestId,
      method: 'POST',
      url: '/api/v1/todos',
      status: 201,
      duration_ms: 4,
      msg: 'request finished',
    };
    await appendFile(
      join(runDir, 'logs', 'todo-write-1.log'),
      `${JSON.stringify({ ...line, service: 'todo-write', hostname: 'todo-write-1', route: '/api/v1/todos' })}\n`,
    );
    await appendFile(
      join(runDir, 'logs', 'edge.log'),
      `${JSON.stringify({ ...line, service: 'edge', hostname: 'edge', duration_ms: 5 })}\n`,
    );
  }
  const figures = await collectFigures(await readReportInputs(runDir), noWaterfall);
  t.equal(figures.failures.serviceStatuses['201'], undefined, 'no 201 among the services’ answers');
  t.equal(figures.failures.edgeStatuses['201'], undefined, "nor among the edge's");
  t.notOk(
    figures.endpoints.some((endpoint) => endpoint.endpoint.startsWith('POST')),
    'no POST endpoint',
  );
  t.ok(figures.window && figures.window.startMs >= startedAtMs, 'the window starts with k6');
});

t.test("pnpm loadtest's own requests stay out, whenever they came: counting the todos after the run", async (t) => {
  const runDir = await runDirOf('quiet', t);
  const before = await collectFigures(await readReportInputs(runDir), noWaterfall);
  const afterRunMs = before.window!.endMs + 1000;
  const line = {
    level: 'info',
    time: new Date(afterRunMs).toISOString(),
    request_id: `${LOADTEST_REQUEST_ID_PREFIX}count-todos`,
  };
  const request = { ...line, method: 'GET', url: '/api/v1/todos', status: 200, msg: 'request finished' };
  await appendFile(
    join(runDir, 'logs', 'edge.log'),
    `${JSON.stringify({ ...request, service: 'edge', hostname: 'edge', duration_ms: 3 })}\n`,
  );
  await appendFile(
    join(runDir, 'logs', 'todo-read-1.log'),
    `${JSON.stringify({ ...request, service: 'todo-read', hostname: 'todo-read-1', route: '/api/v1/todos', duration_ms: 2, cache: 'hit' })}\n`,
  );
  const after = await collectFigures(await readReportInputs(runDir), noWaterfall);
  t.equal(after.requests, before.requests, "the edge's count");
  t.equal(after.services?.count, before.services?.count, "the services' count");
  t.same(after.readPath.cache, before.readPath.cache, 'the cache outcomes');
  t.same(after.window, before.window, 'the window');
});

t.test(
  "the run's VUs: the most it had, from the summary's gauge, else the series, else the VUs k6 allocated",
  async (t) => {
    const inputs = await inputsOf('quiet', t);
    const summary = inputs.k6Summary!;
    const vus = summary.metrics.vus!.values!;
    t.ok(
      vus.value! < vus.max!,
      `the gauge's last value (${vus.value}) is not its peak (${vus.max}): k6 was ramping down`,
    );
    const series = inputs.k6Series;
    const peakOf = async (k6Summary: K6Summary | undefined, k6Series: PeriodPoint[] | undefined) =>
      (await collectFigures({ ...inputs, k6Summary, k6Series }, noWaterfall)).run.peakVus;
    t.equal(await peakOf(summary, series), vus.max, "the gauge's peak");
    t.equal(
      await peakOf({ ...summary, metrics: { ...summary.metrics, vus: { values: { value: 0 } } } }, series),
      20,
      'a last value of 0: the series peak',
    );
    const { vus: _gauge, ...withoutGauge } = summary.metrics;
    t.equal(await peakOf({ ...summary, metrics: withoutGauge }, series), 20, 'no gauge: the series peak');
    t.equal(
      await peakOf({ ...summary, metrics: withoutGauge }, undefined),
      summary.metrics.vus_max!.values!.max,
      'no series either: vus_max',
    );
    t.equal(await peakOf(undefined, undefined), undefined, 'nothing from k6: unknown, not 0');
  },
);

/** A k6 web-dashboard export holding `snapshots`: [elapsed s, requests, p95 ms, VUs or none]. */
function dashboardExport(snapshots: Array<[number, number, number, number | undefined]>): string {
  const startMs = 1_800_000_000_000;
  const metric = (names: string[], type: string) => Object.fromEntries(names.map((name) => [name, { type }]));
  const events: Array<{ event: string; data: unknown }> = [
    {
      event: 'param',
      data: {
        period: 1000,
        aggregates: { counter: ['count', 'rate'], gauge: ['value'], rate: ['rate'], trend: ['med', 'p(95)', 'max'] },
      },
    },
    { event: 'start', data: [[startMs]] },
    {
      event: 'metric',
      data: {
        ...metric(['time'], 'gauge'),
        ...metric(['http_reqs'], 'counter'),
        ...metric(['http_req_failed'], 'rate'),
        ...metric(['http_req_duration'], 'trend'),
      },
    },
  ];
  let vusDeclared = false;
  for (const [seconds, requests, p95Ms, vus] of snapshots) {
    if (vus !== undefined && !vusDeclared) {
      events.push({ event: 'metric', data: metric(['vus'], 'gauge') });
      vusDeclared = true;
    }
    // Every metric declared so far, by name: http_req_duration, http_req_failed, http_reqs, time, vus.
    const values = [[p95Ms / 2, p95Ms, p95Ms * 2], [0], [requests, requests], [startMs + seconds * 1000]];
    if (vusDeclared) values.push([vus ?? Number.NaN]);
    events.push({ event: 'snapshot', data: values });
  }
  const encoded = gzipSync(events.map((event) => JSON.stringify(event)).join('\n')).toString('base64');
  return `<html><script id="data" type="application/json; charset=utf-8; gzip; base64">${encoded}</script></html>`;
}

t.test("the periods before k6's first VU sample take that sample's count, not 0", async (t) => {
  const report = join(t.testdir(), 'report.html');
  // Slow from the first second; k6 sampled its VU gauge first in the third period.
  await writeFile(
    report,
    dashboardExport([
      [1, 12, 400, undefined],
      [2, 30, 450, undefined],
      [3, 40, 500, 40],
      [4, 40, 500, 40],
      [5, 10, 50, 5],
    ]),
  );
  const series = await readDashboardSeries(report);
  t.same(
    series.map((point) => point.vus),
    [40, 40, 40, 40, 5],
  );
  t.equal(vusWhereP95Crosses(series, 200), 40, 'p95 above 200 ms from 40 VUs, not from 0');
});
