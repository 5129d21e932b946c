/**
 * Two recorded runs compared (test/fixtures, see report-runs.test.ts): stress-local (1000 VUs,
 * the machine saturated) as A, quiet (20 VUs) as B. Every line's figures must be those of each
 * run's own report, the headline ones those of the raw files (k6's summary, the /proc samples),
 * and its ratio and better run must follow from the two figures alone.
 */
import { cp, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import {
  compareRuns,
  comparisonLine,
  formatRatio,
  readComparedRun,
  SAME_WITHIN,
  type ComparisonLine,
} from '../src/report/compare.js';
import type { AwsFigures } from '../src/report/aws-figures.js';
import { isCompareCommand, previousRunOf } from '../src/report/compare-cli.js';
import { renderComparisonHtml } from '../src/report/compare-html.js';
import { writeBottleneckReport } from '../src/report/index.js';
import type { K6Summary, ProcessSamples } from '../src/report/inputs.js';

const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const readJson = async <T>(path: string): Promise<T> => JSON.parse(await readFile(path, 'utf8')) as T;

const before = await readComparedRun(fixture('stress-local'));
const after = await readComparedRun(fixture('quiet'));
const comparison = compareRuns(before, after);
const line = (name: string): ComparisonLine => {
  const found = comparison.lines.find((candidate) => candidate.name === name);
  if (!found) throw new Error(`no line ${name} in ${comparison.lines.map((candidate) => candidate.name).join(', ')}`);
  return found;
};

t.test('every ratio is B ÷ A and every better run follows from the two figures and the direction', async (t) => {
  t.ok(comparison.lines.length >= 25, `${comparison.lines.length} lines`);
  for (const { name, a, b, ratio, better, winner } of comparison.lines) {
    if (a === undefined || b === undefined) {
      t.equal(winner, undefined, `${name}: one run has no figure, so neither is better`);
      continue;
    }
    t.equal(ratio, a === 0 ? undefined : b / a, `${name}: ${b} ÷ ${a}`);
    const expected =
      better === 'neither'
        ? undefined
        : a === b || (ratio !== undefined && Math.abs(ratio - 1) <= SAME_WITHIN)
          ? 'same'
          : (better === 'lower' ? b < a : b > a)
            ? 'B'
            : 'A';
    t.equal(winner, expected, `${name}: ${better} is better`);
  }
  const counted = (side: ComparisonLine['winner'], lines = comparison.lines) =>
    lines.filter((candidate) => candidate.winner === side).length;
  t.same(comparison.tally, { a: counted('A'), b: counted('B'), same: counted('same') });
  for (const { section, a, b, same } of comparison.bySection) {
    const inSection = comparison.lines.filter((candidate) => candidate.section === section);
    t.same(
      { a, b, same },
      { a: counted('A', inSection), b: counted('B', inSection), same: counted('same', inSection) },
      section,
    );
  }
  t.equal(comparison.bySection[0]!.section, 'failures', 'failures first');
});

t.test("k6's figures are those of each run's summary", async (t) => {
  const summaries = await Promise.all(
    ['stress-local', 'quiet'].map((name) => readJson<K6Summary>(`${fixture(name)}/studiers-stress-local-summary.json`)),
  );
  const value = (summary: K6Summary, metric: string, stat: string) => summary.metrics[metric]!.values![stat];
  const expect = (name: string, metric: string, stat: string) => {
    const [a, b] = summaries.map((summary) => value(summary, metric, stat)!);
    t.same([line(name).a, line(name).b, line(name).ratio], [a, b, b! / a!], `${name}: ${metric} ${stat}`);
  };
  expect('k6 p95', 'http_req_duration', 'p(95)');
  expect('k6 p99', 'http_req_duration', 'p(99)');
  expect('req/s (k6, whole run)', 'http_reqs', 'rate');
  expect('failed requests', 'http_req_failed', 'passes');
  expect('checks passed', 'checks', 'rate');
  expect('checks failed', 'checks', 'fails');
  expect('peak VUs', 'vus', 'max');
  t.equal(line('k6 p95').winner, 'B', 'the 20-VU run answered faster');
  t.equal(line('req/s (k6, whole run)').winner, 'A', 'the 1000-VU run sent more');
});

t.test("CPU per request and peak memory are each run's, from its /proc samples", async (t) => {
  for (const [side, name] of [
    ['a', 'stress-local'],
    ['b', 'quiet'],
  ] as const) {
    const samples = await readJson<ProcessSamples>(`${fixture(name)}/process-samples.json`);
    const summary = await readJson<K6Summary>(`${fixture(name)}/studiers-stress-local-summary.json`);
    const requests = summary.metrics.http_reqs!.values!.count!;
    for (const process of ['k6', 'edge', 'todo-read-1']) {
      const cpuSeconds = Math.max(...samples.samples.map((sample) => sample.processes[process]?.cpuSeconds ?? 0));
      const rssMb = Math.max(...samples.samples.map((sample) => sample.processes[process]?.rssBytes ?? 0)) / 2 ** 20;
      t.equal(
        comparison.lines
          .find((candidate) => candidate.section === 'CPU per request' && candidate.name === process)!
          [side]!.toFixed(6),
        ((cpuSeconds * 1e6) / requests).toFixed(6),
        `${name} ${process}: its CPU over k6's ${requests} requests`,
      );
      t.equal(
        comparison.lines.find((candidate) => candidate.section === 'peak memory' && candidate.name === process)![side],
        rssMb,
        `${name} ${process}: peak RSS`,
      );
    }
  }
  const stack = comparison.lines.find(
    (candidate) => candidate.section === 'CPU per request' && candidate.name.startsWith('the stack'),
  )!;
  const stackOf = (run: typeof before) =>
    run.figures.processes.list
      .filter((process) => ['edge', 'replica', 'redis', 'postgres'].includes(process.kind))
      .reduce((sum, process) => sum + process.cpuPerRequestUs!, 0);
  t.same(
    [stack.a, stack.b],
    [stackOf(before), stackOf(after)],
    "the stack's line sums the edge's, the replicas', Redis's and PostgreSQL's",
  );
});

t.test("cache outcomes and the verdicts are each run's own report's", async (t) => {
  for (const [side, run] of [
    ['a', before],
    ['b', after],
  ] as const) {
    const { reads, cache } = run.figures.readPath;
    t.equal(line('reads answered from the cache (hit)')[side], cache.hit / reads, `${run.name}: hits over reads`);
    t.equal(line('reads')[side], reads);
  }
  for (const [run, name] of [
    [comparison.a, 'stress-local'],
    [comparison.b, 'quiet'],
  ] as const) {
    const runDir = t.testdir();
    await cp(fixture(name), runDir, { recursive: true });
    t.same(run.verdict, (await writeBottleneckReport(runDir)).verdict, `${name}: the verdict its own report writes`);
  }
  t.equal(comparison.a.verdict.saturated, 'the machine (2 cores)');
  t.ok(
    comparison.notes.some((note) => /peak VU count differs: A 1000, B 20/.test(note)),
    'says the runs had different loads',
  );
});

t.test("each check and each kind of failed request, from each run's outcomes", async (t) => {
  const check = line('check “studier: list is 200” passed');
  for (const [side, run] of [
    ['a', before],
    ['b', after],
  ] as const) {
    const summary = await readJson<K6Summary>(`${run.runDir}/studiers-stress-local-summary.json`);
    const { passes, fails } = summary
      .root_group!.groups.flatMap((group) => group.checks)
      .concat(summary.root_group!.checks)[0]!;
    t.equal(check[side], passes / (passes + fails), `${run.name}: the check's passes over its runs`);
    const group = run.outcomes.requests.find((candidate) => candidate.method === 'GET' && candidate.status === 503);
    t.equal(line('failed: GET /api/v1/todos → 503')[side], group?.count ?? 0, `${run.name}: the 503s its logs hold`);
  }
});

t.test('a run against itself: every line the same, at 1×', async (t) => {
  const itself = compareRuns(after, after);
  for (const candidate of itself.lines.filter((candidate) => candidate.a !== undefined && candidate.a !== 0)) {
    t.equal(candidate.ratio, 1, candidate.name);
    t.equal(candidate.winner, candidate.better === 'neither' ? undefined : 'same', candidate.name);
  }
  t.same(
    itself.notes.filter((note) => note.includes('differs')),
    [],
  );
});

t.test('a figure at 0 in A: no ratio, the better run still said', async (t) => {
  t.same(comparisonLine('failures', 'failed requests', 'count', 'lower', 0, 5), {
    section: 'failures',
    name: 'failed requests',
    unit: 'count',
    a: 0,
    b: 5,
    better: 'lower',
    ratio: undefined,
    winner: 'A',
  });
  t.equal(comparisonLine('failures', 'failed requests', 'count', 'lower', 0, 0).winner, 'same');
  t.equal(comparisonLine('latency', 'k6 p95', 'ms', 'lower', 100, 101).winner, 'same', 'within 2 %: noise');
  t.equal(comparisonLine('latency', 'k6 p95', 'ms', 'lower', 100, 103).winner, 'A');
  t.same(
    [0.35, 0.0709, 14.05, 0, undefined].map(formatRatio),
    ['0.35×', '0.071×', '14×', '0.00×', '—'],
    'ratios: two decimals, two significant digits below 0.1, whole from 10',
  );
});

t.test('the page: both runs, their verdicts and every line with its ratio', async (t) => {
  const html = renderComparisonHtml(comparison);
  t.match(html, /<h2>A: stress-local<\/h2>/);
  t.match(html, /<h2>B: quiet<\/h2>/);
  t.match(html, /<h3>Bottleneck: the machine \(2 cores\) saturated<\/h3>/);
  t.match(html, /<h3>Bottleneck: nothing saturated<\/h3>/);
  t.match(
    html,
    new RegExp(`<h3>${comparison.b.verdict.headline.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}</h3>`),
    "B's headline",
  );
  for (const candidate of comparison.lines)
    t.ok(html.includes(`<td>${candidate.name.replace(/&/g, '&amp;')}`), candidate.name);
  t.ok(html.includes(`<td>${formatRatio(line('k6 p95').ratio)}</td>`), "k6 p95's ratio");
});

t.test(
  'the run before, to compare a new run with: the latest earlier run of the same test beside it with a report',
  async (t) => {
    const reported = () => ({ 'bottlenecks.json': '{}' });
    const results = t.testdir({
      '2026-12-01T10-00-00-planners-and-studiers-smoke': reported(),
      '2026-12-01T11-00-00-planners-and-studiers-smoke': reported(),
      '2026-12-01T11-15-00-planners-and-studiers-smoke': { 'k6-entry.js': '' }, // stopped before k6: no report
      '2026-12-01T11-30-00-planners-and-studiers-local': reported(),
      '2026-12-01T11-45-00-my-test': reported(),
      '2026-12-01T12-00-00-planners-and-studiers-smoke': reported(),
      '2026-12-01T13-00-00-planners-and-studiers-smoke': reported(),
      'README.md': '',
    });
    const run = (name: string) => `${results}/${name}`;
    t.equal(
      await previousRunOf(run('2026-12-01T12-00-00-planners-and-studiers-smoke')),
      run('2026-12-01T11-00-00-planners-and-studiers-smoke'),
    );
    t.equal(
      await previousRunOf(run('2026-12-01T10-00-00-planners-and-studiers-smoke')),
      undefined,
      'the first of its kind',
    );
    t.equal(await previousRunOf(run('2026-12-01T11-45-00-my-test')), undefined, 'no earlier run of that script');
    t.equal(await previousRunOf(fixture('quiet')), undefined, 'not a run directory pnpm loadtest named');
  },
);

/** What CloudWatch held for a run against AWS (aws-figures.ts), cut to the figures compared. */
function awsFigures(readCpu: number, responseMs: number, target5xx: number): AwsFigures {
  const utilization = (percent: number) => ({
    averagePercent: percent * 0.8,
    peakMinutePercent: percent,
    maxPercent: percent + 5,
  });
  return {
    region: 'eu-west-1',
    window: { startMs: 0, endMs: 300_000 },
    periodSeconds: 60,
    logs: undefined,
    services: [
      {
        service: 'todo-read',
        ecsServiceName: 'taskoverflow-todo-read',
        cpu: utilization(readCpu),
        memory: utilization(40),
        tasks: { peak: 10, countedBy: 'RunningTaskCount' },
        maxTasks: 10,
        periods: [],
        targetGroup: {
          requests: 60_000,
          responseTimeAverageMs: responseMs,
          responseTimeMaxMs: 900,
          target5xx,
          healthyMin: 10,
          healthyMax: 10,
        },
      },
    ],
    loadBalancer: { requests: 60_500, elb5xx: 0, rejectedConnections: 0 },
    database: {
      instance: 'taskoverflow-db',
      cpu: utilization(30),
      connectionsPeak: 40,
      maxConnections: 100,
      readIops: { average: 3, max: 9 },
      writeIops: undefined,
    },
    cache: undefined,
    missing: [],
  };
}

t.test(
  "runs against AWS: each service's CPU, tasks, response time and 5xx, the load balancer's and RDS's, from CloudWatch",
  async (t) => {
    // The practical's last fix: todo-read at its 10 tasks' maximum and 95 % CPU, then bigger tasks.
    const onAws = (run: typeof before, aws: AwsFigures) => ({ ...run, figures: { ...run.figures, aws } });
    const aws = compareRuns(onAws(after, awsFigures(95, 120, 40)), onAws(after, awsFigures(60, 20, 0))).lines.filter(
      (candidate) => candidate.section === 'AWS (CloudWatch)',
    );
    const get = (name: string) => aws.find((candidate) => candidate.name === name)!;
    t.same(
      [
        get('todo-read CPU, busiest minute').a,
        get('todo-read CPU, busiest minute').b,
        get('todo-read CPU, busiest minute').winner,
      ],
      [95, 60, 'B'],
    );
    t.equal(get('todo-read CPU, busiest minute').ratio, 60 / 95);
    t.equal(get('todo-read CPU, average').ratio, (60 * 0.8) / (95 * 0.8));
    t.same(
      [get('todo-read tasks at the peak').ratio, get('todo-read tasks at the peak').winner],
      [1, undefined],
      'tasks describe the run',
    );
    t.same(
      [
        get('todo-read response time at the ALB, average').ratio,
        get('todo-read response time at the ALB, average').winner,
      ],
      [20 / 120, 'B'],
    );
    t.same([get('todo-read 5xx from its tasks').ratio, get('todo-read 5xx from its tasks').winner], [0, 'B']);
    t.equal(get("load balancer's own 5xx").winner, 'same');
    t.equal(get('RDS CPU, busiest minute').winner, 'same');
    t.notOk(
      aws.some((candidate) => candidate.name.startsWith('ElastiCache')),
      'no line for what neither run has',
    );
    t.same(
      compareRuns(before, after).lines.filter((candidate) => candidate.section === 'AWS (CloudWatch)'),
      [],
      'local runs: no AWS lines',
    );
  },
);

t.test("a comparison is asked for by --compare before any --, after which the flags are k6's", async (t) => {
  t.ok(isCompareCommand(['--compare', 'a', 'b']));
  t.ok(isCompareCommand(['--compare=a', 'b', '--out', 'x']));
  t.notOk(isCompareCommand(['my-test.js', '--', '--compare']));
  t.notOk(isCompareCommand(['--scale', 'smoke']));
});
