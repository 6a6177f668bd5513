// Paillier's additively homomorphic cryptosystem (Paillier, EUROCRYPT 1999) with g = n + 1, so
// g^m = 1 + m n mod n^2 and encryption costs one exponentiation r^n mod n^2. Decryption by CRT
// with exponents p - 1 and q - 1 and precomputed hp, hq (the form of python-paillier,
// phe/paillier.py), on the constant-time exponentiation with a blinded exponent. Exponentiations
// run on the wasm Montgomery kernels (./modpow.ts); randomness only from the CSPRNG (createRng).
// Plaintexts are integers mod n. The key owner can encrypt by CRT (r^n mod p^2 and mod q^2, as in
// python-paillier's private-key encryption), and a public key can queue precomputed r^n values
// (filled here or by pool workers) so that encryption is one product. Keys given from outside are
// validated as far as the given parts allow (see the PublicKey and PrivateKey constructors).
// Packed vectors (the layout and packing in ./packing.ts) are encrypted, added and decrypted here,
// beside the key methods that serve them.
import { createRng, type Rng } from '../dp/rng.js';
import { abortedError, PrivkitError } from '../errors.js';
import { assertPool, checkpoint, refuseInPool } from '../pool/guards.js';
import type { CallOptions, PoolRunner } from '../pool/types.js';
import { assertInteger, callOptions, describe, optionalBoolean, readOptions } from '../validate.js';
import { readArray } from '../validate-arrays.js';
import { ready } from '../wasm/runtime.js';
import { paillierPrimes, paillierRandomness } from './key-pool-ops.js';
import { gcd, modInverse } from '../math/modular.js';
import { bitLength, Modulus } from './modpow.js';
import { layoutForKeyBits, packVector, unpackVector, type PackingLayout, type PackingOptions } from './packing.js';
import { checkRng, integerRoot, isPerfectPower, millerRabin, millerRabinRounds, passesTrialDivision, randomBits, randomPrime, randomUnit } from './primes.js';

/** Keys below this size need `allowInsecureTestKeys` (NIST SP 800-57: 2048-bit factoring moduli). */
export const MIN_KEY_BITS = 2048;
/** Largest key size: n^2 must fit the Montgomery kernels (12288 bits). */
export const MAX_KEY_BITS = 6144;
/** Smallest key size even with `allowInsecureTestKeys`. */
export const MIN_TEST_KEY_BITS = 128;
/** Most r^n values one precompute call adds (2^20: 512 MiB at 2048 bits). */
export const MAX_PRECOMPUTE = 1 << 20;
/** Most the bit lengths of p and q may differ in a private key (generated keys: 0). */
export const MAX_FACTOR_BITS_DIFFERENCE = 8;
/**
 * Miller-Rabin rounds for a prime given from outside: 4^-64 = 2^-128 bounds the error for any
 * composite (Rabin 1980). FIPS 186-5 Table B.1's smaller counts hold only for random candidates;
 * a composite built to fool the test (Monier-Rabin) passes each round with probability near 1/4.
 */
export const IMPORTED_PRIME_ROUNDS = 64;
/** Bits of the random factor that blinds each decryption's exponents. */
const BLINDING_BITS = 64;

/** Options of the key constructors, key generation and key parsing. */
export interface KeyOptions {
  /** Accept keys below 2048 bits (down to 128). For tests only: such keys are not secure. */
  allowInsecureTestKeys?: boolean;
}

/** Options of {@link generateKeyPair}. */
export interface GenerateKeyPairOptions extends KeyOptions {
  /** Bit length of n (even, default 3072). */
  bits?: number;
  /** Generator for the primes (default: a fresh CSPRNG). A seeded generator is for tests only. */
  rng?: Rng;
  /** Search for p and q in parallel on this pool's workers, each with its own CSPRNG (no `rng` then). */
  pool?: PoolRunner;
  /**
   * Aborting it rejects with E_ABORTED: at once with a pool (its workers are replaced), else
   * between the two primes, which this thread searches for one after the other.
   */
  signal?: AbortSignal;
  /** Called with the primes found so far, of 2. */
  onProgress?: (done: number, total: number) => void;
}

/** Options of the encryptions. */
export interface EncryptOptions {
  /** Generator for r (default: the module's CSPRNG). A seeded generator is for tests only. */
  rng?: Rng;
}

/** A key pair made by {@link generateKeyPair}. */
export interface KeyPair {
  /** The public key (n): encrypts and combines ciphertexts. */
  publicKey: PublicKey;
  /** The private key (p, q): decrypts; its `publicKey` is the same object as the pair's. */
  privateKey: PrivateKey;
}

let defaultRng: Rng | undefined;
function csprng(): Rng {
  defaultRng ??= createRng();
  return defaultRng;
}

/** The origin under which r^n values from the CSPRNG are queued. */
const CSPRNG_ORIGIN = Symbol('csprng');
/**
 * Module-private key options: FACTORED, n's factors were checked (PrivateKey skips the public-key
 * checks); PRIME_ROUNDS, the Miller-Rabin rounds still due for primes generated here (instead of
 * IMPORTED_PRIME_ROUNDS).
 */
const FACTORED = Symbol('factored');
const PRIME_ROUNDS = Symbol('prime rounds');
interface InternalKeyOptions extends KeyOptions {
  [FACTORED]?: boolean;
  [PRIME_ROUNDS]?: number;
}

let trustedCiphertext: (publicKey: PublicKey, value: bigint) => Ciphertext;
/** Every Ciphertext made here (by the constructor, after its checks, or by an operation): an object merely made from the prototype is not one. */
const ciphertexts = new WeakSet<object>();

/** A Paillier ciphertext: an element of Z*_{n^2} under `publicKey`. */
export class Ciphertext {
  /** The key it was encrypted under. */
  declare readonly publicKey: PublicKey;
  /** The ciphertext c, in Z*_{n^2}. */
  declare readonly value: bigint;

  /**
   * Checks 0 < value < n^2 and gcd(value, n) = 1.
   *
   * @throws {PrivkitError} E_ARG when publicKey is not a PublicKey or value is not a bigint in Z*_{n^2}.
   */
  constructor(publicKey: PublicKey, value: bigint) {
    assertPublicKey('publicKey', publicKey);
    checkCiphertextValue(publicKey, value, 'value');
    Object.defineProperties(this, { publicKey: { value: publicKey, enumerable: true }, value: { value, enumerable: true } });
    ciphertexts.add(this);
  }

  static {
    trustedCiphertext = (publicKey, value) => {
      const c = Object.create(Ciphertext.prototype, {
        publicKey: { value: publicKey, enumerable: true },
        value: { value, enumerable: true },
      }) as Ciphertext;
      ciphertexts.add(c);
      return c;
    };
  }
}

/** Checks that `value` is a PublicKey made by its constructor (not an object made from the prototype). */
export function assertPublicKey(name: string, value: unknown): asserts value is PublicKey {
  if (!PublicKey.isKey(value)) throw new PrivkitError('E_ARG', `${name} must be a Paillier PublicKey, got ${describe(value)}`, { argument: name });
}

/** Checks that `value` is a PrivateKey made by its constructor. */
export function assertPrivateKey(name: string, value: unknown): asserts value is PrivateKey {
  if (!PrivateKey.isKey(value)) throw new PrivkitError('E_ARG', `${name} must be a Paillier PrivateKey, got ${describe(value)}`, { argument: name });
}

/** Checks that `value` is a Ciphertext made here (by the constructor or an operation). */
export function assertCiphertext(name: string, value: unknown): asserts value is Ciphertext {
  if (typeof value !== 'object' || value === null || !ciphertexts.has(value)) {
    throw new PrivkitError('E_ARG', `${name} must be a Paillier Ciphertext, got ${describe(value)}`, { argument: name });
  }
}

/** The value of a ciphertext given as a Ciphertext of `publicKey`'s key or as a raw bigint (fully validated). */
function ciphertextValue(publicKey: PublicKey, c: unknown, name: string): bigint {
  if (typeof c === 'bigint') return checkCiphertextValue(publicKey, c, name);
  if (typeof c !== 'object' || c === null || !ciphertexts.has(c)) {
    throw new PrivkitError('E_ARG', `${name} must be a Ciphertext or a bigint, got ${describe(c)}`, { argument: name });
  }
  const { publicKey: key, value } = c as Ciphertext;
  if (key !== publicKey && !key.equals(publicKey)) {
    throw new PrivkitError('E_ARG', `${name} was encrypted under a different public key`, { argument: name });
  }
  return value;
}

/**
 * A Paillier public key (g = n + 1): encrypts integers mod n and combines ciphertexts
 * homomorphically (add, addPlain, multiplyPlain, negate, subtract). Made by {@link generateKeyPair},
 * from a modulus (`new PublicKey(n)`) or by {@link publicKeyFromJSON} / {@link publicKeyFromBytes}.
 * Every operation except the constructor's checks needs `await ready()` first.
 *
 * @example
 * ```ts
 * import { generateKeyPair } from 'privkit/paillier';
 * const { publicKey, privateKey } = await generateKeyPair({ bits: 2048 });
 * const total = publicKey.add(publicKey.encrypt(20n), publicKey.encrypt(22n));
 * const doubled = publicKey.multiplyPlain(total, 2n);
 * console.log(privateKey.decrypt(doubled)); // 84n
 * ```
 */
export class PublicKey {
  /** The modulus n = p q. */
  readonly n: bigint;
  /** n^2, the ciphertext modulus. */
  readonly nSquared: bigint;
  /** Bit length of n. */
  readonly bits: number;
  readonly #modNSquared: Modulus;
  /**
   * Precomputed r^n mod n^2 values by origin, each taken (and removed) by one encryption: those
   * from the CSPRNG (this thread's or pool workers') under CSPRNG_ORIGIN, for encryptions without
   * opts.rng; those drawn from a caller's generator under that generator, for encryptions given it.
   */
  readonly #queues = new Map<Rng | typeof CSPRNG_ORIGIN, bigint[]>();
  /** Every value in the queues (to refuse duplicates). */
  readonly #queued = new Set<bigint>();

  /**
   * From the modulus n, with the checks a public key alone allows (NIST SP 800-56B Rev. 2, 6.4.2.2
   * partial public-key validation, and SP 800-89 5.3.3): n odd, of an allowed size, no prime factor
   * below 2000, not a probable prime, not a perfect power, and not a product of two factors so
   * close that one step of Fermat's method finds them. That n has exactly two prime factors can
   * not be checked without them.
   *
   * @param n - the modulus (2048 to 6144 bits; down to 128 with `opts.allowInsecureTestKeys`).
   * @throws {PrivkitError} E_ARG when n is not a bigint, is even, has a size outside the allowed range, or fails one of the checks above.
   * @throws {PrivkitError} E_NOT_READY before `await ready()`.
   */
  /** Whether `value` was made by this constructor (a brand check: prototype look-alikes and Proxies fail it). */
  static isKey(value: unknown): value is PublicKey {
    return typeof value === 'object' && value !== null && #modNSquared in value;
  }

  constructor(n: bigint, opts: KeyOptions = {}) {
    if (typeof n !== 'bigint') throw new PrivkitError('E_ARG', `n must be a bigint, got ${describe(n)}`, { argument: 'n' });
    const options: InternalKeyOptions = keyOptions(opts);
    if (n <= 1n || (n & 1n) === 0n) throw new PrivkitError('E_ARG', 'n must be an odd integer > 1 (a product of two odd primes)', { argument: 'n' });
    this.bits = bitLength(n);
    checkKeyBits(this.bits, options, 'n');
    if (options[FACTORED] !== true) checkPublicModulus(n);
    this.n = n;
    this.nSquared = n * n;
    this.#modNSquared = new Modulus(this.nSquared);
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
   * Enc(m) = (1 + m n) r^n mod n^2 with r uniform in Z*_n; m in (-n, n), taken mod n. A queued r^n
   * of the same origin (the CSPRNG, or opts.rng) is used (once) when there is one.
   *
   * @throws {PrivkitError} E_ARG when m is not a bigint in (-n, n) or opts.rng is not an Rng.
   * @throws {PrivkitError} E_NOT_READY before `await ready()`.
   */
  encrypt(m: bigint, opts: EncryptOptions = {}): Ciphertext {
    const rng = encryptRng(opts);
    const gm = this.gToThe(plaintextResidue(this, m, 'm'));
    return trustedCiphertext(this, (gm * this.#randomFactor(rng)) % this.nSquared);
  }

  /**
   * The same plaintext under fresh randomness: c r^n mod n^2 (a queued r^n as in encrypt).
   *
   * @throws {PrivkitError} E_ARG when c is not a ciphertext under this key or opts.rng is not an Rng.
   * @throws {PrivkitError} E_NOT_READY before `await ready()`.
   */
  rerandomize(c: Ciphertext | bigint, opts: EncryptOptions = {}): Ciphertext {
    const rng = encryptRng(opts);
    const value = this.own(c, 'c');
    return trustedCiphertext(this, (value * this.#randomFactor(rng)) % this.nSquared);
  }

  /**
   * Enc(a + b mod n) from Enc(a) and Enc(b): the product mod n^2.
   *
   * @throws {PrivkitError} E_ARG when c1 or c2 is not a ciphertext under this key (a raw bigint must lie in Z*_{n^2}).
   */
  add(c1: Ciphertext | bigint, c2: Ciphertext | bigint): Ciphertext {
    return trustedCiphertext(this, (this.own(c1, 'c1') * this.own(c2, 'c2')) % this.nSquared);
  }

  /**
   * Enc(a + m mod n) from Enc(a) and a plaintext m in (-n, n). Not re-randomized.
   *
   * @throws {PrivkitError} E_ARG when c is not a ciphertext under this key or m is not a bigint in (-n, n).
   */
  addPlain(c: Ciphertext | bigint, m: bigint): Ciphertext {
    const value = this.own(c, 'c');
    return trustedCiphertext(this, (value * this.gToThe(plaintextResidue(this, m, 'm'))) % this.nSquared);
  }

  /**
   * Enc(k a mod n) from Enc(a) and a plaintext k in (-n, n): c^k mod n^2. Not re-randomized. k is
   * treated as public: the exponentiation's time depends on its bits.
   *
   * @throws {PrivkitError} E_ARG when c is not a ciphertext under this key or k is not a bigint in (-n, n).
   * @throws {PrivkitError} E_NOT_READY before `await ready()`.
   */
  multiplyPlain(c: Ciphertext | bigint, k: bigint): Ciphertext {
    const value = this.own(c, 'c');
    const kk = plaintextResidue(this, k, 'k');
    // a negative k near 0 is cheaper as (c^-1)^|k| than as c^(n - |k|)
    if (this.n - kk < kk) return trustedCiphertext(this, this.#modNSquared.pow(unitInverse(value, this.nSquared), this.n - kk));
    return trustedCiphertext(this, this.#modNSquared.pow(value, kk));
  }

  /**
   * Enc(-a mod n) from Enc(a): c^-1 mod n^2.
   *
   * @throws {PrivkitError} E_ARG when c is not a ciphertext under this key.
   */
  negate(c: Ciphertext | bigint): Ciphertext {
    return trustedCiphertext(this, unitInverse(this.own(c, 'c'), this.nSquared));
  }

  /**
   * Enc(a - b mod n) from Enc(a) and Enc(b).
   *
   * @throws {PrivkitError} E_ARG when c1 or c2 is not a ciphertext under this key.
   */
  subtract(c1: Ciphertext | bigint, c2: Ciphertext | bigint): Ciphertext {
    const a = this.own(c1, 'c1');
    return trustedCiphertext(this, (a * unitInverse(this.own(c2, 'c2'), this.nSquared)) % this.nSquared);
  }

  /**
   * Encrypts x packed many entries per plaintext (see packing.ts: scale, clip, maxAdditions).
   * The same as {@link encryptVector}(this, x, opts).
   *
   * @throws {PrivkitError} E_ARG, E_NONFINITE, E_NOT_READY as {@link encryptVector}.
   */
  encryptVector(x: Float32Array, opts: PackingOptions): EncryptedVector {
    return encryptVector(this, x, opts);
  }

  /**
   * The packed sum of two encrypted vectors; E_OVERFLOW beyond their maxAdditions headroom.
   * The same as {@link addVectors}(this, a, b).
   *
   * @throws {PrivkitError} E_ARG, E_SHAPE, E_OVERFLOW as {@link addVectors}.
   */
  addVectors(a: EncryptedVector, b: EncryptedVector): EncryptedVector {
    return addVectors(this, a, b);
  }

  /** Number of precomputed CSPRNG r^n values queued for encryptions without opts.rng. */
  get precomputedCount(): number {
    return this.#queues.get(CSPRNG_ORIGIN)?.length ?? 0;
  }

  /**
   * Computes `count` values r^n mod n^2 now and queues them: from the CSPRNG for encryptions
   * without opts.rng, or from `opts.rng` (tests) for encryptions given that same generator.
   *
   * @param count - how many values (0 to {@link MAX_PRECOMPUTE}).
   * @throws {PrivkitError} E_ARG when count is not an integer in [0, 2^20] or opts.rng is not an Rng.
   * @throws {PrivkitError} E_NOT_READY before `await ready()`.
   */
  precompute(count: number, opts: EncryptOptions = {}): void {
    checkPrecomputeCount(count);
    const rng = encryptRng(opts);
    const origin = rng ?? CSPRNG_ORIGIN;
    const source = rng ?? csprng();
    const values: bigint[] = [];
    for (let i = 0; i < count; i++) values.push(this.#freshFactor(source));
    this.#enqueue(origin, values);
  }

  /**
   * Queues `count` values r^n mod n^2 computed by the pool's workers (each draws r from its own
   * CSPRNG) for encryptions without opts.rng; encryptions meanwhile compute their own. Each value
   * is checked: in Z*_{n^2}, not 1 mod n (r^n = 1 + k n only for r^n = 1, which would leave the
   * plaintext in the clear), and not already queued; a bad value refuses the whole batch.
   *
   * @throws {PrivkitError} E_ARG (as a rejection) when pool is not a Pool from createPool or count is not an integer in [0, 2^20].
   * @throws {PrivkitError} E_WORKER (as a rejection) when the pool fails or returns a missing, invalid, trivial or repeated value.
   */
  async precomputeInPool(pool: PoolRunner, count: number): Promise<void> {
    assertPool(pool, 'pool');
    checkPrecomputeCount(count);
    const values: unknown = await pool.run(paillierRandomness, this.n, count);
    if (!Array.isArray(values) || values.length !== count) {
      throw new PrivkitError('E_WORKER', `the pool returned ${Array.isArray(values) ? values.length : describe(values)} values, expected ${count}`);
    }
    this.#enqueue(CSPRNG_ORIGIN, values);
  }

  /**
   * A validated Ciphertext for a raw value under this key.
   *
   * @throws {PrivkitError} E_ARG when value is not a bigint in Z*_{n^2}.
   */
  ciphertext(value: bigint): Ciphertext {
    return new Ciphertext(this, value);
  }

  /** The value of c after checking it belongs to this key (a raw bigint is fully validated). */
  private own(c: Ciphertext | bigint, name: string): bigint {
    return ciphertextValue(this, c, name);
  }

  /** g^m = 1 + m n mod n^2 (m in [0, n)). */
  private gToThe(m: bigint): bigint {
    return (1n + m * this.n) % this.nSquared;
  }

  /** Checks every value (see precomputeInPool), then appends them all to the queue of `origin`. */
  #enqueue(origin: Rng | typeof CSPRNG_ORIGIN, values: unknown[]): void {
    const batch = new Set<bigint>();
    for (const value of values) {
      const x = checkCiphertextValue(this, value, 'r^n');
      if (x % this.n === 1n) throw new PrivkitError('E_WORKER', 'a precomputed r^n is 1 mod n: it would not hide the plaintext');
      if (this.#queued.has(x) || batch.has(x)) throw new PrivkitError('E_WORKER', 'a precomputed r^n repeats a queued value');
      batch.add(x);
    }
    if (batch.size === 0) return;
    const queue = this.#queues.get(origin) ?? [];
    queue.push(...batch);
    this.#queues.set(origin, queue);
    for (const x of batch) this.#queued.add(x);
  }

  /** r^n mod n^2 for r uniform in Z*_n: a queued value of the same origin, else a fresh one. */
  #randomFactor(rng: Rng | undefined): bigint {
    const origin = rng ?? CSPRNG_ORIGIN;
    const queue = this.#queues.get(origin);
    const queued = queue?.shift();
    if (queued !== undefined) {
      this.#queued.delete(queued);
      if (queue!.length === 0) this.#queues.delete(origin);
      return queued;
    }
    return this.#freshFactor(rng ?? csprng());
  }

  /** r^n mod n^2 for a new r uniform in Z*_n (n public: the variable-time exponentiation). */
  #freshFactor(rng: Rng): bigint {
    return this.#modNSquared.pow(randomUnit(this.n, rng), this.n);
  }
}

/**
 * A Paillier private key: the prime factors p and q of n. Decrypts by CRT on the constant-time
 * exponentiation with a blinded exponent; the key owner can also encrypt (faster, by CRT). Made by
 * {@link generateKeyPair}, from the primes (`new PrivateKey(p, q)`) or by {@link privateKeyFromJSON} /
 * {@link privateKeyFromBytes}.
 *
 * @example
 * ```ts
 * import { generateKeyPair, privateKeyToJSON, privateKeyFromJSON } from 'privkit/paillier';
 * const { publicKey, privateKey } = await generateKeyPair({ bits: 2048 });
 * const saved = JSON.stringify(privateKeyToJSON(privateKey)); // keep it secret
 * const restored = privateKeyFromJSON(saved);
 * console.log(restored.decrypt(publicKey.encrypt(7n))); // 7n (negative plaintexts come back as n - |m|)
 * ```
 */
export class PrivateKey {
  /** The matching public key (n = p q). */
  readonly publicKey: PublicKey;
  /** The first prime factor of n. Secret. */
  readonly p: bigint;
  /** The second prime factor of n. Secret. */
  readonly q: bigint;
  readonly #pSquared: Modulus;
  readonly #qSquared: Modulus;
  /** hp = L_p(g^(p-1) mod p^2)^-1 mod p = -q^-1 mod p (as g^(p-1) = 1 + (p-1) n mod p^2), hq likewise. */
  readonly #hp: bigint;
  readonly #hq: bigint;
  readonly #pInverseModQ: bigint;
  /** (p^2)^-1 mod q^2, to combine the halves of r^n by CRT. */
  readonly #p2InverseModQ2: bigint;
  /** Bits of the blinding factor u = 1 + k of each decryption (64, fewer for tiny test keys so that u < p, q). */
  readonly #blindingBits: number;

  /** Whether `value` was made by this constructor (a brand check: prototype look-alikes and Proxies fail it). */
  static isKey(value: unknown): value is PrivateKey {
    return typeof value === 'object' && value !== null && #hp in value;
  }

  /**
   * From the prime factors of n, checked: odd, distinct, of sizes within MAX_FACTOR_BITS_DIFFERENCE
   * bits and more than 2^(|n|/2 - 100) apart (FIPS 186-5 A.1.3), without a prime factor below 2000,
   * gcd(n, (p-1)(q-1)) = 1, n of an allowed size, and each prime by IMPORTED_PRIME_ROUNDS
   * Miller-Rabin rounds.
   *
   * @throws {PrivkitError} E_ARG when p or q is not an odd bigint >= 3, not prime, or the pair fails one of the checks above.
   * @throws {PrivkitError} E_NOT_READY before `await ready()`.
   */
  constructor(p: bigint, q: bigint, opts: KeyOptions = {}) {
    const options: InternalKeyOptions = keyOptions(opts);
    for (const [name, value] of [['p', p], ['q', q]] as const) {
      if (typeof value !== 'bigint' || value < 3n || (value & 1n) === 0n) {
        throw new PrivkitError('E_ARG', `${name} must be an odd prime bigint, got ${typeof value === 'bigint' ? 'an even or tiny value' : describe(value)}`, {
          argument: name,
        });
      }
    }
    const n = p * q;
    checkKeyBits(bitLength(n), options, 'n');
    const problem = factorProblem(p, q);
    if (problem !== undefined) throw new PrivkitError('E_ARG', problem.message, { argument: problem.argument });
    const rounds = options[PRIME_ROUNDS] ?? IMPORTED_PRIME_ROUNDS;
    for (const [name, value] of [['p', p], ['q', q]] as const) {
      if (rounds > 0 && !millerRabin(value, rounds, csprng())) throw new PrivkitError('E_ARG', `${name} is not prime`, { argument: name });
    }
    this.publicKey = new PublicKey(n, { ...options, [FACTORED]: true } as InternalKeyOptions);
    this.p = p;
    this.q = q;
    this.#pSquared = new Modulus(p * p);
    this.#qSquared = new Modulus(q * q);
    this.#hp = p - inverseModPrime(q % p, p);
    const pInverseModQ = inverseModPrime(p % q, q);
    this.#hq = q - pInverseModQ;
    this.#pInverseModQ = pInverseModQ;
    // (p^2)^-1 mod q^2 from v = p^-1 mod q: one Newton (Hensel) step gives p^-1 mod q^2
    const q2 = q * q;
    const v = (this.#pInverseModQ * (2n - ((p * this.#pInverseModQ) % q2))) % q2;
    this.#p2InverseModQ2 = (((v * v) % q2) + q2) % q2;
    this.#blindingBits = Math.min(BLINDING_BITS, bitLength(p < q ? p : q) - 2);
  }

  /**
   * Enc(m) for the key owner, as publicKey.encrypt (same distribution, never a queued r^n) but with
   * r^n mod n^2 from r^n mod p^2 and mod q^2 by CRT (python-paillier's private-key encryption).
   *
   * @throws {PrivkitError} E_ARG when m is not a bigint in (-n, n) or opts.rng is not an Rng.
   * @throws {PrivkitError} E_NOT_READY before `await ready()`.
   */
  encrypt(m: bigint, opts: EncryptOptions = {}): Ciphertext {
    const rng = encryptRng(opts) ?? csprng();
    const pk = this.publicKey;
    const gm = 1n + plaintextResidue(pk, m, 'm') * pk.n;
    return trustedCiphertext(pk, (gm * this.#rToTheN(randomUnit(pk.n, rng))) % pk.nSquared);
  }

  /**
   * The plaintext in [0, n) of a ciphertext under this key. The exponentiations run on the
   * constant-time kernel with exponents (p - 1) u and (q - 1) u for a fresh random u = 1 + k
   * (exponent blinding): L_p(c^((p-1) u) mod p^2) = u L_p(c^(p-1) mod p^2) mod p, so the halves
   * give u m mod p and mod q, and u^-1 mod n (n public) removes u after the CRT.
   *
   * @throws {PrivkitError} E_ARG when c is not a ciphertext under this key (a raw bigint must lie in Z*_{n^2}).
   * @throws {PrivkitError} E_NOT_READY before `await ready()`.
   */
  decrypt(c: Ciphertext | bigint): bigint {
    const pk = this.publicKey;
    const value = ciphertextValue(pk, c, 'c');
    const u = 1n + randomBits(this.#blindingBits, csprng());
    const mp = this.#half(value, this.p, this.#pSquared, this.#hp, u);
    const mq = this.#half(value, this.q, this.#qSquared, this.#hq, u);
    // CRT (Garner): u m mod n = mp + p ((mq - mp) p^-1 mod q)
    let t = ((mq - mp) * this.#pInverseModQ) % this.q;
    if (t < 0n) t += this.q;
    return ((mp + t * this.p) * unitInverse(u, pk.n)) % pk.n;
  }

  /**
   * The dequantized entries of an encrypted (possibly summed) packed vector.
   * The same as {@link decryptVector}(this, v).
   *
   * @throws {PrivkitError} E_ARG, E_SHAPE, E_OVERFLOW, E_NOT_READY as {@link decryptVector}.
   */
  decryptVector(v: EncryptedVector): Float64Array {
    return decryptVector(this, v);
  }

  /** u m mod p = L_p(c^((p-1) u) mod p^2) hp mod p; the exponent's length is fixed by |p| and the blinding bits. */
  #half(c: bigint, p: bigint, pSquared: Modulus, hp: bigint, u: bigint): bigint {
    const x = pSquared.powSecret(c, (p - 1n) * u, bitLength(p) + this.#blindingBits);
    return (((x - 1n) / p) * hp) % p;
  }

  /** r^n mod n^2 by CRT (Garner) from r^n mod p^2 and r^n mod q^2 (n public: the variable-time exponentiation). */
  #rToTheN(r: bigint): bigint {
    const xp = this.#pSquared.pow(r, this.publicKey.n);
    const xq = this.#qSquared.pow(r, this.publicKey.n);
    const q2 = this.#qSquared.m;
    let t = ((xq - xp) * this.#p2InverseModQ2) % q2;
    if (t < 0n) t += q2;
    return xp + t * this.#pSquared.m;
  }
}

/**
 * A new key pair: n of `bits` bits (default 3072; >= 2048 unless `allowInsecureTestKeys`). With
 * `opts.pool`, p and q are searched for in parallel on the pool's workers. Calls `ready()` itself.
 * Key generation takes seconds at 3072 bits on one thread; a pool shortens it.
 *
 * @throws {PrivkitError} E_ARG (as a rejection) when options is not an object, bits is not an even integer in [2048, 6144] (or [128, 6144] with allowInsecureTestKeys), opts.pool is not a Pool, opts.rng is not an Rng, both pool and rng are given, opts.signal is not an AbortSignal or opts.onProgress not a function.
 * @throws {PrivkitError} E_ABORTED (as a rejection) when opts.signal aborts it.
 * @throws {PrivkitError} E_WORKER (as a rejection) when a pool worker fails or returns an invalid prime.
 * @throws {PrivkitError} E_WASM (as a rejection) when the wasm module can not be loaded.
 *
 * @example
 * ```ts
 * import { generateKeyPair } from 'privkit/paillier';
 * const { publicKey, privateKey } = await generateKeyPair({ bits: 2048 });
 * const c = publicKey.addPlain(publicKey.encrypt(40n), 2n);
 * console.log(privateKey.decrypt(c)); // 42n
 * ```
 */
export async function generateKeyPair(options: GenerateKeyPairOptions = {}): Promise<KeyPair> {
  const opts = keyOptions(options) as GenerateKeyPairOptions;
  const call = callOptions(options);
  const bits = opts.bits === undefined ? 3072 : opts.bits;
  if (typeof bits !== 'number' || !Number.isSafeInteger(bits) || bits % 2 !== 0) {
    throw new PrivkitError('E_ARG', `bits must be an even integer, got ${describe(bits)}`, { argument: 'bits' });
  }
  checkKeyBits(bits, opts, 'bits');
  const pool = opts.pool;
  if (pool !== undefined) {
    assertPool(pool, 'opts.pool');
    refuseInPool('opts.rng', opts.rng, 'use opts.rng without opts.pool');
  }
  if (opts.rng !== undefined) checkRng(opts.rng, 'opts.rng');
  await ready();
  if (call.signal?.aborted) throw abortedError(call.signal);
  const rng = pool === undefined ? (opts.rng ?? createRng()) : undefined;
  // primes made here were tested with FIPS 186-5's rounds for random candidates; workers' primes
  // are tested again with those rounds on this thread
  const rounds = rng === undefined ? millerRabinRounds(bits / 2) : 0;
  for (;;) {
    const [p, q] = rng === undefined ? await workerPrimes(pool!, bits / 2, call) : await threadPrimes(bits / 2, rng, call);
    // the top two bits of p and q are set, so n has exactly `bits` bits
    if (factorProblem(p, q) !== undefined) continue;
    const privateKey = new PrivateKey(p, q, { allowInsecureTestKeys: opts.allowInsecureTestKeys === true, [PRIME_ROUNDS]: rounds } as InternalKeyOptions);
    return { publicKey: privateKey.publicKey, privateKey };
  }
}

/** Two primes of `bits` bits found on this thread, one after the other (an abort can come in between). */
async function threadPrimes(bits: number, rng: Rng, { signal, onProgress }: CallOptions): Promise<[bigint, bigint]> {
  const p = randomPrime(bits, rng);
  onProgress?.(1, 2);
  await checkpoint(signal);
  const q = randomPrime(bits, rng);
  onProgress?.(2, 2);
  return [p, q];
}

/** Two primes of `bits` bits from the pool's workers, checked for size and oddness (PrivateKey tests primality again). */
async function workerPrimes(pool: PoolRunner, bits: number, call: CallOptions): Promise<[bigint, bigint]> {
  const primes = await pool.runWith(call, paillierPrimes, bits, 2);
  for (const x of primes) {
    if (typeof x !== 'bigint' || bitLength(x) !== bits || (x & 1n) === 0n) throw new PrivkitError('E_WORKER', 'a pool worker returned an invalid prime');
  }
  return [primes[0]!, primes[1]!];
}

// ---- Packed vectors ----

/** An encrypted, packed vector: `count` encrypted vectors summed so far. */
export interface EncryptedVector {
  /** The key the ciphertexts are under. */
  publicKey: PublicKey;
  /** How the entries are packed into slots. */
  layout: PackingLayout;
  /** How many entries the vector has. */
  length: number;
  /** How many encrypted vectors this one is the sum of (1 when fresh; at most layout.maxAdditions). */
  count: number;
  /** ceil(length / layout.slots) ciphertexts, the first holding entries 0 to slots - 1 (entry 0 in the lowest slot). */
  ciphertexts: Ciphertext[];
}

/**
 * The slot layout for a key and options (throws when a single slot does not fit a plaintext).
 *
 * @throws {PrivkitError} E_ARG when publicKey is not a PublicKey, opts is not an options object, scale or clip is not finite and > 0, maxAdditions is not an integer >= 1, clip x scale does not round to an integer in [1, 2^53 / (2 maxAdditions)), or one slot does not fit the key.
 */
export function packingLayout(publicKey: PublicKey, opts: PackingOptions): PackingLayout {
  assertPublicKey('publicKey', publicKey);
  return layoutForKeyBits(publicKey.bits, opts);
}

/**
 * Encrypts x packed: ceil(x.length / slots) ciphertexts (entries must be finite). Each entry is
 * clipped to [-clip, clip] and quantized to round(x scale); up to `maxAdditions` such vectors can
 * then be summed under encryption with {@link addVectors}.
 *
 * @throws {PrivkitError} E_ARG when x is not an attached Float32Array, the packing options are invalid (see {@link packingLayout}), or opts.rng is not an Rng.
 * @throws {PrivkitError} E_NONFINITE when x holds NaN or +-Infinity.
 * @throws {PrivkitError} E_NOT_READY before `await ready()`.
 *
 * @example
 * ```ts
 * import { addVectors, decryptVector, encryptVector, generateKeyPair } from 'privkit/paillier';
 * const { publicKey, privateKey } = await generateKeyPair({ bits: 2048 });
 * const opts = { scale: 2 ** 16, clip: 1, maxAdditions: 100 }; // resolution 2^-16, up to 100 clients
 * const a = encryptVector(publicKey, new Float32Array([0.5, -0.25, 0.75]), opts);
 * const b = encryptVector(publicKey, new Float32Array([0.25, 0.5, 2]), opts); // 2 is clipped to 1
 * const sum = decryptVector(privateKey, addVectors(publicKey, a, b)); // [0.75, 0.25, 1.75]
 * ```
 */
export function encryptVector(publicKey: PublicKey, x: Float32Array, opts: PackingOptions): EncryptedVector {
  assertPublicKey('publicKey', publicKey);
  const { layout, plaintexts } = packVector(publicKey, x, opts);
  const { rng } = readOptions(opts, ['rng']);
  const ciphertexts = plaintexts.map((m) => publicKey.encrypt(m, rng === undefined ? {} : { rng }));
  return { publicKey, layout, length: x.length, count: 1, ciphertexts };
}

/**
 * The packed sum of two encrypted vectors of the same key, layout and length.
 *
 * @throws {PrivkitError} E_ARG when a or b is not an EncryptedVector under publicKey or their layouts differ.
 * @throws {PrivkitError} E_SHAPE when their lengths differ.
 * @throws {PrivkitError} E_OVERFLOW when the sum would hold more than maxAdditions vectors.
 */
export function addVectors(publicKey: PublicKey, first: EncryptedVector, second: EncryptedVector): EncryptedVector {
  assertPublicKey('publicKey', publicKey);
  const a = checkVector(publicKey, first, 'a');
  const b = checkVector(publicKey, second, 'b');
  if (a.length !== b.length) throw new PrivkitError('E_SHAPE', `vector lengths differ: ${a.length} and ${b.length}`, { argument: 'b' });
  const la = a.layout;
  const lb = b.layout;
  if (la.scale !== lb.scale || la.clip !== lb.clip || la.maxAdditions !== lb.maxAdditions || la.slotBits !== lb.slotBits || la.slots !== lb.slots) {
    throw new PrivkitError('E_ARG', 'the vectors were packed with different layouts (scale, clip, maxAdditions)', { argument: 'b' });
  }
  const count = a.count + b.count;
  if (count > la.maxAdditions) {
    throw new PrivkitError('E_OVERFLOW', `the sum would hold ${count} vectors, beyond the slot headroom maxAdditions = ${la.maxAdditions}`, { argument: 'b' });
  }
  const ciphertexts = a.ciphertexts.map((c, i) => publicKey.add(c, b.ciphertexts[i]!));
  return { publicKey, layout: la, length: a.length, count, ciphertexts };
}

/**
 * The entries of an encrypted vector (a sum of `count` vectors), dequantized.
 *
 * @throws {PrivkitError} E_ARG when v is not an EncryptedVector under this key.
 * @throws {PrivkitError} E_SHAPE when v has the wrong number of ciphertexts for its length.
 * @throws {PrivkitError} E_OVERFLOW when a plaintext holds more than its slots (corrupted or over-added).
 * @throws {PrivkitError} E_NOT_READY before `await ready()`.
 */
export function decryptVector(privateKey: PrivateKey, v: EncryptedVector): Float64Array {
  assertPrivateKey('privateKey', privateKey);
  const checked = checkVector(privateKey.publicKey, v, 'v');
  return unpackVector(checked, checked.ciphertexts.map((c) => privateKey.decrypt(c)));
}

/** Checks that v is an EncryptedVector under privateKey with as many ciphertexts as its length needs. */
export function checkEncryptedVector(privateKey: PrivateKey, v: EncryptedVector): void {
  assertPrivateKey('privateKey', privateKey);
  checkVector(privateKey.publicKey, v, 'v');
}

/**
 * A copy of the encrypted vector `v` after checking it is one under `publicKey` whose parts agree:
 * its layout is the one packingLayout gives for its scale, clip and maxAdditions, count is in
 * [1, maxAdditions], and it holds ceil(length / slots) Ciphertexts of this key.
 */
function checkVector(publicKey: PublicKey, v: unknown, name: string): EncryptedVector {
  if (typeof v !== 'object' || v === null) throw new PrivkitError('E_ARG', `${name} must be an EncryptedVector, got ${describe(v)}`, { argument: name });
  const { publicKey: key, layout, length, count, ciphertexts } = v as Partial<EncryptedVector>;
  if (!(typeof key === 'object' && key !== null && publicKey.equals(key))) {
    throw new PrivkitError('E_ARG', `${name}.publicKey is not this public key`, { argument: `${name}.publicKey` });
  }
  const l = readOptions(layout, ['scale', 'clip', 'maxAdditions', 'maxAbs', 'slotBits', 'slots'], `${name}.layout`);
  let expected: PackingLayout;
  try {
    expected = packingLayout(publicKey, l as PackingLayout);
  } catch {
    throw new PrivkitError('E_ARG', `${name}.layout is not a packing layout`, { argument: `${name}.layout` });
  }
  for (const field of ['maxAbs', 'slotBits', 'slots'] as const) {
    if (l[field] !== expected[field]) throw new PrivkitError('E_ARG', `${name}.layout.${field} does not match its scale, clip and maxAdditions`, { argument: `${name}.layout` });
  }
  const n = assertInteger(`${name}.length`, length);
  const k = assertInteger(`${name}.count`, count, 1, expected.maxAdditions);
  const expectedCount = Math.ceil(n / expected.slots);
  if (!Array.isArray(ciphertexts)) {
    throw new PrivkitError('E_ARG', `${name}.ciphertexts must be an array of Ciphertexts, got ${describe(ciphertexts)}`, { argument: `${name}.ciphertexts` });
  }
  const list = readArray(`${name}.ciphertexts`, ciphertexts, (itemName, c, index) => {
    assertCiphertext(itemName, c);
    if (!c.publicKey.equals(publicKey)) {
      throw new PrivkitError('E_ARG', `${itemName} was encrypted under a different public key`, { argument: `${name}.ciphertexts`, index });
    }
    return c;
  }, expectedCount);
  if (list.length !== expectedCount) {
    throw new PrivkitError('E_SHAPE', `${name} has ${list.length} ciphertexts for ${n} values (${expectedCount} expected)`, { argument: `${name}.ciphertexts` });
  }
  return { publicKey, layout: expected, length: n, count: k, ciphertexts: list };
}

/** m in (-n, n) as its residue in [0, n). */
function plaintextResidue(publicKey: PublicKey, m: unknown, name: string): bigint {
  if (typeof m !== 'bigint') throw new PrivkitError('E_ARG', `${name} must be a bigint, got ${describe(m)}`, { argument: name });
  if (m >= publicKey.n || m <= -publicKey.n) {
    throw new PrivkitError('E_ARG', `${name} is out of the plaintext range (-n, n) for a ${publicKey.bits}-bit key`, { argument: name });
  }
  return m < 0n ? m + publicKey.n : m;
}

function checkPrecomputeCount(count: number): void {
  if (assertInteger('count', count) > MAX_PRECOMPUTE) {
    throw new PrivkitError('E_ARG', `count must be at most ${MAX_PRECOMPUTE}, got ${count}`, { argument: 'count' });
  }
}

/**
 * What makes p, q (odd, > 2) unfit as the factors of a key, or undefined: equal, sizes more than
 * MAX_FACTOR_BITS_DIFFERENCE bits apart, |p - q| <= 2^(|n|/2 - 100) (FIPS 186-5 A.1.3), a prime
 * factor below 2000, or gcd(n, (p-1)(q-1)) != 1 (for primes: p | q - 1 or q | p - 1).
 */
function factorProblem(p: bigint, q: bigint): { message: string; argument: string } | undefined {
  if (p === q) return { message: 'p and q must be distinct primes', argument: 'q' };
  const [pBits, qBits] = [bitLength(p), bitLength(q)];
  if (Math.abs(pBits - qBits) > MAX_FACTOR_BITS_DIFFERENCE) {
    return { message: `p and q have ${pBits} and ${qBits} bits; their sizes may differ by at most ${MAX_FACTOR_BITS_DIFFERENCE} bits`, argument: 'q' };
  }
  const minDistanceBits = Math.floor(bitLength(p * q) / 2) - 100;
  if (minDistanceBits > 0 && bitLength(p > q ? p - q : q - p) <= minDistanceBits) {
    return { message: `|p - q| must exceed 2^${minDistanceBits} (FIPS 186-5): factors this close are found by Fermat's method`, argument: 'q' };
  }
  for (const [name, value] of [['p', p], ['q', q]] as const) {
    if (value > 2000n ? !passesTrialDivision(value) : !isOddPrimeBelow2000(value)) return { message: `${name} is not prime (it has a small factor)`, argument: name };
  }
  if ((p - 1n) % q === 0n || (q - 1n) % p === 0n) return { message: 'gcd(pq, (p-1)(q-1)) must be 1', argument: 'q' };
  return undefined;
}

function isOddPrimeBelow2000(x: bigint): boolean {
  const v = Number(x);
  for (let d = 3; d * d <= v; d += 2) if (v % d === 0) return false;
  return v >= 3;
}

/**
 * The checks of a modulus that a public key alone allows (n odd and of an allowed size are checked
 * before): no prime factor below 2000, not a probable prime (one Miller-Rabin round: a prime always
 * passes it), not a perfect power, and not p q with p, q so close that one step of Fermat's method
 * (ceil(sqrt n)^2 - n a square) finds them, which covers n = p^2.
 */
function checkPublicModulus(n: bigint): void {
  const fail = (why: string): never => {
    throw new PrivkitError('E_ARG', `n is not a Paillier modulus: ${why}`, { argument: 'n' });
  };
  if (!passesTrialDivision(n)) fail('it has a prime factor below 2000');
  const root = integerRoot(n, 2);
  const a = root * root === n ? root : root + 1n;
  const b2 = a * a - n;
  const b = integerRoot(b2, 2);
  if (b * b === b2) fail(b === 0n ? 'it is a square' : "its factors are so close that Fermat's method finds them");
  if (millerRabin(n, 1, csprng())) fail('it is a probable prime');
  // no prime factor below 2000, so a perfect power x^k has x > 2000 > 2^10.96 and k < |n| / 10.96
  if (isPerfectPower(n, Math.floor(bitLength(n) / 10.96))) fail('it is a perfect power');
}

/** a^-1 mod p for a prime p and 0 < a < p: a^(p - 2 + j (p - 1)) mod p (Fermat) on the constant-time kernel, with a random 64-bit j blinding the exponent. */
function inverseModPrime(a: bigint, p: bigint): bigint {
  const j = randomBits(BLINDING_BITS, csprng());
  return new Modulus(p).powSecret(a, p - 2n + j * (p - 1n), bitLength(p) + BLINDING_BITS);
}

/**
 * Key options, each read once (see readOptions): undefined or null as none; anything else must be
 * an object, with allowInsecureTestKeys a boolean. The module-private flags are copied too.
 */
function keyOptions(opts: unknown): InternalKeyOptions {
  const options: InternalKeyOptions = readOptions(opts as GenerateKeyPairOptions | undefined, ['allowInsecureTestKeys', 'bits', 'rng', 'pool']);
  optionalBoolean('opts.allowInsecureTestKeys', options.allowInsecureTestKeys);
  if (opts !== undefined && opts !== null) {
    const internal = opts as InternalKeyOptions;
    if (internal[FACTORED] !== undefined) options[FACTORED] = internal[FACTORED];
    if (internal[PRIME_ROUNDS] !== undefined) options[PRIME_ROUNDS] = internal[PRIME_ROUNDS];
  }
  return options;
}

/** The generator of an encryption's options: undefined for the CSPRNG, else a checked Rng. */
function encryptRng(opts: unknown): Rng | undefined {
  const rng = (keyOptions(opts) as EncryptOptions).rng;
  if (rng === undefined) return undefined;
  checkRng(rng, 'opts.rng');
  return rng;
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

/** a^-1 mod m for a unit a (ciphertexts and key parts are checked to be units before they get here). */
function unitInverse(a: bigint, m: bigint): bigint {
  const inverse = modInverse(a, m);
  if (inverse === undefined) throw new PrivkitError('E_ARG', 'value is not invertible modulo m');
  return inverse;
}
