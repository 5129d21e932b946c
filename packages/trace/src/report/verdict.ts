/**
 * The verdict: a few sentences, each from one rule over the figures (figures.ts) and carrying
 * the figures it rests on. Pure functions, so that each can be checked on recorded runs. The
 * first finding names the saturated resource, or says that nothing saturated.
 */
import type { Figures, ProcessFigures } from './figures.js';

export interface Finding {
  /** Which rule found it. */
  rule: 'machine saturated' | 'process saturated' | 'nothing saturated' | 'throughput plateau' | 'queueing before the services' | 'cache bypassed' | 'uncached read path' | 'shed and rate-limited';
  sentence: string;
  /** The figures the sentence rests on, by name. */
  evidence: Record<string, number | string>;
}

export interface Verdict {
  /** The saturated resource, e.g. `edge (one core)` or `the machine (2 cores)`; undefined when none was. */
  saturated: string | undefined;
  findings: Finding[];
}

/** A share of a core (or of the machine's cores) at which it counts as saturated. */
export const SATURATED_SHARE = 0.9;
/** Processes whose work runs on one thread: one core is their limit (Node's event loop, Redis). */
const ONE_CORE_KINDS = new Set<ProcessFigures['kind']>(['edge', 'replica', 'redis']);
/** The client's p95 counts as queued in front of the services when they saw less than this share of it… */
const QUEUEING_SHARE = 0.5;
/** …and the gap is at least this long. */
const QUEUEING_MIN_MS = 10;
/** A cache bypass share worth a sentence. */
const BYPASS_SHARE = 0.05;
/** Event-loop delay (p99) at which a replica is lagging. */
const LAGGING_LOOP_MS = 100;
/** Reads going to PostgreSQL make the uncached read path when they are at least this share. */
const UNCACHED_SHARE = 0.5;

export function verdictOf(figures: Figures): Verdict {
  const saturation = saturationFindings(figures);
  const findings = [
    ...saturation,
    ...[throughputFinding, queueingFinding, uncachedFinding, bypassFinding, sheddingFinding].flatMap((rule) => rule(figures) ?? []),
  ];
  const saturated = saturation.find((finding) => finding.rule !== 'nothing saturated');
  return { saturated: saturated ? String(saturated.evidence.resource) : undefined, findings };
}

/** A share as a whole percent. */
const percent = (share: number): string => `${Math.round(share * 100)} %`;
const ms = (value: number): string => (value >= 1000 ? `${(value / 1000).toFixed(2)} s` : `${value >= 10 ? Math.round(value) : value.toFixed(1)} ms`);
const clock = (seconds: number): string => `${Math.floor(seconds / 60)}:${String(Math.round(seconds % 60)).padStart(2, '0')}`;
const round = (value: number, digits = 2): number => Number(value.toFixed(digits));

/**
 * One core saturated for a one-thread process, all the cores for the machine; with neither,
 * a sentence that says so with the busiest figures. Without samples it says what is missing.
 */
export function saturationFindings(figures: Figures): Finding[] {
  const { list, machine, cores } = figures.processes;
  if (list.length === 0) {
    return [{ rule: 'nothing saturated', sentence: `CPU was not sampled, so saturation cannot be judged: ${figures.processes.missing.join('; ')}.`, evidence: { resource: 'unknown' } }];
  }
  const findings: Finding[] = [];
  const ownCores = list.reduce((sum, process) => sum + process.peakCores, 0);
  if (machine && cores !== undefined && machine.peakCores >= SATURATED_SHARE * cores) {
    const busiest = list[0]!;
    findings.push({
      rule: 'machine saturated',
      sentence:
        `The machine was saturated: ${machine.peakCores.toFixed(1)} of its ${cores} cores busy at the peak, ` +
        `${ownCores >= SATURATED_SHARE * machine.peakCores ? 'almost all of it this run' : `this run's processes ${ownCores.toFixed(1)} of them, the rest other work on the machine`}; ` +
        `${busiest.name} used the most (${busiest.averageCores.toFixed(2)} cores on average, ${busiest.cpuPerRequestUs === undefined ? '' : `${Math.round(busiest.cpuPerRequestUs)} µs per request, `}peak ${busiest.peakCores.toFixed(2)}).`,
      evidence: {
        resource: `the machine (${cores} cores)`,
        machinePeakCores: round(machine.peakCores),
        cores,
        runPeakCores: round(ownCores),
        busiestProcess: busiest.name,
        busiestPeakCores: round(busiest.peakCores),
      },
    });
  }
  for (const process of list.filter((candidate) => ONE_CORE_KINDS.has(candidate.kind) && candidate.peakCores >= SATURATED_SHARE)) {
    findings.push({
      rule: 'process saturated',
      sentence:
        `${process.name} was saturated: ${percent(process.peakCores)} of a core at its busiest (its work runs on one thread), ` +
        `${process.averageCores.toFixed(2)} cores on average${process.cpuPerRequestUs === undefined ? '' : `, ${Math.round(process.cpuPerRequestUs)} µs of CPU per request`}.`,
      evidence: { resource: `${process.name} (one core)`, peakCores: round(process.peakCores), averageCores: round(process.averageCores) },
    });
  }
  if (findings.length > 0) return findings;
  const busiest = list[0]!;
  return [
    {
      rule: 'nothing saturated',
      sentence:
        `Nothing saturated: the busiest process, ${busiest.name}, peaked at ${percent(busiest.peakCores)} of a core` +
        (machine && cores !== undefined ? `, and the machine at ${machine.peakCores.toFixed(1)} of ${cores} cores.` : '.'),
      evidence: { resource: 'none', busiestProcess: busiest.name, busiestPeakCores: round(busiest.peakCores), ...(machine && { machinePeakCores: round(machine.peakCores) }), ...(cores !== undefined && { cores }) },
    },
  ];
}

export function throughputFinding(figures: Figures): Finding | undefined {
  const plateau = figures.throughput?.plateau;
  if (!plateau) return undefined;
  return {
    rule: 'throughput plateau',
    sentence: `From ${clock(plateau.atSeconds)} (≈ ${plateau.vus.toLocaleString('en-US')} VUs) throughput stopped rising at ${Math.round(plateau.rps).toLocaleString('en-US')} req/s, while VUs went on to ${plateau.vusLater.toLocaleString('en-US')}.`,
    evidence: { atSeconds: round(plateau.atSeconds, 1), vus: plateau.vus, rps: Math.round(plateau.rps), vusLater: plateau.vusLater },
  };
}

/** The client's p95 against the services': what they did not see was spent before them. */
export function queueingFinding(figures: Figures): Finding | undefined {
  const client = figures.client.find((group) => group.name === 'all requests')?.p95Ms;
  const service = figures.services?.p95Ms;
  if (client === undefined || service === undefined) return undefined;
  const gapMs = client - service;
  if (gapMs < QUEUEING_MIN_MS || service > QUEUEING_SHARE * client) return undefined;
  const edge = figures.edge?.p95Ms;
  return {
    rule: 'queueing before the services',
    sentence:
      `${percent(gapMs / client)} of k6's p95 (${ms(client)}) was spent before the services (their p95 ${ms(service)}): ` +
      `queueing in the load generator, the load balancer or for CPU` +
      (edge === undefined ? '.' : `; the edge's p95 was ${ms(edge)}, so ${ms(Math.max(0, client - edge))} of it before the edge and ${ms(Math.max(0, edge - service))} in it.`),
    evidence: { clientP95Ms: round(client, 1), serviceP95Ms: round(service, 1), gapMs: round(gapMs, 1), ...(edge !== undefined && { edgeP95Ms: round(edge, 1) }) },
  };
}

/** Reads that went past the cache because Redis could not be used, and why that might be. */
export function bypassFinding(figures: Figures): Finding | undefined {
  const { reads, cache, replicas } = figures.readPath;
  if (reads === 0 || cache.bypass / reads < BYPASS_SHARE) return undefined;
  const lag = Math.max(0, ...replicas.map((replica) => replica.eventLoopDelayP99MaxMs ?? 0));
  return {
    rule: 'cache bypassed',
    sentence:
      `${percent(cache.bypass / reads)} of reads bypassed the cache (Redis unusable: its commands timed out or it was down)` +
      (lag >= LAGGING_LOOP_MS ? `, while the replicas' event loops lagged up to ${ms(lag)} (p99): a late loop makes Redis replies late too.` : '.'),
    evidence: { bypassed: cache.bypass, reads, eventLoopDelayP99MaxMs: lag },
  };
}

/** Most reads went to PostgreSQL: where todo-read's time on them went. */
export function uncachedFinding(figures: Figures): Finding | undefined {
  const { reads, uncached, queriesPer1000Reads, cache } = figures.readPath;
  if (reads === 0 || uncached.reads / reads < UNCACHED_SHARE || !uncached.atService) return undefined;
  const total = uncached.dbMs + uncached.cacheMs + uncached.otherMs;
  const why = cache.none === reads ? 'the cache was off (todo-read ran without Redis)' : `${percent((cache.miss + cache.bypass) / reads)} missed or bypassed the cache`;
  return {
    rule: 'uncached read path',
    sentence:
      `The uncached read path set the pace: ${percent(uncached.reads / reads)} of reads went to PostgreSQL (${why}; ${Math.round(queriesPer1000Reads ?? 0)} queries per 1000 reads), ` +
      `taking todo-read ${ms(uncached.atService.p50Ms)} at p50 and ${ms(uncached.atService.p95Ms)} at p95: ` +
      `${percent(uncached.dbMs / total)} of that time in the database and ${percent(uncached.otherMs / total)} in todo-read itself (serializing the list to JSON, the handler).`,
    evidence: {
      uncachedReads: uncached.reads,
      reads,
      queriesPer1000Reads: round(queriesPer1000Reads ?? 0, 1),
      dbShare: round(uncached.dbMs / total),
      serializationShare: round(uncached.otherMs / total),
      p95Ms: round(uncached.atService.p95Ms, 1),
    },
  };
}

export function sheddingFinding(figures: Figures): Finding | undefined {
  const { shed, rateLimited } = figures.readPath;
  const served = figures.services?.count ?? 0;
  if (shed + rateLimited === 0 || served === 0) return undefined;
  return {
    rule: 'shed and rate-limited',
    sentence: `The services refused ${percent((shed + rateLimited) / served)} of requests: ${shed.toLocaleString('en-US')} shed with 503 (overloaded) and ${rateLimited.toLocaleString('en-US')} rate-limited with 429.`,
    evidence: { shed, rateLimited, served },
  };
}
