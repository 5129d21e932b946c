import { LogFiles } from './log-files.js';
import type { ShutdownSteps } from './shutdown-steps.js';
import { StackConsole, type ConsoleStream } from './stack-console.js';

/** Where a running stack's output goes: its log files and, unless quiet, the console. */
export interface StackOutput {
  /** A line about the start-up, e.g. `todo-read-1: http://127.0.0.1:41234 ✓`. */
  progress(line: string): void;
  /** How an instance logs: the environment for its LOG_FILE and LOG_FORMAT. */
  logEnv(instance: string): Record<string, string>;
  /**
   * A line an instance (a service, the edge) printed: its warnings, errors and `stats` lines,
   * or anything it wrote outside its logger (a crash). In every-line mode, every log line,
   * which is filed here.
   */
  printed(instance: string, line: string): void;
  /** The instance has stopped. */
  stopped(instance: string): void;
}

export interface StackOutputOptions {
  /** The directory of the instances' log files (LogFiles). */
  logDir: string;
  /** Print nothing on the console. */
  quiet: boolean;
  /** Show every line of every instance instead of warnings, errors and a summary (StackConsole). */
  everyLine: boolean;
  /** Where the console text goes. */
  console: ConsoleStream;
}

/**
 * The log files in logDir, and unless quiet the console: progress, and of the instances' lines
 * what a person at a terminal needs (or, with everyLine, all of them). Both close as the last
 * steps of `shutdown`.
 */
export function stackOutput(options: StackOutputOptions, shutdown: ShutdownSteps): StackOutput {
  const { everyLine } = options;
  const logFiles = new LogFiles(options.logDir);
  shutdown.add(() => logFiles.close());
  const stackConsole = options.quiet ? undefined : new StackConsole(options.console, everyLine);
  if (stackConsole) shutdown.add(async () => stackConsole.close());
  return {
    progress: (line) => stackConsole?.progress(line),
    logEnv: (instance) => ({ LOG_FORMAT: 'json', ...(!everyLine && { LOG_FILE: logFiles.pathOf(instance) }) }),
    printed: (instance, line) => {
      if (everyLine) logFiles.write(instance, line);
      stackConsole?.instanceLine(instance, line);
    },
    stopped: (instance) => stackConsole?.instanceStopped(instance),
  };
}

/** How long a start-up step took, for its progress line: `(1.2 s)`. */
export function since(startedAt: number): string {
  return `(${((Date.now() - startedAt) / 1000).toFixed(1)} s)`;
}
