// The collector's store: `openStore(db)` picks the backend by the value of --db (issue 14.4). A postgres:// or
// postgresql:// URL opens PostgreSQL (several collectors may share it); anything else is a SQLite file path.
import { UserError } from '../agent/wire/errors.js';
import { PgStore } from './store-pg.js';
import { SqliteStore } from './store-sqlite.js';
import { isPostgresUrl, redactDb } from './db-url.js';
import type { Store } from './store-types.js';

export * from './store-types.js';
export { SqliteStore } from './store-sqlite.js';
export { PgStore } from './store-pg.js';

export { isPostgresUrl, redactDb } from './db-url.js';

/** Opens (creating or migrating the schema of) the store `db` names. */
export async function openStore(db: string): Promise<Store> {
  if (!isPostgresUrl(db)) return new SqliteStore(db);
  try {
    return await PgStore.open(db);
  } catch (e) {
    // Unreachable, refused, no such database, a newer schema: the operator's to fix, one line naming the URL.
    const err = e as Error & { code?: string };
    throw new UserError(`--db ${redactDb(db)}: ${err.message || err.code || String(e)}`, { cause: e });
  }
}
