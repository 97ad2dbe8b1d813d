/** Open the store a `--db` value (or POLYTHROTTLE_DB) names: a postgres:// URL or a SQLite file. */
import { defaultDbPath } from './paths.ts';
import { isPostgresUrl, PostgresStore } from './postgres-store.ts';
import type { Store } from './store.ts';
import { TuningStore } from './tuning-store.ts';

export async function openStore(db: string = defaultDbPath()): Promise<Store> {
  return isPostgresUrl(db) ? PostgresStore.open(db) : new TuningStore(db);
}
