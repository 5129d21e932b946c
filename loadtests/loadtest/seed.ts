/**
 * Background todos for the studiers to list, created through the API (so the cache and the
 * write path are warm, as on a deployment that has been in use).
 */

import { LOADTEST_REQUEST_ID_PREFIX } from '@taskoverflow/trace';
import { seedTodos as createTodos } from '../lib/seed.js';

const DAY_MS = 24 * 60 * 60 * 1000;

/** Creates `count` todos; each request has its own request id, so that the report knows these requests are not the load's. */
export async function seedTodos(baseUrl: string, count: number): Promise<void> {
  await createTodos(baseUrl, count, {
    todo: seededTodo,
    headers: (n) => ({ 'x-request-id': `${LOADTEST_REQUEST_ID_PREFIX}seed-${n}` }),
  });
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
