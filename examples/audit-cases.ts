// The mechanisms `npm run audit` and test/stat/audit/audit.test.ts audit with privkit/audit: every public
// release mechanism of privkit (which must pass) and deliberately broken ones (which the auditor
// must catch with a lower bound above their claim). Each case builds its mechanism from an
// optional generator (seeded in tests; the CSPRNG otherwise); `buildMechanism(name)` is the
// factory pool workers call (auditMechanism's { module, export: 'buildMechanism', args: [name] }).
import { zcdpToEpsilon } from 'privkit/accounting';
import { auditDpSgd, auditFedAvg, type MechanismFunction, type OneRunResult, type PrivatizeBatch } from 'privkit/audit';
import {
  discreteGaussianMechanism,
  discreteLaplace,
  dpCount,
  dpHistogram,
  dpMean,
  dpSum,
  gaussianDelta,
  gaussianMechanism,
  laplaceMechanism,
  secureGaussian,
  secureLaplace,
  type Rng,
  createRng,
} from 'privkit/dp';
import { clipAndSum } from 'privkit';
import { CentralDpAggregator, createModel, splitClients, type Dataset, type FedAvgOptions, type UpdateAggregator } from 'privkit/fl';
import { dpContingencyTable, dpQuantiles } from 'privkit/protect';

export interface AuditCase {
  name: string;
  /** privkit's own mechanism (must pass) or a planted bug (must be caught). */
  source: 'privkit' | 'planted';
  /** What the mechanism is, and for a planted one what is wrong with it. */
  note: string;
  /** The claimed guarantee. */
  epsilon: number;
  delta: number;
  /** Two neighbouring inputs. */
  inputs: [unknown, unknown];
  /** Runs per input in `npm run audit`, and in the test suite. */
  trials: number;
  testTrials: number;
  /** The mechanism, drawing from `rng` (seeded in tests) or from the CSPRNG. */
  build(rng?: Rng): MechanismFunction<never>;
}

const DELTA = 1e-5;
const records = (...values: number[]) => Float64Array.from(values);
const releaseOne = (release: (values: Float64Array) => Float64Array) => (x: number) => release(Float64Array.of(x))[0]!;

/** epsilon at delta of the Gaussian mechanism with noise sigma and sensitivity 1 (bisection on Balle and Wang's exact delta). */
function gaussianEpsilon(sigma: number, delta: number): number {
  let lo = 0;
  let hi = 64;
  for (let i = 0; i < 100; i++) {
    const mid = 0.5 * (lo + hi);
    if (gaussianDelta(sigma, { epsilon: mid, l2Sensitivity: 1 }) > delta) lo = mid;
    else hi = mid;
  }
  return hi;
}

/** Laplace(1) noise from the inverse CDF of a uniform u in (0, 1): -sign(u - 1/2) log(1 - 2|u - 1/2|). */
function laplaceFromUniform(u: number): number {
  return u < 0.5 ? Math.log(2 * u) : -Math.log(2 - 2 * u);
}

/** mulberry32 (T. Ettinger's small 32-bit-state generator, common in JS code): one double in [0, 1) from a 32-bit seed. */
function mulberry32(seed: number): number {
  let t = (seed + 0x6d2b79f5) | 0;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

/** 32-bit words drawn from `rng` in blocks. */
function words(rng: Rng | undefined): () => number {
  const source = rng ?? createRng();
  const block = new Uint32Array(4096);
  let next = block.length;
  return () => {
    if (next === block.length) {
      source.fill(block);
      next = 0;
    }
    return block[next++]!;
  };
}

const central = { dimension: 4, clipNorm: 1, noiseMultiplier: 2 };
/** A 2 x 2 table over public domains (dpContingencyTable), and the same people with one more. */
const table = { columns: ['sex', 'smoker'], domains: { sex: ['f', 'm'], smoker: [true, false] } };
const people = [
  { sex: 'f', smoker: true },
  { sex: 'm', smoker: false },
  { sex: 'f', smoker: false },
];
const peoplePlusOne = [...people, { sex: 'm', smoker: true }];
const update = (...values: number[]) => Float32Array.from(values);

export const AUDIT_CASES: AuditCase[] = [
  {
    name: 'laplaceMechanism',
    source: 'privkit',
    note: 'lattice Laplace, sensitivity 1',
    epsilon: 1,
    delta: 0,
    inputs: [0, 1],
    trials: 2_000_000,
    testTrials: 50_000,
    build: (rng) => releaseOne(laplaceMechanism({ epsilon: 1, l1Sensitivity: 1, rng }).release),
  },
  {
    name: 'gaussianMechanism',
    source: 'privkit',
    note: 'lattice analytic Gaussian, sensitivity 1',
    epsilon: 1,
    delta: DELTA,
    inputs: [0, 1],
    trials: 2_000_000,
    testTrials: 50_000,
    build: (rng) => releaseOne(gaussianMechanism({ epsilon: 1, delta: DELTA, l2Sensitivity: 1, rng }).release),
  },
  {
    name: 'dpCount',
    source: 'privkit',
    note: '10 vs 11 records',
    epsilon: 1,
    delta: 0,
    inputs: [10, 11],
    trials: 1_000_000,
    testTrials: 20_000,
    build: (rng) => (n: number) => dpCount(n, { epsilon: 1, rng }),
  },
  {
    name: 'dpSum',
    source: 'privkit',
    note: 'records in [0, 1]; one record of 1 added',
    epsilon: 1,
    delta: 0,
    inputs: [records(0.5, 0.5, 0.5, 0.5, 0.5), records(0.5, 0.5, 0.5, 0.5, 0.5, 1)],
    trials: 1_000_000,
    testTrials: 20_000,
    build: (rng) => (x: Float64Array) => dpSum(x, { epsilon: 1, lower: 0, upper: 1, rng }),
  },
  {
    name: 'dpMean',
    source: 'privkit',
    note: 'records in [0, 1]; [1] vs [1, 0]',
    epsilon: 1,
    delta: 0,
    inputs: [records(1), records(1, 0)],
    trials: 1_000_000,
    testTrials: 20_000,
    build: (rng) => (x: Float64Array) => dpMean(x, { epsilon: 1, lower: 0, upper: 1, rng }),
  },
  {
    name: 'dpHistogram (Laplace)',
    source: 'privkit',
    note: '4 bins on [0, 1]; one record added',
    epsilon: 1,
    delta: 0,
    inputs: [records(0.1, 0.6), records(0.1, 0.6, 0.9)],
    trials: 500_000,
    testTrials: 10_000,
    build: (rng) => (x: Float64Array) => dpHistogram(x, { epsilon: 1, bins: 4, lower: 0, upper: 1, rng }).counts,
  },
  {
    name: 'dpHistogram (Gaussian)',
    source: 'privkit',
    note: '4 bins on [0, 1]; one record added',
    epsilon: 1,
    delta: DELTA,
    inputs: [records(0.1, 0.6), records(0.1, 0.6, 0.9)],
    trials: 500_000,
    testTrials: 10_000,
    build: (rng) => (x: Float64Array) => dpHistogram(x, { epsilon: 1, delta: DELTA, noise: 'gaussian', bins: 4, lower: 0, upper: 1, rng }).counts,
  },
  {
    name: 'discreteGaussianMechanism',
    source: 'privkit',
    note: 'rho = 0.5 (sigma 1), integer sensitivity 1; epsilon from zCDP',
    epsilon: zcdpToEpsilon(0.5, DELTA).epsilon,
    delta: DELTA,
    inputs: [Int32Array.of(0), Int32Array.of(1)],
    trials: 2_000_000,
    testTrials: 50_000,
    build: (rng) => {
      const mechanism = discreteGaussianMechanism({ rho: 0.5, l2Sensitivity: 1, rng });
      return (x: Int32Array) => mechanism.release(x)[0]!;
    },
  },
  {
    name: 'discreteLaplace release',
    source: 'privkit',
    note: 'integer count + discreteLaplace(scale 1)',
    epsilon: 1,
    delta: 0,
    inputs: [3, 4],
    trials: 2_000_000,
    testTrials: 50_000,
    build: (rng) => (x: number) => x + discreteLaplace(1, 1, { rng })[0]!,
  },
  {
    name: 'CentralDpAggregator round',
    source: 'privkit',
    note: 'sum of clipped updates + Gaussian noise z = 2; a client of norm C added',
    epsilon: gaussianEpsilon(central.noiseMultiplier, DELTA),
    delta: DELTA,
    inputs: [
      [update(0.5, 0, 0, 0), update(0, 0.5, 0, 0)],
      [update(0.5, 0, 0, 0), update(0, 0.5, 0, 0), update(0, 0, 0, 1)],
    ],
    trials: 300_000,
    testTrials: 10_000,
    build: (rng) => {
      const aggregator = new CentralDpAggregator({ ...central, rng });
      return async (updates: Float32Array[]) => (await aggregator.aggregate(updates, 1)).sum;
    },
  },
  {
    name: 'dpContingencyTable (Laplace)',
    source: 'privkit',
    note: '2 x 2 table; one record added',
    epsilon: 1,
    delta: 0,
    inputs: [people, peoplePlusOne],
    trials: 500_000,
    testTrials: 10_000,
    build: (rng) => (records: object[]) => dpContingencyTable(records, { ...table, epsilon: 1, rng }).counts,
  },
  {
    name: 'dpContingencyTable (Gaussian, rho)',
    source: 'privkit',
    note: '2 x 2 table, rho = 0.5 (sigma 1); one record added; epsilon from zCDP',
    epsilon: zcdpToEpsilon(0.5, DELTA).epsilon,
    delta: DELTA,
    inputs: [people, peoplePlusOne],
    trials: 500_000,
    testTrials: 10_000,
    build: (rng) => (records: object[]) => dpContingencyTable(records, { ...table, noise: 'gaussian', rho: 0.5, rng }).counts,
  },
  {
    name: 'dpContingencyTable (Gaussian, epsilon and delta)',
    source: 'privkit',
    note: '2 x 2 table, analytic Gaussian sigma; one record added',
    epsilon: 1,
    delta: DELTA,
    inputs: [people, peoplePlusOne],
    trials: 500_000,
    testTrials: 10_000,
    build: (rng) => (records: object[]) => dpContingencyTable(records, { ...table, noise: 'gaussian', epsilon: 1, delta: DELTA, rng }).counts,
  },
  {
    name: 'dpQuantiles',
    source: 'privkit',
    note: 'median on a 16-step grid over [0, 1]; a record at 1 added to 5 records',
    epsilon: 1,
    delta: 0,
    inputs: [records(0.1, 0.3, 0.5, 0.5, 0.6), records(0.1, 0.3, 0.5, 0.5, 0.6, 1)],
    trials: 500_000,
    testTrials: 10_000,
    build: (rng) => (x: Float64Array) => dpQuantiles(x, { quantiles: [0.5], lower: 0, upper: 1, epsilon: 1, steps: 16, rng }),
  },
  {
    name: 'Laplace at half the scale',
    source: 'planted',
    note: 'claims epsilon 1 for sensitivity 1, noise scale 0.5',
    epsilon: 1,
    delta: 0,
    inputs: [0, 1],
    trials: 1_000_000,
    testTrials: 50_000,
    build: (rng) => (x: number) => secureLaplace(Float64Array.of(x), 0.5, { rng }).values[0]!,
  },
  {
    name: 'Gaussian without the delta term',
    source: 'planted',
    note: 'claims (1, 1e-5) with sigma = sensitivity / epsilon = 1',
    epsilon: 1,
    delta: DELTA,
    inputs: [0, 1],
    trials: 1_000_000,
    testTrials: 50_000,
    build: (rng) => (x: number) => secureGaussian(Float64Array.of(x), 1, { rng }).values[0]!,
  },
  {
    name: '32-bit seeded noise',
    source: 'planted',
    note: 'Laplace(1) from mulberry32 seeded with 32 random bits per release (2^32 noise values), on a 2^-40 lattice',
    epsilon: 1,
    delta: 0,
    inputs: [0, 1],
    trials: 6_000_000,
    testTrials: 2_000_000,
    build: (rng) => {
      const seed = words(rng);
      return (x: number) => x + Math.round(laplaceFromUniform(mulberry32(seed()) || 2 ** -33) * 2 ** 40) / 2 ** 40;
    },
  },
  {
    name: 'floating-point Laplace',
    source: 'planted',
    note: 'x + Laplace(1) in doubles, no lattice (Mironov 2012)',
    epsilon: 1,
    delta: 0,
    inputs: [0, 1],
    trials: 1_000_000,
    testTrials: 50_000,
    build: (rng) => {
      const source = rng ?? createRng();
      return (x: number) => x + laplaceFromUniform(source.uniform(1)[0]!);
    },
  },
  {
    name: 'mean with a count-dependent scale',
    source: 'planted',
    note: 'mean + Laplace(range / (n epsilon)) on the lattice: the noise scale reveals n; [0.5, 0.5] vs [0.5, 0.5, 0.5] (same lattice step)',
    epsilon: 1,
    delta: 0,
    inputs: [records(0.5, 0.5), records(0.5, 0.5, 0.5)],
    trials: 1_000_000,
    testTrials: 150_000,
    build: (rng) => (x: Float64Array) => secureLaplace(Float64Array.of(x.reduce((s, v) => s + v, 0) / x.length), 1 / x.length, { rng }).values[0]!,
  },
  {
    name: 'sum releasing the count',
    source: 'planted',
    note: '[dpSum, n]: a DP sum with the record count in the clear',
    epsilon: 1,
    delta: 0,
    inputs: [records(0.5, 0.5, 0.5, 0.5, 0.5), records(0.5, 0.5, 0.5, 0.5, 0.5, 1)],
    trials: 200_000,
    testTrials: 20_000,
    build: (rng) => (x: Float64Array) => [dpSum(x, { epsilon: 1, lower: 0, upper: 1, rng }), x.length],
  },
];

/** The mechanism of `auditCase` drawing from a generator seeded with `seed` (tests only), or from the CSPRNG. */
export function buildCase(auditCase: AuditCase, seed?: Uint8Array): MechanismFunction {
  return auditCase.build(seed === undefined ? undefined : createRng({ seed })) as MechanismFunction;
}

/** The mechanism of the case named `name`, drawing from this thread's CSPRNG (the factory pool workers call). */
export function buildMechanism(name: string): MechanismFunction<never> {
  const found = AUDIT_CASES.find((c) => c.name === name);
  if (found === undefined) throw new Error(`no audit case named ${name}`);
  return found.build();
}

export interface OneRunCase {
  name: string;
  source: 'privkit' | 'planted';
  note: string;
  /** One training run with canaries; a seed makes it reproducible (data, canaries, sampling and noise). */
  run(seed: Uint8Array | undefined, confidence: number): Promise<OneRunResult & { accountantEpsilon: number }>;
}

/**
 * delta of the one-run cases: the p-value of Steinke et al. carries a term 2 m delta (m canaries),
 * so delta must be far below 1/m for high-confidence bounds.
 */
export const ONE_RUN_DELTA = 1e-8;
/** DP-SGD: 1,000 canaries in 5,000 dimensions, q = 0.1, 100 steps (one-run audits need many canaries and few collisions between them). */
const dpSgd = { canaries: 1000, dimension: 5000, examples: 500, steps: 100, sampleRate: 0.1, delta: ONE_RUN_DELTA };

/** The DP-SGD step with its noise calibrated for the mean but added to the sum: sigma z C / (expected batch). */
function noiseForTheMean(noiseMultiplier: number, rng: Rng): PrivatizeBatch {
  const batch = dpSgd.sampleRate * (dpSgd.examples + dpSgd.canaries / 2);
  return (gradients, rows, dimension) => {
    const sum = rows === 0 ? new Float32Array(dimension) : clipAndSum(gradients, rows, 1).sum;
    return Float32Array.from(secureGaussian(Float64Array.from(sum), noiseMultiplier / batch, { rng }).values);
  };
}

/** FedAvg: softmax regression on 400 synthetic features (4,010 parameters), 100 clients of 10 samples, 10 per round (Poisson), 50 rounds. */
function fedAvgOptions(seed: Uint8Array | undefined): FedAvgOptions {
  const rng = createRng(seed === undefined ? {} : { seed, stream: 40 });
  const rows = 1000;
  const inputs = 400;
  const u = rng.uniform(rows * (inputs + 1));
  const images = Float32Array.from({ length: rows * inputs }, (_, i) => u[i]! * 0.5);
  const labels = Uint8Array.from({ length: rows }, (_, r) => Math.floor(u[rows * inputs + r]! * 10));
  labels.forEach((label, r) => images.subarray(r * inputs + label * 40, r * inputs + label * 40 + 40).forEach((_, j, block) => (block[j]! += 0.5)));
  const data: Dataset = { images, labels };
  return {
    model: createModel({ type: 'softmax-regression', inputs, classes: 10 }),
    clients: splitClients(100, data),
    rounds: 50,
    clientsPerRound: 10,
    sampling: 'poisson',
    local: { epochs: 1, batchSize: 10, learningRate: 0.5 },
    clipNorm: 0.5,
    delta: ONE_RUN_DELTA,
    ...(seed === undefined ? {} : { seed }),
  };
}

/** An aggregator that reports noise multiplier `claimed` to FedAvg's accountant but adds `applied`. */
function misreportingAggregator(claimed: number, applied: number, dimension: number, rng: Rng | undefined): UpdateAggregator {
  const inner = new CentralDpAggregator({ dimension, clipNorm: 0.5, noiseMultiplier: applied, ...(rng === undefined ? {} : { rng }) });
  return { noiseMultiplier: claimed, hidesCount: true, aggregate: (deltas, round) => inner.aggregate(deltas, round) };
}

export const ONE_RUN_CASES: OneRunCase[] = [
  {
    name: 'DP-SGD, z = 0.8',
    source: 'privkit',
    note: 'clipAndSum + addGaussianNoise (sigma z C); RDP accountant',
    run: (seed, confidence) => auditDpSgd({ ...dpSgd, noiseMultiplier: 0.8, confidence, ...(seed === undefined ? {} : { seed }) }),
  },
  {
    name: 'DP-SGD, z = 3',
    source: 'privkit',
    note: 'clipAndSum + addGaussianNoise (sigma z C); RDP accountant',
    run: (seed, confidence) => auditDpSgd({ ...dpSgd, noiseMultiplier: 3, confidence, ...(seed === undefined ? {} : { seed }) }),
  },
  {
    name: 'DP-SGD, noise scaled for the mean',
    source: 'planted',
    note: 'claims z = 8; adds sigma z C / batch to the sum',
    run: (seed, confidence) => {
      const rng = createRng(seed === undefined ? {} : { seed, stream: 41 });
      const privatize = noiseForTheMean(8, rng);
      return auditDpSgd({ ...dpSgd, noiseMultiplier: 8, privatize, confidence, ...(seed === undefined ? {} : { seed }) });
    },
  },
  {
    name: 'DP-FedAvg, z = 1',
    source: 'privkit',
    note: 'CentralDpAggregator; FedAvg accountant (Poisson)',
    run: (seed, confidence) => auditFedAvg({ fedAvg: { ...fedAvgOptions(seed), noiseMultiplier: 1 }, canaries: 500, confidence }),
  },
  {
    name: 'DP-FedAvg, misreported noise',
    source: 'planted',
    note: 'aggregator claims z = 10, adds z = 0.1',
    run: (seed, confidence) => {
      const options = fedAvgOptions(seed);
      const rng = seed === undefined ? undefined : createRng({ seed, stream: 42 });
      const aggregator = misreportingAggregator(10, 0.1, options.model.paramCount, rng);
      return auditFedAvg({ fedAvg: { ...options, aggregator }, canaries: 500, confidence });
    },
  },
];
