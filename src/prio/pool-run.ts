// Prio3's pooled operations, their runs in the workers (the contract is in src/pool/types.ts; the
// plans and merges are in ./pool-ops.ts). A worker makes the VDAF again from its recipe (factory and
// options, ./variants.ts) and keeps it for later calls. A report that fails verification is an
// outcome (its error's fields), not an error: the rest of the batch goes on.
import { PrivkitError, toWorkerError } from '../errors.js';
import type { PartRun } from '../pool/types.js';
import { prio3BoundedL2VecSum } from './bounded-l2.js';
import { prio3PineL2VecSum } from './pine.js';
import type { ReportInput, ShardTask, StepOutcome, StepTask } from './pool-ops.js';
import type { Prio3, Prio3Report } from './prio3.js';
import type { Prio3Recipe } from './recipes.js';
import { prio3Count, prio3HigherDegree, prio3Histogram, prio3MultihotCountVec, prio3Sum, prio3SumVec, prio3SumVecWithMultiproof } from './variants.js';

/** The factories a recipe may name. */
const FACTORIES: Record<string, (options: never) => Prio3<any, unknown>> = {
  prio3Count,
  prio3Sum,
  prio3SumVec,
  prio3SumVecWithMultiproof,
  prio3Histogram,
  prio3MultihotCountVec,
  prio3HigherDegree,
  prio3BoundedL2VecSum,
  prio3PineL2VecSum,
};

/** The VDAFs this thread made from recipes, by recipe. */
const remade = new Map<string, Prio3<unknown, unknown>>();

/** The VDAF a recipe describes, made again by its factory (which checks the options again) once per thread. */
function vdafOf(recipe: Prio3Recipe): Prio3<unknown, unknown> {
  const key = JSON.stringify(recipe);
  let vdaf = remade.get(key);
  if (vdaf === undefined) {
    const factory = FACTORIES[recipe.factory];
    if (factory === undefined) throw new PrivkitError('E_ARG', `no privkit/prio factory is named ${recipe.factory}`, { argument: 'vdaf' });
    remade.set(key, (vdaf = factory(recipe.options as never) as Prio3<unknown, unknown>));
  }
  return vdaf;
}

export const prio3Shard: PartRun<ShardTask, Prio3Report[]> = ({ recipe, measurements, ctx }) => {
  const vdaf = vdafOf(recipe);
  return measurements.map((m) => vdaf.shard(m, ctx === undefined ? {} : { ctx }));
};

export const prio3Step: PartRun<StepTask, StepOutcome[]> = (task) => {
  const vdaf = vdafOf(task.recipe);
  return task.reports.map((report) => step(vdaf, task, report));
};

function step(vdaf: Prio3<unknown, unknown>, task: StepTask, report: ReportInput): StepOutcome {
  const input = { verifyKey: task.verifyKey, nonce: report.nonce, publicShare: report.publicShare, inputShare: report.inputShare, ...(task.ctx === undefined ? {} : { ctx: task.ctx }) };
  try {
    if (task.role === 'leader') {
      const { state, outbound } = vdaf.leaderInit(input);
      return { ok: true, outbound, outShare: state.outShare.slice(), jointRandSeed: state.jointRandSeed };
    }
    const { outShare, outbound } = vdaf.helperInit({ ...input, inbound: report.inbound! });
    return { ok: true, outbound, outShare, jointRandSeed: undefined };
  } catch (error) {
    if (!(error instanceof PrivkitError)) throw error;
    return { ok: false, error: toWorkerError(error) };
  }
}
