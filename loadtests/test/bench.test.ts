/**
 * A smoke test of `pnpm bench`: the real tool, with its own PostgreSQL, Redis and service
 * processes, at a tiny scale. It checks that every scenario ran, got the answers it expects and
 * was recorded — never how fast anything was: speed is what the bench reports, not what a test
 * asserts.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { parseBenchOptions } from '../bench/options.js';
import type { BenchReport } from '../bench/results-file.js';
import { SCENARIO_NAMES } from '../bench/scenarios.js';
import { repoRoot } from '../bench/stack-internals.js';

const CLI = join(repoRoot, 'loadtests', 'bench', 'cli.ts');

/** Runs the bench CLI to its end; resolves with its exit code and everything it printed. */
async function runBenchCli(t: Test, args: string[]): Promise<{ code: number | null; output: string }> {
  const bench = spawn(process.execPath, ['--import', 'tsx', '--conditions=development', CLI, ...args], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // Should the test time out, the bench still stops every process it started.
  t.teardown(() => void bench.kill('SIGTERM'));
  let output = '';
  bench.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  bench.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const [code] = (await once(bench, 'close')) as [number | null];
  return { code, output };
}

t.test('a tiny run measures every scenario, without errors, and records it', async (t) => {
  const resultsDir = await mkdtemp(join(tmpdir(), 'taskoverflow-bench-test-'));
  t.teardown(() => rm(resultsDir, { recursive: true, force: true }));

  const tiny = ['--duration', '1', '--warmup', '0.5', '--connections', '5', '--todos', '5'];
  const { code, output } = await runBenchCli(t, [...tiny, '--results-dir', resultsDir]);
  t.equal(code, 0, 'it exits 0', { output });
  t.match(output, /cached list: warming up 0\.5 s… measuring 1 s… [\d,]+ req\/s/, 'it reports progress per scenario');
  t.match(output, /scenario +req\/s +× ceiling +p50 ms +p99 ms/, 'it prints the table');

  const report = JSON.parse(await readFile(join(resultsDir, 'bench-latest.json'), 'utf8')) as BenchReport;
  t.same(report.scenarios.map((scenario) => scenario.name), SCENARIO_NAMES, 'every scenario, in order');
  t.match(report.options, { todos: 5, connections: 5, durationSeconds: 1, warmupSeconds: 0.5, logLevel: 'info' });
  t.equal(report.payload.todos, 5);
  for (const scenario of report.scenarios) {
    t.ok(scenario.requestsPerSecond > 0 && scenario.responses > 0, `${scenario.name} got answers`);
    t.equal(scenario.errors, 0, `${scenario.name} had no connection errors`);
    t.equal(scenario.unexpectedStatuses, 0, `${scenario.name}: every answer was ${scenario.expectedStatus}`);
  }
  const notModified = report.scenarios.find((scenario) => scenario.name === 'not-modified');
  t.equal(notModified?.statusCounts['304'], notModified?.responses, 'the 304 run got 304s only');
  t.equal(report.scenarios.find((scenario) => scenario.name === 'ceiling')?.ratioToCeiling, 1, 'ratios are to the ceiling');
  t.equal(report.targets.length, 5, 'every target is reported on');
});

t.test('options: scenarios run in their fixed order; a bad value is refused with the choices', async (t) => {
  const options = parseBenchOptions(['--scenarios', 'create,ceiling', '--log-level', 'warn']);
  t.match(options, { scenarios: ['ceiling', 'create'], logLevel: 'warn', connections: 100, durationSeconds: 10, warmupSeconds: 3 });
  t.throws(() => parseBenchOptions(['--scenarios', 'cached-list,warp-speed']), {
    message: /^--scenarios: unknown warp-speed; choose from ceiling, cached-list, /,
  });
  t.throws(() => parseBenchOptions(['--connections', '0']), { message: '--connections must be a whole number from 1 to 10000 (got "0")' });
});
