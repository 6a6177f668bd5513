// The worker pool in Node: same answers as the sync kernels, zero-copy shared inputs and copied
// plain inputs, errors mapped back to the caller's indexes, crash recovery and close().
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clipAndSum, clipByL2, clipPerLayer, clipValues, l2Norms, mean, PrivkitError, ready, sum, weightedMean } from 'privkit';
import { createPool, sharedFloat32Array, type Pool } from 'privkit/pool';

/** Deterministic test data (xorshift32), values in [-scale, scale). */
function matrix(length: number, seed: number, scale = 1): Float32Array {
  const out = new Float32Array(length);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = ((s >>> 0) / 2 ** 32 - 0.5) * 2 * scale;
  }
  return out;
}

function expectClose(actual: Float32Array, expected: Float32Array, tolerance = 1e-5): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < actual.length; i++) {
    expect(Math.abs(actual[i]! - expected[i]!)).toBeLessThanOrEqual(tolerance * (1 + Math.abs(expected[i]!)));
  }
}

let pool: Pool;
beforeAll(async () => {
  await ready();
  pool = await createPool({ threads: 2 });
});
afterAll(async () => {
  await pool.close();
});

describe('pool results equal the sync kernels', () => {
  const rows = 9;
  const cols = 1003;
  for (const [label, make] of [
    ['shared input', () => {
      const x = sharedFloat32Array(rows * cols);
      x.set(matrix(rows * cols, 7, 3));
      return x;
    }],
    ['plain input', () => matrix(rows * cols, 7, 3)],
  ] as const) {
    it(`with a ${label}`, async () => {
      const x = make();
      expect(await pool.l2Norms(x, rows)).toEqual(l2Norms(x, rows));
      expect(await pool.clipByL2(x, rows, 20)).toEqual(clipByL2(x, rows, 20));
      expect(await pool.clipPerLayer(x, rows, [3, 1000], [0.5, 20])).toEqual(clipPerLayer(x, rows, [3, 1000], [0.5, 20]));
      expect(await pool.clipValues(x, -1, 0.5)).toEqual(clipValues(x, -1, 0.5));
      const pooled = await pool.clipAndSum(x, rows, 20);
      const direct = clipAndSum(x, rows, 20);
      expect(pooled.norms).toEqual(direct.norms);
      expect(pooled.clippedCount).toBe(direct.clippedCount);
      expect(pooled.clippedCount).toBeGreaterThan(0);
      expectClose(pooled.sum, direct.sum);
      expect(await pool.clipAndSum(new Float32Array(0), 0, 20, { columns: cols })).toEqual(clipAndSum(new Float32Array(0), 0, 20, { columns: cols }));
      expectClose(await pool.sum(x, rows), sum(x, rows));
      expectClose(await pool.mean(x, rows), mean(x, rows));
      const weights = Array.from({ length: rows }, (_, r) => r + 1);
      expectClose(await pool.weightedMean(x, rows, weights), weightedMean(x, rows, weights));
    });
  }

  it('handles more workers than rows and a single row', async () => {
    const x = matrix(17, 3);
    expect(await pool.l2Norms(x, 1)).toEqual(l2Norms(x, 1));
    expectClose((await pool.clipAndSum(x, 1, 0.1)).sum, clipAndSum(x, 1, 0.1).sum);
  });

  it('writes in place and into `out`', async () => {
    const plain = matrix(4 * 50, 11, 2);
    const expected = clipByL2(plain, 4, 1);
    const inPlace = plain.slice();
    expect(await pool.clipByL2(inPlace, 4, 1, { inPlace: true })).toBe(inPlace);
    expect(inPlace).toEqual(expected);
    const shared = sharedFloat32Array(plain.length);
    shared.set(plain);
    expect(await pool.clipByL2(shared, 4, 1, { inPlace: true })).toBe(shared);
    expect(shared).toEqual(expected);
    const out = new Float32Array(plain.length);
    expect(await pool.clipValues(plain, 0, 0.5, { out })).toBe(out);
    expect(out).toEqual(clipValues(plain, 0, 0.5));
  });

  it('serves concurrent calls', async () => {
    const inputs = Array.from({ length: 8 }, (_, i) => matrix(6 * 64, 100 + i));
    const results = await Promise.all(inputs.map((x) => pool.l2Norms(x, 6)));
    results.forEach((norms, i) => expect(norms).toEqual(l2Norms(inputs[i]!, 6)));
  });
});

describe('pool errors', () => {
  it('reports a non-finite value at its index in the caller array', async () => {
    const x = matrix(10 * 100, 5);
    x[873] = Number.NaN; // in the second worker's part (rows 5..9)
    const error = await pool.clipAndSum(x, 10, 1).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PrivkitError);
    expect(error).toMatchObject({ code: 'E_NONFINITE', argument: 'x', index: 873 });
    expect((error as Error).message).toContain('x[873]');
  });

  it('validates arguments before dispatch', async () => {
    const x = matrix(12, 1);
    await expect(pool.clipByL2(x, 5, 1)).rejects.toMatchObject({ code: 'E_SHAPE', argument: 'rows' });
    await expect(pool.clipAndSum(x, 3, -1)).rejects.toMatchObject({ code: 'E_ARG', argument: 'maxNorm' });
    await expect(pool.weightedMean(x, 3, [0, 0, 0])).rejects.toMatchObject({ code: 'E_ARG', argument: 'weights' });
    await expect(pool.clipValues(x, 1, 0)).rejects.toMatchObject({ code: 'E_ARG', argument: 'min' });
    await expect(pool.l2Norms([1, 2] as unknown as Float32Array, 1)).rejects.toMatchObject({ code: 'E_ARG', argument: 'x' });
    await expect(createPool({ threads: 0 })).rejects.toMatchObject({ code: 'E_ARG', argument: 'threads' });
  });

  it('reports float32 overflow of a pooled sum', async () => {
    const x = new Float32Array([3e38, 3e38]);
    await expect(pool.sum(x, 2)).rejects.toMatchObject({ code: 'E_OVERFLOW' });
  });

  it('rejects the call of a crashed worker, replaces it, and keeps serving', async () => {
    const own = await createPool({ threads: 2 });
    try {
      const x = matrix(4 * 1000, 9);
      const slots = (own as unknown as { slots: { spawned: { raw: { terminate(): Promise<number> } } }[] }).slots;
      const pending = own.l2Norms(x, 4);
      void slots[1]!.spawned.raw.terminate();
      await expect(pending).rejects.toMatchObject({ code: 'E_WORKER' });
      expect(await own.l2Norms(x, 4)).toEqual(l2Norms(x, 4));
    } finally {
      await own.close();
    }
  });

  it('rejects calls after close()', async () => {
    const own = await createPool({ threads: 1 });
    await own.close();
    await expect(own.sum(matrix(4, 1), 2)).rejects.toMatchObject({ code: 'E_WORKER' });
  });
});
