/**
 * The services' log lines of a run's time window, read from their CloudWatch Logs group with
 * FilterLogEvents, page by page and bounded, and saved as one `<instance>.log` file per stream:
 * the same files the local stack writes, so the report, `pnpm trace <id>`, `--slowest` and
 * `--endpoints` read them as they read the local ones.
 */
import { FilterLogEventsCommand, type CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** Where a stream's lines come from, by its name. */
export interface StreamSource {
  service: string;
  /** Names the file: `todo-read-<task id>`, or the transport's `todo-read-1`. */
  instance: string;
}

/**
 * The service and instance a stream holds. Two shapes reach the group: the awslogs driver's
 * `<prefix>/<container>/<task id>` (infra/src/todo-service.ts: prefix and container are the
 * service; todo-write's migrations run in a `migrate` container), and the project's own
 * transport's `<service>/<hostname>` (packages/observability, CLOUDWATCH_LOG_GROUP). Anything
 * else keeps its name, its slashes made dashes.
 */
export function streamSource(streamName: string): StreamSource {
  const parts = streamName.split('/');
  const [first = streamName, second, third] = parts;
  let instance: string;
  if (parts.length === 3 && second && third)
    instance = second === first ? `${first}-${third}` : `${first}-${second}-${third}`;
  else if (parts.length === 2 && second) instance = second.startsWith(first) ? second : `${first}-${second}`;
  else instance = parts.join('-');
  return { service: first, instance: instance.replace(/[^\w.-]/g, '_') };
}

export interface LogWindow {
  logGroupName: string;
  startMs: number;
  endMs: number;
  /** Stop after this many events. */
  maxEvents: number;
}

export interface LogWindowRead {
  /** Each stream's lines, by stream name, in time order. */
  streams: Map<string, Array<{ timestamp: number; message: string }>>;
  events: number;
  pages: number;
  /** Set when the read stopped at maxEvents or MAX_PAGES: the time of the last event read. */
  stoppedAtMs: number | undefined;
  /** Why it stopped early, said aloud in the report. */
  stoppedBecause: string | undefined;
}

/** FilterLogEvents' largest page. */
const PAGE_EVENTS = 10_000;
/**
 * Pages at most per read. FilterLogEvents may answer pages with no events (it searches the
 * group in pieces), so events alone do not bound the calls.
 */
export const MAX_PAGES = 2_000;

export async function readLogWindow(client: CloudWatchLogsClient, window: LogWindow): Promise<LogWindowRead> {
  const read: LogWindowRead = {
    streams: new Map(),
    events: 0,
    pages: 0,
    stoppedAtMs: undefined,
    stoppedBecause: undefined,
  };
  let nextToken: string | undefined;
  do {
    const page = await client.send(
      new FilterLogEventsCommand({
        logGroupName: window.logGroupName,
        startTime: window.startMs,
        endTime: window.endMs,
        limit: Math.min(PAGE_EVENTS, window.maxEvents - read.events),
        nextToken,
      }),
    );
    read.pages += 1;
    for (const event of page.events ?? []) {
      if (event.logStreamName === undefined || event.message === undefined || event.timestamp === undefined) continue;
      let lines = read.streams.get(event.logStreamName);
      if (!lines) read.streams.set(event.logStreamName, (lines = []));
      lines.push({ timestamp: event.timestamp, message: event.message.replace(/\n$/, '') });
      read.events += 1;
      read.stoppedAtMs = Math.max(read.stoppedAtMs ?? 0, event.timestamp);
    }
    nextToken = page.nextToken;
    if (nextToken && read.events >= window.maxEvents)
      read.stoppedBecause = `the cap of ${window.maxEvents.toLocaleString('en-US')} events`;
    else if (nextToken && read.pages >= MAX_PAGES)
      read.stoppedBecause = `the cap of ${MAX_PAGES.toLocaleString('en-US')} pages`;
  } while (nextToken && !read.stoppedBecause);
  if (!read.stoppedBecause) read.stoppedAtMs = undefined;
  for (const lines of read.streams.values()) lines.sort((a, b) => a.timestamp - b.timestamp);
  return read;
}

/** A stream's lines as its instance's log file in `dir`, which is emptied first. */
export async function writeStreamFiles(
  dir: string,
  read: LogWindowRead,
): Promise<Array<{ stream: string; file: string; events: number }>> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const written: Array<{ stream: string; file: string; events: number }> = [];
  const byFile = new Map<string, string[]>();
  for (const [stream, lines] of [...read.streams].sort(([a], [b]) => a.localeCompare(b))) {
    const file = `${streamSource(stream).instance}.log`;
    const messages = byFile.get(file) ?? [];
    messages.push(...lines.map((line) => line.message));
    byFile.set(file, messages);
    written.push({ stream, file, events: lines.length });
  }
  for (const [file, messages] of byFile) await writeFile(join(dir, file), `${messages.join('\n')}\n`);
  return written;
}
