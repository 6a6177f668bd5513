// Fast continuous DP noise: Gaussian and Laplace samples from the wasm Ziggurat kernels
// (assembly/dp/noise.ts, Marsaglia and Tsang 2000) driven by ChaCha20. Arrays are streamed through a
// 1 MiB window of wasm memory, so memory use does not grow with the length. These samplers are
// for noise that is not released bit-exact (DP-SGD gradients, simulations); released values should
// use the secure mode (src/dp/secure.ts), which resists floating-point attacks.
import { nonFiniteError, PrivkitError } from '../errors.js';
import { assertInteger, assertNumber, describe, readOptions } from '../validate.js';
import { checkTypedArray, copyOut, currentLength, StagingWindow } from '../wasm/boundary.js';
import { snapshot } from '../wasm/snapshot.js';
import { createRng, isRng, type Rng } from './rng.js';
import { dpWasm, type DpExports } from './wasm.js';

/** The element type of a noise array: Float64Array ('float64') or Float32Array ('float32'). */
export type NoiseDtype = 'float64' | 'float32';
export type NoiseKind = 'gaussian' | 'laplace';

/** Options of {@link gaussianNoise} and {@link laplaceNoise}. */
export interface NoiseOptions {
  /** The generator to draw from; default: this thread's CSPRNG (ChaCha20 keyed by crypto.getRandomValues). */
  rng?: Rng;
  /** Element type of the result; default 'float64'. */
  dtype?: NoiseDtype;
}

/** Options of {@link addGaussianNoise} and {@link addLaplaceNoise}. */
export interface AddNoiseOptions {
  /** The generator to draw from; default: this thread's CSPRNG. */
  rng?: Rng;
}

/** Longest array a noise call returns (2^28 elements: 2 GiB of float64). */
export const MAX_NOISE_LENGTH = 2 ** 28;

let threadRng: Rng | undefined;

/** The generator of a call with options `opts`: its `rng` (read once) or the thread's CSPRNG. */
export function resolveRng(opts: unknown): Rng {
  return generatorOf(readOptions(opts as { rng?: unknown } | undefined, ['rng']).rng);
}

/**
 * The generator of an `rng` option already read from the options: a generator made by createRng,
 * or when undefined the thread's CSPRNG, created on first use.
 */
export function generatorOf(rng: unknown): Rng {
  if (rng === undefined) return (threadRng ??= createRng());
  if (!isRng(rng)) {
    throw new PrivkitError('E_ARG', `opts.rng must be an Rng from createRng(), got ${describe(rng)}`, { argument: 'opts.rng' });
  }
  return rng;
}

/** The options of a noise call, each read once (see readOptions). */
export function noiseOptions(opts: unknown): { rng?: unknown; dtype?: unknown } {
  return readOptions(opts as { rng?: unknown; dtype?: unknown } | undefined, ['rng', 'dtype']);
}

/** The noise scale argument: `sigma` (Gaussian) or `scale` (Laplace), finite and > 0. */
export function noiseScale(kind: NoiseKind, value: unknown): number {
  return assertNumber(scaleName(kind), value, 'positive');
}

/** The length of a noise array: an integer in [0, MAX_NOISE_LENGTH]. */
export function noiseLength(length: unknown): number {
  const n = assertInteger('length', length);
  if (n > MAX_NOISE_LENGTH) {
    throw new PrivkitError('E_ARG', `length must be <= ${MAX_NOISE_LENGTH}, got ${n}`, { argument: 'length' });
  }
  return n;
}

/** The `dtype` option (already read from the options); default 'float64'. */
export function noiseDtype(option: unknown): NoiseDtype {
  const dtype = option === undefined ? 'float64' : option;
  if (dtype !== 'float64' && dtype !== 'float32') {
    throw new PrivkitError('E_ARG', `opts.dtype must be 'float64' or 'float32', got ${describe(dtype)}`, { argument: 'opts.dtype' });
  }
  return dtype;
}

/** The array of an in-place noise call: a genuine, attached Float32Array or Float64Array. */
export function assertNoiseTarget(x: unknown): asserts x is Float32Array | Float64Array {
  checkTypedArray('x', x, ['Float32Array', 'Float64Array']);
}

const scaleName = (kind: NoiseKind) => (kind === 'gaussian' ? 'sigma' : 'scale');

/** The wasm kernels that write noise of each kind into float64 and float32 arrays. */
const FILL_KERNELS = {
  gaussian: { float64: 'gaussianFill64', float32: 'gaussianFill32' },
  laplace: { float64: 'laplaceFill64', float32: 'laplaceFill32' },
} as const satisfies Record<NoiseKind, Record<NoiseDtype, keyof DpExports>>;

/** The wasm kernels that add noise of each kind to float64 and float32 arrays in place. */
const ADD_KERNELS = {
  gaussian: { float64: 'gaussianAdd64', float32: 'gaussianAdd32' },
  laplace: { float64: 'laplaceAdd64', float32: 'laplaceAdd32' },
} as const satisfies Record<NoiseKind, Record<NoiseDtype, keyof DpExports>>;

/**
 * `length` samples of N(0, sigma^2) from the wasm Ziggurat sampler, driven by ChaCha20. Fast noise
 * for values that are not released bit-exact (DP-SGD gradients, simulations); a released value
 * should use {@link secureGaussian}, which resists floating-point attacks.
 *
 * @param length - how many samples (0 to {@link MAX_NOISE_LENGTH}).
 * @param sigma - the standard deviation (> 0); for DP-SGD, noiseMultiplier x clip norm.
 * @param opts - the generator and the element type (default 'float64').
 * @throws {PrivkitError} E_ARG when length is not an integer in [0, 2^28], sigma is not finite and > 0, opts.dtype is not 'float64' or 'float32', or opts.rng is not an Rng from createRng.
 * @throws {PrivkitError} E_OVERFLOW when a sample exceeds the range of the dtype (a sigma within a few hundred times of its largest value).
 * @throws {PrivkitError} E_NOT_READY before `await ready()`.
 *
 * @example
 * ```ts
 * import { ready } from 'privkit';
 * import { gaussianNoise } from 'privkit/dp';
 * await ready();
 * const noise64 = gaussianNoise(1024, 2.0); // Float64Array
 * const noise32 = gaussianNoise(1024, 2.0, { dtype: 'float32' }); // Float32Array
 * ```
 */
export function gaussianNoise(length: number, sigma: number, opts: NoiseOptions & { dtype: 'float32' }): Float32Array;
export function gaussianNoise(length: number, sigma: number, opts?: NoiseOptions & { dtype?: 'float64' }): Float64Array;
export function gaussianNoise(length: number, sigma: number, opts?: NoiseOptions): Float64Array | Float32Array;
export function gaussianNoise(length: number, sigma: number, opts?: NoiseOptions): Float64Array | Float32Array {
  return newNoise('gaussian', length, noiseScale('gaussian', sigma), opts);
}

/**
 * `length` samples of Laplace(0, scale): density exp(-|x| / scale) / (2 scale), from the wasm
 * sampler driven by ChaCha20. For released values use {@link secureLaplace}.
 *
 * @param length - how many samples (0 to {@link MAX_NOISE_LENGTH}).
 * @param scale - the scale b (> 0); for epsilon-DP of a query of L1 sensitivity D, b = D / epsilon.
 * @param opts - the generator and the element type (default 'float64').
 * @throws {PrivkitError} E_ARG when length is not an integer in [0, 2^28], scale is not finite and > 0, opts.dtype is not 'float64' or 'float32', or opts.rng is not an Rng from createRng.
 * @throws {PrivkitError} E_OVERFLOW when a sample exceeds the range of the dtype.
 * @throws {PrivkitError} E_NOT_READY before `await ready()`.
 *
 * @example
 * ```ts
 * import { ready } from 'privkit';
 * import { laplaceNoise } from 'privkit/dp';
 * await ready();
 * const noise = laplaceNoise(10, 1 / 0.5); // scale = sensitivity / epsilon
 * ```
 */
export function laplaceNoise(length: number, scale: number, opts: NoiseOptions & { dtype: 'float32' }): Float32Array;
export function laplaceNoise(length: number, scale: number, opts?: NoiseOptions & { dtype?: 'float64' }): Float64Array;
export function laplaceNoise(length: number, scale: number, opts?: NoiseOptions): Float64Array | Float32Array;
export function laplaceNoise(length: number, scale: number, opts?: NoiseOptions): Float64Array | Float32Array {
  return newNoise('laplace', length, noiseScale('laplace', scale), opts);
}

/**
 * Adds N(0, sigma^2) noise to every element of x in place and returns x (the DP-SGD step on a
 * summed gradient). Float32 sums are formed in float64 and rounded once. NaN/Infinity in x gives
 * E_NONFINITE with its index, before any noise is drawn; a result beyond the float range gives
 * E_OVERFLOW, with x unchanged (x is then noised through a copy, see addNoise). A failed call never
 * leaves x half-written, and noise drawn for it is never drawn again.
 *
 * @param x - the values to noise, modified in place.
 * @param sigma - the standard deviation (> 0).
 * @throws {PrivkitError} E_ARG when x is not an attached Float32Array or Float64Array, sigma is not finite and > 0, or opts.rng is not an Rng from createRng.
 * @throws {PrivkitError} E_NONFINITE when x holds NaN or +-Infinity (`index` is the first one).
 * @throws {PrivkitError} E_OVERFLOW when an element plus its noise leaves the float range (x unchanged).
 * @throws {PrivkitError} E_SHAPE when x's buffer is resized or detached during the call.
 * @throws {PrivkitError} E_NOT_READY before `await ready()`.
 *
 * @example
 * ```ts
 * import { ready, clipAndSum } from 'privkit';
 * import { addGaussianNoise } from 'privkit/dp';
 * await ready();
 * const maxNorm = 1, noiseMultiplier = 1.1, batch = 2;
 * const { sum } = clipAndSum(new Float32Array([3, 4, 0.3, 0.4]), batch, maxNorm);
 * addGaussianNoise(sum, noiseMultiplier * maxNorm); // sigma = noiseMultiplier x C
 * const update = sum.map((v) => v / batch);
 * ```
 */
export function addGaussianNoise<T extends Float32Array | Float64Array>(x: T, sigma: number, opts?: AddNoiseOptions): T {
  const { rng } = noiseOptions(opts);
  const checked = noiseScale('gaussian', sigma);
  assertNoiseTarget(x);
  return addNoise('gaussian', x, checked, generatorOf(rng));
}

/**
 * Adds Laplace(0, scale) noise to every element of x in place and returns x (errors as addGaussianNoise).
 *
 * @param x - the values to noise, modified in place.
 * @param scale - the Laplace scale b (> 0).
 * @throws {PrivkitError} E_ARG when x is not an attached Float32Array or Float64Array, scale is not finite and > 0, or opts.rng is not an Rng from createRng.
 * @throws {PrivkitError} E_NONFINITE when x holds NaN or +-Infinity (`index` is the first one).
 * @throws {PrivkitError} E_OVERFLOW when an element plus its noise leaves the float range (x unchanged).
 * @throws {PrivkitError} E_NOT_READY before `await ready()`.
 */
export function addLaplaceNoise<T extends Float32Array | Float64Array>(x: T, scale: number, opts?: AddNoiseOptions): T {
  const { rng } = noiseOptions(opts);
  const checked = noiseScale('laplace', scale);
  assertNoiseTarget(x);
  return addNoise('laplace', x, checked, generatorOf(rng));
}

function newNoise(kind: NoiseKind, length: number, scale: number, opts: NoiseOptions | undefined): Float64Array | Float32Array {
  const { rng, dtype } = noiseOptions(opts);
  const n = noiseLength(length);
  const generator = generatorOf(rng);
  const out = noiseDtype(dtype) === 'float64' ? new Float64Array(n) : new Float32Array(n);
  fillNoise(kind, out, scale, generator);
  return out;
}

/** Overwrites `out` with noise of `kind` and the checked `scale`, drawn from `rng`. */
export function fillNoise(kind: NoiseKind, out: Float32Array | Float64Array, scale: number, rng: Rng): void {
  const dtype = out instanceof Float64Array ? 'float64' : 'float32';
  const kernel = FILL_KERNELS[kind][dtype];
  stream(rng, out, out.length, (kernels, g, ptr, count) => {
    if (kernels[kernel](g, ptr, count, scale) >= 0) {
      throw new PrivkitError('E_OVERFLOW', `${kind} noise with ${scaleName(kind)} ${scale} overflows ${dtype}`, {
        argument: scaleName(kind),
      });
    }
  }, false);
}

/**
 * Beyond this many scales a sample of the fast samplers is out of reach: the normal Ziggurat's tail
 * R + ln(1/U) / R stays below 220 (U >= 2^-1074), and a Laplace magnitude exceeds 2048 with
 * probability e^-2048 (below 2^-2954) per sample.
 */
const NOISE_REACH = 2048;

/**
 * Adds noise of `kind` and the checked `scale` to every element of x in place, drawn from `rng`;
 * returns x. x is checked whole before any noise is drawn (E_NONFINITE at its first NaN or
 * Infinity); when max |x| + 2048 scale exceeds the float range, so that a sum could overflow, the
 * noise goes into a copy that replaces x only on success. Either way a failure leaves x unchanged
 * (except after an overflow beyond the reach above, probability < 2^-2900).
 */
export function addNoise<T extends Float32Array | Float64Array>(kind: NoiseKind, x: T, scale: number, rng: Rng): T {
  const double = checkTypedArray('x', x, ['Float32Array', 'Float64Array']) instanceof Float64Array;
  const kernel = ADD_KERNELS[kind][double ? 'float64' : 'float32'];
  const largest = double ? Number.MAX_VALUE : FLOAT32_MAX;
  const length = currentLength(x);
  const target = maxMagnitude(x, length) + NOISE_REACH * scale < largest * (1 - 2 ** -40) ? x : snapshot(x, length, 'x');
  stream(rng, target, length, (kernels, g, ptr, count, start) => {
    const bad = kernels[kernel](g, ptr, count, scale);
    if (bad >= 0) {
      const index = start + bad;
      throw new PrivkitError('E_OVERFLOW', `x[${index}] plus ${kind} noise (${scaleName(kind)} ${scale}) overflows`, { argument: 'x', index });
    }
  }, true);
  if (target !== x) copyOut(target, x, 0, 'x');
  return x;
}

const FLOAT32_MAX = 3.4028234663852886e38;

/** max |x[i]| over the first `length` values, or E_NONFINITE at the first NaN or Infinity. */
function maxMagnitude(x: Float32Array | Float64Array, length: number): number {
  let largest = 0;
  for (let i = 0; i < length; i++) {
    const magnitude = Math.abs(x[i]!);
    if (!(magnitude <= largest)) {
      if (!(magnitude < Infinity)) throw nonFiniteError('x', i, x[i]!);
      largest = magnitude;
    }
  }
  return largest;
}

/**
 * Runs `body` on consecutive chunks of the first `length` values of `array`, staged in one window
 * of wasm memory (zeroed when the call ends: it holds noise), with the generator of `rng`; `load`
 * copies each chunk in first (in-place kernels). Results are copied back.
 */
export function stream(
  rng: Rng,
  array: Float32Array | Float64Array,
  length: number,
  body: (kernels: DpExports, g: number, ptr: number, count: number, start: number) => void,
  load: boolean,
): void {
  if (length === 0) return;
  const x = { array, name: 'x' };
  rng.withGenerator(dpWasm, (kernels, g, arena) => {
    const window = new StagingWindow(arena, array instanceof Float64Array ? 8 : 4, length, true);
    window.stream(length, { input: load ? x : undefined, output: x }, (ptr, count, start) => body(kernels, g, ptr, count, start));
  });
}
