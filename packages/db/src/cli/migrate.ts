/** `pnpm migrate`: applies pending migrations to the database at DATABASE_URL. */
import { describeDatabaseUrlProblem } from '../connection.js';
import { migrateDatabaseAt } from '../migrate.js';

const USAGE = `Usage: DATABASE_URL=postgres://user:password@host:5432/database pnpm migrate

Applies every pending migration (kysely Migrator; safe to run while services are up, and from
several processes at once). pnpm start migrates its own database; on AWS, todo-write migrates
at start (MIGRATE_ON_START=true).`;

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
  const applied = await migrateDatabaseAt(url);
  console.log(applied.length > 0 ? `applied: ${applied.join(', ')} ✓` : 'already up to date ✓');
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`pnpm migrate: ${(error as Error).message}`);
    process.exit(1);
  },
);
