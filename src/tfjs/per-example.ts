// The clipped sum of a DP-SGD step, formed in float64 from each example's own gradient so that its
// sensitivity is a proven bound (noised-sum.ts releases it). The backend (float32) computes, for
// each layer, a representation of every example's gradient from that example's rows alone: the
// dense layer's input and output gradient rows (the gradient is their outer product, never built),
// or the per-example gradient itself (batched matMul, per-example vector-Jacobian products), or an
// embedding's rows summed per example. Everything after that is privkit's own float64 arithmetic:
//
// 1. each example's squared norm from the values that will be summed (squares of float32 values are
//    exact in float64; the sums are rounded up by their worst-case error, Higham 2002, Sec. 3.1);
// 2. its weight w_i = min(c_i, C (1 - 2^-40) / norm_i) (c_i: the clip factor of the ghost norms), so
//    that the contribution e_i whose entries are computed below (at most two roundings each, 2^-52
//    relative) has ||e_i|| <= C exactly, whatever the backend's rounding; w_i = 0 leaves an example
//    out entirely (an example whose values are not finite gets w_i = 0). With per-layer clipping
//    each group of layers has its own bound C_g and weights, so ||e_i||^2 <= sum_g C_g^2;
// 3. the entries of e_i added into one float64 accumulator per coordinate, examples in batch order.
import { PrivkitError } from '../errors.js';
import { addWeightedOuterProducts } from './outer-products.js';

/** One layer's per-example gradients of a batch of n examples, as privkit sums them. */
export interface PerExampleGradients {
  /** Adds each example's squared gradient norm over the layer's variables, rounded up, into `into` [n]. */
  addSquaredNorms(into: Float64Array): void;
  /** Adds sum_i w_i grad_i into `sums` (one array per variable of the layer, in the layer's order), examples in order. */
  accumulate(w: Float64Array, sums: Float64Array[]): void;
}

/** Relative bound on the error of a float64 sum of `terms` non-negative values and a few more roundings: (terms + 4) 2^-52 >= 2 gamma_(terms+2). */
function roundedUp(sum: number, terms: number): number {
  return sum * (1 + (terms + 4) * 2 ** -52);
}

/** The sum of squares of x[start, start + length) in float64 (each square of a float32 value is exact). */
function squares(x: ArrayLike<number>, start: number, length: number): number {
  let s = 0;
  for (let j = start; j < start + length; j++) s += x[j]! * x[j]!;
  return s;
}

/**
 * A dense layer on rank-2 input: example i's kernel gradient is the outer product a_i^T g_i of its
 * input row a [n, p] and output gradient row g [n, q] (norm ||a_i|| ||g_i||), its bias gradient g_i.
 * The sum adds fl(fl(w_i a_ij) g_ik) per entry: p q multiply-adds per example, as the backend's own
 * matMul, but accumulated in float64, by the wasm kernel of outer-products.ts (bit-identical to the
 * plain loop, src/reference/outer-products.ts; sparse inputs cost less).
 */
export function outerProducts(a: Float32Array, g: Float32Array, n: number, withBias: boolean): PerExampleGradients {
  const p = a.length / n;
  const q = g.length / n;
  return {
    addSquaredNorms(into) {
      for (let i = 0; i < n; i++) {
        const ga = squares(g, i * q, q);
        into[i] = into[i]! + roundedUp(squares(a, i * p, p) * ga + (withBias ? ga : 0), p + q);
      }
    },
    accumulate(w, [kernel, bias]) {
      addWeightedOuterProducts(a, g, w, n, p, q, kernel!);
      if (!withBias) return;
      for (let i = 0; i < n; i++) {
        const wi = w[i]!;
        if (wi === 0) continue;
        for (let k = 0; k < q; k++) bias![k] = bias![k]! + wi * g[i * q + k]!;
      }
    },
  };
}

/** Per-example gradients built by the backend: per variable, [n, size] values (example i's gradient in row i). */
export function materialized(values: Float32Array[], n: number): PerExampleGradients {
  const sizes = values.map((v) => v.length / n);
  const total = sizes.reduce((s, m) => s + m, 0);
  return {
    addSquaredNorms(into) {
      for (let i = 0; i < n; i++) into[i] = into[i]! + roundedUp(values.reduce((s, v, k) => s + squares(v, i * sizes[k]!, sizes[k]!), 0), total);
    },
    accumulate(w, sums) {
      values.forEach((v, k) => {
        const size = sizes[k]!;
        const sum = sums[k]!;
        for (let i = 0; i < n; i++) {
          const wi = w[i]!;
          if (wi === 0) continue;
          for (let j = 0; j < size; j++) sum[j] = sum[j]! + wi * v[i * size + j]!;
        }
      });
    },
  };
}

/**
 * An embedding: example i's gradient has, for each token v it holds, row v = the sum of g_t over its
 * positions t holding v. The rows are summed per example in float64 (a function of that example
 * alone), then weighted and added.
 */
export function embeddingRows(ids: Int32Array, g: Float32Array, n: number, dim: number): PerExampleGradients {
  const positions = ids.length / n;
  const examples: Map<number, Float64Array>[] = [];
  for (let i = 0; i < n; i++) {
    const rows = new Map<number, Float64Array>();
    for (let t = 0; t < positions; t++) {
      const id = ids[i * positions + t]!;
      let row = rows.get(id);
      if (row === undefined) rows.set(id, (row = new Float64Array(dim)));
      const from = (i * positions + t) * dim;
      for (let k = 0; k < dim; k++) row[k] = row[k]! + g[from + k]!;
    }
    examples.push(rows);
  }
  return {
    addSquaredNorms(into) {
      examples.forEach((rows, i) => {
        let s = 0;
        for (const row of rows.values()) s += squares(row, 0, dim);
        // each row entry is a float64 sum of up to `positions` values (relative gamma_positions), then squared and summed
        into[i] = into[i]! + roundedUp(s, 2 * positions + rows.size * dim);
      });
    },
    accumulate(w, [table]) {
      examples.forEach((rows, i) => {
        const wi = w[i]!;
        if (wi === 0) return;
        for (const [id, row] of rows) for (let k = 0; k < dim; k++) table![id * dim + k] = table![id * dim + k]! + wi * row[k]!;
      });
    },
  };
}

/** 1 - 2^-40: room for the roundings of the norm's square root, the division and the entries' products (< 8 x 2^-53). */
const WEIGHT_MARGIN = 1 - 2 ** -40;

/** Layers clipped together: their indexes, each example's clip factor c_i in [0, 1], and the bound C_g on the examples' norms over them. */
export interface ClipGroup {
  /** Indexes of the group's layers (every layer in exactly one group). */
  layers: number[];
  /** Each example's clip factor (0 leaves it out). */
  factors: Float64Array;
  /** C_g > 0 (Infinity: weight by the factors alone). */
  bound: number;
}

/**
 * The clipped sum sum_i e_i over the layers' per-example gradients (the variables' sums laid end to
 * end, `layout` giving each variable's size, layer by layer). In each group, example i's weight is
 * w_i = min(c_i, C_g (1 - 2^-40) / (its float64 norm over the group's layers)), so that its part of
 * e_i has norm <= C_g.
 */
export function clippedSum(layers: PerExampleGradients[], layout: number[][], groups: ClipGroup[]): { sum: Float64Array } {
  const weightOf: Float64Array[] = [];
  for (const group of groups) {
    const squared = new Float64Array(group.factors.length);
    for (const k of group.layers) layers[k]!.addSquaredNorms(squared);
    const bound = group.bound * WEIGHT_MARGIN;
    const w = Float64Array.from(group.factors, (c, i) => {
      const s = squared[i]!;
      if (!(c > 0) || !Number.isFinite(s)) return 0;
      return s === 0 ? c : Math.min(c, bound / Math.sqrt(s));
    });
    for (const k of group.layers) {
      if (weightOf[k] !== undefined) throw new PrivkitError('E_ARG', `layer ${k} is in two clipping groups`);
      weightOf[k] = w;
    }
  }
  const total = layout.flat().reduce((s, m) => s + m, 0);
  const sum = new Float64Array(total);
  let offset = 0;
  layers.forEach((layer, k) => {
    const parts = layout[k]!.map((size) => sum.subarray(offset, (offset += size)));
    if (weightOf[k] === undefined) throw new PrivkitError('E_ARG', `layer ${k} is in no clipping group`);
    layer.accumulate(weightOf[k], parts);
  });
  if (offset !== total) throw new PrivkitError('E_SHAPE', `per-example gradients cover ${offset} of ${total} parameters`);
  return { sum };
}
