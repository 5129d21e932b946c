import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { databaseOf, type DatasetVersion } from './dataset-version.js';
import { versionChannels } from './keys.js';

/**
 * Pushed dataset versions: a read replica that holds a lease learns each new version from a
 * message instead of a Redis read per event-loop turn, and a writer does not answer until every
 * lease holder has acknowledged the new version or its lease has ended. Read-your-writes holds
 * as with the reads: a write answers only once no replica can serve the old version.
 *
 * What a lease costs: a Redis script per replica every quarter lease, a second connection per
 * process, and, per write, a round trip to every replica (or, for one that stopped answering,
 * a wait of at most the lease).
 */

/** A lease ends this much before Redis ends it, for the clocks' drift (ms per second is far less). */
const LEASE_SAFETY = 0.9;
/** Renewals per lease: three may fail before it lapses. */
const RENEWALS_PER_LEASE = 4;

/** A second connection in subscriber mode: what a subscriber does on a reconnect is its owner's call. */
function subscriberOf(redis: Redis, role: string): Redis {
  const subscriber = redis.duplicate({
    connectionName: `${redis.options.connectionName ?? 'taskoverflow'}:${role}`,
    autoResubscribe: false,
  });
  // An outage is logged once, by the cache or the invalidator, not per reconnect attempt.
  subscriber.on('error', () => undefined);
  return subscriber;
}

/**
 * A read replica's lease: while it holds one, `current()` is the dataset version, pushed to it;
 * otherwise undefined, and the replica reads the version from Redis.
 *
 * A lease is taken only by a renewal sent while subscribed, and lapses at once when the
 * subscription's connection closes (a version published meanwhile is lost to it), when the
 * cache finds Redis out (`suspend`), or when renewals stop arriving: a lease ends in this
 * process, by its own clock, before Redis ends it, since it is counted from the renewal's
 * sending and Redis counts from its arrival.
 */
export class VersionLease {
  private readonly id = randomUUID();
  private readonly subscriber: Redis;
  private readonly channels: ReturnType<typeof versionChannels>;
  private readonly timer: NodeJS.Timeout;
  private known: string | undefined;
  private validUntil = 0;
  /** The subscriber's connections so far; a lease is good only within the one it was taken in. */
  private connection = 0;
  private subscribedIn = -1;
  private versionsPushed = 0;

  constructor(
    private readonly redis: Redis,
    private readonly version: DatasetVersion,
    private readonly leaseMs: number,
  ) {
    this.channels = versionChannels(databaseOf(redis));
    version.usePushed(this);
    this.subscriber = subscriberOf(redis, 'versions');
    this.subscriber.on('ready', () => void this.subscribe());
    this.subscriber.on('close', () => {
      this.connection += 1;
      this.validUntil = 0;
    });
    this.subscriber.on('message', (_channel: string, version: string) => this.pushed(version));
    this.timer = setInterval(() => void this.renew(), leaseMs / RENEWALS_PER_LEASE);
    this.timer.unref();
  }

  /** The dataset version while the lease holds; undefined otherwise. */
  current(): string | undefined {
    return this.validUntil > performance.now() ? this.known : undefined;
  }

  /** Redis is out: the lease ends here; a renewal takes it again once Redis answers. */
  suspend(): void {
    this.validUntil = 0;
  }

  /** Ends the lease, in Redis too, so that no writer waits for it. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    this.validUntil = 0;
    this.subscriber.disconnect();
    await this.version.releaseLease(this.id).catch(() => undefined);
  }

  private async subscribe(): Promise<void> {
    const connection = this.connection;
    try {
      await this.subscriber.subscribe(this.channels.versions);
      if (connection === this.connection) this.subscribedIn = connection;
    } catch {
      // The connection closed meanwhile; its successor subscribes when ready.
    }
  }

  private pushed(version: string): void {
    this.known = version;
    this.versionsPushed += 1;
    this.redis.publish(this.channels.acknowledgements, `${this.id} ${version}`).catch(() => undefined);
  }

  private async renew(): Promise<void> {
    const connection = this.connection;
    if (this.subscribedIn !== connection) return;
    const sentAt = performance.now();
    const pushedBefore = this.versionsPushed;
    let version: string | null;
    try {
      version = await this.version.renewLease(this.id, this.leaseMs);
    } catch {
      return; // the lease lapses by itself
    }
    if (this.subscribedIn !== connection) return;
    // A version pushed while the renewal was out is at least as new as the one it read.
    if (this.versionsPushed === pushedBefore && version !== null) this.known = version;
    if (this.known !== undefined) this.validUntil = sentAt + this.leaseMs * LEASE_SAFETY;
  }
}

/**
 * The writer's side: replaces the version and waits until each lease holder has acknowledged
 * it, or until its lease has ended by Redis's clock.
 */
export class VersionAcknowledgements {
  private readonly subscriber: Redis;
  /** Acknowledgements of each version being replaced, by holder. */
  private readonly acknowledged = new Map<string, Set<string>>();
  private readonly waiting = new Map<string, () => void>();

  constructor(
    redis: Redis,
    private readonly version: DatasetVersion,
  ) {
    const { acknowledgements } = versionChannels(databaseOf(redis));
    this.subscriber = subscriberOf(redis, 'acknowledgements');
    this.subscriber.on('ready', () => void this.subscriber.subscribe(acknowledgements).catch(() => undefined));
    this.subscriber.on('message', (_channel: string, message: string) => {
      const [holder = '', version = ''] = message.split(' ');
      this.acknowledged.get(version)?.add(holder);
      this.waiting.get(version)?.();
    });
  }

  /**
   * A new version, once no lease holder can serve the old one. Resolves to how many leases
   * were held and how many of them ended without an acknowledgement.
   */
  async replace(): Promise<{ leases: number; lapsed: number }> {
    const next = randomUUID();
    const acknowledged = new Set<string>();
    this.acknowledged.set(next, acknowledged); // an acknowledgement may beat the script's answer
    try {
      const { holders } = await this.version.bump(next);
      const deadlines = holders.map(({ id, remainingMs }) => ({ id, until: performance.now() + remainingMs }));
      for (;;) {
        const now = performance.now();
        const open = deadlines.filter(({ id, until }) => !acknowledged.has(id) && until > now);
        if (open.length === 0) break;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Math.min(...open.map(({ until }) => until)) - now);
          this.waiting.set(next, () => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
      return {
        leases: holders.length,
        lapsed: holders.filter(({ id }) => !acknowledged.has(id)).length,
      };
    } finally {
      this.acknowledged.delete(next);
      this.waiting.delete(next);
    }
  }

  close(): void {
    this.subscriber.disconnect();
  }
}
