/** bottlenecks.html: the verdict first, then the figures it rests on, the plots and the slowest requests. */
import { awsSection } from './aws-html.js';
import { cacheChart, cpuChart } from './charts.js';
import type { Figures, Percentiles } from './figure-types.js';
import { escapeHtml, formatMs as ms, runTitle } from './format.js';
import type { Outcomes } from './outcomes.js';
import { outcomesSection } from './outcomes-html.js';
import type { Verdict } from './verdict.js';

/** Processes drawn in the CPU plot: the busiest, so that the legend stays readable. */
const PLOTTED_PROCESSES = 8;

const STYLE = `body{font-family:system-ui,sans-serif;max-width:1000px;margin:2em auto;padding:0 1em;color:#111827}
table{border-collapse:collapse;margin:.5em 0 1.5em}th,td{padding:.25em .7em;border-bottom:1px solid #e5e7eb;text-align:right}
th:first-child,td:first-child{text-align:left}ul.verdict li{margin:.4em 0}.evidence{color:#6b7280;font-size:.85em}
pre{background:#f9fafb;padding:.8em;overflow-x:auto;font-size:12px}.missing{color:#b45309}`;

export function renderHtml(
  figures: Figures,
  verdict: Verdict,
  latencySvg: string | undefined,
  outcomes?: Outcomes,
): string {
  const title = runTitle(figures.run);
  const { processes, readPath } = figures;
  const sections = [
    `<h1>Where the time and the CPU went</h1><p>${escapeHtml(title || figures.runDir)}</p>`,
    `<section id="verdict"><h2>Verdict: ${escapeHtml(verdict.headline)}</h2>${
      verdict.headline.startsWith('FAILED')
        ? `<p>Bottleneck: ${escapeHtml(verdict.saturated ? `${verdict.saturated} saturated` : 'nothing saturated')}</p>`
        : ''
    }<ul class="verdict">${verdict.findings
      .map(
        (finding) =>
          `<li>${escapeHtml(finding.sentence)}<div class="evidence">${escapeHtml(
            Object.entries(finding.evidence)
              .map(([name, value]) => `${name}=${value}`)
              .join(' · '),
          )}</div></li>`,
      )
      .join('')}</ul></section>`,
    ...(outcomes ? [outcomesSection(outcomes)] : []),
    `<section id="client-vs-service"><h2>Client versus service</h2>
<p>k6 measures from sending to the last byte; the edge from accepting to its answer; a service from arrival to its answer. What k6 sees and the services do not was spent queueing before them (load generator, load balancer, CPU).</p>
${table(
  ['', 'requests', 'p50', 'p95', 'p99', 'max'],
  [
    ...figures.client.map((group) => [
      `k6: ${group.name}`,
      count(group.count),
      ms(group.p50Ms),
      ms(group.p95Ms),
      ms(group.p99Ms),
      ms(group.maxMs),
    ]),
    ...(figures.edge ? [percentileRow('edge', figures.edge)] : []),
    ...(figures.services ? [percentileRow('services, all', figures.services)] : []),
    ...Object.entries(figures.byService).map(([service, figures]) => percentileRow(service, figures)),
  ],
)}
<h3>Per endpoint</h3>
${table(
  ['endpoint', 'requests', 'service p50', 'service p95', 'edge p95', 'service p99', 'edge p99'],
  figures.endpoints.map((endpoint) => [
    endpoint.endpoint,
    count(endpoint.atService.count),
    ms(endpoint.atService.p50Ms),
    ms(endpoint.atService.p95Ms),
    ms(endpoint.atEdge?.p95Ms),
    ms(endpoint.atService.p99Ms),
    ms(endpoint.atEdge?.p99Ms),
  ]),
)}</section>`,
    `<section id="failures"><h2>Failed requests</h2>
<p>k6's failures by cause beside the answers the edge and the services logged, by status. The edge's own 503s come from its bounded queue: refused at once when every replica's queue is full (no upstream), or after waiting in it.</p>
${table(
  ['', 'requests', 'failed', 'by cause or status'],
  [
    [
      'k6',
      count(figures.failures.client?.requests),
      count(figures.failures.client?.failed),
      entries(figures.failures.client?.causes ?? {}),
    ],
    [
      'edge',
      count(sum(figures.failures.edgeStatuses)),
      count(sum(figures.failures.edgeStatuses, 400)),
      `${entries(figures.failures.edgeStatuses)}; its queue: ${count(figures.failures.edgeQueueFull)} refused at once, ${count(figures.failures.edgeQueueTimeout)} after waiting`,
    ],
    [
      'services',
      count(sum(figures.failures.serviceStatuses)),
      count(sum(figures.failures.serviceStatuses, 400)),
      entries(figures.failures.serviceStatuses),
    ],
  ],
)}</section>`,
    `<section id="latency"><h2>Latency over time, with VUs and throughput</h2>${latencySvg ?? '<p class="missing">No latency.svg in the run directory (k6 exported no report).</p>'}</section>`,
    `<section id="cpu"><h2>CPU and memory per process</h2>${processes.missing.map((line) => `<p class="missing">${escapeHtml(line)}</p>`).join('')}
${
  processes.list.length > 0
    ? `${table(
        ['process', 'CPU s', 'avg cores', 'peak cores', 'µs per request', 'peak RSS MB', 'processes'],
        processes.list.map((process) => [
          process.name,
          process.cpuSeconds.toFixed(1),
          process.averageCores.toFixed(2),
          process.peakCores.toFixed(2),
          process.cpuPerRequestUs === undefined ? '—' : Math.round(process.cpuPerRequestUs).toLocaleString('en-US'),
          process.peakRssMb.toFixed(0),
          String(process.count),
        ]),
      )}
<p>Machine: ${processes.machine ? `${processes.machine.averageCores.toFixed(2)} cores busy on average, ${processes.machine.peakCores.toFixed(2)} at the peak` : 'not sampled'}, of ${processes.cores ?? '?'} cores (everything on it, other users' work included). A server's RSS is summed over its processes (PostgreSQL's shared buffers count in each). ${escapeHtml(perRequestSentence(processes.perRequest))}</p>
${cpuChart(
  processes.series,
  processes.list.slice(0, PLOTTED_PROCESSES).map((process) => process.name),
  processes.cores,
)}`
    : ''
}</section>`,
    awsSection(figures.aws),
    `<section id="read-path"><h2>The read path</h2>
${table(['reads', 'hit', 'stale', 'miss', 'bypass', 'no cache', 'queries per 1000 reads', 'shed (503)', 'rate-limited (429)', '5xx'], [[count(readPath.reads), share(readPath.cache.hit, readPath.reads), share(readPath.cache.stale, readPath.reads), share(readPath.cache.miss, readPath.reads), share(readPath.cache.bypass, readPath.reads), share(readPath.cache.none, readPath.reads), readPath.queriesPer1000Reads === undefined ? '—' : readPath.queriesPer1000Reads.toFixed(1), count(readPath.shed), count(readPath.rateLimited), count(readPath.serverErrors)]])}
${table(
  ['replica (stats lines)', 'requests', 'event-loop delay p99, max', 'peak RSS MB', 'CPU ms'],
  readPath.replicas.map((replica) => [
    replica.instance,
    count(replica.requests),
    ms(replica.eventLoopDelayP99MaxMs),
    replica.peakRssMb === undefined ? '—' : replica.peakRssMb.toFixed(0),
    count(replica.cpuMs),
  ]),
)}
${readPath.series.length > 0 ? cacheChart(readPath.series) : '<p class="missing">No reads in the logs.</p>'}</section>`,
    `<section id="slowest"><h2>The slowest requests</h2>${
      figures.slowest
        .map(
          (request) =>
            `<h3>${escapeHtml(`${request.endpoint} · ${request.service} · ${ms(request.totalMs)}`)}</h3><pre>${escapeHtml(request.waterfall.join('\n'))}</pre>`,
        )
        .join('') || '<p class="missing">No request lines in the logs.</p>'
    }</section>`,
  ];
  return `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>Bottlenecks: ${escapeHtml(title)}</title><style>${STYLE}</style></head><body>\n${sections.join('\n')}\n</body></html>\n`;
}

/** What µs per request divides: whose requests, over which time. */
function perRequestSentence(window: Figures['processes']['perRequest']): string {
  if (!window) return 'No request was counted while the processes were sampled, so there is no CPU per request.';
  const seconds = ((window.toMs - window.fromMs) / 1000).toFixed(1);
  const whose = {
    k6: 'the requests k6 sent',
    edge: "the requests in the edge's log",
    services: "the requests in the services' logs",
  }[window.counted];
  return `µs per request: each process's CPU over ${seconds} s by ${whose} in those seconds (${count(window.requests)}).`;
}

export function table(header: string[], rows: string[][]): string {
  return `<table><thead><tr>${header.map((cell) => `<th>${escapeHtml(cell)}</th>`).join('')}</tr></thead><tbody>${rows
    .map((row) => `<tr>${row.map((cell) => `<td>${escapeHtml(cell)}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>`;
}

function percentileRow(name: string, figures: Percentiles): string[] {
  return [name, count(figures.count), ms(figures.p50Ms), ms(figures.p95Ms), ms(figures.p99Ms), ms(figures.maxMs)];
}

/** The counts of a status (or cause) table, from `from` up: all, or those k6 counts as failed (400 up). */
function sum(counts: Record<string, number>, from = 0): number {
  return Object.entries(counts).reduce((total, [status, value]) => total + (Number(status) >= from ? value : 0), 0);
}

function entries(counts: Record<string, number>): string {
  return (
    Object.entries(counts)
      .map(([key, value]) => `${key}: ${count(value)}`)
      .join(', ') || '—'
  );
}

function count(value: number | undefined): string {
  return value === undefined ? '—' : Math.round(value).toLocaleString('en-US');
}

function share(part: number, whole: number): string {
  return whole === 0 ? '—' : `${((part / whole) * 100).toFixed(1)} %`;
}
