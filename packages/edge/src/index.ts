export { buildEdge, type Edge, type EdgeOptions } from './edge.js';
export type { EdgeControlRequest, EdgeMessage } from './control.js';
