/**
 * The AWS half of the bottleneck report without AWS: stream names, the resources from a
 * stack's outputs and flags, the figures and the verdict's rules on CloudWatch figures planted
 * here, and the report that carries them. The end-to-end run against moto is
 * loadtests/test/cloudwatch-report.int.test.ts.
 */
import { execFile } from 'node:child_process';
import { cp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import t from 'tap';
import { awsProblem, readCloudWatch, type CloudWatchRun } from '../src/cloudwatch/index.js';
import { streamSource } from '../src/cloudwatch/log-window.js';
import { metricRequests, metricWindow, type MetricSeries } from '../src/cloudwatch/metric-requests.js';
import { awsReadSettings, type AwsResources } from '../src/cloudwatch/resources.js';
import { awsFiguresOf } from '../src/report/aws-figures.js';
import { awsFindings } from '../src/report/aws-verdict.js';
import { REPORT_INPUT_FILES } from '../src/report/inputs.js';
import { writeBottleneckReport } from '../src/report/index.js';

const MINUTE = 60_000;
const START = Date.parse('2026-12-06T12:00:00Z');

const RESOURCES: AwsResources = {
  region: 'eu-west-1',
  logGroupName: 'taskoverflow-dev',
  clusterName: 'taskoverflow-1a2b',
  services: {
    'todo-read': { serviceName: 'taskoverflow-todo-read-9f', targetGroupArnSuffix: 'targetgroup/read/1', maxTasks: 10 },
    'todo-write': {
      serviceName: 'taskoverflow-todo-write-3c',
      targetGroupArnSuffix: 'targetgroup/write/2',
      maxTasks: 2,
    },
  },
  loadBalancerArnSuffix: 'app/taskoverflow/3',
  databaseInstanceId: 'taskoverflow-db',
  databaseMaxConnections: 100,
  cacheClusterId: 'taskoverflow-cache-001',
};

/** Every series the report asks for, filled per minute by `values` (subject/metric/stat → one value a minute); none: no data. */
function runWith(values: Record<string, number[]>, overrides: Partial<CloudWatchRun> = {}): CloudWatchRun {
  const metrics: MetricSeries[] = metricRequests(RESOURCES).map((request) => {
    const planted = values[`${request.subject}/${request.metric}/${request.stat}`] ?? [];
    return { ...request, timestamps: planted.map((_, index) => START + index * MINUTE), values: planted };
  });
  return {
    resources: RESOURCES,
    window: { startMs: START, endMs: START + 3 * MINUTE },
    logs: undefined,
    metrics,
    problems: [],
    ...overrides,
  };
}

const CALM = {
  'todo-read/CPUUtilization/Average': [20, 35, 30],
  'todo-read/CPUUtilization/Maximum': [30, 48, 40],
  'todo-read/MemoryUtilization/Average': [40, 41, 41],
  'todo-read/RunningTaskCount/Maximum': [2, 3, 3],
  'todo-read/RequestCount/Sum': [1000, 3000, 2000],
  'todo-read/TargetResponseTime/Average': [0.004, 0.006, 0.005],
  'todo-read/TargetResponseTime/Maximum': [0.05, 0.2, 0.1],
  'todo-read/HealthyHostCount/Minimum': [2, 2, 3],
  'todo-read/HealthyHostCount/Maximum': [2, 3, 3],
  'todo-write/CPUUtilization/Average': [5, 6, 5],
  'todo-write/RunningTaskCount/Maximum': [1, 1, 1],
  'load balancer/RequestCount/Sum': [1100, 3100, 2100],
  'database/CPUUtilization/Average': [10, 12, 11],
  'database/DatabaseConnections/Maximum': [12, 14, 14],
  'database/ReadIOPS/Average': [1, 2, 1],
  'cache/EngineCPUUtilization/Average': [2, 3, 3],
  'cache/Evictions/Sum': [0, 0, 0],
  'cache/CurrConnections/Maximum': [8, 10, 10],
};

t.test(
  'a stream names its service and instance: the awslogs driver, the init container, the project transport',
  async (t) => {
    t.same(streamSource('todo-read/todo-read/0123456789abcdef0123456789abcdef'), {
      service: 'todo-read',
      instance: 'todo-read-0123456789abcdef0123456789abcdef',
    });
    t.same(streamSource('todo-write/migrate/abc'), { service: 'todo-write', instance: 'todo-write-migrate-abc' });
    t.same(streamSource('todo-read/todo-read-2'), { service: 'todo-read', instance: 'todo-read-2' });
    t.same(streamSource('todo-read/ip-10-0-3-17.ec2.internal'), {
      service: 'todo-read',
      instance: 'todo-read-ip-10-0-3-17.ec2.internal',
    });
    t.same(streamSource('odd name'), { service: 'odd name', instance: 'odd_name' });
  },
);

t.test('the resources: the stack outputs file, each flag over it, the region from the environment last', async (t) => {
  const dir = t.testdir({
    'outputs.json': JSON.stringify({
      url: 'http://alb',
      cloudWatchResources: { ...RESOURCES, region: 'ap-southeast-2' },
    }),
    'empty.json': JSON.stringify({ url: 'http://alb' }),
  });
  t.equal(awsReadSettings({}, {}, dir), undefined, 'no flag: CloudWatch is not read');
  const fromFile = awsReadSettings({ 'aws-outputs': 'outputs.json' }, {}, dir)!;
  t.same(fromFile.resources, { ...RESOURCES, region: 'ap-southeast-2' }, 'every name from the file');
  t.equal(fromFile.maxLogEvents, 200_000);
  const overridden = awsReadSettings(
    {
      'aws-outputs': 'outputs.json',
      'aws-region': 'us-east-1',
      'aws-service': ['todo-read=other'],
      'aws-max-tasks': ['todo-write=4'],
      'aws-max-log-events': '500',
    },
    {},
    dir,
  )!;
  t.equal(overridden.resources.region, 'us-east-1');
  t.same(overridden.resources.services['todo-read'], { ...RESOURCES.services['todo-read'], serviceName: 'other' });
  t.equal(overridden.resources.services['todo-write']?.maxTasks, 4);
  t.equal(overridden.maxLogEvents, 500);
  t.same(
    awsReadSettings({ 'aws-log-group': 'g' }, { AWS_REGION: 'eu-central-1' }, dir)!.resources,
    {
      region: 'eu-central-1',
      logGroupName: 'g',
      clusterName: undefined,
      services: {},
      loadBalancerArnSuffix: undefined,
      databaseInstanceId: undefined,
      databaseMaxConnections: undefined,
      cacheClusterId: undefined,
    },
    'flags alone, the region from AWS_REGION',
  );
  t.throws(() => awsReadSettings({ 'aws-log-group': 'g' }, {}, dir), {
    code: 'TASKOVERFLOW_TRACE_USAGE',
    message: /needs a region/,
  });
  t.throws(() => awsReadSettings({ 'aws-service': ['todo-reed=x'] }, { AWS_REGION: 'r' }, dir), {
    message: /--aws-service takes SERVICE=VALUE/,
  });
  t.throws(() => awsReadSettings({ 'aws-max-tasks': ['todo-read=0'] }, { AWS_REGION: 'r' }, dir), {
    message: /--aws-max-tasks takes a whole number/,
  });
  t.throws(() => awsReadSettings({ 'aws-outputs': 'missing.json' }, {}, dir), {
    message: /no such file; write it with: cd infra && pulumi stack output --json/,
  });
  t.throws(() => awsReadSettings({ 'aws-outputs': 'empty.json' }, {}, dir), {
    message: /has no cloudWatchResources: deploy the current infra/,
  });
});

t.test('the metrics asked for: the namespaces and dimensions AWS publishes them under, in whole minutes', async (t) => {
  const requests = metricRequests(RESOURCES);
  const find = (subject: string, metric: string) =>
    requests.find((request) => request.subject === subject && request.metric === metric);
  t.same(find('todo-read', 'CPUUtilization')?.dimensions, {
    ClusterName: 'taskoverflow-1a2b',
    ServiceName: 'taskoverflow-todo-read-9f',
  });
  t.equal(find('todo-read', 'RunningTaskCount')?.namespace, 'ECS/ContainerInsights');
  t.same(find('todo-write', 'HTTPCode_Target_5XX_Count')?.dimensions, {
    LoadBalancer: 'app/taskoverflow/3',
    TargetGroup: 'targetgroup/write/2',
  });
  t.same(find('load balancer', 'RejectedConnectionCount')?.dimensions, { LoadBalancer: 'app/taskoverflow/3' });
  t.same(find('database', 'WriteIOPS')?.dimensions, { DBInstanceIdentifier: 'taskoverflow-db' });
  t.same(find('cache', 'Evictions')?.dimensions, { CacheClusterId: 'taskoverflow-cache-001' });
  t.same(
    metricRequests({
      ...RESOURCES,
      clusterName: undefined,
      loadBalancerArnSuffix: undefined,
      databaseInstanceId: undefined,
      cacheClusterId: undefined,
    }),
    [],
    'nothing named, nothing asked',
  );
  t.same(
    metricWindow(START + 5_000, START + 45_000),
    { startMs: START, endMs: START + MINUTE },
    'a 40 s run: its minute',
  );
  t.same(
    metricWindow(START + 50_000, START + 70_000),
    { startMs: START, endMs: START + 2 * MINUTE },
    'across a minute boundary: both',
  );
});

t.test('a service at 90 % CPU or more at its autoscaling maximum needs more tasks or bigger ones', async (t) => {
  const findings = awsFindings(
    awsFiguresOf(
      runWith({
        ...CALM,
        'todo-read/CPUUtilization/Average': [60, 96, 93],
        'todo-read/RunningTaskCount/Maximum': [6, 10, 10],
      }),
    ),
  );
  const saturated = findings.find((finding) => finding.rule === 'aws service saturated');
  t.ok(saturated, 'the rule fires');
  t.match(
    saturated!.sentence,
    /^todo-read needs more tasks or bigger ones: its CPU averaged 96 % over the minute from 12:01:00 UTC while it ran 10 of its 10 tasks/,
  );
  t.match(saturated!.sentence, /2 such minutes\. Raise readMaxCount, or the task size \(readCpu \/ readMemory\)\./);
  t.same(saturated!.evidence, {
    resource: 'todo-read on ECS (10 of 10 tasks)',
    cpuPercent: 96,
    tasks: 10,
    maxTasks: 10,
    minutes: 2,
  });
  t.notOk(findings.some((finding) => finding.rule === 'aws nothing saturated'));

  const below = awsFindings(
    awsFiguresOf(
      runWith({
        ...CALM,
        'todo-read/CPUUtilization/Average': [60, 95, 70],
        'todo-read/RunningTaskCount/Maximum': [2, 4, 6],
      }),
    ),
  );
  t.notOk(
    below.some((finding) => finding.rule === 'aws service saturated'),
    'below its maximum it is not saturated…',
  );
  t.match(
    below.find((finding) => finding.rule === 'aws service busy')?.sentence,
    /with 4 tasks of its 10: autoscaling had room/,
    '…autoscaling lagged',
  );
});

t.test(
  'without Container Insights the tasks are counted by the target group, and the report says how to turn it on',
  async (t) => {
    const figures = awsFiguresOf(
      runWith({
        ...CALM,
        'todo-read/RunningTaskCount/Maximum': [],
        'todo-read/HealthyHostCount/Maximum': [10, 10, 10],
        'todo-read/CPUUtilization/Average': [91, 92, 93],
      }),
    );
    const read = figures.services.find((service) => service.service === 'todo-read')!;
    t.same(read.tasks, { peak: 10, countedBy: 'HealthyHostCount' });
    t.match(
      figures.missing.join('\n'),
      /no RunningTaskCount of todo-read \(ECS\/ContainerInsights\): Container Insights is off.*update-cluster-settings --cluster taskoverflow-1a2b.*HealthyHostCount instead/,
    );
    t.ok(
      awsFindings(figures).some((finding) => finding.rule === 'aws service saturated'),
      'and the rule works on that count',
    );
  },
);

t.test('the load balancer, RDS and ElastiCache rules', async (t) => {
  const findings = awsFindings(
    awsFiguresOf(
      runWith({
        ...CALM,
        'load balancer/HTTPCode_ELB_5XX_Count/Sum': [0, 30, 5],
        'load balancer/RejectedConnectionCount/Sum': [0, 12, 0],
        'todo-write/HTTPCode_Target_5XX_Count/Sum': [0, 3, 0],
        'database/CPUUtilization/Average': [50, 97, 80],
        'database/DatabaseConnections/Maximum': [40, 95, 60],
        'cache/EngineCPUUtilization/Average': [30, 91, 40],
        'cache/Evictions/Sum': [0, 7, 5],
        'todo-read/HealthyHostCount/Minimum': [2, 0, 1],
        'todo-read/MemoryUtilization/Average': [70, 94, 80],
      }),
    ),
  );
  const sentence = (rule: string) =>
    findings.filter((finding) => finding.rule === rule).map((finding) => finding.sentence);
  t.match(
    sentence('aws load balancer errors')[0],
    /answered 35 requests with its own 5xx.*rejected 12 connections.*passed on 3 5xx from the services \(todo-write 3\) of 6,300 requests/,
  );
  t.match(
    sentence('aws database saturated')[0],
    /^PostgreSQL \(RDS taskoverflow-db\) was saturated: its CPU averaged 97 % over its busiest minute.*dbInstanceClass/,
  );
  t.match(sentence('aws database saturated')[1], /95 of max_connections 100/);
  t.match(
    sentence('aws cache saturated')[0],
    /Redis's engine thread \(ElastiCache taskoverflow-cache-001\) was saturated: 91 %/,
  );
  t.match(sentence('aws cache evictions')[0], /Redis evicted 12 entries/);
  t.match(sentence('aws no healthy task')[0], /no todo-read task was healthy/);
  t.match(sentence('aws service memory')[0], /todo-read's memory reached 94 %/);
});

t.test("metrics that had not landed for the run's last minutes are said, with how to read them again", async (t) => {
  const late = awsFiguresOf(runWith(CALM, { window: { startMs: START, endMs: START + 5 * MINUTE } }));
  t.match(
    late.missing.join('\n'),
    /no metrics after the minute from 12:02:00 UTC yet, while the run went on until 12:05:00: .*pnpm trace --report DIR --aws-outputs FILE/,
  );
  t.notMatch(awsFiguresOf(runWith(CALM)).missing.join('\n'), /no metrics after/, 'all there: nothing said');
});

t.test('a calm run says nothing saturated, with the figures; what could not be read is said, not thrown', async (t) => {
  const calm = awsFindings(awsFiguresOf(runWith(CALM)));
  t.equal(calm.length, 1);
  t.equal(
    calm[0]!.sentence,
    "On AWS nothing saturated: todo-read peaked at 35 % CPU over a minute with up to 3 of 10 tasks, todo-write peaked at 6 % CPU over a minute with up to 1 of 2 tasks, PostgreSQL at 12 % CPU, 14 of 100 connections, Redis's engine at 3 %.",
  );

  const denied = Object.assign(new Error('User is not authorized to perform: cloudwatch:GetMetricData'), {
    name: 'AccessDeniedException',
  });
  const problem = awsProblem(denied, 'the metrics', 'cloudwatch:GetMetricData', 'eu-west-1');
  t.match(
    problem,
    /^the metrics could not be read: access denied \(AccessDeniedException\)\. It needs the read-only permission cloudwatch:GetMetricData \(docs\/deploy\.md/,
  );
  const noCredentials = Object.assign(new Error('Could not load credentials from any providers'), {
    name: 'CredentialsProviderError',
  });
  t.match(awsProblem(noCredentials, 'x', 'p', 'r'), /no valid AWS credentials.*AWS_PROFILE/);
  const figures = awsFiguresOf(runWith({}, { problems: [problem] }));
  t.equal(figures.missing[0], problem, 'the problem leads what is missing');
  t.match(
    figures.missing.join('\n'),
    /no ECS CPU or memory of todo-read .* between 12:00:00 and 12:03:00 UTC in eu-west-1/,
    'and each absent figure is named',
  );
  t.same(awsFindings(figures), [], 'no figures, no findings');
});

t.test('the report: the AWS section, and its saturation heads the verdict', async (t) => {
  const runDir = t.testdir();
  await cp(fileURLToPath(new URL('./fixtures/quiet/', import.meta.url)), runDir, { recursive: true });
  const run = runWith({ ...CALM, 'database/CPUUtilization/Average': [50, 97, 80] });
  await writeFile(
    join(runDir, REPORT_INPUT_FILES.cloudWatch),
    JSON.stringify({
      ...run,
      logs: { logGroupName: 'taskoverflow-dev', events: 120, pages: 1, streams: [], stopped: undefined },
    }),
  );
  const report = await writeBottleneckReport(runDir);
  t.equal(report.verdict.saturated, 'PostgreSQL (RDS taskoverflow-db)', 'the headline names RDS');
  t.notOk(
    report.verdict.findings.some((finding) => finding.rule === 'nothing saturated'),
    "k6's machine's 'nothing saturated' gives way",
  );
  t.equal(report.figures.aws?.database?.cpu?.peakMinutePercent, 97, 'bottlenecks.json carries the AWS figures');
  const html = await readFile(report.files.html, 'utf8');
  t.match(html, /<section id="aws"><h2>On AWS: CloudWatch<\/h2>/);
  t.match(
    html,
    /<h3>ECS services<\/h3>.*todo-read \(taskoverflow-todo-read-9f\)<\/td><td>28 %<\/td><td>35 %<\/td><td>48 %<\/td><td>41 %<\/td><td>3 of 10<\/td><td>RunningTaskCount/s,
  );
  t.match(html, /<h3>PostgreSQL \(RDS taskoverflow-db\)<\/h3>.*<td>97 %<\/td>/s);
  t.match(html, /120 log lines from 0 streams of taskoverflow-dev/);
  t.match(
    report.figures.processes.missing.join('\n'),
    /the services ran elsewhere/,
    'the services are not among the sampled processes',
  );
});

t.test('pnpm trace: the --aws-* flags go with --report, and a bad one is bad usage', async (t) => {
  const trace = fileURLToPath(new URL('../src/cli/trace.ts', import.meta.url));
  const usage = async (...args: string[]) =>
    promisify(execFile)(process.execPath, ['--import', 'tsx', '--conditions=development', trace, ...args], {
      env: { ...process.env, AWS_REGION: 'eu-west-1' },
    }).then(
      () => ({ code: 0, stderr: '' }),
      (error: { code: number; stderr: string }) => ({ code: error.code, stderr: error.stderr }),
    );
  t.match(await usage('--slowest', '--aws-log-group', 'g'), {
    code: 2,
    stderr: /the --aws-\* flags read a run back from CloudWatch: they go with --report DIR/,
  });
  t.match(await usage('--report', '.', '--aws-max-tasks', 'todo-read=lots'), {
    code: 2,
    stderr: /--aws-max-tasks takes a whole number/,
  });
});

t.test("the run's window: from k6's start to the last sample, or k6's duration where /proc gave none", async (t) => {
  const nothingNamed = {
    resources: {
      ...RESOURCES,
      logGroupName: undefined,
      clusterName: undefined,
      loadBalancerArnSuffix: undefined,
      databaseInstanceId: undefined,
      cacheClusterId: undefined,
    },
    maxLogEvents: 10,
  };
  const progress: string[] = [];
  const sampled = t.testdir({
    'process-samples.json': JSON.stringify({
      startedAtMs: START,
      cores: 2,
      intervalMs: 1000,
      samples: [START + 200, START + 1200, START + 9200].map((atMs) => ({ atMs, machineCpuSeconds: 0, processes: {} })),
    }),
  });
  const run = await readCloudWatch(sampled, nothingNamed, (line) => progress.push(line));
  t.same(run.window, { startMs: START, endMs: START + 9200 });
  t.match(run.problems.join('\n'), /no log group named.*\n.*no metrics were read/, 'nothing named: said, nothing read');
  t.match(progress.join('\n'), /CloudWatch: no log group named/);
  t.same(
    JSON.parse(await readFile(join(sampled, 'cloudwatch.json'), 'utf8')),
    JSON.parse(JSON.stringify(run)),
    'saved for the report',
  );

  const unsampled = t.testdir({
    'process-samples.json': JSON.stringify({ startedAtMs: START, cores: 2, intervalMs: 1000, samples: [] }),
    'run-summary.json': JSON.stringify({ metrics: {}, state: { testRunDurationMs: 42_000 } }),
  });
  t.same((await readCloudWatch(unsampled, nothingNamed, () => undefined)).window, {
    startMs: START,
    endMs: START + 42_000,
  });
  await t.rejects(
    readCloudWatch(t.testdir({}), nothingNamed, () => undefined),
    { code: 'TASKOVERFLOW_TRACE_NOTHING_FOUND', message: /the run's time window is unknown/ },
  );
  const local = t.testdir({
    'process-samples.json': JSON.stringify({ startedAtMs: START, cores: 2, intervalMs: 1000, samples: [] }),
    logs: { 'todo-read-1.log': '' },
  });
  await t.rejects(
    readCloudWatch(local, nothingNamed, () => undefined),
    { message: /holds the local stack's logs/ },
  );
});
