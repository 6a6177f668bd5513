// Server-side aggregation of client updates for FedAvg, behind one interface so that the privacy
// mechanism is pluggable: the server clips every update to the clip norm and hands the clipped
// updates to an UpdateAggregator, which returns their (noisy) sum. Noise belongs to the
// aggregator: CentralDpAggregator adds it at the server (user-level central DP, McMahan et al. 2018,
// Alg. 1: Gaussian noise of standard deviation z C on the sum); a distributed-DP aggregator
// (quantization, discrete Gaussian noise per client, secure aggregation) implements the same
// interface. NonPrivateAggregator is plain FedAvg (McMahan et al. 2017).
import type { DistributedDiscreteGaussianEvent, Sampling, SubsampledGaussianEvent } from '../accounting/events.js';
import { PrivkitError } from '../errors.js';
import { clipByL2 } from '../kernels/clip-into.js';
import { sum } from '../kernels/reduce.js';
import { resolveRng } from '../dp/noise.js';
import type { Rng } from '../dp/rng.js';
import { gaussianLatticeFor, gaussianOnLattice, gaussianResolutionAt, latticeSensitivity } from '../dp/secure.js';
import { assertInteger, assertNumber, describe, readOptions } from '../validate.js';
import { currentLength, typedArrayKind } from '../wasm/boundary.js';
import { assertFinite } from './model.js';

/** What an {@link UpdateAggregator} returns for one round. */
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

/**
 * The server-side privacy mechanism of FedAvg: sums one round's clipped updates and adds its noise.
 * Implemented by {@link CentralDpAggregator}, {@link NonPrivateAggregator} and {@link SecureAggregator}.
 */
export interface UpdateAggregator {
  /**
   * Standard deviation of the noise in the returned sum divided by the clip norm (the noise
   * multiplier z; 0 for none). The server's RDP accountant charges every round with it unless
   * aggregate() returns its own event.
   */
  readonly noiseMultiplier: number;
  /**
   * True when the released sum does not reveal how many updates it holds (its noise does not depend on
   * the count, and no round is withheld: an empty round releases the noise alone): the condition for
   * amplification by Poisson sampling against observers of the model. Distributed DP reveals the count
   * (the noise grows with it). FedAvg refuses (E_PROTOCOL) a withheld round from such an aggregator.
   */
  readonly hidesCount?: boolean;
  /** The release's sampler slack (SubsampledGaussianEvent.slack) charged with noiseMultiplier; 0 by default. */
  readonly slack?: number;
  /** The release's sampler tail mass (SubsampledGaussianEvent.tailMass) charged with noiseMultiplier; 0 by default. */
  readonly tailMass?: number;
  /**
   * The L2 bound on one update that the noise is calibrated to, when the aggregator has one: FedAvg
   * clips to it (and refuses a different options.clipNorm).
   */
  readonly clipNorm?: number;
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

/** Options of {@link NonPrivateAggregator}. */
export interface NonPrivateAggregatorOptions {
  /** Length of every update (the model's parameter count). */
  dimension: number;
}

/** Options of {@link CentralDpAggregator}. */
export interface CentralDpAggregatorOptions extends NonPrivateAggregatorOptions {
  /** L2 bound C of each update: enforced again here (clipAndSum), since the privacy guarantee rests on it. */
  clipNorm: number;
  /** z > 0: the noise on the sum has standard deviation z C_eff, C_eff the charged per-update bound (C grown by rounding; see the class). */
  noiseMultiplier: number;
  /** Noise generator; default: this thread's CSPRNG. A seeded Rng is reproducible and only for simulations. */
  rng?: Rng;
}

/** The plain sum of the updates, no noise. */
export class NonPrivateAggregator implements UpdateAggregator {
  /** 0: no noise. */
  readonly noiseMultiplier = 0;
  /** Length of every update. */
  readonly dimension: number;

  /**
   * @throws {PrivkitError} E_ARG when options is not an object, dimension is not a positive integer,
   * or options carries another key (a `clipNorm` here would clip nothing: use CentralDpAggregator).
   */
  constructor(options: NonPrivateAggregatorOptions) {
    this.dimension = checkDimension(readOptions(options, ['dimension'], 'options', true).dimension);
  }

  /**
   * The plain sum of the updates (zeros for none).
   *
   * @throws {PrivkitError} E_ARG when round is not an integer >= 1 or clippedDeltas is not an array.
   * @throws {PrivkitError} E_SHAPE when an update is not a Float32Array of length `dimension`; E_NONFINITE when it holds NaN or +-Infinity.
   * @throws {PrivkitError} E_NOT_READY before `await ready()`.
   */
  async aggregate(clippedDeltas: Float32Array[], round: number): Promise<AggregateResult> {
    const x = stack(clippedDeltas, round, this.dimension);
    return { sum: x === undefined ? new Float32Array(this.dimension) : sum(x, clippedDeltas.length), included: clippedDeltas.length };
  }
}

/** The most updates one round may sum: a public bound, so the charged summation error is data-independent. */
const MAX_UPDATES_PER_ROUND = 2 ** 20;

/**
 * User-level central DP: clips each update to clipNorm (clipByL2, float32), sums them in float64 and
 * adds Gaussian noise with the secure lattice sampler (on the lattice of gaussianBitsFor(d) bits), so the released sum resists
 * floating-point attacks. The noise does not depend on how many updates arrived and is added even
 * when none did, so the release hides the count (an empty Poisson round looks like any other).
 *
 * What is charged: a clipped float32 row has norm at most C1 = C (1 + 5u) + sqrt(d) 2^-149 (u = 2^-24:
 * the norm's and the scaling's roundings, and underflow), the float64 sum of at most N =
 * MAX_UPDATES_PER_ROUND rows moves by at most 2 N gamma_N C1 more (Higham 2002, eq. 4.4; gamma_N =
 * N 2^-53 / (1 - N 2^-53)), and the lattice rounds each of the d coordinates by less than r
 * (latticeSensitivity). So adding or removing one update moves the release by at most
 * C_eff = C1 (1 + 2 N gamma_N) + r sqrt(d), and replacing one by at most 2 C_eff. The noise has
 * standard deviation noiseMultiplier x C_eff: the accountant's noise multiplier is exactly
 * noiseMultiplier (about 2.5e-4 relative more noise than z C from the summation bound, and up to 2^-7
 * from the lattice), and the lattice sampler's error is charged as the event's slack and tail mass
 * (gaussianSlackAt, gaussianTailAt).
 */
export class CentralDpAggregator implements UpdateAggregator {
  /** True: the noise does not depend on the count, and empty rounds are released too. */
  readonly hidesCount = true;
  /** Length of every update. */
  readonly dimension: number;
  /** The L2 bound C every update is clipped to. */
  readonly clipNorm: number;
  /** z: the noise's standard deviation divided by the charged per-update bound C_eff (>= clipNorm). */
  readonly noiseMultiplier: number;
  /** The standard deviation of the noise on every coordinate of the sum: noiseMultiplier x C_eff. */
  readonly noiseStddev: number;
  /** The lattice granularity (gaussianLatticeFor(dimension)): noiseStddev / resolution in (2^(bits-1), 2^bits]. */
  readonly latticeBits: number;
  /** The lattice sampler's pmf slack over the dimension's coordinates (gaussianSlackAt), charged by FedAvg. */
  readonly slack: number;
  /** The lattice sampler's tail mass over the dimension's coordinates (gaussianTailAt), charged by FedAvg. */
  readonly tailMass: number;
  private readonly rng: Rng;

  /**
   * @throws {PrivkitError} E_ARG when options is not an object, dimension is not a positive integer, clipNorm or noiseMultiplier is not finite and > 0, or rng is not an Rng from createRng.
   */
  constructor(given: CentralDpAggregatorOptions) {
    const options = readOptions(given, ['dimension', 'clipNorm', 'noiseMultiplier', 'rng'], 'options', true);
    this.dimension = checkDimension(options.dimension);
    this.clipNorm = assertNumber('options.clipNorm', options.clipNorm, 'positive');
    this.noiseMultiplier = assertNumber('options.noiseMultiplier', options.noiseMultiplier, 'positive');
    this.rng = resolveRng({ rng: options.rng });
    const d = this.dimension;
    const rowBound = this.clipNorm * (1 + 5 * 2 ** -24) + Math.sqrt(d) * 2 ** -149;
    const n = MAX_UPDATES_PER_ROUND;
    const gamma = (n * 2 ** -53) / (1 - n * 2 ** -53);
    const summed = rowBound * (1 + 2 * n * gamma);
    const { bits, slack, tailMass } = gaussianLatticeFor(d);
    this.latticeBits = bits;
    this.slack = slack;
    this.tailMass = tailMass;
    // The lattice step grows with sigma, and sigma with the charged bound: iterate to the fixed point (one or two steps).
    let sigma = this.noiseMultiplier * summed;
    for (;;) {
      const charged = latticeSensitivity('gaussian', summed, d, gaussianResolutionAt(sigma, bits));
      if (this.noiseMultiplier * charged <= sigma) break;
      sigma = this.noiseMultiplier * charged;
    }
    this.noiseStddev = sigma;
  }

  /**
   * Clips each update to clipNorm again, sums them in float64 and adds the lattice Gaussian noise of
   * standard deviation noiseStddev (also to an empty round).
   *
   * @throws {PrivkitError} E_ARG when round is not an integer >= 1 or clippedDeltas is not an array.
   * @throws {PrivkitError} E_SHAPE when an update is not a Float32Array of length `dimension`; E_NONFINITE when it holds NaN or +-Infinity.
   * @throws {PrivkitError} E_ARG when more than MAX_UPDATES_PER_ROUND updates are given.
   * @throws {PrivkitError} E_NOT_READY before `await ready()`.
   */
  async aggregate(clippedDeltas: Float32Array[], round: number): Promise<AggregateResult> {
    const x = stack(clippedDeltas, round, this.dimension);
    const n = clippedDeltas.length;
    const total = new Float64Array(this.dimension);
    if (x !== undefined) {
      const clipped = clipByL2(x, n, this.clipNorm, { inPlace: true }); // x is stack's own copy
      for (let k = 0; k < n; k++) {
        const row = clipped.subarray(k * this.dimension, (k + 1) * this.dimension);
        for (let j = 0; j < this.dimension; j++) total[j] += row[j]!;
      }
    }
    return { sum: this.noisedSum(total), included: n };
  }

  /**
   * The release of an exact float64 sum of clipped updates (its summation error within the charged
   * bound, see the class comment): the lattice noise added, as float32.
   *
   * @throws {PrivkitError} E_SHAPE when total is not a Float64Array of length `dimension`; as gaussianOnLattice otherwise.
   */
  noisedSum(total: Float64Array): Float32Array {
    if (!(total instanceof Float64Array) || total.length !== this.dimension) {
      throw new PrivkitError('E_SHAPE', `total must be a Float64Array of length ${this.dimension}, got ${describe(total)}`, { argument: 'total' });
    }
    return Float32Array.from(gaussianOnLattice(total, this.noiseStddev, this.latticeBits, { rng: this.rng }).values);
  }
}

/**
 * The event one round of an aggregator's Gaussian noise is charged with: sigma = z C on the sum of a
 * sample drawn at `sampleRate`; a fixed-size sample without replacement is accounted with replace-one
 * neighbours (the count is public), a Poisson sample with add/remove (count-hiding aggregators only).
 * Shared by FedAvg and privkit/server, so both charge a round alike.
 */
export function centralRoundEvent(aggregator: UpdateAggregator, sampleRate: number, sampling: Sampling): SubsampledGaussianEvent {
  return {
    noiseMultiplier: aggregator.noiseMultiplier,
    sampleRate,
    sampling,
    neighbours: sampling === 'poisson' ? 'add-remove' : 'replace-one',
    slack: aggregator.slack ?? 0,
    tailMass: aggregator.tailMass ?? 0,
  };
}

/** Largest update dimension (as the largest model, 2^27 parameters). */
export const MAX_DIMENSION = 2 ** 27;

/** `options.dimension` of an aggregator, checked: a positive integer up to MAX_DIMENSION. */
export function checkDimension(dimension: unknown): number {
  return assertInteger('options.dimension', dimension, 1, MAX_DIMENSION);
}

/** Checks the arguments of aggregate and copies the updates into one matrix (undefined when there are none). */
export function stack(deltas: unknown, round: unknown, dimension: number): Float32Array | undefined {
  assertInteger('round', round, 1);
  if (!Array.isArray(deltas)) throw new PrivkitError('E_ARG', `clippedDeltas must be an array, got ${describe(deltas)}`, { argument: 'clippedDeltas' });
  if (deltas.length === 0) return undefined;
  if (deltas.length > MAX_UPDATES_PER_ROUND) {
    throw new PrivkitError('E_ARG', `clippedDeltas holds ${deltas.length} updates, more than ${MAX_UPDATES_PER_ROUND} per round`, { argument: 'clippedDeltas' });
  }
  const x = new Float32Array(deltas.length * dimension);
  // a for loop, not forEach: a hole is a missing update, refused rather than skipped
  for (let k = 0; k < deltas.length; k++) {
    const delta: unknown = deltas[k];
    if (typedArrayKind(delta) !== 'Float32Array' || currentLength(delta as Float32Array) !== dimension) {
      throw new PrivkitError('E_SHAPE', `clippedDeltas[${k}] must be a Float32Array of length ${dimension}, got ${describe(delta)}`, {
        argument: 'clippedDeltas',
        index: k,
      });
    }
    assertFinite(`clippedDeltas[${k}]`, delta as Float32Array);
    x.set(delta as Float32Array, k * dimension);
  }
  return x;
}
