/**
 * The CloudWatch Logs transport against a real emulator: moto's server, started here on a free
 * 127.0.0.1 port (all traffic stays on this machine). Without moto the file fails, never skips:
 * `python3 -m pip install 'moto[server]==5.2.1'` provides it.
 */
import {
  CloudWatchLogsClient,
  CreateLogGroupCommand,
  DescribeLogGroupsCommand,
  GetLogEventsCommand,
} from '@aws-sdk/client-cloudwatch-logs';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Worker } from 'node:worker_threads';
import { setEnv, startMoto, waitUntil } from '@taskoverflow/stack/testing';
import { pino, type TransportTargetOptions } from 'pino';
import t from 'tap';
import { cloudWatchTransportTarget } from '../src/cloudwatch/config.js';
import { LogBuffer } from '../src/cloudwatch/log-buffer.js';
import { PUT_LOG_EVENTS_LIMITS, toLogEvent, TRUNCATION_MARKER, type LogEvent } from '../src/cloudwatch/log-event.js';
import { LOG_GROUP_MISSING_CODE } from '../src/errors.js';
import type { CloudWatchTransportOptions } from '../src/cloudwatch/transport.js';

const REGION = 'us-east-1';
const GROUP = 'taskoverflow';
const HOST = hostname();

t.test('cloudWatchTransportTarget: on exactly when CLOUDWATCH_LOG_GROUP is set', async (t) => {
  const where = { service: 'todo-read', hostname: 'host-1', createLogGroup: false };
  t.equal(cloudWatchTransportTarget({ AWS_REGION: REGION }, where), undefined, 'unset: stdout only');
  t.equal(
    cloudWatchTransportTarget({ CLOUDWATCH_LOG_GROUP: ' ', AWS_REGION: REGION }, where),
    undefined,
    'blank: stdout only',
  );

  const target = cloudWatchTransportTarget({ CLOUDWATCH_LOG_GROUP: GROUP, AWS_DEFAULT_REGION: 'eu-west-1' }, where);
  t.same(target?.options, {
    logGroupName: GROUP,
    logStreamName: 'todo-read/host-1',
    region: 'eu-west-1',
    createLogGroup: false,
  });
  t.equal(
    cloudWatchTransportTarget({ CLOUDWATCH_LOG_GROUP: GROUP, AWS_REGION: REGION }, { ...where, createLogGroup: true })
      ?.options.createLogGroup,
    true,
  );
  t.match(
    target?.target,
    /src\/cloudwatch\/transport\.dev\.mjs$/,
    'from source: the entry that registers tsx in the worker',
  );
  t.ok(target && existsSync(target.target));
  t.equal(
    cloudWatchTransportTarget(
      { CLOUDWATCH_LOG_GROUP: GROUP, AWS_REGION: 'us-west-2', AWS_DEFAULT_REGION: 'eu-west-1' },
      where,
    )?.options.region,
    'us-west-2',
  );

  t.throws(() => cloudWatchTransportTarget({ CLOUDWATCH_LOG_GROUP: GROUP }, where), /no AWS region is: set AWS_REGION/);
  t.throws(
    () => cloudWatchTransportTarget({ CLOUDWATCH_LOG_GROUP: 'bad name!', AWS_REGION: REGION }, where),
    /CLOUDWATCH_LOG_GROUP must be a CloudWatch log group name/,
  );
});

t.test('log events and batches keep within the PutLogEvents limits', async (t) => {
  const iso = '2026-01-02T03:04:05.678Z';
  t.equal(toLogEvent(`{"time":"${iso}","msg":"x"}`, 1)?.timestamp, Date.parse(iso), 'ISO time');
  t.equal(toLogEvent('{"time":1700000000123}', 1)?.timestamp, 1700000000123, 'epoch ms time');
  t.equal(toLogEvent('not json', 42)?.timestamp, 42, 'no time: now');
  t.equal(toLogEvent('  ', 42), null, 'blank lines are skipped');

  const huge = toLogEvent(JSON.stringify({ msg: 'é'.repeat(200_000) }), 0)!;
  t.ok(huge.size <= PUT_LOG_EVENTS_LIMITS.eventBytes, `an oversized line is cut to ${huge.size} bytes`);
  t.ok(huge.message.endsWith(TRUNCATION_MARKER) && !huge.message.includes('\uFFFD'), 'marked, cut between characters');

  const event = (timestamp: number, bytes = 100): LogEvent => ({ timestamp, message: 'x', size: bytes });
  const byCount = new LogBuffer({ maxEvents: 20_000, maxBytes: 64 * 1024 * 1024 });
  for (let i = 0; i < 10_001; i++) byCount.push(event(i));
  t.equal(byCount.takeBatch().length, 10_000, 'at most 10,000 events a call');
  const byBytes = new LogBuffer({ maxEvents: 100, maxBytes: 64 * 1024 * 1024 });
  for (let i = 0; i < 5; i++) byBytes.push(event(i, 250_000));
  t.equal(byBytes.takeBatch().length, 4, 'at most 1 MiB a call');
  const bySpan = new LogBuffer({ maxEvents: 100, maxBytes: 64 * 1024 * 1024 });
  [0, 1000, PUT_LOG_EVENTS_LIMITS.batchSpanMs + 1].forEach((timestamp) => bySpan.push(event(timestamp)));
  t.equal(bySpan.takeBatch().length, 2, 'at most 24 h a call');
  const unsorted = new LogBuffer({ maxEvents: 100, maxBytes: 64 * 1024 * 1024 });
  [3, 1, 2].forEach((timestamp) => unsorted.push(event(timestamp)));
  t.same(
    unsorted.takeBatch().map((e) => e.timestamp),
    [1, 2, 3],
    'sorted by timestamp',
  );

  // Over the cap while a batch is in flight: its events are the oldest, dropped only if it fails.
  const cappedFailing = new LogBuffer({ maxEvents: 3, maxBytes: 64 * 1024 * 1024 });
  [1, 2].forEach((timestamp) => cappedFailing.push(event(timestamp)));
  cappedFailing.takeBatch();
  [3, 4, 5].forEach((timestamp) => cappedFailing.push(event(timestamp)));
  t.equal(cappedFailing.queued, 3, 'lines logged while a batch is retried are kept');
  t.equal(cappedFailing.takeDropped(), 0, 'nothing is dropped before the batch in flight fails');
  cappedFailing.requeue();
  t.equal(cappedFailing.takeDropped(), 2, 'it failed: its events, the oldest, are the ones over the cap');
  cappedFailing.push(event(6));
  t.same(
    cappedFailing.takeBatch().map((e) => e.timestamp),
    [4, 5, 6],
    'then the oldest queued go first',
  );
  t.equal(cappedFailing.takeDropped(), 1);

  const cappedDelivered = new LogBuffer({ maxEvents: 3, maxBytes: 64 * 1024 * 1024 });
  [1, 2].forEach((timestamp) => cappedDelivered.push(event(timestamp)));
  cappedDelivered.takeBatch();
  [3, 4].forEach((timestamp) => cappedDelivered.push(event(timestamp)));
  cappedDelivered.release();
  t.equal(cappedDelivered.takeDropped(), 0, 'it was delivered: nothing was lost');
  t.same(
    cappedDelivered.takeBatch().map((e) => e.timestamp),
    [3, 4],
  );

  const cappedRequeued = new LogBuffer({ maxEvents: 3, maxBytes: 64 * 1024 * 1024 });
  [1, 2].forEach((timestamp) => cappedRequeued.push(event(timestamp)));
  cappedRequeued.takeBatch();
  cappedRequeued.push(event(3));
  cappedRequeued.requeue();
  cappedRequeued.push(event(4));
  t.same(
    cappedRequeued.takeBatch().map((e) => e.timestamp),
    [2, 3, 4],
    'a failed batch goes back in front, the first to be dropped',
  );
  t.equal(cappedRequeued.takeDropped(), 1);

  const cappedBytes = new LogBuffer({ maxEvents: 100, maxBytes: PUT_LOG_EVENTS_LIMITS.eventBytes * 2 });
  [1, 2].forEach((timestamp) => cappedBytes.push(event(timestamp, PUT_LOG_EVENTS_LIMITS.eventBytes)));
  cappedBytes.takeBatch();
  cappedBytes.push(event(3, PUT_LOG_EVENTS_LIMITS.eventBytes));
  cappedBytes.requeue();
  t.same(
    cappedBytes.takeBatch().map((e) => e.timestamp),
    [2, 3],
    'the byte cap too counts the batch in flight',
  );
  t.equal(cappedBytes.takeDropped(), 1);
});

t.test('shipping to a CloudWatch Logs emulator', async (t) => {
  const moto = await startMoto(t);
  // Read by the AWS SDK in the test and, copied at their start, in pino's worker threads.
  setEnv(t, {
    AWS_ENDPOINT_URL_CLOUDWATCH_LOGS: moto.url,
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
    AWS_REGION: REGION,
    AWS_EC2_METADATA_DISABLED: 'true',
  });
  const reader = new CloudWatchLogsClient({ region: REGION });
  t.teardown(() => reader.destroy());
  /** What Pulumi does before any service logs: the group exists, its streams do not. */
  const createGroup = (logGroupName: string) => reader.send(new CreateLogGroupCommand({ logGroupName }));
  const groupExists = async (logGroupName: string) =>
    ((await reader.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: logGroupName }))).logGroups ?? []).some(
      (group) => group.logGroupName === logGroupName,
    );
  await createGroup(GROUP);
  const dir = await mkdtemp(join(tmpdir(), 'cloudwatch-transport-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const stderr = captureStderr();
  t.teardown(() => stderr.restore());

  /** A logger wired like the services': JSON lines to stdout (here a file) and to CloudWatch, in one worker. */
  function startLogger(service: string, host: string, overrides: Partial<CloudWatchTransportOptions> = {}) {
    const target = cloudWatchTransportTarget(
      { CLOUDWATCH_LOG_GROUP: GROUP, AWS_REGION: REGION },
      { service, hostname: host, createLogGroup: false },
    )!;
    const stdout = join(dir, `${service}-${host}.log`);
    const stdoutTarget: TransportTargetOptions = { target: 'pino/file', options: { destination: stdout } };
    const transport = pino.transport({
      targets: [{ ...target, options: { ...target.options, ...overrides } }, stdoutTarget],
    });
    return {
      logger: pino(loggerOptions(service, host), transport),
      ready: once(transport, 'ready'),
      stream: target.options.logStreamName,
      stdoutLines: () => linesOf(stdout),
      close: () => closeTransport(transport),
    };
  }

  async function messages(stream: string, logGroupName = GROUP): Promise<string[]> {
    const found: string[] = [];
    let nextToken: string | undefined;
    for (;;) {
      const page = await reader
        .send(new GetLogEventsCommand({ logGroupName, logStreamName: stream, startFromHead: true, nextToken }))
        .catch((error: Error) => (error.name === 'ResourceNotFoundException' ? undefined : Promise.reject(error)));
      found.push(...(page?.events ?? []).map((event) => event.message!));
      if (!page?.nextForwardToken || page.nextForwardToken === nextToken) return found;
      nextToken = page.nextForwardToken;
    }
  }

  /** Polls the stream until `done` holds or the time is up; returns what was there last. */
  async function waitFor(
    stream: string,
    done: (lines: string[]) => boolean,
    timeoutMs: number,
    logGroupName = GROUP,
  ): Promise<string[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const lines = await messages(stream, logGroupName);
      if (done(lines) || Date.now() > deadline) return lines;
      await sleep(100);
    }
  }

  await t.test('lines arrive in order with their JSON intact; close delivers what is left', async (t) => {
    // A close timeout with room for a slow CI machine: here close() must deliver everything.
    const { logger, stream, close } = startLogger('todo-read', HOST, { closeTimeoutMs: 8000 });
    t.equal(stream, `todo-read/${HOST}`);
    const payload = {
      text: 'ünïcødé ✓ "quoted" \\ back\nslash',
      nested: { list: [1, null, true] },
      pad: 'p'.repeat(1000),
    };
    const count = 1500; // ≈ 1.7 MB: two PutLogEvents calls
    for (let seq = 0; seq < count; seq++) logger.info({ seq, payload }, 'line %d', seq);
    logger.info({ seq: count, big: 'b'.repeat(300 * 1024) }, 'oversized');
    const closeMs = await close(); // right away: most lines are still buffered
    t.ok(closeMs < 8000, `closed in ${Math.round(closeMs)} ms`);

    const lines = await messages(stream);
    t.equal(lines.length, count + 1, `${count + 1} lines written, ${lines.length} received`);
    const parsed = lines
      .slice(0, count)
      .map((line) => JSON.parse(line) as { seq: number; payload: unknown; msg: string });
    t.same(
      parsed.map((line) => line.seq),
      [...Array(count).keys()],
      'in order',
    );
    t.ok(
      parsed.every(
        (line) => line.msg === `line ${line.seq}` && JSON.stringify(line.payload) === JSON.stringify(payload),
      ),
      'JSON intact',
    );
    const cut = lines[count]!;
    t.ok(
      cut.startsWith('{"level":30,"time":"') && cut.endsWith(TRUNCATION_MARKER),
      'the oversized line arrives cut and marked',
    );
    t.ok(Buffer.byteLength(cut) + 26 <= 256 * 1024);
  });

  await t.test("a quiet logger's only line arrives within the flush interval", async (t) => {
    const { logger, stream, ready, close } = startLogger('todo-write', HOST);
    await ready; // the clock measures the transport, not the worker's start
    const started = Date.now();
    logger.info({ quiet: true }, 'alone');
    const lines = await waitFor(stream, (found) => found.length > 0, 5000);
    const tookMs = Date.now() - started;
    t.equal(lines.length, 1);
    t.match(JSON.parse(lines[0] ?? '{}'), { msg: 'alone', quiet: true, service: 'todo-write' });
    t.ok(tookMs < 1000 + 1000, `arrived after ${tookMs} ms, the logger still open (flush interval 1000 ms)`);
    await close();
  });

  await t.test('CloudWatch down: the logger goes on, memory stays bounded, delivery resumes', async (t) => {
    const cap = 100;
    const heapLimitMb = 64;
    const host = `${HOST}-outage`;
    const target = cloudWatchTransportTarget(
      { CLOUDWATCH_LOG_GROUP: GROUP, AWS_REGION: REGION },
      { service: 'todo-read', hostname: host, createLogGroup: false },
    )!;
    // The transport alone in its worker, under a heap limit far below what the outage logs:
    // keeping every line would end the worker with ERR_WORKER_OUT_OF_MEMORY.
    const transport = pino.transport({
      target: target.target,
      options: { ...target.options, maxBufferedEvents: cap, flushIntervalMs: 200, maxRetryDelayMs: 1000 },
      worker: { resourceLimits: { maxOldGenerationSizeMb: heapLimitMb } },
    });
    const workerErrors: Error[] = [];
    transport.on('error', (error: Error) => workerErrors.push(error));
    // thread-stream leaves the Worker's own 'error' (how an out-of-memory ending is told) unheard.
    (transport as unknown as { worker: Worker }).worker.on('error', (error) => workerErrors.push(error));
    const stdout = join(dir, 'outage-stdout.log');
    const logger = pino(
      loggerOptions('todo-read', host),
      pino.multistream([{ stream: transport }, { stream: pino.destination({ dest: stdout, sync: true }) }]),
    );
    const stream = target.options.logStreamName;
    logger.info('before');
    t.equal((await waitFor(stream, (found) => found.length === 1, 5000)).length, 1, 'delivered while up');

    await moto.stop();
    stderr.lines.length = 0;
    const written = 40_000;
    const line = 'o'.repeat(3000); // 40,000 lines of ≈ 3.1 KB: ≈ 120 MB
    const rssBefore = process.memoryUsage().rss;
    let rssPeak = rssBefore;
    const callMs: number[] = [];
    const writing = performance.now();
    for (let seq = 0; seq < written; seq++) {
      const started = performance.now();
      logger.info({ seq, line }, 'during outage');
      callMs.push(performance.now() - started);
      if (seq % 500 === 499) {
        await new Promise(setImmediate); // a service yields between requests
        rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
      }
    }
    const writingMs = performance.now() - writing;
    // Until the worker has taken every line, so the buffer holds the newest ones: lines still on
    // their way when CloudWatch comes back could be sent, or dropped, in any proportion.
    await new Promise<void>((resolve, reject) => transport.flush((error) => (error ? reject(error) : resolve())));
    await sleep(500);
    const loggedMb = (written * line.length) / 2 ** 20;
    const rssGrowthMb = (rssPeak - rssBefore) / 2 ** 20;
    callMs.sort((a, b) => a - b);
    const p99Ms = callMs[Math.floor(written * 0.99)]!;
    const slowestCallMs = callMs[written - 1]!;
    // The slowest calls are garbage collections of this burst's own strings; p99 tells blocking apart.
    t.ok(
      p99Ms < 5,
      `${written} pino calls in ${Math.round(writingMs)} ms: p99 ${p99Ms.toFixed(2)} ms, slowest ${slowestCallMs.toFixed(1)} ms`,
    );
    t.same(
      workerErrors,
      [],
      `the worker kept within its ${heapLimitMb} MB heap while ${loggedMb.toFixed(0)} MB were logged`,
    );
    t.equal((await linesOf(stdout)).length, written + 1, 'the other destination (stdout) got every line');
    t.equal(
      stderr.lines.filter((l) => l.includes('cannot send logs to CloudWatch Logs')).length,
      1,
      'the outage is reported once',
    );

    await moto.start(); // same port, empty
    await createGroup(GROUP); // as Pulumi's would be; the transport re-creates its stream
    logger.info('after');
    // The drop notice goes out after the first delivered batch, so "after" may arrive before it.
    const recovered = (found: string[]) =>
      found.some((l) => l.includes('"msg":"after"')) && found.some((l) => l.includes('"dropped_events"'));
    const lines = await waitFor(stream, recovered, 15_000);
    const received = lines.map((l) => JSON.parse(l) as { seq?: number; msg: string; dropped_events?: number });
    const outage = received.filter((l) => l.msg === 'during outage').map((l) => l.seq!);
    const dropped = received.reduce((sum, l) => sum + (l.dropped_events ?? 0), 0);
    t.ok(
      received.some((l) => l.msg === 'after'),
      'lines logged after recovery arrive',
    );
    t.ok(outage.length > 0 && outage.length <= cap, `${outage.length} outage lines kept (cap ${cap})`);
    t.same(
      outage,
      [...Array(outage.length).keys()].map((i) => written - outage.length + i),
      'the newest, in order: the oldest were dropped',
    );
    t.equal(dropped + outage.length, written, `the drop notice in the stream counts ${dropped} dropped`);
    t.equal(
      stderr.lines.filter((l) => l.includes('log events were dropped, the oldest first')).length,
      1,
      'the drops are reported once',
    );
    t.comment(
      `outage: ${written} lines (${loggedMb.toFixed(0)} MB) logged, ${outage.length} delivered after recovery, ${dropped} dropped; ` +
        `worker heap limit ${heapLimitMb} MB; process RSS +${rssGrowthMb.toFixed(0)} MB at peak; ` +
        `pino calls p99 ${p99Ms.toFixed(2)} ms, slowest ${slowestCallMs.toFixed(1)} ms`,
    );
    await closeTransport(transport);
  });

  await t.test(
    'a missing log group is never created unless asked: the failure names the fix, delivery starts once it exists',
    async (t) => {
      const group = 'taskoverflow-not-yet-deployed';
      stderr.lines.length = 0;
      const { logger, stream, close } = startLogger('todo-read', `${HOST}-no-group`, {
        logGroupName: group,
        maxRetryDelayMs: 500,
      });
      logger.info('waiting for the group');
      const reported = await waitUntil(
        'the missing log group reported',
        () => stderr.lines.find((line) => line.includes(LOG_GROUP_MISSING_CODE)),
        10_000,
        50,
      );
      t.ok(reported, `the failure is reported with its code, ${LOG_GROUP_MISSING_CODE}`);
      t.match(reported, 'CLOUDWATCH_CREATE_LOG_GROUP=true', 'and names the fix');
      t.notOk(await groupExists(group), 'the group was not created');

      await createGroup(group); // pulumi up, say
      const lines = await waitFor(stream, (found) => found.length > 0, 10_000, group);
      t.match(
        lines.map((line) => JSON.parse(line) as unknown),
        [{ msg: 'waiting for the group' }],
        'the buffered line arrives once the group exists',
      );
      await close();
    },
  );

  await t.test('CLOUDWATCH_CREATE_LOG_GROUP=true: the transport creates the missing group', async (t) => {
    const group = 'taskoverflow-lab';
    const { logger, stream, close } = startLogger('todo-read', `${HOST}-create`, {
      logGroupName: group,
      createLogGroup: true,
    });
    logger.info('first line');
    const lines = await waitFor(stream, (found) => found.length > 0, 10_000, group);
    t.equal(lines.length, 1);
    t.ok(await groupExists(group), 'the group was created');
    await close();
  });

  await t.test('a logger started while CloudWatch is down closes within the close timeout', async (t) => {
    await moto.stop();
    stderr.lines.length = 0;
    const { logger, stdoutLines, close } = startLogger('todo-write', `${HOST}-down`);
    for (let seq = 0; seq < 100; seq++) logger.info({ seq }, 'nobody listens');
    await sleep(1500); // past a tick: the first attempt fails
    const closeMs = await close();
    t.ok(closeMs < 3000 + 500, `closed in ${Math.round(closeMs)} ms (close timeout 3000 ms)`);
    t.equal((await stdoutLines()).length, 100);
    t.ok(
      stderr.lines.some((l) => l.includes('closing: 100 log events were not delivered')),
      'the loss is reported',
    );
  });
});

function loggerOptions(service: string, host: string): pino.LoggerOptions {
  return { base: { service, hostname: host }, timestamp: pino.stdTimeFunctions.isoTime };
}

async function linesOf(file: string): Promise<string[]> {
  return (await readFile(file, 'utf8')).split('\n').filter(Boolean);
}

/** Ends a transport as a stopping service does; resolves with the milliseconds it took. */
async function closeTransport(transport: ReturnType<typeof pino.transport>): Promise<number> {
  const started = performance.now();
  const closed = once(transport, 'close');
  // pino unrefs its worker; without a ref the test process could exit before 'close'.
  (transport as unknown as { ref(): void }).ref();
  transport.end();
  await closed;
  return performance.now() - started;
}

/** Collects what reaches this process's stderr, the worker threads' reports included. */
function captureStderr(): { lines: string[]; restore: () => void } {
  const lines: string[] = [];
  const write = process.stderr.write.bind(process.stderr);
  // Typed as write's last overload; the arguments go through as they came, whichever it was.
  process.stderr.write = ((...args: Parameters<typeof process.stderr.write>) => {
    lines.push(...args[0].toString().split('\n').filter(Boolean));
    return write(...args);
  }) as typeof process.stderr.write;
  return { lines, restore: () => void (process.stderr.write = write) };
}
