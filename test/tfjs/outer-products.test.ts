// The wasm outer-product sum of a dense layer's clipped gradient (src/tfjs/outer-products.ts,
// assembly/tfjs/outer-products.ts) equals the plain loop (src/reference/outer-products.ts) bit for
// bit: the float64 operations that noised-sum.ts's bound covers, in the same order per coordinate.
// Random shapes and values (fast-check, fixed seed: zeros, signed zeros, subnormal products, huge
// and tiny magnitudes, left-out examples holding NaN and Infinity), and shapes that cross the tiles
// (several row blocks, column blocks and batches of examples). No staged value stays in wasm memory.
import fc from 'fast-check';
import { ready } from 'privkit';
import { beforeAll, describe, expect, it } from 'vitest';
import { weightedOuterSum } from '../../dist/src/reference/outer-products.js';
import { addWeightedOuterProducts } from '../../dist/src/tfjs/outer-products.js';
import { tfjsWasm } from '../../dist/src/tfjs/wasm.js';
import { withWasm } from '../../dist/src/wasm/runtime.js';
import { FC_SEED, PROFILES, randomMatrix, seededRng } from '../support/helpers.js';

fc.configureGlobal({ seed: FC_SEED, numRuns: 150, endOnFailure: true });

beforeAll(async () => {
  await ready();
});

/** Weights as clippedSum makes them: 0 (left out), clip factors in (0, 1], tiny (subnormal products) and large. */
function randomWeights(n: number, seed: number): Float64Array {
  const rand = seededRng(seed ^ 0x5a5a);
  return Float64Array.from({ length: n }, () => {
    const u = rand();
    return u < 0.2 ? 0 : u < 0.7 ? rand() : u < 0.85 ? 10 ** (-310 + 20 * rand()) : 10 ** (3 * rand());
  });
}

/** Left-out examples (w_i = 0) may hold values that are not finite: the sum must not touch them. */
function poisonLeftOut(m: Float32Array, w: Float64Array, width: number, seed: number): void {
  const rand = seededRng(seed ^ 0x0bad);
  w.forEach((wi, i) => {
    if (wi === 0 && width > 0) m[i * width + Math.floor(rand() * width)] = rand() < 0.5 ? NaN : -Infinity;
  });
}

/** The starting sum: zeros (as clippedSum) or earlier finite values (no -0). */
function startingSum(length: number, seed: number, zero: boolean): Float64Array {
  const rand = seededRng(seed ^ 0x1234);
  return Float64Array.from({ length }, () => (zero ? 0 : (rand() - 0.5) * 10 ** (6 * rand() - 3) || 0));
}

function expectSameBits(actual: Float64Array, expected: Float64Array): void {
  expect(actual.length).toBe(expected.length);
  const a = new BigUint64Array(actual.buffer, actual.byteOffset, actual.length);
  const b = new BigUint64Array(expected.buffer, expected.byteOffset, expected.length);
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i]) expect.fail(`sum[${i}]: got ${actual[i]}, expected ${expected[i]} (bits differ)`);
  }
}

function check(n: number, p: number, q: number, seed: number, profiles: [(typeof PROFILES)[number], (typeof PROFILES)[number]], zero: boolean): void {
  const a = randomMatrix(n, p, seed, profiles[0]);
  const g = randomMatrix(n, q, seed ^ 0x77, profiles[1]);
  const w = randomWeights(n, seed);
  poisonLeftOut(a, w, p, seed);
  poisonLeftOut(g, w, q, seed ^ 1);
  const expected = startingSum(p * q, seed, zero);
  const actual = expected.slice();
  weightedOuterSum(a, g, w, n, p, q, expected);
  addWeightedOuterProducts(a, g, w, n, p, q, actual);
  expectSameBits(actual, expected);
}

describe('addWeightedOuterProducts == the reference loop, bit for bit', () => {
  it('random shapes and values', () => {
    const profile = fc.constantFrom(...PROFILES);
    fc.assert(
      fc.property(
        fc.record({ n: fc.integer({ min: 0, max: 40 }), p: fc.integer({ min: 1, max: 21 }), q: fc.integer({ min: 1, max: 19 }), seed: fc.integer(), a: profile, g: profile, zero: fc.boolean() }),
        ({ n, p, q, seed, a, g, zero }) => check(n, p, q, seed, [a, g], zero),
      ),
    );
  });

  it('shapes that cross the tiles: several row blocks and batches of examples (600 x 300, 400 examples), several column blocks (5 x 4,100)', () => {
    check(400, 600, 300, 11, ['sparse', 'normal'], true);
    check(9, 5, 4100, 12, ['mixed', 'normal'], false);
  });

  it('signed zeros: -0 inputs and products that underflow leave a +0 sum +0, as the loop', () => {
    const a = new Float32Array([-0, 0, 1e-30, -1e-30, 0, -0, 0, 0]);
    const g = new Float32Array([1e-30, -1e-30, -0, 0, 0, 0, 0, 0]);
    const w = new Float64Array([1e-300, 1]);
    const expected = new Float64Array(16);
    const actual = new Float64Array(16);
    weightedOuterSum(a, g, w, 2, 4, 4, expected);
    addWeightedOuterProducts(a, g, w, 2, 4, 4, actual);
    expectSameBits(actual, expected);
    expect(actual.every((v) => Object.is(v, 0))).toBe(true);
  });
});

describe('wasm memory after a call', () => {
  it('holds none of the staged inputs, gradients, weights or sums', () => {
    check(300, 130, 70, 21, ['normal', 'normal'], false);
    const leftover = withWasm(tfjsWasm, (kernels) => new Uint8Array(kernels.memory.buffer).subarray(kernels.heapBase()).findIndex((b) => b !== 0));
    expect(leftover).toBe(-1);
  });
});
