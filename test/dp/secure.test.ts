// Secure (lattice) noise: outputs on r Z with r a function of the scale only, integer noise that
// passes KS against its exact target (and, for Laplace, a chi-square at 2 x 10^7 samples), the
// Laplace kernel's threshold table against exact BigInt values, exactness near the value bound,
// errors, and a demonstration of Mironov's floating-point attack on the naive sampler that the
// lattice defeats.
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { ready } from 'privkit';
import {
  createRng,
  gaussianResolution,
  laplaceResolution,
  secureGaussian,
  secureLaplace,
  secureValueBound,
  type Rng,
} from 'privkit/dp';
import * as ref from 'privkit/reference';
import * as runtime from '../../dist/src/wasm/runtime.js';
import { dpWasm } from '../../dist/src/dp/wasm.js';
import { FC_SEED } from '../support/helpers.js';
import { discreteLaplaceCdf, erfc, IntegerHistogram, integerChiSquare, ksCritical, ksStatistic, normalCdf, seed } from '../support/noise-stats.js';

fc.configureGlobal({ seed: FC_SEED, numRuns: 40, endOnFailure: true });

beforeAll(ready);

/** nearest(x), ties to even (what the kernel uses). */
function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d < 0.5) return f;
  if (d > 0.5) return f + 1;
  return f % 2 === 0 ? f : f + 1;
}

/** The integer noise of each output: output / r - nearest(value / r). */
function latticeNoise(values: Float64Array, out: Float64Array, r: number): Float64Array {
  return out.map((o, i) => o / r - roundHalfEven(values[i]! / r));
}

const allOnLattice = (out: Float64Array, r: number) => out.every((o) => Number.isInteger(o / r));

describe('the statistics oracle', () => {
  it('erfc matches published values', () => {
    expect(erfc(1)).toBeCloseTo(0.157299207050285, 14);
    expect(erfc(3.5) / 7.43098372341412e-7).toBeCloseTo(1, 10);
    expect(erfc(-0.5)).toBeCloseTo(1.520499877813047, 14);
  });
});

describe('resolution', () => {
  it('is 2^(ceil(log2 scale) - 24), a power of two with scale / r in (2^23, 2^24]', () => {
    expect(laplaceResolution(1)).toBe(2 ** -24);
    expect(laplaceResolution(1.5)).toBe(2 ** -23);
    expect(gaussianResolution(1024)).toBe(2 ** -14);
    expect(gaussianResolution(1025)).toBe(2 ** -13);
    for (const s of [1e-300, 3e-7, 0.1, 0.999999, 7, 12345.678, 2 ** 53 + 2, 1e250]) {
      for (const res of [laplaceResolution, gaussianResolution]) {
        const r = res(s);
        expect(Number.isInteger(Math.log2(r))).toBe(true);
        expect(s / r).toBeGreaterThan(2 ** 23);
        expect(s / r).toBeLessThanOrEqual(2 ** 24);
      }
    }
    expect(secureValueBound(1)).toBe(2 ** 28);
  });

  it('depends only on the scale, never on the data', () => {
    const rng = createRng({ seed: seed(40) });
    const datasets = [new Float64Array(10), Float64Array.from({ length: 10 }, (_, i) => i * 1e3 + 0.3), new Float64Array([1e-300, -5])];
    for (const values of datasets) {
      expect(secureLaplace(values, 2.5, { rng }).resolution).toBe(laplaceResolution(2.5));
      expect(secureGaussian(values, 0.01, { rng }).resolution).toBe(gaussianResolution(0.01));
    }
  });
});

describe('secureLaplace', () => {
  for (const [k, scale] of [[41, 1], [42, 0.037], [43, 5000]] as const) {
    it(`outputs on the lattice; two-sided geometric noise passes KS (scale ${scale})`, () => {
      const n = 100_000;
      const rng = createRng({ seed: seed(k) });
      const values = Float64Array.from({ length: n }, (_, i) => ((i % 101) - 50) * 0.1234567 * scale);
      const { values: out, resolution: r } = secureLaplace(values, scale, { rng });
      expect(out).not.toBe(values);
      expect(values[3]).toBe(-47 * 0.1234567 * scale); // input untouched
      expect(allOnLattice(out, r)).toBe(true);
      const z = latticeNoise(values, out, r);
      expect(z.every(Number.isInteger)).toBe(true);
      const t = scale / r;
      expect(ksStatistic(z, (v) => discreteLaplaceCdf(v, t), true)).toBeLessThan(ksCritical(n));
    });
  }

  it('the geometric split is exact for small values of Z too (a chi-square near zero, t = scale / r)', () => {
    // P(|Z| < t / 8) under the two-sided geometric, checked against the count (5 sd bound).
    const n = 200_000;
    const { values: out, resolution: r } = secureLaplace(new Float64Array(n), 1, { rng: createRng({ seed: seed(44) }) });
    const t = 1 / r;
    const inner = out.filter((o) => Math.abs(o / r) < t / 8).length;
    const p = discreteLaplaceCdf(Math.ceil(t / 8) - 1, t) - discreteLaplaceCdf(-Math.ceil(t / 8), t);
    expect(Math.abs(inner - n * p)).toBeLessThan(5 * Math.sqrt(n * p * (1 - p)));
  });
});

describe("secureLaplace's threshold table: QT[k - 1] = floor(e^(-M k / t) 2^64), M = 2^22", () => {
  const table = (t: number): bigint[] =>
    runtime.withWasm(dpWasm, (kernels, arena) => {
      const ptr = arena.alloc(16 * 8);
      const count = kernels.secureLaplaceTable(t, 22, ptr);
      return Array.from(new BigUint64Array(kernels.memory.buffer, ptr, count));
    });

  it('equals the exact BigInt values (the reference) for every entry, at the ends of t in (2^23, 2^24] and 40 t in between', () => {
    let state = 12345;
    const between = Array.from({ length: 40 }, () => {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      return 2 ** 23 * (1 + (state + 1) / 2 ** 32) + (state & 1023) * 2 ** -20; // fractional bits too
    });
    const ts = [2 ** 23 + 2 ** -29, 2 ** 23 + 1, 2 ** 24 - 2 ** -29, 2 ** 24, 1 / laplaceResolution(1), 0.037 / laplaceResolution(0.037), ...between];
    for (const t of ts) expect(table(t), `t ${t}`).toEqual(ref.secureLaplaceTable(t, 22));
  });

  it('the check can fail: a table computed with float64 exp (the old kernel) is not exact', () => {
    // floor(Math.exp(-M k / t) 2^64) has 53 significant bits: it misses the exact value by hundreds of units
    const t = 2 ** 24;
    const exact = table(t);
    const viaDouble = exact.map((_, i) => BigInt(Math.floor(Math.exp((-(2 ** 22) * (i + 1)) / t) * 2 ** 64)));
    expect(viaDouble.some((v, i) => v !== exact[i])).toBe(true);
  });
});

describe('secureLaplace agrees with the reference bit for bit, given the keystream', () => {
  it('fast-check over values, scale and seed (n <= 4000: one kernel call)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 4000 }),
        fc.double({ min: -30, max: 30, noNaN: true }).map((e) => 2 ** e),
        fc.integer({ min: 0, max: 255 }),
        (n, scale, k) => {
          const values = Float64Array.from({ length: n }, (_, i) => Math.sin(i + k) * 100 * scale);
          const { values: out, resolution: r } = secureLaplace(values, scale, { rng: createRng({ seed: seed(k) }) });
          const rng = createRng({ seed: seed(k) });
          const source = { bytes: (m: number) => rng.fill(new Uint8Array(m)), uniform: () => rng.uniform(1)[0]! };
          expect(out).toEqual(ref.secureLaplaceFromKeystream(values, r, scale / r, 22, source));
        },
      ),
    );
  });
});

describe('secureLaplace at 2 x 10^7 samples', () => {
  // The noise in cells of width w = t / 64 (M / 16 at scale 1) against the exact two-sided geometric
  // P(Z = z) = (1 - q) / (1 + q) q^|z|, q = e^(-1/t): a fault in the table, in the branch-free count of
  // Q (16 lanes) or in its restart at Q = 16 moves whole cells.
  const scale = 1;
  const r = laplaceResolution(scale);
  const t = scale / r;
  const w = t / 64;
  const K = 64 * 24; // cells with |z| < 24 t; the end cells hold the rest (mass e^-24 = 4e-11)

  /** P(cell c) = P(c w <= Z < (c + 1) w) for -K <= c <= K (the end cells open), at noise scale tau. */
  function cellPmf(tau: number): Float64Array {
    const q = Math.exp(-1 / tau);
    // P(Z >= a), integer a: q^a / (1 + q) for a > 0, 1 - q^(1 - a) / (1 + q) for a <= 0
    const atLeast = (a: number) => (a > 0 ? Math.exp(-a / tau) / (1 + q) : 1 - Math.exp((a - 1) / tau) / (1 + q));
    const p = new Float64Array(2 * K + 1);
    for (let c = -K; c <= K; c++) p[c + K] = (c === -K ? 1 : atLeast(c * w)) - (c === K ? 0 : atLeast((c + 1) * w));
    return p;
  }

  it('chi-square of the cells against the exact pmf, coarse and fine bins (scale 1, t = 2^24, p > 1e-6); a 1% larger scale is rejected', () => {
    const n = 20_000_000;
    const chunk = 1 << 21;
    const histogram = new IntegerHistogram(K);
    const rng = createRng({ seed: seed(45) });
    const zeros = new Float64Array(chunk);
    for (let done = 0; done < n; done += chunk) {
      const { values } = secureLaplace(zeros.subarray(0, Math.min(chunk, n - done)), scale, { rng });
      histogram.add(values.map((o) => Math.floor(o / r / w)));
    }
    const coarse = integerChiSquare(histogram, cellPmf(t), { resolution: 0.01 });
    const fine = integerChiSquare(histogram, cellPmf(t), {}); // >= 20 expected: the tails' shape, which the coarse bins pool
    const detail = `chi-square ${coarse.stat.toFixed(1)} on ${coarse.df} dof (smallest bin ${coarse.minExpected.toFixed(0)}), fine bins ${fine.stat.toFixed(1)} on ${fine.df}`;
    expect(coarse.bins, detail).toBeGreaterThan(10);
    expect(coarse.resolution, detail).toBeLessThanOrEqual(0.01);
    expect(coarse.p, detail).toBeGreaterThan(1e-6);
    expect(fine.p, detail).toBeGreaterThan(1e-6);
    expect(integerChiSquare(histogram, cellPmf(1.01 * t), { resolution: 0.01 }).p).toBeLessThan(1e-6);
  });
});

describe('secureGaussian', () => {
  for (const [k, sigma] of [[51, 1], [52, 0.3], [53, 1234.5], [54, 1e-5]] as const) {
    it(`outputs on the lattice; integer noise of sd sigma / r passes KS (sigma ${sigma})`, () => {
      const n = 100_000;
      const values = Float64Array.from({ length: n }, (_, i) => Math.sin(i) * 10 * sigma);
      const { values: out, resolution: r } = secureGaussian(values, sigma, { rng: createRng({ seed: seed(k) }) });
      expect(allOnLattice(out, r)).toBe(true);
      const z = latticeNoise(values, out, r);
      const t = sigma / r;
      // Z = nearest(t N): P(Z <= z) = Phi((z + 1/2) / t)
      expect(ksStatistic(z, (v) => normalCdf((v + 0.5) / t), true)).toBeLessThan(ksCritical(n));
      const variance = z.reduce((s, v) => s + v * v, 0) / n / (t * t);
      expect(Math.abs(variance - 1)).toBeLessThan(0.03);
    });
  }

  it('is exact at the value bound: |value| = 2^52 r keeps value + noise on the lattice', () => {
    const sigma = 3;
    const bound = secureValueBound(sigma);
    const r = gaussianResolution(sigma);
    const values = new Float64Array([bound, -bound, bound - r, 1e6 + 0.1]);
    const { values: out } = secureGaussian(values, sigma, { rng: createRng({ seed: seed(55) }) });
    expect(allOnLattice(out, r)).toBe(true);
    for (let i = 0; i < values.length; i++) expect(Math.abs(out[i]! - values[i]!)).toBeLessThan(20 * sigma);
  });

  it('is reproducible from a seed and fresh by default', () => {
    const v = new Float64Array(50);
    expect(secureGaussian(v, 1, { rng: createRng({ seed: seed(1) }) }).values).toEqual(secureGaussian(v, 1, { rng: createRng({ seed: seed(1) }) }).values);
    expect(secureGaussian(v, 1).values).not.toEqual(secureGaussian(v, 1).values);
    expect(secureLaplace(v, 1).values).not.toEqual(secureLaplace(v, 1).values);
  });
});

describe('errors', () => {
  const code = (c: string, argument?: string, index?: number) =>
    expect.objectContaining({ code: c, ...(argument === undefined ? {} : { argument }), ...(index === undefined ? {} : { index }) });

  it('rejects bad values, scales and options', () => {
    for (const [fn, name] of [[secureLaplace, 'scale'], [secureGaussian, 'sigma']] as const) {
      for (const values of [new Float32Array(3), [1, 2], null, undefined]) expect(() => fn(values as unknown as Float64Array, 1)).toThrow(code('E_ARG', 'values'));
      for (const s of [0, -1, Number.NaN, Infinity, '1' as unknown as number, 2 ** -1001, 2 ** 991]) expect(() => fn(new Float64Array(2), s)).toThrow(code('E_ARG', name));
      expect(() => fn(new Float64Array(2), 1, { rng: {} as Rng })).toThrow(code('E_ARG', 'opts.rng'));
      expect(() => fn(new Float64Array(2), 1, 'x' as never)).toThrow(code('E_ARG', 'opts'));
      for (const bad of [Number.NaN, Infinity, -Infinity]) {
        const values = new Float64Array(200_000);
        values[150_000] = bad; // second chunk
        expect(() => fn(values, 1)).toThrow(code('E_NONFINITE', 'values', 150_000));
      }
      const big = new Float64Array([0, 0, 2 ** 28 * 1.0000001]);
      expect(() => fn(big, 1)).toThrow(code('E_ARG', 'values', 2));
      expect(() => fn(new Float64Array([-(2 ** 29)]), 1)).toThrow(code('E_ARG', 'values', 0));
    }
    for (const res of [laplaceResolution, gaussianResolution, secureValueBound]) {
      for (const s of [0, -1, Number.NaN, Infinity]) expect(() => res(s)).toThrow(code('E_ARG'));
    }
  });
});

describe("Mironov's attack (CCS 2012): naive float Laplace vs the lattice", () => {
  /** The textbook sampler: x - b sign(u) ln(1 - 2|u|), u uniform on the 2^-53 grid of (-1/2, 1/2), seeded. */
  function naiveLaplace(x: number, b: number, n: number, rng: Rng): Float64Array {
    const words = rng.uint32(2 * n);
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let u = ((words[2 * i]! >>> 5) * 2 ** 26 + (words[2 * i + 1]! >>> 6)) / 2 ** 53 - 0.5;
      if (u === -0.5) u = 0;
      out[i] = x - b * Math.sign(u) * Math.log(1 - 2 * Math.abs(u));
    }
    return out;
  }

  /**
   * For input 1, an output o in (-1/2, 1/2) comes from noise y in (-3/2, -1/2), and 1 + y is then exact
   * (Sterbenz): o is a multiple of 2^-53. An output of input 0 in (-1/2, 1/2) that is not a multiple
   * of 2^-53 is therefore impossible for input 1 and identifies input 0 with certainty.
   */
  const impossibleForInputOne = (o: number) => Math.abs(o) < 0.5 && !Number.isInteger(o * 2 ** 53);

  it('naive sampler: many outputs of input 0 cannot occur for input 1', () => {
    const n = 50_000;
    const from0 = naiveLaplace(0, 1, n, createRng({ seed: seed(60) }));
    const from1 = naiveLaplace(1, 1, n, createRng({ seed: seed(61) }));
    // The reachability claim holds on the samples of input 1 ...
    expect(from1.filter(impossibleForInputOne).length).toBe(0);
    expect(from1.filter((o) => Math.abs(o) < 0.5).length).toBeGreaterThan(0.1 * n);
    // ... and a large share of input 0's outputs reveal it: unbounded privacy loss.
    expect(from0.filter(impossibleForInputOne).length).toBeGreaterThan(0.25 * n);
  });

  it('secure mode: outputs of inputs 0 and 1 lie on the same lattice; no output reveals the input', () => {
    const n = 50_000;
    const scale = 1;
    const out0 = secureLaplace(new Float64Array(n), scale, { rng: createRng({ seed: seed(62) }) });
    const out1 = secureLaplace(new Float64Array(n).fill(1), scale, { rng: createRng({ seed: seed(63) }) });
    const r = out0.resolution;
    expect(out1.resolution).toBe(r);
    expect(allOnLattice(out0.values, r) && allOnLattice(out1.values, r)).toBe(true);
    // Mironov's distinguisher finds nothing: every output is a multiple of r = 2^-24, hence of 2^-53.
    expect(out0.values.filter(impossibleForInputOne).length).toBe(0);
    // Every output is reachable from both inputs, with likelihood ratio exp((|z1| - |z0|) / t) <= e^(1/scale)(1 + r):
    const t = scale / r;
    for (const o of out0.values) {
      const z0 = o / r;
      const z1 = o / r - 1 / r;
      expect(Number.isSafeInteger(z0) && Number.isSafeInteger(z1)).toBe(true);
      expect((Math.abs(z1) - Math.abs(z0)) / t).toBeLessThanOrEqual(1 / scale + 1e-12);
    }
    // Low-order lattice bits look alike for both inputs (two-sample KS on (o / r) mod 2^16).
    const low = (v: Float64Array) => v.map((o) => ((o / r) % 65536 + 65536) % 65536);
    const a = Float64Array.from(low(out0.values)).sort();
    const b = Float64Array.from(low(out1.values)).sort();
    let d = 0;
    for (let i = 0, j = 0; i < n && j < n; ) {
      if (a[i]! <= b[j]!) i++;
      else j++;
      d = Math.max(d, Math.abs(i - j) / n);
    }
    expect(d).toBeLessThan(Math.sqrt(-Math.log(1e-6 / 2) * (2 / n) / 2));
  });
});

describe('the sign of zero (found by review)', () => {
  // z = nearest(t N) is -0 when t N is in [-1/2, 0); -0 + nearest(v / r) stays -0 only when v / r rounds
  // to -0, i.e. v in [-r/2, 0): a -0 output would reveal an input's sign that the lattice hides (an
  // output impossible from v >= 0, with probability ~0.2 / t per such coordinate, uncharged).
  it('no Gaussian lattice output is -0, from negative or positive inputs that round to zero', async () => {
    const { gaussianOnLattice } = await import('../../dist/src/dp/secure.js');
    const { createRng: distRng } = await import('../../dist/src/dp/rng.js'); // the internal function's own Rng type
    const n = 200_000; // at 8 bits (t = 256) about 160 draws of z are -0
    for (const v of [-Number.MIN_VALUE, -(2 ** -10), Number.MIN_VALUE]) {
      const out = gaussianOnLattice(new Float64Array(n).fill(v), 1, 8, { rng: distRng({ seed: seed(70) }) }).values;
      const zeros = out.filter((x) => x === 0);
      expect(zeros.length).toBeGreaterThan(100); // the zero cell is reached (the check measures something)
      expect(zeros.filter((x) => Object.is(x, -0)).length, `input ${v}`).toBe(0);
    }
    const secure = secureGaussian(new Float64Array(n).fill(-Number.MIN_VALUE), 2 ** -20, { rng: createRng({ seed: seed(71) }) }).values;
    expect(secure.filter((x) => Object.is(x, -0)).length).toBe(0);
  });
});
