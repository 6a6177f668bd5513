// The pooled work of Paillier key generation and r^n precomputation, as pooled operations, their
// plans and merges (the contract is in src/pool/types.ts): generateKeyPair({ pool }) and
// PublicKey.precomputeInPool in ./keys.ts run them; the workers' runs, each drawing from its own
// CSPRNG, are in ./key-pool-run.ts. They use only the arithmetic below the key classes
// (./primes.ts), so keys.ts imports this file without a cycle; the packed-vector operations, which
// need the key classes, are in ./pool-ops.ts.
import { PrivkitError } from '../errors.js';
import type { PoolOperation } from '../pool/types.js';
import { assertInteger, describe } from '../validate.js';
import { checkPrimeBits } from './primes.js';

export interface PrimesTask {
  bits: number;
  count: number;
}

export interface RandomnessTask {
  n: bigint;
  count: number;
}

/** `count` random probable primes of `bits` bits (as randomPrime), split over the workers. */
export const paillierPrimes: PoolOperation<[bits: number, count: number], PrimesTask, bigint[], bigint[]> = {
  name: 'paillierPrimes',
  family: 'paillierKeys',
  plan(bits, count) {
    checkPrimeBits(bits);
    return { rows: assertInteger('count', count), task: (part) => ({ bits, count: part.rows }) };
  },
  merge: (parts) => parts.flat(),
};

/**
 * `count` values r^n mod n^2 (r uniform in Z*_n, so each is Enc(0)) for the modulus n of a public
 * key, split over the workers. The caller (precomputeInPool) bounds the count and checks every value
 * before use.
 */
export const paillierRandomness: PoolOperation<[n: bigint, count: number], RandomnessTask, bigint[], bigint[]> = {
  name: 'paillierRandomness',
  family: 'paillierKeys',
  plan(n, count) {
    if (typeof n !== 'bigint' || n <= 1n || (n & 1n) === 0n) {
      throw new PrivkitError('E_ARG', `n must be an odd bigint > 1, got ${describe(n)}`, { argument: 'n' });
    }
    return { rows: assertInteger('count', count), task: (part) => ({ n, count: part.rows }) };
  },
  merge: (parts) => parts.flat(),
};
