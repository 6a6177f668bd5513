// Prio3 on batches: many measurements sharded, or many reports taken through one aggregator's
// ping-pong step, on a worker pool when one is given (the batch split over its workers, ./pool-ops.ts
// and ./pool-run.ts) or on this thread. An aggregator's step settles each report on its own, as Promise.allSettled does:
// a report that fails verification is `rejected` with the PrivkitError that refused it, and the rest
// of the batch is verified as if it were absent.
import { abortedError } from '../errors.js';
import { assertPool } from '../pool/guards.js';
import type { CallOptions, PartRun, Plan, PoolOperation, PoolRunner } from '../pool/types.js';
import { callOptions, readOptions } from '../validate.js';
import type { Prio3, Prio3HelperInit, Prio3LeaderInit, Prio3Report } from './prio3.js';
import { prio3Shard, prio3Step, type Role, type StepResult } from './pool-ops.js';
import * as runs from './pool-run.js';

/** Options of {@link shardReports}. */
export interface Prio3BatchOptions extends CallOptions {
  /** Run the batch on this pool's workers (each draws the reports' randomness from its own CSPRNG). Default: this thread. */
  pool?: PoolRunner;
  /** Application context string (as in {@link Prio3.shard}). Default: empty. */
  ctx?: Uint8Array;
}

/** Options of {@link leaderInitReports} and {@link helperInitReports}. */
export interface Prio3StepOptions extends Prio3BatchOptions {
  /** The verification key shared by the aggregators (32 bytes). */
  verifyKey: Uint8Array;
}

/** One report as the leader receives it. */
export interface Prio3LeaderInput {
  /** The report's nonce. */
  nonce: Uint8Array;
  /** The report's public share. */
  publicShare: Uint8Array;
  /** The leader's input share (inputShares[0]). */
  inputShare: Uint8Array;
}

/** One report as the helper receives it: its input share and the leader's `initialize` message. */
export interface Prio3HelperInput extends Prio3LeaderInput {
  /** The leader's outbound message for this report (from leaderInitReports or leaderInit). */
  inbound: Uint8Array;
}

/** An operation's plan, its one part on this thread (through the operation's run) and its merge: the pool's contract without a pool. */
async function runHere<Args extends unknown[], Task, Part, Result, P extends Plan<Task>>(
  operation: PoolOperation<Args, Task, Part, Result, P>,
  run: PartRun<Task, Part>,
  call: CallOptions,
  ...args: Args
): Promise<Result> {
  const plan = operation.plan(...args);
  const part = await run(plan.task({ row: 0, rows: plan.rows }, []), {}, () => undefined);
  call.onProgress?.(plan.rows, plan.rows);
  return operation.merge([part], plan, undefined);
}

/** The batch on the pool when one is given, else on this thread (refusing an aborted signal first, reporting progress once at the end). */
async function runBatch<Args extends unknown[], Task, Part, Result, P extends Plan<Task>>(
  opts: Prio3BatchOptions,
  operation: PoolOperation<Args, Task, Part, Result, P>,
  run: PartRun<Task, Part>,
  ...args: Args
): Promise<Result> {
  const call = callOptions({ signal: opts.signal, onProgress: opts.onProgress });
  const { pool } = opts;
  if (pool !== undefined) {
    assertPool(pool, 'opts.pool');
    return pool.runWith(call, operation as unknown as PoolOperation<Args, unknown, unknown, Result, Plan<unknown>>, ...args);
  }
  if (call.signal?.aborted) throw abortedError(call.signal);
  return runHere(operation, run, call, ...args);
}

/**
 * Shards each measurement into a report (as {@link Prio3.shard} with fresh CSPRNG randomness),
 * on the pool's workers when one is given.
 *
 * @param vdaf - a VDAF made by one of privkit/prio's factories.
 * @param measurements - the measurements (each checked as shard checks it).
 * @param opts - pool, ctx, signal and onProgress (all optional).
 * @returns one report per measurement, in order.
 * @throws {PrivkitError} E_ARG (as a rejection) when vdaf is not made by a privkit/prio factory,
 *   measurements is not an array, a measurement is out of the VDAF's domain (naming its index), ctx
 *   is not a Uint8Array of at most 65,527 bytes, opts is not an object or opts.pool is not a Pool;
 *   E_ABORTED when opts.signal aborts; E_WORKER when a pool worker fails.
 *
 * @example
 * ```ts
 * import { ready } from 'privkit';
 * import { createPool } from 'privkit/pool';
 * import { prio3Histogram, shardReports } from 'privkit/prio';
 * await ready();
 * const pool = await createPool({ threads: 2 });
 * const vdaf = prio3Histogram({ length: 4 });
 * const reports = await shardReports(vdaf, [0, 3, 3, 1], { pool });
 * console.log(reports.length); // 4
 * await pool.close();
 * ```
 */
export async function shardReports(vdaf: Prio3<any, unknown>, measurements: readonly unknown[], opts: Prio3BatchOptions = {}): Promise<Prio3Report[]> {
  const o = readOptions(opts, ['pool', 'ctx', 'signal', 'onProgress'], 'opts', true);
  return runBatch(o, prio3Shard, runs.prio3Shard, vdaf as Prio3<unknown, unknown>, measurements, o.ctx);
}

function step(role: Role, vdaf: Prio3<any, unknown>, reports: readonly unknown[], opts: Prio3StepOptions): Promise<StepResult[]> {
  const o = readOptions(opts, ['verifyKey', 'pool', 'ctx', 'signal', 'onProgress'], 'opts', true);
  return runBatch(o, prio3Step, runs.prio3Step, vdaf as Prio3<unknown, unknown>, role, o.verifyKey, reports, o.ctx);
}

/**
 * The leader's first ping-pong step ({@link Prio3.leaderInit}) on each report of a batch, on the
 * pool's workers when one is given. Each report settles on its own: `fulfilled` with the leader's
 * state and its `initialize` message for the helper, or `rejected` with the PrivkitError that
 * refused it (E_AUTH for an invalid report, E_ARG for a share of the wrong length or encoding);
 * finish a fulfilled one with `vdaf.leaderContinued(state, finish)`.
 *
 * @param vdaf - a VDAF made by one of privkit/prio's factories (2 aggregators).
 * @param reports - each report's nonce, public share and the leader's input share.
 * @param opts - verifyKey (required); pool, ctx, signal and onProgress.
 * @throws {PrivkitError} E_ARG (as a rejection) when vdaf is not made by a privkit/prio factory,
 *   reports is not an array of objects with Uint8Array fields nonce, publicShare and inputShare (other
 *   fields are ignored), verifyKey is not 32 bytes, ctx is not a Uint8Array of at most 65,527 bytes, opts is
 *   not an object or opts.pool is not a Pool; E_ABORTED when opts.signal aborts; E_WORKER when a pool worker fails.
 *
 * @example
 * ```ts
 * import { ready } from 'privkit';
 * import { helperInitReports, leaderInitReports, prio3Count } from 'privkit/prio';
 * await ready();
 * const vdaf = prio3Count();
 * const verifyKey = crypto.getRandomValues(new Uint8Array(32));
 * const reports = [vdaf.shard(1), vdaf.shard(0)];
 * const led = await leaderInitReports(vdaf, reports.map((r) => ({ ...r, inputShare: r.inputShares[0]! })), { verifyKey });
 * console.log(led.map((r) => r.status)); // ['fulfilled', 'fulfilled']
 * ```
 */
export async function leaderInitReports(vdaf: Prio3<any, unknown>, reports: readonly Prio3LeaderInput[], opts: Prio3StepOptions): Promise<PromiseSettledResult<Prio3LeaderInit>[]> {
  return (await step('leader', vdaf, reports, opts)) as PromiseSettledResult<Prio3LeaderInit>[];
}

/**
 * The helper's ping-pong step ({@link Prio3.helperInit}) on each report of a batch with the
 * leader's `initialize` message, on the pool's workers when one is given. Each report settles on its
 * own: `fulfilled` with the helper's output share (add it to the helper's aggregator) and its
 * `finish` message for the leader, or `rejected` with the PrivkitError that refused it.
 *
 * @param vdaf - a VDAF made by one of privkit/prio's factories (2 aggregators).
 * @param reports - each report's nonce, public share, the helper's input share and the leader's message.
 * @param opts - verifyKey (required); pool, ctx, signal and onProgress.
 * @throws {PrivkitError} E_ARG (as a rejection) as leaderInitReports, with `inbound` a required
 *   Uint8Array field of each report; E_ABORTED when opts.signal aborts; E_WORKER when a pool worker fails.
 *
 * @example
 * ```ts
 * import { ready } from 'privkit';
 * import { helperInitReports, leaderInitReports, prio3Count } from 'privkit/prio';
 * await ready();
 * const vdaf = prio3Count();
 * const verifyKey = crypto.getRandomValues(new Uint8Array(32));
 * const report = vdaf.shard(1);
 * const [led] = await leaderInitReports(vdaf, [{ ...report, inputShare: report.inputShares[0]! }], { verifyKey });
 * if (led!.status !== 'fulfilled') throw led!.reason;
 * const [helped] = await helperInitReports(vdaf, [{ ...report, inputShare: report.inputShares[1]!, inbound: led!.value.outbound }], { verifyKey });
 * console.log(helped!.status); // 'fulfilled'
 * ```
 */
export async function helperInitReports(vdaf: Prio3<any, unknown>, reports: readonly Prio3HelperInput[], opts: Prio3StepOptions): Promise<PromiseSettledResult<Prio3HelperInit>[]> {
  return (await step('helper', vdaf, reports, opts)) as PromiseSettledResult<Prio3HelperInit>[];
}
