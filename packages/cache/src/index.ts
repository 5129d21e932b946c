export { etagMatches, jsonResponse, type CachedResponse } from './cached-response.js';
export { cacheInvalidationPlugin, responseCachePlugin } from './plugins.js';
export { ResponseCache, type ResponseCacheOptions, type LookupOptions } from './response-cache.js';
export { readCacheSettings, type CacheSettings } from './settings.js';
export { DATASET_VERSION_KEY, VERSION_LEASES_KEY } from './keys.js';
