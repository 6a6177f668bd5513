// Random probable primes from the CSPRNG: random odd candidates with the top two bits set, trial
// division by the odd primes below 2000, then Miller-Rabin with random bases (FIPS 186-5, B.3 and
// Table B.1). Miller-Rabin's exponentiations run on the constant-time wasm kernel (./modpow.ts
// powSecret): the exponent (w - 1) / 2^a of a prime being generated or imported is secret. Also
// the integer roots behind the perfect-power and Fermat checks of imported keys (keys.ts), and
// uniform random integers below a bound and units mod n (Paillier's r).
import { PrivkitError } from '../errors.js';
import { isRng, type Rng } from '../dp/rng.js';
import { assertInteger, describe } from '../validate.js';
import { gcd } from '../math/modular.js';
import { bitLength, MAX_MODULUS_BITS, Modulus } from './modpow.js';

/** Largest prime randomPrime makes: the factors of the largest Paillier key (6144-bit n). */
export const MAX_PRIME_BITS = 3072;
/** Most Miller-Rabin rounds one call runs (64 already bound the error by 2^-128 for any input). */
export const MAX_MILLER_RABIN_ROUNDS = 256;

/** Odd primes below 2000, grouped so that each group's product is below 2^53. */
const SMALL_PRIMES: number[] = oddPrimesBelow(2000);
const GROUPS: Array<{ product: bigint; primes: number[] }> = groupPrimes(SMALL_PRIMES);

/**
 * Miller-Rabin rounds for a random candidate of `bits` bits and error <= 2^-128. FIPS 186-5
 * Table B.1: 4 rounds for 1536- and 2048-bit primes (2^-128, 2^-144); it gives 5 rounds for
 * 1024-bit primes at 2^-112, so 1024..1535 bits take 7 here as a margin. Below 1024 bits (test
 * keys only) 64 rounds: the worst-case bound 4^-64 = 2^-128 holds for any input.
 */
export function millerRabinRounds(bits: number): number {
  assertInteger('bits', bits, 1, MAX_MODULUS_BITS);
  if (bits >= 1536) return 4;
  if (bits >= 1024) return 7;
  return 64;
}

/**
 * A random probable prime of exactly `bits` bits (16..MAX_PRIME_BITS) with its top two bits set.
 *
 * @throws {PrivkitError} E_ARG when bits is not an integer in [16, 3072] or rng is not an Rng.
 * @throws {PrivkitError} E_NOT_READY before `await ready()`.
 */
export function randomPrime(bits: number, rng: Rng): bigint {
  checkPrimeBits(bits);
  checkRng(rng);
  for (;;) {
    const candidate = randomBits(bits, rng) | (3n << BigInt(bits - 2)) | 1n;
    if (!passesTrialDivision(candidate)) continue;
    if (millerRabin(candidate, millerRabinRounds(bits), rng)) return candidate;
  }
}

/** Checks the size randomPrime takes: an integer in [16, MAX_PRIME_BITS]. */
export function checkPrimeBits(bits: number): void {
  if (assertInteger('bits', bits, 16) > MAX_PRIME_BITS) {
    throw new PrivkitError('E_ARG', `bits must be at most ${MAX_PRIME_BITS}, got ${bits}`, { argument: 'bits' });
  }
}

/** Whether x (odd, > 2000) has no prime factor below 2000. */
export function passesTrialDivision(x: bigint): boolean {
  for (const { product, primes } of GROUPS) {
    const r = Number(x % product);
    for (const p of primes) if (r % p === 0) return false;
  }
  return true;
}

/**
 * Miller-Rabin with `rounds` (1..MAX_MILLER_RABIN_ROUNDS) random bases in [2, w - 2] (FIPS 186-5
 * B.3.1); w odd, 3 < w < 2^MAX_MODULUS_BITS. A composite passes one round with probability at most
 * 1/4 (Rabin 1980), far less for random candidates (FIPS 186-5 Table B.1's counts assume those).
 *
 * @throws {PrivkitError} E_ARG when w is not an odd bigint in (3, 2^12288), rounds is not an integer in [1, 256], or rng is not an Rng.
 * @throws {PrivkitError} E_NOT_READY before `await ready()`.
 */
export function millerRabin(w: bigint, rounds: number, rng: Rng): boolean {
  if (typeof w !== 'bigint' || w < 5n || (w & 1n) === 0n || bitLength(w) > MAX_MODULUS_BITS) {
    throw new PrivkitError('E_ARG', `w must be an odd bigint in (3, 2^${MAX_MODULUS_BITS}), got ${typeof w === 'bigint' && w > 0n ? `${bitLength(w)} bits` : describe(w)}`, {
      argument: 'w',
    });
  }
  if (assertInteger('rounds', rounds, 1) > MAX_MILLER_RABIN_ROUNDS) {
    throw new PrivkitError('E_ARG', `rounds must be at most ${MAX_MILLER_RABIN_ROUNDS}, got ${rounds}`, { argument: 'rounds' });
  }
  checkRng(rng);
  const wMinus1 = w - 1n;
  let a = 0;
  let d = wMinus1;
  while ((d & 1n) === 0n) {
    d >>= 1n;
    a++;
  }
  const mod = new Modulus(w);
  const bits = bitLength(w);
  for (let round = 0; round < rounds; round++) {
    let b: bigint;
    do b = randomBits(bits, rng);
    while (b <= 1n || b >= wMinus1);
    let z = mod.powSecret(b, d, bits);
    if (z === 1n || z === wMinus1) continue;
    let composite = true;
    for (let j = 1; j < a; j++) {
      z = (z * z) % w;
      if (z === wMinus1) {
        composite = false;
        break;
      }
      if (z === 1n) break;
    }
    if (composite) return false;
  }
  return true;
}

/** The largest x with x^k <= a (a >= 0, k >= 1), by Newton's iteration from above. */
export function integerRoot(a: bigint, k: number): bigint {
  if (a < 2n || k === 1) return a;
  const kk = BigInt(k);
  let x = 1n << BigInt(Math.ceil(bitLength(a) / k)); // >= the root
  for (;;) {
    const next = ((kk - 1n) * x + a / x ** (kk - 1n)) / kk;
    if (next >= x) return x;
    x = next;
  }
}

/**
 * Whether a >= 2 is x^k for some integers x >= 2, 2 <= k <= maxExponent (checked for prime k; by
 * default every k up to the bit length, fewer when x is known to be large: x >= 2000 needs k <= |a| / 10.9).
 */
export function isPerfectPower(a: bigint, maxExponent = bitLength(a)): boolean {
  for (let k = 2; k <= maxExponent; k++) {
    if (!isSmallPrime(k)) continue;
    const root = integerRoot(a, k);
    if (root >= 2n && root ** BigInt(k) === a) return true;
  }
  return false;
}

/** Checks that `rng` is a generator (an object with a bytes method). */
export function checkRng(rng: unknown, name = 'rng'): asserts rng is Rng {
  if (!isRng(rng)) {
    throw new PrivkitError('E_ARG', `${name} must be an Rng from createRng(), got ${describe(rng)}`, { argument: name });
  }
}

function isSmallPrime(k: number): boolean {
  for (let d = 2; d * d <= k; d++) if (k % d === 0) return false;
  return k >= 2;
}

/** A uniform integer in [0, 2^bits) from the generator. */
export function randomBits(bits: number, rng: Rng): bigint {
  const bytes = rng.bytes(Math.ceil(bits / 8));
  const extra = bytes.length * 8 - bits;
  bytes[0] = bytes[0]! & (0xff >> extra);
  let hex = '';
  for (let i = 0; i < bytes.length; i++) hex += bytes[i]!.toString(16).padStart(2, '0');
  return BigInt('0x' + hex);
}

/** A uniform integer in [0, bound) (bound >= 1), by rejection. */
export function randomBelow(bound: bigint, rng: Rng): bigint {
  const bits = bitLength(bound);
  for (;;) {
    const x = randomBits(bits, rng);
    if (x < bound) return x;
  }
}

/** A uniform r in Z*_n, by rejection. */
export function randomUnit(n: bigint, rng: Rng): bigint {
  let r: bigint;
  do r = randomBelow(n, rng);
  while (r === 0n || gcd(r, n) !== 1n);
  return r;
}

function oddPrimesBelow(limit: number): number[] {
  const sieve = new Uint8Array(limit);
  const primes: number[] = [];
  for (let i = 3; i < limit; i += 2) {
    if (sieve[i] === 1) continue;
    primes.push(i);
    for (let j = i * i; j < limit; j += 2 * i) sieve[j] = 1;
  }
  return primes;
}

function groupPrimes(primes: number[]): Array<{ product: bigint; primes: number[] }> {
  const groups: Array<{ product: bigint; primes: number[] }> = [];
  let product = 1;
  let members: number[] = [];
  for (const p of primes) {
    if (product * p > Number.MAX_SAFE_INTEGER) {
      groups.push({ product: BigInt(product), primes: members });
      product = 1;
      members = [];
    }
    product *= p;
    members.push(p);
  }
  groups.push({ product: BigInt(product), primes: members });
  return groups;
}
