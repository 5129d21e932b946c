/** Everything this cache stores lives under one prefix, versioned with the entry format. */
const PREFIX = 'taskoverflow:cache:v1:';

/** The token every cached entry is keyed by; todo-write replaces it after each write. */
export const DATASET_VERSION_KEY = `${PREFIX}dataset-version`;

/** Redis key of one cached response under one dataset version. */
export function entryKey(version: string, key: string): string {
  return `${PREFIX}${version}:${key}`;
}

/**
 * The sorted set of version leases: each read replica that takes pushed versions, scored by
 * when its lease ends (Redis's clock, ms). todo-write waits for each of them after a write.
 */
export const VERSION_LEASES_KEY = `${PREFIX}version-leases`;

/**
 * The channel a new dataset version is published on, and the one read replicas acknowledge
 * it on. Pub/sub ignores the database a client selected, so each name carries it: two
 * deployments (or two tests) on one Redis in different databases never hear each other.
 */
export function versionChannels(database: number): { versions: string; acknowledgements: string } {
  return {
    versions: `${PREFIX}db${database}:dataset-version`,
    acknowledgements: `${PREFIX}db${database}:dataset-version-acks`,
  };
}
