/** `pnpm migrate`: applies pending migrations to the database at DATABASE_URL. */
import { describeDatabaseUrlProblem } from '../connection.js';
import { migrateDatabaseAt } from '../migrate.js';
import { ROLE_PASSWORD_VARIABLES, SERVICE_ROLES, type ServiceWithRole } from '../roles.js';

const USAGE = `Usage: DATABASE_URL=postgres://user:password@host:5432/database pnpm migrate

Applies every pending migration (kysely Migrator; safe to run while services are up, and from
several processes at once), as the role in DATABASE_URL, which owns the schema. The password may
come from PGPASSWORD instead of the URL.

Then, for each of these variables that is set, lets the service's role log in with it:
  ${ROLE_PASSWORD_VARIABLES['todo-read']}   ${SERVICE_ROLES['todo-read']} (todo-read: reads todos)
  ${ROLE_PASSWORD_VARIABLES['todo-write']}  ${SERVICE_ROLES['todo-write']} (todo-write: changes rows, no DDL)

pnpm start migrates its own database; on AWS and in docker-compose.yml a migrate container runs
this before todo-write starts.`;

async function main(): Promise<number> {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    console.log(USAGE);
    return 0;
  }
  const url = process.env.DATABASE_URL?.trim();
  const problem = url ? describeDatabaseUrlProblem(url) : 'DATABASE_URL is not set';
  if (!url || problem) {
    console.error(`pnpm migrate: ${problem}\n\n${USAGE}`);
    return 2;
  }
  const host = new URL(url).host;
  console.log(`migrating ${host}${new URL(url).pathname} …`);
  const passwords = Object.fromEntries(
    Object.entries(ROLE_PASSWORD_VARIABLES).map(([service, variable]) => [service, process.env[variable] || undefined]),
  ) as Partial<Record<ServiceWithRole, string>>;
  const applied = await migrateDatabaseAt(url, 'taskoverflow-migrate', passwords);
  console.log(applied.length > 0 ? `applied: ${applied.join(', ')} ✓` : 'already up to date ✓');
  const roles = (Object.keys(passwords) as ServiceWithRole[]).filter((service) => passwords[service]).map((service) => SERVICE_ROLES[service]);
  if (roles.length > 0) console.log(`login enabled for: ${roles.join(', ')} ✓`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`pnpm migrate: ${(error as Error).message}`);
    process.exit(1);
  },
);
