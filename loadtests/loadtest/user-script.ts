/**
 * A user's own k6 script, run as `pnpm loadtest path/to/script.js`. k6 runs an entry module
 * written beside the run's results (k6-entry.js) that re-exports everything of the script and
 * adds what the report needs, without changing what the script does:
 * - a handleSummary writing the summary files the built-in scenarios write (summary.js),
 *   then the script's own handleSummary's files, if it has one;
 * - the failure-cause counters (FAILURE_CAUSE_THRESHOLDS, thresholds that always hold) beside
 *   the script's own thresholds, and the percentiles the summary shows.
 * Before anything starts, `k6 inspect` loads it: a script that does not parse fails at once
 * with k6's message.
 */
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { K6ScriptInvalidError } from '../errors.js';
import type { K6Binary } from './k6-binary.js';

const SUMMARY_LIB = fileURLToPath(new URL('../k6/lib/summary.js', import.meta.url));
/** The entry module's name in the run directory. */
export const K6_ENTRY_FILE = 'k6-entry.js';

/** The run's name for a script: its file name without the extension (`my-test` for my-test.js). */
export function scriptRunName(scriptPath: string): string {
  return basename(scriptPath, extname(scriptPath)).replace(/[^A-Za-z0-9._-]+/g, '-') || 'script';
}

/** Writes the entry module for `scriptPath` into runDir; returns its path. */
export async function writeEntryModule(scriptPath: string, runDir: string, settings: string[]): Promise<string> {
  const script = JSON.stringify(pathToFileURL(scriptPath).href);
  const entry = join(runDir, K6_ENTRY_FILE);
  await writeFile(
    entry,
    `// Written by pnpm loadtest (loadtests/loadtest/user-script.ts) to run ${scriptPath}: every export of
// the script, plus the summary files and failure-cause counters the bottleneck report reads.
import * as script from ${script};
import { FAILURE_CAUSE_THRESHOLDS, SUMMARY_TREND_STATS, summaryFiles } from ${JSON.stringify(pathToFileURL(SUMMARY_LIB).href)};
export * from ${script};

const own = script.options ?? {};
const scenarios = Object.values(own.scenarios ?? {});
if (typeof script.default !== 'function' && (scenarios.length === 0 || scenarios.some((scenario) => !scenario.exec))) {
  throw new Error('the script exports no default function, and not every scenario names its exec function: add export default function () { … }');
}

export const options = {
  ...own,
  thresholds: { ...FAILURE_CAUSE_THRESHOLDS, ...own.thresholds },
  summaryTrendStats: [...new Set([...SUMMARY_TREND_STATS, ...(own.summaryTrendStats ?? [])])],
};

export default function (data) {
  return script.default(data);
}

export function handleSummary(data) {
  const files = summaryFiles(data, {
    name: ${JSON.stringify(scriptRunName(scriptPath))},
    script: ${JSON.stringify(scriptPath)},
    endpoint: __ENV.ENDPOINT,
    resultsDir: __ENV.RESULTS_DIR,
    scenarios: [],
    settings: ${JSON.stringify(settings)},
  });
  if (typeof script.handleSummary !== 'function') return files;
  const theirs = script.handleSummary(data) ?? {};
  return { ...files, ...theirs, stdout: [files.stdout, theirs.stdout].filter(Boolean).join('\\n') };
}
`,
  );
  return entry;
}

const run = promisify(execFile);

/**
 * Loads the entry module as k6 run would, running nothing (its init code only): a syntax
 * error, a missing module or an exception in the init code throws K6ScriptInvalidError with
 * k6's message.
 */
export async function inspectScript(
  k6: K6Binary,
  entry: string,
  scriptPath: string,
  env: Record<string, string>,
): Promise<void> {
  try {
    await run(k6.path, ['inspect', entry], { env: { ...process.env, ...env }, timeout: 60_000 });
  } catch (error) {
    const { stderr, message } = error as { stderr?: string; message: string };
    throw new K6ScriptInvalidError(scriptPath, k6Message(stderr ?? '') ?? message, scriptPath);
  }
}

/** k6's error, from its log line `level=error msg="…"`, without the entry module's wrapping. */
export function k6Message(stderr: string): string | undefined {
  const quoted = /level=error msg="((?:[^"\\]|\\.)*)"/.exec(stderr)?.[1];
  if (quoted === undefined) return stderr.trim() || undefined;
  const message = JSON.parse(`"${quoted}"`) as string;
  // "could not initialize 'k6-entry.js': could not load JS test 'file:///…/k6-entry.js': <what k6 found>"
  return message.replace(/^could not initialize '[^']*': could not load JS test '[^']*': /, '');
}
