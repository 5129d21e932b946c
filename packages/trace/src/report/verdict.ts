/**
 * The verdict: a few sentences, each from one rule over the figures (figures.ts) and carrying
 * the figures it rests on. Pure functions, so that each can be checked on recorded runs. The
 * first finding names the saturated resource, or says that nothing saturated.
 */
import { AWS_SATURATION_RULES, awsFindings, type AwsRule } from './aws-verdict.js';
import type { Figures, ProcessFigures } from './figure-types.js';
import { formatClock, formatMs as ms } from './format.js';
import { functionalFindings, headlineOf, type FunctionalRule } from './functional-verdict.js';
import type { Iterations, Outcomes } from './outcomes.js';

export interface Finding {
  /** Which rule found it. */
  rule:
    | 'machine saturated'
    | 'process saturated'
    | 'nothing saturated'
    | 'machine busy with other work'
    | 'throughput plateau'
    | 'queueing before the services'
    | 'failed requests'
    | 'cache bypassed'
    | 'uncached read path'
    | 'shed and rate-limited'
    | 'rate set by think time'
    | 'load generator busy'
    | FunctionalRule
    | AwsRule;
  sentence: string;
  /** The figures the sentence rests on, by name. */
  evidence: Record<string, number | string>;
}

export interface Verdict {
  /** The first line: what failed when anything did, else the saturated resource, else that the run was healthy. */
  headline: string;
  /** The saturated resource, e.g. `edge (one core)` or `the machine (2 cores)`; undefined when none was. */
  saturated: string | undefined;
  findings: Finding[];
}

/** The findings that name a saturated resource (in evidence.resource). */
const SATURATION_RULES = new Set<Finding['rule']>(['machine saturated', 'process saturated', ...AWS_SATURATION_RULES]);
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

/**
 * What the run did first (its outcomes: failed checks and requests traced to their causes,
 * the data it changed), then what limited it. Without outcomes, the speed findings alone.
 */
export function verdictOf(figures: Figures, outcomes?: Outcomes): Verdict {
  const context: VerdictContext = {
    everyThresholdMet:
      outcomes !== undefined &&
      outcomes.thresholds.length > 0 &&
      outcomes.thresholds.every((threshold) => threshold.ok) &&
      (figures.failures.client?.failed ?? 0) === 0,
    iterations: outcomes?.iterations,
  };
  const aws = awsFindings(figures.aws);
  // Against AWS the local samples are k6's machine only: its "nothing saturated" gives way to what CloudWatch found saturated.
  const awsSaturated = aws.some((finding) => SATURATION_RULES.has(finding.rule));
  const saturation = saturationFindings(figures, context).filter(
    (finding) => !(awsSaturated && finding.rule === 'nothing saturated'),
  );
  const findings = [
    ...saturation,
    ...aws,
    ...[
      (of: Figures) => throughputFinding(of, context.iterations),
      queueingFinding,
      failuresFinding,
      uncachedFinding,
      bypassFinding,
      sheddingFinding,
    ].flatMap((rule) => rule(figures) ?? []),
  ];
  const saturated = findings.find((finding) => SATURATION_RULES.has(finding.rule));
  const resource = saturated ? String(saturated.evidence.resource) : undefined;
  return {
    headline: outcomes
      ? headlineOf(outcomes, figures, resource)
      : resource
        ? `Bottleneck: ${resource} saturated.`
        : 'Bottleneck: nothing saturated.',
    saturated: resource,
    findings: outcomes ? [...functionalFindings(outcomes, figures), ...findings] : findings,
  };
}

/** What the speed rules need beyond the figures. */
export interface VerdictContext {
  /** k6 judged the run and every threshold held, with no failed request. */
  everyThresholdMet: boolean;
  iterations: Iterations | undefined;
}

/** Share of the machine's busy cores that k6 took in its busiest periods (0 without a series). */
export function loadGeneratorShareAtPeak(figures: Figures): number {
  const { series, cores } = figures.processes;
  if (cores === undefined) return 0;
  const busy = series.filter((period) => (period.machineCores ?? 0) >= SATURATED_SHARE * cores);
  const machine = busy.reduce((sum, period) => sum + (period.machineCores ?? 0), 0);
  const k6 = busy.reduce((sum, period) => sum + (period.cores.k6 ?? 0), 0);
  return machine > 0 ? k6 / machine : 0;
}

/** An iteration spends at most this share of its time in requests for its rate to be set by think time… */
const THINK_BOUND_SHARE = 0.1;
/** …and k6 sends at least this share of the rate its VUs would at that pace. */
const KEPT_UP_SHARE = 0.8;

/** A share as a whole percent. */
const percent = (share: number): string =>
  `${share > 0 && share < 0.01 ? (share * 100).toFixed(1) : Math.round(share * 100)} %`;
const round = (value: number, digits = 2): number => Number(value.toFixed(digits));

/**
 * One core saturated for a one-thread process of this run. The machine's cores all busy count
 * as saturation when this run's processes filled them, or when the run's latency suffered (k6's
 * p95 above the scenario's target, or no target to judge by): on a machine shared with other
 * work, a run that met its target while others kept the cores busy saturated nothing, and the
 * verdict says the machine was busy instead. With neither, a sentence that says so with the
 * busiest figures. Without samples it says what is missing.
 */
export function saturationFindings(
  figures: Figures,
  context: VerdictContext = { everyThresholdMet: false, iterations: undefined },
): Finding[] {
  const { list, machine, cores, run } = figures.processes;
  if (list.length === 0) {
    return [
      {
        rule: 'nothing saturated',
        sentence: `CPU was not sampled, so saturation cannot be judged: ${figures.processes.missing.join('; ')}.`,
        evidence: { resource: 'unknown' },
      },
    ];
  }
  const findings: Finding[] = [];
  const notes: Finding[] = [];
  const runPeak = run?.peakCores ?? 0;
  const latency = latencyAgainstTarget(figures);
  const busiest = list[0]!;
  if (machine && cores !== undefined && machine.peakCores >= SATURATED_SHARE * cores) {
    const byThisRun = runPeak >= SATURATED_SHARE * machine.peakCores;
    const whose = byThisRun
      ? 'almost all of it this run'
      : `this run's processes ${runPeak.toFixed(1)} of them, the rest other work on the machine`;
    const evidence = {
      machinePeakCores: round(machine.peakCores),
      cores,
      runPeakCores: round(runPeak),
      ...(latency && { clientP95Ms: round(latency.clientP95Ms, 1), p95TargetMs: latency.targetMs }),
    };
    const k6Share = loadGeneratorShareAtPeak(figures);
    if (context.everyThresholdMet && latency?.met !== false && k6Share >= 0.5) {
      // The load generator's own busy moment (starting thousands of VUs) on a run that met
      // every threshold: it limited nothing, so it is a note, not the headline.
      notes.push({
        rule: 'load generator busy',
        sentence:
          `The machine was busy for a moment (${machine.peakCores.toFixed(1)} of its ${cores} cores at the peak), ${percent(k6Share)} of it k6 itself ` +
          `(starting VUs, sending requests); every threshold held, so it limited nothing of this run.`,
        evidence: { ...evidence, loadGeneratorShare: round(k6Share) },
      });
    } else if (byThisRun || !latency?.met) {
      findings.push({
        rule: 'machine saturated',
        sentence:
          `The machine was saturated: ${machine.peakCores.toFixed(1)} of its ${cores} cores busy at the peak, ${whose}; ` +
          `${busiest.name} used the most (${busiest.averageCores.toFixed(2)} cores on average, ${busiest.cpuPerRequestUs === undefined ? '' : `${Math.round(busiest.cpuPerRequestUs)} µs per request, `}peak ${busiest.peakCores.toFixed(2)})` +
          (latency
            ? `, and k6's p95 (${ms(latency.clientP95Ms)}) ${latency.met ? 'met' : 'missed'} its ${ms(latency.targetMs)} target.`
            : '.'),
        evidence: {
          resource: `the machine (${cores} cores)`,
          ...evidence,
          busiestProcess: busiest.name,
          busiestPeakCores: round(busiest.peakCores),
        },
      });
    } else {
      notes.push({
        rule: 'machine busy with other work',
        sentence: `The machine was busy with other work: ${machine.peakCores.toFixed(1)} of its ${cores} cores at the peak, ${whose}; this run's figures are those of a shared machine.`,
        evidence,
      });
    }
  }
  for (const process of list.filter(
    (candidate) => ONE_CORE_KINDS.has(candidate.kind) && candidate.peakCores >= SATURATED_SHARE,
  )) {
    findings.push({
      rule: 'process saturated',
      sentence:
        `${process.name} was saturated: ${percent(process.peakCores)} of a core at its busiest (its work runs on one thread), ` +
        `${process.averageCores.toFixed(2)} cores on average${process.cpuPerRequestUs === undefined ? '' : `, ${Math.round(process.cpuPerRequestUs)} µs of CPU per request`}.`,
      evidence: {
        resource: `${process.name} (one core)`,
        peakCores: round(process.peakCores),
        averageCores: round(process.averageCores),
      },
    });
  }
  if (findings.length > 0) return [...findings, ...notes];
  return [
    {
      rule: 'nothing saturated',
      sentence:
        `Nothing saturated: this run's busiest process, ${busiest.name}, peaked at ${busiest.peakCores > 1 ? `${busiest.peakCores.toFixed(2)} cores` : `${percent(busiest.peakCores)} of a core`}` +
        (cores !== undefined
          ? `, its processes together at ${runPeak.toFixed(1)} of the machine's ${cores} cores`
          : '') +
        (latency
          ? latency.met
            ? `, and k6's p95 (${ms(latency.clientP95Ms)}) met its ${ms(latency.targetMs)} target.`
            : `, yet k6's p95 (${ms(latency.clientP95Ms)}) missed its ${ms(latency.targetMs)} target: the requests waited on something other than CPU ` +
              '(a queue, a lock, a timer, or a process this run did not sample).'
          : '.'),
      evidence: {
        resource: 'none',
        busiestProcess: busiest.name,
        busiestPeakCores: round(busiest.peakCores),
        runPeakCores: round(runPeak),
        ...(cores !== undefined && { cores }),
        ...(machine && { machinePeakCores: round(machine.peakCores) }),
        ...(latency && { clientP95Ms: round(latency.clientP95Ms, 1), p95TargetMs: latency.targetMs }),
      },
    },
    ...notes,
  ];
}

/** k6's p95 against the scenario's p95 threshold; undefined when either is unknown. */
function latencyAgainstTarget(figures: Figures): { clientP95Ms: number; targetMs: number; met: boolean } | undefined {
  const clientP95Ms = figures.client.find((group) => group.name === 'all requests')?.p95Ms;
  const targetMs = figures.run.p95TargetMs;
  if (clientP95Ms === undefined || targetMs === undefined) return undefined;
  return { clientP95Ms, targetMs, met: clientP95Ms < targetMs };
}

/**
 * Throughput that stopped rising while VUs kept rising, compared with what the VUs would send at
 * their think time and request time: VUs × requests per iteration ÷ (think time + request time).
 * When each iteration spends at most a tenth of its time in requests and k6 sent at least
 * 80 % of that bound, the rate was set by think time (a VU that has just started sends at
 * once, so a ramp's rate follows new VUs more than their number): that is said instead. Else
 * the plateau stands, with the bound and which side of it k6 was.
 */
export function throughputFinding(figures: Figures, iterations?: Iterations): Finding | undefined {
  const plateau = figures.throughput?.plateau;
  if (!plateau) return undefined;
  let bound: { boundRps: number; clause: string } | undefined;
  if (iterations && iterations.thinkSeconds > 0) {
    const iterationMs = iterations.thinkSeconds * 1000 + iterations.requestMsPerIteration;
    const waitingShare = iterations.requestMsPerIteration / iterationMs;
    const boundRps = (plateau.vus * iterations.requestsPerIteration * 1000) / iterationMs;
    const belowBound = plateau.rps < KEPT_UP_SHARE * boundRps;
    bound = {
      boundRps,
      clause:
        ` At ${iterations.thinkSeconds.toFixed(1)} s of think time and ${ms(iterations.requestMsPerIteration)} of requests per iteration, ` +
        `${plateau.vus.toLocaleString('en-US')} VUs would send ≈ ${boundRps.toFixed(boundRps < 10 ? 1 : 0)} req/s` +
        (belowBound
          ? `: k6 sent less, so its VUs took longer per iteration than that (the load generator short of CPU, or requests slower at the plateau than on average).`
          : waitingShare > THINK_BOUND_SHARE
            ? `: requests take ${percent(waitingShare)} of each iteration, so their growing latency is what held the rate.`
            : '.'),
    };
    if (waitingShare <= THINK_BOUND_SHARE && !belowBound) {
      return {
        rule: 'rate set by think time',
        sentence:
          `The request rate was set by think time, not by a limit: each VU thinks ${iterations.thinkSeconds.toFixed(iterations.thinkSeconds < 10 ? 1 : 0)} s per iteration ` +
          `(${iterations.thinkSource === 'script' ? 'as the script says' : "estimated from k6's iterations"}) and spends ${ms(iterations.requestMsPerIteration)} in requests, ` +
          `so ${plateau.vus.toLocaleString('en-US')} VUs send about ${plateau.vus.toLocaleString('en-US')} × ${iterations.requestsPerIteration.toFixed(2)} requests ÷ (${iterations.thinkSeconds.toFixed(0)} s + ${ms(iterations.requestMsPerIteration)}) ≈ ${boundRps.toFixed(boundRps < 10 ? 1 : 0)} req/s; ` +
          `k6 sent ${Math.round(plateau.rps).toLocaleString('en-US')} req/s there (VUs send their first request as they start), so the flat stretch from ${formatClock(plateau.atSeconds)} is the ramp's shape, not saturation.`,
        evidence: {
          atSeconds: round(plateau.atSeconds, 1),
          vus: plateau.vus,
          rps: Math.round(plateau.rps),
          thinkSeconds: round(iterations.thinkSeconds, 1),
          requestsPerIteration: round(iterations.requestsPerIteration, 3),
          requestMsPerIteration: round(iterations.requestMsPerIteration, 1),
          boundRps: round(boundRps, 1),
          waitingShare: round(waitingShare, 4),
        },
      };
    }
  }
  return {
    rule: 'throughput plateau',
    sentence:
      `From ${formatClock(plateau.atSeconds)} (≈ ${plateau.vus.toLocaleString('en-US')} VUs) throughput stopped rising at ${Math.round(plateau.rps).toLocaleString('en-US')} req/s, while VUs went on to ${plateau.vusLater.toLocaleString('en-US')}.` +
      (bound?.clause ?? ''),
    evidence: {
      atSeconds: round(plateau.atSeconds, 1),
      vus: plateau.vus,
      rps: Math.round(plateau.rps),
      vusLater: plateau.vusLater,
      ...(bound && { boundRps: round(bound.boundRps, 1) }),
    },
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
      (edge === undefined
        ? '.'
        : `; the edge's p95 was ${ms(edge)}, so ${ms(Math.max(0, client - edge))} of it before the edge and ${ms(Math.max(0, edge - service))} in it.`),
    evidence: {
      clientP95Ms: round(client, 1),
      serviceP95Ms: round(service, 1),
      gapMs: round(gapMs, 1),
      ...(edge !== undefined && { edgeP95Ms: round(edge, 1) }),
    },
  };
}

/** What k6 calls each failure cause it counts (loadtests/k6/lib/summary.js). */
const CAUSE_NAMES: Record<string, string> = {
  'status:0': 'got no response',
  'error_code:1050': "hit k6's request timeout",
};
const causeName = (cause: string): string =>
  CAUSE_NAMES[cause] ?? `were answered ${cause.slice(cause.indexOf(':') + 1)}`;

/**
 * Requests k6 counted as failed, by its causes, and where the edge's and the services' lines
 * place them: shed or refused by the services, refused by the edge's bounded queue (503), a
 * replica failing behind the edge (502, 504), or never answered at all. What the logs do not
 * account for is said too (cut logs, or requests that never reached the edge).
 */
export function failuresFinding(figures: Figures): Finding | undefined {
  const { client, edgeStatuses, serviceStatuses, edgeQueueFull, edgeQueueTimeout } = figures.failures;
  if (!client || client.failed === 0) return undefined;
  const count = (statuses: Record<string, number>, match: (status: number) => boolean): number =>
    Object.entries(statuses).reduce((sum, [status, n]) => sum + (match(Number(status)) ? n : 0), 0);
  const { shed, rateLimited } = figures.readPath;
  // [what the logs say happened to them, where they came from]
  const sources: Array<[what: string, from: string, count: number]> = [
    ['shed by the services (503, overloaded)', 'the services shedding load', shed],
    ['rate-limited by the services (429)', "the services' rate limit", rateLimited],
    ['other 5xx from the services', 'the services failing', count(serviceStatuses, (status) => status >= 500) - shed],
    [
      "refused at once by the edge's bounded queue (503: every replica's queue full)",
      "the edge's bounded queue",
      edgeQueueFull,
    ],
    ["refused by the edge's bounded queue after waiting in it (503)", "the edge's bounded queue", edgeQueueTimeout],
    [
      '502 or 504 from the edge (a replica failed or did not answer in time)',
      'replicas failing behind the edge',
      count(edgeStatuses, (status) => status === 502 || status === 504),
    ],
    [
      'other 4xx from the services',
      "the services' answers to bad requests",
      count(serviceStatuses, (status) => status >= 400 && status < 500 && status !== 429),
    ],
    [
      'no response at all (k6 status 0: the connection failed or broke)',
      'connections that failed before any answer',
      client.causes['status:0'] ?? 0,
    ],
  ];
  const placed = sources.filter(([, , n]) => n > 0);
  const unplaced = client.failed - placed.reduce((sum, [, , n]) => sum + n, 0);
  const byOrigin = new Map<string, number>();
  for (const [, from, value] of placed) byOrigin.set(from, (byOrigin.get(from) ?? 0) + value);
  const main = [...byOrigin].sort((a, b) => b[1] - a[1])[0];
  const causes = Object.entries(client.causes).filter(([, n]) => n > 0);
  const n = (value: number): string => value.toLocaleString('en-US');
  return {
    rule: 'failed requests',
    sentence: [
      `k6 saw ${n(client.failed)} failed requests (${percent(client.failed / client.requests)} of ${n(client.requests)})` +
        (causes.length > 0
          ? `: ${causes.map(([cause, value]) => `${n(value)} ${causeName(cause)}`).join(', ')}.`
          : '.'),
      placed.length > 0
        ? `The logs place them: ${placed.map(([what, , value]) => `${n(value)} ${what}`).join('; ')}.`
        : '',
      main && main[1] * 2 >= client.failed ? `Most came from ${main[0]} (${percent(main[1] / client.failed)}).` : '',
      unplaced > 0
        ? `${n(unplaced)} are in no log: the logs are cut, or the requests never reached the edge (queued in the load generator or the kernel's accept queue).`
        : '',
    ]
      .filter(Boolean)
      .join(' '),
    evidence: {
      failed: client.failed,
      requests: client.requests,
      ...Object.fromEntries(causes),
      ...(main && { mostFrom: main[0] }),
      unplaced: Math.max(0, unplaced),
    },
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
      (lag >= LAGGING_LOOP_MS
        ? `, while the replicas' event loops lagged up to ${ms(lag)} (p99): a late loop makes Redis replies late too.`
        : '.'),
    evidence: { bypassed: cache.bypass, reads, eventLoopDelayP99MaxMs: lag },
  };
}

/** Most reads went to PostgreSQL: where todo-read's time on them went. */
export function uncachedFinding(figures: Figures): Finding | undefined {
  const { reads, uncached, queriesPer1000Reads, cache } = figures.readPath;
  if (reads === 0 || uncached.reads / reads < UNCACHED_SHARE || !uncached.atService) return undefined;
  const total = uncached.dbMs + uncached.cacheMs + uncached.otherMs;
  const why =
    cache.none === reads
      ? 'the cache was off (todo-read ran without Redis)'
      : `${percent((cache.miss + cache.bypass) / reads)} missed or bypassed the cache`;
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
