// The noise family: Gaussian and Laplace noise from privkit's samplers (the fast Ziggurat in float64
// and float32, the secure lattice samplers that resist floating-point attacks, and the pool) against
// the JavaScript people write by hand, Box-Muller and the inverse CDF over crypto.getRandomValues;
// and the discrete Gaussian, privkit's wasm sampler against its exact CKS20 sampler in plain JS.
// Each row's check reports a statistic of one call's output against its expected value.
import { discreteGaussian, gaussianNoise, laplaceNoise, secureGaussian, secureLaplace } from 'privkit/dp';
import { count, type BenchContext, type Family, type Group, type Task } from './family';
import { POOL_THREADS, type RowResult } from './protocol';

const SAMPLES = { quick: 1 << 16, full: 1 << 20 };
/** The exact discrete Gaussian takes ~3 us per sample: fewer samples per call. */
const DISCRETE_SAMPLES = { quick: 1 << 13, full: 1 << 17 };
const DISCRETE_SIGMA = 4;
/** crypto.getRandomValues fills at most 65,536 bytes per call. */
const CRYPTO_CALL_WORDS = 65536 / 4;

/** n doubles uniform in [0, 1) with 53 random bits each, from crypto.getRandomValues. */
export function cryptoUniforms(n: number): Float64Array {
  const words = new Uint32Array(2 * n);
  for (let i = 0; i < words.length; i += CRYPTO_CALL_WORDS) crypto.getRandomValues(words.subarray(i, i + CRYPTO_CALL_WORDS));
  const u = new Float64Array(n);
  for (let i = 0; i < n; i++) u[i] = ((words[2 * i]! >>> 5) * 67108864 + (words[2 * i + 1]! >>> 6)) / 9007199254740992;
  return u;
}

/** Box-Muller as hand-written: both normals of each pair of uniforms. */
function boxMuller(n: number, sigma: number): Float64Array {
  const u = cryptoUniforms(n + 1);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i += 2) {
    const radius = sigma * Math.sqrt(-2 * Math.log(1 - u[i]!));
    const angle = 2 * Math.PI * u[i + 1]!;
    out[i] = radius * Math.cos(angle);
    if (i + 1 < n) out[i + 1] = radius * Math.sin(angle);
  }
  return out;
}

/** The textbook Laplace sampler: -b sign(u) ln(1 - 2|u|) with u uniform in [-1/2, 1/2). */
function inverseCdfLaplace(n: number, b: number): Float64Array {
  const u = cryptoUniforms(n);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const v = u[i]! - 0.5;
    out[i] = -b * Math.sign(v) * Math.log(1 - 2 * Math.abs(v));
  }
  return out;
}

export function standardDeviation(x: ArrayLike<number>): number {
  let sum = 0;
  let squares = 0;
  for (let i = 0; i < x.length; i++) {
    sum += x[i]!;
    squares += x[i]! * x[i]!;
  }
  const mean = sum / x.length;
  return Math.sqrt(squares / x.length - mean * mean);
}

function meanAbsolute(x: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < x.length; i++) sum += Math.abs(x[i]!);
  return sum / x.length;
}

/** Why the pool came out slower than one thread, when it did. */
function explainPool(rows: readonly RowResult[], sharedMemory: boolean): string | undefined {
  const one = rows.find((r) => r.id === 'fast64');
  const pool = rows.find((r) => r.id === 'pool');
  if (one === undefined || pool === undefined || pool.medianMs <= one.medianMs) return undefined;
  return (
    `At this size the pool is slower than one thread: a pooled call posts a part of the work to each of its ${POOL_THREADS} workers and waits for all of them` +
    (sharedMemory ? '' : ', and without shared memory (no cross-origin isolation) the workers\' samples are copied into the result') +
    '. The pool wins on larger vectors (a model update of millions of values), where sampling outweighs the messages.'
  );
}

/** A sampler row: `sample()` returns the noise whose statistic the check reports. */
function samplerTask(id: string, label: string, kind: Task['kind'], code: string, sample: () => ArrayLike<number> | Promise<ArrayLike<number>>, statistic: (x: ArrayLike<number>) => string): Task {
  return { id, label, kind, code, run: sample, check: async () => statistic(await sample()) };
}

function continuousGroup(ctx: BenchContext, kind: 'gaussian' | 'laplace'): Group {
  const n = SAMPLES[ctx.mode];
  const zeros = new Float64Array(n);
  const gaussian = kind === 'gaussian';
  const name = gaussian ? 'gaussianNoise' : 'laplaceNoise';
  const sampler = gaussian ? gaussianNoise : laplaceNoise;
  const secure = gaussian ? secureGaussian : secureLaplace;
  // Laplace(b = 1): E|x| = b; Gaussian(sigma = 1): sd = sigma.
  const statistic = gaussian ? (x: ArrayLike<number>) => `sd ${standardDeviation(x).toFixed(3)} (sigma 1)` : (x: ArrayLike<number>) => `mean |x| ${meanAbsolute(x).toFixed(3)} (b 1)`;
  return {
    shape: `${count(n)} samples per call, ${gaussian ? 'sigma' : 'scale b'} = 1`,
    setup: `import { ${name}, ${gaussian ? 'secureGaussian' : 'secureLaplace'} } from 'privkit/dp';\n// default generator: privkit's ChaCha20 CSPRNG\nconst zeros = new Float64Array(n);`,
    rate: { unit: 'M samples/s', perCall: n, scale: 1e6 },
    baseline: 'js',
    tasks: [
      samplerTask('fast64', 'privkit fast (Ziggurat), float64', 'privkit', `${name}(n, 1)`, () => sampler(n, 1), statistic),
      samplerTask('fast32', 'privkit fast (Ziggurat), float32', 'privkit', `${name}(n, 1, { dtype: 'float32' })`, () => sampler(n, 1, { dtype: 'float32' }), statistic),
      samplerTask('secure', 'privkit secure (lattice)', 'privkit', `${gaussian ? 'secureGaussian' : 'secureLaplace'}(zeros, 1).values`, () => secure(zeros, 1).values, statistic),
      samplerTask('pool', `privkit pool (${POOL_THREADS} workers), float64`, 'privkit', `await pool.${name}(n, 1)`, () => ctx.pool[name](n, 1), statistic),
      gaussian
        ? samplerTask('js', 'JS Box-Muller on crypto.getRandomValues', 'baseline', 'boxMuller(n, 1)', () => boxMuller(n, 1), statistic)
        : samplerTask('js', 'JS inverse CDF on crypto.getRandomValues', 'baseline', 'inverseCdfLaplace(n, 1)', () => inverseCdfLaplace(n, 1), statistic),
    ],
    explain: (rows) => explainPool(rows, ctx.sharedMemory),
  };
}

function discreteGroup(ctx: BenchContext): Group {
  const n = DISCRETE_SAMPLES[ctx.mode];
  const statistic = (x: ArrayLike<number>) => `sd ${standardDeviation(x).toFixed(3)} (sigma ${DISCRETE_SIGMA})`;
  return {
    shape: `${count(n)} integers per call, sigma = ${DISCRETE_SIGMA}`,
    setup: "import { discreteGaussian } from 'privkit/dp';",
    rate: { unit: 'M samples/s', perCall: n, scale: 1e6 },
    baseline: 'exact',
    tasks: [
      samplerTask('wasm', 'privkit wasm sampler', 'privkit', `discreteGaussian(n, ${DISCRETE_SIGMA}, { method: 'wasm' })`, () => discreteGaussian(n, DISCRETE_SIGMA, { method: 'wasm' }), statistic),
      samplerTask('exact', 'privkit exact CKS20 sampler (plain JS)', 'baseline', `discreteGaussian(n, ${DISCRETE_SIGMA}, { method: 'exact' })`, () => discreteGaussian(n, DISCRETE_SIGMA, { method: 'exact' }), statistic),
    ],
  };
}

export const noise: Family = {
  id: 'noise',
  title: 'Noise',
  intro:
    'Differential-privacy noise from the CSPRNG. The secure samplers add noise on a lattice, so that the floating-point attacks on textbook samplers ' +
    '(Mironov 2012) do not apply; the baselines are the textbook samplers, on crypto.getRandomValues.',
  groups: [
    { id: 'gaussian', title: 'Gaussian noise', prepare: (ctx) => continuousGroup(ctx, 'gaussian') },
    { id: 'laplace', title: 'Laplace noise', prepare: (ctx) => continuousGroup(ctx, 'laplace') },
    { id: 'discrete-gaussian', title: 'Discrete Gaussian noise (integers; secure aggregation adds it to quantized updates)', prepare: discreteGroup },
  ],
};
