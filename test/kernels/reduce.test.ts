// Known-answer tests of the reduction kernels (src/kernels/reduce.ts): small inputs whose results are
// computed by hand.
import { beforeAll, describe, expect, it } from 'vitest';
import { mean, ready, sum, weightedMean } from 'privkit';
import { expectRelClose } from '../support/helpers.js';

const f32 = (values: number[]) => Float32Array.from(values);
/** One float32 rounding of a hand-computed float64 answer. */
const F32_EPS = 2 ** -23;

beforeAll(async () => {
  await ready();
});

describe('sum / mean / weightedMean', () => {
  it('sum of rows', () => {
    expect(Array.from(sum(f32([1, 2, 3, 4, 5, 6]), 3))).toEqual([9, 12]);
    // 2 rows (the paired loop) and 5 columns (SIMD body + tail)
    expect(Array.from(sum(f32([1, 2, 3, 4, 5, 10, 20, 30, 40, 50]), 2))).toEqual([11, 22, 33, 44, 55]);
    // one row: the row itself
    expect(Array.from(sum(f32([1.5, -2.5, 3]), 1))).toEqual([1.5, -2.5, 3]);
  });

  it('mean of known rows', () => {
    expect(Array.from(mean(f32([1, 2, 3, 3, 4, 5]), 2))).toEqual([2, 3, 4]);
    expectRelClose(mean(f32([1, 2, 6]), 3), [3], 2 * F32_EPS, 'mean');
    expectRelClose(mean(f32([1, -1, 3, 5, 5, 2, 0, 0]), 4), [2.25, 1.5], 4 * F32_EPS, 'mean');
  });

  it('weightedMean with weights [1, 3]', () => {
    // (1 * [1, 2] + 3 * [5, 10]) / 4 = [4, 8]
    expectRelClose(weightedMean(f32([1, 2, 5, 10]), 2, [1, 3]), [4, 8], 2 * F32_EPS, 'weightedMean');
  });

  it('weightedMean: weights need not sum to 1, zero weights drop rows, typed-array weights work', () => {
    expectRelClose(weightedMean(f32([1, 2, 5, 10, 100, 100]), 3, [2, 6, 0]), [4, 8], 2 * F32_EPS, 'wm');
    expectRelClose(weightedMean(f32([1, 2, 5, 10]), 2, new Float64Array([0, 7])), [5, 10], F32_EPS, 'wm');
    expectRelClose(weightedMean(f32([1, 2, 5, 10]), 2, [1e6, 3e6]), [4, 8], 2 * F32_EPS, 'large weights');
  });

  it('mean does not overflow where the sum would', () => {
    expectRelClose(mean(f32([3e38, 3e38]), 2), [3e38], 2 * F32_EPS, 'mean');
  });

  it('zero-length rows give empty results', () => {
    expect(sum(new Float32Array(0), 3).length).toBe(0);
    expect(mean(new Float32Array(0), 3).length).toBe(0);
    expect(weightedMean(new Float32Array(0), 3, [1, 1, 1]).length).toBe(0);
  });

  it('do not modify x', () => {
    const x = f32([1, 2, 3, 4]);
    sum(x, 2);
    mean(x, 2);
    weightedMean(x, 2, [1, 2]);
    expect(Array.from(x)).toEqual([1, 2, 3, 4]);
  });
});
