/** Starting ceiling-server.ts: the bench's ceiling scenario and `pnpm loadtest --target ceiling` (k6's floor). */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CapturedResponse } from './seed.js';

export const CEILING_ENTRY = fileURLToPath(new URL('./ceiling-server.ts', import.meta.url));

/** Writes the response's body into `dir`; resolves with the ceiling server's environment to send it. */
export async function ceilingEnv(dir: string, response: CapturedResponse): Promise<Record<string, string>> {
  const bodyFile = join(dir, 'ceiling-body');
  await writeFile(bodyFile, response.body);
  return { CEILING_BODY_FILE: bodyFile, CEILING_HEADERS: JSON.stringify(response.headers) };
}
