// The DP data loader's sampler: Poisson sampling (each record independently with probability q),
// the sampling that the accountants' subsampled Gaussian assumes (Abadi et al. 2016; Opacus'
// DPDataLoader), drawn from privkit's ChaCha20 CSPRNG. Batches vary in size and may be empty.
import { MAX_RNG_LENGTH, type Rng } from '../dp/rng.js';
import { generatorOf } from '../dp/noise.js';
import { PrivkitError } from '../errors.js';
import { assertInteger, assertNumber, describe, readOptions } from '../validate.js';

/** Options of {@link poissonSample}. */
export interface PoissonSampleOptions {
  /** The generator (privkit's CSPRNG by default; a seeded one only for tests). */
  rng?: Rng;
}

/** Records drawn per generator call. */
const CHUNK = 1 << 16;

/**
 * The indexes (ascending) of a Poisson sample of a dataset of `size` records: each record is in it
 * independently with probability `sampleRate`. The sample may be empty; its expected size is
 * size x sampleRate, which DP-SGD divides the noised sum by.
 *
 * @param size - the number of records (an integer in [0, 2^28]).
 * @param sampleRate - q in (0, 1].
 * @param opts - the generator.
 * @throws {PrivkitError} E_ARG when size is not an integer in [0, 2^28], sampleRate is not in (0, 1], or opts.rng is not an Rng from createRng.
 * @throws {PrivkitError} E_NOT_READY before `await ready()`.
 *
 * @example
 * ```ts
 * import { ready } from 'privkit';
 * import { poissonSample } from 'privkit/tfjs';
 * await ready();
 * const batch = poissonSample(60_000, 256 / 60_000); // about 256 indexes
 * ```
 */
export function poissonSample(size: number, sampleRate: number, opts?: PoissonSampleOptions): Uint32Array {
  const { rng: given } = readOptions(opts, ['rng']);
  const rng = generatorOf(given);
  const n = assertInteger('size', size, 0, MAX_RNG_LENGTH);
  const q = assertSampleRate(sampleRate);
  const chosen: number[] = [];
  for (let start = 0; start < n; start += CHUNK) {
    const u = rng.uniform(Math.min(CHUNK, n - start));
    for (let i = 0; i < u.length; i++) if (u[i]! < q) chosen.push(start + i);
  }
  return Uint32Array.from(chosen);
}

/** q in (0, 1]. */
export function assertSampleRate(value: unknown, name = 'sampleRate'): number {
  const q = assertNumber(name, value, 'positive');
  if (q > 1) throw new PrivkitError('E_ARG', `${name} must be in (0, 1], got ${describe(value)}`, { argument: name });
  return q;
}
