/**
 * Where the contract suite sends its requests.
 *
 * - `TASKOVERFLOW_URL` set: that base URL (e.g. `pnpm start` on http://127.0.0.1:8080, or a
 *   deployed stack). The target may hold other data and other clients may write to it.
 * - otherwise: a fresh migrated test database (needs TEST_DATABASE_URL, which `pnpm test`
 *   sets) and the local split stack on a free port with two todo-read replicas, both torn
 *   down when the calling test file ends.
 */
import type { BalancerKind } from '@taskoverflow/stack';
import t, { type Test } from 'tap';

export interface Target {
  /** Base URL of the load balancer (or its local stand-in), without a trailing slash. */
  url: string;
  /** Base URLs of the todo-read replicas, when known (local stack only). */
  readUrls: string[];
  /** True when this file owns the whole database, so nobody else writes to it. */
  exclusive: boolean;
  /** Which balancer is the local stack's edge; undefined for TASKOVERFLOW_URL. */
  balancer?: BalancerKind;
}

export async function getTarget(test: Test = t): Promise<Target> {
  const external = process.env.TASKOVERFLOW_URL?.trim();
  if (external) {
    return { url: external.replace(/\/+$/, ''), readUrls: [], exclusive: false };
  }

  // Imported lazily, so that running against TASKOVERFLOW_URL needs none of it.
  const { startTestStack } = await import('@taskoverflow/stack/testing');
  const stack = await startTestStack(test, { readReplicas: 2 });
  return {
    url: stack.url.replace(/\/+$/, ''),
    readUrls: stack.readUrls.map((u) => u.replace(/\/+$/, '')),
    exclusive: true,
    balancer: stack.balancer.kind,
  };
}
