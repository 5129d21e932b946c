/** What the scenarios check in a response, written once for both of them. */
import http from 'k6/http';

/** Fails the run in setup, before thousands of VUs ramp up, when nothing healthy answers at `endpoint`. */
export function requireHealthy(endpoint) {
  const health = http.get(`${endpoint}/api/v1/health`, { tags: { name: 'GET /api/v1/health (setup)' } });
  if (health.status !== 200) {
    const answer = health.status ? `answered ${health.status}` : `failed (${health.error})`;
    throw new Error(`GET ${endpoint}/api/v1/health ${answer}: is TaskOverflow running there? Check ENDPOINT`);
  }
}

/** The body as JSON, or undefined when there is none or it is not JSON (r.json() would throw). */
export function jsonBody(response) {
  if (!response.body) return undefined;
  try {
    return response.json();
  } catch {
    return undefined;
  }
}

/** The fields every todo has, with the types the API contract gives them. */
export function isTodo(value) {
  return (
    typeof value === 'object' &&
    value !== null &&
    Number.isInteger(value.id) &&
    typeof value.title === 'string' &&
    typeof value.completed === 'boolean' &&
    typeof value.created_at === 'string'
  );
}

export function isTodoList(value) {
  return Array.isArray(value) && value.every(isTodo);
}
