// Paillier fast paths: the key owner's CRT encryption (same ciphertexts as publicKey.encrypt for
// the same r, decrypts, mixes with public-key ciphertexts) and precomputed r^n values, queued
// synchronously or by pool workers, each used by at most one encryption.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRng } from 'privkit/dp';
import { generateKeyPair, MAX_FACTOR_BITS_DIFFERENCE, PrivateKey, PublicKey, randomPrime, ready, type KeyPair } from 'privkit/paillier';
import { createPool, type Pool } from 'privkit/pool';
import { paillierRandomness } from '../../dist/src/paillier/key-pool-ops.js';
import { errorCode } from '../support/helpers.js';

const SEED = 4242;
let small: KeyPair; // 512-bit n
let medium: KeyPair; // 1024-bit n
let pool: Pool;

const seededRng = (byte: number) => createRng({ seed: new Uint8Array(32).fill(byte) });
const insecure = { allowInsecureTestKeys: true };

beforeAll(async () => {
  await ready();
  small = await generateKeyPair({ bits: 512, allowInsecureTestKeys: true, rng: seededRng(31) });
  medium = await generateKeyPair({ bits: 1024, allowInsecureTestKeys: true, rng: seededRng(32) });
  pool = await createPool({ threads: 2 });
});
afterAll(async () => {
  await pool.close();
});

describe('private-key CRT encryption', () => {
  it('Dec(privateKey.encrypt(m)) = m for random m in (-n, n), and it is probabilistic', () => {
    for (const { publicKey: pk, privateKey: sk } of [small, medium]) {
      const n = pk.n;
      fc.assert(
        fc.property(fc.bigInt({ min: -(n - 1n), max: n - 1n }), (m) => {
          expect(sk.decrypt(sk.encrypt(m))).toBe(m < 0n ? m + n : m);
        }),
        { seed: SEED, numRuns: 20 },
      );
      expect(sk.encrypt(5n).value).not.toBe(sk.encrypt(5n).value);
    }
  });

  it('r^n by CRT equals r^n mod n^2 by direct modPow: same ciphertext as publicKey.encrypt for the same r', () => {
    // keys with factors of equal and of different sizes (imported keys may differ by MAX_FACTOR_BITS_DIFFERENCE bits)
    const uneven = new PrivateKey(randomPrime(252, seededRng(33)), randomPrime(252 + MAX_FACTOR_BITS_DIFFERENCE, seededRng(34)), insecure);
    for (const sk of [small.privateKey, medium.privateKey, uneven]) {
      const pk = sk.publicKey;
      for (let seed = 1; seed <= 8; seed++) {
        const m = BigInt(seed) * 1000003n;
        expect(sk.encrypt(m, { rng: seededRng(seed) }).value).toBe(pk.encrypt(m, { rng: seededRng(seed) }).value);
      }
    }
  });

  it('is homomorphic with public-key ciphertexts', () => {
    const { publicKey: pk, privateKey: sk } = medium;
    const n = pk.n;
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: n - 1n }), fc.bigInt({ min: 0n, max: n - 1n }), fc.bigInt({ min: 1n, max: 1n << 64n }), (a, b, k) => {
        const mine = sk.encrypt(a);
        const theirs = pk.encrypt(b);
        expect(sk.decrypt(pk.add(mine, theirs))).toBe((a + b) % n);
        expect(sk.decrypt(pk.subtract(theirs, mine))).toBe((((b - a) % n) + n) % n);
        expect(sk.decrypt(pk.multiplyPlain(mine, k))).toBe((a * k) % n);
      }),
      { seed: SEED, numRuns: 10 },
    );
  });

  it('rejects plaintexts outside (-n, n) and non-bigints', () => {
    const sk = small.privateKey;
    expect(errorCode(() => sk.encrypt(sk.publicKey.n))).toBe('E_ARG');
    expect(errorCode(() => sk.encrypt(-sk.publicKey.n))).toBe('E_ARG');
    expect(errorCode(() => sk.encrypt(1 as unknown as bigint))).toBe('E_ARG');
  });
});

describe('precomputed r^n values', () => {
  it('encrypt takes queued values in order, each once, then computes its own', () => {
    const pk = new PublicKey(small.publicKey.n, insecure);
    pk.precompute(4);
    expect(pk.precomputedCount).toBe(4);
    // Enc(0) = r^n, so encrypting 0 shows the factor used; each is an n-th residue (decrypts to 0)
    const used = Array.from({ length: 4 }, () => pk.encrypt(0n).value);
    expect(pk.precomputedCount).toBe(0);
    for (const value of used) expect(small.privateKey.decrypt(value)).toBe(0n);
    const later = Array.from({ length: 4 }, () => pk.encrypt(0n).value);
    expect(new Set([...used, ...later]).size).toBe(8);
  });

  it('values from a seeded generator feed only encryptions given that generator, never default ones', () => {
    const pk = new PublicKey(small.publicKey.n, insecure);
    const seeded = seededRng(21);
    pk.precompute(4, { rng: seeded });
    expect(pk.precomputedCount).toBe(0); // none for default encryptions
    // the same generator state gives the same r, so these are exactly the queued values
    const reference = new PublicKey(small.publicKey.n, insecure);
    const rng = seededRng(21);
    const expected = Array.from({ length: 4 }, () => reference.encrypt(0n, { rng }).value);
    // default encryptions (under this key and a second instance of it) never see them
    const defaults = Array.from({ length: 6 }, () => pk.encrypt(0n).value);
    for (const value of defaults) expect(expected).not.toContain(value);
    // another seeded generator, even with the same seed, has its own queue
    expect(pk.encrypt(0n, { rng: seededRng(21) }).value).toBe(expected[0]);
    // the generator that made them takes them in order, then draws fresh values from its state
    expect(Array.from({ length: 4 }, () => pk.encrypt(0n, { rng: seeded }).value)).toEqual(expected);
    expect(pk.encrypt(0n, { rng: seeded }).value).toBe(reference.encrypt(0n, { rng }).value);
  });

  it('the queue is private: a structuredClone or spread of a key carries no r^n values', () => {
    const pk = new PublicKey(small.publicKey.n, insecure);
    pk.precompute(3);
    const clone = structuredClone(pk) as unknown as Record<string, unknown>;
    const spread = { ...pk } as Record<string, unknown>;
    for (const copy of [clone, spread]) {
      expect(copy['n']).toBe(pk.n);
      for (const value of Object.values(copy)) expect(Array.isArray(value) || value instanceof Map || value instanceof Set).toBe(false);
    }
    expect(JSON.stringify(Object.keys(clone))).not.toMatch(/precomputed|queue/);
    expect(pk.precomputedCount).toBe(3);
  });

  it('ciphertexts made with queued values decrypt; rerandomize uses the queue; opts.rng bypasses it', () => {
    const pk = new PublicKey(small.publicKey.n, insecure);
    const sk = small.privateKey;
    pk.precompute(3);
    const c = pk.encrypt(-77n);
    expect(sk.decrypt(c)).toBe(pk.n - 77n);
    expect(pk.precomputedCount).toBe(2);
    pk.encrypt(1n, { rng: seededRng(5) });
    expect(pk.precomputedCount).toBe(2);
    const fresh = pk.rerandomize(c);
    expect(fresh.value).not.toBe(c.value);
    expect(sk.decrypt(fresh)).toBe(pk.n - 77n);
    expect(pk.precomputedCount).toBe(1);
    pk.precompute(0);
    expect(pk.precomputedCount).toBe(1);
  });

  it('pool workers fill the queue with distinct n-th residues, each used by one encryption', async () => {
    const pk = new PublicKey(small.publicKey.n, insecure);
    const sk = small.privateKey;
    await Promise.all([pk.precomputeInPool(pool, 5), pk.precomputeInPool(pool, 3)]);
    expect(pk.precomputedCount).toBe(8);
    const used = Array.from({ length: 8 }, () => pk.encrypt(0n).value);
    expect(pk.precomputedCount).toBe(0);
    expect(new Set(used).size).toBe(8);
    // x is an n-th residue mod n^2 (some r^n) exactly when it decrypts to 0
    for (const value of used) expect(sk.decrypt(value)).toBe(0n);
    await pk.precomputeInPool(pool, 2);
    expect(sk.decrypt(pk.encrypt(123456789n))).toBe(123456789n);
    expect(pk.precomputedCount).toBe(1);
    await pk.precomputeInPool(pool, 0);
    expect(pk.precomputedCount).toBe(1);
  });

  it('precomputeInPool refuses 1, other values 1 mod n, repeats, values outside Z*_{n^2} and short batches', async () => {
    const pk = new PublicKey(small.publicKey.n, insecure);
    const { n, nSquared } = pk;
    const good = await pool.run(paillierRandomness, n, 3);
    const fakePool = (values: unknown) => ({ threads: 1, run: async () => values, runWith: async () => values }) as unknown as Pool;
    const refused = async (values: unknown, count = Array.isArray(values) ? values.length : 1) =>
      pk.precomputeInPool(fakePool(values), count).then(
        () => 'accepted',
        (e: { code?: string }) => e.code,
      );
    // r^n = 1 would make Enc(31337) = 1 + 31337 n, readable without the key
    expect(await refused([good[0], 1n])).toBe('E_WORKER');
    expect(await refused([1n + 5n * n])).toBe('E_WORKER');
    expect(await refused([good[0], good[0]])).toBe('E_WORKER');
    expect(await refused([0n])).toBe('E_ARG');
    expect(await refused([nSquared])).toBe('E_ARG');
    expect(await refused([nSquared + good[0]!])).toBe('E_ARG');
    expect(await refused([small.privateKey.p * 7n])).toBe('E_ARG'); // not coprime to n
    expect(await refused(['12'])).toBe('E_ARG');
    expect(await refused([good[0]], 2)).toBe('E_WORKER');
    expect(await refused('nope', 1)).toBe('E_WORKER');
    expect(pk.precomputedCount).toBe(0); // a bad value refuses the whole batch
    expect(await refused([good[0], good[1]])).toBe('accepted');
    expect(await refused([good[1], good[2]])).toBe('E_WORKER'); // repeats a queued value
    expect(pk.precomputedCount).toBe(2);
    expect(small.privateKey.decrypt(pk.encrypt(31337n))).toBe(31337n);
  });

  it('the pooled paillierRandomness splits the count over the workers', async () => {
    const values = await pool.run(paillierRandomness, medium.publicKey.n, 7);
    expect(values).toHaveLength(7);
    expect(new Set(values).size).toBe(7);
    for (const value of values) expect(medium.privateKey.decrypt(value)).toBe(0n);
  });

  it('rejects bad counts, pools and moduli', async () => {
    const pk = new PublicKey(small.publicKey.n, insecure);
    for (const count of [-1, 1.5, Number.NaN, '3', 2 ** 20 + 1]) {
      expect(errorCode(() => pk.precompute(count as number))).toBe('E_ARG');
      await expect(pk.precomputeInPool(pool, count as number)).rejects.toMatchObject({ code: 'E_ARG', argument: 'count' });
    }
    await expect(pk.precomputeInPool(null as unknown as Pool, 1)).rejects.toMatchObject({ code: 'E_ARG', argument: 'pool' });
    await expect(pool.run(paillierRandomness, 'not a bigint' as unknown as bigint, 1)).rejects.toMatchObject({ code: 'E_ARG', argument: 'n' });
    await expect(pool.run(paillierRandomness, 16n, 1)).rejects.toMatchObject({ code: 'E_ARG', argument: 'n' });
    await expect(pool.run(paillierRandomness, 255n, -2)).rejects.toMatchObject({ code: 'E_ARG', argument: 'count' });
    expect(pk.precomputedCount).toBe(0);
  });
});
