// One-run audit of DP-SGD (white-box gradient canaries, Steinke, Nasr, Jagielski 2023, Sec. 6):
// a plain DP-SGD loop built from privkit's parts trains a least-squares model on synthetic data
// while m canary "examples" are each present in the training set with probability 1/2. A present
// canary is Poisson-sampled into each batch like every example, and its per-example gradient is a
// fixed random unit direction u_i times the clip norm. After training, canary i scores
// <w_0 - w_T, u_i> (how far the model moved along its gradient); the scores are converted into an
// epsilon lower bound (auditCanaryScores) and reported next to the RDP accountant's epsilon for the
// same (noise multiplier, sample rate, steps).
//
// Each step: Poisson sample -> per-example gradients (one row each) -> `privatize` (default:
// clipAndSum to the clip norm, then addGaussianNoise with sigma = noiseMultiplier x clip norm) ->
// w -= learningRate x noisy sum / expected batch size. Pass your own `privatize` to audit your
// own clipping and noise step against the accounting you claim for it.
import { assertDelta } from '../accounting/events.js';
import { RdpAccountant } from '../accounting/rdp-accountant.js';
import { addGaussianNoise, gaussianNoise } from '../dp/noise.js';
import { createRng, type Rng } from '../dp/rng.js';
import { PrivkitError } from '../errors.js';
import { checkSeed } from '../fl/local.js';
import { clipAndSum } from '../kernels/clip.js';
import { assertFunction, assertInteger, assertNumber, describe, readOptions } from '../validate.js';
import { currentLength, typedArrayKind } from '../wasm/boundary.js';
import { ready } from '../wasm/runtime.js';
import { auditCanaryScores, type OneRunResult } from './one-run.js';

/** Turns `rows` per-example gradients (rows x dimension, row-major) into the privatized batch sum. */
export type PrivatizeBatch = (gradients: Float32Array, rows: number, dimension: number) => Float32Array;

/** Options of {@link auditDpSgd}. */
export interface DpSgdAuditOptions {
  /** m: canaries (each present with probability 1/2). */
  canaries: number;
  /** Model dimension; several times `canaries` keeps the canary directions nearly orthogonal. */
  dimension: number;
  /** Training steps. */
  steps: number;
  /** q in (0, 1]: Poisson sampling probability of every example and present canary. */
  sampleRate: number;
  /** z: the claimed noise standard deviation / clip norm (what the accountant is charged with). */
  noiseMultiplier: number;
  /** Clip norm C; default 1. */
  clipNorm?: number;
  /** Ordinary training examples; default 1,000. */
  examples?: number;
  /** SGD step size on the noisy sum divided by the expected batch size; default 0.5. */
  learningRate?: number;
  /** The step under audit; default privkit's clipAndSum and Gaussian noise of sigma z C. */
  privatize?: PrivatizeBatch;
  /** delta of the reported epsilons; default 1e-5. */
  delta?: number;
  /** Probability in (0, 1) that the lower bound is valid; default 0.95. */
  confidence?: number;
  /** Total guesses (see auditCanaryScores); default: the best of several, Bonferroni-corrected. */
  guesses?: number;
  /** 32-byte key making data, canaries, sampling and noise reproducible (tests and simulations only). */
  seed?: Uint8Array;
}

/** The outcome of {@link auditDpSgd}: the one-run lower bound and the accountant's epsilon. */
export interface DpSgdAuditResult extends OneRunResult {
  /** The RDP accountant's epsilon at `delta` for the claimed noise multiplier, sample rate and steps. */
  accountantEpsilon: number;
}

/** Most canaries, examples, steps and dimensions of one audit (bounds one call's work and memory). */
const MAX_AUDIT_SIZE = 2 ** 20;

/**
 * Runs the audited DP-SGD loop once (see the file header) and returns both epsilons. Calls `ready()` itself.
 *
 * @throws {PrivkitError} E_ARG (as a rejection) when options is not an object, an option is out of range (canaries, dimension, steps, examples positive integers; sampleRate in (0, 1]; noiseMultiplier, clipNorm, learningRate finite and > 0; delta in (0, 1); confidence in (0, 1); seed 32 bytes), privatize is not a function, or (examples + canaries) x dimension exceeds 2^28.
 * @throws {PrivkitError} E_SHAPE (as a rejection) when privatize does not return a Float32Array of the dimension; errors of privatize pass through.
 *
 * @example
 * ```ts
 * import { auditDpSgd } from 'privkit/audit';
 * const audit = await auditDpSgd({ canaries: 1000, dimension: 5000, steps: 100, sampleRate: 0.1, noiseMultiplier: 1 });
 * console.log(`epsilon >= ${audit.epsilonLowerBound} (audit), <= ${audit.accountantEpsilon} (accountant)`);
 * ```
 */
export async function auditDpSgd(given: DpSgdAuditOptions): Promise<DpSgdAuditResult> {
  const options = readOptions(
    given,
    ['canaries', 'dimension', 'steps', 'sampleRate', 'noiseMultiplier', 'clipNorm', 'examples', 'learningRate', 'privatize', 'delta', 'confidence', 'guesses', 'seed'],
    'options',
    true,
  );
  const m = assertInteger('canaries', options.canaries, 1, MAX_AUDIT_SIZE);
  const d = assertInteger('dimension', options.dimension, 1, MAX_AUDIT_SIZE);
  const steps = assertInteger('steps', options.steps, 1, MAX_AUDIT_SIZE);
  const q = assertNumber('sampleRate', options.sampleRate, 'positive');
  if (q > 1) throw new PrivkitError('E_ARG', `sampleRate must be in (0, 1], got ${q}`, { argument: 'sampleRate' });
  const z = assertNumber('noiseMultiplier', options.noiseMultiplier, 'positive');
  const clip = options.clipNorm === undefined ? 1 : assertNumber('clipNorm', options.clipNorm, 'positive');
  const n = options.examples === undefined ? 1000 : assertInteger('examples', options.examples, 1, MAX_AUDIT_SIZE);
  const learningRate = options.learningRate === undefined ? 0.5 : assertNumber('learningRate', options.learningRate, 'positive');
  const delta = options.delta === undefined ? 1e-5 : assertDelta('delta', options.delta);
  const custom = options.privatize === undefined ? undefined : assertFunction<PrivatizeBatch>('privatize', options.privatize);
  const seed = options.seed;
  checkSeed('seed', seed);
  if ((n + m) * d > 2 ** 28) throw new PrivkitError('E_ARG', `(examples + canaries) x dimension must be <= 2^28`, { argument: 'dimension' });
  await ready();

  const rng = (stream: number): Rng => createRng(seed === undefined ? {} : { seed, stream });
  const noiseRng = rng(0);
  const privatize: PrivatizeBatch =
    custom ??
    ((gradients, rows, dimension) => {
      const sum = rows === 0 ? new Float32Array(dimension) : clipAndSum(gradients, rows, clip).sum;
      return addGaussianNoise(sum, z * clip, { rng: noiseRng });
    });

  // Synthetic least squares: x ~ N(0, I/d), y = <x, w*> + N(0, 0.1^2); canary directions ~ uniform on the sphere.
  const data = rng(1);
  const features = gaussianNoise(n * d, 1 / Math.sqrt(d), { rng: data, dtype: 'float32' });
  const truth = gaussianNoise(d, 1, { rng: data });
  const targets = gaussianNoise(n, 0.1, { rng: data }).map((e, i) => dot(features, i * d, truth, d) + e);
  const directions = gaussianNoise(m * d, 1, { rng: data, dtype: 'float32' });
  for (let i = 0; i < m; i++) {
    const u = directions.subarray(i * d, (i + 1) * d);
    const norm = Math.sqrt(dot(u, 0, u, d));
    for (let j = 0; j < d; j++) u[j] = (u[j]! / norm) * clip;
  }
  const present = Uint8Array.from(rng(2).uniform(m), (u) => (u < 0.5 ? 1 : 0));

  const sampling = rng(3);
  const params = new Float64Array(d);
  const expectedBatch = q * (n + m / 2);
  for (let t = 0; t < steps; t++) {
    const drawExamples = sampling.uniform(n);
    const drawCanaries = sampling.uniform(m);
    const chosenExamples: number[] = [];
    const chosenCanaries: number[] = [];
    for (let i = 0; i < n; i++) if (drawExamples[i]! < q) chosenExamples.push(i);
    for (let i = 0; i < m; i++) if (present[i] && drawCanaries[i]! < q) chosenCanaries.push(i);
    // one row per sampled example (its least-squares gradient) and per sampled canary
    const batch = new Float32Array((chosenExamples.length + chosenCanaries.length) * d);
    chosenExamples.forEach((i, k) => {
      const x = features.subarray(i * d, (i + 1) * d);
      const residual = dot(x, 0, params, d) - targets[i]!;
      for (let j = 0; j < d; j++) batch[k * d + j] = residual * x[j]!;
    });
    chosenCanaries.forEach((i, k) => batch.set(directions.subarray(i * d, (i + 1) * d), (chosenExamples.length + k) * d));
    const noisy = privatize(batch, chosenExamples.length + chosenCanaries.length, d);
    if (typedArrayKind(noisy) !== 'Float32Array' || currentLength(noisy) !== d) {
      throw new PrivkitError('E_SHAPE', `privatize must return a Float32Array of length ${d}, got ${describe(noisy)}`, { argument: 'privatize' });
    }
    for (let j = 0; j < d; j++) params[j] -= (learningRate * noisy[j]!) / expectedBatch;
  }

  // w_0 = 0, so <w_0 - w_T, u_i> = -<w_T, u_i>
  const scores = Float64Array.from({ length: m }, (_, i) => -dot(directions, i * d, params, d));
  const result = auditCanaryScores({
    scores,
    included: present,
    delta,
    ...(options.confidence === undefined ? {} : { confidence: options.confidence }),
    ...(options.guesses === undefined ? {} : { guesses: options.guesses }),
  });
  const accountantEpsilon = new RdpAccountant().step({ noiseMultiplier: z, sampleRate: q, steps, sampling: 'poisson' }).getEpsilon(delta).epsilon;
  return { ...result, accountantEpsilon };
}

/** sum_j x[offset + j] y[j] for j < length. */
function dot(x: ArrayLike<number>, offset: number, y: ArrayLike<number>, length: number): number {
  let s = 0;
  for (let j = 0; j < length; j++) s += x[offset + j]! * y[j]!;
  return s;
}
