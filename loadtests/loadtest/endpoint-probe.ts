/** Whether anything answers at ENDPOINT, asked once before a run that would otherwise count only connection errors. */
import { HEALTH_PATH } from '@taskoverflow/routing';
import { EndpointUnreachableError } from '../errors.js';

/** A deployment's health check answers within this, or the run's requests would fail too. */
const PROBE_TIMEOUT_MS = 10_000;

/**
 * Asks ENDPOINT's health check once. Any HTTP answer will do (a 503 from a deployment whose
 * database is down is worth load-testing and reporting); no answer at all throws
 * EndpointUnreachableError. Returns what was found, for the progress line.
 */
export async function requireReachable(endpoint: string): Promise<string> {
  const startedAt = performance.now();
  let status: number;
  try {
    const response = await fetch(`${endpoint}${HEALTH_PATH}`, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
    await response.arrayBuffer();
    status = response.status;
  } catch (error) {
    throw new EndpointUnreachableError(endpoint, reasonOf(error));
  }
  const answered = `GET ${HEALTH_PATH} answered ${status} in ${Math.round(performance.now() - startedAt)} ms`;
  return status === 200
    ? `${endpoint} ${answered} ✓`
    : `${endpoint} ${answered}: not healthy, running anyway (the report will show what failed)`;
}

/** fetch's failure, by its cause's code where it has one (ECONNREFUSED, ENOTFOUND…). */
function reasonOf(error: unknown): string {
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
    return `GET ${HEALTH_PATH} got no answer within ${PROBE_TIMEOUT_MS / 1000} s`;
  }
  const cause = (error as { cause?: { code?: unknown; message?: unknown } }).cause;
  const said =
    typeof cause?.code === 'string' ? cause.code : typeof cause?.message === 'string' ? cause.message : String(error);
  return `GET ${HEALTH_PATH} failed: ${said}`;
}
