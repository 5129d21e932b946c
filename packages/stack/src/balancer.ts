import { NODE_EDGE_BALANCER } from '@taskoverflow/edge';
import { startEdgeProcess, type EdgeProcess, type EdgeProcessOptions } from './edge-process.js';
import { BalancerChoiceError } from './errors.js';
import { findHaproxy, haproxyVersion, startHaproxyProcess } from './haproxy-process.js';

/**
 * The edge's two implementations: HAProxy, with a configuration generated from the routing
 * table, or the Node edge (@taskoverflow/edge). Both take the same EDGE_* settings, log the
 * same `request finished` and `stats` lines and answer the same errors; HAProxy spends a
 * fraction of the CPU and memory per request.
 */
export type BalancerKind = 'haproxy' | 'node';
export const BALANCER_KINDS: readonly BalancerKind[] = ['haproxy', 'node'];

/** The variable that picks one; unset or `auto`: HAProxy when `haproxy` is on PATH, else the Node edge. */
export const BALANCER_VARIABLE = 'TASKOVERFLOW_BALANCER';

export interface Balancer extends EdgeProcess {
  kind: BalancerKind;
  /** What ran, for progress lines and reports: `HAProxy 2.6.12`, `Node edge`. */
  description: string;
}

/** The balancer asked for (`auto` or unset: HAProxy if installed), or BalancerChoiceError. */
export function chooseBalancer(asked: string | undefined = process.env[BALANCER_VARIABLE]): {
  kind: BalancerKind;
  haproxy: string | undefined;
} {
  const choice = asked === undefined || asked === '' ? 'auto' : asked;
  if (choice !== 'auto' && !(BALANCER_KINDS as readonly string[]).includes(choice)) {
    throw new BalancerChoiceError(
      `${BALANCER_VARIABLE} must be one of auto, ${BALANCER_KINDS.join(', ')} (it is "${choice}")`,
    );
  }
  if (choice === 'node') return { kind: 'node', haproxy: undefined };
  const haproxy = findHaproxy();
  if (haproxy) return { kind: 'haproxy', haproxy };
  if (choice === 'haproxy') {
    throw new BalancerChoiceError(
      `${BALANCER_VARIABLE}=haproxy, but haproxy is not on PATH: install it (Debian/Ubuntu: apt-get install haproxy; macOS: brew install haproxy) or use auto`,
    );
  }
  return { kind: 'node', haproxy: undefined };
}

/** Starts the edge with the balancer chosen by `kind` (default: chooseBalancer()). */
export async function startBalancer(options: EdgeProcessOptions & { kind?: string }): Promise<Balancer> {
  const { kind, haproxy } = chooseBalancer(options.kind);
  if (kind === 'haproxy') {
    const binary = haproxy!;
    const description = haproxyVersion(binary);
    return { ...(await startHaproxyProcess({ ...options, binary, description })), kind, description };
  }
  return { ...(await startEdgeProcess(options)), kind, description: NODE_EDGE_BALANCER };
}
