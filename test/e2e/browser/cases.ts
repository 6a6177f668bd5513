// Deterministic kernel cases shared by the browser fixture page (test/e2e/browser/main.ts) and the Node
// side of test/e2e/browser.test.ts, so both compute exactly the same calls on exactly the same inputs.
// Inputs come from a small seeded generator (mulberry32); results are returned as base64 of the raw
// float32 bytes, so comparisons across the page/Node boundary are bit-exact.

/** The kernel functions exercised here: the sync API and the pool share these names (the pool's are async). */
export interface KernelApi {
  l2Norms(x: Float32Array, rows: number): Float32Array | Promise<Float32Array>;
  clipByL2(x: Float32Array, rows: number, maxNorm: number): Float32Array | Promise<Float32Array>;
  clipPerLayer(x: Float32Array, rows: number, layerSizes: number[], maxNorms: number[]): Float32Array | Promise<Float32Array>;
  clipAndSum(
    x: Float32Array,
    rows: number,
    maxNorm: number | number[],
    opts?: { layerSizes?: number[] },
  ): ClipAndSum | Promise<ClipAndSum>;
  clipValues(x: Float32Array, min: number, max: number): Float32Array | Promise<Float32Array>;
  sum(x: Float32Array, rows: number): Float32Array | Promise<Float32Array>;
  mean(x: Float32Array, rows: number): Float32Array | Promise<Float32Array>;
  weightedMean(x: Float32Array, rows: number, weights: number[]): Float32Array | Promise<Float32Array>;
}

interface ClipAndSum {
  sum: Float32Array;
  norms: Float32Array;
  clippedCount: number;
}

export interface Case {
  name: string;
  rows: number;
  cols: number;
  seed: number;
}

/** Staging window of the streaming kernels (src/kernels/stream.ts): rows longer than this are split into column chunks. */
const WINDOW_FLOATS = 1 << 18;

export const CASES: Case[] = [
  // odd row length: SIMD tails; rows split unevenly over 2 pool workers
  { name: 'tall', rows: 67, cols: 1531, seed: 1 },
  // more floats than one staging window: several row groups
  { name: 'groups', rows: 1201, cols: 301, seed: 2 },
  // rows longer than the staging window: column chunks
  { name: 'wide', rows: 3, cols: WINDOW_FLOATS + 77, seed: 3 },
];

/** The results of one run: base64 float32 bytes for arrays, plain numbers for counts. */
export type Results = Record<string, string | number>;

export const MAX_NORM = 8;
export const VALUE_RANGE = [-0.5, 0.75] as const;

/** mulberry32: a tiny seeded PRNG with uniform output in [0, 1). For reproducible test inputs only. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface CaseInput {
  x: Float32Array;
  weights: number[];
  layerSizes: number[];
  maxNorms: number[];
}

/**
 * Rows of uniform values in [-1, 1) times a per-row scale chosen so that the row norms straddle
 * MAX_NORM: some rows are clipped, some are not.
 */
export function caseInput(c: Case): CaseInput {
  const random = seededRandom(c.seed);
  const x = new Float32Array(c.rows * c.cols);
  for (let r = 0; r < c.rows; r++) {
    // E|row|^2 = cols * scale^2 / 3, so scale = k * MAX_NORM * sqrt(3 / cols) gives a norm near k * MAX_NORM.
    const scale = (0.25 + 1.5 * random()) * MAX_NORM * Math.sqrt(3 / c.cols);
    for (let j = r * c.cols; j < (r + 1) * c.cols; j++) x[j] = (2 * random() - 1) * scale;
  }
  const weights = Array.from({ length: c.rows }, () => 1 + Math.floor(100 * random()));
  const a = Math.floor(c.cols / 3);
  const b = Math.floor(c.cols / 2);
  return { x, weights, layerSizes: [a, b, c.cols - a - b], maxNorms: [3, 5, 4] };
}

/**
 * Runs every kernel on every case (sequentially) and encodes the results; `place` puts each case's
 * input where the run reads it (default: the plain array as made).
 */
export async function runKernels(api: KernelApi, place: (x: Float32Array) => Float32Array = (x) => x): Promise<Results> {
  const out: Results = {};
  for (const c of CASES) {
    const { weights, layerSizes, maxNorms, ...input } = caseInput(c);
    const x = place(input.x);
    const { rows } = c;
    const put = (key: string, value: Float32Array | number) => {
      out[`${c.name}/${key}`] = typeof value === 'number' ? value : encodeF32(value);
    };
    put('l2Norms', await api.l2Norms(x, rows));
    put('clipByL2', await api.clipByL2(x, rows, MAX_NORM));
    put('clipPerLayer', await api.clipPerLayer(x, rows, layerSizes, maxNorms));
    const flat = await api.clipAndSum(x, rows, MAX_NORM);
    put('clipAndSum.sum', flat.sum);
    put('clipAndSum.norms', flat.norms);
    put('clipAndSum.clippedCount', flat.clippedCount);
    const layered = await api.clipAndSum(x, rows, maxNorms, { layerSizes });
    put('clipAndSumLayers.sum', layered.sum);
    put('clipAndSumLayers.norms', layered.norms);
    put('clipAndSumLayers.clippedCount', layered.clippedCount);
    put('clipValues', await api.clipValues(x, VALUE_RANGE[0], VALUE_RANGE[1]));
    put('sum', await api.sum(x, rows));
    put('mean', await api.mean(x, rows));
    put('weightedMean', await api.weightedMean(x, rows, weights));
  }
  return out;
}

/** Keys whose values are sums over rows: the pool adds per-worker partial sums, so they differ by rounding. */
export function isRowSum(key: string): boolean {
  return /\/(clipAndSum\.sum|clipAndSumLayers\.sum|sum|mean|weightedMean)$/.test(key);
}

/** The NaN planted for the error checks: in the 'tall' input, in the second half of the rows (the second pool worker's part). */
export const NAN_CASE = CASES[0]!;
export const NAN_INDEX = 50 * NAN_CASE.cols + 7;

export function inputWithNaN(): Float32Array {
  const { x } = caseInput(NAN_CASE);
  x[NAN_INDEX] = Number.NaN;
  return x;
}

export function encodeF32(values: Float32Array): string {
  return encodeBytes(values);
}

/** Base64 of the raw bytes of any typed array. */
export function encodeBytes(values: ArrayBufferView): string {
  const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

export function decodeF32(text: string): Float32Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return new Float32Array(bytes.buffer);
}

/** The seeded generator's outputs that must agree bit for bit across Node, workers and browsers. */
export type RandomnessApi = typeof import('privkit/dp');

/** Every sampler on a seeded generator: the same seed must give the same bits in Node and browsers. */
export function runRandomness(dp: RandomnessApi): Results {
  const seed = Uint8Array.from({ length: 32 }, (_, i) => 255 - i);
  const rng = dp.createRng({ seed, stream: 12345 });
  const values = Float64Array.from({ length: 500 }, (_, i) => (i - 250) * 0.37);
  return {
    bytes: encodeBytes(rng.bytes(4099)),
    uniform: encodeBytes(rng.uniform(2001)),
    gaussian64: encodeBytes(dp.gaussianNoise(3001, 1.5, { rng })),
    gaussian32: encodeBytes(dp.gaussianNoise(3001, 1.5, { rng, dtype: 'float32' })),
    laplace64: encodeBytes(dp.laplaceNoise(3001, 0.7, { rng })),
    addGaussian32: encodeBytes(dp.addGaussianNoise(new Float32Array(2000).fill(1), 2, { rng })),
    secureLaplace: encodeBytes(dp.secureLaplace(values, 2, { rng }).values),
    secureGaussian: encodeBytes(dp.secureGaussian(values, 2, { rng }).values),
    discreteLaplace: encodeBytes(dp.discreteLaplace(1000, 3.7, { rng })),
    discreteGaussian: encodeBytes(dp.discreteGaussian(1000, 3.7, { rng })),
  };
}

/** Paillier with seeded keys and randomness: identical keys, ciphertexts and plaintexts in Node and browsers. */
export async function runPaillier(paillier: typeof import('privkit/paillier'), dp: RandomnessApi): Promise<Results> {
  const rng = dp.createRng({ seed: new Uint8Array(32).fill(5) });
  const { publicKey, privateKey } = await paillier.generateKeyPair({ bits: 512, allowInsecureTestKeys: true, rng });
  const a = publicKey.encrypt(123456789n, { rng });
  const b = publicKey.encrypt(987654321n, { rng });
  const sum = publicKey.add(a, b);
  const opts = { scale: 2 ** 16, clip: 4, maxAdditions: 4, rng };
  const packed = publicKey.addVectors(
    publicKey.encryptVector(Float32Array.of(0.5, -1.25, 3, 2), opts),
    publicKey.encryptVector(Float32Array.of(0.25, 1, -1, -3.5), opts),
  );
  return {
    n: publicKey.n.toString(16),
    ciphertext: sum.value.toString(16),
    plaintext: privateKey.decrypt(sum).toString(),
    product: privateKey.decrypt(publicKey.multiplyPlain(a, 7n)).toString(),
    vector: encodeBytes(privateKey.decryptVector(packed)),
  };
}
