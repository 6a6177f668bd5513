// Known-answer tests of the clipping kernels (src/kernels/clip.ts): small inputs whose results are
// computed by hand.
import { beforeAll, describe, expect, it } from 'vitest';
import { clipAndSum, clipByL2, clipPerLayer, clipValues, l2Norms, ready } from 'privkit';
import { expectBitEqual, expectPrivkitError, expectRelClose } from '../support/helpers.js';

const f32 = (values: number[]) => Float32Array.from(values);
/** One float32 rounding of a hand-computed float64 answer. */
const F32_EPS = 2 ** -23;

beforeAll(async () => {
  await ready();
});

describe('l2Norms', () => {
  it('row [3, 4] has norm 5', () => {
    expect(Array.from(l2Norms(f32([3, 4]), 1))).toEqual([5]);
  });

  it('computes one norm per row', () => {
    // rows: [3,4], [0,0], [-1,0], [0.3,-0.4], [5,12]
    const norms = l2Norms(f32([3, 4, 0, 0, -1, 0, 0.3, -0.4, 5, 12]), 5);
    expect(norms).toBeInstanceOf(Float32Array);
    expectRelClose(norms, [5, 0, 1, 0.5, 13], F32_EPS, 'norms');
  });

  it('handles rows whose length is not a multiple of 4 or 8 (SIMD body + scalar tail)', () => {
    expect(Array.from(l2Norms(f32([1, 2, 2]), 1))).toEqual([3]);
    expect(Array.from(l2Norms(new Float32Array(9).fill(1), 1))).toEqual([3]);
    expect(Array.from(l2Norms(new Float32Array(16).fill(-1), 1))).toEqual([4]);
    expect(Array.from(l2Norms(new Float32Array(25).fill(2), 1))).toEqual([10]);
    // 2 rows of 13: the second row starts at an unaligned offset
    const x = new Float32Array(26);
    x.fill(2, 0, 13);
    x[13 + 12] = -7;
    expectRelClose(l2Norms(x, 2), [2 * Math.sqrt(13), 7], F32_EPS, 'norms');
  });

  it('returns zero norms for zero-length rows (x.length 0, rows 3)', () => {
    expect(Array.from(l2Norms(new Float32Array(0), 3))).toEqual([0, 0, 0]);
  });

  it('accumulates in float64: tiny and huge values do not underflow or overflow', () => {
    expectRelClose(l2Norms(f32([3e-30, 4e-30]), 1), [5e-30], 1e-6, 'tiny');
    // float32 squares of these are denormal (9e-40) or zero (9e-50)
    expectRelClose(l2Norms(f32([3e-20, 4e-20]), 1), [5e-20], 1e-6, 'tiny');
    expectRelClose(l2Norms(new Float32Array(64).fill(1e-25), 1), [8e-25], 1e-6, 'tiny');
    expectRelClose(l2Norms(f32([0, 3e-25, 0, 0, 4e-25, 0, 0, 0, 0]), 1), [5e-25], 1e-6, 'tiny');
    // float32 squares overflow (1e40)
    expectRelClose(l2Norms(new Float32Array(64).fill(-1e20), 1), [8e20], 1e-6, 'huge');
    expectRelClose(l2Norms(f32([3e30, 4e30]), 1), [5e30], 1e-6, 'huge');
  });

  it('does not modify x', () => {
    const x = f32([3, 4, 5, 12]);
    l2Norms(x, 2);
    expect(Array.from(x)).toEqual([3, 4, 5, 12]);
  });
});

describe('clipByL2', () => {
  it('clips [3, 4] to maxNorm 1 giving [0.6, 0.8]', () => {
    const out = clipByL2(f32([3, 4]), 1, 1);
    expectRelClose(out, [0.6, 0.8], F32_EPS, 'clipped');
  });

  it('leaves a row with norm <= maxNorm unchanged (including norm == maxNorm exactly)', () => {
    expect(Array.from(clipByL2(f32([3, 4]), 1, 5))).toEqual([3, 4]);
    expect(Array.from(clipByL2(f32([3, 4]), 1, 100))).toEqual([3, 4]);
    const atBound = clipAndSum(f32([3, 4, 6, 8]), 2, 5);
    expect(atBound.clippedCount).toBe(1);
    expectRelClose(atBound.sum, [6, 8], F32_EPS, 'sum');
    expect(clipAndSum(f32([0, 0, 5, 0, 0, 0, 0, 0, 0]), 1, 5).clippedCount).toBe(0);
  });

  it('clips each row independently', () => {
    const x = f32([3, 4, 0.3, 0.4, 0, 0, -6, 8]);
    const out = clipByL2(x, 4, 1);
    expectRelClose(out, [0.6, 0.8, 0.3, 0.4, 0, 0, -0.6, 0.8], F32_EPS, 'clipped');
    // input untouched, new array returned
    expect(out).not.toBe(x);
    expect(Array.from(x)).toEqual(Array.from(f32([3, 4, 0.3, 0.4, 0, 0, -6, 8])));
  });

  it('clips rows with a scalar tail (row length 9) correctly', () => {
    const out = clipByL2(new Float32Array(18).fill(1), 2, 1); // norm 3 -> every value 1/3
    expectRelClose(out, new Array(18).fill(1 / 3), 2 * F32_EPS, 'clipped');
  });

  it('inPlace writes into x and returns x', () => {
    const x = f32([3, 4, 0.3, 0.4]);
    const out = clipByL2(x, 2, 1, { inPlace: true });
    expect(out).toBe(x);
    expectRelClose(x, [0.6, 0.8, 0.3, 0.4], F32_EPS, 'x');
  });

  it('out writes into the given array and leaves x unchanged', () => {
    const x = f32([3, 4, 0.3, 0.4]);
    const target = new Float32Array(4).fill(99);
    const out = clipByL2(x, 2, 1, { out: target });
    expect(out).toBe(target);
    expectRelClose(target, [0.6, 0.8, 0.3, 0.4], F32_EPS, 'out');
    expect(Array.from(x)).toEqual(Array.from(f32([3, 4, 0.3, 0.4])));
  });

  it('returns an empty array for zero-length rows', () => {
    expect(clipByL2(new Float32Array(0), 3, 1).length).toBe(0);
  });
});

describe('clipPerLayer', () => {
  it('clips each layer of each row to its own bound', () => {
    // row 0: layer A [3,4] (norm 5) -> [0.6,0.8]; layer B [6,8,0] (norm 10 <= 20) unchanged
    // row 1: layer A [0.3,0.4] (norm 0.5) unchanged;  layer B [0,30,40] (norm 50) -> [0,12,16]
    const x = f32([3, 4, 6, 8, 0, 0.3, 0.4, 0, 30, 40]);
    const out = clipPerLayer(x, 2, [2, 3], [1, 20]);
    expectRelClose(out, [0.6, 0.8, 6, 8, 0, 0.3, 0.4, 0, 12, 16], F32_EPS, 'clipped');
  });

  it('accepts one bound for all layers', () => {
    const out = clipPerLayer(f32([3, 4, 6, 8]), 1, [2, 2], 1);
    expectRelClose(out, [0.6, 0.8, 0.6, 0.8], F32_EPS, 'clipped');
  });

  it('differs from flat clipping of the whole row', () => {
    // flat: norm sqrt(25 + 100) > 1 -> all scaled by 1/sqrt(125); per layer: each layer clipped to 1
    const flat = clipByL2(f32([3, 4, 6, 8]), 1, 1);
    expectRelClose(flat, [3, 4, 6, 8].map((v) => v / Math.sqrt(125)), F32_EPS, 'flat');
    const perLayer = clipPerLayer(f32([3, 4, 6, 8]), 1, [2, 2], 1);
    expectRelClose(perLayer, [0.6, 0.8, 0.6, 0.8], F32_EPS, 'per layer');
  });

  it('supports zero-size layers', () => {
    const out = clipPerLayer(f32([3, 4, 30, 40]), 2, [0, 2, 0], [1, 10, 1]);
    expectRelClose(out, [3, 4, 6, 8], F32_EPS, 'clipped');
  });

  it('a single layer equals clipByL2', () => {
    const x = f32([3, 4, 0.3, 0.4, 5, 12]);
    expectBitEqual(clipPerLayer(x, 3, [2], [1]), clipByL2(x, 3, 1));
  });

  it('supports inPlace and out', () => {
    const x = f32([3, 4, 6, 8]);
    const target = new Float32Array(4);
    expect(clipPerLayer(x, 1, [2, 2], [1, 5], { out: target })).toBe(target);
    expectRelClose(target, [0.6, 0.8, 3, 4], F32_EPS, 'out');
    expect(Array.from(x)).toEqual([3, 4, 6, 8]);
    expect(clipPerLayer(x, 1, [2, 2], [1, 5], { inPlace: true })).toBe(x);
    expectRelClose(x, [0.6, 0.8, 3, 4], F32_EPS, 'x');
  });
});

describe('clipAndSum', () => {
  it('rows [3,4] and [0.3,0.4] with C = 1: sum [0.9, 1.2], norms [5, 0.5], clippedCount 1', () => {
    const { sum: s, norms, clippedCount } = clipAndSum(f32([3, 4, 0.3, 0.4]), 2, 1);
    expectRelClose(s, [0.9, 1.2], 2 * F32_EPS, 'sum');
    expectRelClose(norms, [5, 0.5], F32_EPS, 'norms');
    expect(clippedCount).toBe(1);
    expect(s).toBeInstanceOf(Float32Array);
    expect(norms).toBeInstanceOf(Float32Array);
  });

  it('counts every clipped row and sums an odd number of rows', () => {
    // rows: [3,4] -> [0.6,0.8]; [0,-5] -> [0,-1]; [0.6,0] unchanged
    const { sum: s, norms, clippedCount } = clipAndSum(f32([3, 4, 0, -5, 0.6, 0]), 3, 1);
    expectRelClose(s, [1.2, -0.2], 4 * F32_EPS, 'sum');
    expectRelClose(norms, [5, 5, 0.6], F32_EPS, 'norms');
    expect(clippedCount).toBe(2);
  });

  it('accepts an empty batch (an empty Poisson sample still gets its noise) when the row length is given', () => {
    const { sum: s, norms, clippedCount } = clipAndSum(new Float32Array(0), 0, 1, { columns: 3 });
    expect(Array.from(s)).toEqual([0, 0, 0]);
    expect(norms.length).toBe(0);
    expect(clippedCount).toBe(0);
    expect(clipAndSum(f32([3, 4]), 1, 1, { columns: 2 }).clippedCount).toBe(1);
    expectPrivkitError(() => clipAndSum(new Float32Array(0), 0, 1), 'E_ARG', 'opts.columns');
    expectPrivkitError(() => clipAndSum(new Float32Array(2), 0, 1, { columns: 2 }), 'E_ARG', 'rows');
    expectPrivkitError(() => clipAndSum(f32([3, 4]), 1, 1, { columns: 3 }), 'E_SHAPE', 'opts.columns');
  });

  it('does not modify x', () => {
    const x = f32([3, 4, 0.3, 0.4]);
    clipAndSum(x, 2, 1);
    expect(Array.from(x)).toEqual(Array.from(f32([3, 4, 0.3, 0.4])));
  });

  it('with layerSizes: per-layer bounds, norms are rows x layers, clippedCount counts (row, layer) pairs', () => {
    // row 0: [3,4 | 6,8]   -> [0.6,0.8 | 6,8]      (layer 0 clipped to 1, layer 1 norm 10 <= 20)
    // row 1: [0,1 | 30,40] -> [0,1 | 12,16]        (layer 1 clipped to 20)
    const { sum: s, norms, clippedCount } = clipAndSum(f32([3, 4, 6, 8, 0, 1, 30, 40]), 2, [1, 20], {
      layerSizes: [2, 2],
    });
    expectRelClose(s, [0.6, 1.8, 18, 24], 2 * F32_EPS, 'sum');
    expectRelClose(norms, [5, 10, 1, 50], F32_EPS, 'norms');
    expect(clippedCount).toBe(2);
  });

  it('with layerSizes and one bound for all layers', () => {
    const { sum: s, clippedCount } = clipAndSum(f32([3, 4, 6, 8]), 1, 1, { layerSizes: [2, 2] });
    expectRelClose(s, [0.6, 0.8, 0.6, 0.8], F32_EPS, 'sum');
    expect(clippedCount).toBe(2);
  });

  it('zero-length rows: empty sum, zero norms, nothing clipped', () => {
    const { sum: s, norms, clippedCount } = clipAndSum(new Float32Array(0), 3, 1);
    expect(s.length).toBe(0);
    expect(Array.from(norms)).toEqual([0, 0, 0]);
    expect(clippedCount).toBe(0);
  });
});

describe('clipValues', () => {
  it('clamps every element into [min, max]', () => {
    const x = f32([-2, -1, -0.5, 0, 0.5, 1, 2, 1e30, -1e30]); // 9 values: SIMD body + tail
    const out = clipValues(x, -1, 1);
    expect(Array.from(out)).toEqual([-1, -1, -0.5, 0, 0.5, 1, 1, 1, -1]);
    expect(out).not.toBe(x);
    expect(x[0]).toBe(-2);
  });

  it('min == max sets every element to that value', () => {
    expect(Array.from(clipValues(f32([-3, 0, 3, 7, 1]), 2, 2))).toEqual([2, 2, 2, 2, 2]);
  });

  it('asymmetric bounds and an empty array', () => {
    expect(Array.from(clipValues(f32([-5, 0, 5, 10, 15]), 1, 10))).toEqual([1, 1, 5, 10, 10]);
    expect(clipValues(new Float32Array(0), 0, 1).length).toBe(0);
  });

  it('supports inPlace and out', () => {
    const x = f32([-2, 0.5, 2]);
    const target = new Float32Array(3);
    expect(clipValues(x, -1, 1, { out: target })).toBe(target);
    expect(Array.from(target)).toEqual([-1, 0.5, 1]);
    expect(Array.from(x)).toEqual([-2, 0.5, 2]);
    expect(clipValues(x, -1, 1, { inPlace: true })).toBe(x);
    expect(Array.from(x)).toEqual([-1, 0.5, 1]);
  });
});
