/**
 * The practical's "planners and studiers" scenario, reproduced with its bugs fixed.
 *
 * - studiers: list the todos, then think for STUDIER_SLEEP seconds; ramping-vus, by default
 *   1 m → 1500, 3 m → 7500, 2 m → 0.
 * - planners (indecisive): create a todo, think, delete it, confirm it is gone from the list,
 *   think; shared-iterations, by default 20 VUs sharing 400 iterations.
 *
 * The original read `request.id` (undefined, so it deleted /todos/undefined), expected 200
 * from a create (the API answers 201) and built the URL with a single-quoted "template".
 *
 *   ENDPOINT=http://127.0.0.1:8080 SCALE=smoke k6 run loadtests/k6/planners-and-studiers.js
 *
 * SCALE picks a preset (smoke ≈ 40 s for CI, local ≈ 2 min, full = the original); each of
 * its values can be overridden: STUDIER_STAGES (e.g. 1m:1500,3m:7500,2m:0), STUDIER_SLEEP,
 * PLANNER_VUS, PLANNER_ITERATIONS, PLANNER_SLEEP, PLANNER_MAX_DURATION, and the latency
 * threshold P95_MS. Summaries go to RESULTS_DIR (default loadtests/results).
 */
import { check, sleep } from 'k6';
import http from 'k6/http';
import { isTodo, isTodoList, jsonBody, requireHealthy } from './lib/responses.js';
import {
  describeStages,
  duration,
  endpoint,
  resultsDir,
  scalePreset,
  seconds,
  stages,
  wholeNumber,
} from './lib/settings.js';
import { FAILURE_CAUSE_THRESHOLDS, SUMMARY_TREND_STATS, summaryFiles } from './lib/summary.js';

const PRESETS = {
  smoke: {
    studierStages: [
      { duration: '10s', target: 20 },
      { duration: '20s', target: 50 },
      { duration: '10s', target: 0 },
    ],
    studierSleep: 1,
    plannerVus: 5,
    plannerIterations: 40,
    plannerSleep: 2,
  },
  local: {
    studierStages: [
      { duration: '20s', target: 300 },
      { duration: '1m', target: 1500 },
      { duration: '40s', target: 0 },
    ],
    studierSleep: 24,
    plannerVus: 20,
    plannerIterations: 200,
    plannerSleep: 5,
  },
  full: {
    studierStages: [
      { duration: '1m', target: 1500 },
      { duration: '3m', target: 7500 },
      { duration: '2m', target: 0 },
    ],
    studierSleep: 120,
    plannerVus: 20,
    plannerIterations: 400,
    plannerSleep: 10,
  },
};

const [SCALE, preset] = scalePreset(PRESETS, 'full');
const ENDPOINT = endpoint();
const SETTINGS = {
  studierStages: stages('STUDIER_STAGES', preset.studierStages),
  studierSleep: seconds('STUDIER_SLEEP', preset.studierSleep),
  plannerVus: wholeNumber('PLANNER_VUS', preset.plannerVus, 1),
  plannerIterations: wholeNumber('PLANNER_ITERATIONS', preset.plannerIterations, 1),
  plannerSleep: seconds('PLANNER_SLEEP', preset.plannerSleep),
  // k6's own default for shared-iterations, as the original ran with.
  plannerMaxDuration: duration('PLANNER_MAX_DURATION', '10m'),
  p95Ms: wholeNumber('P95_MS', 100, 1),
};

const TODOS = `${ENDPOINT}/api/v1/todos`;
/** The original's todo, typo included. */
const NEW_TODO = {
  title: 'CSSE6400 Clout Assignment',
  completed: false,
  description: '',
  deadline_at: '2025-09-05T15:00:00',
};
/** Request names: one per endpoint, so that ids do not make a metric series per todo. */
const LIST = 'GET /api/v1/todos';
const CREATE = 'POST /api/v1/todos';
const DELETE = 'DELETE /api/v1/todos/:id';

export const options = {
  scenarios: {
    studiers: { executor: 'ramping-vus', startVUs: 0, stages: SETTINGS.studierStages, exec: 'studier' },
    planners: {
      executor: 'shared-iterations',
      vus: SETTINGS.plannerVus,
      iterations: SETTINGS.plannerIterations,
      maxDuration: SETTINGS.plannerMaxDuration,
      exec: 'planner',
    },
  },
  // Any failed check, any failed request or a slow p95 in either scenario fails the run (exit 99).
  thresholds: {
    ...FAILURE_CAUSE_THRESHOLDS,
    checks: ['rate==1'],
    'checks{scenario:studiers}': ['rate==1'],
    'checks{scenario:planners}': ['rate==1'],
    http_req_failed: ['rate==0'],
    'http_req_failed{scenario:studiers}': ['rate==0'],
    'http_req_failed{scenario:planners}': ['rate==0'],
    'http_req_duration{scenario:studiers}': [`p(95)<${SETTINGS.p95Ms}`],
    'http_req_duration{scenario:planners}': [`p(95)<${SETTINGS.p95Ms}`],
  },
  summaryTrendStats: SUMMARY_TREND_STATS,
};

/** Fails fast, before thousands of VUs ramp up, when nothing answers at ENDPOINT. */
export function setup() {
  requireHealthy(ENDPOINT);
}

export function studier() {
  const list = http.get(TODOS, { tags: { name: LIST } });
  check(list, {
    'studier: list is 200': (r) => r.status === 200,
    'studier: list is an array of todos': (r) => isTodoList(jsonBody(r)),
  });
  sleep(SETTINGS.studierSleep);
}

export function planner() {
  const created = http.post(TODOS, JSON.stringify(NEW_TODO), {
    headers: { 'Content-Type': 'application/json' },
    tags: { name: CREATE },
  });
  const todo = jsonBody(created);
  check(created, {
    'planner: create is 201': (r) => r.status === 201,
    'planner: created todo echoes the title and deadline': () =>
      isTodo(todo) && todo.title === NEW_TODO.title && todo.deadline_at === NEW_TODO.deadline_at,
  });
  sleep(SETTINGS.plannerSleep);
  // Without an id there is nothing to delete; the failed check above already counts it.
  if (isTodo(todo)) deleteAndConfirm(todo.id);
  sleep(SETTINGS.plannerSleep);
}

function deleteAndConfirm(id) {
  const deleted = http.del(`${TODOS}/${id}`, null, { tags: { name: DELETE } });
  check(deleted, {
    'planner: delete is 200': (r) => r.status === 200,
    'planner: delete answers the deleted todo': (r) => jsonBody(r)?.id === id,
  });
  // Read-your-writes: once the delete has answered, no read replica may list the todo.
  const list = http.get(TODOS, { tags: { name: LIST } });
  const todos = jsonBody(list);
  check(list, {
    'planner: deleted todo is no longer listed': (r) =>
      r.status === 200 && isTodoList(todos) && !todos.some((t) => t.id === id),
  });
}

export function handleSummary(data) {
  return summaryFiles(data, {
    name: 'planners-and-studiers',
    scale: SCALE,
    endpoint: ENDPOINT,
    resultsDir: resultsDir(),
    scenarios: ['studiers', 'planners'],
    thinkSeconds: { studiers: SETTINGS.studierSleep, planners: 2 * SETTINGS.plannerSleep },
    settings: [
      `studiers: ramping-vus ${describeStages(SETTINGS.studierStages)}; GET /api/v1/todos, sleep ${SETTINGS.studierSleep} s`,
      `planners: shared-iterations ${SETTINGS.plannerVus} VUs × ${SETTINGS.plannerIterations} iterations (max ${SETTINGS.plannerMaxDuration}); ` +
        `POST, sleep ${SETTINGS.plannerSleep} s, DELETE, GET, sleep ${SETTINGS.plannerSleep} s`,
      `thresholds: 100 % checks, no failed request, p95 < ${SETTINGS.p95Ms} ms per scenario`,
    ],
  });
}
