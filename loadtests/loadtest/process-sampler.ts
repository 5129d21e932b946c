/**
 * CPU and memory of the load test's processes while k6 runs, from /proc every second: this
 * process (the runner), k6, and on the local stack the edge, each replica, Redis and
 * PostgreSQL (its postmaster and backends), all descendants of this process. The bottleneck
 * report (@taskoverflow/trace) reads what it records; elsewhere than Linux it records nothing.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { RUNNER_PROCESS, type ProcessSample, type ProcessSamples } from '@taskoverflow/trace';
import { descendantsOf, readMachineBusySeconds, readProcessTable, readRssBytes } from '@taskoverflow/stack';

const DEFAULT_INTERVAL_MS = 1000;
/** The services and the edge are started with their instance's name (todo-read-2, edge). */
const INSTANCE_VARIABLE = 'SERVICE_INSTANCE=';
const NAMES_BY_COMMAND: Record<string, string> = {
  k6: 'k6',
  'redis-server': 'redis',
  postgres: 'postgres',
  postmaster: 'postgres',
};

interface Tracked {
  name: string;
  /** Its CPU seconds when first seen; 0 for a process that started after the first sample. */
  baseline: number;
  last: number;
}

export class ProcessSampler {
  readonly #samples: ProcessSample[] = [];
  readonly #tracked = new Map<number, Tracked>();
  /** Processes left out (`measured`), so that each is named once. */
  readonly #ignored = new Set<number>();
  /** CPU seconds of processes that exited, by name. */
  readonly #exited = new Map<string, number>();
  readonly #machineStart = readMachineBusySeconds();
  /** When k6 starts, for the report to leave out what came before (the seeding); recorded without /proc too. */
  readonly #startedAtMs = Date.now();
  readonly #timer: NodeJS.Timeout;

  /**
   * `measured`: the processes whose figures count, by name (this process and k6 always do);
   * default all. A ceiling's run leaves out the stack idling beside it.
   */
  constructor(
    private readonly rootPid = process.pid,
    private readonly intervalMs = DEFAULT_INTERVAL_MS,
    private readonly measured: (name: string) => boolean = () => true,
  ) {
    this.#sample();
    this.#timer = setInterval(() => this.#sample(), intervalMs);
  }

  /** Stops sampling, with a last sample; what was recorded. */
  stop(): ProcessSamples {
    clearInterval(this.#timer);
    this.#sample();
    return {
      startedAtMs: this.#startedAtMs,
      cores: availableParallelism(),
      intervalMs: this.intervalMs,
      samples: this.#samples,
    };
  }

  #sample(): void {
    const table = readProcessTable();
    if (!table) return;
    const first = this.#samples.length === 0;
    const alive = new Set<number>();
    const processes: ProcessSample['processes'] = {};
    for (const process of descendantsOf(this.rootPid, table)) {
      let tracked = this.#tracked.get(process.pid);
      if (!tracked) {
        if (this.#ignored.has(process.pid)) continue;
        const name = this.#nameOf(process.pid, process.command);
        if (name !== RUNNER_PROCESS && name !== 'k6' && !this.measured(name)) {
          this.#ignored.add(process.pid);
          continue;
        }
        tracked = { name, baseline: first ? process.cpuSeconds : 0, last: process.cpuSeconds };
        this.#tracked.set(process.pid, tracked);
      }
      alive.add(process.pid);
      tracked.last = process.cpuSeconds;
      const figures = (processes[tracked.name] ??= {
        cpuSeconds: this.#exited.get(tracked.name) ?? 0,
        rssBytes: 0,
        count: 0,
      });
      figures.cpuSeconds += tracked.last - tracked.baseline;
      figures.rssBytes += readRssBytes(process.pid) ?? 0;
      figures.count += 1;
    }
    for (const [pid, tracked] of this.#tracked) {
      if (alive.has(pid)) continue;
      this.#exited.set(tracked.name, (this.#exited.get(tracked.name) ?? 0) + tracked.last - tracked.baseline);
      this.#tracked.delete(pid);
    }
    const machine = readMachineBusySeconds();
    this.#samples.push({
      atMs: Date.now(),
      machineCpuSeconds:
        machine === undefined || this.#machineStart === undefined ? undefined : machine - this.#machineStart,
      processes,
    });
  }

  #nameOf(pid: number, command: string): string {
    if (pid === this.rootPid) return RUNNER_PROCESS;
    const known = NAMES_BY_COMMAND[command];
    if (known) return known;
    try {
      const instance = readFileSync(`/proc/${pid}/environ`, 'latin1')
        .split('\0')
        .find((variable) => variable.startsWith(INSTANCE_VARIABLE));
      if (instance) return instance.slice(INSTANCE_VARIABLE.length);
    } catch {
      // It exited between the table and here: named by its command.
    }
    return command;
  }
}
