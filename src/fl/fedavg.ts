// The FedAvg server (McMahan et al. 2017, Alg. 1) with user-level differential privacy (DP-FedAvg,
// McMahan et al. 2018, Alg. 1) over simulated clients. Each round:
//   1. sample clients from the server's generator: by default a fixed-size sample of clientsPerRound
//      clients without replacement, or with `sampling: 'poisson'` each client independently with
//      probability q = clientsPerRound / clients (see "Whose epsilon" below);
//   2. drop each sampled client with probability dropoutRate (a simulated failure to report);
//   3. train the others locally (localUpdate, on the worker pool when one is given);
//   4. clip every update to L2 norm clipNorm (clipByL2) and hand them to the UpdateAggregator,
//      which sums them and adds its noise (CentralDpAggregator: Gaussian noise z C at the server);
//   5. average: divide by clientsPerRound when the aggregator adds noise (the fixed-denominator
//      estimator of McMahan et al. 2018, whose sensitivity does not depend on who took part), by the
//      number included otherwise;
//   6. apply with the server optimizer: w += eta v, v = beta v + average (beta = 0: plain
//      averaging with server learning rate eta; beta > 0: FedAvgM, Hsu et al. 2019);
//   7. charge an RDP accountant (the subsampled Gaussian of the aggregator's noise, or the
//      aggregator's own event, e.g. the distributed discrete Gaussian of secure aggregation) and
//      report the running epsilon.
//
// Whose epsilon. The number of clients in a round is not secret: RoundMetrics report it, and under
// distributed DP the noise in the model grows with it. Given the count, adding one client to a
// Poisson sample displaces another, so Poisson amplification with add/remove neighbours understates
// epsilon for anyone who sees the count. The default is therefore a fixed-size sample without
// replacement, accounted with replace-one neighbours (one client's data replaced: the sum moves by up
// to 2C; Wang, Balle, Kasiviswanathan 2019): the count is then fixed and public, and the epsilon holds
// for anyone who sees the models and every metric. Simulated dropouts are independent of the data, so
// the included clients are a uniform sample of the population of their (public) number, at a rate no
// higher than q, and the decision to withhold a round (too few survivors) depends only on that number:
// it reveals nothing about the data and is not charged. Poisson sampling stays available where the
// count is really hidden: only with an aggregator whose release hides it (`hidesCount`, central DP),
// and its epsilon then holds only for observers who see the models and nothing else (not the
// RoundMetrics counts, which are the server's own view). The aggregation server itself sees who takes
// part; against it there is no amplification (SecureAggregator.epsilonAgainstServer).
//
// With `targetEpsilon`, z is the smallest noise multiplier that keeps epsilon within the target after
// `rounds` rounds (calibrateNoiseMultiplier, same sampling and neighbours); with an aggregator of its
// own, targetEpsilon is a budget. Either way a private FedAvg refuses (E_BUDGET) a round past `rounds`
// or one whose costliest outcome could take epsilon past the target.
import { abortedError, PrivkitError } from '../errors.js';
import { calibrateNoiseMultiplier } from '../accounting/calibrate.js';
import { RdpAccountant } from '../accounting/rdp-accountant.js';
import { assertDelta, subsampledDistributedEvent, type PrivacyEvent, type Sampling } from '../accounting/events.js';
import { createRng, type Rng } from '../dp/rng.js';
import { gaussianLatticeFor } from '../dp/secure.js';
import { assertPool, checkpoint } from '../pool/guards.js';
import type { CallOptions, PoolRunner } from '../pool/types.js';
import { assertFloat32Array, assertFunction, assertInteger, assertNumber, assertOneOf, callOptions, describe, readOptions } from '../validate.js';
import { ready } from '../wasm/runtime.js';
import { CentralDpAggregator, centralRoundEvent, NonPrivateAggregator, type AggregateResult, type UpdateAggregator } from './aggregators.js';
import type { Dataset } from './data.js';
import { checkLocalOptions, checkModel, checkSeed, localUpdate, type ClientTask, type LocalTrainingOptions } from './local.js';
import type { Evaluation, Model } from './model.js';
import { localUpdates } from './pool-ops.js';
import { fixedSizeSample, poissonSample, UniformIntegers } from './sampling.js';

/** 'without-replacement' (default: a fixed-size sample, replace-one neighbours) or 'poisson' (count-hiding aggregators only). */
export type ClientSampling = Sampling;

/** Options of {@link FedAvg} and {@link runFedAvg}. */
export interface FedAvgOptions {
  /** The model to train (from createModel). */
  model: Model;
  /** The clients' data, one Dataset each (see splitClients). */
  clients: Dataset[];
  /** Number of rounds: the loop length of runFedAvg, and the horizon of a targetEpsilon calibration. */
  rounds: number;
  /** Clients per round: the exact number (without replacement) or the expected number (Poisson). */
  clientsPerRound: number;
  /** Default 'without-replacement' (see the file header for whose epsilon each one gives). */
  sampling?: ClientSampling;
  /** Client training: epochs, batchSize, learningRate. */
  local: Omit<LocalTrainingOptions, 'seed'>;
  /** L2 bound C on each client update. Required with noise; without it a non-private run does not clip. */
  clipNorm?: number;
  /** z: noise of standard deviation z C on each round's sum (central DP). Default 0 (non-private). */
  noiseMultiplier?: number;
  /**
   * Calibrate z so that epsilon after `rounds` rounds is at most this (instead of noiseMultiplier); with
   * `aggregator`, the budget the aggregator's rounds must fit in (rounds that could overspend it are refused).
   */
  targetEpsilon?: number;
  /** delta of the reported (epsilon, delta); default 1e-5. */
  delta?: number;
  /** A custom aggregator (e.g. distributed DP with secure aggregation); its noiseMultiplier is accounted. */
  aggregator?: UpdateAggregator;
  /** eta: the server step on the averaged update; default 1. */
  serverLearningRate?: number;
  /** beta in [0, 1): server momentum (FedAvgM); default 0. */
  serverMomentum?: number;
  /** Probability in [0, 1) that a sampled client fails to report; default 0. */
  dropoutRate?: number;
  /** Held-out data evaluated every `evalEvery` rounds and after the last round. */
  test?: Dataset;
  /** Evaluate `test` every this many rounds; default 10. */
  evalEvery?: number;
  /** Starting global parameters; default model.initParams(). */
  initialParams?: Float32Array;
  /** Worker pool the clients train in; without one they train on this thread. */
  pool?: PoolRunner;
  /**
   * 32-byte key making the whole run reproducible (sampling, client shuffles, initial parameters and
   * the server's noise). For simulations and tests only: seeded noise protects nothing.
   */
  seed?: Uint8Array;
}

/** What one round of FedAvg reports. */
export interface RoundMetrics {
  /** Counts from 1. */
  round: number;
  /** Clients sampled this round. */
  sampled: number;
  /** Sampled clients that did not report. */
  dropouts: number;
  /** Updates in the aggregate (as the aggregator reports). */
  included: number;
  /** Updates whose norm exceeded clipNorm: a tuning aid that depends on the clients' data, not covered by epsilon (keep it to the server). */
  clipped: number;
  /** Running epsilon at `delta` (Infinity without noise). */
  epsilon: number;
  /** Test accuracy, on evaluation rounds. */
  accuracy?: number;
  /** Test mean cross-entropy, on evaluation rounds. */
  loss?: number;
  /** Wall time of the round: it depends on the clients' data, so, like `clipped`, it is not covered by epsilon. */
  seconds: number;
}

/** Callbacks of {@link runFedAvg}. */
export interface FedAvgCallbacks {
  /** Called after each round with its metrics; a returned promise is awaited before the next round. */
  onRound?(metrics: RoundMetrics): void | Promise<void>;
  /** Called after each round with the rounds done and the rounds to run. */
  onProgress?(done: number, total: number): void;
  /** Aborting it stops the run (E_ABORTED) within the round it is in, before that round's aggregation (see FedAvg.runRound). */
  signal?: AbortSignal;
}

/** Options of {@link FedAvg.runRound}. */
export interface RoundOptions {
  /**
   * Aborting it rejects the round with E_ABORTED before its aggregation: the clients' training is
   * discarded, nothing is released or charged, and the round is not counted (the sampling and seed
   * generators have advanced, so a seeded run does not replay). The epsilon holds only when the
   * decision to abort does not depend on the round's data: an abort driven by the round's progress
   * or time (a timeout) is a data-dependent channel, like RoundMetrics.seconds, and retrying after it
   * selects rounds by their clients. With a pool the training stops at once; on this thread, between
   * two clients.
   */
  signal?: AbortSignal;
  /** Called as the round's clients finish training, with the clients trained and the clients reporting. */
  onProgress?(done: number, total: number): void;
}

/** The outcome of {@link runFedAvg}. */
export interface FedAvgResult {
  /** Final global parameters. */
  params: Float32Array;
  /** z actually used (calibrated with targetEpsilon). */
  noiseMultiplier: number;
  /** User-level epsilon at `delta` after all rounds (Infinity without noise). */
  epsilon: number;
  /** The delta of the guarantee. */
  delta: number;
  /** Who the epsilon holds for, given what they see (FedAvg.observer). */
  observer: string;
  /** The metrics of every round, in order. */
  history: RoundMetrics[];
  /** Final test accuracy (when `test` was given). */
  accuracy?: number;
  /** Final test mean cross-entropy (when `test` was given). */
  loss?: number;
}

const DEFAULT_DELTA = 1e-5;
const DEFAULT_EVAL_EVERY = 10;

/** Every field of FedAvgOptions (each read once, see readOptions). */
export const FEDAVG_OPTION_KEYS = [
  'model',
  'clients',
  'rounds',
  'clientsPerRound',
  'sampling',
  'local',
  'clipNorm',
  'noiseMultiplier',
  'targetEpsilon',
  'delta',
  'aggregator',
  'serverLearningRate',
  'serverMomentum',
  'dropoutRate',
  'test',
  'evalEvery',
  'initialParams',
  'pool',
  'seed',
] as const satisfies readonly (keyof FedAvgOptions)[];

/** Most rounds of one run (far beyond any federated training; bounds one call's work). */
const MAX_ROUNDS = 2 ** 20;

/**
 * The FedAvg server (McMahan et al. 2017) with user-level differential privacy (DP-FedAvg, McMahan
 * et al. 2018) over simulated clients: each {@link FedAvg.runRound} samples clients, trains them
 * locally (on the pool when given), clips their updates, aggregates them through the
 * {@link UpdateAggregator} (central DP, secure aggregation with distributed DP, or none), applies the
 * average and charges an RDP accountant. A private run refuses (E_BUDGET) rounds past `rounds` or past
 * targetEpsilon. {@link runFedAvg} runs all rounds.
 *
 * @example
 * ```ts
 * import { ready } from 'privkit';
 * import { createModel, splitClients } from 'privkit/fl';
 * await ready();
 * // a toy task (20 features, 2 classes); use real data such as MNIST in practice
 * const labels = Uint8Array.from({ length: 2000 }, (_, i) => i % 2);
 * const images = Float32Array.from({ length: 2000 * 20 }, (_, k) => labels[Math.floor(k / 20)]! - 0.5 + Math.sin(k));
 * const model = createModel({ type: 'softmax-regression', inputs: 20, classes: 2 });
 * const clients = splitClients(100, { images, labels });
 * import { FedAvg, SecureAggregator } from 'privkit/fl';
 * // distributed DP: clients quantize, noise and mask their updates; the server learns only the sum
 * const aggregator = new SecureAggregator({ dimension: model.paramCount, clipNorm: 1, noiseMultiplier: 2, clientsPerRound: 20 });
 * const fedavg = new FedAvg({ model, clients, rounds: 5, clientsPerRound: 20, clipNorm: 1, aggregator,
 *   local: { epochs: 1, batchSize: 10, learningRate: 0.1 } });
 * while (fedavg.round < fedavg.rounds) await fedavg.runRound();
 * console.log(fedavg.epsilon, 'against the server:', aggregator.epsilonAgainstServer(fedavg.delta));
 * ```
 */
export class FedAvg {
  /** The model being trained. */
  readonly model: Model;
  /** Rounds a private run may take (the calibration horizon). */
  readonly rounds: number;
  /** How each round's clients are drawn. */
  readonly sampling: ClientSampling;
  /** q = clientsPerRound / clients. */
  readonly sampleRate: number;
  /** z of the aggregator (0: non-private). */
  readonly noiseMultiplier: number;
  /** The delta `epsilon` is at. */
  readonly delta: number;
  /** Who `epsilon` holds for, given what they see, and under which neighbouring relation. */
  readonly observer: string;
  /** The epsilon a private run may not exceed (targetEpsilon), or undefined. */
  readonly targetEpsilon: number | undefined;
  /** Rounds run so far. */
  round = 0;

  readonly #clients: Dataset[];
  readonly #clientsPerRound: number;
  readonly #local: Omit<LocalTrainingOptions, 'seed'>;
  #clipNorm: number | undefined;
  readonly #aggregator: UpdateAggregator;
  readonly #serverLearningRate: number;
  readonly #serverMomentum: number;
  readonly #dropoutRate: number;
  readonly #test: Dataset | undefined;
  readonly #evalEvery: number;
  readonly #pool: PoolRunner | undefined;
  readonly #accountant = new RdpAccountant();
  readonly #samplingRng: Rng;
  readonly #integers: UniformIntegers;
  readonly #seedRng: Rng;
  readonly #params: Float32Array;
  readonly #velocity: Float32Array;
  #busy = false;

  /**
   * Checks the options, calibrates the noise for targetEpsilon and draws the initial parameters.
   *
   * @throws {PrivkitError} E_ARG when an option is missing or out of range (the message names it: e.g. options.clientsPerRound above the number of clients, noise without clipNorm, noiseMultiplier together with targetEpsilon or aggregator, Poisson sampling with an aggregator that reveals the count, an unreachable targetEpsilon).
   * @throws {PrivkitError} E_ARG, E_SHAPE, E_NONFINITE when a client's or the test data, or initialParams, does not fit the model.
   */
  constructor(given: FedAvgOptions) {
    const options = readOptions(given, FEDAVG_OPTION_KEYS, 'options', true) as FedAvgOptions;
    checkModel(options.model);
    const model: Model = (this.model = options.model);
    if (!Array.isArray(options.clients) || options.clients.length === 0) {
      throw new PrivkitError('E_ARG', `options.clients must be a non-empty array of datasets, got ${describe(options.clients)}`, {
        argument: 'options.clients',
      });
    }
    // a for loop, not forEach: a hole is a missing client, refused rather than skipped
    for (let k = 0; k < options.clients.length; k++) checkDataset(model, options.clients[k], `options.clients[${k}]`);
    this.#clients = options.clients.slice();
    this.rounds = assertInteger('options.rounds', options.rounds, 1, MAX_ROUNDS);
    const population = this.#clients.length;
    this.#clientsPerRound = assertInteger('options.clientsPerRound', options.clientsPerRound, 1);
    if (this.#clientsPerRound > population) {
      throw new PrivkitError('E_ARG', `options.clientsPerRound must be <= the number of clients (${population}), got ${this.#clientsPerRound}`, {
        argument: 'options.clientsPerRound',
      });
    }
    this.sampleRate = this.#clientsPerRound / population;
    const sampling = assertOneOf('options.sampling', options.sampling, ['without-replacement', 'poisson'] as const, 'without-replacement');
    this.sampling = sampling;
    const local = checkLocalOptions(options.local, 'options.local');
    this.#clipNorm = options.clipNorm === undefined ? undefined : assertNumber('options.clipNorm', options.clipNorm, 'positive');
    this.delta = options.delta === undefined ? DEFAULT_DELTA : assertDelta('options.delta', options.delta);
    this.#serverLearningRate =
      options.serverLearningRate === undefined ? 1 : assertNumber('options.serverLearningRate', options.serverLearningRate, 'positive');
    this.#serverMomentum = fraction('options.serverMomentum', options.serverMomentum);
    this.#dropoutRate = fraction('options.dropoutRate', options.dropoutRate);
    this.#test = options.test === undefined ? undefined : checkDataset(model, options.test, 'options.test');
    this.#evalEvery = options.evalEvery === undefined ? DEFAULT_EVAL_EVERY : assertInteger('options.evalEvery', options.evalEvery, 1);
    if (options.pool !== undefined) assertPool(options.pool, 'options.pool');
    if (options.pool !== undefined && model.spec.type === 'custom' && model.spec.rebuild === undefined) {
      throw new PrivkitError('E_ARG', `options.model (${model.spec.name}) can not be rebuilt in pool workers: leave options.pool out`, { argument: 'options.pool' });
    }
    this.#pool = options.pool;
    checkSeed('options.seed', options.seed);
    const generator = (stream: number): Rng => createRng(options.seed === undefined ? {} : { seed: options.seed, stream });
    this.#samplingRng = generator(0);
    this.#integers = new UniformIntegers(this.#samplingRng);
    this.#seedRng = generator(1);

    this.targetEpsilon = options.targetEpsilon === undefined ? undefined : assertNumber('options.targetEpsilon', options.targetEpsilon, 'positive');
    this.#aggregator = this.#resolveAggregator(options, generator(2));
    this.noiseMultiplier = this.#aggregator.noiseMultiplier;
    this.#clipNorm = this.#agreedClipNorm(this.#clipNorm);
    if (this.noiseMultiplier > 0 && this.#clipNorm === undefined) {
      throw new PrivkitError('E_ARG', 'options.clipNorm must be given when the aggregator adds noise', { argument: 'options.clipNorm' });
    }
    // Under DP a client whose training diverges contributes a zero update: whether a round completes must not depend on its data.
    this.#local = this.noiseMultiplier > 0 ? { ...local, divergence: 'zero' } : local;
    if (this.noiseMultiplier === 0 && this.targetEpsilon !== undefined) {
      throw new PrivkitError('E_ARG', 'options.targetEpsilon needs a private aggregator (this one adds no noise)', { argument: 'options.targetEpsilon' });
    }
    if (sampling === 'poisson' && this.noiseMultiplier > 0 && this.#aggregator.hidesCount !== true) {
      throw new PrivkitError(
        'E_ARG',
        "options.sampling 'poisson' amplifies privacy only while the number of participants is hidden, and this aggregator's release reveals it: use 'without-replacement'",
        { argument: 'options.sampling' },
      );
    }
    this.observer =
      sampling === 'poisson'
        ? 'observers of the released models only, who see no participant counts, RoundMetrics or progress reports (add/remove neighbours, Poisson amplification)'
        : 'anyone who sees the released models and the participant counts (not RoundMetrics.clipped or seconds, nor rounds aborted by their progress or time), but not which clients took part (replace-one neighbours, amplification by sampling without replacement)';

    if (options.initialParams === undefined) {
      this.#params = model.initParams(options.seed === undefined ? {} : { seed: generator(3).bytes(32) });
    } else {
      model.checkParams(options.initialParams, 'options.initialParams');
      this.#params = options.initialParams.slice();
    }
    this.#velocity = new Float32Array(model.paramCount);
  }

  /** The current global parameters (a copy). */
  get params(): Float32Array {
    return this.#params.slice();
  }

  /** Epsilon at `delta` after the rounds run so far (Infinity without noise, 0 before the first round). */
  get epsilon(): number {
    if (this.round === 0) return 0;
    return this.noiseMultiplier > 0 ? this.#accountant.getEpsilon(this.delta).epsilon : Number.POSITIVE_INFINITY;
  }

  /**
   * Accuracy and mean loss of the current global model on `data`.
   *
   * @throws {PrivkitError} E_ARG, E_SHAPE, E_NONFINITE when data does not fit the model.
   */
  evaluate(data: Dataset): Evaluation {
    checkDataset(this.model, data, 'data');
    return this.model.evaluate(this.#params, data.images, data.labels);
  }

  /**
   * Runs one round (see the file header) and returns its metrics. Calls `ready()` itself.
   *
   * @throws {PrivkitError} E_BUDGET (as a rejection) when a private run has done all its rounds, or the round could take epsilon past targetEpsilon.
   * @throws {PrivkitError} E_ARG (as a rejection) when a round is still running, or the aggregator misbehaves (returns its own events without worstCaseEvent under targetEpsilon, or a bad result).
   * @throws {PrivkitError} E_PROTOCOL (as a rejection) when a count-hiding aggregator withholds a round under Poisson sampling.
   * @throws {PrivkitError} E_WORKER (as a rejection) when the pool fails; errors of the aggregator pass through.
   * @throws {PrivkitError} E_ABORTED (as a rejection) when opts.signal aborts the round (before its aggregation; the run is as before the round).
   * @throws {PrivkitError} E_ARG (as a rejection) when opts.signal is not an AbortSignal or opts.onProgress is not a function.
   */
  async runRound(opts?: RoundOptions): Promise<RoundMetrics> {
    const call = callOptions(opts);
    if (this.#busy) throw new PrivkitError('E_ARG', 'runRound was called while a round is running; await each round', { argument: 'runRound' });
    this.#checkBudget();
    if (call.signal?.aborted) throw abortedError(call.signal);
    this.#busy = true;
    try {
      return await this.#round(call);
    } finally {
      this.#busy = false;
    }
  }

  async #round(call: CallOptions): Promise<RoundMetrics> {
    await ready();
    const started = performance.now();
    const round = this.round + 1;
    const population = this.#clients.length;
    const sampled =
      this.sampling === 'poisson'
        ? poissonSample(population, this.sampleRate, this.#samplingRng)
        : fixedSizeSample(population, this.#clientsPerRound, this.#integers);
    const stay = this.#dropoutRate > 0 ? this.#samplingRng.uniform(sampled.length) : undefined;
    const reporting = stay === undefined ? sampled : sampled.filter((_, k) => !(stay[k]! < this.#dropoutRate));
    const tasks: ClientTask[] = reporting.map((i) => {
      const { images, labels } = this.#clients[i]!;
      return { images, labels, seed: this.#seedRng.bytes(32) };
    });

    const d = this.model.paramCount;
    const deltas = await this.#train(tasks, call);
    if (call.signal?.aborted) throw abortedError(call.signal); // the last point before anything is released
    const clipped = this.#clipNorm === undefined ? 0 : clipUpdates(deltas, tasks.length, d, this.#clipNorm);
    const views = tasks.map((_, k) => deltas.subarray(k * d, (k + 1) * d));
    const { sum, included, event } = await this.#aggregator.aggregate(views, round);
    checkAggregate(sum, included, d, views.length);
    const charge = this.#roundEvent(event);

    const denominator = this.noiseMultiplier > 0 ? this.#clientsPerRound : included;
    if (denominator > 0) {
      const scale = 1 / denominator;
      const beta = this.#serverMomentum;
      const eta = this.#serverLearningRate;
      const v = this.#velocity;
      const w = this.#params;
      for (let j = 0; j < d; j++) {
        v[j] = beta * v[j]! + sum[j]! * scale;
        w[j] += eta * v[j]!;
      }
    }
    if (charge !== undefined) this.#accountant.step(charge);
    this.round = round;

    const metrics: RoundMetrics = {
      round,
      sampled: sampled.length,
      dropouts: sampled.length - reporting.length,
      included,
      clipped,
      epsilon: this.epsilon,
      seconds: 0,
    };
    if (this.#test !== undefined && (round % this.#evalEvery === 0 || round === this.rounds)) {
      const { accuracy, loss } = this.model.evaluate(this.#params, this.#test.images, this.#test.labels);
      metrics.accuracy = accuracy;
      metrics.loss = loss;
    }
    metrics.seconds = (performance.now() - started) / 1000;
    return metrics;
  }

  /** What a round whose aggregate came with `event` is charged (undefined: nothing). */
  #roundEvent(event: AggregateResult['event']): PrivacyEvent | undefined {
    if (event === null) {
      // A withheld round released nothing about the updates, and withholding depended only on the public count.
      if (this.sampling === 'poisson') {
        throw new PrivkitError('E_PROTOCOL', 'the aggregator withheld a round under Poisson sampling, which reveals the count it claims to hide', {
          argument: 'options.aggregator',
        });
      }
      return undefined;
    }
    if (event !== undefined) {
      if (this.targetEpsilon !== undefined && this.#aggregator.worstCaseEvent === undefined) {
        throw new PrivkitError('E_ARG', 'an aggregator that returns its own events must implement worstCaseEvent() to run under targetEpsilon', {
          argument: 'options.aggregator',
        });
      }
      return subsampledDistributedEvent(event, this.sampleRate, this.sampling);
    }
    return this.noiseMultiplier > 0 ? this.#gaussianEvent() : undefined;
  }

  /** The event of one round of the aggregator's Gaussian noise (sigma = z C on the sum). */
  #gaussianEvent(): PrivacyEvent {
    return centralRoundEvent(this.#aggregator, this.sampleRate, this.sampling);
  }

  /**
   * A private run stops after `rounds` rounds, and under targetEpsilon also before a round whose
   * costliest outcome (the aggregator's worst case: e.g. the fewest survivors it unmasks) could take
   * epsilon past the target.
   */
  #checkBudget(): void {
    if (this.noiseMultiplier === 0) return;
    if (this.round >= this.rounds) {
      throw new PrivkitError('E_BUDGET', `this private FedAvg was set up for ${this.rounds} rounds; run a new one (with its own accounting) for more`);
    }
    if (this.targetEpsilon === undefined) return;
    const worst = this.#aggregator.worstCaseEvent?.();
    const event = worst === undefined ? this.#gaussianEvent() : subsampledDistributedEvent(worst, this.sampleRate, this.sampling);
    const after = this.#accountant.clone().step(event).getEpsilon(this.delta).epsilon;
    if (!(after <= this.targetEpsilon)) {
      throw new PrivkitError(
        'E_BUDGET',
        `round ${this.round + 1} could bring epsilon to ${after} > targetEpsilon ${this.targetEpsilon} (delta ${this.delta}; spent ${this.epsilon})`,
      );
    }
  }

  /**
   * The clip norm of the run: the aggregator's own when it has one (its noise is calibrated to it, and
   * an update clipped to a larger norm would be refused or clipped again mid-round), E_ARG when
   * options.clipNorm names another.
   */
  #agreedClipNorm(given: number | undefined): number | undefined {
    const own = this.#aggregator.clipNorm;
    if (own === undefined) return given;
    if (typeof own !== 'number' || !(own > 0) || !Number.isFinite(own)) {
      throw new PrivkitError('E_ARG', `options.aggregator.clipNorm must be a positive number, got ${describe(own)}`, { argument: 'options.aggregator' });
    }
    if (given !== undefined && given !== own) {
      throw new PrivkitError('E_ARG', `options.clipNorm (${given}) differs from the aggregator's clipNorm (${own}), which its noise is calibrated to`, {
        argument: 'options.clipNorm',
      });
    }
    return own;
  }

  /** The updates of the tasks as one matrix (tasks x paramCount), trained on the pool or on this thread. */
  async #train(tasks: ClientTask[], call: CallOptions): Promise<Float32Array> {
    if (this.#pool !== undefined) return this.#pool.runWith(call, localUpdates, this.model, this.#params, tasks, this.#local);
    const d = this.model.paramCount;
    const deltas = new Float32Array(tasks.length * d);
    for (const [k, task] of tasks.entries()) {
      await checkpoint(call.signal);
      deltas.set(localUpdate(this.model, this.#params, task.images, task.labels, { ...this.#local, seed: task.seed }), k * d);
      call.onProgress?.(k + 1, tasks.length);
    }
    return deltas;
  }

  #resolveAggregator(options: FedAvgOptions, noiseRng: Rng): UpdateAggregator {
    const dimension = this.model.paramCount;
    if (options.aggregator !== undefined) {
      if (options.noiseMultiplier !== undefined) {
        throw new PrivkitError('E_ARG', 'options.noiseMultiplier must not be given with options.aggregator (the aggregator sets the noise)', {
          argument: 'options.noiseMultiplier',
        });
      }
      const aggregator = options.aggregator as Partial<UpdateAggregator> | null;
      if (typeof aggregator !== 'object' || aggregator === null || typeof aggregator.aggregate !== 'function') {
        throw new PrivkitError('E_ARG', `options.aggregator must implement UpdateAggregator, got ${describe(aggregator)}`, { argument: 'options.aggregator' });
      }
      assertNumber('options.aggregator.noiseMultiplier', aggregator.noiseMultiplier, 'nonnegative');
      return options.aggregator;
    }
    let noiseMultiplier = options.noiseMultiplier === undefined ? 0 : assertNumber('options.noiseMultiplier', options.noiseMultiplier, 'nonnegative');
    if (options.targetEpsilon !== undefined) {
      if (options.noiseMultiplier !== undefined) {
        throw new PrivkitError('E_ARG', 'options.noiseMultiplier must not be given together with options.targetEpsilon', {
          argument: 'options.noiseMultiplier',
        });
      }
      const { slack, tailMass } = gaussianLatticeFor(dimension); // CentralDpAggregator's lattice sampler error
      noiseMultiplier = calibrateNoiseMultiplier({
        targetEpsilon: this.targetEpsilon!,
        delta: this.delta,
        sampleRate: this.sampleRate,
        steps: this.rounds,
        sampling: this.sampling,
        neighbours: this.sampling === 'poisson' ? 'add-remove' : 'replace-one',
        slack,
        tailMass,
      }).noiseMultiplier;
    }
    if (noiseMultiplier === 0) return new NonPrivateAggregator({ dimension });
    if (this.#clipNorm === undefined) {
      throw new PrivkitError('E_ARG', 'options.clipNorm must be given with noise (noiseMultiplier or targetEpsilon)', { argument: 'options.clipNorm' });
    }
    return new CentralDpAggregator({ dimension, clipNorm: this.#clipNorm, noiseMultiplier, rng: noiseRng });
  }
}

/**
 * Runs options.rounds rounds of FedAvg, calling onRound after each, and returns the final model and its privacy.
 *
 * @throws {PrivkitError} (as a rejection) as the {@link FedAvg} constructor and {@link FedAvg.runRound}; errors of onRound and onProgress pass through.
 * @throws {PrivkitError} E_ABORTED (as a rejection) when callbacks.signal aborts the run; E_ARG when callbacks.signal is not an AbortSignal or callbacks.onProgress not a function.
 *
 * @example
 * ```ts
 * import { ready } from 'privkit';
 * import { createModel, splitClients } from 'privkit/fl';
 * await ready();
 * // a toy task (20 features, 2 classes); use real data such as MNIST in practice
 * const labels = Uint8Array.from({ length: 2000 }, (_, i) => i % 2);
 * const images = Float32Array.from({ length: 2000 * 20 }, (_, k) => labels[Math.floor(k / 20)]! - 0.5 + Math.sin(k));
 * const model = createModel({ type: 'softmax-regression', inputs: 20, classes: 2 });
 * const clients = splitClients(100, { images, labels });
 * import { runFedAvg } from 'privkit/fl';
 * const result = await runFedAvg(
 *   {
 *     model,
 *     clients,
 *     rounds: 20,
 *     clientsPerRound: 10,
 *     local: { epochs: 1, batchSize: 10, learningRate: 0.1 },
 *     clipNorm: 1,
 *     targetEpsilon: 8, // calibrates the noise: user-level (8, 1e-5)-DP after 20 rounds
 *   },
 *   { onRound: (m) => console.log(`round ${m.round}: epsilon ${m.epsilon.toFixed(2)}`) },
 * );
 * console.log(result.noiseMultiplier, result.epsilon, result.observer);
 * ```
 */
export async function runFedAvg(options: FedAvgOptions, callbacks: FedAvgCallbacks = {}): Promise<FedAvgResult> {
  const { onRound } = readOptions(callbacks, ['onRound'], 'callbacks');
  if (onRound !== undefined) assertFunction('callbacks.onRound', onRound);
  const { signal, onProgress } = callOptions(callbacks, 'callbacks');
  const fedavg = new FedAvg(options);
  const history: RoundMetrics[] = [];
  for (let r = 0; r < fedavg.rounds; r++) {
    const metrics = await fedavg.runRound({ signal });
    history.push(metrics);
    await onRound?.call(callbacks, metrics);
    onProgress?.call(callbacks, r + 1, fedavg.rounds);
  }
  const last = history[history.length - 1]!;
  const result: FedAvgResult = {
    params: fedavg.params,
    noiseMultiplier: fedavg.noiseMultiplier,
    epsilon: fedavg.epsilon,
    delta: fedavg.delta,
    observer: fedavg.observer,
    history,
  };
  if (last.accuracy !== undefined) {
    result.accuracy = last.accuracy;
    result.loss = last.loss!;
  }
  return result;
}

/**
 * Clips each of the `rows` updates of `deltas` (rows x d) to L2 norm `clipNorm` in place and returns how
 * many were above it. Norms are taken in float64, so no update's size can make the round fail (a float32
 * norm of a huge but finite update overflows): whether a round completes never depends on one client's data.
 */
function clipUpdates(deltas: Float32Array, rows: number, d: number, clipNorm: number): number {
  let clipped = 0;
  for (let k = 0; k < rows; k++) {
    const row = deltas.subarray(k * d, (k + 1) * d);
    let squares = 0;
    for (let j = 0; j < d; j++) squares += row[j]! * row[j]!;
    const norm = Math.sqrt(squares);
    if (!Number.isFinite(norm)) {
      // A non-finite update (a model that diverged on this client's data) is replaced by zeros, like a diverged local training.
      clipped++;
      row.fill(0);
    } else if (norm > clipNorm) {
      clipped++;
      // Scaled in float64; the float32 result may exceed clipNorm by an ulp, which the aggregators' charge covers.
      const scale = clipNorm / norm;
      for (let j = 0; j < d; j++) row[j] = row[j]! * scale;
    }
  }
  return clipped;
}

/** A probability in [0, 1), default 0. */
function fraction(name: string, value: unknown): number {
  if (value === undefined) return 0;
  const p = assertNumber(name, value, 'nonnegative');
  if (p >= 1) throw new PrivkitError('E_ARG', `${name} must be in [0, 1), got ${p}`, { argument: name });
  return p;
}

function checkDataset(model: Model, data: unknown, name: string): Dataset {
  if (typeof data !== 'object' || data === null) throw new PrivkitError('E_ARG', `${name} must be a dataset, got ${describe(data)}`, { argument: name });
  const { images, labels } = data as Dataset;
  model.checkData(images, labels, `${name}.`);
  return data as Dataset;
}

/** An aggregator's answer must fit the round. */
function checkAggregate(sum: unknown, included: unknown, dimension: number, given: number): void {
  assertFloat32Array('aggregate().sum', sum);
  if (sum.length !== dimension) {
    throw new PrivkitError('E_SHAPE', `the aggregator returned a sum of length ${sum.length}, expected ${dimension}`, { argument: 'aggregate().sum' });
  }
  const n = assertInteger('aggregate().included', included);
  if (n > given) {
    throw new PrivkitError('E_ARG', `the aggregator reported ${n} updates included out of ${given}`, { argument: 'aggregate().included' });
  }
  for (let j = 0; j < dimension; j++) {
    if (!Number.isFinite(sum[j]!)) {
      throw new PrivkitError('E_NONFINITE', `the aggregator returned a non-finite sum at ${j}`, { argument: 'aggregate().sum', index: j });
    }
  }
}
