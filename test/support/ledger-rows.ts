// Reading a privkit/server ledger from a test: the rounds table joined with each round's charge and
// model versions, one row per round in order. Used by the crash tests (test/e2e/server-ledger-crash
// and server-secagg-ledger-crash), which open the SQLite file of a server they kill -9.
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { LEDGER_FILE } from 'privkit/server';

/** One round of the ledger, its charge (if any) and its model versions. */
export interface LedgerRow {
  round: number;
  status: string;
  checked_in: number;
  sampled: number;
  included: number;
  event: string | null;
  epsilon_after: number | null;
  versions: number;
  version: number | null;
}

/** Opens the ledger in `dataDir`, gives it to `read` and closes it (read-only: beside a running server's WAL). */
export function withLedger<T>(dataDir: string, readonly: boolean, read: (db: Database.Database) => T): T {
  const db = new Database(join(dataDir, LEDGER_FILE), { readonly });
  try {
    return read(db);
  } finally {
    db.close();
  }
}

/** The ledger's rounds, ordered by round number. */
export function ledgerRows(db: Database.Database): LedgerRow[] {
  return db
    .prepare(
      `SELECT r.round, r.status, r.checked_in, r.sampled, r.included, c.event, c.epsilon_after,
         (SELECT COUNT(*) FROM models m WHERE m.task_id = r.task_id AND m.round = r.round) AS versions,
         (SELECT MAX(version) FROM models m WHERE m.task_id = r.task_id AND m.round = r.round) AS version
       FROM rounds r LEFT JOIN charges c ON c.task_id = r.task_id AND c.round = r.round ORDER BY r.round`,
    )
    .all() as LedgerRow[];
}
