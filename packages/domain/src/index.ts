export { formatWireTimestamp, parseInputDate } from './dates.js';
export * from './schemas.js';
export { operationSchemas, type OperationId } from './operations.js';
