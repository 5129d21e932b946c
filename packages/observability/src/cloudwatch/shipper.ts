import {
  CreateLogGroupCommand,
  CreateLogStreamCommand,
  PutLogEventsCommand,
  type CloudWatchLogsClient,
  type PutLogEventsCommandInput,
} from '@aws-sdk/client-cloudwatch-logs';
import { LOG_GROUP_MISSING_CODE, LogGroupMissingError } from '../errors.js';
import type { LogBuffer } from './log-buffer.js';
import { toLogEvent, type LogEvent } from './log-event.js';

export interface ShipperSettings {
  logGroupName: string;
  logStreamName: string;
  /**
   * Create the group when it is missing. Off unless asked for: a group that Pulumi manages
   * must exist before anything logs to it, and one created here would make `pulumi up` fail.
   */
  createLogGroup: boolean;
  /** The longest a line waits in the buffer while CloudWatch Logs is reachable. */
  flushIntervalMs: number;
  /** Ceiling of the exponential backoff between attempts while it is not. */
  maxRetryDelayMs: number;
  /** The most close() spends delivering what is left. */
  closeTimeoutMs: number;
  /** The buffer's caps, for the messages that name them. */
  maxBufferedEvents: number;
  maxBufferedBytes: number;
}

/** Attempts happen on ticks, so in effect a delay rounds up to the flush interval. */
const FIRST_RETRY_DELAY_MS = 250;

/**
 * Sends buffered events to one log stream: on every tick, and at once when a full
 * PutLogEvents call is waiting. One call at a time, so batches arrive in order. Creates the
 * stream when CloudWatch says it is missing, and its group only with createLogGroup: else a
 * missing group is a LogGroupMissingError, retried like any failure. Every failure is absorbed:
 * the batch goes back to the buffer and is retried with backoff, while the buffer's cap
 * bounds memory. Problems are reported on stderr, once per outage.
 */
export class LogShipper {
  readonly #client: CloudWatchLogsClient;
  readonly #buffer: LogBuffer;
  readonly #settings: ShipperSettings;
  readonly #report: (message: string) => void;
  readonly #ticker: NodeJS.Timeout;
  /** Aborted when close() runs out of time, ending any request still under way. */
  readonly #closing = new AbortController();
  readonly #requestOptions = { abortSignal: this.#closing.signal };
  #closed = false;
  #sending: Promise<void> | undefined;
  #failedAttempts = 0;
  #retryAt = 0;

  constructor(client: CloudWatchLogsClient, buffer: LogBuffer, settings: ShipperSettings, report = reportOnStderr) {
    this.#client = client;
    this.#buffer = buffer;
    this.#settings = settings;
    this.#report = report;
    // unref: the ticker alone must not keep a thread alive; pino's worker has its own keep-alive.
    this.#ticker = setInterval(() => this.#flush(), settings.flushIntervalMs).unref();
  }

  push(event: LogEvent): void {
    this.#buffer.push(event);
    if (this.#buffer.hasFullBatch) this.#flush();
  }

  /**
   * Delivers what it can within closeTimeoutMs, without retrying: a CloudWatch that is down
   * when the service stops gets one attempt. pino's main thread waits (blocked) for this on
   * exit and gives up after 10 s, so the timeout must stay well below that.
   */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#ticker);
    const deadline = setTimeout(() => this.#closing.abort(), this.#settings.closeTimeoutMs);
    try {
      await this.#sending;
      if (!this.#closing.signal.aborted) await this.#drainSafely();
    } finally {
      clearTimeout(deadline);
      this.#client.destroy();
    }
    const lost = this.#buffer.queued + this.#buffer.takeDropped();
    if (lost > 0) this.#report(`closing: ${lost} log events were not delivered to CloudWatch Logs`);
  }

  #flush(): void {
    if (this.#sending || this.#closed || Date.now() < this.#retryAt) return;
    this.#sending = this.#drainSafely().finally(() => (this.#sending = undefined));
  }

  /**
   * #drain absorbs every CloudWatch error; anything else is a bug, which must not crash the
   * worker: pino would pass the crash on to the service as an 'error' event.
   */
  async #drainSafely(): Promise<void> {
    try {
      await this.#drain();
    } catch (error) {
      this.#report(`unexpected error, please report it: ${describe(error)}`);
    }
  }

  /** Sends batch after batch until the buffer is empty or a call fails. */
  async #drain(): Promise<void> {
    while (this.#buffer.queued > 0) {
      const batch = this.#buffer.takeBatch();
      try {
        await this.#put(batch);
        this.#buffer.release();
        this.#delivered();
      } catch (error) {
        if (errorName(error) === 'InvalidParameterException') {
          // CloudWatch would refuse this batch forever; holding on to it would block every later line.
          this.#buffer.release();
          this.#report(
            `CloudWatch Logs refused a batch of ${batch.length} events, which are dropped: ${describe(error)}`,
          );
          continue;
        }
        this.#buffer.requeue();
        this.#failed(error);
        return;
      }
    }
  }

  async #put(logEvents: LogEvent[]): Promise<void> {
    const { logGroupName, logStreamName } = this.#settings;
    const input: PutLogEventsCommandInput = {
      logGroupName,
      logStreamName,
      logEvents: logEvents.map(({ timestamp, message }) => ({ timestamp, message })),
    };
    try {
      await this.#client.send(new PutLogEventsCommand(input), this.#requestOptions);
    } catch (error) {
      // Missing at start, or deleted since (a retention cleanup, a restarted emulator).
      if (errorName(error) !== 'ResourceNotFoundException') throw error;
      await this.#createStream();
      await this.#client.send(new PutLogEventsCommand(input), this.#requestOptions);
    }
  }

  /** The stream first: it usually is the only thing missing, and needs no CreateLogGroup permission. */
  async #createStream(): Promise<void> {
    const { logGroupName, logStreamName } = this.#settings;
    const createStream = () =>
      this.#client.send(new CreateLogStreamCommand({ logGroupName, logStreamName }), this.#requestOptions);
    try {
      await ignoreAlreadyExists(createStream());
    } catch (error) {
      if (errorName(error) !== 'ResourceNotFoundException') throw error;
      if (!this.#settings.createLogGroup) throw new LogGroupMissingError(logGroupName, logGroupName);
      await ignoreAlreadyExists(this.#client.send(new CreateLogGroupCommand({ logGroupName }), this.#requestOptions));
      await ignoreAlreadyExists(createStream());
    }
  }

  #delivered(): void {
    if (this.#failedAttempts > 0) {
      this.#report(`CloudWatch Logs is reachable again after ${this.#failedAttempts} failed attempts`);
      this.#failedAttempts = 0;
      this.#retryAt = 0;
    }
    const dropped = this.#buffer.takeDropped();
    if (dropped > 0) {
      const notice = droppedEventsNotice(dropped, this.#settings);
      // Into the stream itself, where the gap will be noticed.
      this.#buffer.push(toLogEvent(JSON.stringify(notice), Date.now())!);
      this.#report(notice.msg);
    }
  }

  #failed(error: unknown): void {
    this.#failedAttempts++;
    const { logGroupName, logStreamName, maxRetryDelayMs, maxBufferedEvents } = this.#settings;
    // Exponential backoff with jitter, so replicas that lost CloudWatch together don't retry in step.
    const delay = Math.min(maxRetryDelayMs, FIRST_RETRY_DELAY_MS * 2 ** (this.#failedAttempts - 1));
    this.#retryAt = Date.now() + delay * (0.5 + Math.random() / 2);
    if (this.#failedAttempts === 1) {
      this.#report(
        `cannot send logs to CloudWatch Logs (group "${logGroupName}", stream "${logStreamName}"): ${describe(error)}. ` +
          `Retrying with backoff up to ${maxRetryDelayMs} ms; meanwhile at most ${maxBufferedEvents} events are kept, the oldest dropped first.` +
          // The missing group's message says what to do; other failures get the usual suspects.
          ((error as { code?: unknown }).code === LOG_GROUP_MISSING_CODE
            ? ''
            : ' Check the network, the AWS credentials and region, and the logs:CreateLogStream / logs:PutLogEvents permissions.'),
      );
    }
  }
}

/** A pino-shaped warning line (see docs/design.md, Observability) saying how many lines are missing before it. */
function droppedEventsNotice(dropped: number, { maxBufferedEvents, maxBufferedBytes }: ShipperSettings) {
  return {
    level: 'warn',
    time: new Date().toISOString(),
    msg:
      `${dropped} log events were dropped, the oldest first: more were waiting for CloudWatch Logs ` +
      `than the buffer holds (${maxBufferedEvents} events, ${maxBufferedBytes} bytes)`,
    dropped_events: dropped,
  };
}

async function ignoreAlreadyExists(request: Promise<unknown>): Promise<void> {
  try {
    await request;
  } catch (error) {
    if (errorName(error) !== 'ResourceAlreadyExistsException') throw error;
  }
}

function errorName(error: unknown): string | undefined {
  return error instanceof Error ? error.name : undefined;
}

/** Network errors carry their cause in `code` (ECONNREFUSED…), and some have an empty message. */
function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as { code?: unknown }).code;
  return [error.name, typeof code === 'string' && code !== error.name ? code : '', error.message]
    .filter(Boolean)
    .join(': ');
}

function reportOnStderr(message: string): void {
  process.stderr.write(`[cloudwatch-transport] ${message}\n`);
}
