// Verifiable aggregation for FedAvg: each client quantizes its clipped update to integers and sends it
// as a Prio3 report to two non-colluding aggregators, a leader and a helper, with a proof that its
// squared L2 norm is at most the public bound M: by default a Prio3PineL2VecSum report (PINE,
// src/prio/pine.ts: one Field64 element a coordinate, about 2x the float32 update), or with
// `circuit: 'bits'` a Prio3BoundedL2VecSum one (src/prio/bounded-l2.ts: every coordinate as `bits`
// Field128 bits, which also proves each coordinate in range; about 66x at 16 bits). The
// aggregators verify every report on their shares (ping-pong) and sum the valid ones; a report that
// fails (a malicious client: norm over the bound, a forged proof or a malformed share) is rejected and
// counted, and contributes nothing. Before releasing its aggregate
// share, each aggregator adds its own discrete Gaussian noise N_Z(0, sigma^2) per coordinate (the exact
// sampler of privkit/dp); the collector (the FedAvg server) adds the two noisy shares and maps the sum
// back to floats. Secure aggregation (SecureAggregator) hides each update but cannot stop a poisoned
// one; here no update can exceed the clip norm, and no single aggregator sees any update. Before
// release the helper checks that it aggregated the leader's reports (DAP's report count and checksum).
//
// Quantization and the proven bound: with Q = 2^(bits-1) - 1 and C' = clipNorm (1 + 1e-6) (the slack
// FedAvg's float32 clipping needs), each coordinate is q_i = round(s u_i), s = Q / C'. For ||u|| <= C',
// |q_i| <= Q and ||q|| <= s ||u|| + sqrt(d)/2 (each rounding moves a coordinate by at most 1/2), so the
// public bound is M = ceil((Q (1 + 2^-30) + sqrt(d)/2)^2) (the factor covers the float64 roundings of
// s u_i). The client checks ||q||^2 <= M exactly before it proves it; every accepted report has
// ||q||^2 <= M, whatever its sender, so the L2 sensitivity of the integer sum is sqrt(M) under
// add/remove neighbours and 2 sqrt(M) under replace-one (FedAvg's default), with no float analysis.
//
// Privacy. sigma = noiseMultiplier x sqrt(M). Whose view: (1) each aggregator. It knows its own noise
// and aggregate share, so from the release it learns S + Z_other, the sum of the accepted updates plus
// the other aggregator's noise alone; its input shares are uniformly random and the FLP is
// zero-knowledge towards one verifier (PINE's statistically, within 2^-101: src/prio/pine.ts), so besides that it learns which reports were valid and how many
// (public under FedAvg's fixed-size sampling with replace-one neighbours). S + Z_other is the discrete
// Gaussian mechanism: rho = D^2 / (2 sigma^2) zCDP (Canonne, Kamath, Steinke 2020). The aggregators see
// who sends reports, so against them there is no amplification by sampling: epsilonAgainstAggregators()
// composes the released rounds without it, replace-one. (2) The collector (FedAvg's server, which
// draws the sample and so knows who took part): its view, S + Z_leader + Z_helper, is S + Z_other with
// independent noise added, a post-processing, so epsilonAgainstAggregators() bounds it too (not
// FedAvg's amplified epsilon). (3) Every other observer of the models, to whom the sample is secret:
// FedAvg charges each round with the event returned here, one discrete Gaussian of sigma (KLS21's
// distributed discrete Gaussian with one client: tau = 0, the exact discrete Gaussian curve), with its
// sampling rate. The second aggregator's noise is not counted: the charge is conservative by a factor 2
// in the noise variance against observers, and exact against each aggregator. The number of accepted
// reports is revealed (hidesCount is false; Poisson sampling is refused by FedAvg).
import { RdpAccountant } from '../accounting/rdp-accountant.js';
import { assertDelta, subsampledDistributedEvent, type DistributedDiscreteGaussianEvent } from '../accounting/events.js';
import { MAX_DISCRETE_SCALE } from '../dp/discrete.js';
import { resolveRng } from '../dp/noise.js';
import type { Rng } from '../dp/rng.js';
import { PrivkitError } from '../errors.js';
import { MAX_BOUNDED_L2_BITS, prio3BoundedL2VecSum } from '../prio/bounded-l2.js';
import { prio3PineL2VecSum } from '../prio/pine.js';
import { NONCE_SIZE, type Prio3, type Prio3AggregateShare, type Prio3Aggregator, type Prio3Report } from '../prio/prio3.js';
import { assertInteger, assertNumber, describe, readOptions } from '../validate.js';
import { currentLength, typedArrayKind } from '../wasm/boundary.js';
import { checkDimension, stack, type AggregateResult, type UpdateAggregator } from './aggregators.js';
import { assertFinite } from './model.js';

/** Largest bits per coordinate of a PrioAggregator (the bound M must stay below 2^53). */
export const MAX_PRIO_FL_BITS = 24;
/** The relative slack over clipNorm an update may have (FedAvg's float32 clipping overshoots by an ulp). */
const CLIP_SLACK = 1e-6;

/** Options of {@link PrioAggregator}. */
export interface PrioAggregatorOptions {
  /** Length of every update (the model's parameter count). */
  dimension: number;
  /** L2 bound C of each update. */
  clipNorm: number;
  /** Bits per quantized coordinate, 2..24 (default 16): coordinates in [-(2^(bits-1) - 1), 2^(bits-1) - 1]. */
  bits?: number;
  /**
   * z >= 0: each aggregator adds discrete Gaussian noise of sigma = z sqrt(M) (M the proven bound on a
   * quantized update's squared norm) to its aggregate share. 0: no noise (verification only, not private).
   */
  noiseMultiplier: number;
  /**
   * The norm-bound circuit: 'pine' (default), Prio3PineL2VecSum (PINE: one Field64 element a
   * coordinate, a report about 2x the float32 update); 'bits', Prio3BoundedL2VecSum (every
   * coordinate as `bits` Field128 bits, also proving each in range; about 66x at 16 bits).
   */
  circuit?: 'pine' | 'bits';
  /** Chunk lengths of the circuit's gadgets (see prio3PineL2VecSum and prio3BoundedL2VecSum). Default: the circuit's. */
  chunkLength?: number;
  /** See chunkLength. */
  normChunkLength?: number;
  /**
   * Generator of the clients' sharding randomness and the aggregators' noise. Default: the CSPRNG. A
   * seeded Rng is reproducible and only for simulations (whoever knows the seed can unshard reports
   * and remove the noise). The verify key always comes from the CSPRNG.
   */
  rng?: Rng;
}

/** What one round of a {@link PrioAggregator} did. */
export interface PrioRoundReport {
  /** The round (from 1). */
  round: number;
  /** Reports received. */
  received: number;
  /** Reports that verified and are in the sum. */
  accepted: number;
  /** Positions (in the round's list of reports) of the rejected ones: invalid proofs, malformed reports, replayed nonces. */
  rejected: number[];
  /** Nothing was released: no report verified. */
  withheld: boolean;
  /** Milliseconds of the clients' quantization and sharding (aggregate() only; 0 for aggregateReports). */
  clientMs: number;
  /** Milliseconds of the verification of every report, both aggregators. */
  verifyMs: number;
}

/** The report's nonce as hex, or undefined when `report` is not shaped as a two-aggregator report. */
function nonceKey(report: unknown): string | undefined {
  if (typeof report !== 'object' || report === null) return undefined;
  const { nonce, publicShare, inputShares } = report as Partial<Prio3Report>;
  if (!(nonce instanceof Uint8Array) || nonce.length !== NONCE_SIZE || !(publicShare instanceof Uint8Array)) return undefined;
  if (!Array.isArray(inputShares) || inputShares.length !== 2 || !inputShares.every((s) => s instanceof Uint8Array)) return undefined;
  return Array.from(nonce, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** One aggregator: verifies its shares of the reports, sums the valid ones, noises its share on release. */
class PrioParty {
  private sum: Prio3Aggregator;
  constructor(
    private readonly vdaf: Prio3<readonly number[], number[]>,
    private readonly sigma: number,
    private readonly rng: Rng,
  ) {
    this.sum = vdaf.aggregator();
  }

  add(nonce: Uint8Array, outShare: Uint8Array): void {
    this.sum.add(nonce, outShare);
  }

  /** The report count and checksum of the current sum (what DAP's leader sends with its aggregate share request). */
  summary(): { count: number; checksum: Uint8Array } {
    return { count: this.sum.count, checksum: this.sum.checksum };
  }

  /**
   * The aggregate share with this aggregator's noise added (mod p), with its count and checksum; with
   * `peer`, refused (E_PROTOCOL, nothing released) when the peer's count or checksum differs. The sum
   * starts afresh for the next round either way.
   */
  release(peer?: { count: number; checksum: Uint8Array }): Prio3AggregateShare {
    const sum = this.sum;
    this.sum = this.vdaf.aggregator();
    return sum.aggregateShare({ ...(this.sigma > 0 ? { noiseSigma: this.sigma, rng: this.rng } : {}), ...(peer === undefined ? {} : { peer }) });
  }

  /** Drops the current sum (a round that was refused). */
  discard(): void {
    this.sum = this.vdaf.aggregator();
  }
}

/**
 * Verifiable FedAvg aggregation with DP at the aggregators: clients send Prio3PineL2VecSum (default)
 * or Prio3BoundedL2VecSum reports of their quantized updates to a leader and a helper (simulated in this thread), which reject any
 * report over the clip norm, sum the valid ones and each add discrete Gaussian noise before release.
 * Pass it to {@link FedAvg} as `aggregator` (sampling without replacement). See the file header for
 * the quantization, the proven bound and whose view the privacy guarantee is about.
 *
 * @example
 * ```ts
 * import { ready } from 'privkit';
 * import { PrioAggregator } from 'privkit/fl';
 * await ready();
 * const aggregator = new PrioAggregator({ dimension: 4, clipNorm: 1, bits: 12, noiseMultiplier: 2 });
 * const update = Float32Array.of(0.5, -0.5, 0, 0.1);
 * const report = aggregator.clientReport(update);
 * // a cheating client: one bit of its leader share flipped
 * const forged = aggregator.clientReport(update);
 * const leaderShare = forged.inputShares[0]!.slice();
 * leaderShare[0]! ^= 1;
 * const reports = [report, { ...forged, inputShares: [leaderShare, forged.inputShares[1]!] }];
 * const { sum, included } = await aggregator.aggregateReports(reports, 1);
 * console.log(included, aggregator.reports[0]!.rejected, sum.length); // 1 [ 1 ] 4
 * ```
 */
export class PrioAggregator implements UpdateAggregator {
  /** The release reveals how many reports were accepted. */
  readonly hidesCount = false;
  /** Length of every update. */
  readonly dimension: number;
  /** The L2 bound C of every update. */
  readonly clipNorm: number;
  /** Bits per quantized coordinate. */
  readonly bits: number;
  /** The quantization scale s: q_i = round(s u_i). */
  readonly scale: number;
  /** M: the squared L2 norm every accepted quantized update is proven to have at most. */
  readonly bound: number;
  /** z: each aggregator's noise has sigma = z sqrt(M). */
  readonly noiseMultiplier: number;
  /** sigma, in quantized units, of each aggregator's noise per coordinate. */
  readonly noiseSigma: number;
  /** The norm-bound circuit of the reports. */
  readonly circuit: 'pine' | 'bits';
  /** The VDAF of the reports: Prio3PineL2VecSum or Prio3BoundedL2VecSum (options.circuit). */
  readonly vdaf: Prio3<readonly number[], number[]>;
  /** One report per round (withheld rounds included). */
  readonly reports: PrioRoundReport[] = [];
  private readonly rng: Rng;
  private readonly verifyKey: Uint8Array;
  private readonly leader: PrioParty;
  private readonly helper: PrioParty;
  readonly #aggregatorAccountant = new RdpAccountant();
  readonly #seenNonces = new Set<string>();

  /**
   * @throws {PrivkitError} E_ARG when options is not an object, dimension is not a positive integer (at most 2^21 for 'pine'), clipNorm is not finite and > 0, bits not an integer in [2, 24], noiseMultiplier not finite and >= 0, sigma = z sqrt(M) outside [1/2, 2^24] when z > 0, circuit not 'pine' or 'bits', a chunk length out of range, or rng not an Rng from createRng.
   */
  constructor(given: PrioAggregatorOptions) {
    const options = readOptions(given, ['dimension', 'clipNorm', 'bits', 'noiseMultiplier', 'circuit', 'chunkLength', 'normChunkLength', 'rng'], 'options', true);
    this.dimension = checkDimension(options.dimension);
    this.clipNorm = assertNumber('options.clipNorm', options.clipNorm, 'positive');
    this.bits = options.bits === undefined ? 16 : assertInteger('options.bits', options.bits, 2, Math.min(MAX_PRIO_FL_BITS, MAX_BOUNDED_L2_BITS));
    this.noiseMultiplier = assertNumber('options.noiseMultiplier', options.noiseMultiplier, 'nonnegative');
    const q = 2 ** (this.bits - 1) - 1;
    this.scale = q / (this.clipNorm * (1 + CLIP_SLACK));
    this.bound = Math.ceil((q * (1 + 2 ** -30) + Math.sqrt(this.dimension) / 2) ** 2);
    this.noiseSigma = this.noiseMultiplier * Math.sqrt(this.bound);
    if (this.noiseMultiplier > 0 && !(this.noiseSigma >= 0.5 && this.noiseSigma <= MAX_DISCRETE_SCALE)) {
      throw new PrivkitError('E_ARG', `options.noiseMultiplier ${this.noiseMultiplier} gives sigma = ${this.noiseSigma} quantized units; it must be in [1/2, 2^24]`, { argument: 'options.noiseMultiplier' });
    }
    if (options.circuit !== undefined && options.circuit !== 'pine' && options.circuit !== 'bits') {
      throw new PrivkitError('E_ARG', `options.circuit must be 'pine' or 'bits', got ${describe(options.circuit)}`, { argument: 'options.circuit' });
    }
    this.circuit = options.circuit ?? 'pine';
    const chunks = {
      ...(options.chunkLength === undefined ? {} : { chunkLength: options.chunkLength }),
      ...(options.normChunkLength === undefined ? {} : { normChunkLength: options.normChunkLength }),
    };
    this.vdaf =
      this.circuit === 'pine'
        ? prio3PineL2VecSum({ length: this.dimension, bound: this.bound, ...chunks })
        : prio3BoundedL2VecSum({ length: this.dimension, bits: this.bits, bound: this.bound, ...chunks });
    this.rng = resolveRng({ rng: options.rng });
    // Always from the CSPRNG, even beside a seeded rng: a client that can predict the verify key can
    // predict the query randomness and forge a proof (only the outputs' reproducibility needs the seed).
    this.verifyKey = resolveRng({}).bytes(32);
    this.leader = new PrioParty(this.vdaf, this.noiseSigma, this.rng);
    this.helper = new PrioParty(this.vdaf, this.noiseSigma, this.rng);
  }

  /**
   * What an honest client sends: its update (L2 norm at most clipNorm (1 + 1e-6)) quantized to
   * q_i = round(scale u_i) and sharded with its proof.
   *
   * @throws {PrivkitError} E_SHAPE when update is not a Float32Array of length `dimension`; E_NONFINITE when it holds NaN or +-Infinity; E_ARG when its norm exceeds clipNorm (1 + 1e-6).
   */
  clientReport(update: Float32Array): Prio3Report {
    if (typedArrayKind(update) !== 'Float32Array' || currentLength(update) !== this.dimension) {
      throw new PrivkitError('E_SHAPE', `update must be a Float32Array of length ${this.dimension}, got ${describe(update)}`, { argument: 'update' });
    }
    const x = update.slice();
    assertFinite('update', x);
    let norm2 = 0;
    for (let i = 0; i < x.length; i++) norm2 += x[i]! * x[i]!;
    if (Math.sqrt(norm2) > this.clipNorm * (1 + CLIP_SLACK)) {
      throw new PrivkitError('E_ARG', `update has L2 norm ${Math.sqrt(norm2)}, above clipNorm ${this.clipNorm}: clip it first`, { argument: 'update' });
    }
    const quantized = Array.from(x, (v) => Math.round(this.scale * v));
    return this.vdaf.shard(quantized, { rng: this.rng });
  }

  /** Sensitivity and noise of one released round, before sampling. */
  private event(): DistributedDiscreteGaussianEvent {
    return { mechanism: 'distributed-discrete-gaussian', localSigma: this.noiseSigma, clients: 1, l2Sensitivity: Math.sqrt(this.bound), dimension: this.dimension };
  }

  /** The event of every released round (before sampling): one aggregator's discrete Gaussian. */
  worstCaseEvent(): DistributedDiscreteGaussianEvent {
    return this.event();
  }

  /**
   * Epsilon at delta against each aggregator (which sees who sends reports) and against the collector
   * (FedAvg's server, which draws the sample): the released rounds composed without amplification by
   * sampling, replace-one neighbours.
   *
   * @throws {PrivkitError} E_ARG when delta is not in (0, 1).
   */
  epsilonAgainstAggregators(delta: number): number {
    assertDelta('delta', delta);
    if (this.noiseMultiplier === 0) return this.reports.some((r) => !r.withheld) ? Number.POSITIVE_INFINITY : 0;
    return this.reports.some((r) => !r.withheld) ? this.#aggregatorAccountant.getEpsilon(delta).epsilon : 0;
  }

  /**
   * The aggregators' side of a round: verifies every report (leader and helper over ping-pong), sums
   * the valid ones, adds each aggregator's noise to its share and returns the dequantized sum. A report
   * that fails verification or is malformed is rejected (its position in `reports[].rejected`); a round
   * with no valid report is withheld (zeros, event null). Before release the helper compares its
   * report count and checksum with the leader's (DAP's check, {@link Prio3Aggregator.aggregateShare}).
   *
   * @throws {PrivkitError} E_ARG when round is not an integer >= 1 or reports is not an array;
   *   E_PROTOCOL when the leader and the helper aggregated different reports (their counts or report
   *   checksums differ): nothing is released, the round is recorded as withheld and both sums are dropped.
   */
  async aggregateReports(reports: readonly Prio3Report[], round: number): Promise<AggregateResult> {
    return this.#verifyAndRelease(reports, round, 0);
  }

  /** aggregateReports, with the clients' time of the round (for its report). */
  #verifyAndRelease(reports: readonly Prio3Report[], round: number, clientMs: number): AggregateResult {
    assertInteger('round', round, 1);
    if (!Array.isArray(reports)) throw new PrivkitError('E_ARG', `reports must be an array, got ${describe(reports)}`, { argument: 'reports' });
    const started = performance.now();
    const rejected: number[] = [];
    reports.forEach((report, k) => {
      const key = nonceKey(report);
      if (key === undefined || this.#seenNonces.has(key)) {
        rejected.push(k); // not a report, or a replay of one already aggregated (in any round)
        return;
      }
      try {
        const common = { verifyKey: this.verifyKey, nonce: report.nonce, publicShare: report.publicShare };
        const leaderInit = this.vdaf.leaderInit({ ...common, inputShare: report.inputShares[0]! });
        const helperInit = this.vdaf.helperInit({ ...common, inputShare: report.inputShares[1]!, inbound: leaderInit.outbound });
        const leaderOut = this.vdaf.leaderContinued(leaderInit.state, helperInit.outbound);
        this.leader.add(report.nonce, leaderOut);
        this.helper.add(report.nonce, helperInit.outShare);
        this.#seenNonces.add(key);
      } catch (error) {
        // An invalid proof (E_AUTH) or a malformed share or message (E_ARG, E_PROTOCOL): rejected.
        if (!(error instanceof PrivkitError)) throw error;
        rejected.push(k);
      }
    });
    const accepted = reports.length - rejected.length;
    const verifyMs = performance.now() - started;
    const record = (withheld: boolean): void => void this.reports.push({ round, received: reports.length, accepted, rejected, withheld, clientMs, verifyMs });
    if (accepted === 0) {
      record(true);
      this.leader.discard();
      this.helper.discard();
      return { sum: new Float32Array(this.dimension), included: 0, event: null };
    }
    let shares: [Prio3AggregateShare, Prio3AggregateShare];
    try {
      // DAP's check (draft-ietf-ppm-dap, "Collecting Results"): the leader's aggregate share request
      // carries its report count and checksum, and the helper refuses to release when its own differ,
      // so a helper that aggregated other reports than the leader is caught before any share leaves.
      const helperShare = this.helper.release(this.leader.summary());
      shares = [this.leader.release(), helperShare];
    } catch (error) {
      this.leader.discard();
      record(true);
      throw error;
    }
    record(false);
    const integerSum = this.vdaf.unshardChecked(shares);
    const sum = Float32Array.from(integerSum, (v) => v / this.scale);
    if (this.noiseMultiplier === 0) return { sum, included: accepted };
    const event = this.event();
    this.#aggregatorAccountant.step(subsampledDistributedEvent(event, 1, 'without-replacement'));
    return { sum, included: accepted, event };
  }

  /**
   * FedAvg's entry point: each update (already clipped) becomes an honest client's report, then
   * aggregateReports runs the aggregators.
   *
   * @throws {PrivkitError} E_ARG when round is not an integer >= 1, clippedDeltas is not an array, or an update's norm exceeds clipNorm (1 + 1e-6).
   * @throws {PrivkitError} E_SHAPE when an update is not a Float32Array of length `dimension`; E_NONFINITE when it holds NaN or +-Infinity.
   */
  async aggregate(clippedDeltas: Float32Array[], round: number): Promise<AggregateResult> {
    stack(clippedDeltas, round, this.dimension);
    const started = performance.now();
    const reports = clippedDeltas.map((delta) => this.clientReport(delta));
    return this.#verifyAndRelease(reports, round, performance.now() - started);
  }
}
