import type { Logger } from 'pino';
import { Replica } from './replica.js';

export interface HealthCheckSettings {
  path: string;
  /** Time between checks of each target. The ALB's minimum is 5 s; locally faster is kinder. */
  intervalMs: number;
  /** A check slower than this fails. */
  timeoutMs: number;
}

interface Target {
  replica: Replica;
  healthy: boolean;
}

/**
 * The order in which a request tries a group's replicas: the healthy ones from a starting
 * point in turn (`rotation` of them), then the unhealthy ones. Shared by every request until
 * the group changes, so picking costs no allocation.
 */
export interface TargetOrder {
  readonly replicas: readonly Replica[];
  readonly rotation: number;
}

/** The `attempt`-th replica to try (from 0) for a request whose turn starts at `start`. */
export function replicaAt(order: TargetOrder, start: number, attempt: number): Replica | undefined {
  return attempt < order.rotation ? order.replicas[(start + attempt) % order.rotation] : order.replicas[attempt];
}

/**
 * The replicas of one service, as an ALB target group holds them: registered targets, health
 * checked on an interval, and requests spread round robin over the healthy ones. A target
 * that fails its check (a replica draining before shutdown answers 503) leaves the rotation
 * until it passes again. With no healthy target the group fails open and offers them all,
 * as the ALB does.
 */
export class TargetGroup {
  private targets: Target[];
  private next = 0;
  private timer: NodeJS.Timeout | undefined;
  #order: TargetOrder = { replicas: [], rotation: 0 };

  constructor(
    readonly service: string,
    origins: readonly string[],
    private readonly healthCheck: HealthCheckSettings,
    private readonly newReplica: (origin: string) => Replica,
    private readonly log: Logger,
  ) {
    // Targets given at start are taken as healthy: the stack starts them and waits for health.
    this.targets = origins.map((origin) => ({ replica: newReplica(origin), healthy: true }));
    this.#reorder();
  }

  /** The order of the replicas to try; each call moves the round robin's start on by one. */
  get order(): TargetOrder {
    return this.#order;
  }

  /** Where the next request's turn starts. */
  nextStart(): number {
    return this.next++;
  }

  /** Adds a target; it takes traffic once it passes a health check. */
  async register(origin: string): Promise<void> {
    if (this.targets.some((target) => target.replica.origin === origin)) return;
    const target = { replica: this.newReplica(origin), healthy: false };
    this.targets.push(target);
    this.#reorder();
    await this.check(target);
  }

  /**
   * Removes a target at once: no new request goes to it. Resolves once the requests it had
   * (in progress or waiting) are done and its connections are closed.
   */
  async deregister(origin: string): Promise<void> {
    const leaving = this.targets.filter((target) => target.replica.origin === origin);
    this.targets = this.targets.filter((target) => target.replica.origin !== origin);
    this.#reorder();
    await Promise.all(leaving.map((target) => target.replica.close()));
  }

  /** Closes every target's connections once their requests are done. */
  async close(): Promise<void> {
    this.stopHealthChecks();
    await Promise.all(this.targets.map((target) => target.replica.close()));
  }

  startHealthChecks(): void {
    const tick = async (): Promise<void> => {
      await Promise.all(this.targets.map((target) => this.check(target)));
      this.timer = setTimeout(() => void tick(), this.healthCheck.intervalMs).unref();
    };
    this.timer = setTimeout(() => void tick(), this.healthCheck.intervalMs).unref();
  }

  stopHealthChecks(): void {
    clearTimeout(this.timer);
  }

  private async check(target: Target): Promise<void> {
    let healthy: boolean;
    try {
      const response = await fetch(target.replica.origin + this.healthCheck.path, {
        signal: AbortSignal.timeout(this.healthCheck.timeoutMs),
      });
      healthy = response.status === 200;
      await response.body?.cancel();
    } catch {
      healthy = false;
    }
    if (healthy !== target.healthy) {
      this.log.info(
        { target: target.replica.origin, healthy },
        `${this.service} target ${healthy ? 'healthy: in rotation' : 'unhealthy: out of rotation'}`,
      );
      target.healthy = healthy;
      this.#reorder();
    }
  }

  #reorder(): void {
    const healthy = this.targets.filter((target) => target.healthy);
    // No healthy target: fail open, all of them in rotation.
    const rotation = healthy.length > 0 ? healthy : this.targets;
    const rest = healthy.length > 0 ? this.targets.filter((target) => !target.healthy) : [];
    this.#order = { replicas: [...rotation, ...rest].map((target) => target.replica), rotation: rotation.length };
  }
}
