// Distributed DP for FedAvg: the server never sees an update, only the sum of all of them. Each
// client of a round rotates its clipped update with the round's randomized Hadamard transform,
// quantizes it with conditional rounding, adds its share of the noise as a discrete Gaussian
// (Kairouz, Liu, Steinke 2021) and masks it in Z_2^bits; the server runs secure aggregation
// (Bonawitz et al. 2017, with SecAgg+ neighbourhoods of Bell et al. 2020) to learn only the sum,
// then maps it back (dequantize, inverse rotation). The round's privacy is the distributed discrete
// Gaussian over the clients whose masked input arrived, and the accountant is charged with their
// actual number. Each client's noise is planned so that `minClients` survivors carry the central
// noise, and the server refuses to unmask a round with fewer (the round is withheld and releases
// nothing), so no released round is charged more than the calibration assumed. The clients run in
// this thread (a simulation of the protocol with every message through its JSON wire format).
//
// Whose view the epsilon is about: the noise in the released sum grows with the number of clients in
// it, so anyone who sees the models learns that number, and the decision to withhold a round reveals
// that it fell below minClients. Both are fine under FedAvg's default fixed-size sampling without
// replacement with replace-one neighbours (dropouts are independent of the data, so the count carries
// no information about it); Poisson amplification, which needs the count hidden, is refused for this
// aggregator (hidesCount is false). The subsampled round is charged with the general bound of Wang,
// Balle, Kasiviswanathan 2019 applied to KLS21's Prop. 14. The aggregation server itself routes every
// message, so it knows who took part: against it there is no amplification, and
// epsilonAgainstServer() reports the composition of the released rounds without sampling, with
// replace-one neighbours (one participant's update changed arbitrarily: twice the sensitivity).
import { RdpAccountant } from '../accounting/rdp-accountant.js';
import { calibrateNoiseMultiplier } from '../accounting/calibrate.js';
import { assertDelta, subsampledDistributedEvent, type DistributedDiscreteGaussianEvent, type Sampling } from '../accounting/events.js';
import { PrivkitError } from '../errors.js';
import { l2Norms } from '../kernels/clip.js';
import { resolveRng } from '../dp/noise.js';
import type { Rng } from '../dp/rng.js';
import { planDistributedDp, type DistributedDpPlan } from '../secagg/ddp.js';
import { MAX_CLIENTS } from '../secagg/limits.js';
import { quantize, dequantize } from '../secagg/quantize.js';
import { inverseRandomizedHadamard, randomizedHadamard } from '../secagg/rotation.js';
import { simulateRound, type SimulateRoundResult } from '../secagg/simulate.js';
import { assertInteger, assertNumber, assertOneOf, readOptions } from '../validate.js';
import { checkDimension, stack, type AggregateResult, type UpdateAggregator } from './aggregators.js';

/** Options of {@link SecureAggregator}. */
export interface SecureAggregatorOptions {
  /** Length of every update (the model's parameter count). */
  dimension: number;
  /** L2 bound C of each update. */
  clipNorm: number;
  /** Central noise z: the noise of minClients clients sums to standard deviation z C. */
  noiseMultiplier: number;
  /** Clients per round: the fixed-size sample FedAvg draws (the modulus is planned for this many). */
  clientsPerRound: number;
  /** Modulus 2^bits of the secure sum (default 20). */
  bits?: number;
  /** Target probability that the sum wraps around the modulus (default 1e-9). */
  wrapProbability?: number;
  /** SecAgg+ neighbours per client (an even number >= 2; default 16); a round of at most neighbours + 1 clients uses the complete graph. */
  neighbours?: number;
  /**
   * The fewest masked inputs a round may be unmasked with; each client adds 1 / minClients of the
   * central noise variance. Default: the expected survivors less two standard deviations.
   */
  minClients?: number;
  /**
   * Probability that a client fails during secure aggregation (default 0): half of the failures
   * happen before the masked input is sent (the client's update and noise are lost), half after
   * (the protocol recovers its input). A simulation knob for dropout recovery.
   */
  dropoutRate?: number;
  /** Generator of the public rotation seeds, the simulated dropouts and the clients' rounding and noise. Default: the CSPRNG. */
  rng?: Rng;
  /**
   * How the simulated messages travel: 'json' (default: through the JSON wire format, as on a network)
   * or 'structured-clone' (copied only; faster for simulations that do not measure the wire).
   */
  wire?: 'json' | 'structured-clone';
}

/** What one round of a {@link SecureAggregator} did. */
export interface SecureRoundReport {
  /** The round (from 1). */
  round: number;
  /** Clients whose masked input arrived (their updates and noise are in the sum; 0 when withheld). */
  included: number;
  /**
   * Nothing was released: fewer than minClients masked inputs arrived, or a neighbourhood lost more
   * clients than the Shamir threshold allows (E_THRESHOLD), so the server did not unmask.
   */
  withheld: boolean;
  /** Their positions in the round's list of updates. */
  members: number[];
  /** Clients lost before sending their masked input, and after it (recovered). */
  droppedBeforeInput: number;
  /** Clients lost after sending their masked input (their input is recovered). */
  droppedAfterInput: number;
  /** Bound on the probability that this round's sum wrapped around the modulus. */
  wrapProbability: number;
  /** Milliseconds: client work (rotate, quantize, noise) and the whole secure-aggregation round. */
  clientMs: number;
  /** Milliseconds of the whole secure-aggregation round. */
  protocolMs: number;
}

/**
 * Distributed DP for FedAvg: each client rotates, quantizes and noises its clipped update (the
 * distributed discrete Gaussian of Kairouz, Liu, Steinke 2021) and masks it; secure aggregation
 * (simulated in this thread, every message through its wire format) gives the server only the sum.
 * Rounds with fewer than minClients masked inputs are withheld. Pass it to {@link FedAvg} as
 * `aggregator` (sampling without replacement); see {@link FedAvg} for an example.
 */
export class SecureAggregator implements UpdateAggregator {
  /** The noise in the sum grows with the number of clients in it: the release reveals the count. */
  readonly hidesCount = false;
  /** Length of every update. */
  readonly dimension: number;
  /** The L2 bound C every update must respect. */
  readonly clipNorm: number;
  /** Central noise z: minClients clients' noise sums to standard deviation z C. */
  readonly noiseMultiplier: number;
  /** The quantization, noise and modulus of every round (see {@link planDistributedDp}). */
  readonly plan: DistributedDpPlan;
  /** SecAgg+ neighbours per client. */
  readonly neighbours: number;
  /** Simulated probability that a client fails during secure aggregation. */
  readonly dropoutRate: number;
  /** The fewest masked inputs a round is unmasked with. */
  readonly minClients: number;
  /** How the simulated messages travel. */
  readonly wire: 'json' | 'structured-clone';
  /** One report per round passed to aggregate (withheld and empty rounds included). */
  readonly reports: SecureRoundReport[] = [];
  private readonly rng: Rng;
  readonly #serverAccountant = new RdpAccountant();

  /**
   * @throws {PrivkitError} E_ARG when options is not an object or an option is out of range (dimension, clipNorm, noiseMultiplier, clientsPerRound, neighbours not even and >= 2, dropoutRate not in [0, 1), minClients above clientsPerRound, wire, rng), or the plan is infeasible (see {@link planDistributedDp}).
   */
  constructor(given: SecureAggregatorOptions) {
    const options = readOptions(
      given,
      ['dimension', 'clipNorm', 'noiseMultiplier', 'clientsPerRound', 'bits', 'wrapProbability', 'neighbours', 'minClients', 'dropoutRate', 'rng', 'wire'],
      'options',
    true,
    ) as SecureAggregatorOptions;
    this.dimension = checkDimension(options.dimension);
    this.noiseMultiplier = assertNumber('options.noiseMultiplier', options.noiseMultiplier, 'positive');
    this.neighbours = options.neighbours === undefined ? 16 : assertInteger('options.neighbours', options.neighbours, 2);
    if (this.neighbours % 2 !== 0) {
      throw new PrivkitError('E_ARG', `options.neighbours must be even (a ring with k/2 neighbours on each side), got ${this.neighbours}`, {
        argument: 'options.neighbours',
      });
    }
    const { clipNorm, dropoutRate, minClients, planOptions } = planInputs(options, this.dimension);
    this.clipNorm = clipNorm;
    this.dropoutRate = dropoutRate;
    this.minClients = minClients;
    this.plan = planDistributedDp({ ...planOptions, noiseMultiplier: this.noiseMultiplier });
    this.rng = resolveRng({ rng: options.rng });
    this.wire = checkWire(options.wire);
  }

  /**
   * Epsilon at delta against the aggregation server, which sees who takes part: the released rounds
   * composed without amplification by sampling, replace-one neighbours (see the file header).
   *
   * @throws {PrivkitError} E_ARG when delta is not in (0, 1).
   */
  epsilonAgainstServer(delta: number): number {
    assertDelta('delta', delta);
    return this.reports.some((r) => !r.withheld) ? this.#serverAccountant.getEpsilon(delta).epsilon : 0;
  }

  /** The costliest round's event (before sampling): minClients survivors, the fewest that are unmasked. */
  worstCaseEvent(): DistributedDiscreteGaussianEvent {
    return this.plan.event();
  }

  /** The Shamir threshold for a round of `clients`: a majority of each neighbourhood (Bonawitz et al. 2017, Sec. 4). */
  threshold(clients: number): number {
    assertInteger('clients', clients, 1);
    const neighbourhood = Math.min(clients, this.neighbours + 1);
    return Math.floor(neighbourhood / 2) + 1;
  }

  /**
   * Runs one round of secure aggregation with distributed DP over the updates and returns the
   * dequantized sum with its privacy event (null when the round was withheld).
   *
   * @throws {PrivkitError} E_ARG when round is not an integer >= 1, clippedDeltas is not an array, holds more than clientsPerRound updates, or an update's L2 norm exceeds clipNorm.
   * @throws {PrivkitError} E_SHAPE when an update is not a Float32Array of length `dimension`; E_NONFINITE when it holds NaN or +-Infinity.
   */
  async aggregate(clippedDeltas: Float32Array[], round: number): Promise<AggregateResult> {
    const x = stack(clippedDeltas, round, this.dimension);
    const n = clippedDeltas.length;
    if (x === undefined || n === 0) {
      this.reports.push({ round, included: 0, withheld: true, members: [], droppedBeforeInput: 0, droppedAfterInput: 0, wrapProbability: 0, clientMs: 0, protocolMs: 0 });
      return { sum: new Float32Array(this.dimension), included: 0, event: null };
    }
    if (n > this.plan.clients) {
      throw new PrivkitError('E_ARG', `clippedDeltas holds ${n} updates, more than the ${this.plan.clients} (clientsPerRound) the modulus is planned for`, {
        argument: 'clippedDeltas',
      });
    }
    l2Norms(x, n).forEach((norm, k) => {
      // The sensitivity rests on the bound (float32 clipping may overshoot it by an ulp or so).
      if (norm > this.clipNorm * (1 + 1e-6)) {
        throw new PrivkitError('E_ARG', `clippedDeltas[${k}] has L2 norm ${norm}, above clipNorm ${this.clipNorm}: clip the updates first`, {
          argument: 'clippedDeltas',
          index: k,
        });
      }
    });
    const { scale, bits, localSigma, conditionalBound } = this.plan;
    // Who fails is decided first (a simulation knob, independent of the data).
    const { before, after } = this.dropouts(n);
    const started = performance.now();
    const rotationSeed = this.rng.bytes(32);
    const options = { scale, bits, noiseSigma: localSigma, rounding: 'conditional', conditionalBound, rng: this.rng } as const;
    const inputs = clippedDeltas.map((delta) => {
      try {
        return quantize(randomizedHadamard(delta, rotationSeed), options);
      } catch (error) {
        // Conditional rounding gives up with probability < 1e-21 per client: that client sends the zero
        // update (plus its noise) instead, so whether a round completes never depends on its data.
        if (error instanceof PrivkitError && error.argument === 'opts.conditionalBound') return quantize(new Float32Array(delta.length), options);
        throw error;
      }
    });
    const clientMs = performance.now() - started;
    const withhold = (droppedAfterInput: number): AggregateResult => {
      this.reports.push({
        round,
        included: 0,
        withheld: true,
        members: [],
        droppedBeforeInput: before.length,
        droppedAfterInput,
        wrapProbability: 0,
        clientMs,
        protocolMs: performance.now() - started - clientMs,
      });
      return { sum: new Float32Array(this.dimension), included: 0, event: null };
    };
    if (n - before.length < this.minClients) return withhold(0);
    const threshold = this.threshold(n);
    let result: SimulateRoundResult;
    try {
      result = await simulateRound({
        inputs,
        bits,
        threshold,
        neighbours: this.neighbours >= n - 1 ? undefined : this.neighbours,
        dropBeforeMaskedInput: before,
        dropAfterMaskedInput: after,
        wire: this.wire,
      });
    } catch (error) {
      // A neighbourhood lost more clients than its threshold allows: the server cannot (and must not) unmask.
      if (error instanceof PrivkitError && error.code === 'E_THRESHOLD') return withhold(after.length);
      throw error;
    }
    const included = result.included.length;
    const rotated = dequantize(result.sum, { scale, bits });
    const sum = inverseRandomizedHadamard(rotated, rotationSeed, this.dimension);
    this.reports.push({
      round,
      included,
      withheld: false,
      members: result.included,
      droppedBeforeInput: before.length,
      droppedAfterInput: after.length,
      wrapProbability: this.plan.wrapProbabilityFor(included),
      clientMs,
      protocolMs: result.timings.totalMs,
    });
    const event = this.plan.event({ clients: included });
    this.#serverAccountant.step(subsampledDistributedEvent(event, 1, 'without-replacement'));
    return { sum, included, event };
  }

  /** Client indices failing before and after their masked input, each with probability dropoutRate / 2. */
  private dropouts(n: number): { before: number[]; after: number[] } {
    const before: number[] = [];
    const after: number[] = [];
    if (this.dropoutRate === 0) return { before, after };
    const u = this.rng.uniform(n);
    for (let i = 0; i < n; i++) {
      if (u[i]! < this.dropoutRate / 2) before.push(i);
      else if (u[i]! < this.dropoutRate) after.push(i);
    }
    return { before, after };
  }
}

/** The wire option: 'json' (default) or 'structured-clone'. */
function checkWire(wire: unknown): 'json' | 'structured-clone' {
  return assertOneOf('options.wire', wire, ['json', 'structured-clone'] as const, 'json');
}

/** Checks the options shared by SecureAggregator and calibrateSecureNoise and derives the plan's inputs. */
function planInputs(options: Omit<SecureAggregatorOptions, 'noiseMultiplier'>, dimension: number) {
  const clipNorm = assertNumber('options.clipNorm', options.clipNorm, 'positive');
  const clientsPerRound = assertInteger('options.clientsPerRound', options.clientsPerRound, 1, MAX_CLIENTS);
  const dropoutRate = options.dropoutRate === undefined ? 0 : assertNumber('options.dropoutRate', options.dropoutRate, 'nonnegative');
  if (dropoutRate >= 1) {
    throw new PrivkitError('E_ARG', `options.dropoutRate must be in [0, 1), got ${dropoutRate}`, { argument: 'options.dropoutRate' });
  }
  const minClients = resolveMinClients(options.minClients, clientsPerRound, dropoutRate);
  const planOptions = {
    clipNorm,
    dimension,
    clients: clientsPerRound,
    noiseClients: minClients,
    ...(options.bits === undefined ? {} : { bits: options.bits }),
    ...(options.wrapProbability === undefined ? {} : { wrapProbability: options.wrapProbability }),
  };
  return { clipNorm, dropoutRate, minClients, planOptions };
}

/**
 * minClients, checked, or by default the survivors expected less two standard deviations: of the
 * clientsPerRound participants (a fixed-size sample), each is lost before its masked input with
 * probability dropoutRate / 2, so the survivors are Binomial(clientsPerRound, 1 - dropoutRate / 2) and
 * about 2% of rounds are withheld.
 */
function resolveMinClients(minClients: number | undefined, clientsPerRound: number, dropoutRate: number): number {
  if (minClients !== undefined) {
    const m = assertInteger('options.minClients', minClients, 1);
    if (m > clientsPerRound) {
      throw new PrivkitError('E_ARG', `options.minClients must be <= clientsPerRound (${clientsPerRound}), got ${m}`, { argument: 'options.minClients' });
    }
    return m;
  }
  const lost = dropoutRate / 2;
  const expected = clientsPerRound * (1 - lost);
  return Math.max(1, Math.floor(expected - 2 * Math.sqrt(clientsPerRound * lost * (1 - lost))));
}

/** Options of {@link calibrateSecureNoise}: the target, and the SecureAggregator options it plans for. */
export interface SecureCalibrationOptions extends Omit<SecureAggregatorOptions, 'noiseMultiplier' | 'rng' | 'neighbours'> {
  /** The epsilon (against observers of the models) to stay within after `rounds` rounds (> 0). */
  targetEpsilon: number;
  /** The delta it is at, in (0, 1). */
  delta: number;
  /** Rounds of training (a positive integer). */
  rounds: number;
  /** q: the fraction of the clients that takes part in a round (clientsPerRound / clients). */
  sampleRate: number;
  /** 'without-replacement' (default, replace-one neighbours, as FedAvg) or 'poisson' (only where the count is hidden). */
  sampling?: Sampling;
}

/**
 * The smallest central noise multiplier z whose distributed discrete Gaussian keeps epsilon within
 * targetEpsilon after `rounds` rounds, each charged as if only minClients survived (released rounds
 * have at least that many, so the target holds whatever the dropouts): starts from the continuous
 * Gaussian's z (a lower bound: rounding and the sum of discrete Gaussians only add privacy loss) and
 * bisects upwards.
 *
 * @throws {PrivkitError} E_ARG when targetEpsilon is not finite and > 0, delta is not in (0, 1), rounds is not a positive integer, sampleRate or a SecureAggregator option is out of range, or the target is out of reach.
 */
export function calibrateSecureNoise(given: SecureCalibrationOptions): {
  /** The central noise multiplier z to give SecureAggregator. */
  noiseMultiplier: number;
  /** Its epsilon after `rounds` rounds. */
  epsilon: number;
} {
  const options = readOptions(
    given,
    ['dimension', 'clipNorm', 'clientsPerRound', 'bits', 'wrapProbability', 'minClients', 'dropoutRate', 'wire', 'targetEpsilon', 'delta', 'rounds', 'sampleRate', 'sampling'],
    'options',
    true,
  ) as SecureCalibrationOptions;
  checkWire(options.wire);
  const targetEpsilon = assertNumber('options.targetEpsilon', options.targetEpsilon, 'positive');
  const delta = assertDelta('options.delta', options.delta);
  const rounds = assertInteger('options.rounds', options.rounds, 1);
  const sampling = assertOneOf('options.sampling', options.sampling, ['poisson', 'without-replacement'] as const, 'without-replacement');
  const neighbours = sampling === 'poisson' ? 'add-remove' : 'replace-one';
  const { planOptions } = planInputs(options, assertInteger('options.dimension', options.dimension, 1));
  // the plan's options (bits, wrapProbability) and the sampling checked once, before any calibration
  planDistributedDp({ ...planOptions, noiseMultiplier: 1 }).event({ sampleRate: options.sampleRate, sampling });
  const epsilonAt = (noiseMultiplier: number): number => {
    let plan: DistributedDpPlan;
    try {
      plan = planDistributedDp({ ...planOptions, noiseMultiplier });
    } catch (error) {
      // Too little noise for a valid local discrete Gaussian (< 1/2 unit): more noise is needed, as for a missed target.
      if (error instanceof PrivkitError && error.argument === 'bits') return Number.POSITIVE_INFINITY;
      throw error;
    }
    return new RdpAccountant().step({ ...plan.event({ sampleRate: options.sampleRate, sampling }), steps: rounds }).getEpsilon(delta).epsilon;
  };
  let lo = calibrateNoiseMultiplier({ targetEpsilon, delta, sampleRate: options.sampleRate, steps: rounds, sampling, neighbours }).noiseMultiplier;
  let hi = lo;
  for (let grow = 0; epsilonAt(hi) > targetEpsilon; grow++) {
    if (grow === 200) {
      throw new PrivkitError('E_ARG', `options.targetEpsilon = ${targetEpsilon} is out of reach of the distributed discrete Gaussian with these parameters`, {
        argument: 'options.targetEpsilon',
      });
    }
    lo = hi;
    hi *= 1.05;
  }
  for (let i = 0; i < 30 && hi - lo > 1e-5 * hi; i++) {
    const mid = (lo + hi) / 2;
    if (epsilonAt(mid) > targetEpsilon) lo = mid;
    else hi = mid;
  }
  return { noiseMultiplier: hi, epsilon: epsilonAt(hi) };
}
