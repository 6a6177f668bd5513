// The fast noise samplers as pooled operations, their plans and merges (the contract is in
// src/pool/types.ts; the Pool methods of the same names run them; the workers' runs, drawing from
// each worker's own CSPRNG, are in ./pool-run.ts). Each plan checks its arguments with the sync
// function's checks, in the same order, refusing an `rng` (a generator can not cross threads).
// In-place noise goes into a staged copy of x that replaces x only when every part succeeded.
import { refuseInPool } from '../pool/guards.js';
import type { Plan, PoolOperation } from '../pool/types.js';
import type { FloatArray } from '../validate.js';
import { currentLength, typedArrayKind } from '../wasm/boundary.js';
import * as noise from './noise.js';

/** Options of the pooled noise samplers: as the sync ones, without `rng` (a generator can not cross threads). */
export interface PoolNoiseOptions {
  /** Element type of the result; default 'float64'. */
  dtype?: noise.NoiseDtype;
}

export interface NoiseTask {
  kind: noise.NoiseKind;
  scale: number;
}

export type NoiseFill = PoolOperation<[length: number, scale: number, opts?: PoolNoiseOptions], NoiseTask, void, FloatArray>;
export type NoiseAdd = PoolOperation<[x: FloatArray, scale: number], NoiseTask, void, FloatArray>;

/** `length` samples of N(0, sigma^2). */
export const gaussianNoise: NoiseFill = {
  name: 'gaussianNoise',
  family: 'dp',
  plan: (length, sigma, opts) => fillPlan('gaussian', length, noise.noiseScale('gaussian', sigma), opts),
  merge: (_, __, output) => output!,
};

/** `length` samples of Laplace(0, scale). */
export const laplaceNoise: NoiseFill = {
  name: 'laplaceNoise',
  family: 'dp',
  plan: (length, scale, opts) => fillPlan('laplace', length, noise.noiseScale('laplace', scale), opts),
  merge: (_, __, output) => output!,
};

/** N(0, sigma^2) added to every element of x in place. */
export const addGaussianNoise: NoiseAdd = {
  name: 'addGaussianNoise',
  family: 'dp',
  plan: (x, sigma) => addPlan('gaussian', x, noise.noiseScale('gaussian', sigma)),
  merge: (_, __, output) => output!,
};

/** Laplace(0, scale) added to every element of x in place. */
export const addLaplaceNoise: NoiseAdd = {
  name: 'addLaplaceNoise',
  family: 'dp',
  plan: (x, scale) => addPlan('laplace', x, noise.noiseScale('laplace', scale)),
  merge: (_, __, output) => output!,
};

function fillPlan(kind: noise.NoiseKind, length: number, scale: number, opts: unknown): Plan<NoiseTask> {
  const { rng, dtype } = noise.noiseOptions(opts);
  const n = noise.noiseLength(length);
  refuseInPool('opts.rng', rng, 'for reproducible noise use the sync API with a seeded rng');
  return { rows: n, output: { dtype: noise.noiseDtype(dtype), cols: 1 }, task: () => ({ kind, scale }) };
}

function addPlan(kind: noise.NoiseKind, x: FloatArray, scale: number): Plan<NoiseTask> {
  noise.assertNoiseTarget(x);
  const dtype = typedArrayKind(x) === 'Float64Array' ? 'float64' : 'float32';
  return {
    rows: currentLength(x),
    input: { name: 'x', array: x, cols: 1 },
    output: { dtype, cols: 1, target: x, inPlace: true, allOrNothing: true },
    task: () => ({ kind, scale }),
  };
}
