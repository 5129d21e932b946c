/**
 * The report's own plots as inline SVG: CPU per process over time, and the read path's cache
 * outcomes over time (stacked shares). Latency over time is k6's latency.svg, drawn by
 * `pnpm loadtest`, which the page inlines as it is.
 */
import type { CachePeriod, CpuPeriod } from './figure-types.js';
import { escapeHtml, formatClock } from './format.js';

const WIDTH = 900;
const HEIGHT = 300;
const MARGIN = { left: 60, right: 160, top: 30, bottom: 40 };
const PLOT = { width: WIDTH - MARGIN.left - MARGIN.right, height: HEIGHT - MARGIN.top - MARGIN.bottom };
const PALETTE = [
  '#2563eb',
  '#ea580c',
  '#059669',
  '#9333ea',
  '#dc2626',
  '#0891b2',
  '#ca8a04',
  '#4b5563',
  '#db2777',
  '#65a30d',
];

interface Line {
  label: string;
  color: string;
  values: number[];
  dashed?: boolean;
}

/** Cores per process (the busiest first), the machine's total dashed, and the core count. */
export function cpuChart(series: CpuPeriod[], names: string[], cores: number | undefined): string {
  const lines: Line[] = names.map((name, index) => ({
    label: name,
    color: PALETTE[index % PALETTE.length]!,
    values: series.map((period) => period.cores[name] ?? 0),
  }));
  if (series.every((period) => period.machineCores !== undefined)) {
    lines.push({
      label: 'machine (everything)',
      color: '#111827',
      values: series.map((period) => period.machineCores!),
      dashed: true,
    });
  }
  const top = Math.max(cores ?? 1, ...lines.flatMap((line) => line.values), 1);
  return chart(
    'CPU per process (cores)',
    series.map((period) => period.atSeconds),
    lines,
    top,
    cores === undefined ? undefined : { value: cores, label: `${cores} cores` },
    (v) => v.toFixed(1),
  );
}

/** Share of reads per cache outcome, per period. */
export function cacheChart(series: CachePeriod[]): string {
  const outcomes = [
    ['hit', '#059669'],
    ['stale', '#ca8a04'],
    ['miss', '#ea580c'],
    ['bypass', '#dc2626'],
    ['none', '#6b7280'],
  ] as const;
  const share = (period: CachePeriod, outcome: (typeof outcomes)[number][0]): number => {
    const total = period.hit + period.stale + period.miss + period.bypass + period.none;
    return total === 0 ? 0 : period[outcome] / total;
  };
  const lines = outcomes
    .filter(([outcome]) => series.some((period) => period[outcome] > 0))
    .map(([outcome, color]) => ({
      label: outcome === 'none' ? 'no cache' : outcome,
      color,
      values: series.map((period) => share(period, outcome)),
    }));
  return chart(
    'Reads by cache outcome (share per period)',
    series.map((period) => period.atSeconds),
    lines,
    1,
    undefined,
    (v) => `${Math.round(v * 100)} %`,
  );
}

function chart(
  title: string,
  times: number[],
  lines: Line[],
  top: number,
  limit: { value: number; label: string } | undefined,
  format: (v: number) => string,
): string {
  const end = Math.max(...times, 1);
  const x = (seconds: number): number => MARGIN.left + (seconds / end) * PLOT.width;
  const y = (value: number): number => MARGIN.top + PLOT.height - (value / top) * PLOT.height;
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((share) => share * top);
  const path = (values: number[]): string =>
    values
      .map((value, index) => `${index === 0 ? 'M' : 'L'}${x(times[index]!).toFixed(1)},${y(value).toFixed(1)}`)
      .join(' ');
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${WIDTH} ${HEIGHT}" width="${WIDTH}" height="${HEIGHT}" font-family="system-ui, sans-serif" font-size="12" role="img" aria-label="${escapeHtml(title)}">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="white"/>`,
    `<text x="${MARGIN.left}" y="18" font-size="14" font-weight="600">${escapeHtml(title)}</text>`,
    ...ticks.map(
      (value) =>
        `<line x1="${MARGIN.left}" x2="${MARGIN.left + PLOT.width}" y1="${y(value).toFixed(1)}" y2="${y(value).toFixed(1)}" stroke="#e5e7eb"/>` +
        `<text x="${MARGIN.left - 6}" y="${(y(value) + 4).toFixed(1)}" text-anchor="end" fill="#374151">${format(value)}</text>`,
    ),
    limit
      ? `<line x1="${MARGIN.left}" x2="${MARGIN.left + PLOT.width}" y1="${y(limit.value).toFixed(1)}" y2="${y(limit.value).toFixed(1)}" stroke="#dc2626" stroke-dasharray="6 4"/><text x="${MARGIN.left + 4}" y="${(y(limit.value) - 4).toFixed(1)}" fill="#dc2626">${escapeHtml(limit.label)}</text>`
      : '',
    ...lines.map(
      (line) =>
        `<path class="series" d="${path(line.values)}" fill="none" stroke="${line.color}" stroke-width="1.8"${line.dashed ? ' stroke-dasharray="4 3"' : ''}/>`,
    ),
    ...lines.map(
      (line, index) =>
        `<line x1="${WIDTH - MARGIN.right + 12}" x2="${WIDTH - MARGIN.right + 30}" y1="${MARGIN.top + index * 18}" y2="${MARGIN.top + index * 18}" stroke="${line.color}" stroke-width="4"/>` +
        `<text x="${WIDTH - MARGIN.right + 36}" y="${MARGIN.top + index * 18 + 4}">${escapeHtml(line.label)}</text>`,
    ),
    `<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${PLOT.width}" height="${PLOT.height}" fill="none" stroke="#9ca3af"/>`,
    `<text x="${MARGIN.left}" y="${HEIGHT - 10}" fill="#374151">0:00</text>`,
    `<text x="${MARGIN.left + PLOT.width}" y="${HEIGHT - 10}" text-anchor="end" fill="#374151">${formatClock(end)} (time since the first sample)</text>`,
    '</svg>',
  ]
    .filter(Boolean)
    .join('\n');
}
