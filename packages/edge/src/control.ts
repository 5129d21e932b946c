import type { ServiceName } from '@taskoverflow/routing';

/**
 * The control channel between `pnpm start` and the edge it runs as a child process: Node's
 * IPC channel (`process.send`). Only the parent holds it (no port to find, guard or leave
 * open to other local users), and it closes when the parent dies, which tells the edge to
 * close too instead of living on as an orphan holding port 8080.
 */

/** Parent → edge: change a target group; answered with an EdgeControlReply of the same id. */
export interface EdgeControlRequest {
  id: number;
  op: 'register' | 'deregister';
  service: ServiceName;
  /** The replica's base URL, e.g. http://127.0.0.1:41234. */
  url: string;
}

/** Edge → parent. */
export type EdgeMessage =
  | { type: 'listening'; url: string }
  /** It could not start; `code` is the system error's (EADDRINUSE…) when there is one. */
  | { type: 'failed'; message: string; code?: string }
  | { type: 'reply'; id: number; error?: string };
