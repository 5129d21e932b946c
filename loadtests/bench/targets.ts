/**
 * The performance targets of the issue, checked against one run's figures. They are what the
 * bench reports on, never assertions: a miss is a finding, printed with ✗.
 */
import type { ScenarioMeasurement } from './measure.js';
import type { ScenarioName } from './scenarios.js';

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
const MEBIBYTE = 1024 * 1024;

export function withCeilingRatios(measurements: ScenarioMeasurement[]): ScenarioResult[] {
  const ceiling = measurements.find((measurement) => measurement.name === 'ceiling');
  return measurements.map((measurement) => ({
    ...measurement,
    ratioToCeiling: ceiling && ceiling.requestsPerSecond > 0 ? Math.round((measurement.requestsPerSecond / ceiling.requestsPerSecond) * 100) / 100 : null,
  }));
}

export function checkTargets(results: ScenarioResult[], connections: number): TargetCheck[] {
  const find = (name: ScenarioName): ScenarioResult | undefined => results.find((result) => result.name === name);
  const cachedList = find('cached-list');
  return [
    ratioCheck('cached list', find('cached-list'), 0.7),
    ratioCheck('cached by id', find('cached-by-id'), 0.7),
    ratioCheck('304 not modified', find('not-modified'), 0.8),
    latencyCheck(cachedList, connections),
    memoryCheck(cachedList),
  ];
}

function ratioCheck(label: string, result: ScenarioResult | undefined, minimum: number): TargetCheck {
  const target = `${label} ≥ ${minimum.toFixed(2)}× the ceiling`;
  const ratio = result?.ratioToCeiling;
  if (ratio === undefined || ratio === null) return { target, met: null, measured: 'not measured: needs the ceiling scenario and this one' };
  return { target, met: ratio >= minimum, measured: `${ratio.toFixed(2)}×` };
}

function latencyCheck(cachedList: ScenarioResult | undefined, connections: number): TargetCheck {
  const target = `cached list p99 < ${LATENCY_TARGET_P99_MS} ms at ${LATENCY_TARGET_CONNECTIONS} connections`;
  if (!cachedList) return { target, met: null, measured: 'not measured: needs the cached-list scenario' };
  if (connections !== LATENCY_TARGET_CONNECTIONS) return { target, met: null, measured: `not comparable: this run used ${connections} connections` };
  return { target, met: cachedList.latencyMs.p99 < LATENCY_TARGET_P99_MS, measured: `${cachedList.latencyMs.p99} ms` };
}

function memoryCheck(cachedList: ScenarioResult | undefined): TargetCheck {
  const target = `todo-read RSS < ${RSS_TARGET_MB} MB under the cached-list load`;
  if (!cachedList) return { target, met: null, measured: 'not measured: needs the cached-list scenario' };
  if (cachedList.peakRssBytes === null) return { target, met: null, measured: 'not measured: no /proc on this system' };
  const peakMb = cachedList.peakRssBytes / MEBIBYTE;
  return { target, met: peakMb < RSS_TARGET_MB, measured: `${peakMb.toFixed(0)} MB at peak` };
}
