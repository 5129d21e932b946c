/** What pnpm edge-cost and pnpm edge-overload share: --help, bad usage (exit 2, as in the other CLIs), failures (exit 1), Ctrl-C. */
import { Interruption } from '@taskoverflow/config';
import { EDGE_BENCH_USAGE_CODE, EdgeBenchUsageError } from '../errors.js';

export const HOST = '127.0.0.1';

/**
 * Parses the command line with `parse` (which throws an EdgeBenchUsageError on bad usage, or
 * returns 'help') and runs the tool as `pnpm <script>`; resolves with the process's exit code.
 * Ctrl-C or SIGTERM aborts `signal`: the tool stops what it started and rejects.
 */
export async function runCommand<Options>(
  script: string,
  usage: string,
  parse: (argv: string[]) => Options | 'help',
  run: (options: Options, signal: AbortSignal) => Promise<void>,
): Promise<number> {
  let options: Options | 'help';
  try {
    options = parse(process.argv.slice(2));
  } catch (error) {
    if ((error as { code?: unknown } | undefined)?.code !== EDGE_BENCH_USAGE_CODE) throw error;
    console.error(`${(error as Error).message}\n\n${usage}`);
    return 2;
  }
  if (options === 'help') {
    console.log(usage);
    return 0;
  }
  const interruption = new Interruption('stopping every process it started… (again to exit at once)');
  try {
    await run(options, interruption.signal);
    return 0;
  } catch (error) {
    const interrupted = interruption.exitCode(script);
    if (interrupted !== undefined) return interrupted;
    console.error(`\npnpm ${script} failed: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
}

/** `text` as a whole number from `min` to `max`, else an EdgeBenchUsageError naming the option. */
export function wholeNumber(option: string, text: string, min: number, max: number): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new EdgeBenchUsageError(`${option} must be a whole number from ${min} to ${max} (got "${text}")`);
  }
  return value;
}

/** node:util's parseArgs errors (an unknown option, a missing value) as an EdgeBenchUsageError. */
export function asUsageError<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    throw new EdgeBenchUsageError((error as Error).message);
  }
}
