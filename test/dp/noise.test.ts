// Fast Gaussian and Laplace samplers (wasm Ziggurat on ChaCha20): KS against the exact CDF at
// alpha = 1e-6 with fixed seeds, moments at 10^6 samples, the tails, in-place addition, errors.
import { beforeAll, describe, expect, it } from 'vitest';
import { ready } from 'privkit';
import { addGaussianNoise, addLaplaceNoise, createRng, gaussianNoise, laplaceNoise } from 'privkit/dp';
import { ksCritical, ksStatistic, laplaceCdf, moments, normalCdf, seed } from '../support/noise-stats.js';

beforeAll(ready);

const N_KS = 200_000;
const NORMAL_R = 3.6541528853610088; // Ziggurat base-layer edge: beyond it the tail sampler runs
const EXP_R = 7.6971174701310497;

describe('gaussianNoise', () => {
  for (const dtype of ['float64', 'float32'] as const) {
    for (const [k, sigma] of [[1, 1], [2, 0.25], [3, 1234.5]] as const) {
      it(`KS against the normal CDF: ${dtype}, sigma=${sigma}`, () => {
        const x = gaussianNoise(N_KS, sigma, { rng: createRng({ seed: seed(k) }), dtype });
        expect(x).toBeInstanceOf(dtype === 'float64' ? Float64Array : Float32Array);
        expect(x.length).toBe(N_KS);
        expect(ksStatistic(x, (v) => normalCdf(v, sigma))).toBeLessThan(ksCritical(N_KS));
      });
    }
  }

  it('moments at 10^6 samples (sigma = 1): |mean| <= 0.01, variance 1 +- 0.01, kurtosis 3 +- 0.1', () => {
    const m = moments(gaussianNoise(1_000_000, 1, { rng: createRng({ seed: seed(10) }) }));
    expect(Math.abs(m.mean)).toBeLessThanOrEqual(0.01);
    expect(Math.abs(m.variance - 1)).toBeLessThanOrEqual(0.01);
    expect(Math.abs(m.kurtosis - 3)).toBeLessThanOrEqual(0.1);
  });

  it('tail beyond the Ziggurat base (|x| > R): rate and conditional distribution', () => {
    const n = 4_000_000;
    const x = gaussianNoise(n, 1, { rng: createRng({ seed: seed(11) }) });
    const tail = Array.from(x).filter((v) => Math.abs(v) > NORMAL_R).map(Math.abs);
    const p = 2 * normalCdf(-NORMAL_R);
    // binomial count within 5 standard deviations (alpha ~ 6e-7)
    expect(Math.abs(tail.length - n * p)).toBeLessThan(5 * Math.sqrt(n * p));
    const tailCdf = (v: number) => (normalCdf(v) - normalCdf(NORMAL_R)) / normalCdf(-NORMAL_R);
    expect(ksStatistic(tail, tailCdf)).toBeLessThan(ksCritical(tail.length));
  });

  it('is reproducible from a seed and differs across seeds and default generators', () => {
    const a = gaussianNoise(1000, 1, { rng: createRng({ seed: seed(1) }) });
    expect(gaussianNoise(1000, 1, { rng: createRng({ seed: seed(1) }) })).toEqual(a);
    expect(gaussianNoise(1000, 1, { rng: createRng({ seed: seed(2) }) })).not.toEqual(a);
    expect(gaussianNoise(1000, 1)).not.toEqual(gaussianNoise(1000, 1));
    expect(gaussianNoise(0, 1)).toEqual(new Float64Array(0));
  });

  it('splitting a stream into calls keeps it a valid sample (chunks and calls do not repeat values)', () => {
    const rng = createRng({ seed: seed(3) });
    const parts = [gaussianNoise(5, 1, { rng }), gaussianNoise(300_001, 1, { rng }), gaussianNoise(7, 1, { rng })];
    const all = Float64Array.from(parts.flatMap((p) => Array.from(p)));
    expect(new Set(all).size).toBe(all.length);
    expect(ksStatistic(all, normalCdf)).toBeLessThan(ksCritical(all.length));
  });
});

describe('laplaceNoise', () => {
  for (const dtype of ['float64', 'float32'] as const) {
    for (const [k, b] of [[4, 1], [5, 0.1], [6, 77]] as const) {
      it(`KS against the Laplace CDF: ${dtype}, scale=${b}`, () => {
        const x = laplaceNoise(N_KS, b, { rng: createRng({ seed: seed(k) }), dtype });
        expect(x).toBeInstanceOf(dtype === 'float64' ? Float64Array : Float32Array);
        expect(ksStatistic(x, (v) => laplaceCdf(v, b))).toBeLessThan(ksCritical(N_KS));
      });
    }
  }

  it('moments at 10^6 samples (scale = 1): variance 2 +- 0.02, kurtosis 6 +- 0.3', () => {
    const m = moments(laplaceNoise(1_000_000, 1, { rng: createRng({ seed: seed(12) }) }));
    expect(Math.abs(m.mean)).toBeLessThanOrEqual(0.01);
    expect(Math.abs(m.variance - 2)).toBeLessThanOrEqual(0.02);
    expect(Math.abs(m.kurtosis - 6)).toBeLessThanOrEqual(0.3);
  });

  it('tail beyond the exponential Ziggurat base (|x| > R): rate and shape', () => {
    const n = 2_000_000;
    const x = laplaceNoise(n, 1, { rng: createRng({ seed: seed(13) }), dtype: 'float32' });
    const tail = Array.from(x).filter((v) => Math.abs(v) > EXP_R).map((v) => Math.abs(v) - EXP_R);
    const p = Math.exp(-EXP_R);
    expect(Math.abs(tail.length - n * p)).toBeLessThan(5 * Math.sqrt(n * p));
    expect(ksStatistic(tail, (v) => 1 - Math.exp(-v))).toBeLessThan(ksCritical(tail.length));
  });
});

describe('addGaussianNoise / addLaplaceNoise (in place)', () => {
  it('adds N(0, sigma^2) to a Float32Array in place and returns it', () => {
    const x = new Float32Array(1_000_000).fill(5);
    const y = addGaussianNoise(x, 2, { rng: createRng({ seed: seed(20) }) });
    expect(y).toBe(x);
    expect(x.length).toBe(1_000_000);
    const m = moments(x);
    expect(Math.abs(m.mean - 5)).toBeLessThan(0.02);
    expect(Math.abs(m.variance - 4)).toBeLessThan(0.04);
    expect(ksStatistic(x.subarray(0, N_KS), (v) => normalCdf(v - 5, 2))).toBeLessThan(ksCritical(N_KS));
  });

  it('adds noise to a Float64Array with varied content (noise independent of x)', () => {
    const x = Float64Array.from({ length: 300_000 }, (_, i) => (i % 17) - 8);
    const before = x.slice();
    addGaussianNoise(x, 0.5, { rng: createRng({ seed: seed(21) }) });
    const diff = x.map((v, i) => v - before[i]!);
    expect(ksStatistic(diff, (v) => normalCdf(v, 0.5))).toBeLessThan(ksCritical(diff.length));
  });

  it('addLaplaceNoise: variance 2 b^2 and the Laplace CDF, float32 and float64', () => {
    const x = new Float32Array(1_000_000);
    expect(addLaplaceNoise(x, 3, { rng: createRng({ seed: seed(22) }) })).toBe(x);
    expect(Math.abs(moments(x).variance / 18 - 1)).toBeLessThan(0.01);
    const y = new Float64Array(N_KS).fill(-1);
    addLaplaceNoise(y, 0.5, { rng: createRng({ seed: seed(23) }) });
    expect(ksStatistic(y, (v) => laplaceCdf(v + 1, 0.5))).toBeLessThan(ksCritical(N_KS));
  });

  it('uses the thread CSPRNG by default', () => {
    const a = addGaussianNoise(new Float64Array(100), 1);
    const b = addGaussianNoise(new Float64Array(100), 1);
    expect(a).not.toEqual(b);
  });
});

describe('errors', () => {
  const code = (c: string, argument?: string, index?: number) =>
    expect.objectContaining({ code: c, ...(argument === undefined ? {} : { argument }), ...(index === undefined ? {} : { index }) });

  it('rejects bad lengths, scales, dtypes and options', () => {
    for (const fn of [gaussianNoise, laplaceNoise]) {
      const name = fn === gaussianNoise ? 'sigma' : 'scale';
      for (const length of [-1, 1.5, Number.NaN, 2 ** 28 + 1, 2 ** 31, '3' as unknown as number]) expect(() => fn(length, 1)).toThrow(code('E_ARG', 'length'));
      for (const s of [0, -1, Number.NaN, Infinity, -Infinity, '1' as unknown as number]) expect(() => fn(3, s)).toThrow(code('E_ARG', name));
      expect(() => fn(3, 1, { dtype: 'int8' as 'float32' })).toThrow(code('E_ARG', 'opts.dtype'));
      expect(fn(3, 1, null as unknown as {}).length).toBe(3); // null options are no options
      expect(() => fn(3, 1, 5 as unknown as {})).toThrow(code('E_ARG', 'opts'));
      expect(() => fn(3, 1, { rng: {} as never })).toThrow(code('E_ARG', 'opts.rng'));
      expect(() => fn(3, 1e300, { dtype: 'float32' })).toThrow(code('E_OVERFLOW', name));
    }
  });

  it('rejects bad arrays, non-finite elements (with their index) and overflowing results', () => {
    for (const add of [addGaussianNoise, addLaplaceNoise]) {
      const name = add === addGaussianNoise ? 'sigma' : 'scale';
      for (const x of [new Int32Array(3), [1, 2, 3], null, undefined]) expect(() => add(x as unknown as Float32Array, 1)).toThrow(code('E_ARG', 'x'));
      for (const s of [0, -2, Number.NaN, Infinity]) expect(() => add(new Float32Array(3), s)).toThrow(code('E_ARG', name));
      expect(() => add(new Float32Array(3), 1, { rng: 42 as never })).toThrow(code('E_ARG', 'opts.rng'));
      for (const bad of [Number.NaN, Infinity, -Infinity]) {
        const x32 = new Float32Array(10);
        x32[7] = bad;
        expect(() => add(x32, 1)).toThrow(code('E_NONFINITE', 'x', 7));
        const x64 = new Float64Array(400_000); // the bad element lies in the second chunk
        x64[300_001] = bad;
        expect(() => add(x64, 1)).toThrow(code('E_NONFINITE', 'x', 300_001));
      }
      const big = new Float32Array([0, 3e38]);
      expect(() => add(big, 1e300)).toThrow(code('E_OVERFLOW', 'x', 0));
    }
  });
});
