/** `pnpm bench`: see USAGE in options.ts, or run it with --help. */
import { isAbsolute, relative } from 'node:path';
import { Interruption } from '@taskoverflow/config';
import { runBench } from './bench.js';
import { BENCH_USAGE_CODE } from '../errors.js';
import { parseBenchOptions, USAGE } from './options.js';
import { formatReport } from './report.js';
import { writeResults } from './results-file.js';

async function main(): Promise<number> {
  let options;
  try {
    options = parseBenchOptions(process.argv.slice(2));
  } catch (error) {
    if ((error as { code?: unknown } | undefined)?.code !== BENCH_USAGE_CODE) throw error;
    console.error(`${(error as Error).message}\n\n${USAGE}`);
    return 2; // bad usage, as in the other CLIs
  }
  if (options === 'help') {
    console.log(USAGE);
    return 0;
  }

  // A second signal exits at once; the stack's exit handlers still kill the processes it started.
  const interruption = new Interruption('stopping the run and every process it started… (again to exit at once)');

  try {
    const report = await runBench(options, {
      progress: (text) => process.stdout.write(text),
      signal: interruption.signal,
    });
    const written = await writeResults(report, options.resultsDir);
    console.log(`\n${formatReport(report)}\n`);
    console.log(`results: ${shownPath(written.file)} (copied to ${shownPath(written.latest)})`);

    const invalid = report.scenarios.filter((result) => result.errors > 0 || result.unexpectedStatuses > 0);
    if (invalid.length === 0) return 0;
    const names = invalid.map((result) => result.label).join(', ');
    console.error(
      `✗ ${names}: errors or unexpected statuses, so those figures do not measure the path they name (statusCounts in the JSON)`,
    );
    return 1;
  } catch (error) {
    const interrupted = interruption.exitCode('bench');
    if (interrupted !== undefined) return interrupted;
    console.error(`\npnpm bench failed: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
}

/** Relative to the working directory when it is inside it, else absolute. */
function shownPath(path: string): string {
  const fromHere = relative(process.cwd(), path);
  return fromHere.startsWith('..') || isAbsolute(fromHere) ? path : fromHere;
}

process.exit(await main());
