// The pool's conformance table: one row per operation registered in src/registry.ts, each run
// through the pool against its sync twin, with a plain and a shared (sharedFloat32Array) input
// wherever the operation takes an array.
// - Deterministic operations: pooled == sync bit for bit, with one worker and with two. The column
//   sums of sum, mean, weightedMean and clipAndSum are bit for bit with one worker; with two, each
//   worker's partial sum is added in float32, so they differ from the sync sum by at most the
//   float32 error of summing in another order (2 (rows + 2) 2^-24 sum_r |w_r x_rj| per column).
// - CSPRNG operations (each worker draws from its own generator): by distribution. Noise against
//   the sync sampler with a fixed seed (two-sample Kolmogorov-Smirnov, alpha 1e-6) and against its
//   variance (z-test, alpha 1e-6, which sees a 1% error in sigma: checked on the samples scaled by
//   1.01), the workers' parts never equal; Paillier r^n values by the uniformity of their n-th roots
//   r (chi-square over 16 bins, alpha 1e-6: a gross bias such as r from a subrange) and the
//   properties that define them (each exactly r^n mod n^2, all distinct); primes by theirs.
// - Bad arguments: the pooled operation rejects with exactly the sync twin's error.
// Adding a pool operation = its pool-ops.ts entry (plan, merge) and pool-run.ts entry (run) + one row
// here; a registered operation without a row, a half or a registration fails the first test.
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clipAndSum, clipByL2, clipPerLayer, clipValues, l2Norms, mean, PrivkitError, ready, sum, weightedMean } from 'privkit';
import { addGaussianNoise, addLaplaceNoise, createRng, gaussianNoise, laplaceNoise } from 'privkit/dp';
import { createModel, localUpdate, type ClientTask } from 'privkit/fl';
import { generateKeyPair, millerRabin, Modulus, randomPrime, type KeyPair } from 'privkit/paillier';
import { createPool, sharedFloat32Array, type Pool } from 'privkit/pool';
import { prio3SumVec, type Prio3Report } from 'privkit/prio';
import { collectSamples } from '../../dist/src/audit/sampling.js';
import { operation, partRun, REGISTRY, type OperationName } from '../../dist/src/registry.js';
import { chiSquareCritical, ksCritical, moments } from '../support/noise-stats.js';

type Name = OperationName;
type Args = unknown[];
/** A Float32Array of `length` values holding `values`: plain or on shared memory. */
type Make = (values: ArrayLike<number>) => Float32Array;

const INPUTS: Array<[string, Make]> = [
  ['plain', (values) => Float32Array.from(values)],
  ['shared', (values) => {
    const x = sharedFloat32Array(values.length);
    x.set(values);
    return x;
  }],
];

interface Row {
  /** Whether the operation takes an array: then the row runs with a plain and with a shared one. */
  takesArray: boolean;
  /** Runs the operation through `pool` (via `run`) and checks it against its sync twin. */
  check(run: (...args: Args) => Promise<unknown>, make: Make, threads: number): Promise<void>;
  /** Argument lists the sync twin refuses (`pooled` for the operation, `sync` the twin's call): the same error. */
  refuses?: (make: Make) => Array<{ pooled: Args; sync: () => unknown }>;
  /** Only through this many workers (CSPRNG rows: the 2-worker pool, whose parts must be independent). */
  threads?: number;
}

// ---- data ----

const ROWS = 9; // 5 + 4 rows over two workers
const COLS = 1003; // odd: SIMD tails
const LAYERS = [3, COLS - 3];

/** Deterministic test data (xorshift32), values in [-scale, scale). */
function values(length: number, seed: number, scale = 3): Float64Array {
  const out = new Float64Array(length);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = ((s >>> 0) / 2 ** 32 - 0.5) * 2 * scale;
  }
  return out;
}

const X = values(ROWS * COLS, 7);
const WEIGHTS = Array.from({ length: ROWS }, (_, r) => r + 1);

// ---- comparisons ----

/** Bit-for-bit equality of results: typed arrays by their bytes, numbers by Object.is, objects field by field. */
function expectSameBits(actual: unknown, expected: unknown, path = 'result'): void {
  if (ArrayBuffer.isView(expected)) {
    expect(Object.prototype.toString.call(actual), path).toBe(Object.prototype.toString.call(expected));
    const bytes = (v: ArrayBufferView) => Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex');
    expect(bytes(actual as ArrayBufferView) === bytes(expected), `${path}: not bit for bit`).toBe(true);
  } else if (typeof expected === 'object' && expected !== null) {
    expect(Object.keys(actual as object).sort(), path).toEqual(Object.keys(expected).sort());
    for (const [key, value] of Object.entries(expected)) expectSameBits((actual as Record<string, unknown>)[key], value, `${path}.${key}`);
  } else {
    expect(Object.is(actual, expected), `${path}: ${String(actual)} vs ${String(expected)}`).toBe(true);
  }
}

/** What the sync twin throws, as the fields a pooled rejection must repeat. */
function thrownBy(call: () => unknown): object {
  try {
    call();
  } catch (error) {
    expect(error).toBeInstanceOf(PrivkitError);
    const { code, argument, index, message } = error as PrivkitError;
    return { code, argument, index, message };
  }
  throw new Error('the sync twin did not throw');
}

/** A row whose pooled results equal the sync twin's bit for bit, for each argument list of `cases`. */
function exact(cases: (make: Make) => Args[], sync: (...args: never[]) => unknown, refuses?: Row['refuses']): Row {
  return {
    takesArray: true,
    refuses,
    async check(run, make) {
      const pooled = cases(make);
      const direct = cases(make);
      for (let k = 0; k < pooled.length; k++) expectSameBits(await run(...pooled[k]!), sync(...(direct[k] as never[])), `case ${k}`);
    },
  };
}

/**
 * A row of column sums (of `sums(result)`): bit for bit with one worker; with two, within the float32
 * error of adding the two partial sums (the bound of the file header, from `magnitude`, the same
 * reduction of |x|). The rest of the result (norms, counts) bit for bit.
 */
function columnSums(
  cases: (make: Make) => Args[],
  sync: (...args: never[]) => unknown,
  sums: (result: unknown) => Float32Array,
  magnitude: (args: Args) => Float32Array,
  refuses?: Row['refuses'],
): Row {
  return {
    takesArray: true,
    refuses,
    async check(run, make, threads) {
      const pooled = cases(make);
      const direct = cases(make);
      for (let k = 0; k < pooled.length; k++) {
        const result = await run(...pooled[k]!);
        const expected = sync(...(direct[k] as never[]));
        if (threads === 1) {
          expectSameBits(result, expected, `case ${k}`);
          continue;
        }
        const [a, b] = [sums(result), sums(expected)];
        const bound = magnitude(direct[k]!).map((m) => 2 * (ROWS + 2) * 2 ** -24 * m);
        expect(a.length).toBe(b.length);
        for (let j = 0; j < a.length; j++) expect(Math.abs(a[j]! - b[j]!), `case ${k}, column ${j}`).toBeLessThanOrEqual(bound[j]!);
        if (typeof expected === 'object' && !ArrayBuffer.isView(expected)) {
          expectSameBits({ ...(result as object), sum: null }, { ...(expected as object), sum: null }, `case ${k}`);
        }
      }
    },
  };
}

const absolute = (x: unknown) => Float32Array.from(x as Float32Array, Math.abs);

// ---- noise ----

const NOISE_SAMPLES = 2 ** 20;
const ALPHA = 1e-6;
/** The standard normal quantile of 1 - ALPHA / 2. */
const Z = 4.8916;

/** Two-sample Kolmogorov-Smirnov statistic. */
function ksTwoSample(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const x = Float64Array.from(a).sort();
  const y = Float64Array.from(b).sort();
  let i = 0;
  let j = 0;
  let d = 0;
  while (i < x.length && j < y.length) {
    const v = Math.min(x[i]!, y[j]!);
    while (i < x.length && x[i] === v) i++;
    while (j < y.length && y[j] === v) j++;
    d = Math.max(d, Math.abs(i / x.length - j / y.length));
  }
  return d;
}

/**
 * z of a sample variance `variance` of n samples against the variance `expected` of a law with
 * kurtosis `kurtosis` (3 Gaussian, 6 Laplace): the estimate has standard error sqrt((kurtosis - 1) / n).
 */
function varianceZ(variance: number, n: number, expected: number, kurtosis: number): number {
  return (variance / expected - 1) / Math.sqrt((kurtosis - 1) / n);
}

interface NoiseLaw {
  sigmaOrScale: number;
  variance: number;
  kurtosis: number;
}
const GAUSSIAN: NoiseLaw = { sigmaOrScale: 2, variance: 4, kurtosis: 3 };
const LAPLACE: NoiseLaw = { sigmaOrScale: 0.5, variance: 0.5, kurtosis: 6 };

/**
 * Checks pooled noise against sync noise drawn with a fixed seed: the same law (two-sample KS), the
 * variance (a z-test that rejects these very samples scaled by 1.01, i.e. a 1% error in sigma), and
 * the two workers' halves never equal (each worker's generator is keyed on its own).
 */
function expectNoise(pooled: ArrayLike<number>, sync: ArrayLike<number>, law: NoiseLaw): void {
  const n = pooled.length;
  expect(ksTwoSample(pooled, sync)).toBeLessThan(ksCritical(n, ALPHA) * Math.SQRT2); // c(alpha) sqrt(2 / n) for n = m
  const { variance } = moments(pooled);
  expect(Math.abs(varianceZ(variance, n, law.variance, law.kurtosis))).toBeLessThan(Z);
  expect(Math.abs(varianceZ(1.01 ** 2 * variance, n, law.variance, law.kurtosis))).toBeGreaterThan(Z);
  let equal = 0;
  for (let i = 0; i < n / 2; i++) if (pooled[i] === pooled[n / 2 + i]) equal++;
  expect(equal, 'the two workers drew the same values').toBeLessThan(n / 2 / 1000);
}

const seeded = (k: number) => createRng({ seed: new Uint8Array(32).fill(k) });

function noiseFill(sync: typeof gaussianNoise | typeof laplaceNoise, law: NoiseLaw): Row {
  return {
    takesArray: false,
    threads: 2,
    async check(run) {
      for (const dtype of ['float64', 'float32'] as const) {
        const pooled = (await run(NOISE_SAMPLES, law.sigmaOrScale, { dtype })) as Float32Array | Float64Array;
        expect(pooled).toBeInstanceOf(dtype === 'float64' ? Float64Array : Float32Array);
        expectNoise(pooled, sync(NOISE_SAMPLES, law.sigmaOrScale, { dtype, rng: seeded(dtype === 'float64' ? 1 : 2) }), law);
      }
    },
    refuses: () =>
      [[-1, 1], [2 ** 31, 1], [3, 0], [3, Number.NaN], [3, 1, { dtype: 'int8' }], [3, 1, 5]].map((args) => ({
        pooled: args,
        sync: () => sync(...(args as [number, number, object?])),
      })),
  };
}

/** a - b element by element, in float64 (a loop: Float64Array.from with a map function takes ~0.2 s a million). */
function minus(a: Float32Array, b: Float32Array): Float64Array {
  const out = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! - b[i]!;
  return out;
}

function noiseAdd(sync: typeof addGaussianNoise | typeof addLaplaceNoise, law: NoiseLaw): Row {
  const base = Float32Array.from(values(NOISE_SAMPLES, 3, 8));
  return {
    takesArray: true,
    threads: 2,
    async check(run, make) {
      const x = make(base);
      expect(await run(x, law.sigmaOrScale)).toBe(x);
      const direct = sync(base.slice(), law.sigmaOrScale, { rng: seeded(9) });
      expectNoise(minus(x, base), minus(direct, base), law);
    },
    refuses: (make) =>
      [[new Int32Array(3), 1], [null, 1], [make([1, 2, 3]), 0], [make([1, Number.NaN]), 1], [make([0, 3e38]), 1e300]].map((args) => ({
        pooled: args,
        sync: () => sync(...(args as [Float32Array, number])),
      })),
  };
}

// ---- Paillier ----

let keys: KeyPair;
const PACKING = { scale: 2 ** 16, clip: 4, maxAdditions: 4 };

function modInverse(a: bigint, m: bigint): bigint {
  let [r0, r1, s0, s1] = [((a % m) + m) % m, m, 1n, 0n];
  while (r1 !== 0n) {
    const t = r0 / r1;
    [r0, r1, s0, s1] = [r1, r0 - t * r1, s1, s0 - t * s1];
  }
  return ((s0 % m) + m) % m;
}

// ---- FedAvg and audit ----

const MODEL = createModel({ type: 'mlp', inputs: 12, hidden: 5, classes: 3 });
const LOCAL = { epochs: 2, batchSize: 3, learningRate: 0.2 };

/** Five client tasks of 8 samples each, with their own seeds. */
function clientTasks(make: Make): ClientTask[] {
  return Array.from({ length: 5 }, (_, k) => ({
    images: make(values(8 * 12, 40 + k, 1).map(Math.abs)),
    labels: Uint8Array.from({ length: 8 }, (_, i) => (i + k) % 3),
    seed: new Uint8Array(32).fill(20 + k),
  }));
}

/** The sync twin of localUpdates: localUpdate of each task, one after another. */
function localUpdatesSync(model: typeof MODEL, params: Float32Array, tasks: ClientTask[], opts: typeof LOCAL): Float32Array {
  const out = new Float32Array(tasks.length * model.paramCount);
  tasks.forEach((task, k) => out.set(localUpdate(model, params, task.images, task.labels, { ...opts, seed: task.seed }), k * model.paramCount));
  return out;
}

/** A deterministic mechanism, also sent to the workers as a module (a data: URL of its own source). */
const mechanism = (x: ArrayLike<number>) => [2 * x[0]! + x[1]!, x[1]! - 0.5];
const MECHANISM = { module: `data:text/javascript,${encodeURIComponent(`export const mechanism = ${mechanism.toString()};`)}`, export: 'mechanism' };

/** A Prio3 VDAF, its verify key, and a report of each of its measurements (9: 5 + 4 over two workers). */
const PRIO = prio3SumVec({ length: 6, bits: 3, chunkLength: 3 });
const PRIO_KEY = new Uint8Array(32).fill(9);
const PRIO_MEASUREMENTS = Array.from({ length: ROWS }, (_, r) => Array.from({ length: 6 }, (_, i) => (r + i) % 8));

/** The aggregate of one report through the sync ping-pong: what a pooled shard must unshard to. */
function prioRoundTrip(report: Prio3Report): number[] {
  const common = { verifyKey: PRIO_KEY, nonce: report.nonce, publicShare: report.publicShare };
  const leader = PRIO.leaderInit({ ...common, inputShare: report.inputShares[0]! });
  const helper = PRIO.helperInit({ ...common, inputShare: report.inputShares[1]!, inbound: leader.outbound });
  const shares = [PRIO.leaderContinued(leader.state, helper.outbound), helper.outShare].map((share) => {
    const aggregator = PRIO.aggregator();
    aggregator.add(report.nonce, share);
    return aggregator.share();
  });
  return PRIO.unshard(shares, 1);
}

// ---- the table ----

const table: Record<Name, Row> = {
  l2Norms: exact((make) => [[make(X), ROWS]], l2Norms, (make) => [
    { pooled: [make(X), 7], sync: () => l2Norms(make(X), 7) },
    { pooled: [[1, 2], 1], sync: () => l2Norms([1, 2] as never, 1) },
    { pooled: [make(values(4, 1).fill(Number.NaN, 3)), 2], sync: () => l2Norms(make(values(4, 1).fill(Number.NaN, 3)), 2) },
  ]),
  clipByL2: exact(
    (make) => [[make(X), ROWS, 20], [make(X), ROWS, 20, { inPlace: true }], [make(X), ROWS, 20, { out: make(new Float32Array(X.length)) }]],
    clipByL2,
    (make) => [{ pooled: [make(X), ROWS, -1], sync: () => clipByL2(make(X), ROWS, -1) }],
  ),
  clipPerLayer: exact(
    (make) => [[make(X), ROWS, LAYERS, [0.5, 20]], [make(X), ROWS, LAYERS, 3, { inPlace: true }]],
    clipPerLayer,
    (make) => [{ pooled: [make(X), ROWS, [3, 3], [1, 1]], sync: () => clipPerLayer(make(X), ROWS, [3, 3], [1, 1]) }],
  ),
  clipAndSum: columnSums(
    (make) => [[make(X), ROWS, 20], [make(X), ROWS, [0.5, 20], { layerSizes: LAYERS }], [make([]), 0, 1, { columns: COLS }]],
    clipAndSum,
    (result) => (result as ReturnType<typeof clipAndSum>).sum,
    (args) => (args[1] === 0 ? new Float32Array(COLS) : sum(absolute(args[0]), ROWS)),
    (make) => [{ pooled: [make(X), ROWS, Number.NaN], sync: () => clipAndSum(make(X), ROWS, Number.NaN) }],
  ),
  clipValues: exact(
    (make) => [[make(X), -1, 0.5], [make(X), -1, 0.5, { inPlace: true }], [make(X), -1, 0.5, { out: make(new Float32Array(X.length)) }]],
    clipValues,
    (make) => [
      { pooled: [make(X), 1, 0], sync: () => clipValues(make(X), 1, 0) },
      { pooled: [make(values(8, 2).fill(Number.NaN, 5)), 0, 1], sync: () => clipValues(make(values(8, 2).fill(Number.NaN, 5)), 0, 1) },
    ],
  ),
  sum: columnSums((make) => [[make(X), ROWS]], sum, (result) => result as Float32Array, (args) => sum(absolute(args[0]), ROWS), (make) => [
    { pooled: [make(X), 0], sync: () => sum(make(X), 0) },
  ]),
  mean: columnSums((make) => [[make(X), ROWS]], mean, (result) => result as Float32Array, (args) => mean(absolute(args[0]), ROWS)),
  weightedMean: columnSums(
    (make) => [[make(X), ROWS, WEIGHTS]],
    weightedMean,
    (result) => result as Float32Array,
    (args) => weightedMean(absolute(args[0]), ROWS, WEIGHTS),
    (make) => [{ pooled: [make(X), ROWS, WEIGHTS.map(() => 0)], sync: () => weightedMean(make(X), ROWS, WEIGHTS.map(() => 0)) }],
  ),
  gaussianNoise: noiseFill(gaussianNoise, GAUSSIAN),
  laplaceNoise: noiseFill(laplaceNoise, LAPLACE),
  addGaussianNoise: noiseAdd(addGaussianNoise, GAUSSIAN),
  addLaplaceNoise: noiseAdd(addLaplaceNoise, LAPLACE),
  paillierPrimes: {
    takesArray: false,
    threads: 2,
    async check(run) {
      const primes = (await run(64, 6)) as bigint[];
      expect(primes).toHaveLength(6);
      expect(new Set(primes).size).toBe(6);
      for (const p of primes) {
        expect(p >> 62n, 'exactly 64 bits, the top two set').toBe(3n);
        expect(millerRabin(p, 64, seeded(1))).toBe(true);
      }
    },
    refuses: () => [{ pooled: [8, 2], sync: () => randomPrime(8, seeded(1)) }],
  },
  paillierRandomness: {
    takesArray: false,
    threads: 2,
    async check(run) {
      // each value is r^n mod n^2 for the r it decrypts back to; the r are uniform in Z*_n
      const { publicKey, privateKey } = keys;
      const { n, nSquared } = publicKey;
      const count = 2048;
      const values = (await run(n, count)) as bigint[];
      expect(values).toHaveLength(count);
      expect(new Set(values).size).toBe(count);
      const root = modInverse(n, (privateKey.p - 1n) * (privateKey.q - 1n));
      const [modN, modN2] = [new Modulus(n), new Modulus(nSquared)];
      const BINS = 16;
      const counts = new Float64Array(BINS);
      for (const c of values) {
        const r = modN.pow(c % n, root);
        expect(modN2.pow(r, n)).toBe(c);
        counts[Number((r * BigInt(BINS)) / n)]!++;
      }
      const expected = count / BINS;
      const stat = counts.reduce((s, o) => s + (o - expected) ** 2 / expected, 0);
      expect(stat).toBeLessThan(chiSquareCritical(BINS - 1, ALPHA));
    },
    // no sync twin takes (n, count); precomputeInPool checks first (test/paillier-precompute.test.ts)
  },
  encryptVector: {
    takesArray: true,
    // r is drawn from the CSPRNG: the ciphertexts differ from the sync ones, their plaintexts not
    async check(run, make) {
      const { publicKey, privateKey } = keys;
      const x = make(values(50, 5, 5));
      const pooled = (await run(publicKey, x, PACKING)) as ReturnType<typeof publicKey.encryptVector>;
      const direct = publicKey.encryptVector(x, PACKING);
      expectSameBits({ ...pooled, ciphertexts: pooled.ciphertexts.length }, { ...direct, ciphertexts: direct.ciphertexts.length });
      expectSameBits(privateKey.decryptVector(pooled), privateKey.decryptVector(direct));
      pooled.ciphertexts.forEach((c, k) => expect(c.value).not.toBe(direct.ciphertexts[k]!.value));
      expect(new Set(pooled.ciphertexts.map((c) => c.value)).size).toBe(pooled.ciphertexts.length);
    },
    refuses: (make) =>
      [
        [make([1, Number.NaN]), PACKING],
        [make([1, 2]), { ...PACKING, scale: 0 }],
        [[1, 2], PACKING],
      ].map(([x, opts]) => ({ pooled: [keys.publicKey, x, opts], sync: () => keys.publicKey.encryptVector(x as Float32Array, opts as typeof PACKING) })),
  },
  decryptVector: {
    takesArray: false,
    async check(run) {
      const { publicKey, privateKey } = keys;
      const v = publicKey.addVectors(publicKey.encryptVector(Float32Array.from(values(50, 6, 5)), PACKING), publicKey.encryptVector(Float32Array.from(values(50, 8, 5)), PACKING));
      expectSameBits(await run(privateKey, v), privateKey.decryptVector(v));
    },
    refuses: () => {
      const v = keys.publicKey.encryptVector(Float32Array.from(values(11, 6)), PACKING); // one ciphertext
      return [{ ...v, length: 1000 }, { ...v, ciphertexts: [keys.publicKey.encrypt(keys.publicKey.n - 1n)] }].map((bad) => ({
        pooled: [keys.privateKey, bad],
        sync: () => keys.privateKey.decryptVector(bad),
      }));
    },
  },
  localUpdates: {
    takesArray: true,
    async check(run, make) {
      const params = MODEL.initParams({ seed: new Uint8Array(32).fill(5) });
      expectSameBits(await run(MODEL, params, clientTasks(make), LOCAL), localUpdatesSync(MODEL, params, clientTasks(make), LOCAL));
    },
    refuses: (make) => {
      const params = MODEL.initParams({ seed: new Uint8Array(32).fill(5) });
      const tasks = clientTasks(make);
      return [
        [MODEL, new Float32Array(3), tasks, LOCAL],
        [MODEL, params, tasks, { ...LOCAL, epochs: 0 }],
        [MODEL, params, tasks, { ...LOCAL, learningRate: -1 }],
      ].map((args) => ({ pooled: args, sync: () => localUpdatesSync(...(args as Parameters<typeof localUpdatesSync>)) }));
    },
  },
  prio3Shard: {
    takesArray: false,
    async check(run) {
      // CSPRNG operation: every pooled report is a valid report of its measurement, and no two share randomness.
      const reports = (await run(PRIO, PRIO_MEASUREMENTS, undefined)) as Prio3Report[];
      expect(reports.map(prioRoundTrip)).toEqual(PRIO_MEASUREMENTS);
      expect(new Set(reports.map((r) => r.inputShares[1]!.join())).size).toBe(ROWS);
    },
  },
  prio3Step: {
    takesArray: false,
    async check(run) {
      // Deterministic: each report's leader and helper steps give the sync steps' messages and output shares, bit for bit.
      const reports = PRIO_MEASUREMENTS.map((m) => PRIO.shard(m));
      const forged = { ...reports[0]!, publicShare: reports[0]!.publicShare.map((b) => b ^ 1) };
      const all = [...reports, forged];
      const led = (await run(PRIO, 'leader', PRIO_KEY, all.map((r) => ({ ...r, inputShare: r.inputShares[0]! })), undefined)) as PromiseSettledResult<{ outbound: Uint8Array; state: never }>[];
      expect(led.map((r) => r.status)).toEqual([...reports.map(() => 'fulfilled'), 'rejected']);
      expect((led[ROWS] as PromiseRejectedResult).reason).toMatchObject({ code: 'E_AUTH' });
      const inbound = led.slice(0, ROWS).map((r) => (r as PromiseFulfilledResult<{ outbound: Uint8Array }>).value.outbound);
      const helped = (await run(PRIO, 'helper', PRIO_KEY, reports.map((r, i) => ({ ...r, inputShare: r.inputShares[1]!, inbound: inbound[i]! })), undefined)) as PromiseFulfilledResult<{ outbound: Uint8Array; outShare: Uint8Array }>[];
      reports.forEach((report, i) => {
        const common = { verifyKey: PRIO_KEY, nonce: report.nonce, publicShare: report.publicShare };
        const leader = PRIO.leaderInit({ ...common, inputShare: report.inputShares[0]! });
        const helper = PRIO.helperInit({ ...common, inputShare: report.inputShares[1]!, inbound: leader.outbound });
        expectSameBits(inbound[i], leader.outbound);
        expectSameBits(helped[i]!.value, helper);
        const pooledState = (led[i] as PromiseFulfilledResult<{ state: never }>).value.state;
        expectSameBits(PRIO.leaderContinued(pooledState, helped[i]!.value.outbound), PRIO.leaderContinued(leader.state, helper.outbound));
      });
    },
  },
  auditSamples: {
    takesArray: true,
    async check(run, make) {
      const inputs = [make([1, 2]), make([1.5, -2])] as const;
      expectSameBits(await run(MECHANISM, inputs, 101), await collectSamples(mechanism as (input: unknown) => number[], inputs, 101));
    },
  },
};

// ---- the tests ----

const pools: Record<number, Pool> = {};
beforeAll(async () => {
  await ready();
  [pools[1], pools[2]] = await Promise.all([createPool({ threads: 1 }), createPool({ threads: 2 })]);
  keys = await generateKeyPair({ bits: 256, allowInsecureTestKeys: true, rng: seeded(61) });
});
afterAll(async () => {
  await Promise.all(Object.values(pools).map((pool) => pool.close()));
});

describe('the registry', () => {
  it('has a row here for every registered operation, and registers every operation its pool-ops and pool-run files export', async () => {
    expect(Object.keys(table).sort()).toEqual(Object.keys(REGISTRY).sort());
    const names = Object.keys(REGISTRY) as Name[];
    const operations = Object.fromEntries(await Promise.all(names.map(async (name) => [name, await operation(name)])));
    const runs = Object.fromEntries(await Promise.all(names.map(async (name) => [name, await partRun(REGISTRY[name], name)])));
    for (const [name, registered] of Object.entries(operations)) {
      expect((registered as { name: string }).name, name).toBe(name);
      expect((registered as { family: string }).family, name).toBe(REGISTRY[name as Name]);
    }
    for (const [name, run] of Object.entries(runs)) expect(typeof run, `the run of ${name}`).toBe('function');
    const src = fileURLToPath(new URL('../../src/', import.meta.url));
    const halves: Array<[suffix: string, registered: Record<string, unknown>]> = [['pool-ops.ts', operations], ['pool-run.ts', runs]];
    for (const [suffix, registered] of halves) {
      const files = (function list(dir: string): string[] {
        return readdirSync(dir).flatMap((entry) => {
          const path = join(dir, entry);
          return statSync(path).isDirectory() ? list(path) : path.endsWith(suffix) ? [path] : [];
        });
      })(src);
      expect(files.length).toBeGreaterThan(0);
      let exported = 0;
      for (const file of files) {
        const module = (await import(new URL(`../../dist/src/${relative(src, file).replace(/\.ts$/, '.js')}`, import.meta.url).href)) as Record<string, unknown>;
        for (const [name, value] of Object.entries(module)) {
          expect(registered[name], `${name} of ${relative(src, file)}`).toBe(value);
          exported++;
        }
      }
      expect(exported, `two ${suffix} files export an operation under one name`).toBe(names.length);
    }
  });
});

describe.each(Object.entries(table) as Array<[Name, Row]>)('%s', (name, row) => {
  const run = (threads: number) => async (...args: Args) => pools[threads]!.run((await operation(name)) as never, ...(args as never[]));
  const threadCounts = row.threads === undefined ? [1, 2] : [row.threads];
  const inputs = row.takesArray ? INPUTS : INPUTS.slice(0, 1);

  for (const threads of threadCounts) {
    for (const [label, make] of inputs) {
      it(`pooled (${threads} worker${threads > 1 ? 's' : ''}${row.takesArray ? `, ${label} input` : ''}) conforms to the sync twin`, async () => {
        await row.check(run(threads), make, threads);
      });
    }
  }

  if (row.refuses !== undefined) {
    it('rejects what the sync twin refuses, with the same error', async () => {
      for (const [, make] of inputs) {
        for (const { pooled, sync } of row.refuses!(make)) {
          const expected = thrownBy(sync);
          const error = await run(2)(...pooled).then(
            () => 'resolved',
            (e: unknown) => e,
          );
          expect(error).toBeInstanceOf(PrivkitError);
          const { code, argument, index, message } = error as PrivkitError;
          expect({ code, argument, index, message }).toEqual(expected);
        }
      }
    });
  }
});
