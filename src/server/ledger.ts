// The crash-safe state of privkit/server on SQLite (better-sqlite3, WAL, synchronous=FULL): tasks,
// enrolled clients (hashes of their bearer tokens, and the Ed25519 signing key each bound to its
// identity for secure aggregation: set once, never replaced), rounds, model versions and the privacy ledger
// (the accounting event charged for each round, with the running epsilon).
//
// The rules that make a crash (kill -9 at any instant) lose no committed round and never under- or
// double-charge:
//   1. a round is charged (its ledger row committed, status 'charged') BEFORE anything computed from
//      its updates exists outside the server's memory: the charge precedes the aggregation itself;
//   2. the round's release (status 'released') and its model version commit in one transaction, and
//      the model is sent to anyone only after that commit;
//   3. the ledger row's key is (task, round), so a round can be charged at most once, and round numbers
//      are never reused: a restart marks every round in flight 'aborted' (recover), keeping a charged
//      round's charge, and the task continues with the next round number from the last released model;
//   4. a withheld round (too few updates) is decided on the public count before any aggregation and
//      charges nothing, as in privkit/fl's FedAvg;
//   5. a charged round that fails before its release (secure aggregation could not unmask) becomes
//      'aborted' and keeps its charge, as after a crash. Each aborted round records what aborted it
//      ('restart': the crash rule 3; 'protocol': rule 5), so a task can stop after too many protocol
//      aborts (TaskOptions.maxAbortedRounds) without counting the operator's restarts.
// Banned clients (a SecAgg+ dealer convicted by its own signed messages, or a holder whose own signed
// unmasking response reveals a share its dealer never sent) are stored with the round that convicted
// them, before that round is aborted or released: a restart does not forget them.
// The accountant's state is never stored, only the events: epsilon is recomputed from the ledger rows.
//
// Adversary: a crash of the server process at any point (not a malicious operator: whoever controls
// the server sees the updates in the clear under central DP, and can edit this database).
import { createRequire } from 'node:module';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import { PrivkitError } from '../errors.js';
import type { PrivacyEvent } from '../accounting/events.js';

/** The states of a round in the ledger. */
export type LedgerRoundStatus = 'open' | 'charged' | 'released' | 'withheld' | 'aborted';

/** One round as stored. */
export interface LedgerRound {
  /** Counts from 1; never reused within a task. */
  round: number;
  /** Where the round got to. */
  status: LedgerRoundStatus;
  /** Clients checked in when the round sampled (the public population of its sampling). */
  checkedIn: number;
  /** Clients sampled. */
  sampled: number;
  /** Updates aggregated (released), received (withheld), or charged for (a secure-aggregation round aborted after its charge: its survivors); 0 while open. */
  included: number;
  /** The charged event (JSON), when the round was charged. */
  event?: PrivacyEvent;
  /** Epsilon of the task after this round's charge. */
  epsilonAfter?: number;
  /** The model version the round released. */
  modelVersion?: number;
  /** What aborted an aborted round: a restart of the server (crash rule 3) or the protocol (rule 5: it failed after its charge). */
  abortedBy?: 'restart' | 'protocol';
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS tasks (
  id TEXT PRIMARY KEY,
  spec TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS clients (
  task_id TEXT NOT NULL REFERENCES tasks(id),
  client_id TEXT NOT NULL,
  token_hash BLOB NOT NULL UNIQUE,
  PRIMARY KEY (task_id, client_id)
);
CREATE TABLE IF NOT EXISTS signing_keys (
  task_id TEXT NOT NULL,
  client_id TEXT NOT NULL,
  public_key BLOB NOT NULL UNIQUE,
  PRIMARY KEY (task_id, client_id),
  FOREIGN KEY (task_id, client_id) REFERENCES clients(task_id, client_id)
);
CREATE TABLE IF NOT EXISTS rounds (
  task_id TEXT NOT NULL REFERENCES tasks(id),
  round INTEGER NOT NULL CHECK (round >= 1),
  status TEXT NOT NULL CHECK (status IN ('open', 'charged', 'released', 'withheld', 'aborted')),
  checked_in INTEGER NOT NULL,
  sampled INTEGER NOT NULL,
  included INTEGER NOT NULL DEFAULT 0,
  aborted_by TEXT CHECK (aborted_by IN ('restart', 'protocol')),
  PRIMARY KEY (task_id, round)
);
CREATE TABLE IF NOT EXISTS charges (
  task_id TEXT NOT NULL,
  round INTEGER NOT NULL,
  event TEXT NOT NULL,
  epsilon_after REAL NOT NULL,
  PRIMARY KEY (task_id, round),
  FOREIGN KEY (task_id, round) REFERENCES rounds(task_id, round)
);
CREATE TABLE IF NOT EXISTS banned_clients (
  task_id TEXT NOT NULL,
  client_id TEXT NOT NULL,
  round INTEGER NOT NULL,
  reason TEXT NOT NULL,
  PRIMARY KEY (task_id, client_id),
  FOREIGN KEY (task_id, client_id) REFERENCES clients(task_id, client_id),
  FOREIGN KEY (task_id, round) REFERENCES rounds(task_id, round)
);
CREATE TABLE IF NOT EXISTS models (
  task_id TEXT NOT NULL REFERENCES tasks(id),
  version INTEGER NOT NULL,
  round INTEGER NOT NULL,
  params BLOB NOT NULL,
  PRIMARY KEY (task_id, version)
);
`;

/** The database file inside the data directory. */
export const LEDGER_FILE = 'privkit-ledger.sqlite';

/**
 * The ledger's format (SQLite user_version). 2: rounds.aborted_by, banned_clients, and charges whose
 * events carry the sampler's tailMass and the slack of src/dp/sampler-error.ts. An earlier file's
 * charges replay under-charged (the old slack, no tail), so it is refused, not migrated.
 */
export const LEDGER_FORMAT = 2;

function loadDriver(): typeof BetterSqlite3 {
  try {
    return createRequire(import.meta.url)('better-sqlite3') as typeof BetterSqlite3;
  } catch (cause) {
    throw new PrivkitError('E_ARG', 'privkit/server needs its optional peer dependency better-sqlite3 12.x: npm install better-sqlite3@12', {
      argument: 'better-sqlite3',
      cause,
    });
  }
}

/** The server's persistent state; one per data directory (see the file header for the crash rules). */
export class Ledger {
  readonly #db: BetterSqlite3.Database;
  /** Prepared statements by their SQL: each is compiled once (the task status is read often, e.g. polled over HTTP). */
  readonly #statements = new Map<string, BetterSqlite3.Statement>();

  /**
   * Opens (creating when missing) the ledger in directory `dir`, in WAL mode.
   *
   * @throws {PrivkitError} E_ARG when dir is not a non-empty string, better-sqlite3 is not installed, or the ledger there has another format (LEDGER_FORMAT).
   */
  constructor(dir: string) {
    if (typeof dir !== 'string' || dir.length === 0) throw new PrivkitError('E_ARG', 'dir must be a non-empty directory path', { argument: 'dir' });
    const Database = loadDriver();
    mkdirSync(dir, { recursive: true });
    this.#db = new Database(join(dir, LEDGER_FILE));
    this.#db.pragma('journal_mode = WAL');
    this.#db.pragma('synchronous = FULL');
    this.#db.pragma('foreign_keys = ON');
    const format = this.#db.pragma('user_version', { simple: true }) as number;
    const fresh = (this.#db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table'").get() as { n: number }).n === 0;
    if (!fresh && format !== LEDGER_FORMAT) {
      this.#db.close();
      throw new PrivkitError('E_ARG', `the ledger in ${dir} has format ${format}; this privkit reads format ${LEDGER_FORMAT} only (its charges would replay under-charged): start the task in a new data directory`, { argument: 'dir' });
    }
    this.#db.exec(SCHEMA);
    if (fresh) this.#db.pragma(`user_version = ${LEDGER_FORMAT}`);
  }

  #sql(text: string): BetterSqlite3.Statement {
    let statement = this.#statements.get(text);
    if (statement === undefined) {
      statement = this.#db.prepare(text);
      this.#statements.set(text, statement);
    }
    return statement;
  }

  /** Stores a task's spec, or checks that the stored one is the same (a restart). Returns false when they differ. */
  ensureTask(id: string, spec: string): boolean {
    const row = this.#sql('SELECT spec FROM tasks WHERE id = ?').get(id) as { spec: string } | undefined;
    if (row !== undefined) return row.spec === spec;
    this.#sql('INSERT INTO tasks (id, spec) VALUES (?, ?)').run(id, spec);
    return true;
  }

  /**
   * Enrols clients of a task under the hashes of their bearer tokens, all in one transaction (one fsync, not one
   * each); a client given a signingPublicKey has it bound at once, as an enrolment would (for good).
   *
   * @throws {PrivkitError} E_ARG (nothing stored) when a signing key is already bound to a client.
   */
  addClients(taskId: string, clients: readonly { clientId: string; tokenHash: Uint8Array; signingPublicKey?: Uint8Array }[]): void {
    const insert = this.#sql('INSERT INTO clients (task_id, client_id, token_hash) VALUES (?, ?, ?)');
    const taken = this.#sql('SELECT 1 FROM signing_keys WHERE public_key = ?');
    const bind = this.#sql('INSERT INTO signing_keys (task_id, client_id, public_key) VALUES (?, ?, ?)');
    this.#db.transaction(() => {
      for (const { clientId, tokenHash, signingPublicKey } of clients) {
        insert.run(taskId, clientId, tokenHash);
        if (signingPublicKey === undefined) continue;
        if (taken.get(signingPublicKey) !== undefined) throw new PrivkitError('E_ARG', 'a signing key is already bound to a client: each client needs its own', { argument: 'signingPublicKeys' });
        bind.run(taskId, clientId, signingPublicKey);
      }
    })();
  }

  /** The client of a task holding the token with this hash, if any. */
  findClient(taskId: string, tokenHash: Uint8Array): string | undefined {
    const row = this.#sql('SELECT client_id FROM clients WHERE task_id = ? AND token_hash = ?').get(taskId, tokenHash) as { client_id: string } | undefined;
    return row?.client_id;
  }

  /**
   * Binds Ed25519 public keys to clients for good, all in one transaction (one fsync, not one each),
   * in order (a key bound by an earlier entry belongs to another client for a later one). Returns each
   * entry's outcome: 'enrolled' when stored now, 'same' when this key was already the client's,
   * 'other' (nothing changed) when the client has another key or the key belongs to another client.
   */
  enrolSigningKeys(taskId: string, entries: readonly { clientId: string; publicKey: Uint8Array }[]): ('enrolled' | 'same' | 'other')[] {
    const taken = this.#sql('SELECT 1 FROM signing_keys WHERE public_key = ?');
    const insert = this.#sql('INSERT INTO signing_keys (task_id, client_id, public_key) VALUES (?, ?, ?)');
    return this.#db.transaction(() =>
      entries.map(({ clientId, publicKey }) => {
        const current = this.signingKey(taskId, clientId);
        if (current !== undefined) return Buffer.compare(Buffer.from(current), Buffer.from(publicKey)) === 0 ? 'same' : 'other';
        if (taken.get(publicKey) !== undefined) return 'other';
        insert.run(taskId, clientId, publicKey);
        return 'enrolled';
      }),
    )();
  }

  /** The Ed25519 public key enrolled for a client, if any. */
  signingKey(taskId: string, clientId: string): Uint8Array | undefined {
    const row = this.#sql('SELECT public_key FROM signing_keys WHERE task_id = ? AND client_id = ?').get(taskId, clientId) as { public_key: Uint8Array } | undefined;
    return row === undefined ? undefined : new Uint8Array(row.public_key);
  }

  /** Every enrolled client of a task with the hash of its token (what a cluster coordinator mirrors into Redis). */
  clients(taskId: string): { clientId: string; tokenHash: Uint8Array }[] {
    const rows = this.#sql('SELECT client_id, token_hash FROM clients WHERE task_id = ?').all(taskId) as { client_id: string; token_hash: Uint8Array }[];
    return rows.map((r) => ({ clientId: r.client_id, tokenHash: new Uint8Array(r.token_hash) }));
  }

  /** How many clients a task has enrolled. */
  clientCount(taskId: string): number {
    return (this.#sql('SELECT COUNT(*) AS n FROM clients WHERE task_id = ?').get(taskId) as { n: number }).n;
  }

  /** Marks every round of the task still in flight 'aborted' (a charged one keeps its charge); returns their numbers. */
  recover(taskId: string): number[] {
    return this.#db.transaction(() => {
      const rows = this.#sql("SELECT round FROM rounds WHERE task_id = ? AND status IN ('open', 'charged') ORDER BY round").all(taskId) as { round: number }[];
      this.#sql("UPDATE rounds SET status = 'aborted', aborted_by = 'restart' WHERE task_id = ? AND status IN ('open', 'charged')").run(taskId);
      return rows.map((r) => r.round);
    })();
  }

  /** The number the task's next round takes (one past every round ever opened). */
  nextRound(taskId: string): number {
    return ((this.#sql('SELECT MAX(round) AS r FROM rounds WHERE task_id = ?').get(taskId) as { r: number | null }).r ?? 0) + 1;
  }

  /** Opens a round (nothing charged yet). */
  openRound(taskId: string, round: number, checkedIn: number, sampled: number): void {
    this.#sql("INSERT INTO rounds (task_id, round, status, checked_in, sampled) VALUES (?, ?, 'open', ?, ?)").run(taskId, round, checkedIn, sampled);
  }

  /** Withholds an open round (too few updates): nothing charged, nothing released. */
  withholdRound(taskId: string, round: number, received: number): void {
    this.#transition(taskId, round, 'open', 'withheld', () => {
      this.#sql('UPDATE rounds SET included = ? WHERE task_id = ? AND round = ?').run(received, taskId, round);
    });
  }

  /** Charges an open round with its event in one transaction (rule 1: before its aggregation). */
  chargeRound(taskId: string, round: number, event: PrivacyEvent, epsilonAfter: number): void {
    this.#transition(taskId, round, 'open', 'charged', () => {
      this.#sql('INSERT INTO charges (task_id, round, event, epsilon_after) VALUES (?, ?, ?, ?)').run(taskId, round, JSON.stringify(event), epsilonAfter);
    });
  }

  /** Aborts a charged round that will not be released (rule 5): its charge stays; `included` is what it charged for. */
  abortRound(taskId: string, round: number, included: number): void {
    this.#transition(taskId, round, 'charged', 'aborted', () => {
      this.#sql("UPDATE rounds SET included = ?, aborted_by = 'protocol' WHERE task_id = ? AND round = ?").run(included, taskId, round);
    });
  }

  /** Bans a client of a task for good (a convicted dealer): `round` convicted it, `reason` says how. A second ban keeps the first. */
  banClient(taskId: string, clientId: string, round: number, reason: string): void {
    this.#sql('INSERT OR IGNORE INTO banned_clients (task_id, client_id, round, reason) VALUES (?, ?, ?, ?)').run(taskId, clientId, round, reason);
  }

  /** Why a client of a task is banned (with the round that convicted it), if it is. */
  ban(taskId: string, clientId: string): { round: number; reason: string } | undefined {
    return this.#sql('SELECT round, reason FROM banned_clients WHERE task_id = ? AND client_id = ?').get(taskId, clientId) as { round: number; reason: string } | undefined;
  }

  /** Every banned client of a task, in the order they were banned. */
  bans(taskId: string): { clientId: string; round: number; reason: string }[] {
    const rows = this.#sql('SELECT client_id, round, reason FROM banned_clients WHERE task_id = ? ORDER BY rowid').all(taskId) as { client_id: string; round: number; reason: string }[];
    return rows.map((r) => ({ clientId: r.client_id, round: r.round, reason: r.reason }));
  }

  /** A counter of the rows this ledger has written (SQLite's total_changes()): unchanged means nothing was written since (status caches key on it). */
  changes(): number {
    return (this.#sql('SELECT total_changes() AS n').get() as { n: number }).n;
  }

  /** Releases a charged round and stores its model version in one transaction (rule 2); returns the version. */
  releaseRound(taskId: string, round: number, included: number, params: Float32Array): number {
    let version = 0;
    this.#transition(taskId, round, 'charged', 'released', () => {
      version = this.latestModel(taskId)?.version ?? 0;
      version += 1;
      const bytes = new Uint8Array(params.buffer, params.byteOffset, params.byteLength);
      this.#sql('INSERT INTO models (task_id, version, round, params) VALUES (?, ?, ?, ?)').run(taskId, version, round, bytes);
      this.#sql('UPDATE rounds SET included = ? WHERE task_id = ? AND round = ?').run(included, taskId, round);
    });
    return version;
  }

  /** Stores the initial model (version 0, round 0) when the task has none. */
  initModel(taskId: string, params: Float32Array): void {
    if (this.latestModel(taskId) !== undefined) return;
    this.#sql('INSERT INTO models (task_id, version, round, params) VALUES (?, 0, 0, ?)').run(taskId, new Uint8Array(params.buffer, params.byteOffset, params.byteLength));
  }

  /** The task's latest model version, if any. */
  latestModel(taskId: string): { version: number; round: number; params: Float32Array } | undefined {
    const row = this.#sql('SELECT version, round, params FROM models WHERE task_id = ? ORDER BY version DESC LIMIT 1').get(taskId) as
      | { version: number; round: number; params: Uint8Array }
      | undefined;
    if (row === undefined) return undefined;
    const copy = new Uint8Array(row.params); // own, aligned buffer
    return { version: row.version, round: row.round, params: new Float32Array(copy.buffer, 0, copy.length / 4) };
  }

  /** The charged events of a task, in round order (what the accountant replays). */
  charges(taskId: string): { round: number; event: PrivacyEvent; epsilonAfter: number }[] {
    const rows = this.#sql('SELECT round, event, epsilon_after FROM charges WHERE task_id = ? ORDER BY round').all(taskId) as {
      round: number;
      event: string;
      epsilon_after: number;
    }[];
    return rows.map((r) => ({ round: r.round, event: JSON.parse(r.event) as PrivacyEvent, epsilonAfter: r.epsilon_after }));
  }

  /** Every round of a task with its charge and model version, in order. */
  rounds(taskId: string): LedgerRound[] {
    const rows = this.#db
      .prepare(
        `SELECT r.round, r.status, r.checked_in, r.sampled, r.included, r.aborted_by, c.event, c.epsilon_after, m.version
         FROM rounds r LEFT JOIN charges c ON c.task_id = r.task_id AND c.round = r.round
         LEFT JOIN models m ON m.task_id = r.task_id AND m.round = r.round
         WHERE r.task_id = ? ORDER BY r.round`,
      )
      .all(taskId) as {
      round: number;
      status: LedgerRoundStatus;
      checked_in: number;
      sampled: number;
      included: number;
      aborted_by: 'restart' | 'protocol' | null;
      event: string | null;
      epsilon_after: number | null;
      version: number | null;
    }[];
    return rows.map((r) => ({
      round: r.round,
      status: r.status,
      checkedIn: r.checked_in,
      sampled: r.sampled,
      included: r.included,
      ...(r.event === null ? {} : { event: JSON.parse(r.event) as PrivacyEvent }),
      ...(r.epsilon_after === null ? {} : { epsilonAfter: r.epsilon_after }),
      ...(r.version === null ? {} : { modelVersion: r.version }),
      ...(r.aborted_by === null ? {} : { abortedBy: r.aborted_by }),
    }));
  }

  /** Closes the database. */
  close(): void {
    this.#db.close();
  }

  #transition(taskId: string, round: number, from: LedgerRoundStatus, to: LedgerRoundStatus, also: () => void): void {
    this.#db.transaction(() => {
      const changed = this.#sql('UPDATE rounds SET status = ? WHERE task_id = ? AND round = ? AND status = ?').run(to, taskId, round, from).changes;
      if (changed !== 1) throw new PrivkitError('E_PROTOCOL', `round ${round} of task ${taskId} is not ${from}: it cannot become ${to}`, { argument: 'round' });
      also();
    })();
  }
}
