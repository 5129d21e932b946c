export { buildEdge, HEALTH_CHECK_INTERVAL_MS, NODE_EDGE_BALANCER, type Edge, type EdgeOptions } from './edge.js';
export type { EdgeControlRequest, EdgeMessage } from './control.js';
export { readEdgeConfig, type EdgeConfig } from './config.js';
export {
  HAPROXY_LOG_FORMAT,
  haproxySetup,
  slotIndex,
  slotName,
  type HaproxySetup,
  type HaproxySetupOptions,
} from './haproxy-config.js';
