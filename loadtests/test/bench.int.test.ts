/**
 * A smoke test of `pnpm bench`: the real tool, with its own PostgreSQL, Redis and service
 * processes, at a tiny scale. It checks that every scenario ran, got the answers it expects and
 * was recorded — never how fast anything was: speed is what the bench reports, not what a test
 * asserts.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '@taskoverflow/stack';
import { runEntry, type CommandRun } from '@taskoverflow/stack/testing';
import t, { type Test } from 'tap';
import { parseBenchOptions } from '../bench/options.js';
import type { BenchReport } from '../bench/results-file.js';
import { lookupCount, OutputDrain } from '../bench/output-drain.js';
import { isStackScenario, SCENARIO_NAMES, STACK_SCENARIO_NAMES } from '../bench/scenarios.js';

const CLI = join(repoRoot, 'loadtests', 'bench', 'cli.ts');

/** Runs the bench CLI to its end; should the test time out, the bench still stops every process it started. */
function runBenchCli(t: Test, args: string[]): Promise<CommandRun> {
  return runEntry(CLI, args, { cwd: repoRoot, owner: t });
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
  t.same(
    report.scenarios.map((scenario) => scenario.name),
    SCENARIO_NAMES.filter((name) => !isStackScenario(name)),
    'every single-server scenario, in order',
  );
  t.match(report.options, { todos: 5, connections: 5, durationSeconds: 1, warmupSeconds: 0.5, logLevel: 'info' });
  t.equal(report.payload.todos, 5);
  for (const scenario of report.scenarios) {
    t.ok(scenario.requestsPerSecond > 0 && scenario.responses > 0, `${scenario.name} got answers`);
    t.equal(scenario.errors, 0, `${scenario.name} had no connection errors`);
    t.equal(scenario.unexpectedStatuses, 0, `${scenario.name}: every answer was ${scenario.expectedStatus}`);
  }
  const notModified = report.scenarios.find((scenario) => scenario.name === 'not-modified');
  t.equal(notModified?.statusCounts['304'], notModified?.responses, 'the 304 run got 304s only');
  t.equal(
    report.scenarios.find((scenario) => scenario.name === 'ceiling')?.ratioToCeiling,
    1,
    'ratios are to the ceiling',
  );
  t.equal(report.targets.length, 11, 'every target is reported on');
  t.match(output, /stack \(load balancer, 2 replicas\): GET \/api\/v1\/todos/, 'it prints the stack table');
  t.match(
    output,
    /^ {2}[✓✗] saturation: ≤ 2 PostgreSQL transactions per 1000 cached reads: [\d.]+ \(\d+ transactions\)/m,
    'the targets have ✓ or ✗',
  );

  t.same(
    report.stackScenarios.map((scenario) => scenario.name),
    STACK_SCENARIO_NAMES,
    'both stack scenarios ran',
  );
  for (const scenario of report.stackScenarios) {
    t.same(
      scenario.phases.map((phase) => phase.label)[0],
      'one replica alone',
      `${scenario.name}: one replica alone first`,
    );
    t.equal(
      scenario.ratioToOneReplica,
      Math.round((scenario.phases[1].requestsPerSecond / scenario.phases[0].requestsPerSecond) * 100) / 100,
    );
    for (const phase of scenario.phases) {
      const name = `${scenario.name}, ${phase.label}`;
      t.ok(phase.responses > 0, `${name}: answered`);
      t.equal(phase.failed, 0, `${name}: nothing failed`);
      t.same(
        Object.values(phase.statusCounts).reduce((sum, count) => sum + count, 0),
        phase.responses,
        `${name}: every response has its status`,
      );
      t.same(
        Object.keys(phase.cpuMicrosecondsPerRequest).sort(),
        ['edge', 'load generators', 'postgres', 'redis', 'todo-read-1', 'todo-read-2'],
        `${name}: CPU of every process`,
      );
      t.ok(
        Object.values(phase.cpuMicrosecondsPerRequest).every((value) => typeof value === 'number' && value >= 0),
        `${name}: read from /proc`,
      );
      t.ok((phase.cacheOutcomes.hit ?? 0) > 0, `${name}: the replicas' canonical lines were counted`);
      t.equal(phase.cacheBypassShare, (phase.cacheOutcomes.bypass ?? 0) / lookupCount(phase.cacheOutcomes));
      t.type(phase.dbTransactionsPer1000Reads, 'number', `${name}: PostgreSQL's transactions were read`);
      t.type(phase.dbQueriesPer1000Reads, 'number', `${name}: the replicas' queries were counted`);
    }
  }
  t.same(report.stackScenarios[0]!.phases[1].targets, ['edge'], 'stack: through the load balancer');
  t.same(
    report.stackScenarios[1]!.phases[1].targets,
    ['todo-read-1', 'todo-read-2'],
    'saturation: both replicas, a generator each',
  );
  t.equal(report.stackScenarios[1]!.phases[1].latencyMs.length, 2, 'saturation: each generator reports its latency');
});

t.test("the output drain counts the canonical lines' cache outcomes and queries, not the stats line's", async (t) => {
  const drain = new OutputDrain();
  const sink = drain.sink('todo-read-1');
  sink(
    '{"level":30,"route":"/api/v1/todos","status":200,"cache":"bypass","cache_tier":"none","db_queries":1,"db_ms":2.1,"msg":"request finished"}',
  );
  sink(
    '{"level":30,"route":"/api/v1/todos","status":200,"cache":"hit","cache_tier":"memory","db_queries":0,"db_ms":0,"msg":"request finished"}',
  );
  sink('{"level":30,"requests":2,"cache_hit":1,"cache_bypass":1,"db_queries":1,"msg":"stats"}');
  sink('{"level":30,"sql":"select … from todos","duration_ms":2.1,"rows":5,"msg":"query"}');
  const count = drain.count('todo-read-1');
  t.same(count.cacheOutcomes, { bypass: 1, hit: 1 });
  t.equal(lookupCount(count.cacheOutcomes), 2, 'a bypass is a lookup');
  t.equal(count.dbQueries, 1, 'queries are counted once, from the canonical lines');
  t.equal(count.lines, 4);
});

t.test('bad usage exits 2, as in the other CLIs, with the problem and the usage', async (t) => {
  const { code, output } = await runBenchCli(t, ['--connections', '0']);
  t.equal(code, 2);
  t.match(output, /^--connections must be a whole number from 1 to 10000 \(got "0"\)\n\nUsage: pnpm bench/);
});

t.test('options: scenarios run in their fixed order; a bad value is refused with the choices', async (t) => {
  const options = parseBenchOptions(['--scenarios', 'create,ceiling', '--log-level', 'warn']);
  t.match(options, {
    scenarios: ['ceiling', 'create'],
    logLevel: 'warn',
    connections: 100,
    durationSeconds: 10,
    warmupSeconds: 3,
  });
  t.throws(() => parseBenchOptions(['--scenarios', 'cached-list,warp-speed']), {
    message: /^--scenarios: unknown warp-speed; choose from ceiling, cached-list, /,
  });
  t.throws(() => parseBenchOptions(['--connections', '0']), {
    code: 'TASKOVERFLOW_BENCH_USAGE',
    message: '--connections must be a whole number from 1 to 10000 (got "0")',
  });
});
