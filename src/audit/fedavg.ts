// One-run audit of DP-FedAvg (Steinke, Nasr, Jagielski 2023) with white-box canary clients: a
// CanaryAggregator wraps the aggregator under audit and, each round, adds the updates of m canary
// clients to the server's list before the aggregator sums and noises it. Each canary is present in
// the population with probability 1/2 and, when present, takes part in a round with the sampling
// rate of FedAvg's Poisson sampling; its update is a fixed random direction of norm clipNorm (the
// largest update a client may send). After training, canary i scores <w_T - w_0, u_i>, and the
// scores become an epsilon lower bound, reported next to FedAvg's own (accountant) epsilon.
//
// The glue to FedAvg is auditFedAvg alone: it needs Poisson sampling (`sampling: 'poisson'`, given
// explicitly) because the canaries are sampled the same way, and a noiseMultiplier (a
// CentralDpAggregator is built from it) or an aggregator of your own.
import { createRng, type Rng } from '../dp/rng.js';
import { PrivkitError } from '../errors.js';
import { CentralDpAggregator, MAX_DIMENSION, type AggregateResult, type UpdateAggregator } from '../fl/aggregators.js';
import { FEDAVG_OPTION_KEYS, FedAvg, type FedAvgOptions } from '../fl/fedavg.js';
import { checkModel, checkSeed } from '../fl/local.js';
import { gaussianNoise, MAX_NOISE_LENGTH } from '../dp/noise.js';
import { assertFloat32Array, assertInteger, assertNumber, describe, readOptions } from '../validate.js';
import { currentLength } from '../wasm/boundary.js';
import { ready } from '../wasm/runtime.js';
import { auditCanaryScores, type OneRunResult } from './one-run.js';

/** Most canaries of one audit (their directions are canaries x dimension floats, at most MAX_NOISE_LENGTH). */
const MAX_CANARIES = 2 ** 20;

/** Options of {@link CanaryAggregator}. */
export interface CanaryAggregatorOptions {
  /** The aggregator under audit. */
  aggregator: UpdateAggregator;
  /** m: canary clients, each present with probability 1/2. */
  canaries: number;
  /** Length of every update (the model's parameter count). */
  dimension: number;
  /** Norm of every canary update (the server's clip norm). */
  clipNorm: number;
  /** Probability that a present canary takes part in a round (FedAvg's q = clientsPerRound / clients). */
  sampleRate: number;
  /** 32-byte key making the canaries and their participation reproducible (tests only). */
  seed?: Uint8Array;
}

/** An UpdateAggregator that adds canary updates to each round (see the file header). */
export class CanaryAggregator implements UpdateAggregator {
  /** The inner aggregator's noise multiplier. */
  readonly noiseMultiplier: number;
  /** The inner aggregator's: whether its release hides the count, its sampler slack. */
  readonly hidesCount: boolean;
  /** The inner aggregator's sampler slack (0 when it has none). */
  readonly slack: number;
  /** The inner aggregator's sampler tail mass (0 when it has none). */
  readonly tailMass: number;
  /** Canary directions, canaries x dimension, each of norm clipNorm. */
  readonly directions: Float32Array;
  /** 1 for the canaries present in the population. */
  readonly present: Uint8Array;
  readonly #inner: UpdateAggregator;
  readonly #dimension: number;
  readonly #sampleRate: number;
  readonly #participation: Rng;

  /**
   * @throws {PrivkitError} E_ARG when options is not an object, aggregator does not implement UpdateAggregator, canaries or dimension is not a positive integer, clipNorm is not finite and > 0, sampleRate is not in (0, 1], or seed is not 32 bytes.
   * @throws {PrivkitError} E_NOT_READY before `await ready()`.
   */
  constructor(given: CanaryAggregatorOptions) {
    const options = readOptions(given, ['aggregator', 'canaries', 'dimension', 'clipNorm', 'sampleRate', 'seed'], 'options', true);
    const inner = options.aggregator as Partial<UpdateAggregator> | null | undefined;
    if (typeof inner?.aggregate !== 'function') {
      throw new PrivkitError('E_ARG', `options.aggregator must implement UpdateAggregator, got ${describe(inner)}`, { argument: 'options.aggregator' });
    }
    this.#inner = inner as UpdateAggregator;
    // the aggregator's own fields, each read once; a bad one is the aggregator's fault
    const { noiseMultiplier, hidesCount, slack, tailMass } = inner;
    const aggregatorField = (name: string, value: unknown) => {
      if (typeof value !== 'number' || !(value >= 0) || !Number.isFinite(value)) {
        throw new PrivkitError('E_ARG', `options.aggregator.${name} must be a finite number >= 0, got ${describe(value)}`, { argument: 'options.aggregator' });
      }
      return value;
    };
    this.noiseMultiplier = aggregatorField('noiseMultiplier', noiseMultiplier);
    this.hidesCount = hidesCount === true;
    this.slack = slack === undefined ? 0 : aggregatorField('slack', slack);
    this.tailMass = tailMass === undefined ? 0 : aggregatorField('tailMass', tailMass);
    const m = assertInteger('options.canaries', options.canaries, 1, MAX_CANARIES);
    const d = (this.#dimension = assertInteger('options.dimension', options.dimension, 1, MAX_DIMENSION));
    if (m * d > MAX_NOISE_LENGTH) {
      throw new PrivkitError('E_ARG', `options.canaries x options.dimension (${m} x ${d}) must be <= 2^28 (the canary directions)`, { argument: 'options.canaries' });
    }
    const clipNorm = assertNumber('options.clipNorm', options.clipNorm, 'positive');
    this.#sampleRate = assertNumber('options.sampleRate', options.sampleRate, 'positive');
    if (this.#sampleRate > 1) throw new PrivkitError('E_ARG', `options.sampleRate must be in (0, 1], got ${this.#sampleRate}`, { argument: 'options.sampleRate' });
    const seed = options.seed;
    checkSeed('options.seed', seed);
    const rng = (stream: number): Rng => createRng(seed === undefined ? {} : { seed, stream });
    const setup = rng(0);
    this.directions = gaussianNoise(m * d, 1, { rng: setup, dtype: 'float32' });
    for (let i = 0; i < m; i++) {
      const u = this.directions.subarray(i * d, (i + 1) * d);
      const norm = Math.sqrt(u.reduce((s, v) => s + v * v, 0));
      for (let j = 0; j < d; j++) u[j] = (u[j]! / norm) * clipNorm;
    }
    this.present = Uint8Array.from(setup.uniform(m), (u) => (u < 0.5 ? 1 : 0));
    this.#participation = rng(1);
  }

  /**
   * Adds the updates of the present canaries that take part in this round, then aggregates with the
   * inner aggregator; `included` counts FedAvg's own clients only.
   *
   * @throws {PrivkitError} E_ARG when clippedDeltas is not an array; errors of the inner aggregator pass through.
   */
  async aggregate(clippedDeltas: Float32Array[], round: number): Promise<AggregateResult> {
    if (!Array.isArray(clippedDeltas)) {
      throw new PrivkitError('E_ARG', `clippedDeltas must be an array, got ${describe(clippedDeltas)}`, { argument: 'clippedDeltas' });
    }
    const d = this.#dimension;
    const draws = this.#participation.uniform(this.present.length);
    const canaries: Float32Array[] = [];
    for (let i = 0; i < this.present.length; i++) {
      if (this.present[i] && draws[i]! < this.#sampleRate) canaries.push(this.directions.subarray(i * d, (i + 1) * d));
    }
    const result = await this.#inner.aggregate([...clippedDeltas, ...canaries], round);
    // FedAvg counts its own clients only
    return { ...result, included: Math.max(0, result.included - canaries.length) };
  }

  /**
   * Score of each canary: <final - initial, u_i> (larger when the model moved along the canary).
   *
   * @throws {PrivkitError} E_SHAPE when a parameter vector is not a Float32Array of the dimension.
   */
  scores(initialParams: Float32Array, finalParams: Float32Array): Float64Array {
    const d = this.#dimension;
    for (const [name, params] of [['initialParams', initialParams], ['finalParams', finalParams]] as const) {
      assertFloat32Array(name, params);
      if (currentLength(params) !== d) {
        throw new PrivkitError('E_SHAPE', `${name} must be a Float32Array of length ${d}, got ${describe(params)}`, { argument: name });
      }
    }
    return Float64Array.from({ length: this.present.length }, (_, i) => {
      let s = 0;
      for (let j = 0; j < d; j++) s += (finalParams[j]! - initialParams[j]!) * this.directions[i * d + j]!;
      return s;
    });
  }
}

/** Options of {@link auditFedAvg}. */
export interface FedAvgAuditOptions {
  /** The FedAvg run: `sampling: 'poisson'`, `clipNorm`, and `noiseMultiplier` or `aggregator` (no targetEpsilon). */
  fedAvg: FedAvgOptions;
  /** m: canary clients. */
  canaries: number;
  /** Probability in (0, 1) that the lower bound is valid; default 0.95. */
  confidence?: number;
  /** Total guesses (see auditCanaryScores). */
  guesses?: number;
}

/** The outcome of {@link auditFedAvg}: the one-run lower bound and FedAvg's own epsilon. */
export interface FedAvgAuditResult extends OneRunResult {
  /** FedAvg's reported epsilon at its delta after the run. */
  accountantEpsilon: number;
}

/**
 * Runs FedAvg for fedAvg.rounds rounds with canary clients and returns the one-run bound next to FedAvg's epsilon.
 * Calls `ready()` itself.
 *
 * @throws {PrivkitError} E_ARG (as a rejection) when options or fedAvg is not an object, fedAvg.sampling is not 'poisson', fedAvg.targetEpsilon is given, fedAvg.clipNorm is missing, model or clients are missing, neither or both of noiseMultiplier and aggregator are given, or canaries is not a positive integer; otherwise as the {@link FedAvg} constructor and {@link FedAvg.runRound}.
 */
export async function auditFedAvg(given: FedAvgAuditOptions): Promise<FedAvgAuditResult> {
  const options = readOptions(given, ['fedAvg', 'canaries', 'confidence', 'guesses'], 'options', true);
  const fedAvg = readOptions(options.fedAvg, FEDAVG_OPTION_KEYS, 'fedAvg', true);
  if (fedAvg.sampling !== 'poisson') {
    throw new PrivkitError('E_ARG', `fedAvg.sampling must be given as 'poisson' (canaries are Poisson-sampled), got ${describe(fedAvg.sampling)}`, {
      argument: 'fedAvg.sampling',
    });
  }
  if (fedAvg.targetEpsilon !== undefined) {
    throw new PrivkitError('E_ARG', 'fedAvg.targetEpsilon is not supported: give fedAvg.noiseMultiplier', { argument: 'fedAvg.targetEpsilon' });
  }
  const clipNorm = assertNumber('fedAvg.clipNorm', fedAvg.clipNorm, 'positive');
  checkModel(fedAvg.model);
  if (!Array.isArray(fedAvg.clients) || fedAvg.clients.length === 0) {
    throw new PrivkitError('E_ARG', `fedAvg.clients must be a non-empty array of datasets, got ${describe(fedAvg.clients)}`, { argument: 'fedAvg.clients' });
  }
  const population = fedAvg.clients.length;
  const clientsPerRound = assertInteger('fedAvg.clientsPerRound', fedAvg.clientsPerRound, 1, population);
  const dimension = fedAvg.model.paramCount;
  await ready();
  const { noiseMultiplier, aggregator, seed, ...rest } = fedAvg;
  checkSeed('fedAvg.seed', seed);
  const stream = (k: number): Rng | undefined => (seed === undefined ? undefined : createRng({ seed, stream: k }));
  let inner = aggregator;
  if (inner === undefined) {
    if (noiseMultiplier === undefined) {
      throw new PrivkitError('E_ARG', 'fedAvg.noiseMultiplier (or fedAvg.aggregator) is required', { argument: 'fedAvg.noiseMultiplier' });
    }
    const noise = stream(16);
    inner = new CentralDpAggregator({ dimension, clipNorm, noiseMultiplier, ...(noise === undefined ? {} : { rng: noise }) });
  } else if (noiseMultiplier !== undefined) {
    throw new PrivkitError('E_ARG', 'fedAvg.noiseMultiplier must not be given with fedAvg.aggregator', { argument: 'fedAvg.noiseMultiplier' });
  }
  const canaries = new CanaryAggregator({
    aggregator: inner,
    canaries: options.canaries as number,
    dimension,
    clipNorm,
    sampleRate: clientsPerRound / population,
    ...(seed === undefined ? {} : { seed: stream(17)!.bytes(32) }),
  });
  const server = new FedAvg({ ...rest, ...(seed === undefined ? {} : { seed }), aggregator: canaries } as FedAvgOptions);
  const initial = server.params;
  for (let r = 0; r < server.rounds; r++) await server.runRound();
  const result = auditCanaryScores({
    scores: canaries.scores(initial, server.params),
    included: canaries.present,
    delta: server.delta,
    ...(options.confidence === undefined ? {} : { confidence: options.confidence }),
    ...(options.guesses === undefined ? {} : { guesses: options.guesses }),
  });
  return { ...result, accountantEpsilon: server.epsilon };
}
