/**
 * The single-process building blocks of @taskoverflow/stack. Its package entry exports the
 * whole-stack runner, which cannot start the set the bench needs (a cached and an uncached
 * todo-read side by side, each process's pid, the load balancer in front of replicas of its
 * choice), so these are imported by path, here only.
 */
export { findFreePorts } from '../../packages/stack/src/free-port.js';
export { repoRoot, serviceEntry } from '../../packages/stack/src/paths.js';
export { startServiceProcess, type ServiceProcess } from '../../packages/stack/src/processes.js';
export { startEdgeProcess } from '../../packages/stack/src/edge-process.js';
