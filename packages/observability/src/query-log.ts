import type { FastifyBaseLogger } from 'fastify';
import type {
  KyselyPlugin,
  LogEvent,
  PluginTransformQueryArgs,
  PluginTransformResultArgs,
  QueryResult,
  RootOperationNode,
  UnknownRow,
} from 'kysely';
import { currentLogger, recordQuery, roundMs } from './context.js';

interface FinishedQuery {
  sql: string;
  durationMs: number;
}

/**
 * One log line per SQL statement with its text (never the parameter values, which hold user
 * data), `duration_ms` and `rows`, under the current request's logger; the statement and its
 * duration also count in the request's `db_queries` and `db_ms` (and Server-Timing `db`).
 *
 * kysely's `log` hook reports text and duration but not the result, so this is both the hook
 * and a plugin: the hook fires first and parks the query under its queryId, and the plugin's
 * transformResult, which sees the rows, writes the line.
 *
 * Use: `const queryLog = new QueryLog(app.log); new Kysely({ dialect, log: queryLog.log, plugins: [queryLog] })`.
 */
export class QueryLog implements KyselyPlugin {
  private readonly finished = new WeakMap<object, FinishedQuery>();

  constructor(private readonly fallback: FastifyBaseLogger) {}

  readonly log = (event: LogEvent): void => {
    recordQuery(event.queryDurationMillis);
    if (event.level === 'error') {
      currentLogger(this.fallback).warn(
        { sql: event.query.sql, duration_ms: roundMs(event.queryDurationMillis), err: event.error },
        'query failed',
      );
      return;
    }
    this.finished.set(event.query.queryId, { sql: event.query.sql, durationMs: event.queryDurationMillis });
  };

  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    return args.node;
  }

  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    const query = this.finished.get(args.queryId);
    if (query) {
      this.finished.delete(args.queryId);
      const { rows, numAffectedRows } = args.result;
      currentLogger(this.fallback).info(
        {
          sql: query.sql,
          duration_ms: roundMs(query.durationMs),
          rows: numAffectedRows !== undefined ? Number(numAffectedRows) : rows.length,
        },
        'query',
      );
    }
    return args.result;
  }
}
