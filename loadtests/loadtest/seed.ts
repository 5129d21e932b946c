/**
 * Background todos for the studiers to list, created through the API (so the cache and the
 * write path are warm, as on a deployment that has been in use).
 */

import { LOADTEST_REQUEST_ID_PREFIX } from '@taskoverflow/trace';

/** Creates in flight at once: enough to be quick, few enough not to look like load. */
const CONCURRENCY = 8;
const DAY_MS = 24 * 60 * 60 * 1000;

export async function seedTodos(baseUrl: string, count: number): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      next += 1;
      await createTodo(baseUrl, next);
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, count) }, worker));
}

/** A mix like real lists: some done, most with a deadline, a few without a description. */
function seededTodo(n: number): Record<string, unknown> {
  return {
    title: `Seeded todo ${n}`,
    description: n % 5 === 0 ? null : `Background data for the load test, number ${n}`,
    completed: n % 3 === 0,
    deadline_at: n % 4 === 0 ? null : new Date(Date.now() + ((n % 30) - 10) * DAY_MS).toISOString(),
  };
}

async function createTodo(baseUrl: string, n: number): Promise<void> {
  const response = await fetch(`${baseUrl}/api/v1/todos`, {
    method: 'POST',
    // Its own request id, so that the report knows these requests are not the load's.
    headers: { 'content-type': 'application/json', 'x-request-id': `${LOADTEST_REQUEST_ID_PREFIX}seed-${n}` },
    body: JSON.stringify(seededTodo(n)),
  });
  if (response.status !== 201) {
    throw new Error(`seeding: POST ${baseUrl}/api/v1/todos answered ${response.status}: ${(await response.text()).slice(0, 200)}`);
  }
  await response.arrayBuffer();
}

/** How long counting may take: the list of a few thousand todos comes in well under a second. */
const COUNT_TIMEOUT_MS = 15_000;

/**
 * The todos there are, through the API (the same way against the local stack and a
 * deployment); undefined when the list cannot be had (the report then says so).
 */
export async function countTodos(baseUrl: string): Promise<number | undefined> {
  try {
    const response = await fetch(`${baseUrl}/api/v1/todos`, {
      headers: { 'x-request-id': `${LOADTEST_REQUEST_ID_PREFIX}count-todos` },
      signal: AbortSignal.timeout(COUNT_TIMEOUT_MS),
    });
    if (response.status !== 200) {
      await response.arrayBuffer();
      return undefined;
    }
    const list: unknown = await response.json();
    return Array.isArray(list) ? list.length : undefined;
  } catch {
    return undefined;
  }
}
