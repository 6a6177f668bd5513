// The randomized Hadamard rotation: hand-computed small cases, signs equal to the ChaCha20 keystream
// bits of the seed (read from the seeded generator and from the reference block function), orthogonality
// (norm preservation, round trip) within the float32 error bound, agreement with the float64
// reference on random inputs (fast-check), the blocked phases of long rotations bit for bit equal to
// the one-window rotation, errors, and memory stability.
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { ready } from 'privkit';
import { createRng } from 'privkit/dp';
import * as ref from 'privkit/reference';
import {
  inverseRandomizedHadamard,
  MAX_ROTATION_LENGTH,
  randomizedHadamard,
  ROTATION_STREAM,
  rotationLength,
} from 'privkit/secagg';
import { rotate } from '../../dist/src/secagg/rotation.js';
import * as runtime from '../../dist/src/wasm/runtime.js';
import { dpWasm } from '../../dist/src/dp/wasm.js';
import { exactNorm, expectBitEqual, expectPrivkitError, FC_SEED, randomMatrix } from '../support/helpers.js';

fc.configureGlobal({ seed: FC_SEED, numRuns: 60, endOnFailure: true });

beforeAll(ready);

const U = 2 ** -24; // float32 unit roundoff
const seedOf = (byte: number) => Uint8Array.from({ length: 32 }, (_, i) => (byte * 37 + i) & 0xff);
const vector = (n: number, seed: number) => randomMatrix(1, n, seed, 'normal');

/** L2 norm of a - b in float64. */
function distance(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i]! - b[i]!) ** 2;
  return Math.sqrt(s);
}

/**
 * First-order float32 error bound of one rotation of x, in L2 norm: the scaling and each of the log2 d
 * butterfly stages add a rounding error of at most u times the (norm-preserved) signal, and the
 * rounded 1/sqrt(d) one more; `extra` covers the reference's own float32 rounding or a second rotation.
 */
const rotationBound = (d: number, norm: number, extra = 0) => (Math.log2(d) + 2 + extra) * U * norm * (1 + 1e-6) + 1e-40;

describe('rotationLength', () => {
  it('is the least power of two >= max(1, n)', () => {
    const cases: Array<[number, number]> = [[0, 1], [1, 1], [2, 2], [3, 4], [4, 4], [5, 8], [1000, 1024], [100_000, 131_072], [2 ** 20 + 1, 2 ** 21]];
    for (const [n, d] of cases) expect(rotationLength(n), String(n)).toBe(d);
  });
});

describe('hand-computed small cases', () => {
  const seed = seedOf(1);
  const signs = ref.rotationSigns(seed, 4);

  it('d = 1: y = s0 x0', () => {
    expect(Array.from(randomizedHadamard(Float32Array.of(3), seed))).toEqual([signs[0]! * 3]);
  });

  it('d = 2: y = (s0 x0 + s1 x1, s0 x0 - s1 x1) / sqrt(2), in float32 arithmetic', () => {
    const [a, b] = [0.75, -2.1];
    const y = randomizedHadamard(Float32Array.of(a, b), seed);
    const f = Math.fround;
    const s = f(Math.SQRT1_2); // the input is scaled first, then the butterfly
    const u = f(signs[0]! * f(a) * s);
    const v = f(signs[1]! * f(b) * s);
    expect(Array.from(y)).toEqual([f(u + v), f(u - v)]);
    expect(Math.abs(y[0]! - (signs[0]! * a + signs[1]! * b) / Math.SQRT2)).toBeLessThan(1e-6);
  });

  it('d = 4 (x padded from 3 values): y = H4 D x / 2', () => {
    const x = Float32Array.of(1, 2, 4);
    const [p, q, r] = [signs[0]! * 1, signs[1]! * 2, signs[2]! * 4];
    // H4 rows: (1 1 1 1), (1 -1 1 -1), (1 1 -1 -1), (1 -1 -1 1); the padded x[3] = 0
    const expected = [(p + q + r) / 2, (p - q + r) / 2, (p + q - r) / 2, (p - q - r) / 2];
    expect(Array.from(randomizedHadamard(x, seed))).toEqual(expected); // small integers / 2: exact
    expect(Array.from(inverseRandomizedHadamard(Float32Array.from(expected), seed, 3))).toEqual([1, 2, 4]);
  });

  it('these cases exercise both signs', () => {
    expect(Array.from(signs.subarray(0, 3))).toContain(-1);
    expect(Array.from(signs.subarray(0, 3))).toContain(1);
  });
});

describe('signs', () => {
  it('are the keystream bits of (seed, ROTATION_STREAM): wasm, seeded generator and reference block function agree', () => {
    const d = 2048;
    for (const byte of [1, 2, 200]) {
      const seed = seedOf(byte);
      const words = createRng({ seed, stream: ROTATION_STREAM }).uint32(d / 32);
      const fromGenerator = Array.from({ length: d }, (_, i) => ((words[i >> 5]! >>> (i & 31)) & 1 ? -1 : 1));
      expect(Array.from(ref.rotationSigns(seed, d))).toEqual(fromGenerator);
      // y[0] of the rotation of the unit vector e_i is s_i / sqrt(d) (row 0 of H is all ones)
      for (const i of [0, 1, 31, 32, 33, 511, 512, 1000, 2047]) {
        const e = new Float32Array(d);
        e[i] = 1;
        expect(Math.sign(randomizedHadamard(e, seed)[0]!), `seed ${byte}, i ${i}`).toBe(fromGenerator[i]);
      }
    }
  });

  it('are a deterministic function of the seed: same seed, same output; another seed, another output', () => {
    const x = vector(1000, 3);
    const a = randomizedHadamard(x, seedOf(5));
    expectBitEqual(randomizedHadamard(x, seedOf(5)), a, 'same seed');
    expectBitEqual(randomizedHadamard(x.slice(), Uint8Array.from(seedOf(5))), a, 'same seed, copied inputs');
    expect(distance(randomizedHadamard(x, seedOf(6)), a)).toBeGreaterThan(0.1 * exactNorm(x));
  });

  it('flip about half of the coordinates (binomial, 6 standard deviations)', () => {
    const d = 1 << 16;
    const signs = ref.rotationSigns(seedOf(9), d);
    const negatives = signs.reduce((n, s) => n + (s < 0 ? 1 : 0), 0);
    expect(Math.abs(negatives - d / 2)).toBeLessThan(6 * Math.sqrt(d / 4));
  });
});

describe('orthogonality', () => {
  const lengths = [1, 2, 3, 5, 16, 31, 32, 33, 100, 1000, 4095, 4096, 4097, 20_000, 100_000];

  it('preserves the L2 norm within (log2 d + 2) u ||x||', () => {
    for (const n of lengths) {
      const x = vector(n, n);
      const y = randomizedHadamard(x, seedOf(2));
      const d = rotationLength(n);
      expect(y.length).toBe(d);
      const norm = exactNorm(x);
      expect(Math.abs(exactNorm(y) - norm), `n = ${n}`).toBeLessThanOrEqual(rotationBound(d, norm));
    }
  });

  it('round trip: ||inverse(rotate(x)) - x||_2 <= (2 log2 d + 4) u ||x||', () => {
    for (const n of lengths) {
      const x = vector(n, 100 + n);
      const back = inverseRandomizedHadamard(randomizedHadamard(x, seedOf(3)), seedOf(3), n);
      expect(back.length).toBe(n);
      const d = rotationLength(n);
      expect(distance(back, x), `n = ${n}`).toBeLessThanOrEqual(rotationBound(d, exactNorm(x), Math.log2(d) + 2));
    }
  });

  it('the wrong seed does not invert', () => {
    const x = vector(256, 4);
    const back = inverseRandomizedHadamard(randomizedHadamard(x, seedOf(3)), seedOf(4), 256);
    expect(distance(back, x)).toBeGreaterThan(0.5 * exactNorm(x));
  });

  it('the empty vector pads to one zero and comes back empty', () => {
    const y = randomizedHadamard(new Float32Array(0), seedOf(1));
    expect(y.length).toBe(1);
    expect(y[0] === 0).toBe(true); // +0 or -0 (a sign flip of the padding)
    expect(inverseRandomizedHadamard(new Float32Array(1), seedOf(1), 0).length).toBe(0);
  });

  it('a vector with huge components but a float32 norm is rotated without overflow', () => {
    const x = Float32Array.of(2e38, -2e38, 1e38);
    const y = randomizedHadamard(x, seedOf(1));
    expect(Math.abs(exactNorm(y) - exactNorm(x))).toBeLessThanOrEqual(rotationBound(4, exactNorm(x)));
  });
});

describe('agrees with the float64 reference', () => {
  it('on random lengths and values (fast-check)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 5000 }), fc.integer(), fc.integer({ min: 0, max: 255 }), (n, dataSeed, seedByte) => {
        const x = vector(n, dataSeed);
        const seed = seedOf(seedByte);
        const y = randomizedHadamard(x, seed);
        const expected = ref.randomizedHadamard(x, seed);
        const d = rotationLength(n);
        expect(y.length).toBe(expected.length);
        // the reference is rounded to float32 once: one more u ||x||
        expect(distance(y, expected)).toBeLessThanOrEqual(rotationBound(d, exactNorm(x), 1));
        const back = inverseRandomizedHadamard(y, seed, n);
        expect(distance(back, ref.inverseRandomizedHadamard(y, seed, n))).toBeLessThanOrEqual(rotationBound(d, exactNorm(y), 1));
      }),
    );
  });

  it('on 100,000 values (d = 131,072: 32 cache blocks and the stages across them)', () => {
    const x = vector(100_000, 77);
    const seed = seedOf(7);
    const y = randomizedHadamard(x, seed);
    expect(distance(y, ref.randomizedHadamard(x, seed))).toBeLessThanOrEqual(rotationBound(131_072, exactNorm(x), 1));
  });
});

describe('rotations longer than the staging window run block by block with the same arithmetic', () => {
  // `rotate` with a small block (the window is 2^18 floats) against the one-window rotation of the same vector
  const cases: Array<[string, number, number]> = [
    ['d = 2^12 in 4 blocks of 2^10', 4000, 1 << 10],
    ['d = 2^14 in 64 blocks of 2^8 (slabs of 4 columns)', 16_000, 1 << 8],
    ['d = 2^13 in 2 blocks of 2^12 (one stage across blocks)', 5000, 1 << 12],
  ];
  for (const [name, n, block] of cases) {
    it(name, () => {
      const x = vector(n, n);
      const seed = seedOf(n % 251);
      const d = rotationLength(n);
      const forward = rotate(x, n, 'x', seed, d, d, false, block);
      expectBitEqual(forward, randomizedHadamard(x, seed), 'forward');
      const inverse = rotate(forward, d, 'y', seed, d, n, true, block);
      expectBitEqual(inverse, inverseRandomizedHadamard(forward, seed, n), 'inverse');
    });
  }

  it('errors name the element and the overflow in any block', () => {
    const x = vector(4000, 3);
    x[3333] = Infinity;
    expectPrivkitError(() => rotate(x, x.length, 'x', seedOf(1), 4096, 4096, false, 1024), 'E_NONFINITE', 'x', 3333);
    const huge = new Float32Array(4096).fill(3e38);
    expectPrivkitError(() => rotate(huge, huge.length, 'x', seedOf(1), 4096, 4096, false, 1024), 'E_OVERFLOW', 'x');
  });
});

describe('errors', () => {
  const seed = seedOf(1);

  it('x and y must be Float32Arrays (E_ARG)', () => {
    expectPrivkitError(() => randomizedHadamard(new Float64Array(4) as any, seed), 'E_ARG', 'x');
    expectPrivkitError(() => randomizedHadamard([1, 2] as any, seed), 'E_ARG', 'x');
    expectPrivkitError(() => inverseRandomizedHadamard(new Int32Array(4) as any, seed, 4), 'E_ARG', 'y');
  });

  it('seed must be 32 bytes (E_ARG)', () => {
    const x = new Float32Array(4);
    expectPrivkitError(() => randomizedHadamard(x, new Uint8Array(16)), 'E_ARG', 'seed');
    expectPrivkitError(() => randomizedHadamard(x, 'seed' as any), 'E_ARG', 'seed');
    expectPrivkitError(() => inverseRandomizedHadamard(x, new Uint8Array(33), 4), 'E_ARG', 'seed');
  });

  it('NaN or Infinity in x (E_NONFINITE with the index)', () => {
    const x = vector(5000, 1);
    x[4321] = NaN;
    expectPrivkitError(() => randomizedHadamard(x, seed), 'E_NONFINITE', 'x', 4321);
    const y = new Float32Array(8);
    y[7] = -Infinity;
    expectPrivkitError(() => inverseRandomizedHadamard(y, seed, 8), 'E_NONFINITE', 'y', 7);
  });

  it('a result beyond float32 (E_OVERFLOW)', () => {
    // s0 x0 + s1 x1 = 2 s0 3e38, so y0 = 6e38 / sqrt(2)
    const signs = ref.rotationSigns(seed, 2);
    expectPrivkitError(() => randomizedHadamard(Float32Array.of(3e38, 3e38 * signs[0]! * signs[1]!), seed), 'E_OVERFLOW', 'x');
  });

  it('length must fit y (E_SHAPE) and be an integer in [0, 2^28] (E_ARG)', () => {
    expectPrivkitError(() => inverseRandomizedHadamard(new Float32Array(8), seed, 3), 'E_SHAPE', 'y');
    expectPrivkitError(() => inverseRandomizedHadamard(new Float32Array(6), seed, 6), 'E_SHAPE', 'y');
    expectPrivkitError(() => inverseRandomizedHadamard(new Float32Array(8), seed, 8.5), 'E_ARG', 'length');
    expectPrivkitError(() => inverseRandomizedHadamard(new Float32Array(8), seed, -1), 'E_ARG', 'length');
    expectPrivkitError(() => rotationLength(MAX_ROTATION_LENGTH + 1), 'E_ARG', 'length');
  });
});

describe('memory', () => {
  const memoryBytes = () => runtime.withWasm(dpWasm, (_kernels, arena) => arena.memoryBytes);
  const arenaTop = () => runtime.withWasm(dpWasm, (_kernels, arena) => arena.mark());

  it('repeated rotations do not grow wasm memory or leak arena space', () => {
    const x = vector(100_000, 5);
    const seed = seedOf(1);
    inverseRandomizedHadamard(randomizedHadamard(x, seed), seed, x.length);
    const bytes = memoryBytes();
    const top = arenaTop();
    for (let i = 0; i < 200; i++) inverseRandomizedHadamard(randomizedHadamard(x, seed), seed, x.length);
    for (let i = 0; i < 2000; i++) randomizedHadamard(x.subarray(0, 37), seed);
    expect(memoryBytes()).toBe(bytes);
    expect(arenaTop()).toBe(top);
  });
});
