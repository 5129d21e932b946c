/**
 * Counters of the bench's PostgreSQL, read before and after a measured run: the app database's
 * committed and rolled-back transactions (pg_stat_database) and the CPU time of the whole
 * server (the postmaster and every backend, from /proc).
 *
 * PostgreSQL publishes a backend's transaction counts when it goes idle, at most once a second
 * (a backend that published less than a second ago does so within 10 s), so a reading lags the
 * queries by up to that much: exact enough to tell 2 transactions per 1000 reads from 100, and
 * the services' own `db_queries` counts (OutputDrain) are exact.
 */
import pg from 'pg';
import { readParentPid, readProcessTreeCpuSeconds } from '@taskoverflow/stack';

export interface PostgresCounters {
  /** xact_commit + xact_rollback of the app database. */
  transactions: number;
  /** CPU seconds of the postmaster and its backends (user + system). */
  cpuSeconds: number | undefined;
}

export class PostgresStats {
  /** Connected to the `postgres` database, so that these readings are not counted in the app's. */
  readonly #client: pg.Client;
  #postmasterPid: number | undefined;

  private constructor(
    client: pg.Client,
    private readonly databaseName: string,
  ) {
    this.#client = client;
  }

  /** `adminUrl`: a superuser URL of the `postgres` database; `databaseName`: the app's. */
  static async connect(adminUrl: string, databaseName: string): Promise<PostgresStats> {
    const client = new pg.Client({ connectionString: adminUrl, application_name: 'pnpm-bench' });
    await client.connect();
    const stats = new PostgresStats(client, databaseName);
    const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    // A backend's parent is the postmaster.
    stats.#postmasterPid = rows[0] && readParentPid(rows[0].pid);
    return stats;
  }

  async read(): Promise<PostgresCounters> {
    const { rows } = await this.#client.query<{ transactions: string }>(
      'SELECT xact_commit + xact_rollback AS transactions FROM pg_stat_database WHERE datname = $1',
      [this.databaseName],
    );
    return {
      transactions: Number(rows[0]?.transactions ?? Number.NaN),
      cpuSeconds: this.#postmasterPid === undefined ? undefined : readProcessTreeCpuSeconds(this.#postmasterPid),
    };
  }

  async close(): Promise<void> {
    await this.#client.end();
  }
}
