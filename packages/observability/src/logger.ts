import { mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import pino, { type DestinationStream, type Logger, type TransportTargetOptions } from 'pino';
import { STATS_MESSAGE } from './log-schema.js';

export const LOG_FORMATS = ['json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export interface LoggerSettings {
  /** `todo-read`, `todo-write`, `edge`… — the `service` field of every line. */
  service: string;
  /** The `hostname` field: the replica's name (todo-read-2) or the machine's. */
  hostname: string;
  level: string;
  /** JSON lines (default, for machines) or pino-pretty (for a human at a terminal). */
  format?: LogFormat;
  /**
   * LOG_FILE: every line goes to this file (created with its directory), written
   * asynchronously; stdout then carries only warnings, errors and `stats` lines. Unset: every
   * line goes to stdout.
   */
  file?: string | undefined;
  /** Extra pino transport targets, e.g. CloudWatch Logs. */
  targets?: TransportTargetOptions[];
  /** Write JSON lines here instead of stdout (an in-process component, a test). */
  destination?: DestinationStream;
}

/**
 * pino options of the log schema in docs/design.md (Observability): ISO `time`, `level` as a label, `service`,
 * `hostname`, `msg`.
 */
export function loggerOptions(settings: Pick<LoggerSettings, 'service' | 'hostname' | 'level'>): pino.LoggerOptions {
  return {
    level: settings.level,
    base: { service: settings.service, hostname: settings.hostname },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  };
}

/**
 * A logger writing JSON lines to stdout — synchronously, LOG_BATCH_MS's lines in one write
 * (BatchedLines) — or, with LOG_FILE, to that file in the same batches through pino's asynchronous
 * destination, with what a person at a console needs (warnings, errors, `stats`) also on stdout. Pretty output or
 * extra targets go through pino transports (worker threads, so a slow target never blocks the
 * service). Either way the lines still buffered are written on `logger.flush()` and on exit.
 */
export function createLogger(settings: LoggerSettings): Logger {
  const options = loggerOptions(settings);
  if (settings.destination) return pino(options, settings.destination);
  const extra = settings.targets ?? [];
  if (settings.format !== 'pretty' && extra.length === 0) {
    const stdout = pino.destination({ dest: 1, sync: true });
    if (settings.file === undefined) return pino(options, new BatchedLines(stdout));
    // minLength 1: sonic-boom's flush(cb) waits for the writes under way only when minLength
    // is above 0; every batch is longer, so each is still written at once.
    const file = pino.destination({ dest: openLogFile(settings.file), sync: false, minLength: 1 });
    return pino(options, new ConsoleAndFile(new BatchedLines(file), stdout));
  }
  const console: TransportTargetOptions =
    settings.format === 'pretty'
      ? { target: 'pino-pretty', options: { destination: 1, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid' } }
      : { target: 'pino/file', options: { destination: 1 } };
  const file: TransportTargetOptions[] =
    settings.file === undefined ? [] : [{ target: 'pino/file', options: { destination: settings.file, mkdir: true } }];
  return pino(
    options,
    pino.transport({ targets: [console, ...file, ...extra].map((target) => ({ level: settings.level, ...target })) }),
  );
}

/**
 * Opens (appends to) the log file before the first line, creating its directory: a file
 * opened asynchronously would lose the lines of a process that exits first, and a path that
 * cannot be written fails the start-up instead of every line.
 */
function openLogFile(path: string): number {
  mkdirSync(dirname(path), { recursive: true });
  return openSync(path, 'a');
}

type SonicBoom = ReturnType<typeof pino.destination>;

/**
 * How long a line may wait for the lines logged after it, to be written with them. At a
 * replica's usual rates most event-loop turns serve one request, so one write per turn was
 * still one per request: a wake-up of the reader (a pipe) or of a libuv thread and then of the
 * event loop (an asynchronous file write), ≈ 65 µs of a cached read's CPU at 550 reads/s
 * (docs/results/2026-12-06-log-batching.md).
 */
export const LOG_BATCH_MS = 50;
/** A batch is written at once when it reaches this size, whatever is still to come. */
const LOG_BATCH_MAX_CHARS = 16 * 1024;
/** Streams holding lines not yet written: written out on exit, when no timer runs any more. */
const unwrittenBatches = new Set<BatchedLines>();
let exiting = false;
process.on('exit', () => {
  exiting = true;
  for (const stream of unwrittenBatches) stream.writeBatch();
});

/**
 * The lines logged within LOG_BATCH_MS, written in one write instead of one each (with one
 * canonical line per request, a write per line was the largest single cost of a cached read:
 * docs/results/2026-12-01-read-path.md). Lines still waiting are written by `flush`, and by the
 * exit handler; only a process killed outright (SIGKILL, OOM) loses its last LOG_BATCH_MS of lines.
 */
class BatchedLines implements DestinationStream {
  private batch = '';
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly target: SonicBoom) {}

  write(line: string): void {
    if (exiting) {
      this.target.write(line);
      return;
    }
    if (this.batch === '') {
      unwrittenBatches.add(this);
      this.timer = setTimeout(this.writeBatch, LOG_BATCH_MS);
      // Lines waiting keep no process alive: the exit handler writes them.
      this.timer.unref();
    }
    this.batch += line;
    if (this.batch.length >= LOG_BATCH_MAX_CHARS) this.writeBatch();
  }

  readonly writeBatch = (): void => {
    if (this.batch === '') return;
    clearTimeout(this.timer);
    const batch = this.batch;
    this.batch = '';
    unwrittenBatches.delete(this);
    this.target.write(batch);
  };

  /** pino's `logger.flush(cb)`: the lines waiting written out, and the target's own writes done. */
  flush(done: (error?: Error) => void): void {
    this.writeBatch();
    this.target.flush(done);
  }

  flushSync(): void {
    this.writeBatch();
    this.target.flushSync();
  }
}
const WARN_LEVEL = pino.levels.values.warn!;

/**
 * Every line to the file; warnings and worse, and the `stats` lines, to the console too. pino
 * tells a stream that asks for it (needsMetadata) the level and message of the line it is
 * about to write, so routing costs two comparisons, not a parse.
 */
class ConsoleAndFile implements DestinationStream {
  readonly [pino.symbols.needsMetadataGsym] = true;
  lastLevel = 0;
  lastMsg: string | undefined;

  constructor(
    private readonly file: BatchedLines,
    private readonly console: SonicBoom,
  ) {}

  write(line: string): void {
    this.file.write(line);
    if (this.lastLevel >= WARN_LEVEL || this.lastMsg === STATS_MESSAGE) this.console.write(line);
  }

  /** pino's `logger.flush(cb)`: the file's buffered lines written out (the console is synchronous). */
  flush(done: (error?: Error) => void): void {
    this.file.flush(done);
  }

  flushSync(): void {
    this.file.flushSync();
  }
}
