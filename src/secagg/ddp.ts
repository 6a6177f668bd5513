// Parameters of the distributed discrete Gaussian mechanism (Kairouz, Liu, Steinke 2021, "The
// Distributed Discrete Gaussian Mechanism for Federated Learning with Secure Aggregation"): each
// client rotates its clipped update with a randomized Hadamard transform, scales it by `scale`, rounds
// it conditionally (norm bound below) and adds N_Z(0, localSigma^2) before masking in Z_2^bits; the
// server's sum carries N_Z-like noise of variance clients x localSigma^2 = (noiseMultiplier x clipNorm
// x scale)^2, the central noise. The plan also bounds the probability that the modular sum wraps.
import { subsampledDistributedEvent, type DistributedDiscreteGaussianEvent } from '../accounting/events.js';
import { wasmDiscreteGaussianError } from '../dp/discrete.js';
import { slackOf } from '../dp/sampler-error.js';
import { PrivkitError } from '../errors.js';
import { assertInteger, assertNumber, readOptions } from '../validate.js';
import { wordMask } from './masks.js';
import { MAX_ROTATION_LENGTH, rotationLength } from './rotation.js';

/** Options of {@link planDistributedDp}. */
export interface DistributedDpOptions {
  /** L2 bound of one client's update (the user-level clip norm), in the update's units. */
  clipNorm: number;
  /** Length of the update before rotation (padded to a power of two by the rotation). */
  dimension: number;
  /** Clients whose updates (and noise) are summed in one round. */
  clients: number;
  /** Central noise standard deviation / clipNorm, as in central DP-FedAvg. */
  noiseMultiplier: number;
  /**
   * The fewest clients expected to survive a round (default: clients): each adds 1/noiseClients of the
   * central noise variance, so any round with at least this many survivors carries the central noise.
   */
  noiseClients?: number;
  /** The sum lives in Z_2^bits (1..32); 20 by default (KLS21 work with 12-20 bits per coordinate). */
  bits?: number;
  /** Target probability that any coordinate of the sum wraps around the modulus; 1e-9 by default. */
  wrapProbability?: number;
  /** Conditional rounding failure parameter beta of KLS21 (Sec. 4.1); e^-1/2 by default. */
  beta?: number;
}

/** The parameters of a distributed discrete Gaussian round, from {@link planDistributedDp}. */
export interface DistributedDpPlan {
  /** The word size b of the sum, Z_2^bits. */
  bits: number;
  /** Power-of-two length after rotation. */
  dimension: number;
  /** The clients per round the plan was made for. */
  clients: number;
  /** Quantized value = round(scale x rotated value). */
  scale: number;
  /** Each client's discrete Gaussian standard deviation, in quantized units. */
  localSigma: number;
  /** Conditional rounding keeps a client's quantized l2 norm at or below this (KLS21, Sec. 4.1). */
  conditionalBound: number;
  /** L2 sensitivity of the quantized sum (a bound on one client's quantized vector), used by the accountant. */
  l2Sensitivity: number;
  /** L1 sensitivity of the quantized sum, used by the accountant. */
  l1Sensitivity: number;
  /** Upper bound on the probability that some coordinate of the sum of `clients` updates wraps. */
  wrapProbability: number;
  /**
   * The same bound for a round that sums another number of updates (each with this plan's noise).
   *
   * @throws {PrivkitError} E_ARG when clients is not a non-negative integer.
   */
  wrapProbabilityFor(clients: number): number;
  /**
   * The accounting event of one round with `clients` survivors (default noiseClients) sampled at
   * `sampleRate` (default 1) for RdpAccountant; without replacement the sensitivities double.
   *
   * @throws {PrivkitError} E_ARG when round.clients is not an integer in [1, clients] (the sample rate and sampling are checked when the accountant records the event).
   */
  event(round?: { clients?: number; sampleRate?: number; sampling?: 'poisson' | 'without-replacement' }): DistributedDiscreteGaussianEvent;
}

/**
 * Chooses the scale so that the sum of `clients` quantized, noised updates stays inside
 * [-2^(bits-1), 2^(bits-1)) except with probability `wrapProbability`.
 *
 * After the randomized Hadamard rotation every coordinate of a sum of vectors with total norm <= n c
 * is sub-Gaussian with variance proxy (n c)^2 / d (Hoeffding over the random signs); each client's
 * stochastic rounding error lies in an interval of length 1 with mean 0 (proxy 1/4) and its discrete
 * Gaussian noise is localSigma^2-sub-Gaussian (Canonne, Kamath, Steinke 2020). With m = noiseClients
 * and V = s^2 c^2 (n^2 / d + z^2 n / m) + n / 4, the chance that one of the d coordinates reaches
 * 2^(bits-1) is at most 2 d exp(-4^(bits-1) / (2 V)); the scale s is the largest that keeps this at
 * the target. Conditional rounding conditions each client's rounding on its norm bound, which the
 * Hoeffding step does not cover: for it the bound is a close estimate, not a proof (the events it
 * excludes have probability at most beta per client and the redraws only shrink the vector).
 *
 * @throws {PrivkitError} E_ARG when clipNorm or noiseMultiplier is not finite and > 0, dimension is not an integer in [1, 2^28], clients or noiseClients is not a positive integer (noiseClients <= clients), bits is not an integer in [1, 32], wrapProbability or beta is not in (0, 1), or the bits are too few for the clients (the rounding alone would wrap, or the local noise would fall below 1/2 quantized unit).
 *
 * @example
 * ```ts
 * import { RdpAccountant } from 'privkit/accounting';
 * import { planDistributedDp } from 'privkit/secagg';
 * const plan = planDistributedDp({ clipNorm: 1, dimension: 10_000, clients: 100, noiseMultiplier: 1, bits: 20 });
 * // each client: quantize(randomizedHadamard(clippedUpdate, rotationSeed), { scale: plan.scale, bits: plan.bits,
 * //   noiseSigma: plan.localSigma, rounding: 'conditional', conditionalBound: plan.conditionalBound }), then SecAgg
 * const accountant = new RdpAccountant().step({ ...plan.event({ sampleRate: 0.1 }), steps: 50 });
 * const { epsilon } = accountant.getEpsilon(1e-5);
 * ```
 */
export function planDistributedDp(given: DistributedDpOptions): DistributedDpPlan {
  const options = readOptions(given, ['clipNorm', 'dimension', 'clients', 'noiseMultiplier', 'noiseClients', 'bits', 'wrapProbability', 'beta'], 'options', true);
  const clipNorm = assertNumber('clipNorm', options.clipNorm, 'positive');
  const length = assertInteger('dimension', options.dimension, 1);
  if (length > MAX_ROTATION_LENGTH) {
    throw new PrivkitError('E_ARG', `dimension must be <= 2^28 (the longest rotation), got ${length}`, { argument: 'dimension' });
  }
  const dimension = rotationLength(length);
  const clients = assertInteger('clients', options.clients, 1);
  const noiseMultiplier = assertNumber('noiseMultiplier', options.noiseMultiplier, 'positive');
  const noiseClients = options.noiseClients === undefined ? clients : assertInteger('noiseClients', options.noiseClients, 1);
  if (noiseClients > clients) {
    throw new PrivkitError('E_ARG', `noiseClients must be <= clients (${clients}), got ${noiseClients}`, { argument: 'noiseClients' });
  }
  const bits = options.bits === undefined ? 20 : options.bits;
  wordMask(bits);
  const target = assertNumber('wrapProbability', options.wrapProbability === undefined ? 1e-9 : options.wrapProbability, 'positive');
  if (target >= 1) throw new PrivkitError('E_ARG', `wrapProbability must be in (0, 1), got ${target}`, { argument: 'wrapProbability' });
  const beta = assertNumber('beta', options.beta === undefined ? Math.exp(-0.5) : options.beta, 'positive');
  if (beta >= 1) throw new PrivkitError('E_ARG', `beta must be in (0, 1), got ${beta}`, { argument: 'beta' });

  const half = 2 ** (bits - 1);
  // 2 d exp(-half^2 / (2 V)) = target  <=>  V = half^2 / (2 log(2 d / target)).
  const maxVariance = (half * half) / (2 * Math.log((2 * dimension) / target));
  const roundingVariance = clients / 4;
  if (maxVariance <= roundingVariance) {
    throw new PrivkitError('E_ARG', `bits = ${bits} is too few for ${clients} clients at wrapProbability ${target}: the rounding errors alone would wrap`, {
      argument: 'bits',
    });
  }
  // In quantized units the clip norm is c = clipNorm x scale, and V - n / 4 = c^2 (n^2 / d + z^2 n / m):
  // solved for c first (hypot: no overflow for any z), so that only the scale depends on clipNorm.
  const c = Math.sqrt(maxVariance - roundingVariance) / Math.hypot(clients / Math.sqrt(dimension), noiseMultiplier * Math.sqrt(clients / noiseClients));
  const scale = c / clipNorm;
  if (!(scale >= 2 ** -1022 && scale < Infinity)) {
    throw new PrivkitError('E_ARG', `clipNorm ${clipNorm} is out of range: the quantization scale would be ${scale}`, { argument: 'clipNorm' });
  }
  const localSigma = (noiseMultiplier * c) / Math.sqrt(noiseClients);
  if (!(localSigma >= 0.5)) {
    throw new PrivkitError('E_ARG', `the local noise would be ${localSigma.toPrecision(3)} quantized units (< 1/2): raise bits or noiseMultiplier`, {
      argument: 'bits',
    });
  }
  // KLS21, Thm 31 (conditional randomized rounding): ||q||^2 <= c^2 + d/4 + sqrt(2 log(1/beta)) (c + sqrt(d)/2).
  const conditionalBound = Math.sqrt(c * c + dimension / 4 + Math.sqrt(2 * Math.log(1 / beta)) * (c + Math.sqrt(dimension) / 2));
  const l2Sensitivity = Math.min(conditionalBound, c + Math.sqrt(dimension));
  // Rounding moves each coordinate by less than 1: ||q||_1 <= sqrt(d) c + d.
  const l1Sensitivity = Math.min(Math.sqrt(dimension) * l2Sensitivity, Math.sqrt(dimension) * c + dimension);
  const wrapProbabilityFor = (n: number): number => {
    assertInteger('clients', n);
    // Signal (n c)^2 / d, noise n localSigma^2 and rounding n / 4, in quantized units.
    const variance = c * c * ((n * n) / dimension) + n * localSigma * localSigma + n / 4;
    return n === 0 ? 0 : Math.min(1, 2 * dimension * Math.exp(-(half * half) / (2 * variance)));
  };
  return {
    bits,
    dimension,
    clients,
    scale,
    localSigma,
    conditionalBound,
    l2Sensitivity,
    l1Sensitivity,
    wrapProbability: wrapProbabilityFor(clients),
    wrapProbabilityFor,
    // tau and the samplers' slack grow with the survivors and the sensitivity term shrinks: charging tau and the
    // slack for all `clients` makes every round's charge decrease with its survivors (noiseClients is the worst).
    event: (given) => {
      const round = readOptions(given, ['clients', 'sampleRate', 'sampling'], 'round', true);
      const survivors = round.clients === undefined ? noiseClients : assertInteger('round.clients', round.clients, 1, clients);
      // Each client's noise pmf is within a relative eta of N_Z on each coordinate off a tail set of mass tau
      // (sampler-error.ts), so the sum's is within (1 + eta)^clients off a set of mass clients tau.
      const { pmfError, tailMass } = wasmDiscreteGaussianError(localSigma);
      const draws = dimension * clients;
      return subsampledDistributedEvent(
        { localSigma, clients: survivors, tauClients: clients, l2Sensitivity, l1Sensitivity, dimension, slack: draws * slackOf(pmfError), tailMass: draws * tailMass },
        round.sampleRate === undefined ? 1 : round.sampleRate,
        round.sampling === undefined ? 'poisson' : round.sampling,
      );
    },
  };
}
