import type { FastifyBaseLogger } from 'fastify';

export interface HealthCheckSettings {
  path: string;
  /** Time between checks of each target. The ALB's minimum is 5 s; locally faster is kinder. */
  intervalMs: number;
  /** A check slower than this fails. */
  timeoutMs: number;
}

interface Target {
  origin: string;
  healthy: boolean;
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

  constructor(
    readonly service: string,
    origins: readonly string[],
    private readonly healthCheck: HealthCheckSettings,
    private readonly log: FastifyBaseLogger,
  ) {
    // Targets given at start are taken as healthy: the stack starts them and waits for health.
    this.targets = origins.map((origin) => ({ origin, healthy: true }));
  }

  /** Every target once, in turn order: healthy ones first (the pick, then fallbacks), then the rest. */
  inTurn(): string[] {
    const healthy = this.targets.filter((target) => target.healthy);
    const rotation = healthy.length > 0 ? healthy : this.targets;
    const rest = healthy.length > 0 ? this.targets.filter((target) => !target.healthy) : [];
    if (rotation.length === 0) return [];
    const start = this.next++ % rotation.length;
    return [...rotation.slice(start), ...rotation.slice(0, start), ...rest].map((target) => target.origin);
  }

  origins(): string[] {
    return this.targets.map((target) => target.origin);
  }

  /** Adds a target; it takes traffic once it passes a health check. */
  async register(origin: string): Promise<void> {
    if (this.targets.some((target) => target.origin === origin)) return;
    const target = { origin, healthy: false };
    this.targets.push(target);
    await this.check(target);
  }

  /** Removes a target at once: no new request goes to it. */
  deregister(origin: string): void {
    this.targets = this.targets.filter((target) => target.origin !== origin);
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
      const response = await fetch(target.origin + this.healthCheck.path, {
        signal: AbortSignal.timeout(this.healthCheck.timeoutMs),
      });
      healthy = response.status === 200;
      await response.body?.cancel();
    } catch {
      healthy = false;
    }
    if (healthy !== target.healthy) {
      this.log.info({ target: target.origin, healthy }, `${this.service} target ${healthy ? 'healthy: in rotation' : 'unhealthy: out of rotation'}`);
    }
    target.healthy = healthy;
  }
}
