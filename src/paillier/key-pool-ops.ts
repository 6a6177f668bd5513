// The pooled work of Paillier key generation and r^n precomputation, as pooled operations (the
// contract is in src/pool/types.ts): generateKeyPair({ pool }) and PublicKey.precomputeInPool in
// ./keys.ts run them. They use only the arithmetic below the key classes (./primes.ts,
// ./modpow.ts), so keys.ts imports this file without a cycle; the packed-vector operations, which
// need the key classes, are in ./pool-ops.ts. Each worker draws from its own CSPRNG.
import { createRng, type Rng } from '../dp/rng.js';
import { PrivkitError } from '../errors.js';
import type { PoolOperation } from '../pool/types.js';
import { assertInteger, describe } from '../validate.js';
import { Modulus } from './modpow.js';
import { checkPrimeBits, randomPrime, randomUnit } from './primes.js';

/** This worker's generator. */
let workerRng: Rng | undefined;
const csprng = (): Rng => (workerRng ??= createRng());

/** n and n^2 of this worker's last randomness part (the Montgomery constants of n^2 are reused). */
let lastModulus: { n: bigint; nSquared: Modulus } | undefined;

/** `count` random probable primes of `bits` bits (as randomPrime), split over the workers. */
export const paillierPrimes: PoolOperation<[bits: number, count: number], { bits: number; count: number }, bigint[], bigint[]> = {
  name: 'paillierPrimes',
  plan(bits, count) {
    checkPrimeBits(bits);
    return { rows: assertInteger('count', count), task: (part) => ({ bits, count: part.rows }) };
  },
  run: ({ bits, count }, _, progress) =>
    Array.from({ length: count }, (_, k) => {
      progress(k);
      return randomPrime(bits, csprng());
    }),
  merge: (parts) => parts.flat(),
};

/**
 * `count` values r^n mod n^2 (r uniform in Z*_n, so each is Enc(0)) for the modulus n of a public
 * key, split over the workers. The caller (precomputeInPool) bounds the count and checks every value
 * before use.
 */
export const paillierRandomness: PoolOperation<[n: bigint, count: number], { n: bigint; count: number }, bigint[], bigint[]> = {
  name: 'paillierRandomness',
  plan(n, count) {
    if (typeof n !== 'bigint' || n <= 1n || (n & 1n) === 0n) {
      throw new PrivkitError('E_ARG', `n must be an odd bigint > 1, got ${describe(n)}`, { argument: 'n' });
    }
    return { rows: assertInteger('count', count), task: (part) => ({ n, count: part.rows }) };
  },
  run({ n, count }) {
    if (lastModulus?.n !== n) lastModulus = { n, nSquared: new Modulus(n * n) };
    const { nSquared } = lastModulus;
    // n is public: the variable-time exponentiation, as PublicKey's own r^n
    return Array.from({ length: count }, () => nSquared.pow(randomUnit(n, csprng()), n));
  },
  merge: (parts) => parts.flat(),
};
