/** One run of the bench: start the servers, seed, measure each scenario, stop everything. */
import { measureScenario, type ScenarioMeasurement } from './measure.js';
import type { BenchOptions } from './options.js';
import { OutputDrain } from './output-drain.js';
import { RedisStats } from './redis-stats.js';
import { currentLoadAverage, describeMachine, type BenchReport } from './results-file.js';
import { PostgresStats } from './postgres-stats.js';
import { buildScenario, isStackScenario } from './scenarios.js';
import { captureList, seedTodos } from '../lib/seed.js';
import { BenchServers } from './servers.js';
import { measureStackScenario, type StackScenarioResult } from './stack-scenarios.js';
import { checkTargets, withCeilingRatios } from './targets.js';

export interface BenchRunContext {
  /** Receives progress text as it happens, newlines included. */
  progress: (text: string) => void;
  /** Aborting stops the run at the next step (autocannon at once); every process is still stopped. */
  signal: AbortSignal;
}

export async function runBench(options: BenchOptions, { progress, signal }: BenchRunContext): Promise<BenchReport> {
  const date = new Date().toISOString();
  const loadAverageBefore = currentLoadAverage();
  const output = new OutputDrain();
  const servers = await BenchServers.start({
    logLevel: options.logLevel,
    uncachedRead: options.scenarios.includes('uncached-list'),
    output,
    progress: (line) => progress(`${line}\n`),
  });
  progress(`the services log at ${options.logLevel}; their output is counted, then discarded\n`);
  try {
    signal.throwIfAborted();
    progress(`seeding ${options.todos} todos through todo-write… `);
    const todoIds = await seedTodos(servers.server('write').url, options.todos, { signal });
    const list = await captureList(servers.server('cached-read').url, options.todos);
    progress(`✓ (the list is ${list.body.length.toLocaleString('en-US')} bytes)\n`);
    if (options.scenarios.includes('ceiling')) await servers.startCeiling(list);

    const redisStats = new RedisStats(servers.redisUrl);
    const postgresStats = await PostgresStats.connect(servers.postgres.adminUrl, servers.postgres.databaseName);
    const measurements: ScenarioMeasurement[] = [];
    const stackScenarios: StackScenarioResult[] = [];
    try {
      for (const name of options.scenarios) {
        if (isStackScenario(name)) {
          const stack = await servers.startStack();
          stackScenarios.push(
            await measureStackScenario(name, stack, {
              settings: options,
              output,
              redisStats,
              postgresStats,
              progress,
              signal,
            }),
          );
          continue;
        }
        const scenario = buildScenario(name, { listEtag: list.etag, todoIds });
        const server = servers.server(scenario.server);
        measurements.push(
          await measureScenario(scenario, server, { settings: options, output, redisStats, progress, signal }),
        );
      }
    } finally {
      redisStats.close();
      await postgresStats.close();
    }

    const scenarios = withCeilingRatios(measurements);
    const { todos, warmupSeconds, durationSeconds, connections, pipelining, logLevel } = options;
    return {
      date,
      machine: describeMachine(loadAverageBefore),
      options: {
        todos,
        warmupSeconds,
        durationSeconds,
        connections,
        pipelining,
        logLevel,
        scenarios: options.scenarios,
      },
      payload: { todos: options.todos, listBytes: list.body.length },
      scenarios,
      stackScenarios,
      targets: checkTargets(scenarios, stackScenarios, options.connections),
    };
  } finally {
    progress('stopping the servers… ');
    await servers.stop();
    progress('✓\n');
  }
}
