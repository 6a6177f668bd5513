// The kernels' pooled operations, their runs in the workers (the contract is in src/pool/types.ts;
// the plans and merges are in ./pool-ops.ts): each part's rows through the sync kernel, which checks
// them again. A clipping part writes its rows into the output the pool gave it (in place when that
// is its input). The writing runs import ./clip-into.ts on their first part, so a worker that runs
// only the read-only operations (norms, clipAndSum, the sums) never loads the writing path.
import type { PartMemory, PartRun } from '../pool/types.js';
import * as clip from './clip.js';
import type { ClampTask, ClipTask, SumTask } from './pool-ops.js';
import { weightedSum } from './reduce.js';

export const l2Norms: PartRun<{ rows: number }, Float32Array> = ({ rows }, { input }) => clip.l2Norms(input as Float32Array, rows);

export const clipByL2: PartRun<ClipTask, void> = clipPart;

export const clipPerLayer: PartRun<ClipTask, void> = clipPart;

export const clipAndSum: PartRun<ClipTask, clip.ClipAndSumResult> = ({ rows, sizes, bounds }, { input }) =>
  clip.clipAndSum(input as Float32Array, rows, bounds, { layerSizes: sizes });

export const clipValues: PartRun<ClampTask, void> = async ({ min, max }, { input, output }) => {
  (await import('./clip-into.js')).clipValues(input as Float32Array, min, max, targetOf(input, output));
};

export const sum: PartRun<SumTask, Float32Array> = sumPart;

export const mean: PartRun<SumTask, Float32Array> = sumPart;

export const weightedMean: PartRun<SumTask, Float32Array> = sumPart;

/** Flat clipping is per-layer clipping with one layer. */
async function clipPart({ rows, sizes, bounds }: ClipTask, { input, output }: PartMemory): Promise<void> {
  (await import('./clip-into.js')).clipPerLayer(input as Float32Array, rows, sizes, bounds, targetOf(input, output));
}

function sumPart({ rows, weights }: SumTask, { input }: PartMemory): Float32Array {
  return weightedSum(input as Float32Array, rows, weights);
}

/** The clipping option that writes into the part's output. */
function targetOf(input: PartMemory['input'], output: PartMemory['output']): clip.ClipOptions {
  return output === input ? { inPlace: true } : { out: output as Float32Array };
}
