export { buildEdge, HEALTH_CHECK_INTERVAL_MS, type Edge, type EdgeOptions } from './edge.js';
export type { EdgeControlRequest, EdgeMessage } from './control.js';
