export { formatWireTimestamp, INPUT_DATE_PATTERN, parseInputDate } from './dates.js';
export { DATABASE_UNAVAILABLE_CODE } from './error-codes.js';
export * from './schemas.js';
export { operationSchemas, type OperationId } from './operations.js';
