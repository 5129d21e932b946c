/**
 * moto's server, the AWS emulator the CloudWatch tests run against (`@taskoverflow/stack/testing`):
 * a child process on a free 127.0.0.1 port, so all traffic stays on this machine. Without moto
 * a test fails naming the install command, never skips. The AWS SDK reaches it through its own
 * variables (AWS_ENDPOINT_URL_CLOUDWATCH_LOGS, AWS_ENDPOINT_URL_CLOUDWATCH: motoEnvironment).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { findFreePort } from './free-port.js';

export const MOTO_INSTALL = "python3 -m pip install 'moto[server]==5.2.1'";
/** How long moto may take to answer after it starts (a Python import of every service). */
const MOTO_START_MS = 20_000;

/** moto's server; stop() kills it as a crash would. */
export class MotoServer {
  #child: ChildProcess | undefined;
  constructor(
    private readonly command: string[],
    readonly port: number,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const [file, ...args] = this.command as [string, ...string[]];
    const child = spawn(file, [...args, '-H', '127.0.0.1', '-p', String(this.port)], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    this.#child = child;
    let output = '';
    child.stderr.on('data', (chunk: Buffer) => void (output = (output + chunk.toString()).slice(-2000)));
    const deadline = Date.now() + MOTO_START_MS;
    while (!(await this.#answers())) {
      if (child.exitCode !== null)
        throw new Error(`moto server exited with code ${child.exitCode} (install: ${MOTO_INSTALL}):\n${output}`);
      if (Date.now() > deadline)
        throw new Error(`moto server did not answer on ${this.url} within ${MOTO_START_MS / 1000} s:\n${output}`);
      await sleep(100);
    }
  }

  async stop(): Promise<void> {
    const child = this.#child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
  }

  async #answers(): Promise<boolean> {
    try {
      return (await fetch(`${this.url}/moto-api/`, { signal: AbortSignal.timeout(1000) })).ok;
    } catch {
      return false;
    }
  }
}

/** `moto_server` from PATH, else `python3 -m moto.server`; neither is a failure, not a skip. */
export function motoCommand(): string[] {
  const onPath = (process.env.PATH ?? '').split(delimiter).some((dir) => dir && existsSync(join(dir, 'moto_server')));
  if (onPath) return ['moto_server'];
  if (spawnSync('python3', ['-c', 'import moto.server'], { stdio: 'ignore' }).status === 0)
    return ['python3', '-m', 'moto.server'];
  throw new Error(
    `the AWS emulator is missing: neither moto_server nor python3 -m moto.server works. Install it: ${MOTO_INSTALL}`,
  );
}

/** A moto server on a free port, stopped by the owner's clean-up. */
export async function startMoto(owner: { teardown(cleanUp: () => Promise<void>): void }): Promise<MotoServer> {
  const moto = new MotoServer(motoCommand(), await findFreePort());
  owner.teardown(() => moto.stop());
  await moto.start();
  return moto;
}

/** What points the AWS SDK (v3) at moto, with credentials it accepts, in `region`. */
export function motoEnvironment(moto: MotoServer, region: string): Record<string, string> {
  return {
    AWS_ENDPOINT_URL_CLOUDWATCH_LOGS: moto.url,
    AWS_ENDPOINT_URL_CLOUDWATCH: moto.url,
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
    AWS_REGION: region,
    AWS_EC2_METADATA_DISABLED: 'true',
  };
}
