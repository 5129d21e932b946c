import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { DATASET_VERSION_KEY } from './keys.js';

/**
 * The dataset version: an opaque token in Redis that todo-write replaces (before it answers)
 * whenever the todos change. Cached responses are only valid for the version they were built
 * under, which is what gives read-your-writes across every read replica.
 *
 * Tokens are random rather than a counter so that a Redis that lost its data (restart without
 * persistence) can never hand out a version some replica still has entries for.
 */
export class DatasetVersion {
  private queuedRead: Promise<string> | undefined;

  constructor(private readonly redis: Redis) {}

  /**
   * The version as read at some moment after this call. Calls made in the same event-loop turn
   * share one Redis read, sent after all of them arrived: each caller still sees every write
   * that had answered before it called, at one round trip per turn instead of per request.
   */
  current(): Promise<string> {
    this.queuedRead ??= new Promise<string>((resolve, reject) => {
      setImmediate(() => {
        this.queuedRead = undefined;
        this.read().then(resolve, reject);
      });
    });
    return this.queuedRead;
  }

  /** Makes every cached entry unreachable; resolves to the new version. */
  async bump(): Promise<string> {
    const version = randomUUID();
    await this.redis.set(DATASET_VERSION_KEY, version);
    return version;
  }

  private async read(): Promise<string> {
    const version = await this.redis.get(DATASET_VERSION_KEY);
    if (version) return version;
    // First use, or Redis lost its data: start a fresh version (NX: the first replica wins).
    await this.redis.set(DATASET_VERSION_KEY, randomUUID(), 'NX');
    const created = await this.redis.get(DATASET_VERSION_KEY);
    if (!created) throw new Error(`${DATASET_VERSION_KEY} vanished right after it was set`);
    return created;
  }
}
