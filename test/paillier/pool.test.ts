// Pool-parallel packed vectors: pooled encryption and decryption interoperate with the sync path
// (round trips both ways, sums mixing pooled and sync vectors), lengths around the slot count,
// and the sync checks plus the pool's own (no rng, foreign ciphertexts); key generation on the pool.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRng } from 'privkit/dp';
import { generateKeyPair, packingLayout, ready, type EncryptedVector, type KeyPair } from 'privkit/paillier';
import { createPool, type Pool } from 'privkit/pool';

let small: KeyPair; // 512-bit n
let medium: KeyPair; // 1024-bit n
let pool: Pool;
const opts = { scale: 2 ** 16, clip: 4, maxAdditions: 4 };

const seededRng = (byte: number) => createRng({ seed: new Uint8Array(32).fill(byte) });
/** Deterministic test vectors in (-3, 3). */
const vector = (length: number, seed: number) => Float32Array.from({ length }, (_, i) => 3 * Math.sin(seed * 1000 + i * 0.7));
/** The exact decoding of a sum of vectors: the sum of their quantized entries. */
const expectedSum = (xs: Float32Array[], length: number) =>
  Array.from({ length }, (_, i) => xs.reduce((s, x) => s + Math.round(x[i]! * opts.scale), 0) / opts.scale);

beforeAll(async () => {
  await ready();
  small = await generateKeyPair({ bits: 512, allowInsecureTestKeys: true, rng: seededRng(61) });
  medium = await generateKeyPair({ bits: 1024, allowInsecureTestKeys: true, rng: seededRng(62) });
  pool = await createPool({ threads: 2 });
});
afterAll(async () => {
  await pool.close();
});

describe('key generation on the pool', () => {
  it('searches for p and q on the workers: a working key of the requested size', async () => {
    const { publicKey: pk, privateKey: sk } = await generateKeyPair({ bits: 512, allowInsecureTestKeys: true, pool });
    expect(pk.bits).toBe(512);
    expect(sk.p.toString(2).length).toBe(256);
    expect(sk.q.toString(2).length).toBe(256);
    expect(sk.p).not.toBe(sk.q);
    expect(sk.decrypt(pk.add(pk.encrypt(-5n), pk.encrypt(12n)))).toBe(7n);
    const other = await generateKeyPair({ bits: 512, allowInsecureTestKeys: true, pool });
    expect(other.publicKey.n).not.toBe(pk.n);
  });

  it('refuses an rng with a pool, a non-pool and the usual size checks', async () => {
    await expect(generateKeyPair({ bits: 512, allowInsecureTestKeys: true, pool, rng: seededRng(1) })).rejects.toMatchObject({ code: 'E_ARG', argument: 'opts.rng' });
    await expect(generateKeyPair({ bits: 512, allowInsecureTestKeys: true, pool: {} as Pool })).rejects.toMatchObject({ code: 'E_ARG', argument: 'opts.pool' });
    await expect(generateKeyPair({ bits: 512, pool })).rejects.toMatchObject({ code: 'E_ARG', argument: 'bits' });
  });
});

describe('pool-parallel packed vectors', () => {
  it('pooled encrypt -> sync decrypt and sync encrypt -> pooled decrypt, lengths around the slot count', async () => {
    for (const { publicKey: pk, privateKey: sk } of [small, medium]) {
      const slots = packingLayout(pk, opts).slots;
      for (const length of [0, 1, slots - 1, slots, slots + 1, 3 * slots + 5]) {
        const x = vector(length, length);
        const expected = expectedSum([x], length);
        const pooled = await pool.encryptVector(pk, x, opts);
        const sync = pk.encryptVector(x, opts);
        expect(pooled.ciphertexts.length).toBe(sync.ciphertexts.length);
        expect({ ...pooled, ciphertexts: [] }).toEqual({ ...sync, ciphertexts: [] });
        expect(Array.from(sk.decryptVector(pooled))).toEqual(expected);
        expect(Array.from(await pool.decryptVector(sk, sync))).toEqual(expected);
        expect(Array.from(await pool.decryptVector(sk, pooled))).toEqual(expected);
      }
    }
  });

  it('pooled encryption is probabilistic (fresh r per ciphertext)', async () => {
    const x = vector(10, 1);
    const a = await pool.encryptVector(medium.publicKey, x, opts);
    const b = await pool.encryptVector(medium.publicKey, x, opts);
    expect(a.ciphertexts[0]!.value).not.toBe(b.ciphertexts[0]!.value);
  });

  it('sums of pooled and sync vectors decode exactly, by either decryption', async () => {
    const { publicKey: pk, privateKey: sk } = medium;
    const length = 2 * packingLayout(pk, opts).slots + 3;
    const xs = [vector(length, 1), vector(length, 2), new Float32Array(length).fill(4), new Float32Array(length).fill(-4)];
    let total: EncryptedVector = await pool.encryptVector(pk, xs[0]!, opts);
    total = pk.addVectors(total, pk.encryptVector(xs[1]!, opts));
    total = pk.addVectors(total, await pool.encryptVector(pk, xs[2]!, opts));
    total = pk.addVectors(pk.encryptVector(xs[3]!, opts), total);
    const expected = expectedSum(xs, length);
    expect(Array.from(sk.decryptVector(total))).toEqual(expected);
    expect(Array.from(await pool.decryptVector(sk, total))).toEqual(expected);
    expect(() => pk.addVectors(total, pk.encryptVector(xs[0]!, opts))).toThrow(expect.objectContaining({ code: 'E_OVERFLOW' }));
  });

  it('rejects what the sync functions reject, an rng, and ciphertexts of another key', async () => {
    const { publicKey: pk, privateKey: sk } = medium;
    const a = pk.encryptVector(vector(10, 1), opts);
    await expect(pool.encryptVector(pk, [1, 2] as unknown as Float32Array, opts)).rejects.toMatchObject({ code: 'E_ARG', argument: 'x' });
    await expect(pool.encryptVector(pk, Float32Array.of(1, 2, NaN), opts)).rejects.toMatchObject({ code: 'E_NONFINITE', index: 2 });
    await expect(pool.encryptVector(pk, vector(3, 1), { ...opts, scale: 0 })).rejects.toMatchObject({ code: 'E_ARG' });
    await expect(pool.encryptVector(pk, vector(3, 1), { ...opts, maxAdditions: 0 })).rejects.toMatchObject({ code: 'E_ARG' });
    await expect(pool.encryptVector(pk, vector(3, 1), { ...opts, rng: seededRng(1) })).rejects.toMatchObject({ code: 'E_ARG', argument: 'opts.rng' });
    await expect(pool.decryptVector(small.privateKey, a)).rejects.toMatchObject({ code: 'E_ARG', argument: 'v.publicKey' });
    await expect(pool.decryptVector(sk, { ...a, length: 1000 })).rejects.toMatchObject({ code: 'E_SHAPE' });
    await expect(pool.decryptVector(sk, null as unknown as EncryptedVector)).rejects.toMatchObject({ code: 'E_ARG' });
    const foreign = small.publicKey.encrypt(1n);
    await expect(pool.decryptVector(sk, { ...a, ciphertexts: [foreign] })).rejects.toMatchObject({ code: 'E_ARG', index: 0 });
    // a forged value outside Z*_{n^2} is refused by the worker
    const forged = { publicKey: pk, value: pk.nSquared } as unknown as (typeof a.ciphertexts)[number];
    await expect(pool.decryptVector(sk, { ...a, ciphertexts: [forged] })).rejects.toMatchObject({ code: 'E_ARG' });
    // an over-added slot is detected as by the sync path
    const over = { ...a, ciphertexts: [pk.encrypt(pk.n - 1n)] };
    expect(() => sk.decryptVector(over)).toThrow(expect.objectContaining({ code: 'E_OVERFLOW' }));
    await expect(pool.decryptVector(sk, over)).rejects.toMatchObject({ code: 'E_OVERFLOW', index: 0 });
  });
});
