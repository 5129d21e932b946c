/** The bench's JSON record: what ran, on what machine, and every figure. */
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg, platform, release, totalmem } from 'node:os';
import { join } from 'node:path';
import type { BenchOptions } from './options.js';
import type { StackScenarioResult } from './stack-scenarios.js';
import type { ScenarioResult, TargetCheck } from './targets.js';

export interface MachineInfo {
  cpuModel: string;
  cpuCount: number;
  memoryBytes: number;
  nodeVersion: string;
  os: string;
  /** 1, 5 and 15 minute load averages: how busy the machine was with other work. */
  loadAverageBefore: number[];
  loadAverageAfter: number[];
}

export interface BenchReport {
  /** When the run started (ISO 8601, UTC). */
  date: string;
  machine: MachineInfo;
  options: Omit<BenchOptions, 'resultsDir'>;
  payload: { todos: number; listBytes: number };
  scenarios: ScenarioResult[];
  /** The stack and saturation scenarios, when run. */
  stackScenarios: StackScenarioResult[];
  targets: TargetCheck[];
}

/** The machine as it is now; call at the start of a run and pass loadAverageBefore on. */
export function describeMachine(loadAverageBefore: number[]): MachineInfo {
  const processors = cpus();
  return {
    cpuModel: processors[0]?.model.trim() ?? 'unknown',
    cpuCount: processors.length,
    memoryBytes: totalmem(),
    nodeVersion: process.version,
    os: `${platform()} ${release()}`,
    loadAverageBefore,
    loadAverageAfter: currentLoadAverage(),
  };
}

export function currentLoadAverage(): number[] {
  return loadavg().map((load) => Math.round(load * 100) / 100);
}

/** Writes `bench-<UTC timestamp>.json` and a copy as `bench-latest.json`; resolves with both paths. */
export async function writeResults(report: BenchReport, dir: string): Promise<{ file: string; latest: string }> {
  await mkdir(dir, { recursive: true });
  // ISO 8601 basic format (20261128T134501Z): no colons, which some file systems refuse.
  const stamp = report.date.replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const file = join(dir, `bench-${stamp}.json`);
  const latest = join(dir, 'bench-latest.json');
  await writeFile(file, `${JSON.stringify(report, null, 2)}\n`);
  await copyFile(file, latest);
  return { file, latest };
}
