/** `pnpm migrate`: applies pending migrations to the database at DATABASE_URL; `--bootstrap` creates the role that does it. */
import { interruptedExitCode, onStopSignal } from '@taskoverflow/config';
import { bootstrapMigrationRole } from '../bootstrap.js';
import { describeDatabaseUrlProblem } from '../connection.js';
import { describeSchemaAhead, migrateDatabaseAt } from '../migrate.js';
import {
  MIGRATION_PASSWORD_VARIABLE,
  MIGRATION_ROLE,
  ROLE_PASSWORD_VARIABLES,
  SERVICE_ROLES,
  type ServiceWithRole,
} from '../roles.js';
import { waitForDatabase } from '../startup-check.js';

/** How long either mode waits for PostgreSQL to accept connections (a first `docker compose up`). */
const WAIT_FOR_DATABASE_MS = 60_000;
const APPLICATION_NAME = 'taskoverflow-migrate';

const USAGE = `Usage: DATABASE_URL=postgres://${MIGRATION_ROLE}:password@host:5432/database pnpm migrate
       DATABASE_URL=postgres://admin:password@host:5432/database ${MIGRATION_PASSWORD_VARIABLE}=… pnpm migrate --bootstrap

pnpm migrate applies every pending migration (kysely Migrator; safe to run while services are
up, and from several processes at once) as the role in DATABASE_URL: ${MIGRATION_ROLE}, which
owns the schema. The password may come from PGPASSWORD instead of the URL. A database that is
ahead of this code (it has applied migrations this code lacks: a deploy was rolled back) is
left as it is, and said so; one whose history does not extend this code's is refused.

Then, for each of these variables that is set, lets the service's role log in with it:
  ${ROLE_PASSWORD_VARIABLES['todo-read']}   ${SERVICE_ROLES['todo-read']} (todo-read: reads todos)
  ${ROLE_PASSWORD_VARIABLES['todo-write']}  ${SERVICE_ROLES['todo-write']} (todo-write: changes rows, no DDL)

--bootstrap, run once per database as its administrator (the RDS master user, a superuser),
connects to the server's postgres database too, creates ${MIGRATION_ROLE} (LOGIN, CREATEROLE) with the password in ${MIGRATION_PASSWORD_VARIABLE},
lets it connect and create in schema public, hands it the tables the administrator owns there,
and makes it an administrator of the service roles that exist. Running it again sets a new
password. It applies no migration.

Either mode waits up to ${WAIT_FOR_DATABASE_MS / 1000} s for PostgreSQL to accept connections (refused,
not resolving, starting up), saying so on each retry; a wrong password or TLS failure stops it at once.

pnpm start migrates its own database; on AWS and in docker-compose.yml a migrate container runs
this before todo-write starts (docs/deploy.md).`;

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  if (args.includes('--help') || args.includes('-h')) {
    console.log(USAGE);
    return 0;
  }
  const unknown = args.filter((arg) => arg !== '--bootstrap');
  const url = process.env.DATABASE_URL?.trim();
  const problem =
    unknown.length > 0
      ? `unknown argument ${unknown.join(' ')}`
      : url
        ? describeDatabaseUrlProblem(url)
        : 'DATABASE_URL is not set';
  if (!url || problem) {
    console.error(`pnpm migrate: ${problem}\n\n${USAGE}`);
    return 2;
  }
  // Exiting part-way is safe: kysely runs the migrations in one transaction, which PostgreSQL
  // rolls back when the connection closes, and --bootstrap may run again.
  onStopSignal('stopped', (signal) => process.exit(interruptedExitCode('migrate', signal)));
  const target = `${new URL(url).host}${new URL(url).pathname}`;
  await waitForDatabase(
    { connectionString: url, applicationName: APPLICATION_NAME },
    {
      timeoutMs: WAIT_FOR_DATABASE_MS,
      onRetry: (reason, remainingMs) =>
        console.log(
          `PostgreSQL at ${target} is not accepting connections yet (${reason}); retrying for ${Math.ceil(remainingMs / 1000)} s more`,
        ),
    },
  );
  return args.includes('--bootstrap') ? bootstrap(url, target) : migrate(url, target);
}

async function migrate(url: string, target: string): Promise<number> {
  console.log(`migrating ${target} …`);
  const passwords = Object.fromEntries(
    Object.entries(ROLE_PASSWORD_VARIABLES).map(([service, variable]) => [service, process.env[variable] || undefined]),
  ) as Partial<Record<ServiceWithRole, string>>;
  const { applied, ahead } = await migrateDatabaseAt(url, APPLICATION_NAME, passwords);
  if (ahead.length > 0) console.log(`${describeSchemaAhead(ahead)} ✓`);
  else console.log(applied.length > 0 ? `applied: ${applied.join(', ')} ✓` : 'already up to date ✓');
  const roles = (Object.keys(passwords) as ServiceWithRole[])
    .filter((service) => passwords[service])
    .map((service) => SERVICE_ROLES[service]);
  if (roles.length > 0) console.log(`login enabled for: ${roles.join(', ')} ✓`);
  return 0;
}

async function bootstrap(url: string, target: string): Promise<number> {
  const password = process.env[MIGRATION_PASSWORD_VARIABLE];
  if (!password) {
    console.error(
      `pnpm migrate --bootstrap: ${MIGRATION_PASSWORD_VARIABLE} is not set: the password ${MIGRATION_ROLE} is to log in with\n\n${USAGE}`,
    );
    return 2;
  }
  console.log(`bootstrapping ${MIGRATION_ROLE} on ${target} …`);
  await bootstrapMigrationRole(url, password, APPLICATION_NAME);
  console.log(`${MIGRATION_ROLE} logs in, owns the schema and may create roles ✓`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`pnpm migrate: ${(error as Error).message}`);
    process.exit(1);
  },
);
