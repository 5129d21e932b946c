/**
 * Stress variant of the studiers, for finding the breaking point: studiers think for 1 s
 * instead of 120 s, and their number ramps up to TARGET_VUS, holds there, then stops. Where
 * latency leaves the floor in the latency-over-time plot, against the VU line, is where the
 * stack stopped keeping up.
 *
 *   ENDPOINT=http://127.0.0.1:8080 SCALE=full k6 run loadtests/k6/studiers-stress.js
 *
 * SCALE picks a preset (smoke: 50 VUs, local: 1000, full: 5000); TARGET_VUS, RAMP, HOLD,
 * STUDIER_SLEEP and P95_MS override its values. Bodies are discarded (only the status is
 * checked): parsing thousands of lists a second would make k6 the bottleneck on the same
 * machine. Summaries go to RESULTS_DIR (default loadtests/results).
 */
import { check, sleep } from 'k6';
import http from 'k6/http';
import { requireHealthy } from './lib/responses.js';
import { duration, endpoint, resultsDir, scalePreset, seconds, wholeNumber } from './lib/settings.js';
import { FAILURE_CAUSE_THRESHOLDS, SUMMARY_TREND_STATS, summaryFiles } from './lib/summary.js';

const PRESETS = {
  smoke: { targetVus: 50, ramp: '15s', hold: '10s' },
  local: { targetVus: 1000, ramp: '1m', hold: '30s' },
  full: { targetVus: 5000, ramp: '3m', hold: '1m' },
};

const [SCALE, preset] = scalePreset(PRESETS, 'full');
const ENDPOINT = endpoint();
const SETTINGS = {
  targetVus: wholeNumber('TARGET_VUS', preset.targetVus, 1),
  ramp: duration('RAMP', preset.ramp),
  hold: duration('HOLD', preset.hold),
  studierSleep: seconds('STUDIER_SLEEP', 1),
  p95Ms: wholeNumber('P95_MS', 200, 1),
};

export const options = {
  discardResponseBodies: true,
  scenarios: {
    studiers: {
      executor: 'ramping-vus',
      startVUs: 0,
      stages: [
        { duration: SETTINGS.ramp, target: SETTINGS.targetVus },
        { duration: SETTINGS.hold, target: SETTINGS.targetVus },
        { duration: '10s', target: 0 },
      ],
      exec: 'studier',
    },
  },
  thresholds: {
    ...FAILURE_CAUSE_THRESHOLDS,
    'checks{scenario:studiers}': ['rate==1'],
    'http_req_failed{scenario:studiers}': ['rate==0'],
    'http_req_duration{scenario:studiers}': [`p(95)<${SETTINGS.p95Ms}`],
  },
  summaryTrendStats: SUMMARY_TREND_STATS,
};

export function setup() {
  requireHealthy(ENDPOINT);
}

export function studier() {
  const list = http.get(`${ENDPOINT}/api/v1/todos`, { tags: { name: 'GET /api/v1/todos' } });
  check(list, { 'studier: list is 200': (r) => r.status === 200 });
  sleep(SETTINGS.studierSleep);
}

export function handleSummary(data) {
  return summaryFiles(data, {
    name: 'studiers-stress',
    scale: SCALE,
    endpoint: ENDPOINT,
    resultsDir: resultsDir(),
    scenarios: ['studiers'],
    thinkSeconds: { studiers: SETTINGS.studierSleep },
    settings: [
      `studiers: ramping-vus to ${SETTINGS.targetVus} over ${SETTINGS.ramp}, hold ${SETTINGS.hold}; GET /api/v1/todos, sleep ${SETTINGS.studierSleep} s`,
      `thresholds: 100 % checks, no failed request, p95 < ${SETTINGS.p95Ms} ms`,
    ],
  });
}
