export { formatWireTimestamp, parseInputDate } from './dates.js';
export { DATABASE_UNAVAILABLE_CODE } from './error-codes.js';
export * from './schemas.js';
export { operationSchemas, type OperationId } from './operations.js';
