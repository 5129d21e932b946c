/**
 * Starting ceiling-server.mjs: the bench's ceiling scenario, `pnpm loadtest --target ceiling`
 * (k6's floor) and `pnpm edge-cost`'s fixed upstream.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HEALTH_PATH, KEEP_ALIVE_TIMEOUT_MS, LISTEN_BACKLOG } from '@taskoverflow/routing';
import { findFreePort, startServiceProcess, type ServiceProcess } from '@taskoverflow/stack';
import type { CapturedResponse } from './seed.js';

/** JavaScript: startServiceProcess runs it under plain Node, as the services run compiled. */
export const CEILING_ENTRY = fileURLToPath(new URL('./ceiling-server.mjs', import.meta.url));

/** The ceiling server's environment to send the bytes in `bodyFile` with `headers`. */
export function ceilingServerEnv(bodyFile: string, headers: Record<string, string>): Record<string, string> {
  return {
    CEILING_BODY_FILE: bodyFile,
    CEILING_HEADERS: JSON.stringify(headers),
    CEILING_HEALTH_PATH: HEALTH_PATH,
    CEILING_KEEP_ALIVE_TIMEOUT_MS: String(KEEP_ALIVE_TIMEOUT_MS),
    CEILING_LISTEN_BACKLOG: String(LISTEN_BACKLOG),
  };
}

/** Writes the response's body into `dir`; resolves with the ceiling server's environment to send it. */
export async function ceilingEnv(dir: string, response: CapturedResponse): Promise<Record<string, string>> {
  const bodyFile = join(dir, 'ceiling-body');
  await writeFile(bodyFile, response.body);
  return ceilingServerEnv(bodyFile, response.headers);
}

/**
 * The ceiling server on a free port of `host`, sending `body` as JSON to every request (the
 * edge tools' fixed upstream, edge-overload's floor); its lines go to stderr, prefixed with
 * `instance`. Resolves once it answers its health check.
 */
export async function startJsonCeiling(
  instance: string,
  host: string,
  bodyFile: string,
  body: string,
): Promise<{ url: string; server: ServiceProcess }> {
  await writeFile(bodyFile, body);
  const port = await findFreePort(host);
  const url = `http://${host}:${port}`;
  const server = await startServiceProcess({
    instance,
    entry: CEILING_ENTRY,
    env: {
      HOST: host,
      PORT: String(port),
      ...ceilingServerEnv(bodyFile, { 'content-type': 'application/json; charset=utf-8' }),
    },
    healthUrl: `${url}${HEALTH_PATH}`,
    onLine: (line) => process.stderr.write(`${instance}: ${line}\n`),
  });
  return { url, server };
}
