/**
 * Sends again a request that a service shed. Services answer 503 + Retry-After while their
 * event loop lags, as it may right after start-up on a busy machine; a shed request changed
 * nothing, so it is safe to repeat. Used for the requests that prepare a run, never in one.
 */
import { setTimeout as sleep } from 'node:timers/promises';

/** A service still shedding after this many tries is overloaded, not starting up. */
const SHED_RETRIES = 10;

/** fetch(), repeated after Retry-After while the answer is a 503; the last answer otherwise. */
export async function fetchPastLoadShedding(url: string, init?: RequestInit): Promise<Response> {
  for (let attempt = 1; ; attempt += 1) {
    const response = await fetch(url, init);
    if (response.status !== 503 || attempt > SHED_RETRIES) return response;
    await response.body?.cancel();
    await sleep(Number(response.headers.get('retry-after') ?? 1) * 1000);
  }
}
