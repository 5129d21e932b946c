/**
 * The verdict's functional findings, which come before any about speed: the checks that
 * failed, each group of failed requests traced to what failed underneath (from its canonical
 * lines' status, error code and cause, db_ms, shed, or the edge's own answers), how a failed
 * check and a group of requests explain each other, instances that stopped, Redis unusable,
 * and what the run left behind in the data. Then the headline, which says first that anything
 * failed. Pure functions of the outcomes (outcomes.ts) and the figures.
 */
import { EDGE_SERVICE } from '@taskoverflow/observability';
import type { Figures } from './figure-types.js';
import { formatMs as ms } from './format.js';
import {
  isFailure,
  type CheckResult,
  type InstanceActivity,
  type Outcomes,
  type RequestGroup,
  type UnreachableReplica,
} from './outcomes.js';

export type FunctionalRule =
  | 'no response'
  | 'failed checks'
  | 'failed request group'
  | 'check explained'
  | 'instance stopped'
  | 'redis unusable'
  | 'todos left behind';

export interface FunctionalFinding {
  rule: FunctionalRule;
  sentence: string;
  evidence: Record<string, number | string>;
}

/** Failure groups given a sentence each; the rest are in the report's table. */
const GROUPS_TRACED = 6;
/** An instance whose last line is this long before the run's end stopped (its stats line comes every 5 s). */
const STOPPED_GAP_MS = 12_000;

const n = (value: number): string => value.toLocaleString('en-US');
const times = (count: number): string => (count === 1 ? 'once' : `${n(count)} times`);
const percent = (share: number): string => `${share === 1 || share === 0 ? share * 100 : (share * 100).toFixed(1)} %`;
/** A time of day, UTC, as the logs have it. */
export const clock = (atMs: number): string => new Date(atMs).toISOString().slice(11, 19);

/** `DELETE /api/v1/todos/undefined → 404` */
export function requestName(group: Pick<RequestGroup, 'method' | 'path'>): string {
  return `${group.method} ${group.path}`;
}

export function functionalFindings(outcomes: Outcomes, figures: Figures): FunctionalFinding[] {
  return [
    ...noResponseFinding(outcomes, figures),
    ...failedChecksFinding(outcomes),
    ...failureGroupFindings(outcomes),
    ...checkExplanations(outcomes),
    ...stoppedInstanceFindings(outcomes),
    ...redisFinding(outcomes, figures),
    ...todosFinding(outcomes),
  ];
}

/** Share of k6's requests without any response at which the run is said to have reached nothing. */
const NO_RESPONSE_SHARE = 0.9;

/**
 * Almost every request got no response at all (k6's status 0): nothing answered where the
 * script sent them. When the stack's logs were read and hold none of them, the script sent
 * them elsewhere than ENDPOINT.
 */
export function noResponseFinding(outcomes: Outcomes, figures: Figures): FunctionalFinding[] {
  const client = figures.failures.client;
  const none = client?.causes['status:0'] ?? 0;
  if (!client || client.requests === 0 || none < NO_RESPONSE_SHARE * client.requests) return [];
  const endpoint = figures.run.endpoint ?? 'ENDPOINT';
  const logged = outcomes.requests.reduce((sum, group) => sum + group.count, 0);
  const logsRead = outcomes.instances.length > 0;
  return [
    {
      rule: 'no response',
      sentence:
        `${n(none)} of ${n(client.requests)} requests got no response at all (k6 status 0)` +
        (logsRead && logged === 0
          ? `, and the stack at ${endpoint} logged none of them: the script sends its requests elsewhere. Have it read the API's base URL from __ENV.ENDPOINT.`
          : `: nothing answered where the script sent them. Check that it reads the API's base URL from __ENV.ENDPOINT (${endpoint}) and that the API is up there.`),
      evidence: { noResponse: none, requests: client.requests, loggedByTheStack: logged },
    },
  ];
}

export function failedChecksFinding(outcomes: Outcomes): FunctionalFinding[] {
  const checks = outcomes.checks ?? [];
  const failed = checks.filter((check) => check.fails > 0).sort((a, b) => a.passRate - b.passRate);
  if (failed.length === 0) return [];
  return [
    {
      rule: 'failed checks',
      sentence:
        `${failed.length} of ${checks.length} checks failed: ` +
        failed
          .map(
            (check) =>
              `“${check.name}” passed ${percent(check.passRate)} (${n(check.passes)} of ${n(check.passes + check.fails)})`,
          )
          .join('; ') +
        '.',
      evidence: Object.fromEntries(failed.map((check) => [check.name, Number(check.passRate.toFixed(4))])),
    },
  ];
}

/** Each group of failed requests (the largest first), with what failed underneath. */
export function failureGroupFindings(outcomes: Outcomes): FunctionalFinding[] {
  return outcomes.requests
    .filter(isFailure)
    .slice(0, GROUPS_TRACED)
    .map((group) => {
      const took = group.medianMs >= 1000 ? ` after ${(group.medianMs / 1000).toFixed(1)} s` : '';
      const span =
        clock(group.firstAtMs) === clock(group.lastAtMs)
          ? `, at ${clock(group.firstAtMs)}`
          : `, between ${clock(group.firstAtMs)} and ${clock(group.lastAtMs)}`;
      return {
        rule: 'failed request group' as const,
        sentence:
          `${n(group.count)} ${requestName(group)} answered ${group.status}${took} because ${causeOf(group, outcomes)}${span}` +
          (group.exampleRequestId
            ? `, e.g. request ${group.exampleRequestId} (pnpm trace ${group.exampleRequestId}).`
            : '.'),
        evidence: {
          method: group.method,
          path: group.path,
          status: group.status,
          count: group.count,
          answeredBy: group.answeredBy,
          medianMs: Math.round(group.medianMs),
          dbMedianMs: Math.round(group.dbMedianMs),
          ...(group.errorCode && { errorCode: group.errorCode }),
          ...(group.errorCause && { errorCause: group.errorCause }),
          ...(group.exampleRequestId && { exampleRequestId: group.exampleRequestId }),
          from: new Date(group.firstAtMs).toISOString(),
          to: new Date(group.lastAtMs).toISOString(),
        },
      };
    });
}

/** The last segment of a path, when it stands where an id should and is not a number. */
function badId(path: string): string | undefined {
  const last = path.slice(path.lastIndexOf('/') + 1);
  return /^\d+$/.test(last) || last === '' ? undefined : last;
}

/** What failed underneath a group of failed requests, from what their lines say. */
export function causeOf(group: RequestGroup, outcomes: Outcomes): string {
  if (group.answeredBy === EDGE_SERVICE) return edgeCause(group, outcomes);
  if (group.shed)
    return `${group.answeredBy} shed them: it was overloaded (${group.shed}), and answered at once rather than queue them`;
  const code = group.errorCode;
  if (code === 'TASKOVERFLOW_DATABASE_UNAVAILABLE') {
    return `${databaseCause(group.errorCause)} (db_ms ${ms(group.dbMedianMs)}; ${code}${group.errorCause ? `: ${group.errorCause}` : ''})`;
  }
  if (code === 'TASKOVERFLOW_RATE_LIMITED') return `${group.answeredBy}'s rate limit refused them (${code})`;
  if (code === 'FST_ERR_VALIDATION')
    return 'their body or parameters did not validate (FST_ERR_VALIDATION): what the script sent does not match the API (docs/api.md)';
  if (group.status === 404 || group.status === 405) {
    const id = group.asSent ? badId(group.path) : undefined;
    if (id !== undefined) {
      return `the id in the path is “${decodeURIComponent(id)}”, not a number: the script built the URL from a value it did not have (a field read from the wrong object, such as the request instead of the response's JSON)`;
    }
    if (group.asSent) return 'no route of the API matches this path (docs/api.md lists them)';
    if (group.status === 404) return 'the todo did not exist (deleted already, or never created)';
  }
  if (group.status === 415) return 'the request had no Content-Type: application/json';
  if (group.status >= 400 && group.status < 500)
    return `${group.answeredBy} refused the request as sent${code ? ` (${code})` : ''}`;
  return code
    ? `${group.answeredBy} failed with ${code}${group.errorCause ? `: ${group.errorCause}` : ''}`
    : `${group.answeredBy} failed (its lines carry no error code; see its error lines)`;
}

/** PostgreSQL's part, from the cause packages/db gave DatabaseUnavailableError. */
export function databaseCause(cause: string | undefined): string {
  if (cause === undefined) return 'PostgreSQL was unavailable';
  if (/query read timeout/i.test(cause))
    return 'PostgreSQL did not answer within the query deadline (its statement timeout + 1 s)';
  if (/timeout exceeded when trying to connect|connection timeout/i.test(cause)) {
    return 'no PostgreSQL connection came free or opened within the connect timeout (PG_CONNECT_TIMEOUT_MS)';
  }
  if (cause === 'ECONNREFUSED') return 'PostgreSQL refused connections (down or restarting)';
  if (cause === 'ECONNRESET' || /connection terminated/i.test(cause))
    return 'PostgreSQL closed the connection (a restart, a crash or a failover)';
  if (/^57P0[1-3]$/.test(cause)) return `PostgreSQL was shutting down or starting up (SQLSTATE ${cause})`;
  if (cause === '53300') return 'PostgreSQL had no connection slots left (SQLSTATE 53300, too many connections)';
  return `PostgreSQL was unavailable (${cause})`;
}

function edgeCause(group: RequestGroup, outcomes: Outcomes): string {
  if (group.status === 503) {
    return "the edge's bounded queue was full: no replica took them within the queue's wait (EDGE_MAX_QUEUE_WAIT_MS), every replica's connections busy with slower requests (or the replicas stalled)";
  }
  if (group.status === 504) return "a replica did not answer within the edge's upstream timeout";
  const stopped = stoppedInstances(outcomes);
  if (stopped.length > 0) {
    return `the edge lost the replica it had sent them to: ${stopped
      .map(
        (instance) =>
          `${instance.instance} stopped at ${clock(instance.lastAtMs)} (killed or crashed)${unreachableText(instance.unreachable)}`,
      )
      .join('; ')}`;
  }
  return `the edge lost the replica it had sent them to, or reached none${unreachableText(
    outcomes.unreachableReplicas.filter((replica) => replica.lastAtMs >= group.firstAtMs - STOPPED_GAP_MS),
  )}`;
}

/** `, and the edge found it unreachable 2 times (ECONNRESET, ECONNREFUSED)` */
function unreachableText(unreachable: UnreachableReplica[]): string {
  const count = unreachable.reduce((sum, replica) => sum + replica.count, 0);
  if (count === 0) return '';
  const replicas = [...new Set(unreachable.map((replica) => replica.replica))];
  return `, and the edge found ${replicas.length === 1 ? 'it' : replicas.join(', ')} unreachable ${times(count)} (${[...new Set(unreachable.map((replica) => replica.code))].join(', ')})`;
}

/**
 * Replicas that stopped during the run: the instance's lines end well before the run does,
 * and from then on the edge found it unreachable or took it out of rotation. (Silence alone
 * proves nothing: an idle service writes no lines, and a log may be cut.)
 */
export function stoppedInstances(
  outcomes: Outcomes,
): Array<InstanceActivity & { unreachable: UnreachableReplica[]; outOfRotationAtMs: number | undefined }> {
  const { endMs } = outcomes;
  if (endMs === undefined) return [];
  const originOf = new Map(Object.entries(outcomes.instanceAt).map(([origin, instance]) => [instance, origin]));
  return outcomes.instances.flatMap((instance) => {
    if (instance.service === EDGE_SERVICE || instance.lastAtMs >= endMs - STOPPED_GAP_MS) return [];
    const origin = originOf.get(instance.instance);
    const after = (atMs: number): boolean => atMs >= instance.lastAtMs - 1_000;
    const unreachable = outcomes.unreachableReplicas.filter(
      (replica) => (origin === undefined || replica.replica === origin) && after(replica.lastAtMs),
    );
    const outOfRotation = outcomes.targetChanges.find(
      (change) => !change.healthy && (origin === undefined || change.target === origin) && after(change.atMs),
    );
    if (unreachable.length === 0 && !outOfRotation) return [];
    return [{ ...instance, unreachable, outOfRotationAtMs: outOfRotation?.atMs }];
  });
}

export function stoppedInstanceFindings(outcomes: Outcomes): FunctionalFinding[] {
  return stoppedInstances(outcomes).map((instance) => {
    const count = instance.unreachable.reduce((sum, replica) => sum + replica.count, 0);
    const evidence = [
      ...(instance.unreachable.length > 0
        ? [
            `the edge found it unreachable ${times(count)} (${[...new Set(instance.unreachable.map((replica) => replica.code))].join(', ')}) and passed what it could to another replica`,
          ]
        : []),
      ...(instance.outOfRotationAtMs !== undefined
        ? [`its health checks took it out of rotation at ${clock(instance.outOfRotationAtMs)}`]
        : []),
    ];
    return {
      rule: 'instance stopped' as const,
      sentence:
        `${instance.instance} stopped during the run: its log ends at ${clock(instance.lastAtMs)}, ${Math.round((outcomes.endMs! - instance.lastAtMs) / 1000)} s before the run did ` +
        `(killed, or it crashed: its last lines say which); ${evidence.join(', and ')}.`,
      evidence: {
        instance: instance.instance,
        lastLineAt: new Date(instance.lastAtMs).toISOString(),
        edgeFoundUnreachable: count,
        ...(instance.outOfRotationAtMs !== undefined && {
          outOfRotationAt: new Date(instance.outOfRotationAtMs).toISOString(),
        }),
      },
    };
  });
}

/** Reads that bypassed the cache: Redis could not be used, from when to when. */
export function redisFinding(outcomes: Outcomes, figures: Figures): FunctionalFinding[] {
  const bypass = outcomes.cacheBypass;
  if (!bypass) return [];
  const reads = figures.readPath.reads;
  const toEnd = outcomes.endMs !== undefined && bypass.lastAtMs >= outcomes.endMs - STOPPED_GAP_MS;
  return [
    {
      rule: 'redis unusable',
      sentence:
        `Redis could not be used from ${clock(bypass.lostAtMs ?? bypass.firstAtMs)}${toEnd ? ' to the end of the run' : ` to ${clock(bypass.lastAtMs)}`}` +
        (bypass.lostAtMs !== undefined
          ? ` (the services lost their connection to it at ${clock(bypass.lostAtMs)})`
          : '') +
        ': ' +
        `${n(bypass.reads)} reads${reads > 0 ? ` (${percent(bypass.reads / reads)} of all)` : ''} bypassed the cache and went to PostgreSQL` +
        (bypass.exampleRequestId ? `, e.g. request ${bypass.exampleRequestId}.` : '.'),
      evidence: {
        bypassed: bypass.reads,
        from: new Date(bypass.firstAtMs).toISOString(),
        to: new Date(bypass.lastAtMs).toISOString(),
      },
    },
  ];
}

/** What the run changed in the data: todos it left behind (or removed). */
export function todosFinding(outcomes: Outcomes): FunctionalFinding[] {
  const { todos } = outcomes;
  if (todos?.before === undefined || todos.after === undefined || todos.after === todos.before) return [];
  const change = todos.after - todos.before;
  const failedDeletes = outcomes.requests
    .filter((group) => group.method === 'DELETE' && isFailure(group))
    .reduce((sum, group) => sum + group.count, 0);
  return [
    {
      rule: 'todos left behind',
      sentence:
        change > 0
          ? `The run left ${n(change)} todos behind: ${n(todos.before)} before it, ${n(todos.after)} after` +
            (failedDeletes > 0
              ? `; ${n(failedDeletes)} deletes failed, so the todos they were meant to remove stayed.`
              : '.')
          : `The run removed ${n(-change)} todos: ${n(todos.before)} before it, ${n(todos.after)} after.`,
      evidence: { before: todos.before, after: todos.after, change, failedDeletes },
    },
  ];
}

/** Words of a check's name that say which request it checks. */
const METHOD_WORDS: Array<[RegExp, string]> = [
  [/\b(create|created|creates|post|add)\b/i, 'POST'],
  [/\b(delete|deleted|deletes|remove|del)\b/i, 'DELETE'],
  [/\b(update|updated|put|edit|complete)\b/i, 'PUT'],
  [/\b(list|get|read|fetch|listed)\b/i, 'GET'],
];

/**
 * A failed check tied to the requests that failed it: those of the method its name speaks of,
 * answered with another status than the one it expects (a 3-digit number in its name), as
 * many as the check's failures (within a tenth).
 */
export function explainCheck(check: CheckResult, groups: RequestGroup[]): FunctionalFinding | undefined {
  if (check.fails === 0) return undefined;
  const expected = /\b([1-5]\d\d)\b/.exec(check.name)?.[1];
  const method = METHOD_WORDS.find(([words]) => words.test(check.name))?.[1];
  const candidates = groups.filter(
    (group) =>
      (expected ? group.status !== Number(expected) : isFailure(group)) &&
      (method === undefined || group.method === method),
  );
  const best = candidates.sort((a, b) => Math.abs(a.count - check.fails) - Math.abs(b.count - check.fails))[0];
  if (!best || Math.abs(best.count - check.fails) > Math.max(1, check.fails / 10)) return undefined;
  const answered = `${n(best.count)} ${requestName(best)} ${best.count === 1 ? 'was' : 'were'} answered ${best.status}`;
  const why =
    best.status < 400
      ? expected
        ? `: the check expects ${expected}, and the API answers ${best.status} to this request when it succeeds (docs/api.md), so the check is what is wrong`
        : ''
      : `${expected ? `, not the ${expected} it expects` : ''}: ${causeOf(best, { ...EMPTY_OUTCOMES, requests: groups })}`;
  return {
    rule: 'check explained',
    sentence: `The check “${check.name}” failed ${times(check.fails)}, and ${answered}${why}.`,
    evidence: {
      check: check.name,
      fails: check.fails,
      method: best.method,
      path: best.path,
      status: best.status,
      count: best.count,
    },
  };
}

const EMPTY_OUTCOMES: Outcomes = {
  checks: undefined,
  thresholds: [],
  requests: [],
  instances: [],
  unreachableReplicas: [],
  targetChanges: [],
  instanceAt: {},
  cacheBypass: undefined,
  todos: undefined,
  iterations: undefined,
  endMs: undefined,
};

export function checkExplanations(outcomes: Outcomes): FunctionalFinding[] {
  return (outcomes.checks ?? []).flatMap((check) => explainCheck(check, outcomes.requests) ?? []);
}

/** Whether anything failed: a check, a request (k6's count, or a failed status in the logs), a threshold. */
export function failuresOf(
  outcomes: Outcomes,
  figures: Figures,
): { checks: number; requests: number; thresholds: number } {
  const logged = outcomes.requests.filter(isFailure).reduce((sum, group) => sum + group.count, 0);
  return {
    checks: (outcomes.checks ?? []).filter((check) => check.fails > 0).length,
    requests: Math.max(figures.failures.client?.failed ?? 0, logged),
    thresholds: outcomes.thresholds.filter((threshold) => !threshold.ok).length,
  };
}

/**
 * The verdict's first line: what failed, when anything did (before any saturation); else the
 * saturated resource; else that the run was healthy.
 */
export function headlineOf(outcomes: Outcomes, figures: Figures, saturated: string | undefined): string {
  const failed = failuresOf(outcomes, figures);
  if (failed.checks + failed.requests + failed.thresholds > 0) {
    const groups = outcomes.requests.filter(isFailure);
    const top = groups
      .slice(0, 3)
      .map((group) => `${requestName(group)} → ${group.status} × ${n(group.count)}`)
      .join(', ');
    const parts = [
      ...(failed.checks > 0 ? [`${failed.checks} of ${outcomes.checks!.length} checks failed`] : []),
      ...(failed.requests > 0
        ? [
            `${n(failed.requests)} ${failed.requests === 1 ? 'request' : 'requests'} failed${top ? ` (${top}${groups.length > 3 ? ', …' : ''})` : ''}`,
          ]
        : []),
      ...(failed.thresholds > 0 ? [`${failed.thresholds} of ${outcomes.thresholds.length} thresholds breached`] : []),
    ];
    return `FAILED: ${parts.join('; ')}.`;
  }
  if (saturated) return `Bottleneck: ${saturated} saturated.`;
  const met =
    outcomes.thresholds.length > 0 ? `every threshold met (${outcomes.thresholds.length})` : 'no threshold to judge by';
  const checks =
    outcomes.checks && outcomes.checks.length > 0 ? `, every check passed (${outcomes.checks.length})` : '';
  return `Healthy: ${met}${checks}, no failed request, nothing saturated.`;
}
