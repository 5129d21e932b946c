// The CloudWatch transport's entry when running from source (config.ts picks it). pino starts
// a transport's worker thread without the service's `--import tsx` when the main module is
// ESM (pino/lib/transport.js drops execArgv then), so the worker can't load transport.ts by
// itself: this plain-JS entry registers tsx in the worker first. Built code (dist/) never
// uses it: there the worker loads transport.js directly.
import { register } from 'tsx/esm/api';

register();
const { default: cloudWatchTransport } = await import('./transport.ts');
export default cloudWatchTransport;
