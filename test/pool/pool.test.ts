// The worker pool in Node: same answers as the sync kernels, zero-copy shared inputs and copied
// plain inputs, errors mapped back to the caller's indexes, crash recovery and close().
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clipAndSum, clipByL2, clipPerLayer, clipValues, l2Norms, mean, PrivkitError, ready, sum, weightedMean } from 'privkit';
import { createPool, MAX_POOL_THREADS, Pool as PoolClass, sharedFloat32Array, type Pool } from 'privkit/pool';
import { MAX_PRECOMPUTE, PublicKey } from 'privkit/paillier';

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

  it('clipAndSum: a total that leaves float32 is E_OVERFLOW, as in the sync kernel, though every part is finite', async () => {
    const x = Float32Array.of(1e38, 1e38, 1e38, 1e38); // parts 2e38 each (finite), total 4e38 (> 3.4e38)
    expect(() => clipAndSum(x, 4, 1e38)).toThrow(expect.objectContaining({ code: 'E_OVERFLOW' }));
    await expect(pool.clipAndSum(x, 4, 1e38)).rejects.toMatchObject({ code: 'E_OVERFLOW' });
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

describe('robustness', () => {
  /** A microtask, a macrotask, or a few milliseconds: the points at which close() races the calls. */
  const delays: Array<[string, () => Promise<void>]> = [
    ['in the same tick', async () => {}],
    ['one microtask later', () => Promise.resolve()],
    ['one macrotask later', () => new Promise((resolve) => setTimeout(resolve, 0))],
    ['3 ms later', () => new Promise((resolve) => setTimeout(resolve, 3))],
  ];

  it('calls racing close() resolve correctly or reject with PrivkitError E_WORKER, never a raw error', async () => {
    const x = matrix(6 * 5000, 4);
    for (const [when, wait] of delays) {
      const own = await createPool({ threads: 2 });
      const calls = Promise.allSettled([
        own.l2Norms(x, 6).then((norms) => expect(norms).toEqual(l2Norms(x, 6))),
        own.sum(x, 6),
        own.gaussianNoise(10_000, 1),
        own.clipValues(x, -0.5, 0.5),
      ]);
      if (when !== 'in the same tick') await wait();
      const closing = own.close();
      const later = Promise.allSettled([own.sum(x, 6), own.l2Norms(x, 6)]); // after close(): E_WORKER
      await closing;
      for (const outcome of [...(await calls), ...(await later)]) {
        if (outcome.status === 'fulfilled') continue;
        expect(outcome.reason, `${when}: ${String(outcome.reason)}`).toBeInstanceOf(PrivkitError);
        expect((outcome.reason as PrivkitError).code, when).toBe('E_WORKER');
      }
      for (const outcome of await later) expect(outcome.status, when).toBe('rejected');
    }
  });

  it('options are read before the input is checked: an input shrunk from an options getter gives the result on the shrunk input', async () => {
    for (const call of ['clipByL2', 'clipValues', 'clipAndSum'] as const) {
      const buffer = new (ArrayBuffer as unknown as new (n: number, o: { maxByteLength: number }) => ArrayBuffer & { resize(n: number): void })(64, {
        maxByteLength: 64,
      });
      const x = new Float32Array(buffer);
      x.set(matrix(16, 3, 4));
      const shrink = () => (buffer.resize(32), undefined);
      const run = {
        clipByL2: () => pool.clipByL2(x, 2, 1, Object.defineProperty({}, 'out', { get: shrink })),
        clipValues: () => pool.clipValues(x, -1, 1, Object.defineProperty({}, 'inPlace', { get: shrink })),
        clipAndSum: () => pool.clipAndSum(x, 2, 1, Object.defineProperty({}, 'layerSizes', { get: shrink })),
      }[call];
      const outcome = await run().then(
        (value) => ({ value }),
        (error: unknown) => ({ error }),
      );
      const shrunk = new Float32Array(buffer.slice(0));
      const expected = { clipByL2: () => clipByL2(shrunk, 2, 1), clipValues: () => clipValues(shrunk, -1, 1), clipAndSum: () => clipAndSum(shrunk, 2, 1) }[call]();
      // the options are read before x is checked, so the call runs on the shrunk x
      expect('error' in outcome ? String(outcome.error) : 'a result', call).toBe('a result');
      if ('error' in outcome) continue;
      if (call === 'clipAndSum') expect((outcome.value as ReturnType<typeof clipAndSum>).norms, call).toEqual((expected as ReturnType<typeof clipAndSum>).norms);
      else expect(outcome.value, call).toEqual(expected);
    }
  });

  it('threads has a maximum (MAX_POOL_THREADS, E_ARG): 2^31 is refused at once, not spawned', async () => {
    expect(MAX_POOL_THREADS).toBe(256);
    await expect(createPool({ threads: 2 ** 31 })).rejects.toMatchObject({ code: 'E_ARG', argument: 'threads' });
    await expect(createPool({ threads: MAX_POOL_THREADS + 1 })).rejects.toMatchObject({ code: 'E_ARG', argument: 'threads' });
    expect(() => new PoolClass(MAX_POOL_THREADS + 1)).toThrow(expect.objectContaining({ code: 'E_ARG', argument: 'threads' }));
  });

  it('precomputeInPool bounds count (MAX_PRECOMPUTE, E_ARG) and the pool keeps serving', async () => {
    const key = new PublicKey((2n ** 127n - 1n) * (2n ** 61n - 1n), { allowInsecureTestKeys: true }); // a small test modulus
    await expect(key.precomputeInPool(pool, 2 ** 31)).rejects.toMatchObject({ code: 'E_ARG', argument: 'count' });
    await expect(key.precomputeInPool(pool, MAX_PRECOMPUTE + 1)).rejects.toMatchObject({ code: 'E_ARG', argument: 'count' });
    await key.precomputeInPool(pool, 3);
    expect(key.precomputedCount).toBe(3);
  });
});
