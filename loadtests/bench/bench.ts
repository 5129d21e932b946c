/** One run of the bench: start the servers, seed, measure each scenario, stop everything. */
import { measureScenario, type ScenarioMeasurement } from './measure.js';
import type { BenchOptions } from './options.js';
import { OutputDrain } from './output-drain.js';
import { RedisStats } from './redis-stats.js';
import { currentLoadAverage, describeMachine, type BenchReport } from './results-file.js';
import { buildScenario } from './scenarios.js';
import { captureList, seedTodos } from './seed.js';
import { BenchServers } from './servers.js';
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
    const todoIds = await seedTodos(servers.server('write').url, options.todos);
    const list = await captureList(servers.server('cached-read').url, options.todos);
    progress(`✓ (the list is ${list.body.length.toLocaleString('en-US')} bytes)\n`);
    if (options.scenarios.includes('ceiling')) await servers.startCeiling(list);

    const redisStats = new RedisStats(servers.redisUrl);
    const measurements: ScenarioMeasurement[] = [];
    try {
      for (const name of options.scenarios) {
        const scenario = buildScenario(name, { listEtag: list.etag, todoIds });
        const server = servers.server(scenario.server);
        measurements.push(await measureScenario(scenario, server, { settings: options, output, redisStats, progress, signal }));
      }
    } finally {
      redisStats.close();
    }

    const scenarios = withCeilingRatios(measurements);
    const { todos, warmupSeconds, durationSeconds, connections, pipelining, logLevel } = options;
    return {
      date,
      machine: describeMachine(loadAverageBefore),
      options: { todos, warmupSeconds, durationSeconds, connections, pipelining, logLevel, scenarios: options.scenarios },
      payload: { todos: options.todos, listBytes: list.body.length },
      scenarios,
      targets: checkTargets(scenarios, options.connections),
    };
  } finally {
    progress('stopping the servers… ');
    await servers.stop();
    progress('✓\n');
  }
}
