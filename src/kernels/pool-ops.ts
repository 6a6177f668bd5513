// The kernels as pooled operations, their plans and merges (the contract is in src/pool/types.ts;
// the Pool methods of the same names run them; the workers' runs are in ./pool-run.ts). Each plan
// checks its arguments with the sync function's own checks, in the same order, and cuts x into row
// ranges; the merges join norms, add per-worker column sums, or return the output the workers wrote.
import { PrivkitError } from '../errors.js';
import type { Part, Plan, PoolOperation } from '../pool/types.js';
import { assertFloat32Array, batchColumns, matrixColumns, readOptions } from '../validate.js';
import { currentLength } from '../wasm/boundary.js';
import * as clip from './clip.js';
import { assertClampBounds, resultTarget } from './clip-into.js';
import { normalizeWeights, readWeights } from './reduce.js';

/** A part's rows, with the layers of a clipping call as plain arrays. */
export interface ClipTask {
  rows: number;
  sizes: number[];
  bounds: number[];
}

/** The bounds of an element-wise clamp (its part's elements are its rows). */
export interface ClampTask {
  min: number;
  max: number;
}

/** A part's rows and their weights. */
export interface SumTask {
  rows: number;
  weights: Float64Array;
}

export interface ClipAndSumPlan extends Plan<ClipTask> {
  cols: number;
  layers: number;
}

export interface SumPlan extends Plan<SumTask> {
  cols: number;
}

export const l2Norms: PoolOperation<[x: Float32Array, rows: number], { rows: number }, Float32Array, Float32Array> = {
  name: 'l2Norms',
  family: 'kernels',
  plan: (x, rows) => ({ rows, input: { name: 'x', array: x, cols: matrixColumns(x, rows) }, task: (part) => ({ rows: part.rows }) }),
  merge: (norms, plan) => concat(norms, plan.rows),
};

export const clipByL2: PoolOperation<[x: Float32Array, rows: number, maxNorm: number, opts?: clip.ClipOptions], ClipTask, void, Float32Array> = {
  name: 'clipByL2',
  family: 'kernels',
  plan(x, rows, maxNorm, opts = {}) {
    const options = readOptions(opts, ['inPlace', 'out']);
    const cols = matrixColumns(x, rows);
    return clipPlan(x, rows, cols, clip.clipLayers(cols, maxNorm), options);
  },
  merge: (_, __, output) => output as Float32Array,
};

export const clipPerLayer: PoolOperation<
  [x: Float32Array, rows: number, layerSizes: ArrayLike<number>, maxNorms: number | ArrayLike<number>, opts?: clip.ClipOptions],
  ClipTask,
  void,
  Float32Array
> = {
  name: 'clipPerLayer',
  family: 'kernels',
  plan(x, rows, layerSizes, maxNorms, opts = {}) {
    const options = readOptions(opts, ['inPlace', 'out']);
    const { sizes, bounds } = clip.readLayerArguments(layerSizes, maxNorms, 'maxNorms');
    const cols = matrixColumns(x, rows);
    return clipPlan(x, rows, cols, clip.layerPlan(cols, sizes, bounds, 'maxNorms'), options);
  },
  merge: (_, __, output) => output as Float32Array,
};

export const clipAndSum: PoolOperation<
  [x: Float32Array, rows: number, maxNorm: number | ArrayLike<number>, opts?: clip.ClipAndSumOptions],
  ClipTask,
  clip.ClipAndSumResult,
  clip.ClipAndSumResult,
  ClipAndSumPlan
> = {
  name: 'clipAndSum',
  family: 'kernels',
  plan(x, rows, maxNorm, opts = {}) {
    const { columns, layerSizes } = readOptions(opts, ['columns', 'layerSizes']);
    const layerArguments = layerSizes === undefined ? undefined : clip.readLayerArguments(layerSizes, maxNorm, 'maxNorm');
    const cols = batchColumns(x, rows, columns);
    const layers = layerArguments === undefined ? clip.clipLayers(cols, maxNorm) : clip.layerPlan(cols, layerArguments.sizes, layerArguments.bounds);
    const arrays = layerArrays(layers);
    return { rows, cols, layers: layers.length, input: { name: 'x', array: x, cols }, task: (part) => ({ rows: part.rows, ...arrays }) };
  },
  merge: (parts, plan) => ({
    sum: addAll(parts.map((part) => part.sum), plan.cols),
    norms: concat(parts.map((part) => part.norms), plan.rows * plan.layers),
    clippedCount: parts.reduce((count, part) => count + part.clippedCount, 0),
  }),
};

export const clipValues: PoolOperation<[x: Float32Array, min: number, max: number, opts?: clip.ClipOptions], ClampTask, void, Float32Array> = {
  name: 'clipValues',
  family: 'kernels',
  plan(x, min, max, opts = {}) {
    const options = readOptions(opts, ['inPlace', 'out']);
    assertFloat32Array('x', x);
    assertClampBounds(min, max);
    const length = currentLength(x);
    const target = resultTarget(x, length, options);
    // element-wise: the values are cut as if each were a row of one column
    return {
      rows: length,
      input: { name: 'x', array: x, cols: 1 },
      output: { dtype: 'float32', cols: 1, target, inPlace: target === x },
      task: () => ({ min, max }),
    };
  },
  merge: (_, __, output) => output as Float32Array,
};

export const sum: PoolOperation<[x: Float32Array, rows: number], SumTask, Float32Array, Float32Array, SumPlan> = {
  name: 'sum',
  family: 'kernels',
  plan: (x, rows) => sumPlan(x, rows, matrixColumns(x, rows), new Float64Array(rows).fill(1)),
  merge: (parts, plan) => addAll(parts, plan.cols),
};

export const mean: PoolOperation<[x: Float32Array, rows: number], SumTask, Float32Array, Float32Array, SumPlan> = {
  name: 'mean',
  family: 'kernels',
  plan: (x, rows) => sumPlan(x, rows, matrixColumns(x, rows), new Float64Array(rows).fill(1 / rows)),
  merge: (parts, plan) => addAll(parts, plan.cols),
};

export const weightedMean: PoolOperation<[x: Float32Array, rows: number, weights: ArrayLike<number>], SumTask, Float32Array, Float32Array, SumPlan> = {
  name: 'weightedMean',
  family: 'kernels',
  plan(x, rows, weights) {
    const read = readWeights(weights, rows);
    const cols = matrixColumns(x, rows);
    return sumPlan(x, rows, cols, normalizeWeights(read, rows));
  },
  merge: (parts, plan) => addAll(parts, plan.cols),
};

/** A clipping call writing rows x cols values into its target (x itself in place, `out`, or a new array). */
function clipPlan(x: Float32Array, rows: number, cols: number, layers: clip.Layer[], options: clip.ClipOptions): Plan<ClipTask> {
  const target = resultTarget(x, rows * cols, options);
  const arrays = layerArrays(layers);
  return {
    rows,
    input: { name: 'x', array: x, cols },
    output: { dtype: 'float32', cols, target, inPlace: target === x },
    task: (part: Part) => ({ rows: part.rows, ...arrays }),
  };
}

function sumPlan(x: Float32Array, rows: number, cols: number, weights: Float64Array): SumPlan {
  return {
    rows,
    cols,
    input: { name: 'x', array: x, cols },
    task: (part) => ({ rows: part.rows, weights: weights.slice(part.row, part.row + part.rows) }),
  };
}

/** Layers as the plain arrays a part's task carries. */
function layerArrays(layers: clip.Layer[]): { sizes: number[]; bounds: number[] } {
  return { sizes: layers.map((layer) => layer.end - layer.start), bounds: layers.map((layer) => layer.maxNorm) };
}

function concat(parts: Float32Array[], length: number): Float32Array {
  const out = new Float32Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/**
 * The workers' partial column sums added in float32, in part order, into the first part's array (a
 * fresh array moved from its worker); E_OVERFLOW as the sync kernels when the total leaves float32.
 * Each part is finite (its worker checked it), so one part needs no check.
 */
function addAll(parts: Float32Array[], length: number): Float32Array {
  const [out = new Float32Array(length), ...rest] = parts;
  for (const part of rest) {
    let finite = true;
    for (let j = 0; j < length; j++) {
      const total = Math.fround(out[j]! + part[j]!);
      out[j] = total;
      finite &&= total - total === 0;
    }
    if (!finite) {
      const column = out.findIndex((value) => !Number.isFinite(value));
      throw new PrivkitError('E_OVERFLOW', `the result overflows float32 at column ${column}`, { argument: 'x' });
    }
  }
  return out;
}
