// The pooled work of Paillier key generation and r^n precomputation, its runs in the workers (the
// contract is in src/pool/types.ts; the plans and merges are in ./key-pool-ops.ts). Each worker
// draws from its own CSPRNG and keeps the Montgomery constants of its last modulus.
import { createRng, type Rng } from '../dp/rng.js';
import type { PartRun } from '../pool/types.js';
import type { PrimesTask, RandomnessTask } from './key-pool-ops.js';
import { Modulus } from './modpow.js';
import { randomPrime, randomUnit } from './primes.js';

/** This worker's generator. */
let workerRng: Rng | undefined;
const csprng = (): Rng => (workerRng ??= createRng());

/** n and n^2 of this worker's last randomness part (the Montgomery constants of n^2 are reused). */
let lastModulus: { n: bigint; nSquared: Modulus } | undefined;

export const paillierPrimes: PartRun<PrimesTask, bigint[]> = ({ bits, count }, _, progress) =>
  Array.from({ length: count }, (_, k) => {
    progress(k);
    return randomPrime(bits, csprng());
  });

export const paillierRandomness: PartRun<RandomnessTask, bigint[]> = ({ n, count }) => {
  if (lastModulus?.n !== n) lastModulus = { n, nSquared: new Modulus(n * n) };
  const { nSquared } = lastModulus;
  // n is public: the variable-time exponentiation, as PublicKey's own r^n
  return Array.from({ length: count }, () => nSquared.pow(randomUnit(n, csprng()), n));
};
