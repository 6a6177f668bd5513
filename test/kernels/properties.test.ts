// Property tests: the wasm kernels agree with the plain-TypeScript reference implementations on
// random shapes and values (fast-check, fixed seed), clipping invariants hold, and the streaming
// paths (rows longer than the staging window, many row groups) give the same answers.
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import * as wasm from 'privkit';
import * as ref from 'privkit/reference';
import {
  columnSumTolerance,
  exactNorm,
  expectBitEqual,
  expectRelClose,
  expectWithin,
  FC_SEED,
  PROFILES,
  randomLayerSizes,
  randomMatrix,
  relativeError,
  seededRng,
  type Profile,
} from '../support/helpers.js';

fc.configureGlobal({ seed: FC_SEED, numRuns: 120, endOnFailure: true });

/** Matches src/kernels/stream.ts WINDOW_FLOATS (not exported from the package). */
const WINDOW_FLOATS = 262_144;
const NORM_REL = 1e-6;

beforeAll(async () => {
  await wasm.ready();
});

// ---- arbitraries -----------------------------------------------------------------------------

interface Case {
  rows: number;
  cols: number;
  seed: number;
  profile: Profile;
}

const colsArb = fc.oneof(
  fc.integer({ min: 0, max: 300 }),
  // lengths around the SIMD widths (4 lanes, 8 per unrolled step) and zero-length rows
  fc.constantFrom(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 15, 16, 17, 23, 24, 31, 33, 63, 65),
);
const caseArb: fc.Arbitrary<Case> = fc.record({
  rows: fc.oneof(fc.constant(1), fc.integer({ min: 1, max: 40 })),
  cols: colsArb,
  seed: fc.integer(),
  profile: fc.constantFrom(...PROFILES),
});

/**
 * maxNorm either log-uniform in [1e-6, 1e6], or in [1e-30, 1e-6] (with the huge and extreme profiles
 * the clip scale maxNorm / norm then goes far below float32's normal range), or just above / below
 * a quantile of the row norms.
 */
const boundArb = fc.oneof(
  fc.record({ kind: fc.constant('absolute' as const), exp: fc.double({ min: -6, max: 6, noNaN: true }) }),
  // bounds so small that maxNorm / norm leaves float32's normal range for the huge and extreme profiles
  fc.record({ kind: fc.constant('absolute' as const), exp: fc.double({ min: -30, max: -6, noNaN: true }) }),
  fc.record({
    kind: fc.constant('quantile' as const),
    q: fc.double({ min: 0, max: 1, noNaN: true }),
    factor: fc.constantFrom(0.5, 0.999, 1.001, 2),
  }),
);
type Bound = typeof boundArb extends fc.Arbitrary<infer T> ? T : never;

function chooseBound(bound: Bound, norms: number[]): number {
  if (bound.kind === 'absolute') return 10 ** bound.exp;
  const positive = norms.filter((n) => n > 0).sort((a, b) => a - b);
  if (positive.length === 0) return 1;
  return positive[Math.min(positive.length - 1, Math.floor(bound.q * positive.length))]! * bound.factor;
}

function rowNorms(x: Float32Array, rows: number, cols: number, layerSizes: number[] = [cols]): number[] {
  const norms: number[] = [];
  for (let r = 0; r < rows; r++) {
    let start = r * cols;
    for (const size of layerSizes) {
      norms.push(exactNorm(x, start, start + size));
      start += size;
    }
  }
  return norms;
}

// ---- shared checks ---------------------------------------------------------------------------

/** Element-wise agreement of a clipped matrix with the reference (float32 scale vs float64 scale). */
function expectClippedClose(actual: Float32Array, expected: Float32Array, what: string): void {
  expectWithin(actual, expected, (i) => 4e-7 * Math.abs(expected[i]!) + 3e-45, what);
}

/**
 * The clipping invariants for every (row, layer) piece: a piece with norm <= bound is unchanged bit
 * for bit; a clipped piece has norm <= bound * (1 + 1e-6) and is x scaled to norm bound. Pieces whose
 * norm is within 1e-6 of the bound may go either way (the kernel's norm has a relative error up to
 * 1e-6), but must still end up with norm <= bound * (1 + 1e-6).
 */
function expectClipInvariants(
  x: Float32Array,
  out: Float32Array,
  rows: number,
  cols: number,
  layerSizes: number[],
  bounds: number[],
): void {
  for (let r = 0; r < rows; r++) {
    let start = r * cols;
    for (let k = 0; k < layerSizes.length; k++) {
      const end = start + layerSizes[k]!;
      const norm = exactNorm(x, start, end);
      const bound = bounds[k]!;
      const after = exactNorm(out, start, end);
      if (!(after <= bound * (1 + NORM_REL)) && !(norm <= bound * (1 - NORM_REL))) {
        expect.fail(`row ${r} layer ${k}: norm ${after} after clipping exceeds the bound ${bound}`);
      }
      if (norm <= bound * (1 - NORM_REL)) {
        expectBitEqual(out.subarray(start, end), x.subarray(start, end), () => `row ${r} layer ${k} (norm ${norm} <= ${bound})`);
      } else if (norm > bound * (1 + NORM_REL) && !(relativeError(after, bound) <= NORM_REL)) {
        expect.fail(`row ${r} layer ${k}: clipped norm ${after} is not the bound ${bound}`);
      }
      start = end;
    }
  }
}

function checkNorms(x: Float32Array, rows: number): void {
  const cols = rows === 0 ? 0 : x.length / rows;
  const norms = wasm.l2Norms(x, rows);
  expect(norms).toBeInstanceOf(Float32Array);
  expectRelClose(norms, ref.l2Norms(x, rows), NORM_REL, 'l2Norms vs reference');
  expectRelClose(norms, rowNorms(x, rows, cols), NORM_REL, 'l2Norms vs exact');
}

function checkClipByL2(x: Float32Array, rows: number, maxNorm: number): void {
  const cols = x.length / rows;
  const before = x.slice();
  const out = wasm.clipByL2(x, rows, maxNorm);
  expectBitEqual(x, before, 'x must not change');
  expect(out).not.toBe(x);
  expectClippedClose(out, ref.clipByL2(x, rows, maxNorm), 'clipByL2 vs reference');
  expectClipInvariants(x, out, rows, cols, [cols], [maxNorm]);

  const target = new Float32Array(x.length).fill(Number.NaN);
  expect(wasm.clipByL2(x, rows, maxNorm, { out: target })).toBe(target);
  expectBitEqual(target, out, 'out option');
  expectBitEqual(x, before, 'x must not change with out');

  const copy = x.slice();
  expect(wasm.clipByL2(copy, rows, maxNorm, { inPlace: true })).toBe(copy);
  expectBitEqual(copy, out, 'inPlace');
}

function checkClipPerLayer(x: Float32Array, rows: number, layerSizes: number[], maxNorms: number | number[]): void {
  const cols = x.length / rows;
  const bounds = typeof maxNorms === 'number' ? layerSizes.map(() => maxNorms) : maxNorms;
  const before = x.slice();
  const out = wasm.clipPerLayer(x, rows, layerSizes, maxNorms);
  expectBitEqual(x, before, 'x must not change');
  const expected = ref.clipLayers(x, rows, layerSizes, bounds);
  expectClippedClose(out, expected.clipped, 'clipPerLayer vs reference');
  expectClipInvariants(x, out, rows, cols, layerSizes, bounds);

  const target = new Float32Array(x.length);
  expect(wasm.clipPerLayer(x, rows, layerSizes, maxNorms, { out: target })).toBe(target);
  expectBitEqual(target, out, 'out option');
  const copy = x.slice();
  expect(wasm.clipPerLayer(copy, rows, layerSizes, maxNorms, { inPlace: true })).toBe(copy);
  expectBitEqual(copy, out, 'inPlace');
}

function checkClipAndSum(x: Float32Array, rows: number, maxNorm: number | number[], layerSizes?: number[]): void {
  const cols = x.length / rows;
  const sizes = layerSizes ?? [cols];
  const bounds = typeof maxNorm === 'number' ? sizes.map(() => maxNorm) : maxNorm;
  const before = x.slice();
  const result =
    layerSizes === undefined ? wasm.clipAndSum(x, rows, maxNorm) : wasm.clipAndSum(x, rows, maxNorm, { layerSizes });
  expectBitEqual(x, before, 'x must not change');

  const expected = ref.clipLayers(x, rows, sizes, bounds);
  if (layerSizes === undefined && typeof maxNorm === 'number') {
    // the flat reference must agree with the layered one
    const flat = ref.clipAndSum(x, rows, maxNorm);
    expect(flat.clippedCount).toBe(expected.clippedCount);
  }
  const expectedSum = ref.sum(expected.clipped, rows);
  const tol = columnSumTolerance(expected.clipped, rows, new Array(rows).fill(1));
  expectWithin(result.sum, expectedSum, (j) => tol[j]! + 4e-7 * Math.abs(expectedSum[j]!), 'clipAndSum.sum');
  expectRelClose(result.norms, expected.norms, NORM_REL, 'clipAndSum.norms');
  expect(result.norms.length).toBe(rows * sizes.length);

  // the count agrees with the reference, except for pieces whose norm is within 1e-6 of the bound
  let ambiguous = 0;
  const exact = rowNorms(x, rows, cols, sizes);
  exact.forEach((n, i) => {
    const b = bounds[i % sizes.length]!;
    if (Math.abs(n - b) <= 1e-6 * b) ambiguous++;
  });
  expect(Math.abs(result.clippedCount - expected.clippedCount)).toBeLessThanOrEqual(ambiguous);
  const exactCount = exact.filter((n, i) => n > bounds[i % sizes.length]!).length;
  expect(Math.abs(result.clippedCount - exactCount)).toBeLessThanOrEqual(ambiguous);
}

function checkClipValues(x: Float32Array, min: number, max: number): void {
  const before = x.slice();
  const out = wasm.clipValues(x, min, max);
  expectBitEqual(x, before, 'x must not change');
  const expected = ref.clipValues(x, min, max);
  expect(out.length).toBe(expected.length);
  for (let i = 0; i < out.length; i++) {
    // numeric equality (the sign of a clamped zero is not specified)
    if (out[i] !== expected[i]) expect.fail(`clipValues[${i}]: got ${out[i]}, expected ${expected[i]}`);
  }
  const target = new Float32Array(x.length);
  expect(wasm.clipValues(x, min, max, { out: target })).toBe(target);
  expectBitEqual(target, out, 'out option');
  const copy = x.slice();
  expect(wasm.clipValues(copy, min, max, { inPlace: true })).toBe(copy);
  expectBitEqual(copy, out, 'inPlace');
}

function checkReductions(x: Float32Array, rows: number, weights: number[]): void {
  const before = x.slice();
  const ones = new Array<number>(rows).fill(1);
  const s = wasm.sum(x, rows);
  const sTol = columnSumTolerance(x, rows, ones);
  expectWithin(s, ref.sum(x, rows), (j) => sTol[j]!, 'sum');

  const m = wasm.mean(x, rows);
  const mTol = columnSumTolerance(x, rows, new Array<number>(rows).fill(1 / rows));
  expectWithin(m, ref.mean(x, rows), (j) => mTol[j]!, 'mean');

  const total = weights.reduce((a, b) => a + b, 0);
  const wm = wasm.weightedMean(x, rows, weights);
  const wTol = columnSumTolerance(x, rows, weights.map((w) => w / total));
  expectWithin(wm, ref.weightedMean(x, rows, weights), (j) => wTol[j]!, 'weightedMean');
  expectBitEqual(x, before, 'x must not change');
}

function randomWeights(rows: number, seed: number): number[] {
  const rand = seededRng(seed ^ 0x77);
  const w = Array.from({ length: rows }, () => {
    const u = rand();
    // zeros, counts, reals, and weights so small relative to the others that w / sum(w) is below
    // float32's normal range (a float32 weight would lose them)
    return u < 0.15 ? 0 : u < 0.5 ? Math.floor(rand() * 1000) : u < 0.85 ? rand() * 10 ** (rand() * 6 - 3) : 10 ** (-45 + 10 * rand());
  });
  if (!w.some((v) => v > 0)) w[Math.floor(rand() * rows)] = 1 + rand();
  return w;
}

// ---- random shapes ---------------------------------------------------------------------------

describe('wasm == reference on random shapes and values', () => {
  it('l2Norms', () => {
    fc.assert(
      fc.property(caseArb, ({ rows, cols, seed, profile }) => {
        checkNorms(randomMatrix(rows, cols, seed, profile), rows);
      }),
    );
  });

  it('clipByL2 (with out and inPlace)', () => {
    fc.assert(
      fc.property(caseArb, boundArb, ({ rows, cols, seed, profile }, bound) => {
        const x = randomMatrix(rows, cols, seed, profile);
        checkClipByL2(x, rows, chooseBound(bound, rowNorms(x, rows, cols)));
      }),
    );
  });

  /** A random matrix with a random layer split and bounds drawn around each layer's norms. */
  const layeredCaseArb = (salt: number) =>
    fc
      .tuple(caseArb, fc.integer({ min: 1, max: 6 }), fc.array(boundArb, { minLength: 6, maxLength: 6 }), fc.boolean())
      .map(([{ rows, cols, seed, profile }, parts, layerBounds, scalar]) => {
        const x = randomMatrix(rows, cols, seed, profile);
        const sizes = randomLayerSizes(cols, parts, seed ^ salt);
        const norms = rowNorms(x, rows, cols, sizes);
        const bounds = sizes.map((_, k) => chooseBound(layerBounds[k]!, norms.filter((_, i) => i % sizes.length === k)));
        return { x, rows, sizes, bounds: scalar ? bounds[0]! : bounds };
      });

  it('clipPerLayer with random layer splits (one bound or one per layer)', () => {
    fc.assert(
      fc.property(layeredCaseArb(0x1234), ({ x, rows, sizes, bounds }) => checkClipPerLayer(x, rows, sizes, bounds)),
    );
  });

  it('clipAndSum (flat)', () => {
    fc.assert(
      fc.property(caseArb, boundArb, ({ rows, cols, seed, profile }, bound) => {
        const x = randomMatrix(rows, cols, seed, profile);
        checkClipAndSum(x, rows, chooseBound(bound, rowNorms(x, rows, cols)));
      }),
    );
  });

  it('clipAndSum with random layer splits', () => {
    fc.assert(
      fc.property(layeredCaseArb(0x4321), ({ x, rows, sizes, bounds }) => checkClipAndSum(x, rows, bounds, sizes)),
    );
  });

  it('clipValues (bounds drawn from the data or log-uniform)', () => {
    const limitArb = fc.oneof(
      fc.record({ kind: fc.constant('data' as const), u: fc.double({ min: 0, max: 1, noNaN: true }) }),
      fc.record({ kind: fc.constant('log' as const), exp: fc.double({ min: -25, max: 20, noNaN: true }), neg: fc.boolean() }),
      fc.record({ kind: fc.constant('zero' as const) }),
    );
    fc.assert(
      fc.property(caseArb, limitArb, limitArb, ({ rows, cols, seed, profile }, a, b) => {
        const x = randomMatrix(rows, cols, seed, profile);
        const pick = (l: typeof a extends fc.Arbitrary<infer T> ? T : typeof a): number => {
          if (l.kind === 'zero') return 0;
          if (l.kind === 'log') return (l.neg ? -1 : 1) * 10 ** l.exp;
          return x.length === 0 ? 0 : x[Math.min(x.length - 1, Math.floor(l.u * x.length))]!;
        };
        const [lo, hi] = [pick(a), pick(b)].sort((p, q) => p - q);
        checkClipValues(x, lo!, hi!);
      }),
    );
  });

  it('sum, mean and weightedMean', () => {
    fc.assert(
      fc.property(caseArb, ({ rows, cols, seed, profile }) => {
        checkReductions(randomMatrix(rows, cols, seed, profile), rows, randomWeights(rows, seed));
      }),
    );
  });

  it('rows with norm <= maxNorm come back bit-for-bit, whatever their values', () => {
    // arbitrary finite float32 bit patterns (subnormals, -0, values near 3.4e38), maxNorm above every norm
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 0, max: 40 }),
        fc.integer(),
        (rows, cols, seed) => {
          const rand = seededRng(seed);
          const raw = new Float32Array(rows * cols);
          const bits = new Uint32Array(raw.buffer);
          for (let i = 0; i < bits.length; i++) {
            do bits[i] = Math.floor(rand() * 2 ** 32);
            while (!Number.isFinite(raw[i]!));
          }
          const norms = rowNorms(raw, rows, cols);
          const maxNorm = Math.max(1e-30, ...norms) * 1.5;
          if (!Number.isFinite(maxNorm)) return;
          expectBitEqual(wasm.clipByL2(raw, rows, maxNorm), raw, 'unclipped rows');
          const copy = raw.slice();
          expect(wasm.clipByL2(copy, rows, maxNorm, { inPlace: true })).toBe(copy);
          expectBitEqual(copy, raw, 'unclipped rows, in place');
          let clippedCount: number;
          try {
            clippedCount = wasm.clipAndSum(raw, rows, maxNorm).clippedCount;
          } catch (error) {
            // values near 3.4e38 may overflow the float32 sum or a float32 norm; then the exact
            // sum or that norm must be out of range too
            expect((error as wasm.PrivkitError).code).toBe('E_OVERFLOW');
            const normOverflows = norms.some((norm) => Math.fround(norm) === Infinity);
            expect(normOverflows || !ref.sum(raw, rows).every(Number.isFinite)).toBe(true);
            return;
          }
          expect(clippedCount).toBe(0);
        },
      ),
      { numRuns: 60 },
    );
  });
});

// ---- streaming paths: rows longer than the window, many row groups ------------------------------

describe('rows longer than the staging window (two-pass split rows)', () => {
  const shapes: Array<[rows: number, cols: number]> = [
    [2, 300_001],
    [1, WINDOW_FLOATS + 1],
    [1, 2 * WINDOW_FLOATS + 3],
  ];

  for (const [rows, cols] of shapes) {
    it(`${rows} x ${cols}: every kernel matches the reference`, () => {
      const x = randomMatrix(rows, cols, rows * 7919 + cols, 'rowscaled');
      checkNorms(x, rows);
      const norms = rowNorms(x, rows, cols);
      // one row: clip it, then keep it; two rows: clip one and keep the other, then clip both
      const bounds = rows === 1 ? [norms[0]! * 0.5, norms[0]! * 2] : [Math.min(...norms) * 1.01, Math.min(...norms) * 0.5];
      for (const maxNorm of bounds) {
        checkClipByL2(x, rows, maxNorm);
        checkClipAndSum(x, rows, maxNorm);
      }
      checkClipValues(x, -0.5, 2);
      checkReductions(x, rows, randomWeights(rows, cols));
    });
  }

  it('per-layer clipping with layers straddling and touching the window boundary', () => {
    const rows = 2;
    const cols = 300_001;
    const x = randomMatrix(rows, cols, 42, 'normal');
    for (const sizes of [
      [100_000, 200_000, 1],
      [WINDOW_FLOATS, cols - WINDOW_FLOATS],
      [WINDOW_FLOATS - 1, 2, cols - WINDOW_FLOATS - 1],
      [0, cols, 0],
    ]) {
      const norms = rowNorms(x, rows, cols, sizes);
      // a bound per layer: between the two rows' norms of that layer, so each layer clips one row
      const bounds = sizes.map((_, k) => {
        const a = norms[k]!;
        const b = norms[sizes.length + k]!;
        return a === 0 && b === 0 ? 1 : (a + b) / 2;
      });
      checkClipPerLayer(x, rows, sizes, bounds);
      checkClipAndSum(x, rows, bounds, sizes);
    }
  });

  it('a row of exactly WINDOW_FLOATS values (no split) and three rows of WINDOW_FLOATS / 2 + 1 (one row per group)', () => {
    for (const [rows, cols] of [
      [1, WINDOW_FLOATS],
      [3, WINDOW_FLOATS / 2 + 1],
    ] as const) {
      const x = randomMatrix(rows, cols, cols, 'rowscaled');
      checkNorms(x, rows);
      const norms = rowNorms(x, rows, cols);
      const maxNorm = [...norms].sort((a, b) => a - b)[Math.floor(rows / 2)]! * 1.0001;
      checkClipByL2(x, rows, maxNorm);
      checkClipAndSum(x, rows, maxNorm);
      checkReductions(x, rows, randomWeights(rows, 3));
    }
  });
});

describe('many rows spanning several row groups', () => {
  // (rows, cols): 1000 x 1000 -> groups of 262 rows; 601 x 1001 -> groups of 261 (odd) rows;
  // 100003 x 3 -> two groups of 87381 and 12622 rows
  const shapes: Array<[number, number]> = [
    [1000, 1000],
    [601, 1001],
    [100_003, 3],
  ];
  for (const [rows, cols] of shapes) {
    it(`${rows} x ${cols}`, () => {
      const x = randomMatrix(rows, cols, rows + cols, 'rowscaled');
      checkNorms(x, rows);
      const norms = rowNorms(x, rows, cols);
      const maxNorm = [...norms].sort((a, b) => a - b)[Math.floor(rows / 2)]! * 1.0001;
      checkClipByL2(x, rows, maxNorm);
      checkClipAndSum(x, rows, maxNorm);
      const sizes = randomLayerSizes(cols, 3, rows);
      const layerNorms = rowNorms(x, rows, cols, sizes);
      const bounds = sizes.map((_, k) => {
        const own = layerNorms.filter((_, i) => i % sizes.length === k && layerNorms[i]! > 0).sort((a, b) => a - b);
        return own.length === 0 ? 1 : own[Math.floor(own.length / 2)]! * 1.0001;
      });
      checkClipPerLayer(x, rows, sizes, bounds);
      checkClipAndSum(x, rows, bounds, sizes);
      checkClipValues(x, -1, 3);
      checkReductions(x, rows, randomWeights(rows, cols));
    });
  }

  it('200,000 rows x 2 (weightedMean reference and wasm agree)', () => {
    const rows = 200_000;
    const x = randomMatrix(rows, 2, 5, 'normal');
    checkReductions(x, rows, randomWeights(rows, 5));
  });

  it('clipAndSum on many rows counts exactly the rows above the bound', () => {
    // row r is the constant row (r + 1) / 100 * ones(cols) with norm (r + 1) / 100 * sqrt(cols)
    const rows = 1500;
    const cols = 700;
    const x = new Float32Array(rows * cols);
    for (let r = 0; r < rows; r++) x.fill((r + 1) / 100, r * cols, (r + 1) * cols);
    // bound between rows 999 and 1000 (0-based): rows 1000..1499 are clipped
    const maxNorm = 10.005 * Math.sqrt(cols);
    const { sum: s, clippedCount, norms } = wasm.clipAndSum(x, rows, maxNorm);
    expect(clippedCount).toBe(500);
    expectRelClose(norms, Array.from({ length: rows }, (_, r) => Math.fround((r + 1) / 100) * Math.sqrt(cols)), 1e-6, 'norms');
    // sum per column: sum_{r<1000} (r+1)/100 + 500 * 10.005 = 5005 + 5002.5
    let expected = 0;
    for (let r = 0; r < 1000; r++) expected += Math.fround((r + 1) / 100);
    expected += 500 * 10.005;
    expectRelClose(s, new Array(cols).fill(expected), 1e-5, 'sum');
  });
});

// ---- precision ---------------------------------------------------------------------------------

describe('precision of clipping with extreme ratios norm / maxNorm', () => {
  it('a clip scale below float32\'s normal range still clips to maxNorm (not to 0 or a rounded scale)', () => {
    // x * (maxNorm / norm) is representable, but the scale itself (2e-47, 2e-41) is not a normal float32
    for (const [row, maxNorm] of [
      [[3e36, 4e36], 1e-10],
      [[3e30, 4e30], 1e-10],
    ] as const) {
      const x = Float32Array.from(row);
      const expected = ref.clipByL2(x, 1, maxNorm);
      expect(expected[0]).toBeGreaterThan(0);
      expectRelClose(wasm.clipByL2(x, 1, maxNorm), expected, 1e-6, `clipByL2 [${row}] to ${maxNorm}`);
      expectRelClose(wasm.clipAndSum(x, 1, maxNorm).sum, expected, 1e-6, `clipAndSum [${row}] to ${maxNorm}`);
    }
  });
});

describe('precision of l2Norms on a row of 10^7 values', () => {
  const n = 10_000_000;

  it('all values equal: norm = |v| * sqrt(n) (relative error < 1e-6)', () => {
    const v = Math.fround(0.1);
    const x = new Float32Array(n).fill(v);
    const [norm] = wasm.l2Norms(x, 1);
    expect(relativeError(norm!, v * Math.sqrt(n))).toBeLessThan(1e-6);
    // the reference (plain float64 loop) is accurate here too
    expect(relativeError(ref.l2Norms(x, 1)[0]!, v * Math.sqrt(n))).toBeLessThan(1e-6);
    // a value whose square is not representable in float32: a float32 accumulator would drift
    x.fill(Math.fround(1.1));
    expect(relativeError(wasm.l2Norms(x, 1)[0]!, Math.fround(1.1) * Math.sqrt(n))).toBeLessThan(1e-6);
  });

  it('random row: matches a compensated float64 sum of exact squares (relative error < 1e-6)', () => {
    const x = randomMatrix(1, n, 2024, 'normal');
    const exact = exactNorm(x);
    const [norm] = wasm.l2Norms(x, 1);
    expect(relativeError(norm!, exact)).toBeLessThan(1e-6);
    // and the same row split into 10 rows
    const norms = wasm.l2Norms(x, 10);
    for (let r = 0; r < 10; r++) {
      expect(relativeError(norms[r]!, exactNorm(x, r * (n / 10), (r + 1) * (n / 10)))).toBeLessThan(1e-6);
    }
  });
});
