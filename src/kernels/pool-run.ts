// The kernels' pooled operations, their runs in the workers (the contract is in src/pool/types.ts;
// the plans and merges are in ./pool-ops.ts): each part's rows through the sync kernel, which checks
// them again. A clipping part writes its rows into the output the pool gave it (in place when that
// is its input); a summing part writes its column sums into its row of partials, which are then
// added in float32 in part order (the kernels' weighted row sum, with weights 1). The writing runs
// import ./clip-into.ts on their first part, so a worker that runs only the read-only operations
// (norms, clipAndSum, the sums) never loads the writing path.
import type { PartMemory, PartRun } from '../pool/types.js';
import type { FloatArray } from '../validate.js';
import * as clip from './clip.js';
import type { ClampTask, ClipAndSumPart, ClipTask, SumTask } from './pool-ops.js';
import { weightedSum } from './reduce.js';

export const l2Norms: PartRun<{ rows: number }, Float32Array> = ({ rows }, { input }) => clip.l2Norms(input as Float32Array, rows);

export const clipByL2: PartRun<ClipTask, void> = clipPart;

export const clipPerLayer: PartRun<ClipTask, void> = clipPart;

export const clipAndSum: PartRun<ClipTask, ClipAndSumPart> = Object.assign(clipAndSumPart, { reduce: addPartials });

export const clipValues: PartRun<ClampTask, void> = async ({ min, max }, { input, output }) => {
  (await import('./clip-into.js')).clipValues(input as Float32Array, min, max, targetOf(input, output));
};

export const sum: PartRun<SumTask, void> = Object.assign(sumPart, { reduce: addPartials });

export const mean: PartRun<SumTask, void> = sum;

export const weightedMean: PartRun<SumTask, void> = sum;

/** Flat clipping is per-layer clipping with one layer. */
async function clipPart({ rows, sizes, bounds }: ClipTask, { input, output }: PartMemory): Promise<void> {
  (await import('./clip-into.js')).clipPerLayer(input as Float32Array, rows, sizes, bounds, targetOf(input, output));
}

/** A clipAndSum part: its column sums into its partial, its norms and count returned. */
function clipAndSumPart({ rows, sizes, bounds }: ClipTask, { input, partial }: PartMemory): ClipAndSumPart {
  const { norms, clippedCount } = clip.clipAndSumInto(input as Float32Array, rows, bounds, { layerSizes: sizes }, partial as Float32Array);
  return { norms, clippedCount };
}

/** A part of sum, mean or weightedMean: its rows' weighted column sums into its partial. */
function sumPart({ rows, weights }: SumTask, { input, partial }: PartMemory): void {
  weightedSum(input as Float32Array, rows, weights, partial as Float32Array);
}

/** The parts' column sums (the rows of `partials`) added in float32 in part order into `into`; E_OVERFLOW as the sync kernels when a total leaves float32. */
function addPartials(partials: FloatArray, parts: number, into: FloatArray): void {
  weightedSum(partials as Float32Array, parts, new Float64Array(parts).fill(1), into as Float32Array);
}

/** The clipping option that writes into the part's output. */
function targetOf(input: PartMemory['input'], output: PartMemory['output']): clip.ClipOptions {
  return output === input ? { inPlace: true } : { out: output as Float32Array };
}
