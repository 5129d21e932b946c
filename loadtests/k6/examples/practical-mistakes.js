/**
 * A k6 script as a student writes it for the practical, with its two classic mistakes kept
 * on purpose, to show what `pnpm loadtest <script>` makes of them:
 * - the create's check expects 200, where the API answers 201 Created;
 * - the delete's URL takes `request.id`, a field the k6 response object does not have, so
 *   every delete goes to /api/v1/todos/undefined (the id is in the response's JSON body).
 * The report names both failed checks, the 404s of DELETE /api/v1/todos/undefined with an
 * example request id, and the todos the run left behind. The fixed version of this scenario
 * is loadtests/k6/planners-and-studiers.js.
 *
 *   pnpm loadtest loadtests/k6/examples/practical-mistakes.js
 *   ENDPOINT=http://my-alb.example.com pnpm loadtest loadtests/k6/examples/practical-mistakes.js
 *
 * It reads the API's base URL from __ENV.ENDPOINT, as the practical's scripts do; STUDIERS,
 * PLANNER_ITERATIONS and THINK (seconds) scale it.
 */
import http from 'k6/http';
import { check, sleep } from 'k6';

const ENDPOINT = __ENV.ENDPOINT || 'http://localhost:8080';
const STUDIERS = Number(__ENV.STUDIERS || 10);
const PLANNER_ITERATIONS = Number(__ENV.PLANNER_ITERATIONS || 10);
const THINK = Number(__ENV.THINK || 1);

export const options = {
  scenarios: {
    studier: {
      executor: 'ramping-vus',
      startVUs: 0,
      stages: [
        { duration: '5s', target: STUDIERS },
        { duration: '10s', target: STUDIERS },
        { duration: '3s', target: 0 },
      ],
      exec: 'list_todos',
    },
    planner: {
      executor: 'shared-iterations',
      vus: 2,
      iterations: PLANNER_ITERATIONS,
      exec: 'create_todo',
    },
  },
  thresholds: {
    checks: ['rate==1'],
    http_req_duration: ['p(95)<500'],
  },
};

export function list_todos() {
  const res = http.get(`${ENDPOINT}/api/v1/todos`);
  check(res, { 'list status is 200': (r) => r.status === 200 });
  sleep(THINK);
}

export function create_todo() {
  const request = http.post(
    `${ENDPOINT}/api/v1/todos`,
    JSON.stringify({ title: 'CSSE6400 Cloud Assignment', deadline_at: '2025-09-05T15:00:00' }),
    { headers: { 'Content-Type': 'application/json' } },
  );
  // Mistake 1: a create answers 201 Created.
  check(request, { 'create status is 200': (r) => r.status === 200 });
  sleep(THINK);
  // Mistake 2: the id is in the body (request.json().id); request.id is undefined.
  const deleted = http.del(`${ENDPOINT}/api/v1/todos/${request.id}`);
  check(deleted, { 'delete status is 200': (r) => r.status === 200 });
  sleep(THINK);
}
