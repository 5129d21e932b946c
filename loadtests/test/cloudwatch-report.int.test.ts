/**
 * `pnpm loadtest` against an ENDPOINT, with the run read back from CloudWatch, end to end
 * against moto (an AWS emulator on 127.0.0.1; the file fails without it, naming the install).
 *
 * The test stands in for AWS around a real local stack: each service instance's log lines go
 * to moto through the project's own CloudWatch transport (packages/observability), in streams
 * named as the awslogs driver names them on ECS (`<service>/<service>/<task id>`; the edge
 * plays the ALB, which logs nothing there), and each `stats` line is published with
 * PutMetricData as AWS publishes the figures: ECS CPU and memory per service, Container
 * Insights' running tasks, the ALB's per target group and its own, RDS and ElastiCache, from
 * the run's own figures (the stats lines, pg_stat_activity, Redis INFO) except RDS's CPU,
 * which nothing measures here and is planted at 95 % so that the verdict's rule shows. The
 * real CLI then runs a short smoke scenario with --aws-outputs, and its report must carry the
 * AWS figures and agree with the report of the same run from the local log files.
 */
import { CloudWatchClient, PutMetricDataCommand, type MetricDatum } from '@aws-sdk/client-cloudwatch';
import { CloudWatchLogsClient, CreateLogGroupCommand } from '@aws-sdk/client-cloudwatch-logs';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { cp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { cloudWatchTransportTarget } from '@taskoverflow/observability';
import {
  followLogLines,
  motoEnvironment,
  setEnv,
  startMoto,
  startTestStack,
  type LogLine,
} from '@taskoverflow/stack/testing';
import { REPORT_INPUT_FILES, writeBottleneckReport } from '@taskoverflow/trace';
import { Redis } from 'ioredis';
import pg from 'pg';
import { pino } from 'pino';
import t from 'tap';

const run = promisify(execFile);
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const REGION = 'eu-west-1';
const GROUP = 'taskoverflow-moto';
const CLUSTER = 'taskoverflow-cluster';
const LOAD_BALANCER = 'app/taskoverflow/0123456789abcdef';
const DATABASE = 'taskoverflow-db';
const CACHE = 'taskoverflow-cache-001';
const MAX_CONNECTIONS = 100;
/** A 1 vCPU / 2 GB task, as the stack's default sizes: CPU is a share of one core, memory of 2048 MB. */
const TASK_MEMORY_MB = 2048;
/** RDS's CPU: nothing measures it here, so it is planted, saturated. */
const PLANTED_DATABASE_CPU = 95;
const TARGET_GROUPS: Record<string, string> = {
  'todo-read': 'targetgroup/taskoverflow-todo-read/0123456789abcdef',
  'todo-write': 'targetgroup/taskoverflow-todo-write/0123456789abcdef',
};
/** A short smoke run: ≈ 15 s of k6. */
const SHORT_SMOKE = {
  STUDIER_STAGES: '4s:10,6s:10,2s:0',
  STUDIER_SLEEP: '1',
  PLANNER_VUS: '2',
  PLANNER_ITERATIONS: '6',
  PLANNER_SLEEP: '1',
  // Not a latency test: on a busy 2-core machine only a stall should fail it.
  P95_MS: '2000',
};

interface Figures {
  requests: number;
  byService: Record<string, { count: number; p50Ms: number; p95Ms: number; p99Ms: number; maxMs: number }>;
  endpoints: Array<{ endpoint: string; atService: unknown }>;
  failures: { serviceStatuses: Record<string, number> };
  processes: { missing: string[] };
  aws?: {
    services: Array<{
      service: string;
      cpu?: { averagePercent: number };
      memory?: unknown;
      tasks?: { peak: number; countedBy: string };
      maxTasks?: number;
      targetGroup?: { requests: number };
    }>;
    loadBalancer?: { requests: number };
    database?: { cpu?: { peakMinutePercent: number }; connectionsPeak?: number; readIops?: unknown };
    cache?: { engineCpu?: unknown; evictions?: number; connectionsPeak?: number };
    logs?: { events: number; streams: Array<{ stream: string; file: string }> };
    missing: string[];
  };
}

t.test(
  'pnpm loadtest against an ENDPOINT reads the run back from CloudWatch, and agrees with the local logs',
  async (t) => {
    const moto = await startMoto(t);
    setEnv(t, motoEnvironment(moto, REGION));
    const logsClient = new CloudWatchLogsClient({ region: REGION });
    t.teardown(() => logsClient.destroy());
    await logsClient.send(new CreateLogGroupCommand({ logGroupName: GROUP }));

    const stack = await startTestStack(t, { readReplicas: 2 });
    const aws = new AwsStandIn(stack.databaseUrl, stack.redisUrl);
    t.teardown(() => aws.close());
    followLogLines(t, stack, (line, instance) => aws.take(line, instance));

    const results = t.testdir();
    const outputs = join(results, 'outputs.json');
    await writeFile(outputs, JSON.stringify({ url: stack.url, cloudWatchResources: stackOutputs() }));
    const cli = await run(
      process.execPath,
      [
        '--import',
        'tsx',
        '--conditions=development',
        'loadtests/loadtest/cli.ts',
        '--scale',
        'smoke',
        '--results',
        results,
        '--aws-outputs',
        outputs,
      ],
      {
        cwd: REPO_ROOT,
        env: { ...process.env, ...SHORT_SMOKE, ENDPOINT: stack.url },
        timeout: 150_000,
        maxBuffer: 16 * 2 ** 20,
      },
    ).catch((error: Error & { code?: number; stdout?: string; stderr?: string }) => {
      // A threshold breached on a busy machine (exit 1 after the report) is not what this test is
      // about: the report and its agreement with the local logs still are. Anything else fails it.
      if (
        error.code === 1 &&
        error.stdout?.includes('FAILED: thresholds breached') &&
        error.stdout.includes('Bottleneck:')
      ) {
        t.comment(
          `k6's thresholds were breached on this machine: ${/FAILED: thresholds breached[^\n]*/.exec(error.stdout)?.[0]}`,
        );
        return { stdout: error.stdout, stderr: error.stderr ?? '' };
      }
      t.fail(`pnpm loadtest exited with ${error.code}`, { stdout: tail(error.stdout), stderr: tail(error.stderr) });
      throw error;
    });
    t.same(aws.problems, [], 'every line and figure reached moto');
    t.match(
      cli.stdout,
      /CloudWatch Logs: [\d,]+ lines from 3 streams of taskoverflow-moto ✓/,
      'the CLI says what it read',
    );
    t.match(cli.stdout, /CloudWatch metrics: \d+ of \d+ series with data ✓/);
    t.match(
      cli.stdout,
      /Bottleneck: PostgreSQL \(RDS taskoverflow-db\) saturated/,
      'and prints the verdict with the AWS finding',
    );

    const runDir = join(
      results,
      (await readdir(results, { withFileTypes: true })).find((entry) => entry.isDirectory())!.name,
    );
    const logFiles = (await readdir(join(runDir, REPORT_INPUT_FILES.logs))).sort();
    t.equal(logFiles.length, 3, 'one file per stream');
    t.ok(
      logFiles.every((file) => /^todo-(read|write)-[0-9a-f]{32}\.log$/.test(file)),
      `named by service and task, as awslogs names the streams: ${logFiles.join(', ')}`,
    );
    const { figures, verdict } = JSON.parse(await readFile(join(runDir, 'bottlenecks.json'), 'utf8')) as {
      figures: Figures;
      verdict: { saturated?: string; findings: Array<{ rule: string; sentence: string }> };
    };

    // Per-service latencies, from the services' lines read from CloudWatch Logs.
    for (const service of ['todo-read', 'todo-write'])
      t.ok(figures.byService[service]!.count > 0, `${service}'s percentiles`);
    t.match(
      figures.processes.missing.join('\n'),
      /the services ran elsewhere/,
      'their processes were not sampled here',
    );
    // CPU, tasks, ALB, RDS, ElastiCache, from the metrics.
    const awsFigures = figures.aws!;
    const read = awsFigures.services.find((service) => service.service === 'todo-read')!;
    const write = awsFigures.services.find((service) => service.service === 'todo-write')!;
    t.ok(read.cpu && read.cpu.averagePercent > 0, `todo-read's CPU: ${read.cpu?.averagePercent.toFixed(1)} %`);
    t.ok(read.memory, "todo-read's memory");
    t.same(read.tasks, { peak: 2, countedBy: 'RunningTaskCount' }, 'todo-read ran 2 tasks…');
    t.equal(read.maxTasks, 2, '…of its 2');
    t.same(write.tasks, { peak: 1, countedBy: 'RunningTaskCount' });
    t.ok(read.targetGroup!.requests > 0 && write.targetGroup!.requests > 0, "each target group's requests");
    t.ok(awsFigures.loadBalancer!.requests > 0, "the load balancer's");
    t.equal(awsFigures.database!.cpu!.peakMinutePercent, PLANTED_DATABASE_CPU, "RDS's CPU");
    t.ok(awsFigures.database!.connectionsPeak! > 0 && awsFigures.database!.readIops, "RDS's connections and IOPS");
    t.ok(
      awsFigures.cache!.engineCpu && awsFigures.cache!.connectionsPeak! > 0,
      "ElastiCache's engine CPU and connections",
    );
    t.equal(awsFigures.cache!.evictions, 0, 'and its evictions');
    t.equal(verdict.saturated, `PostgreSQL (RDS ${DATABASE})`, 'the headline names the saturated database');
    t.match(
      verdict.findings.find((finding) => finding.rule === 'aws database saturated')?.sentence,
      /CPU averaged 95 % over its busiest minute/,
    );
    const html = await readFile(join(runDir, 'bottlenecks.html'), 'utf8');
    t.match(html, /<section id="aws"><h2>On AWS: CloudWatch<\/h2>/);
    t.match(html, /<td>todo-read \(taskoverflow-todo-read\)<\/td><td>[\d.]+ %<\/td>/, 'the page shows the ECS figures');
    t.match(html, /<td>todo-read<\/td><td>[\d,]+<\/td><td>[\d.]+ m?s<\/td>/, 'and the per-service latencies');

    // The same run from the stack's own log files: the same requests, statuses and percentiles.
    const localDir = join(results, 'local');
    await cp(runDir, localDir, { recursive: true });
    await rm(join(localDir, REPORT_INPUT_FILES.cloudWatch));
    await rm(join(localDir, REPORT_INPUT_FILES.logs), { recursive: true });
    await mkdir(join(localDir, REPORT_INPUT_FILES.logs));
    for (const file of await readdir(stack.logDir)) {
      if (file.startsWith('todo-')) await cp(join(stack.logDir, file), join(localDir, REPORT_INPUT_FILES.logs, file));
    }
    await writeBottleneckReport(localDir);
    const local = (JSON.parse(await readFile(join(localDir, 'bottlenecks.json'), 'utf8')) as { figures: Figures })
      .figures;
    t.same(figures.byService, local.byService, 'per-service requests and percentiles agree');
    t.same(figures.failures.serviceStatuses, local.failures.serviceStatuses, 'statuses agree');
    t.same(figures.endpoints, local.endpoints, 'per-endpoint figures agree');
    t.equal(figures.requests, local.requests);

    // Read again in a region with nothing: each absence is a line, and the report is still written.
    const readElsewhere = async (): Promise<{ stderr: string; figures: Figures }> => {
      const { stderr } = await run(
        process.execPath,
        [
          '--import',
          'tsx',
          '--conditions=development',
          'packages/trace/src/cli/trace.ts',
          '--report',
          runDir,
          '--aws-outputs',
          outputs,
          '--aws-region',
          'us-west-2',
        ],
        { cwd: REPO_ROOT, env: process.env, timeout: 60_000 },
      );
      return {
        stderr,
        figures: (JSON.parse(await readFile(join(runDir, 'bottlenecks.json'), 'utf8')) as { figures: Figures }).figures,
      };
    };
    const noGroup = await readElsewhere();
    t.match(
      noGroup.stderr,
      /the log group taskoverflow-moto could not be read: it does not exist in us-west-2/,
      'the missing group is named',
    );
    t.match(
      noGroup.figures.aws!.missing.join('\n'),
      /no ECS CPU or memory of todo-read \(service taskoverflow-todo-read in cluster taskoverflow-cluster\) between .* in us-west-2/,
    );
    t.same(
      noGroup.figures.byService,
      figures.byService,
      'the rest of the report stands: the lines read before are still in logs/',
    );
    const elsewhereClient = new CloudWatchLogsClient({ region: 'us-west-2' });
    await elsewhereClient.send(new CreateLogGroupCommand({ logGroupName: GROUP }));
    elsewhereClient.destroy();
    const emptyGroup = await readElsewhere();
    t.match(
      emptyGroup.figures.aws!.missing.join('\n'),
      /no log lines in taskoverflow-moto between .* in us-west-2/,
      'an empty group is said…',
    );
    t.same(emptyGroup.figures.byService, figures.byService, '…and empties nothing');
    await aws.close();
  },
);

/** `pulumi stack output --json`'s cloudWatchResources for the stand-in. */
function stackOutputs() {
  return {
    region: REGION,
    logGroupName: GROUP,
    clusterName: CLUSTER,
    services: {
      'todo-read': {
        serviceName: 'taskoverflow-todo-read',
        targetGroupArnSuffix: TARGET_GROUPS['todo-read'],
        maxTasks: 2,
      },
      'todo-write': {
        serviceName: 'taskoverflow-todo-write',
        targetGroupArnSuffix: TARGET_GROUPS['todo-write'],
        maxTasks: 1,
      },
    },
    loadBalancerArnSuffix: LOAD_BALANCER,
    databaseInstanceId: DATABASE,
    databaseMaxConnections: MAX_CONNECTIONS,
    cacheClusterId: CACHE,
  };
}

/**
 * AWS around the local stack: the awslogs driver (each service instance's lines to its stream
 * through the project's transport) and CloudWatch's metrics (a PutMetricData per stats line).
 */
class AwsStandIn {
  readonly problems: string[] = [];
  readonly #streams = new Map<string, ReturnType<typeof pino.transport>>();
  readonly #instances = new Map<string, Set<string>>();
  readonly #metrics = new CloudWatchClient({ region: REGION });
  readonly #database: pg.Pool;
  readonly #redis: Redis | undefined;
  #redisCpu: { atMs: number; seconds: number; evicted: number } | undefined;
  #pending = Promise.resolve();

  constructor(databaseUrl: string, redisUrl: string | undefined) {
    this.#database = new pg.Pool({ connectionString: databaseUrl, max: 1 });
    this.#redis = redisUrl ? new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 }) : undefined;
  }

  take(line: LogLine, instance: string): void {
    const service = typeof line.service === 'string' ? line.service : '';
    // The ALB's part is played by the edge: on AWS it writes no lines to the group.
    if (!service.startsWith('todo-')) return;
    let instances = this.#instances.get(service);
    if (!instances) this.#instances.set(service, (instances = new Set()));
    instances.add(instance);
    this.#streamOf(service, instance).write(`${JSON.stringify(line)}\n`);
    if (line.msg === 'stats') {
      // One at a time, in order: Redis's CPU is measured between two of them.
      this.#pending = this.#pending
        .then(() => this.#publish(line, service))
        .catch((error: unknown) => void this.problems.push(String(error)));
    }
  }

  /** awslogs names the stream <prefix>/<container>/<task id>: the service twice, then the task. */
  #streamOf(service: string, instance: string): ReturnType<typeof pino.transport> {
    let stream = this.#streams.get(instance);
    if (!stream) {
      const target = cloudWatchTransportTarget(
        { CLOUDWATCH_LOG_GROUP: GROUP, AWS_REGION: REGION },
        { service, hostname: instance, createLogGroup: false },
      )!;
      const taskId = createHash('md5').update(instance).digest('hex');
      stream = pino.transport({
        target: target.target,
        options: { ...target.options, logStreamName: `${service}/${service}/${taskId}` },
      });
      this.#streams.set(instance, stream);
    }
    return stream;
  }

  async #publish(stats: LogLine, service: string): Promise<void> {
    const at = new Date(String(stats.time));
    const seconds = Number(stats.interval_ms) / 1000;
    const tasks = this.#instances.get(service)!.size;
    const requests = Number(stats.requests);
    const datum = (
      MetricName: string,
      Value: number,
      Unit: MetricDatum['Unit'],
      dimensions: Record<string, string>,
    ): MetricDatum => ({
      MetricName,
      Value,
      Unit,
      Timestamp: at,
      Dimensions: Object.entries(dimensions).map(([Name, Value]) => ({ Name, Value })),
    });
    const ecs = { ClusterName: CLUSTER, ServiceName: `taskoverflow-${service}` };
    const targetGroup = { LoadBalancer: LOAD_BALANCER, TargetGroup: TARGET_GROUPS[service]! };
    const loadBalancer = { LoadBalancer: LOAD_BALANCER };
    const put = (Namespace: string, MetricData: MetricDatum[]) =>
      this.#metrics.send(new PutMetricDataCommand({ Namespace, MetricData }));
    await put('AWS/ECS', [
      datum('CPUUtilization', (Number(stats.cpu_ms) / Number(stats.interval_ms)) * 100, 'Percent', ecs),
      datum('MemoryUtilization', (Number(stats.rss_mb) / TASK_MEMORY_MB) * 100, 'Percent', ecs),
    ]);
    await put('ECS/ContainerInsights', [datum('RunningTaskCount', tasks, 'Count', ecs)]);
    await put('AWS/ApplicationELB', [
      datum('RequestCount', requests, 'Count', targetGroup),
      datum('TargetResponseTime', Number(stats.p50_ms) / 1000, 'Seconds', targetGroup),
      datum('HTTPCode_Target_5XX_Count', Number(stats.status_5xx), 'Count', targetGroup),
      datum('HealthyHostCount', tasks, 'Count', targetGroup),
      datum('RequestCount', requests, 'Count', loadBalancer),
      datum('HTTPCode_ELB_5XX_Count', 0, 'Count', loadBalancer),
      datum('RejectedConnectionCount', 0, 'Count', loadBalancer),
    ]);
    const connections = await this.#database.query<{ count: string }>(
      'select count(*) from pg_stat_activity where datname = current_database()',
    );
    const rds = { DBInstanceIdentifier: DATABASE };
    await put('AWS/RDS', [
      datum('CPUUtilization', PLANTED_DATABASE_CPU, 'Percent', rds),
      datum('DatabaseConnections', Number(connections.rows[0]!.count), 'Count', rds),
      datum('ReadIOPS', Number(stats.db_queries ?? 0) / seconds, 'Count/Second', rds),
      datum('WriteIOPS', service === 'todo-write' ? requests / seconds : 0, 'Count/Second', rds),
    ]);
    if (this.#redis) {
      const info = await this.#redis.info();
      const field = (name: string): number => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? 0);
      const now = {
        atMs: Date.now(),
        seconds: field('used_cpu_sys') + field('used_cpu_user'),
        evicted: field('evicted_keys'),
      };
      const before = this.#redisCpu ?? now;
      this.#redisCpu = now;
      const cache = { CacheClusterId: CACHE };
      await put('AWS/ElastiCache', [
        datum(
          'EngineCPUUtilization',
          now.atMs > before.atMs ? ((now.seconds - before.seconds) * 100_000) / (now.atMs - before.atMs) : 0,
          'Percent',
          cache,
        ),
        datum('Evictions', now.evicted - before.evicted, 'Count', cache),
        datum('CurrConnections', field('connected_clients'), 'Count', cache),
      ]);
    }
  }

  async close(): Promise<void> {
    await this.#pending;
    const streams = [...this.#streams.values()];
    this.#streams.clear();
    await Promise.all(
      streams.map(async (stream) => {
        const closed = once(stream, 'close');
        // pino unrefs its worker; without a ref the test could end before it has flushed.
        (stream as unknown as { ref(): void }).ref();
        stream.end();
        await closed;
      }),
    );
    this.#metrics.destroy();
    this.#redis?.disconnect();
    await this.#database.end().catch(() => undefined);
  }
}

/** The last lines of a command's output, for a failure's diagnostics. */
function tail(output: string | undefined): string {
  return (output ?? '').split('\n').slice(-60).join('\n');
}
