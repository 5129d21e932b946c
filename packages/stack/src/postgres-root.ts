/**
 * PostgreSQL refuses to run as root, so when we are root it runs as the `postgres` user, who
 * must be able to reach its binaries and its data directory. In a checkout under a home of
 * mode 0700 (/root in containers and CI images) it can reach neither: this puts them where it can.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, lstat, mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import {
  PostgresBinariesUnreachableError,
  PostgresCopyFailedError,
  PostgresDirectoryUnsafeError,
  PostgresUserMissingError,
} from './errors.js';

/** The user and group PostgreSQL runs as. */
export interface PostgresUser {
  uid: number;
  gid: number;
}

/** A PostgreSQL build: its version and its directory holding bin/, lib/ and share/. */
export interface PostgresBinaries {
  version: string;
  nativeDir: string;
}

/**
 * Where binaries and data go when the postgres user cannot reach them where they are: a
 * directory only root writes to, under /var/tmp because a persistent data directory must
 * outlive a reboot, which /tmp does not promise.
 */
export const ROOT_REACHABLE_DIR = '/var/tmp/taskoverflow-postgres';

const POSTGRES_USER_NAME = 'postgres';
const CREATE_USER_COMMAND = ['useradd', '--system', '--user-group', '--no-create-home', POSTGRES_USER_NAME] as const;

/** The user to run PostgreSQL as: undefined unless we are root; created when missing. */
export function postgresUser(): PostgresUser | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const existing = lookUpUser(POSTGRES_USER_NAME);
  if (existing) return existing;
  const created = spawnSync(CREATE_USER_COMMAND[0], CREATE_USER_COMMAND.slice(1), { encoding: 'utf8' });
  const user = lookUpUser(POSTGRES_USER_NAME);
  if (!user) {
    const reason = created.error?.message ?? created.stderr.trim();
    throw new PostgresUserMissingError(POSTGRES_USER_NAME, CREATE_USER_COMMAND.join(' '), reason);
  }
  return user;
}

function lookUpUser(name: string): PostgresUser | undefined {
  const [uid, gid] = ['-u', '-g'].map((flag) => spawnSync('id', [flag, name], { encoding: 'utf8' }));
  if (uid!.status !== 0 || gid!.status !== 0) return undefined;
  return { uid: Number.parseInt(uid!.stdout, 10), gid: Number.parseInt(gid!.stdout, 10) };
}

/**
 * Whether `user` has search permission on `path`: may execute it if a file, enter it if a
 * directory. Either needs every directory above it to be enterable too, so this is the
 * kernel's own answer, asked as that user.
 */
export function canReach(user: PostgresUser, path: string): boolean {
  return spawnSync('test', ['-x', path], { uid: user.uid, gid: user.gid }).status === 0;
}

/**
 * The directory to run the binaries from: where they are installed when `user` can execute
 * them there, else a copy under ROOT_REACHABLE_DIR, made once per version. The copy is built
 * under a temporary name and renamed into place, so a copy found is a complete one.
 */
export async function reachableBinaries(user: PostgresUser, binaries: PostgresBinaries): Promise<string> {
  if (canReach(user, join(binaries.nativeDir, 'bin', 'initdb'))) return binaries.nativeDir;
  await ensureRootOnlyDirectory(ROOT_REACHABLE_DIR);
  const copyDir = join(ROOT_REACHABLE_DIR, `bin-${binaries.version}`);
  if (!existsSync(copyDir)) {
    const staging = await mkdtemp(join(ROOT_REACHABLE_DIR, '.bin-copying-'));
    try {
      copyPreservingLinks(binaries.nativeDir, staging);
      await chmod(staging, 0o755);
      await rename(staging, copyDir);
    } catch (error) {
      await rm(staging, { recursive: true, force: true });
      // ENOTEMPTY/EEXIST: another start copied them first, which will do as well.
      if (!isCode(error, 'ENOTEMPTY') && !isCode(error, 'EEXIST')) throw error;
    }
  }
  if (!canReach(user, join(copyDir, 'bin', 'initdb'))) {
    throw new PostgresBinariesUnreachableError(POSTGRES_USER_NAME, copyDir, ROOT_REACHABLE_DIR);
  }
  return copyDir;
}

/**
 * The data directory to use for `dataDir`: itself when `user` can reach where it is (or
 * will be), else one under ROOT_REACHABLE_DIR named after it, the same on every start.
 */
export async function reachableDataDir(user: PostgresUser, dataDir: string): Promise<string> {
  if (canReach(user, nearestExistingDirectory(dirname(resolve(dataDir))))) return dataDir;
  await ensureRootOnlyDirectory(ROOT_REACHABLE_DIR);
  const key = createHash('sha256').update(resolve(dataDir)).digest('hex').slice(0, 12);
  return join(ROOT_REACHABLE_DIR, `data-${basename(dataDir)}-${key}`);
}

function nearestExistingDirectory(path: string): string {
  return existsSync(path) ? path : nearestExistingDirectory(dirname(path));
}

/**
 * Creates `directory` (0755, root's), or checks that the one there is root's and that no one
 * else can write to it: we run binaries from it, and someone else's could hold anything.
 */
async function ensureRootOnlyDirectory(directory: string): Promise<void> {
  if (await mkdir(directory, { recursive: true })) await chmod(directory, 0o755); // whatever the umask
  const stats = await lstat(directory);
  if (!stats.isDirectory() || stats.uid !== 0 || (stats.mode & 0o022) !== 0) {
    throw new PostgresDirectoryUnsafeError(directory, stats.uid, (stats.mode & 0o7777).toString(8));
  }
}

/**
 * `cp -a`: modes, symbolic links and hard links kept. pnpm may install the libraries' aliases
 * (libicudata.so, .so.60, .so.60.2: 27 MB each) as hard links, which fs.cp would triple.
 */
function copyPreservingLinks(from: string, into: string): void {
  const copy = spawnSync('cp', ['-a', `${from}/.`, into], { encoding: 'utf8' });
  if (copy.status !== 0) throw new PostgresCopyFailedError(into, copy.error?.message ?? copy.stderr.trim());
}

function isCode(error: unknown, code: string): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === code;
}
