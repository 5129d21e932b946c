export { buildEdge, type Edge, type EdgeOptions } from './edge.js';
export type { EdgeControlRequest, EdgeMessage } from './control.js';
export { DEFAULT_REPLICA_QUEUE, type ReplicaQueueSettings } from './replica.js';
