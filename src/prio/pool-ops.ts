// Prio3 as pooled operations, their plans and merges (the contract is in src/pool/types.ts;
// shardReports, leaderInitReports and helperInitReports in ./batch.ts run them; the workers' runs
// are in ./pool-run.ts): a batch of measurements sharded, or a batch of reports taken through one
// aggregator's ping-pong step, the batch split over the workers. A report that fails verification
// is an outcome, not an error: the rest of the batch goes on.
import { fromWorkerError, PrivkitError, toWorkerError, type WorkerError } from '../errors.js';
import type { Plan, PoolOperation } from '../pool/types.js';
import { checkTypedArray } from '../wasm/boundary.js';
import { describe, readOptions } from '../validate.js';
import { assertBytes } from '../validate-arrays.js';
import { adoptLeaderState, MAX_CTX_LENGTH, VERIFY_KEY_SIZE, type Prio3, type Prio3HelperInit, type Prio3LeaderInit, type Prio3Report } from './prio3.js';
import { recipeOf, type Prio3Recipe } from './recipes.js';

/** A copy of an array argument, holes read as undefined (so each element is checked). */
function checkList(name: string, value: unknown): unknown[] {
  if (!Array.isArray(value)) throw new PrivkitError('E_ARG', `${name} must be an array, got ${describe(value)}`, { argument: name });
  return Array.from(value as unknown[]);
}

// ---- Sharding ----

export interface ShardTask {
  recipe: Prio3Recipe;
  measurements: unknown[];
  ctx: Uint8Array | undefined;
}

export const prio3Shard: PoolOperation<[vdaf: Prio3<unknown, unknown>, measurements: readonly unknown[], ctx: Uint8Array | undefined], ShardTask, Prio3Report[], Prio3Report[]> = {
  name: 'prio3Shard',
  family: 'prio',
  plan(vdaf, measurements, ctx) {
    const recipe = recipeOf(vdaf, 'vdaf');
    const checked = checkList('measurements', measurements).map((m, i) => {
      try {
        return vdaf.checkMeasurement(m);
      } catch (error) {
        if (!(error instanceof PrivkitError)) throw error;
        throw new PrivkitError(error.code, `measurements[${i}]: ${toWorkerError(error).text}`, { argument: 'measurements', index: i });
      }
    });
    return { rows: checked.length, task: (part) => ({ recipe, measurements: checked.slice(part.row, part.row + part.rows), ctx }) };
  },
  merge: (parts) => parts.flat(),
};

// ---- One aggregator's ping-pong step on a batch of reports ----

/** One report as an aggregator receives it: the helper also gets the leader's `initialize` message. */
export interface ReportInput {
  nonce: Uint8Array;
  publicShare: Uint8Array;
  inputShare: Uint8Array;
  inbound?: Uint8Array;
}

/** A report's outcome in a worker: the step's messages, or the PrivkitError that refused the report. */
export type StepOutcome =
  | { ok: true; outbound: Uint8Array; outShare: Uint8Array; jointRandSeed: Uint8Array | undefined }
  | { ok: false; error: WorkerError };

export type Role = 'leader' | 'helper';

export interface StepTask {
  recipe: Prio3Recipe;
  role: Role;
  verifyKey: Uint8Array;
  ctx: Uint8Array | undefined;
  reports: ReportInput[];
}

/** The plan of a step: as every plan, plus the VDAF and role, which merge needs on the caller's thread. */
export interface StepPlan extends Plan<StepTask> {
  vdaf: Prio3<unknown, unknown>;
  role: Role;
}

/** Checks one report's fields are Uint8Arrays (their lengths and contents are the step's to refuse, per report). */
function checkReport(report: unknown, index: number, role: Role): ReportInput {
  const name = `reports[${index}]`;
  const keys: (keyof ReportInput)[] = role === 'helper' ? ['nonce', 'publicShare', 'inputShare', 'inbound'] : ['nonce', 'publicShare', 'inputShare'];
  const o = readOptions(report as ReportInput, keys, name);
  const bytes = (key: keyof ReportInput) => checkTypedArray(`${name}.${key}`, o[key], ['Uint8Array']) as Uint8Array;
  return { nonce: bytes('nonce'), publicShare: bytes('publicShare'), inputShare: bytes('inputShare'), ...(role === 'helper' ? { inbound: bytes('inbound') } : {}) };
}

/** What a step gives the caller for one report: the leader's or the helper's result, or why the report was refused. */
export type StepResult = PromiseSettledResult<Prio3LeaderInit | Prio3HelperInit>;

export const prio3Step: PoolOperation<
  [vdaf: Prio3<unknown, unknown>, role: Role, verifyKey: Uint8Array, reports: readonly unknown[], ctx: Uint8Array | undefined],
  StepTask,
  StepOutcome[],
  StepResult[],
  StepPlan
> = {
  name: 'prio3Step',
  family: 'prio',
  plan(vdaf, role, verifyKey, reports, ctx) {
    const recipe = recipeOf(vdaf, 'vdaf');
    const key = new Uint8Array(assertBytes('verifyKey', verifyKey, VERIFY_KEY_SIZE));
    if (ctx !== undefined) {
      checkTypedArray('ctx', ctx, ['Uint8Array']);
      if (ctx.length > MAX_CTX_LENGTH) throw new PrivkitError('E_ARG', `ctx must be at most ${MAX_CTX_LENGTH} bytes, got ${ctx.length}`, { argument: 'ctx' });
    }
    const checked = checkList('reports', reports).map((r, i) => checkReport(r, i, role));
    return { vdaf, role, rows: checked.length, task: (part) => ({ recipe, role, verifyKey: key, ctx, reports: checked.slice(part.row, part.row + part.rows) }) };
  },
  merge: (parts, { vdaf, role }) =>
    parts.flat().map((outcome): StepResult => {
      if (!outcome.ok) return { status: 'rejected', reason: fromWorkerError(outcome.error, undefined) };
      const value = role === 'leader' ? { state: adoptLeaderState(vdaf, outcome.outShare, outcome.jointRandSeed), outbound: outcome.outbound } : { outShare: outcome.outShare, outbound: outcome.outbound };
      return { status: 'fulfilled', value };
    }),
};
