// Noise is never reused and never half-written: a failed in-place noise call leaves x unchanged, and
// the generator moves past whatever a failed call drew, on the main thread (seeded generators make
// the streams comparable) and in the pool's workers (the same code, observed through its effects).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PrivkitError, ready } from 'privkit';
import { addGaussianNoise, addLaplaceNoise, createRng, secureGaussian } from 'privkit/dp';
import { createPool, sharedFloat32Array, type Pool } from 'privkit/pool';
import type { Rng as EngineRng } from '../../dist/src/dp/rng.js';
import { dpWasm } from '../../dist/src/dp/wasm.js';

const CHUNK = 2 ** 18; // float32 values per 1 MiB staging window
const FLOAT32_MAX = 3.4028234663852886e38;
const seeded = (k: number) => createRng({ seed: new Uint8Array(32).fill(k) });

let pool: Pool;
beforeAll(async () => {
  await ready();
  pool = await createPool({ threads: 2 });
});
afterAll(async () => {
  await pool.close();
});

/** CHUNK + 64 float32 zeros whose last 64 values are the largest float32: sigma 1e36 noise overflows there. */
function overflowing(make: (n: number) => Float32Array = (n) => new Float32Array(n)): Float32Array {
  const x = make(CHUNK + 64);
  x.fill(FLOAT32_MAX, CHUNK);
  return x;
}

const codeOf = async (call: () => unknown) => {
  try {
    await call();
  } catch (error) {
    expect(error).toBeInstanceOf(PrivkitError);
    return (error as PrivkitError).code;
  }
  return 'no error';
};

/** How many values of a and b coincide exactly (independent continuous noise: none). */
function coincidences(a: Float32Array | Float64Array, b: Float32Array | Float64Array): number {
  let same = 0;
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] === b[i]) same++;
  return same;
}

describe('in-place noise on the main thread', () => {
  it("the audit's case: NaN in the last of 2^18 + 1 floats fails before any noise is written", () => {
    for (const add of [addGaussianNoise, addLaplaceNoise]) {
      const x = new Float32Array(CHUNK + 1);
      x[CHUNK] = Number.NaN;
      expect(() => add(x, 1, { rng: seeded(1) })).toThrow(expect.objectContaining({ code: 'E_NONFINITE', argument: 'x', index: CHUNK }));
      expect(coincidences(x, new Float32Array(CHUNK))).toBe(CHUNK); // untouched
    }
  });

  it('an overflow after noise was drawn leaves x unchanged, and the next call draws fresh noise', () => {
    for (const add of [addGaussianNoise, addLaplaceNoise]) {
      const rng = seeded(2);
      const x = overflowing();
      const before = x.slice();
      expect(() => add(x, 1e36, { rng })).toThrow(expect.objectContaining({ code: 'E_OVERFLOW', argument: 'x' }));
      expect(coincidences(x, before)).toBe(x.length);
      // Were the generator's state not kept after the failure, y would get the noise the failed call drew.
      const y = add(new Float32Array(CHUNK), 1, { rng });
      const replay = add(new Float32Array(CHUNK), 1, { rng: seeded(2) });
      expect(coincidences(y, replay)).toBe(0);
    }
  });

  it('the generator keeps its advanced state when the body of withGenerator throws', () => {
    const rng = seeded(3) as unknown as EngineRng; // the type the engine's dpWasm is declared with (dist/)
    expect(() =>
      rng.withGenerator(dpWasm, (kernels, g, arena) => {
        kernels.chachaBytes(g, arena.alloc(1024), 1024);
        throw new Error('fails after drawing');
      }),
    ).toThrow('fails after drawing');
    const fresh = seeded(3);
    const skipped = fresh.bytes(1024);
    expect(rng.bytes(64)).toEqual(fresh.bytes(64));
    expect(skipped.length).toBe(1024);
  });

  it('secure noise: a value out of range in a later chunk does not rewind the generator', () => {
    const rng = seeded(4);
    const values = new Float64Array(2 ** 17 + 1);
    values[2 ** 17] = 2 ** 80; // beyond 2^52 x resolution at sigma 1
    expect(() => secureGaussian(values, 1, { rng })).toThrow(expect.objectContaining({ code: 'E_ARG', argument: 'values', index: 2 ** 17 }));
    const next = secureGaussian(new Float64Array(2 ** 17), 1, { rng }).values;
    const replay = secureGaussian(new Float64Array(2 ** 17), 1, { rng: seeded(4) }).values;
    // lattice noise takes few values: compare whole streams rather than single values
    expect(coincidences(next, replay)).toBeLessThan(2 ** 17 * 0.01);
  });

  it('huge values are noised through a copy and still come out right', () => {
    const x = Float32Array.of(FLOAT32_MAX, -FLOAT32_MAX, 0);
    addGaussianNoise(x, 1e20, { rng: seeded(5) });
    expect(x[0]).toBe(FLOAT32_MAX); // 1e20 noise is below half an ulp of the largest float32
    expect(x[1]).toBe(-FLOAT32_MAX);
    expect(x[2]).not.toBe(0);
  });
});

describe('in-place noise in the pool', () => {
  const makers = [
    ['plain', (n: number) => new Float32Array(n)],
    ['shared', (n: number) => sharedFloat32Array(n)],
  ] as const;

  for (const [label, make] of makers) {
    it(`${label} x: NaN in the second worker's part or an overflow leaves x unchanged`, async () => {
      for (const add of [pool.addGaussianNoise, pool.addLaplaceNoise]) {
        const x = make(2 * CHUNK + 1);
        x[2 * CHUNK] = Number.NaN;
        const error = await add.call(pool, x, 1).catch((e: unknown) => e);
        expect(error).toMatchObject({ code: 'E_NONFINITE', argument: 'x', index: 2 * CHUNK });
        expect(coincidences(x, new Float32Array(2 * CHUNK))).toBe(2 * CHUNK);

        const y = overflowing(make);
        const before = y.slice();
        expect(await codeOf(() => add.call(pool, y, 1e36))).toBe('E_OVERFLOW');
        expect(coincidences(y, before)).toBe(y.length);
      }
    });
  }

  it("the audit's pool case: a worker that fails in its last chunk neither writes its earlier chunks nor replays their noise", async () => {
    // the second worker's part spans two staging windows and overflows only in the second
    const n = 2 * (CHUNK + 64);
    const x = sharedFloat32Array(n);
    x.fill(FLOAT32_MAX, n - 64);
    expect(await codeOf(() => pool.addGaussianNoise(x, 1e36))).toBe('E_OVERFLOW');
    const y = await pool.addGaussianNoise(sharedFloat32Array(n), 1e36);
    const secondPart = (a: Float32Array) => a.subarray(n / 2, n - 64);
    expect(coincidences(secondPart(x), new Float32Array(n / 2 - 64))).toBe(n / 2 - 64); // x untouched
    // No noise repeats between y and a fresh draw (exact zeros aside: the float32 sampler can return 0
    // with probability ~2^-24 per value, which is a coincidence of nothing). Two independent float32
    // draws at sigma 1e36 are equal with probability ~2e-8 each (one ulp, 2^96, over sigma), so about
    // 0.01 of the 524,416 positions coincide by chance (it happened: one in a run); replayed noise would
    // repeat a whole window (262,144 values). At most 4 chance repeats: P(>= 5) ~ 1e-12.
    const fresh = await pool.gaussianNoise(n, 1e36, { dtype: 'float32' });
    const repeats = Array.from(y).filter((v, i) => v !== 0 && v === fresh[i]).length;
    expect(repeats).toBeLessThanOrEqual(4);
  });
});
