// The kernels' pooled operations, their runs in the workers (the contract is in src/pool/types.ts;
// the plans and merges are in ./pool-ops.ts): each part's rows through the sync kernel, which checks
// them again. A clipping part writes its rows into the output the pool gave it (in place when that
// is its input); a summing part writes its column sums into its row of partials, which are then
// added in float32 in part order. The writing runs
// import ./clip-into.ts on their first part, so a worker that runs only the read-only operations
// (norms, clipAndSum, the sums) never loads the writing path.
import type { PartMemory, PartRun } from '../pool/types.js';
import type { FloatArray } from '../validate.js';
import * as clip from './clip.js';
import type { ClampTask, ClipAndSumPart, ClipTask, SumTask } from './pool-ops.js';
import { weightedSum } from './reduce.js';
import { nonFiniteResultError } from './stream.js';
import { kernelsSharedWasm } from './wasm.js';

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

/**
 * The parts' column sums (the rows of `partials`) added in float32 into `into`, one part after the
 * other in part order: by the kernels' row sum (weight 1) in place where both lie in one shared wasm
 * memory (the pool's staging), else in JavaScript (the same adds: Math.fround of the sum of two
 * float32 values is their float32 sum). E_OVERFLOW as the sync kernels when a total leaves float32.
 */
function addPartials(partials: FloatArray, parts: number, into: FloatArray): void {
  const rows = partials as Float32Array;
  const total = into as Float32Array;
  const cols = total.length;
  total.set(rows.subarray(0, cols));
  const inPlace =
    total.buffer === rows.buffer
      ? kernelsSharedWasm.runInPlace(rows, (kernels, arena, ptr) => {
          const one = arena.alloc(8);
          arena.f64(one, 1)[0] = 1;
          for (let k = 1; k < parts; k++) kernels.accumulateRows(ptr + 4 * k * cols, 1, cols, cols, one, 1, total.byteOffset);
          return kernels.firstNonFinite(total.byteOffset, cols) < 0;
        })
      : undefined;
  if (!(inPlace?.value ?? addInJavaScript(rows, parts, total))) throw nonFiniteResultError(rows, 0, parts * cols);
}

/** addPartials where the kernels can not run on both arrays in place: whether every total is finite. */
function addInJavaScript(rows: Float32Array, parts: number, total: Float32Array): boolean {
  const cols = total.length;
  let finite = true;
  for (let k = 1; k < parts; k++) {
    for (let j = 0; j < cols; j++) {
      const sum = Math.fround(total[j]! + rows[k * cols + j]!);
      total[j] = sum;
      finite &&= sum - sum === 0;
    }
  }
  return finite;
}

/** The clipping option that writes into the part's output. */
function targetOf(input: PartMemory['input'], output: PartMemory['output']): clip.ClipOptions {
  return output === input ? { inPlace: true } : { out: output as Float32Array };
}
