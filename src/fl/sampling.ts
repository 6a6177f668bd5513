// Randomness of federated training, all from privkit's ChaCha20 generators (CSPRNG by default):
// unbiased integers below a bound, Fisher-Yates shuffles (client mini-batch order), and the two
// client-sampling schemes of DP-FedAvg: Poisson (each client independently with probability q, as
// McMahan et al. 2018) and a fixed-size sample without replacement.
import type { Rng } from '../dp/rng.js';

/** Uniform integers below a bound from an Rng, by rejection on 32-bit words (no modulo bias). */
export class UniformIntegers {
  private readonly words = new Uint32Array(64);
  private next = 64;

  constructor(private readonly rng: Rng) {}

  /** An integer uniform on {0, ..., bound - 1}, for 1 <= bound <= 2^32. */
  below(bound: number): number {
    const limit = 2 ** 32 - (2 ** 32 % bound);
    for (;;) {
      if (this.next === this.words.length) {
        this.rng.fill(this.words);
        this.next = 0;
      }
      const word = this.words[this.next++]!;
      if (word < limit) return word % bound;
    }
  }

  /** Shuffles `order` in place (Fisher-Yates). */
  shuffle(order: Uint32Array): void {
    for (let i = order.length - 1; i > 0; i--) {
      const j = this.below(i + 1);
      const t = order[i]!;
      order[i] = order[j]!;
      order[j] = t;
    }
  }
}

/** Indexes (ascending) of the clients of a Poisson sample: each of `population` clients with probability `rate`. */
export function poissonSample(population: number, rate: number, rng: Rng): number[] {
  const u = rng.uniform(population);
  const chosen: number[] = [];
  for (let i = 0; i < population; i++) if (u[i]! < rate) chosen.push(i);
  return chosen;
}

/** Indexes (ascending) of `size` distinct clients out of `population`, uniformly (partial Fisher-Yates). */
export function fixedSizeSample(population: number, size: number, integers: UniformIntegers): number[] {
  const pool = new Uint32Array(population);
  for (let i = 0; i < population; i++) pool[i] = i;
  for (let i = 0; i < size; i++) {
    const j = i + integers.below(population - i);
    const t = pool[i]!;
    pool[i] = pool[j]!;
    pool[j] = t;
  }
  return Array.from(pool.subarray(0, size)).sort((a, b) => a - b);
}
