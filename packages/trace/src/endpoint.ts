import { HEALTH_PATH } from '@taskoverflow/routing';

/** The path of a request URL: the query string dropped. */
function pathOf(url: string): string {
  const end = url.search(/[?#]/);
  return end === -1 ? url : url.slice(0, end);
}

/**
 * The endpoint a request went to, e.g. `GET /api/v1/todos/:id`: numeric path segments become
 * `:id` and the query string is dropped, so that requests for different todos add up.
 */
export function endpointOf(method: string, url: string): string {
  const path = pathOf(url)
    .split('/')
    .map((segment) => (/^\d+$/.test(segment) ? ':id' : segment))
    .join('/');
  return `${method} ${path}`;
}

/** The health check: load balancers call it every few seconds; it says nothing about load. */
export function isHealthCheck(url: string): boolean {
  return pathOf(url) === HEALTH_PATH;
}
