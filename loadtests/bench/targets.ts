/**
 * The performance targets of the issue, checked against one run's figures. They are what the
 * bench reports on, never assertions: a miss is a finding, printed with ✗.
 */
import type { ScenarioMeasurement } from './measure.js';
import type { ServerScenarioName, StackScenarioName } from './scenarios.js';
import type { PhaseMeasurement, StackScenarioResult } from './stack-scenarios.js';

/** A scenario's figures, with its throughput as a share of the ceiling's on the same run. */
export interface ScenarioResult extends ScenarioMeasurement {
  ratioToCeiling: number | null;
}

export interface TargetCheck {
  target: string;
  /** Null when this run could not tell (a scenario it needs did not run, or other settings). */
  met: boolean | null;
  /** What was measured, or why nothing was. */
  measured: string;
}

const LATENCY_TARGET_P99_MS = 20;
/** The connections the latency target is set for. */
const LATENCY_TARGET_CONNECTIONS = 100;
const RSS_TARGET_MB = 150;
/** Through the load balancer, at least this share of one replica's req/s (issue #12). */
const STACK_RATIO_TARGET = 0.5;
/** Two CPU-starved replicas together, at least this share of one replica alone's req/s. */
const SATURATION_RATIO_TARGET = 0.8;
/** Under saturation the reads stay on the cache: at most this many transactions per 1000 reads. */
const TRANSACTIONS_PER_1000_READS_TARGET = 2;
const MEBIBYTE = 1024 * 1024;

export function withCeilingRatios(measurements: ScenarioMeasurement[]): ScenarioResult[] {
  const ceiling = measurements.find((measurement) => measurement.name === 'ceiling');
  return measurements.map((measurement) => ({
    ...measurement,
    ratioToCeiling:
      ceiling && ceiling.requestsPerSecond > 0
        ? Math.round((measurement.requestsPerSecond / ceiling.requestsPerSecond) * 100) / 100
        : null,
  }));
}

export function checkTargets(
  results: ScenarioResult[],
  stackResults: StackScenarioResult[],
  connections: number,
): TargetCheck[] {
  const find = (name: ServerScenarioName): ScenarioResult | undefined => results.find((result) => result.name === name);
  const findStack = (name: StackScenarioName): StackScenarioResult | undefined =>
    stackResults.find((result) => result.name === name);
  const cachedList = find('cached-list');
  const saturated = findStack('saturation')?.phases[1];
  return [
    ratioCheck('cached list', find('cached-list'), 0.7),
    ratioCheck('cached by id', find('cached-by-id'), 0.7),
    ratioCheck('304 not modified', find('not-modified'), 0.8),
    cpuRatioCheck('cached list', find('ceiling'), cachedList, 0.7),
    cpuRatioCheck('304 not modified', find('ceiling'), find('not-modified'), 0.7),
    latencyCheck(cachedList, connections),
    memoryCheck(cachedList),
    oneReplicaRatioCheck('stack: through the load balancer', findStack('stack'), STACK_RATIO_TARGET),
    oneReplicaRatioCheck('saturation: both replicas at once', findStack('saturation'), SATURATION_RATIO_TARGET),
    transactionsCheck(saturated),
    failedCheck(saturated),
  ];
}

/** CPU efficiency against the ceiling: its server µs per request ÷ the scenario's (1 = as lean as bare node:http). */
function cpuRatioCheck(
  label: string,
  ceiling: ScenarioResult | undefined,
  result: ScenarioResult | undefined,
  minimum: number,
): TargetCheck {
  const target = `${label}: server CPU per request, ceiling µs ÷ ${label} µs ≥ ${minimum.toFixed(2)}`;
  const ceilingMicroseconds = ceiling?.perRequest.serverCpuMicroseconds;
  const microseconds = result?.perRequest.serverCpuMicroseconds;
  if (!ceilingMicroseconds || !microseconds)
    return { target, met: null, measured: 'not measured: needs the ceiling scenario and this one, and /proc' };
  const ratio = ceilingMicroseconds / microseconds;
  return {
    target,
    met: ratio >= minimum,
    measured: `${ratio.toFixed(2)} (${ceilingMicroseconds} µs ÷ ${microseconds} µs)`,
  };
}

function oneReplicaRatioCheck(label: string, result: StackScenarioResult | undefined, minimum: number): TargetCheck {
  const target = `${label} ≥ ${minimum.toFixed(2)}× one replica alone (req/s)`;
  if (!result || result.ratioToOneReplica === null)
    return { target, met: null, measured: 'not measured: needs that scenario' };
  const [alone, loaded] = result.phases;
  const rates = `${Math.round(loaded.requestsPerSecond).toLocaleString('en-US')} vs ${Math.round(alone.requestsPerSecond).toLocaleString('en-US')} req/s`;
  return {
    target,
    met: result.ratioToOneReplica >= minimum,
    measured: `${result.ratioToOneReplica.toFixed(2)}× (${rates})`,
  };
}

function transactionsCheck(saturated: PhaseMeasurement | undefined): TargetCheck {
  const target = `saturation: ≤ ${TRANSACTIONS_PER_1000_READS_TARGET} PostgreSQL transactions per 1000 cached reads`;
  if (saturated?.dbTransactionsPer1000Reads == null)
    return { target, met: null, measured: 'not measured: needs the saturation scenario, with reads answered' };
  const queries =
    saturated.dbQueriesPer1000Reads === null
      ? ''
      : `; the replicas logged ${saturated.dbQueriesPer1000Reads} queries per 1000`;
  return {
    target,
    met: saturated.dbTransactionsPer1000Reads <= TRANSACTIONS_PER_1000_READS_TARGET,
    measured: `${saturated.dbTransactionsPer1000Reads} (${saturated.dbTransactions} transactions)${queries}`,
  };
}

function failedCheck(saturated: PhaseMeasurement | undefined): TargetCheck {
  const target = 'saturation: no failed request';
  if (!saturated) return { target, met: null, measured: 'not measured: needs the saturation scenario' };
  return {
    target,
    met: saturated.failed === 0,
    measured: `${saturated.failed} of ${saturated.responses.toLocaleString('en-US')} failed`,
  };
}

function ratioCheck(label: string, result: ScenarioResult | undefined, minimum: number): TargetCheck {
  const target = `${label} ≥ ${minimum.toFixed(2)}× the ceiling`;
  const ratio = result?.ratioToCeiling;
  if (ratio === undefined || ratio === null)
    return { target, met: null, measured: 'not measured: needs the ceiling scenario and this one' };
  return { target, met: ratio >= minimum, measured: `${ratio.toFixed(2)}×` };
}

function latencyCheck(cachedList: ScenarioResult | undefined, connections: number): TargetCheck {
  const target = `cached list p99 < ${LATENCY_TARGET_P99_MS} ms at ${LATENCY_TARGET_CONNECTIONS} connections`;
  if (!cachedList) return { target, met: null, measured: 'not measured: needs the cached-list scenario' };
  if (connections !== LATENCY_TARGET_CONNECTIONS)
    return { target, met: null, measured: `not comparable: this run used ${connections} connections` };
  return { target, met: cachedList.latencyMs.p99 < LATENCY_TARGET_P99_MS, measured: `${cachedList.latencyMs.p99} ms` };
}

function memoryCheck(cachedList: ScenarioResult | undefined): TargetCheck {
  const target = `todo-read RSS < ${RSS_TARGET_MB} MB under the cached-list load`;
  if (!cachedList) return { target, met: null, measured: 'not measured: needs the cached-list scenario' };
  if (cachedList.peakRssBytes === null) return { target, met: null, measured: 'not measured: no /proc on this system' };
  const peakMb = cachedList.peakRssBytes / MEBIBYTE;
  return { target, met: peakMb < RSS_TARGET_MB, measured: `${peakMb.toFixed(0)} MB at peak` };
}
