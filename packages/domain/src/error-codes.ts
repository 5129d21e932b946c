/**
 * Codes of the errors one package creates and another handles. The creator recognises the
 * failure (e.g. packages/db, pg's errors); the handler checks `error.code`, never message text.
 */

/** PostgreSQL cannot answer now (unreachable, restarting, out of connections, a broken connection): a 503 with Retry-After. */
export const DATABASE_UNAVAILABLE_CODE = 'TASKOVERFLOW_DATABASE_UNAVAILABLE';
