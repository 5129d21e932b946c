export { buildEdge, type EdgeOptions } from './edge.js';
