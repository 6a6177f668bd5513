// Server-side aggregation of client updates for FedAvg, behind one interface so that the privacy
// mechanism is pluggable: the server clips every update to the clip norm and hands the clipped
// updates to an UpdateAggregator, which returns their (noisy) sum. Noise belongs to the
// aggregator: CentralDpAggregator adds it at the server (user-level central DP, McMahan et al. 2018,
// Alg. 1: Gaussian noise of standard deviation z C on the sum); a distributed-DP aggregator
// (quantization, discrete Gaussian noise per client, secure aggregation) implements the same
// interface. NonPrivateAggregator is plain FedAvg (McMahan et al. 2017).
import type { DistributedDiscreteGaussianEvent } from '../accounting/events.js';
import { PrivkitError } from '../errors.js';
import { clipAndSum } from '../kernels/clip.js';
import { sum } from '../kernels/reduce.js';
import { resolveRng } from '../dp/noise.js';
import type { Rng } from '../dp/rng.js';
import { secureGaussian } from '../dp/secure.js';
import { assertInteger, assertNumber, describe } from '../validate.js';
import { assertFinite } from './model.js';

export interface AggregateResult {
  /** The (noisy) sum of the included updates; length = the model's parameter count. */
  sum: Float32Array;
  /** How many updates the sum holds (secure aggregation may drop clients that fail mid-round). */
  included: number;
  /**
   * The release's privacy event when it is not the Gaussian of `noiseMultiplier` (the distributed
   * discrete Gaussian of secure aggregation, before sampling: the server adds its sampling rate and
   * mode with subsampledDistributedEvent), or null
   * when nothing derived from the updates was released (a withheld round: the sum is all zeros).
   */
  event?: DistributedDiscreteGaussianEvent | null;
}

export interface UpdateAggregator {
  /**
   * Standard deviation of the noise in the returned sum divided by the clip norm (the noise
   * multiplier z; 0 for none). The server's RDP accountant charges every round with it unless
   * aggregate() returns its own event.
   */
  readonly noiseMultiplier: number;
  /**
   * True when the released sum does not reveal how many updates it holds (its noise does not depend on
   * the count, and no round is withheld): the condition for amplification by Poisson sampling against
   * observers of the model. Distributed DP reveals the count (the noise grows with it).
   */
  readonly hidesCount?: boolean;
  /**
   * The costliest event one round can charge (before sampling), when aggregate() returns events of its
   * own: FedAvg refuses a round that could take epsilon past its target.
   */
  worstCaseEvent?(): DistributedDiscreteGaussianEvent;
  /**
   * Sums the updates of one round (each already clipped to the clip norm by the server, each of
   * the model's parameter count) and adds the aggregator's noise. `round` counts from 1.
   */
  aggregate(clippedDeltas: Float32Array[], round: number): Promise<AggregateResult>;
}

export interface NonPrivateAggregatorOptions {
  /** Length of every update (the model's parameter count). */
  dimension: number;
}

export interface CentralDpAggregatorOptions extends NonPrivateAggregatorOptions {
  /** L2 bound C of each update: enforced again here (clipAndSum), since the privacy guarantee rests on it. */
  clipNorm: number;
  /** z > 0: the noise on the sum has standard deviation z C. */
  noiseMultiplier: number;
  /** Noise generator; default: this thread's CSPRNG. A seeded Rng is reproducible and only for simulations. */
  rng?: Rng;
}

/** The plain sum of the updates, no noise. */
export class NonPrivateAggregator implements UpdateAggregator {
  readonly noiseMultiplier = 0;
  readonly dimension: number;

  constructor(options: NonPrivateAggregatorOptions) {
    this.dimension = checkDimension(options);
  }

  async aggregate(clippedDeltas: Float32Array[], round: number): Promise<AggregateResult> {
    const x = stack(clippedDeltas, round, this.dimension);
    return { sum: x === undefined ? new Float32Array(this.dimension) : sum(x, clippedDeltas.length), included: clippedDeltas.length };
  }
}

/**
 * User-level central DP: clips each update to clipNorm and sums them (clipAndSum), then adds
 * Gaussian noise of standard deviation noiseMultiplier x clipNorm with the secure lattice sampler
 * (secureGaussian), so the released sum resists floating-point attacks. The noise does not depend on
 * how many updates arrived and is added even when none did, so the release hides the count (an empty
 * Poisson round looks like any other).
 */
export class CentralDpAggregator implements UpdateAggregator {
  readonly hidesCount = true;
  readonly dimension: number;
  readonly clipNorm: number;
  readonly noiseMultiplier: number;
  private readonly rng: Rng;

  constructor(options: CentralDpAggregatorOptions) {
    this.dimension = checkDimension(options);
    this.clipNorm = assertNumber('options.clipNorm', options.clipNorm, 'positive');
    this.noiseMultiplier = assertNumber('options.noiseMultiplier', options.noiseMultiplier, 'positive');
    this.rng = resolveRng({ rng: options.rng });
  }

  async aggregate(clippedDeltas: Float32Array[], round: number): Promise<AggregateResult> {
    const x = stack(clippedDeltas, round, this.dimension);
    const total = x === undefined ? new Float64Array(this.dimension) : Float64Array.from(clipAndSum(x, clippedDeltas.length, this.clipNorm).sum);
    const noisy = secureGaussian(total, this.noiseMultiplier * this.clipNorm, { rng: this.rng }).values;
    return { sum: Float32Array.from(noisy), included: clippedDeltas.length };
  }
}

export function checkDimension(options: unknown): number {
  if (typeof options !== 'object' || options === null) {
    throw new PrivkitError('E_ARG', `options must be an object, got ${describe(options)}`, { argument: 'options' });
  }
  return assertInteger('options.dimension', (options as NonPrivateAggregatorOptions).dimension, 1);
}

/** Checks the arguments of aggregate and copies the updates into one matrix (undefined when there are none). */
export function stack(deltas: unknown, round: unknown, dimension: number): Float32Array | undefined {
  assertInteger('round', round, 1);
  if (!Array.isArray(deltas)) throw new PrivkitError('E_ARG', `clippedDeltas must be an array, got ${describe(deltas)}`, { argument: 'clippedDeltas' });
  if (deltas.length === 0) return undefined;
  const x = new Float32Array(deltas.length * dimension);
  deltas.forEach((delta: unknown, k) => {
    if (!(delta instanceof Float32Array) || delta.length !== dimension) {
      throw new PrivkitError('E_SHAPE', `clippedDeltas[${k}] must be a Float32Array of length ${dimension}, got ${describe(delta)}`, {
        argument: 'clippedDeltas',
        index: k,
      });
    }
    assertFinite(`clippedDeltas[${k}]`, delta);
    x.set(delta, k * dimension);
  });
  return x;
}
