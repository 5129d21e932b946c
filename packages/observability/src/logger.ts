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
 * A logger writing JSON lines to stdout — synchronously, a turn's lines in one write
 * (TurnBatchedStream) — or, with LOG_FILE, to that file through pino's asynchronous
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
    if (settings.file === undefined) return pino(options, new TurnBatchedStream(stdout));
    // minLength 1: sonic-boom's flush(cb) waits for the writes under way only when minLength
    // is above 0; every line is longer, so each is still written at once.
    const file = pino.destination({ dest: openLogFile(settings.file), sync: false, minLength: 1 });
    return pino(options, new ConsoleAndFile(file, stdout));
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

/** A turn's lines are written at once when they reach this size, whatever the turn still logs. */
const TURN_BATCH_MAX_CHARS = 64 * 1024;
/** Streams holding lines of the current turn: written out on exit, when no further turn runs. */
const unwrittenBatches = new Set<TurnBatchedStream>();
let exiting = false;
process.on('exit', () => {
  exiting = true;
  for (const stream of unwrittenBatches) stream.writeBatch();
});

/**
 * The lines logged in one event-loop turn, written synchronously in one write when the turn
 * ends (setImmediate) instead of one write each: with one canonical line per request, on a
 * busy machine a write(2) per line (the pipe reader's wake-up, and sleeps on a full pipe)
 * was the largest single cost of a cached read (docs/results/2026-12-01-read-path.md). A line still reaches
 * stdout before the process waits for I/O again, and lines of the turn in which the process
 * exits are written by the exit handler; only a process killed outright (SIGKILL, OOM) loses
 * its current turn's lines.
 */
class TurnBatchedStream implements DestinationStream {
  private batch = '';

  constructor(private readonly target: SonicBoom) {}

  write(line: string): void {
    if (exiting) {
      this.target.write(line);
      return;
    }
    if (this.batch === '') {
      unwrittenBatches.add(this);
      setImmediate(this.writeBatch);
    }
    this.batch += line;
    if (this.batch.length >= TURN_BATCH_MAX_CHARS) this.writeBatch();
  }

  readonly writeBatch = (): void => {
    if (this.batch === '') return;
    const batch = this.batch;
    this.batch = '';
    unwrittenBatches.delete(this);
    this.target.write(batch);
  };

  /** pino's `logger.flush(cb)`: the target is synchronous, so written means done. */
  flush(done: (error?: Error) => void): void {
    this.writeBatch();
    done();
  }

  flushSync(): void {
    this.writeBatch();
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
    private readonly file: SonicBoom,
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
