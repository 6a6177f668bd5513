// Paillier's additively homomorphic cryptosystem (Paillier, EUROCRYPT 1999) with g = n + 1, so
// g^m = 1 + m n mod n^2 and encryption costs one exponentiation r^n mod n^2. Decryption by CRT
// with exponents p - 1 and q - 1 and precomputed hp, hq (the form of python-paillier,
// phe/paillier.py). Exponentiations run on the wasm Montgomery kernels (./modpow.ts); randomness
// only from the CSPRNG (createRng). Plaintexts are integers mod n. The key owner can encrypt by CRT
// (r^n mod p^2 and mod q^2, as in python-paillier's private-key encryption), and a public key can
// queue precomputed r^n values (filled here or by pool workers) so that encryption is one product.
import { createRng, type Rng } from '../dp/rng.js';
import { PrivkitError } from '../errors.js';
import type { Pool } from '../pool/pool.js';
import { assertInteger, describe } from '../validate.js';
import { ready } from '../wasm/runtime.js';
import { bitLength, Modulus } from './modpow.js';
import { addVectors, decryptVector, encryptVector, type EncryptedVector, type PackingOptions } from './packing.js';
import { millerRabin, randomBelow, randomPrime } from './primes.js';

/** Keys below this size need `allowInsecureTestKeys` (NIST SP 800-57: 2048-bit factoring moduli). */
export const MIN_KEY_BITS = 2048;
/** Largest key size: n^2 must fit the Montgomery kernels (12288 bits). */
export const MAX_KEY_BITS = 6144;
/** Smallest key size even with `allowInsecureTestKeys`. */
export const MIN_TEST_KEY_BITS = 128;
/** Most r^n values one precompute call adds (2^20: 512 MiB at 2048 bits). */
export const MAX_PRECOMPUTE = 1 << 20;

export interface KeyOptions {
  /** Accept keys below 2048 bits (down to 128). For tests only: such keys are not secure. */
  allowInsecureTestKeys?: boolean;
}

export interface GenerateKeyPairOptions extends KeyOptions {
  /** Bit length of n (even, default 3072). */
  bits?: number;
  /** Generator for the primes (default: a fresh CSPRNG). A seeded generator is for tests only. */
  rng?: Rng;
  /** Search for p and q in parallel on this pool's workers, each with its own CSPRNG (no `rng` then). */
  pool?: Pool;
}

export interface EncryptOptions {
  /** Generator for r (default: the module's CSPRNG). A seeded generator is for tests only. */
  rng?: Rng;
}

export interface KeyPair {
  publicKey: PublicKey;
  privateKey: PrivateKey;
}

let defaultRng: Rng | undefined;
function csprng(): Rng {
  defaultRng ??= createRng();
  return defaultRng;
}

let trustedCiphertext: (publicKey: PublicKey, value: bigint) => Ciphertext;

/** A Paillier ciphertext: an element of Z*_{n^2} under `publicKey`. */
export class Ciphertext {
  declare readonly publicKey: PublicKey;
  declare readonly value: bigint;

  /** Checks 0 < value < n^2 and gcd(value, n) = 1. */
  constructor(publicKey: PublicKey, value: bigint) {
    if (!(publicKey instanceof PublicKey)) {
      throw new PrivkitError('E_ARG', `publicKey must be a Paillier PublicKey, got ${describe(publicKey)}`, { argument: 'publicKey' });
    }
    checkCiphertextValue(publicKey, value, 'ciphertext');
    Object.defineProperties(this, { publicKey: { value: publicKey, enumerable: true }, value: { value, enumerable: true } });
  }

  static {
    trustedCiphertext = (publicKey, value) =>
      Object.create(Ciphertext.prototype, {
        publicKey: { value: publicKey, enumerable: true },
        value: { value, enumerable: true },
      }) as Ciphertext;
  }
}

export class PublicKey {
  /** The modulus n = p q. */
  readonly n: bigint;
  /** n^2, the ciphertext modulus. */
  readonly nSquared: bigint;
  /** Bit length of n. */
  readonly bits: number;
  private readonly modNSquared: Modulus;
  /** Precomputed r^n mod n^2 values, each taken (and removed) by one encryption. */
  private readonly precomputed: bigint[] = [];

  constructor(n: bigint, opts: KeyOptions = {}) {
    if (typeof n !== 'bigint') throw new PrivkitError('E_ARG', `n must be a bigint, got ${describe(n)}`, { argument: 'n' });
    if (n <= 1n || (n & 1n) === 0n) throw new PrivkitError('E_ARG', 'n must be an odd integer > 1 (a product of two odd primes)', { argument: 'n' });
    this.bits = bitLength(n);
    checkKeyBits(this.bits, opts, 'n');
    this.n = n;
    this.nSquared = n * n;
    this.modNSquared = new Modulus(this.nSquared);
  }

  /** The generator g = n + 1. */
  get g(): bigint {
    return this.n + 1n;
  }

  /** Whether `other` is a public key with the same n. */
  equals(other: unknown): boolean {
    return other instanceof PublicKey && other.n === this.n;
  }

  /**
   * Enc(m) = (1 + m n) r^n mod n^2 with r uniform in Z*_n; m in (-n, n), taken mod n. Without
   * `opts.rng`, a precomputed r^n is used (once) when one is queued.
   */
  encrypt(m: bigint, opts: EncryptOptions = {}): Ciphertext {
    const gm = this.gToThe(plaintextResidue(this, m, 'm'));
    return trustedCiphertext(this, (gm * this.randomFactor(opts.rng)) % this.nSquared);
  }

  /** The same plaintext under fresh randomness: c r^n mod n^2 (a queued r^n as in encrypt). */
  rerandomize(c: Ciphertext | bigint, opts: EncryptOptions = {}): Ciphertext {
    const value = this.own(c, 'c');
    return trustedCiphertext(this, (value * this.randomFactor(opts.rng)) % this.nSquared);
  }

  /** Enc(a + b mod n) from Enc(a) and Enc(b): the product mod n^2. */
  add(c1: Ciphertext | bigint, c2: Ciphertext | bigint): Ciphertext {
    return trustedCiphertext(this, (this.own(c1, 'c1') * this.own(c2, 'c2')) % this.nSquared);
  }

  /** Enc(a + m mod n) from Enc(a) and a plaintext m in (-n, n). Not re-randomized. */
  addPlain(c: Ciphertext | bigint, m: bigint): Ciphertext {
    const value = this.own(c, 'c');
    return trustedCiphertext(this, (value * this.gToThe(plaintextResidue(this, m, 'm'))) % this.nSquared);
  }

  /** Enc(k a mod n) from Enc(a) and a plaintext k in (-n, n): c^k mod n^2. Not re-randomized. */
  multiplyPlain(c: Ciphertext | bigint, k: bigint): Ciphertext {
    const value = this.own(c, 'c');
    const kk = plaintextResidue(this, k, 'k');
    // a negative k near 0 is cheaper as (c^-1)^|k| than as c^(n - |k|)
    if (this.n - kk < kk) return trustedCiphertext(this, this.modNSquared.pow(modInverse(value, this.nSquared), this.n - kk));
    return trustedCiphertext(this, this.modNSquared.pow(value, kk));
  }

  /** Enc(-a mod n) from Enc(a): c^-1 mod n^2. */
  negate(c: Ciphertext | bigint): Ciphertext {
    return trustedCiphertext(this, modInverse(this.own(c, 'c'), this.nSquared));
  }

  /** Enc(a - b mod n) from Enc(a) and Enc(b). */
  subtract(c1: Ciphertext | bigint, c2: Ciphertext | bigint): Ciphertext {
    const a = this.own(c1, 'c1');
    return trustedCiphertext(this, (a * modInverse(this.own(c2, 'c2'), this.nSquared)) % this.nSquared);
  }

  /** Encrypts x packed many entries per plaintext (see packing.ts: scale, clip, maxAdditions). */
  encryptVector(x: Float32Array, opts: PackingOptions): EncryptedVector {
    return encryptVector(this, x, opts);
  }

  /** The packed sum of two encrypted vectors; E_OVERFLOW beyond their maxAdditions headroom. */
  addVectors(a: EncryptedVector, b: EncryptedVector): EncryptedVector {
    return addVectors(this, a, b);
  }

  /** Number of precomputed r^n values queued for encryption. */
  get precomputedCount(): number {
    return this.precomputed.length;
  }

  /** Computes `count` values r^n mod n^2 now (CSPRNG, or `opts.rng` for tests) and queues them. */
  precompute(count: number, opts: EncryptOptions = {}): void {
    checkPrecomputeCount(count);
    const rng = opts.rng ?? csprng();
    for (let i = 0; i < count; i++) this.precomputed.push(this.freshFactor(rng));
  }

  /**
   * Queues `count` values r^n mod n^2 computed by the pool's workers (each draws r from its own
   * CSPRNG); encryptions meanwhile compute their own. Each value is checked to lie in Z*_{n^2}.
   */
  async precomputeInPool(pool: Pool, count: number): Promise<void> {
    if (typeof (pool as Partial<Pool> | null)?.paillierRandomness !== 'function') {
      throw new PrivkitError('E_ARG', `pool must be a Pool from createPool(), got ${describe(pool)}`, { argument: 'pool' });
    }
    checkPrecomputeCount(count);
    const values = await pool.paillierRandomness(this.n.toString(16), count);
    for (const value of values) checkCiphertextValue(this, value, 'r^n');
    this.precomputed.push(...values);
  }

  /** A validated Ciphertext for a raw value under this key. */
  ciphertext(value: bigint): Ciphertext {
    return new Ciphertext(this, value);
  }

  /** The value of c after checking it belongs to this key (a raw bigint is fully validated). */
  private own(c: Ciphertext | bigint, name: string): bigint {
    if (typeof c === 'bigint') return checkCiphertextValue(this, c, name);
    if (!(c instanceof Ciphertext)) {
      throw new PrivkitError('E_ARG', `${name} must be a Ciphertext or a bigint, got ${describe(c)}`, { argument: name });
    }
    if (c.publicKey !== this && !c.publicKey.equals(this)) {
      throw new PrivkitError('E_ARG', `${name} was encrypted under a different public key`, { argument: name });
    }
    return c.value;
  }

  /** g^m = 1 + m n mod n^2 (m in [0, n)). */
  private gToThe(m: bigint): bigint {
    return (1n + m * this.n) % this.nSquared;
  }

  /** r^n mod n^2 for r uniform in Z*_n: from `rng` if given, else a queued value, else the CSPRNG. */
  private randomFactor(rng?: Rng): bigint {
    if (rng === undefined && this.precomputed.length > 0) return this.precomputed.shift()!;
    return this.freshFactor(rng ?? csprng());
  }

  /** r^n mod n^2 for a new r uniform in Z*_n. */
  private freshFactor(rng: Rng): bigint {
    return this.modNSquared.pow(randomUnit(this.n, rng), this.n);
  }
}

export class PrivateKey {
  readonly publicKey: PublicKey;
  readonly p: bigint;
  readonly q: bigint;
  private readonly pSquared: Modulus;
  private readonly qSquared: Modulus;
  /** hp = L_p(g^(p-1) mod p^2)^-1 mod p, and hq likewise (python-paillier). */
  private readonly hp: bigint;
  private readonly hq: bigint;
  private readonly pInverseModQ: bigint;
  /** n mod phi(p^2) (phi(p^2) = p (p - 1)) and n mod phi(q^2): the exponents of r^n mod p^2 and mod q^2. */
  private readonly nModPhiP2: bigint;
  private readonly nModPhiQ2: bigint;
  /** (p^2)^-1 mod q^2, to combine the halves of r^n by CRT. */
  private readonly p2InverseModQ2: bigint;

  /**
   * From the prime factors of n (checked: odd, distinct, probable primes, gcd(n, phi) = 1). Keys
   * imported from elsewhere may have factors of different sizes; generateKeyPair makes them equal.
   */
  constructor(p: bigint, q: bigint, opts: KeyOptions = {}) {
    for (const [name, value] of [['p', p], ['q', q]] as const) {
      if (typeof value !== 'bigint' || value < 5n || (value & 1n) === 0n) {
        throw new PrivkitError('E_ARG', `${name} must be an odd prime bigint, got ${typeof value === 'bigint' ? 'an even or tiny value' : describe(value)}`, {
          argument: name,
        });
      }
    }
    if (p === q) throw new PrivkitError('E_ARG', 'p and q must be distinct primes', { argument: 'q' });
    const n = p * q;
    if (gcd(n, (p - 1n) * (q - 1n)) !== 1n) throw new PrivkitError('E_ARG', 'gcd(pq, (p-1)(q-1)) must be 1', { argument: 'q' });
    const publicKey = new PublicKey(n, opts);
    for (const [name, value] of [['p', p], ['q', q]] as const) {
      if (!millerRabin(value, 2, csprng())) throw new PrivkitError('E_ARG', `${name} is not prime`, { argument: name });
    }
    this.publicKey = publicKey;
    this.p = p;
    this.q = q;
    this.pSquared = new Modulus(p * p);
    this.qSquared = new Modulus(q * q);
    this.hp = this.h(p, this.pSquared);
    this.hq = this.h(q, this.qSquared);
    this.pInverseModQ = modInverse(p, q);
    this.nModPhiP2 = n % (p * (p - 1n));
    this.nModPhiQ2 = n % (q * (q - 1n));
    this.p2InverseModQ2 = modInverse(this.pSquared.m, this.qSquared.m);
  }

  /**
   * Enc(m) for the key owner, as publicKey.encrypt (same distribution, never a queued r^n) but with
   * r^n mod n^2 from r^n mod p^2 and mod q^2 by CRT (python-paillier's private-key encryption).
   */
  encrypt(m: bigint, opts: EncryptOptions = {}): Ciphertext {
    const pk = this.publicKey;
    const gm = 1n + plaintextResidue(pk, m, 'm') * pk.n;
    return trustedCiphertext(pk, (gm * this.rToTheN(randomUnit(pk.n, opts.rng ?? csprng()))) % pk.nSquared);
  }

  /** The plaintext in [0, n) of a ciphertext under this key. */
  decrypt(c: Ciphertext | bigint): bigint {
    const pk = this.publicKey;
    let value: bigint;
    if (typeof c === 'bigint') value = checkCiphertextValue(pk, c, 'c');
    else if (c instanceof Ciphertext) {
      if (!c.publicKey.equals(pk)) throw new PrivkitError('E_ARG', 'c was encrypted under a different public key', { argument: 'c' });
      value = c.value;
    } else throw new PrivkitError('E_ARG', `c must be a Ciphertext or a bigint, got ${describe(c)}`, { argument: 'c' });
    const mp = this.half(value, this.p, this.pSquared, this.hp);
    const mq = this.half(value, this.q, this.qSquared, this.hq);
    // CRT (Garner): m = mp + p ((mq - mp) p^-1 mod q)
    let u = ((mq - mp) * this.pInverseModQ) % this.q;
    if (u < 0n) u += this.q;
    return mp + u * this.p;
  }

  /** The dequantized entries of an encrypted (possibly summed) packed vector. */
  decryptVector(v: EncryptedVector): Float64Array {
    return decryptVector(this, v);
  }

  /** m mod p = L_p(c^(p-1) mod p^2) hp mod p. */
  private half(c: bigint, p: bigint, pSquared: Modulus, hp: bigint): bigint {
    const x = pSquared.pow(c % pSquared.m, p - 1n);
    return (((x - 1n) / p) * hp) % p;
  }

  /** r^n mod n^2 by CRT (Garner): r^n mod p^2 = r^(n mod p(p-1)) mod p^2 as gcd(r, p) = 1, likewise q. */
  private rToTheN(r: bigint): bigint {
    const xp = this.pSquared.pow(r, this.nModPhiP2);
    const xq = this.qSquared.pow(r, this.nModPhiQ2);
    const q2 = this.qSquared.m;
    let u = ((xq - xp) * this.p2InverseModQ2) % q2;
    if (u < 0n) u += q2;
    return xp + u * this.pSquared.m;
  }

  private h(p: bigint, pSquared: Modulus): bigint {
    const x = pSquared.pow(this.publicKey.g, p - 1n);
    return modInverse((x - 1n) / p, p);
  }
}

/**
 * A new key pair: n of `bits` bits (default 3072; >= 2048 unless `allowInsecureTestKeys`). With
 * `opts.pool`, p and q are searched for in parallel on the pool's workers.
 */
export async function generateKeyPair(opts: GenerateKeyPairOptions = {}): Promise<KeyPair> {
  const bits = opts.bits ?? 3072;
  if (typeof bits !== 'number' || !Number.isSafeInteger(bits) || bits % 2 !== 0) {
    throw new PrivkitError('E_ARG', `bits must be an even integer, got ${describe(bits)}`, { argument: 'bits' });
  }
  checkKeyBits(bits, opts, 'bits');
  const pool = opts.pool;
  if (pool !== undefined) {
    if (typeof (pool as Partial<Pool> | null)?.paillierPrimes !== 'function') {
      throw new PrivkitError('E_ARG', `opts.pool must be a Pool from createPool(), got ${describe(pool)}`, { argument: 'opts.pool' });
    }
    if (opts.rng !== undefined) {
      throw new PrivkitError('E_ARG', 'opts.rng can not be used with opts.pool: each worker draws from its own CSPRNG', { argument: 'opts.rng' });
    }
  }
  await ready();
  const rng = pool === undefined ? (opts.rng ?? createRng()) : undefined;
  for (;;) {
    const [p, q] = rng === undefined ? await workerPrimes(pool!, bits / 2) : [randomPrime(bits / 2, rng), randomPrime(bits / 2, rng)];
    if (p === q) continue;
    const n = p * q;
    // the top two bits of p and q are set, so n has exactly `bits` bits
    if (bitLength(n) !== bits || gcd(n, (p - 1n) * (q - 1n)) !== 1n) continue;
    const privateKey = new PrivateKey(p, q, opts);
    return { publicKey: privateKey.publicKey, privateKey };
  }
}

/** Two primes of `bits` bits from the pool's workers, checked for size and oddness (PrivateKey tests primality). */
async function workerPrimes(pool: Pool, bits: number): Promise<[bigint, bigint]> {
  const primes = await pool.paillierPrimes(bits, 2);
  for (const x of primes) {
    if (typeof x !== 'bigint' || bitLength(x) !== bits || (x & 1n) === 0n) throw new PrivkitError('E_WORKER', 'a pool worker returned an invalid prime');
  }
  return [primes[0]!, primes[1]!];
}

/** m in (-n, n) as its residue in [0, n). */
function plaintextResidue(publicKey: PublicKey, m: unknown, name: string): bigint {
  if (typeof m !== 'bigint') throw new PrivkitError('E_ARG', `${name} must be a bigint, got ${describe(m)}`, { argument: name });
  if (m >= publicKey.n || m <= -publicKey.n) {
    throw new PrivkitError('E_ARG', `${name} is out of the plaintext range (-n, n) for a ${publicKey.bits}-bit key`, { argument: name });
  }
  return m < 0n ? m + publicKey.n : m;
}

/** A uniform r in Z*_n, by rejection. */
function randomUnit(n: bigint, rng: Rng): bigint {
  let r: bigint;
  do r = randomBelow(n, rng);
  while (r === 0n || gcd(r, n) !== 1n);
  return r;
}

function checkPrecomputeCount(count: number): void {
  if (assertInteger('count', count) > MAX_PRECOMPUTE) {
    throw new PrivkitError('E_ARG', `count must be at most ${MAX_PRECOMPUTE}, got ${count}`, { argument: 'count' });
  }
}

function checkKeyBits(bits: number, opts: KeyOptions, argument: string): void {
  const min = opts.allowInsecureTestKeys === true ? MIN_TEST_KEY_BITS : MIN_KEY_BITS;
  if (bits < min || bits > MAX_KEY_BITS) {
    const hint = bits < MIN_KEY_BITS && opts.allowInsecureTestKeys !== true ? ' (pass allowInsecureTestKeys: true for small test keys)' : '';
    throw new PrivkitError('E_ARG', `key size ${bits} bits is outside [${min}, ${MAX_KEY_BITS}]${hint}`, { argument });
  }
}

function checkCiphertextValue(publicKey: PublicKey, value: unknown, name: string): bigint {
  if (typeof value !== 'bigint') throw new PrivkitError('E_ARG', `${name} must be a bigint, got ${describe(value)}`, { argument: name });
  if (value <= 0n || value >= publicKey.nSquared) {
    throw new PrivkitError('E_ARG', `${name} is not a ciphertext: it must satisfy 0 < c < n^2`, { argument: name });
  }
  if (gcd(value, publicKey.n) !== 1n) {
    throw new PrivkitError('E_ARG', `${name} is not a ciphertext: gcd(c, n) must be 1`, { argument: name });
  }
  return value;
}

/** Greatest common divisor (Euclid). */
export function gcd(a: bigint, b: bigint): bigint {
  if (a < 0n) a = -a;
  if (b < 0n) b = -b;
  while (b !== 0n) [a, b] = [b, a % b];
  return a;
}

/** a^-1 mod m (extended Euclid); throws when gcd(a, m) != 1. */
export function modInverse(a: bigint, m: bigint): bigint {
  let [r0, r1] = [((a % m) + m) % m, m];
  let [s0, s1] = [1n, 0n];
  while (r1 !== 0n) {
    const t = r0 / r1;
    [r0, r1] = [r1, r0 - t * r1];
    [s0, s1] = [s1, s0 - t * s1];
  }
  if (r0 !== 1n) throw new PrivkitError('E_ARG', 'value is not invertible modulo m');
  return ((s0 % m) + m) % m;
}
