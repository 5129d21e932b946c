/**
 * The latency-over-time plot, as a standalone SVG: per period, p50 / p95 / max latency on a
 * log scale (latencies span milliseconds to seconds once something queues) with the p95
 * target, and under it the load: VUs, requests per second and the periods with failures.
 */
import { escapeHtml, formatClock } from './format.js';
import type { PeriodPoint } from './dashboard-data.js';

export interface PlotOptions {
  title: string;
  /** Drawn as a dashed line: the p95 a threshold allows. */
  p95TargetMs: number | undefined;
}

const WIDTH = 1000;
const MARGIN = { left: 70, right: 70 };
const LATENCY = { top: 60, height: 300 };
const LOAD = { top: 410, height: 130 };
const HEIGHT = 600;
const PLOT_WIDTH = WIDTH - MARGIN.left - MARGIN.right;

const COLORS = {
  p50: '#2563eb',
  p95: '#ea580c',
  max: '#9ca3af',
  target: '#dc2626',
  vus: '#c7d2fe',
  rps: '#059669',
  failed: '#dc2626',
};

export function renderLatencyPlot(points: PeriodPoint[], options: PlotOptions): string {
  if (points.length === 0) throw new Error('no periods to plot: the run recorded no metrics');
  const endSeconds = Math.max(...points.map((point) => point.atSeconds), 1);
  const x = (seconds: number): number => MARGIN.left + (seconds / endSeconds) * PLOT_WIDTH;

  const latencies = points
    .flatMap((point) => [point.medianMs, point.p95Ms, point.maxMs])
    .filter((ms): ms is number => ms !== undefined && ms > 0);
  const [lowMs, highMs] = logRange([...latencies, ...(options.p95TargetMs ? [options.p95TargetMs] : [])]);
  const latencyY = (ms: number): number =>
    LATENCY.top +
    LATENCY.height -
    ((Math.log10(Math.max(ms, lowMs)) - Math.log10(lowMs)) / (Math.log10(highMs) - Math.log10(lowMs))) * LATENCY.height;

  const maxVus = niceCeiling(Math.max(...points.map((point) => point.vus), 1));
  const maxRps = niceCeiling(Math.max(...points.map((point) => point.requestsPerSecond), 1));
  const loadBottom = LOAD.top + LOAD.height;
  const vusY = (vus: number): number => loadBottom - (vus / maxVus) * LOAD.height;
  const rpsY = (rps: number): number => loadBottom - (rps / maxRps) * LOAD.height;

  const line = (value: (point: PeriodPoint) => number | undefined, y: (v: number) => number): string =>
    pathOf(points, x, value, y);
  const vusArea = `M${x(0)},${loadBottom} ${points.map((p) => `L${fixed(x(p.atSeconds))},${fixed(vusY(p.vus))}`).join(' ')} L${fixed(x(endSeconds))},${loadBottom} Z`;
  const periodWidth = Math.max(PLOT_WIDTH / points.length, 1);
  const failedBars = points
    .filter((point) => point.failedShare > 0)
    .map(
      (p) =>
        `<rect x="${fixed(x(p.atSeconds) - periodWidth)}" y="${LOAD.top}" width="${fixed(periodWidth)}" height="${LOAD.height}" fill="${COLORS.failed}" opacity="${fixed(0.15 + 0.6 * p.failedShare)}"/>`,
    );

  return [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${WIDTH} ${HEIGHT}" width="${WIDTH}" height="${HEIGHT}" font-family="system-ui, sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="white"/>`,
    `<text x="${MARGIN.left}" y="24" font-size="16" font-weight="600">${escapeHtml(options.title)}</text>`,
    legend(MARGIN.left, 44, [
      ['p50', COLORS.p50, false],
      ['p95', COLORS.p95, false],
      ['max', COLORS.max, false],
      ...(options.p95TargetMs
        ? [[`p95 target ${options.p95TargetMs} ms`, COLORS.target, true] as [string, string, boolean]]
        : []),
    ]),
    // Latency panel
    ...logTicks(lowMs, highMs).map(
      (ms) =>
        `<line x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${fixed(latencyY(ms))}" y2="${fixed(latencyY(ms))}" stroke="#e5e7eb"/>` +
        `<text x="${MARGIN.left - 8}" y="${fixed(latencyY(ms) + 4)}" text-anchor="end" fill="#374151">${formatMs(ms)}</text>`,
    ),
    `<text x="16" y="${LATENCY.top + LATENCY.height / 2}" transform="rotate(-90 16 ${LATENCY.top + LATENCY.height / 2})" text-anchor="middle" fill="#374151">latency per ${periodLabel(points)} (log scale)</text>`,
    options.p95TargetMs
      ? `<line x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${fixed(latencyY(options.p95TargetMs))}" y2="${fixed(latencyY(options.p95TargetMs))}" stroke="${COLORS.target}" stroke-dasharray="6 4"/>`
      : '',
    `<path d="${line((p) => p.maxMs, latencyY)}" fill="none" stroke="${COLORS.max}" stroke-width="1"/>`,
    `<path d="${line((p) => p.p95Ms, latencyY)}" fill="none" stroke="${COLORS.p95}" stroke-width="1.8"/>`,
    `<path d="${line((p) => p.medianMs, latencyY)}" fill="none" stroke="${COLORS.p50}" stroke-width="1.8"/>`,
    `<rect x="${MARGIN.left}" y="${LATENCY.top}" width="${PLOT_WIDTH}" height="${LATENCY.height}" fill="none" stroke="#9ca3af"/>`,
    // Load panel
    legend(MARGIN.left, LOAD.top - 12, [
      [`VUs (left, max ${Math.max(...points.map((p) => p.vus))})`, COLORS.vus, false],
      ['requests/s (right)', COLORS.rps, false],
      ['periods with failed requests', COLORS.failed, false],
    ]),
    `<path d="${vusArea}" fill="${COLORS.vus}" opacity="0.8"/>`,
    ...failedBars,
    `<path d="${line((p) => p.requestsPerSecond, rpsY)}" fill="none" stroke="${COLORS.rps}" stroke-width="1.5"/>`,
    `<rect x="${MARGIN.left}" y="${LOAD.top}" width="${PLOT_WIDTH}" height="${LOAD.height}" fill="none" stroke="#9ca3af"/>`,
    `<text x="${MARGIN.left - 8}" y="${LOAD.top + 4}" text-anchor="end" fill="#374151">${maxVus}</text>`,
    `<text x="${MARGIN.left - 8}" y="${loadBottom + 4}" text-anchor="end" fill="#374151">0</text>`,
    `<text x="${WIDTH - MARGIN.right + 8}" y="${LOAD.top + 4}" fill="${COLORS.rps}">${maxRps}/s</text>`,
    `<text x="${WIDTH - MARGIN.right + 8}" y="${loadBottom + 4}" fill="${COLORS.rps}">0</text>`,
    // Time axis, shared
    ...timeTicks(endSeconds).map(
      (seconds) =>
        `<line x1="${fixed(x(seconds))}" x2="${fixed(x(seconds))}" y1="${LATENCY.top}" y2="${loadBottom}" stroke="#f3f4f6"/>` +
        `<text x="${fixed(x(seconds))}" y="${loadBottom + 18}" text-anchor="middle" fill="#374151">${formatClock(seconds)}</text>`,
    ),
    `<text x="${MARGIN.left + PLOT_WIDTH / 2}" y="${loadBottom + 40}" text-anchor="middle" fill="#374151">time since start (m:ss)</text>`,
    '</svg>\n',
  ]
    .filter(Boolean)
    .join('\n');
}

/** A path through the periods that have a value; a period without one breaks the line. */
function pathOf(
  points: PeriodPoint[],
  x: (s: number) => number,
  value: (p: PeriodPoint) => number | undefined,
  y: (v: number) => number,
): string {
  let drawing = false;
  return points
    .map((point) => {
      const v = value(point);
      if (v === undefined) {
        drawing = false;
        return '';
      }
      const command = drawing ? 'L' : 'M';
      drawing = true;
      return `${command}${fixed(x(point.atSeconds))},${fixed(y(v))}`;
    })
    .filter(Boolean)
    .join(' ');
}

function legend(left: number, y: number, entries: Array<[label: string, color: string, dashed: boolean]>): string {
  let offset = left;
  return entries
    .map(([label, color, dashed]) => {
      const item =
        `<line x1="${offset}" x2="${offset + 20}" y1="${y - 4}" y2="${y - 4}" stroke="${color}" stroke-width="${dashed ? 1.5 : 4}"${dashed ? ' stroke-dasharray="6 4"' : ''}/>` +
        `<text x="${offset + 26}" y="${y}" fill="#111827">${escapeHtml(label)}</text>`;
      offset += 40 + label.length * 6.5;
      return item;
    })
    .join('');
}

/** Powers of ten around the values, so that every line sits between two gridlines. */
function logRange(values: number[]): [number, number] {
  if (values.length === 0) return [1, 1000];
  const low = 10 ** Math.floor(Math.log10(Math.min(...values)));
  const high = 10 ** Math.ceil(Math.log10(Math.max(...values)));
  return [low, high > low ? high : low * 10];
}

/** 1, 2, 5 × each power of ten within the range. */
function logTicks(lowMs: number, highMs: number): number[] {
  const ticks: number[] = [];
  for (let exponent = Math.round(Math.log10(lowMs)); 10 ** exponent <= highMs; exponent += 1) {
    for (const step of [1, 2, 5]) if (step * 10 ** exponent <= highMs) ticks.push(step * 10 ** exponent);
  }
  return ticks;
}

/** About eight ticks at a round number of seconds. */
function timeTicks(endSeconds: number): number[] {
  const step = [5, 10, 15, 30, 60, 120, 300, 600, 1800].find((candidate) => endSeconds / candidate <= 10) ?? 3600;
  return Array.from({ length: Math.floor(endSeconds / step) + 1 }, (_, i) => i * step);
}

function niceCeiling(value: number): number {
  const magnitude = 10 ** Math.floor(Math.log10(value));
  return ([1, 2, 2.5, 5, 10].find((step) => step * magnitude >= value) ?? 10) * magnitude;
}

function periodLabel(points: PeriodPoint[]): string {
  const period = points.length > 1 ? points[1]!.atSeconds - points[0]!.atSeconds : 1;
  return period <= 1.5 ? 'second' : `${Math.round(period)} s`;
}

function formatMs(ms: number): string {
  return ms >= 1000 ? `${ms / 1000} s` : ms >= 1 ? `${ms} ms` : `${ms.toPrecision(1)} ms`;
}

function fixed(value: number): string {
  return value.toFixed(1);
}
