/** Everything this cache stores lives under one prefix, versioned with the entry format. */
const PREFIX = 'taskoverflow:cache:v1:';

/** The token every cached entry is keyed by; todo-write replaces it after each write. */
export const DATASET_VERSION_KEY = `${PREFIX}dataset-version`;

/** Redis key of one cached response under one dataset version. */
export function entryKey(version: string, key: string): string {
  return `${PREFIX}${version}:${key}`;
}
