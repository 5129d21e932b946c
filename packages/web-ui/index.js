// @ts-check
/**
 * Where the built page is, for the service that serves it (todo-read). Plain JavaScript (typed
 * by index.d.ts) because it must load as it is wherever todo-read runs, through tsx in the
 * workspace or compiled in the container, and this package's dist/ is Vite's output, not tsc's.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const distDir = fileURLToPath(new URL('./dist/', import.meta.url));

/**
 * The directory `vite build` wrote: index.html and the hashed files under assets/.
 * Throws, saying how to build it, when there is no build.
 * @returns {string}
 */
export function builtWebUiDir() {
  const page = join(distDir, 'index.html');
  if (!existsSync(page)) {
    throw new Error(
      `the web UI is not built (${page} does not exist): run \`pnpm install\`, which builds it, ` +
        'or `pnpm --filter @taskoverflow/web-ui build`',
    );
  }
  return distDir;
}
