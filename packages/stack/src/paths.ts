import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ServiceName } from '@taskoverflow/routing';

/** The workspace root (this file is packages/stack/src/paths.ts, or dist/paths.js once built). */
export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

/** The entry file a service runs from, e.g. services/todo-read/src/server.ts. */
export function serviceEntry(service: ServiceName): string {
  return join(repoRoot, 'services', service, 'src', 'server.ts');
}
