import pino, { type DestinationStream, type Logger, type TransportTargetOptions } from 'pino';

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
  /** Extra pino transport targets, e.g. CloudWatch Logs. */
  targets?: TransportTargetOptions[];
  /** Write JSON lines here instead of stdout (an in-process component, a test). */
  destination?: DestinationStream;
}

/**
 * pino options of the log schema in DESIGN.md: ISO `time`, `level` as a label, `service`,
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
 * A logger writing JSON lines to stdout — synchronously, so nothing is lost when a process
 * dies — or, when pretty output or extra targets are asked for, through pino transports
 * (worker threads, so a slow target never blocks the service).
 */
export function createLogger(settings: LoggerSettings): Logger {
  const options = loggerOptions(settings);
  if (settings.destination) return pino(options, settings.destination);
  const console: TransportTargetOptions =
    settings.format === 'pretty'
      ? { target: 'pino-pretty', options: { destination: 1, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid' } }
      : { target: 'pino/file', options: { destination: 1 } };
  const extra = settings.targets ?? [];
  if (settings.format !== 'pretty' && extra.length === 0) return pino(options, pino.destination({ dest: 1, sync: true }));
  return pino(options, pino.transport({ targets: [console, ...extra].map((target) => ({ level: settings.level, ...target })) }));
}
