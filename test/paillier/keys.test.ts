// Paillier core: key generation (sizes, prime factors), probable primes, encryption round trips,
// homomorphic identities (add, addPlain, multiplyPlain, negate, subtract, rerandomize) and
// validation of keys, plaintexts and ciphertexts. Small insecure keys keep the tests fast.
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { PrivkitError } from 'privkit';
import { createRng } from 'privkit/dp';
import {
  Ciphertext,
  generateKeyPair,
  MAX_MILLER_RABIN_ROUNDS,
  MAX_PRIME_BITS,
  millerRabin,
  millerRabinRounds,
  powBigInt,
  PrivateKey,
  PublicKey,
  randomPrime,
  ready,
  type KeyPair,
} from 'privkit/paillier';
import { errorCode } from '../support/helpers.js';

const SEED = 5150;
let small: KeyPair; // 512-bit n
let medium: KeyPair; // 1024-bit n
let other: KeyPair; // another 512-bit key

const seededRng = (byte: number) => createRng({ seed: new Uint8Array(32).fill(byte) });

function gcd(a: bigint, b: bigint): bigint {
  while (b !== 0n) [a, b] = [b, a % b];
  return a;
}

beforeAll(async () => {
  await ready();
  small = await generateKeyPair({ bits: 512, allowInsecureTestKeys: true, rng: seededRng(1) });
  medium = await generateKeyPair({ bits: 1024, allowInsecureTestKeys: true, rng: seededRng(2) });
  other = await generateKeyPair({ bits: 512, allowInsecureTestKeys: true, rng: seededRng(3) });
});

describe('probable primes', () => {
  it('Miller-Rabin rounds follow FIPS 186-5 Table B.1 (2^-128) and 64 below 1024 bits', () => {
    expect(millerRabinRounds(2048)).toBe(4);
    expect(millerRabinRounds(1536)).toBe(4);
    expect(millerRabinRounds(1024)).toBeGreaterThanOrEqual(5);
    expect(millerRabinRounds(512)).toBe(64);
  });

  it('rejects Carmichael numbers, strong pseudoprimes and semiprimes; accepts known primes', () => {
    const rng = seededRng(9);
    // 3215031751 is a strong pseudoprime to bases 2, 3, 5 and 7; 561 and 41041 are Carmichael numbers
    for (const w of [561n, 41041n, 825265n, 3215031751n, 2152302898747n, ((1n << 127n) - 1n) * ((1n << 89n) - 1n)]) {
      expect(millerRabin(w, 64, rng), String(w)).toBe(false);
    }
    for (const p of [5n, 7919n, (1n << 127n) - 1n, (1n << 521n) - 1n, (1n << 607n) - 1n]) {
      expect(millerRabin(p, 16, rng), String(p)).toBe(true);
    }
  });

  it('randomPrime gives primes of exactly the requested size with the top two bits set', () => {
    const rng = seededRng(4);
    for (const bits of [64, 200, 512]) {
      const p = randomPrime(bits, rng);
      expect(p >> BigInt(bits - 2)).toBe(3n);
      for (const base of [2n, 3n, 5n, 7n]) expect(powBigInt(base, p - 1n, p)).toBe(1n);
    }
  });
});

describe('size and generator arguments', () => {
  it('randomPrime and millerRabin bound every size and count with an E_ARG (no process abort, no hang)', () => {
    const rng = seededRng(8);
    for (const bits of [2 ** 32, MAX_PRIME_BITS + 1, 15, -1, 1.5, Number.NaN, Infinity, '64']) {
      expect(errorCode(() => randomPrime(bits as number, rng)), String(bits)).toBe('E_ARG');
    }
    for (const bad of [undefined, null, {}, { bytes: 5 }]) expect(errorCode(() => randomPrime(64, bad as never))).toBe('E_ARG');
    for (const rounds of [undefined, 0, -1, 1.5, MAX_MILLER_RABIN_ROUNDS + 1, 2 ** 31, Number.NaN]) {
      expect(errorCode(() => millerRabin(21n, rounds as number, rng)), String(rounds)).toBe('E_ARG');
    }
    for (const w of [21, 4n, 3n, -7n, (1n << 12289n) + 1n]) expect(errorCode(() => millerRabin(w as bigint, 4, rng)), String(w).slice(0, 12)).toBe('E_ARG');
    expect(errorCode(() => millerRabin(21n, 4, {} as never))).toBe('E_ARG');
  });

  it('options: null is no options, non-objects and generators without bytes() are refused', () => {
    const { publicKey: pk, privateKey: sk } = small;
    expect(sk.decrypt(pk.encrypt(5n, null as never))).toBe(5n);
    expect(sk.decrypt(sk.encrypt(6n, null as never))).toBe(6n);
    for (const opts of [{ rng: {} }, { rng: null }, { rng: 5 }, 3, 'x']) {
      expect(errorCode(() => pk.encrypt(5n, opts as never)), JSON.stringify(opts)).toBe('E_ARG');
      expect(errorCode(() => sk.encrypt(5n, opts as never)), JSON.stringify(opts)).toBe('E_ARG');
      expect(errorCode(() => pk.precompute(1, opts as never)), JSON.stringify(opts)).toBe('E_ARG');
    }
    expect(errorCode(() => new PublicKey(pk.n, 7 as never))).toBe('E_ARG');
  });
});

describe('key generation', () => {
  it('n = p q has exactly the requested bits, p and q have equal size and gcd(n, phi) = 1', () => {
    for (const [{ publicKey, privateKey }, bits] of [
      [small, 512],
      [medium, 1024],
    ] as const) {
      const { p, q } = privateKey;
      expect(publicKey.bits).toBe(bits);
      expect(publicKey.n).toBe(p * q);
      expect(p.toString(2).length).toBe(bits / 2);
      expect(q.toString(2).length).toBe(bits / 2);
      expect(p).not.toBe(q);
      expect(gcd(publicKey.n, (p - 1n) * (q - 1n))).toBe(1n);
      expect(publicKey.g).toBe(publicKey.n + 1n);
    }
  });

  it('the same seed gives the same key; the default generator gives fresh keys', async () => {
    const again = await generateKeyPair({ bits: 512, allowInsecureTestKeys: true, rng: seededRng(1) });
    expect(again.publicKey.n).toBe(small.publicKey.n);
    const fresh = await generateKeyPair({ bits: 256, allowInsecureTestKeys: true });
    const fresh2 = await generateKeyPair({ bits: 256, allowInsecureTestKeys: true });
    expect(fresh.publicKey.n).not.toBe(fresh2.publicKey.n);
  });

  it('refuses keys below 2048 bits without allowInsecureTestKeys, odd sizes and sizes beyond the limit', async () => {
    const rejects = async (opts: Parameters<typeof generateKeyPair>[0]) => {
      const error = await generateKeyPair(opts).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(PrivkitError);
      return (error as PrivkitError).code;
    };
    expect(await rejects({ bits: 1024 })).toBe('E_ARG');
    expect(await rejects({ bits: 2047 })).toBe('E_ARG');
    expect(await rejects({ bits: 64, allowInsecureTestKeys: true })).toBe('E_ARG');
    expect(await rejects({ bits: 8192 })).toBe('E_ARG');
    expect(await rejects({ bits: 2048.5 })).toBe('E_ARG');
    expect(await rejects({ bits: 512, allowInsecureTestKeys: true, rng: {} as never })).toBe('E_ARG');
    expect(errorCode(() => new PublicKey(small.publicKey.n))).toBe('E_ARG');
  });
});

describe('encryption and decryption', () => {
  it('Dec(Enc(m)) = m for random m in [0, n) and m in (-n, 0) maps to n + m', () => {
    for (const { publicKey, privateKey } of [small, medium]) {
      const n = publicKey.n;
      fc.assert(
        fc.property(fc.bigInt({ min: -(n - 1n), max: n - 1n }), (m) => {
          expect(privateKey.decrypt(publicKey.encrypt(m))).toBe(m < 0n ? n + m : m);
        }),
        { seed: SEED, numRuns: 25 },
      );
      for (const m of [0n, 1n, n - 1n, -1n, -(n - 1n)]) expect(privateKey.decrypt(publicKey.encrypt(m))).toBe(((m % n) + n) % n);
    }
  });

  it('matches the textbook formula (1 + m n) r^n mod n^2 and decrypts a raw bigint', () => {
    const { publicKey, privateKey } = medium;
    const { n, nSquared } = publicKey;
    const m = 0xdeadbeefn * 1234567n;
    const r = 0x1234567890abcdefn;
    const c = ((1n + m * n) * powBigInt(r, n, nSquared)) % nSquared;
    expect(privateKey.decrypt(c)).toBe(m);
    expect(privateKey.decrypt(publicKey.ciphertext(c))).toBe(m);
  });

  it('is probabilistic; a seeded generator makes it reproducible', () => {
    const { publicKey } = small;
    expect(publicKey.encrypt(42n).value).not.toBe(publicKey.encrypt(42n).value);
    expect(publicKey.encrypt(42n, { rng: seededRng(7) }).value).toBe(publicKey.encrypt(42n, { rng: seededRng(7) }).value);
  });
});

describe('homomorphic operations', () => {
  it('add, addPlain, multiplyPlain, negate, subtract on random plaintexts', () => {
    const { publicKey: pk, privateKey: sk } = medium;
    const n = pk.n;
    const mod = (x: bigint) => ((x % n) + n) % n;
    fc.assert(
      fc.property(fc.bigInt({ min: -(n - 1n), max: n - 1n }), fc.bigInt({ min: -(n - 1n), max: n - 1n }), fc.bigInt({ min: -(1n << 64n), max: 1n << 64n }), (a, b, k) => {
        const ca = pk.encrypt(a);
        const cb = pk.encrypt(b);
        expect(sk.decrypt(pk.add(ca, cb))).toBe(mod(a + b));
        expect(sk.decrypt(pk.addPlain(ca, b))).toBe(mod(a + b));
        expect(sk.decrypt(pk.multiplyPlain(ca, k))).toBe(mod(k * a));
        expect(sk.decrypt(pk.negate(ca))).toBe(mod(-a));
        expect(sk.decrypt(pk.subtract(ca, cb))).toBe(mod(a - b));
      }),
      { seed: SEED, numRuns: 12 },
    );
  });

  it('multiplyPlain by 0, 1, -1 and by a full-size k; sums of many ciphertexts; raw bigint operands', () => {
    const { publicKey: pk, privateKey: sk } = small;
    const n = pk.n;
    const c = pk.encrypt(1234n);
    expect(sk.decrypt(pk.multiplyPlain(c, 0n))).toBe(0n);
    expect(sk.decrypt(pk.multiplyPlain(c, 1n))).toBe(1234n);
    expect(sk.decrypt(pk.multiplyPlain(c, -1n))).toBe(n - 1234n);
    expect(sk.decrypt(pk.multiplyPlain(c, n - 2n))).toBe((1234n * (n - 2n)) % n);
    let total = pk.encrypt(0n);
    for (let i = 1n; i <= 50n; i++) total = pk.add(total, pk.encrypt(i));
    expect(sk.decrypt(total)).toBe(1275n);
    expect(sk.decrypt(pk.add(c.value, pk.encrypt(1n).value))).toBe(1235n);
  });

  it('rerandomize keeps the plaintext and changes the ciphertext', () => {
    const { publicKey: pk, privateKey: sk } = small;
    const c = pk.addPlain(pk.encrypt(5n), 6n);
    const fresh = pk.rerandomize(c);
    expect(fresh.value).not.toBe(c.value);
    expect(sk.decrypt(fresh)).toBe(11n);
  });
});

describe('validation', () => {
  it('rejects plaintexts outside (-n, n) and non-bigint plaintexts', () => {
    const { publicKey: pk } = small;
    const c = pk.encrypt(1n);
    expect(errorCode(() => pk.encrypt(pk.n))).toBe('E_ARG');
    expect(errorCode(() => pk.encrypt(-pk.n))).toBe('E_ARG');
    expect(errorCode(() => pk.encrypt(5 as unknown as bigint))).toBe('E_ARG');
    expect(errorCode(() => pk.addPlain(c, pk.n + 1n))).toBe('E_ARG');
    expect(errorCode(() => pk.multiplyPlain(c, pk.n))).toBe('E_ARG');
  });

  it('rejects values outside Z*_{n^2}: 0, n^2, negatives, multiples of p or q, non-bigints', () => {
    const { publicKey: pk, privateKey: sk } = small;
    for (const bad of [0n, -5n, pk.nSquared, pk.nSquared + 1n, sk.p * 12345n, sk.q]) {
      expect(errorCode(() => sk.decrypt(bad)), String(bad)).toBe('E_ARG');
      expect(errorCode(() => pk.ciphertext(bad))).toBe('E_ARG');
      expect(errorCode(() => new Ciphertext(pk, bad))).toBe('E_ARG');
      expect(errorCode(() => pk.add(bad, pk.encrypt(1n)))).toBe('E_ARG');
    }
    expect(errorCode(() => sk.decrypt('12' as unknown as bigint))).toBe('E_ARG');
    expect(errorCode(() => pk.negate({ value: 5n } as unknown as Ciphertext))).toBe('E_ARG');
  });

  it('rejects ciphertexts and keys that do not match', () => {
    const c = small.publicKey.encrypt(3n);
    const d = other.publicKey.encrypt(3n);
    expect(errorCode(() => other.privateKey.decrypt(c))).toBe('E_ARG');
    expect(errorCode(() => small.publicKey.add(c, d))).toBe('E_ARG');
    expect(errorCode(() => small.publicKey.multiplyPlain(d, 2n))).toBe('E_ARG');
    // an equal key object built from the same n is accepted
    const same = new PublicKey(small.publicKey.n, { allowInsecureTestKeys: true });
    expect(small.privateKey.decrypt(same.addPlain(c, 1n))).toBe(4n);
  });

  it('rejects bad private keys: equal, even, composite or non-bigint factors', () => {
    const { p, q } = small.privateKey;
    const opts = { allowInsecureTestKeys: true };
    expect(errorCode(() => new PrivateKey(p, p, opts))).toBe('E_ARG');
    expect(errorCode(() => new PrivateKey(p + 1n, q, opts))).toBe('E_ARG');
    expect(errorCode(() => new PrivateKey(p * 3n * 5n * 7n * 11n * 13n * 17n * 19n, q, opts))).toBe('E_ARG');
    expect(errorCode(() => new PrivateKey(p, 7 as unknown as bigint, opts))).toBe('E_ARG');
    expect(errorCode(() => new PrivateKey(p, q))).toBe('E_ARG'); // 512 bits without the test flag
    const rebuilt = new PrivateKey(q, p, opts);
    expect(rebuilt.decrypt(small.publicKey.encrypt(99n))).toBe(99n);
  });
});
