import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ServiceName } from '@taskoverflow/routing';

/** The workspace root (this file is packages/stack/src/paths.ts, or dist/paths.js once built). */
export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

/**
 * The compiled entry a service runs from under plain Node, as in its container:
 * services/todo-read/dist/server.js. buildServices() (or `pnpm build`) makes it.
 */
export function serviceEntry(service: ServiceName): string {
  return join(repoRoot, 'services', service, 'dist', 'server.js');
}
