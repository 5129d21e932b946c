/**
 * pino transport shipping log lines to one CloudWatch Logs stream. pino runs it in a worker
 * thread (`pino.transport({ target, options })`), so batching and network calls never touch
 * the service's event loop. Build the target with cloudWatchTransportTarget() (config.ts).
 *
 * The endpoint is the AWS SDK's: tests point it at an emulator through the SDK's own
 * AWS_ENDPOINT_URL_CLOUDWATCH_LOGS variable; credentials come from the SDK's default chain.
 */
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import build from 'pino-abstract-transport';
import { LogBuffer } from './log-buffer.js';
import { toLogEvent, type LogEvent } from './log-event.js';
import { LogShipper } from './shipper.js';

export interface CloudWatchTransportOptions {
  logGroupName: string;
  /** e.g. `todo-read/<hostname>`: one stream per service and host. */
  logStreamName: string;
  region: string;
  /** Create the log group when it is missing (CLOUDWATCH_CREATE_LOG_GROUP); else a missing group is an error. Default false. */
  createLogGroup?: boolean;
  /** The longest a line waits before it is sent, in ms, so a quiet service's lines still arrive. Default 1000. */
  flushIntervalMs?: number;
  /** Undelivered events kept while CloudWatch Logs is unreachable; the oldest go first. Default 10,000. */
  maxBufferedEvents?: number;
  /** The same cap in bytes (UTF-8 plus 26 per event, as PutLogEvents counts). Default 8 MiB. */
  maxBufferedBytes?: number;
  /** Ceiling of the backoff between attempts while CloudWatch Logs is unreachable, in ms. Default 10,000. */
  maxRetryDelayMs?: number;
  /**
   * The most the worker spends delivering what is left when the logger closes, in ms. Default
   * 3000. Keep it well under 10 s: pino's main thread waits for it, blocked, and gives up at 10 s.
   */
  closeTimeoutMs?: number;
}

const REQUEST_TIMEOUT_MS = 10_000;

export default async function cloudWatchTransport(options: CloudWatchTransportOptions) {
  const settings = resolveSettings(options);
  const client = new CloudWatchLogsClient({
    region: settings.region,
    // One attempt per call: the shipper owns retrying, with a backoff that suits a log buffer
    // (the SDK's retries would hold the one batch in flight while new lines pile up).
    maxAttempts: 1,
    // A request that hangs (a black-holed network) must not hold that batch forever either;
    // without throwOnRequestTimeout the SDK only warns.
    requestHandler: { requestTimeout: REQUEST_TIMEOUT_MS, throwOnRequestTimeout: true },
  });
  const buffer = new LogBuffer({ maxEvents: settings.maxBufferedEvents, maxBytes: settings.maxBufferedBytes });
  const shipper = new LogShipper(client, buffer, settings);

  return build(
    async (source) => {
      // Only buffers, never waits for CloudWatch: taking lines as fast as pino sends them keeps
      // pino's own queue, in the service's thread and unbounded, from growing when CloudWatch is slow.
      for await (const event of source) shipper.push(event as LogEvent);
    },
    {
      parseLine: (line) => toLogEvent(line, Date.now()),
      metadata: false,
      close: () => shipper.close(),
    },
  );
}

function resolveSettings(options: CloudWatchTransportOptions): Required<CloudWatchTransportOptions> {
  for (const name of ['logGroupName', 'logStreamName', 'region'] as const) {
    if (!options[name])
      throw new Error(
        `CloudWatch transport: option ${name} is required (build the options with cloudWatchTransportTarget)`,
      );
  }
  return {
    ...options,
    createLogGroup: options.createLogGroup ?? false,
    flushIntervalMs: options.flushIntervalMs ?? 1000,
    maxBufferedEvents: options.maxBufferedEvents ?? 10_000,
    maxBufferedBytes: options.maxBufferedBytes ?? 8 * 1024 * 1024,
    maxRetryDelayMs: options.maxRetryDelayMs ?? 10_000,
    closeTimeoutMs: options.closeTimeoutMs ?? 3000,
  };
}
