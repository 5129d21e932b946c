import { Redis } from 'ioredis';

/** Counters of the Redis server, read before and after a measured run. */
export interface RedisCounters {
  /** Commands the server has executed, our own INFO excepted. */
  commands: number;
  /** CPU seconds the server has used (user + system). */
  cpuSeconds: number | undefined;
}

/**
 * Reads the cache's Redis server counters (INFO commandstats and cpu) over a connection of
 * its own: how many commands, and how much of the machine, each scenario costs Redis.
 */
export class RedisStats {
  readonly #redis: Redis;

  constructor(url: string) {
    this.#redis = new Redis(url, { connectionName: 'pnpm-bench', maxRetriesPerRequest: 1, lazyConnect: true });
    // A lost connection shows as a failed read(); ioredis would also print every retry.
    this.#redis.on('error', () => undefined);
  }

  async read(): Promise<RedisCounters> {
    const [commandStats, cpu] = await Promise.all([this.#redis.info('commandstats'), this.#redis.info('cpu')]);
    let commands = 0;
    for (const [, command, calls] of commandStats.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
      if (command !== 'info') commands += Number(calls);
    }
    const user = infoNumber(cpu, 'used_cpu_user');
    const system = infoNumber(cpu, 'used_cpu_sys');
    return { commands, cpuSeconds: user === undefined || system === undefined ? undefined : user + system };
  }

  close(): void {
    this.#redis.disconnect();
  }
}

function infoNumber(info: string, field: string): number | undefined {
  const value = info.match(new RegExp(`^${field}:([\\d.]+)`, 'm'))?.[1];
  return value === undefined ? undefined : Number(value);
}
