// Pooled noise samplers in Node: per-worker CSPRNG streams (unseedable, so the statistical bounds are
// wide: 6+ standard deviations), dtypes, in-place addition on shared and plain arrays, argument
// errors identical to the sync API, worker errors mapped to the caller's indexes, crash recovery.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PrivkitError, ready } from 'privkit';
import { addGaussianNoise, addLaplaceNoise, gaussianNoise, laplaceNoise } from 'privkit/dp';
import { createPool, sharedFloat32Array, sharedFloat64Array, type Pool } from 'privkit/pool';
import { ksCritical, ksStatistic, laplaceCdf, moments, normalCdf } from '../support/noise-stats.js';

const N = 1_000_000;

let pool: Pool;
beforeAll(async () => {
  await ready();
  pool = await createPool({ threads: 2 });
});
afterAll(async () => {
  await pool.close();
});

/** The two workers' parts of an array split by elements. */
const halves = (x: Float32Array | Float64Array) => [x.subarray(0, x.length / 2), x.subarray(x.length / 2)];

function correlation(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const ma = moments(a);
  const mb = moments(b);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i]! - ma.mean) * (b[i]! - mb.mean);
  return s / a.length / Math.sqrt(ma.variance * mb.variance);
}

describe('pool.gaussianNoise / pool.laplaceNoise', () => {
  it('Gaussian: float64 by default, on shared memory, variance 1 +- 0.01 at 10^6 samples, each half N(0, 1)', async () => {
    const x = await pool.gaussianNoise(N, 1);
    expect(x).toBeInstanceOf(Float64Array);
    expect(x.length).toBe(N);
    expect(x.buffer).toBeInstanceOf(SharedArrayBuffer);
    const m = moments(x);
    expect(Math.abs(m.mean)).toBeLessThanOrEqual(0.01);
    expect(Math.abs(m.variance - 1)).toBeLessThanOrEqual(0.01);
    for (const half of halves(x)) {
      expect(Math.abs(moments(half).variance - 1)).toBeLessThanOrEqual(0.015);
      expect(ksStatistic(half.subarray(0, 200_000), normalCdf)).toBeLessThan(ksCritical(200_000));
    }
  });

  it('the workers draw independent streams: the halves are uncorrelated, and calls differ', async () => {
    const x = await pool.gaussianNoise(N, 1, { dtype: 'float32' });
    const [a, b] = halves(x);
    expect(a).not.toEqual(b);
    expect(Math.abs(correlation(a!, b!))).toBeLessThan(0.01);
    expect(await pool.gaussianNoise(1000, 1)).not.toEqual(await pool.gaussianNoise(1000, 1));
  });

  it('float32 dtype and sigma scaling', async () => {
    const x = await pool.gaussianNoise(N, 3, { dtype: 'float32' });
    expect(x).toBeInstanceOf(Float32Array);
    expect(x.length).toBe(N);
    expect(Math.abs(moments(x).variance / 9 - 1)).toBeLessThanOrEqual(0.01);
  });

  it('Laplace: variance 2 b^2 within 1.5%, each half against the Laplace CDF, both dtypes', async () => {
    for (const dtype of ['float64', 'float32'] as const) {
      const x = await pool.laplaceNoise(N, 2, { dtype });
      expect(x).toBeInstanceOf(dtype === 'float64' ? Float64Array : Float32Array);
      expect(x.length).toBe(N);
      expect(Math.abs(moments(x).variance / 8 - 1)).toBeLessThanOrEqual(0.015);
      for (const half of halves(x)) expect(ksStatistic(half.subarray(0, 100_000), (v) => laplaceCdf(v, 2))).toBeLessThan(ksCritical(100_000));
    }
  });

  it('handles lengths 0 and 1 (fewer elements than workers)', async () => {
    expect(await pool.gaussianNoise(0, 1)).toEqual(new Float64Array(0));
    const one = await pool.laplaceNoise(1, 1, { dtype: 'float32' });
    expect(one.length).toBe(1);
    expect(Number.isFinite(one[0]!)).toBe(true);
  });
});

describe('pool.addGaussianNoise / pool.addLaplaceNoise (in place)', () => {
  const inputs = [
    ['shared Float32Array', () => sharedFloat32Array(N).fill(5)],
    ['plain Float32Array', () => new Float32Array(N).fill(5)],
    ['shared Float64Array', () => sharedFloat64Array(N).fill(5)],
    ['plain Float64Array', () => new Float64Array(N).fill(5)],
  ] as const;
  for (const [label, make] of inputs) {
    it(`adds N(0, sigma^2) to a ${label} and resolves to it`, async () => {
      const x = make();
      expect(await pool.addGaussianNoise(x, 2)).toBe(x);
      expect(x.length).toBe(N);
      const m = moments(x);
      expect(Math.abs(m.mean - 5)).toBeLessThan(0.02);
      expect(Math.abs(m.variance / 4 - 1)).toBeLessThanOrEqual(0.01);
      const [a, b] = halves(x);
      for (const half of [a!, b!]) expect(Math.abs(moments(half).variance / 4 - 1)).toBeLessThanOrEqual(0.015);
      expect(Math.abs(correlation(a!, b!))).toBeLessThan(0.01);
    });
  }

  it('adds Laplace(0, scale) noise to shared and plain arrays', async () => {
    for (const [, make] of inputs) {
      const x = make();
      expect(await pool.addLaplaceNoise(x, 0.5)).toBe(x);
      expect(Math.abs(moments(x).variance / 0.5 - 1)).toBeLessThanOrEqual(0.015);
      expect(ksStatistic(x.subarray(N - 100_000), (v) => laplaceCdf(v - 5, 0.5))).toBeLessThan(ksCritical(100_000));
    }
  });

  it('noise does not depend on x (varied content)', async () => {
    const x = Float64Array.from({ length: 400_000 }, (_, i) => (i % 17) - 8);
    const before = x.slice();
    await pool.addGaussianNoise(x, 0.5);
    const diff = x.map((v, i) => v - before[i]!);
    expect(ksStatistic(diff, (v) => normalCdf(v, 0.5))).toBeLessThan(ksCritical(diff.length));
  });
});

describe('pool noise errors', () => {
  /** The code and argument of the sync function's error for the same arguments. */
  const syncError = (fn: () => unknown) => {
    try {
      fn();
    } catch (e) {
      const { code, argument } = e as PrivkitError;
      return { code, argument };
    }
    throw new Error('the sync call did not throw');
  };

  it('validates arguments on the main thread exactly as the sync functions do', async () => {
    const fills = [
      [gaussianNoise, (...a: Parameters<typeof pool.gaussianNoise>) => pool.gaussianNoise(...a)],
      [laplaceNoise, (...a: Parameters<typeof pool.laplaceNoise>) => pool.laplaceNoise(...a)],
    ] as const;
    const badFills: [number, number, object?][] = [
      [-1, 1], [1.5, 1], [Number.NaN, 1], [2 ** 31, 1], ['3' as unknown as number, 1],
      [3, 0], [3, -1], [3, Number.NaN], [3, Infinity], [3, '1' as unknown as number], [-1, 0],
      [3, 1, { dtype: 'int8' }], [3, 1, 5 as unknown as object],
    ];
    for (const [sync, pooled] of fills) {
      for (const [length, scale, opts] of badFills) {
        const expected = syncError(() => sync(length, scale, opts as {}));
        await expect(pooled(length, scale, opts as {})).rejects.toMatchObject(expected);
      }
    }
    const adds = [
      [addGaussianNoise, (x: Float32Array, s: number) => pool.addGaussianNoise(x, s)],
      [addLaplaceNoise, (x: Float32Array, s: number) => pool.addLaplaceNoise(x, s)],
    ] as const;
    const badAdds: [unknown, number][] = [
      [new Int32Array(3), 1], [[1, 2, 3], 1], [null, 1], [undefined, 1],
      [new Float32Array(3), 0], [new Float64Array(3), -2], [new Float32Array(3), Number.NaN], [new Float32Array(3), Infinity], [null, 0],
    ];
    for (const [sync, pooled] of adds) {
      for (const [x, scale] of badAdds) {
        const expected = syncError(() => sync(x as Float32Array, scale));
        await expect(pooled(x as Float32Array, scale)).rejects.toMatchObject(expected);
      }
    }
  });

  it('refuses an rng (it can not cross threads) rather than ignoring it', async () => {
    const opts = { rng: {} } as unknown as {};
    await expect(pool.gaussianNoise(3, 1, opts)).rejects.toMatchObject({ code: 'E_ARG', argument: 'opts.rng' });
    await expect(pool.laplaceNoise(3, 1, opts)).rejects.toMatchObject({ code: 'E_ARG', argument: 'opts.rng' });
  });

  it('reports a non-finite element at its index in the caller array (second worker part), shared and plain', async () => {
    for (const make of [
      (n: number) => new Float32Array(n),
      (n: number) => new Float64Array(n),
      (n: number) => sharedFloat32Array(n),
      (n: number) => sharedFloat64Array(n),
    ]) {
      for (const add of [pool.addGaussianNoise, pool.addLaplaceNoise]) {
        const x = make(1000);
        x[873] = Number.NaN;
        const error = await add.call(pool, x, 1).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(PrivkitError);
        expect(error).toMatchObject({ code: 'E_NONFINITE', argument: 'x', index: 873 });
        expect((error as Error).message).toContain('x[873]');
      }
    }
  });

  it('reports overflow as the sync functions do', async () => {
    await expect(pool.gaussianNoise(10, 1e300, { dtype: 'float32' })).rejects.toMatchObject({ code: 'E_OVERFLOW', argument: 'sigma' });
    await expect(pool.laplaceNoise(10, 1e300, { dtype: 'float32' })).rejects.toMatchObject({ code: 'E_OVERFLOW', argument: 'scale' });
    await expect(pool.addGaussianNoise(new Float32Array([0, 3e38]), 1e300)).rejects.toMatchObject({ code: 'E_OVERFLOW', argument: 'x', index: 0 });
  });

  it('rejects the call of a crashed worker, replaces it, and keeps sampling', async () => {
    const own = await createPool({ threads: 2 });
    try {
      const slots = (own as unknown as { slots: { spawned: { raw: { terminate(): Promise<number> } } }[] }).slots;
      const pending = own.addGaussianNoise(sharedFloat32Array(4_000_000), 1);
      void slots[1]!.spawned.raw.terminate();
      await expect(pending).rejects.toMatchObject({ code: 'E_WORKER' });
      const x = await own.gaussianNoise(200_000, 1);
      expect(Math.abs(moments(x).variance - 1)).toBeLessThan(0.03);
      const [a, b] = halves(x);
      expect(a).not.toEqual(b);
    } finally {
      await own.close();
    }
  });
});
