// Bounded DP aggregates over Float64Array records with the semantics of Google's differential-privacy
// building blocks (Count, BoundedSum, BoundedMean; cc/docs/algorithms): each record is one person's
// single contribution (add/remove neighbours), values are clamped to [lower, upper], and every noisy
// value is released through the secure lattice mechanisms of mechanisms.ts. Sums are computed exactly
// and rounded once (Shewchuk's partials), so float summation cannot raise the sensitivity beyond the
// documented margin (the order- and rounding-based attacks of Casacuberta et al. 2022). No call fails
// because of the data's values or size: counts are released exactly at any size (releaseCounts), and a
// sum beyond the lattice's exact range (2^28 x the noise scale) is clamped to it before the noise, a
// public bound (clampToLattice).
import { PrivkitError } from '../errors.js';
import { assertInteger, assertNumber, assertOneOf, readOptions } from '../validate.js';
import { readNumbers } from '../validate-arrays.js';
import { checkTypedArray } from '../wasm/boundary.js';
import { calibrateSecureGaussian, calibrateSecureLaplace, laplaceMechanism } from './mechanisms.js';
import { resolveRng } from './noise.js';
import type { Rng } from './rng.js';
import { gaussianOnLattice, secureLaplace, secureValueBound } from './secure.js';

/** Options of every DP aggregate. */
export interface AggregateOptions {
  /** Privacy parameter epsilon > 0 of the whole aggregate. */
  epsilon: number;
  /** The generator; default: this thread's CSPRNG. A seeded (reproducible) Rng is for tests only, never for releases. */
  rng?: Rng;
}

/** Options of {@link dpSum} and {@link dpMean}: the privacy parameter and the clamping bounds. */
export interface BoundedOptions extends AggregateOptions {
  /** Records are clamped to [lower, upper]; lower < upper, |lower|, |upper| <= 2^960. */
  lower: number;
  /** The upper clamping bound (see `lower`). */
  upper: number;
}

/** Options of {@link dpHistogram}: the bins (`edges`, or `bins` over [lower, upper]) and the noise. */
export interface HistogramOptions extends AggregateOptions {
  /** Bin edges, strictly increasing: bin i is [edges[i], edges[i+1]), the last bin also holds edges[last]. */
  edges?: Float64Array | readonly number[];
  /** Or: this many equal-width bins over [lower, upper] (1 to 2^24). */
  bins?: number;
  /** With `bins`: the lower end of the first bin (finite, < upper). */
  lower?: number;
  /** With `bins`: the upper end of the last bin, which includes it. */
  upper?: number;
  /** 'laplace' (default, epsilon-DP) or 'gaussian' ((epsilon, delta)-DP, needs delta). */
  noise?: 'laplace' | 'gaussian';
  /** delta in (0, 1) for Gaussian noise. */
  delta?: number;
}

/** The release of {@link dpHistogram}. */
export interface DpHistogram {
  /** Noisy count per bin (on the lattice of the mechanism, not rounded; round or clamp at 0 as post-processing). */
  counts: Float64Array;
  /** The bin edges used (length counts.length + 1). */
  edges: Float64Array;
}

/** Most records an aggregate accepts. */
export const MAX_RECORDS = 2 ** 32 - 1;
/**
 * Relative sensitivity margin for exactly computed, once-rounded sums: with n <= 2^32 records of
 * magnitude <= B, two neighbouring rounded sums differ by at most B (1 + 2^-20).
 */
const SUM_MARGIN = 1 + 2 ** -19;
const MAX_BOUND = 2 ** 960;

function checkRecords(value: unknown): Float64Array {
  const records = checkTypedArray('records', value, ['Float64Array']);
  if (records.length > MAX_RECORDS) {
    throw new PrivkitError('E_ARG', `records.length must be <= 2^32 - 1, got ${records.length}`, { argument: 'records' });
  }
  for (let i = 0; i < records.length; i++) {
    if (Number.isNaN(records[i])) {
      throw new PrivkitError('E_NONFINITE', `records[${i}] is NaN`, { argument: 'records', index: i });
    }
  }
  return records;
}

function checkBounds(lower: unknown, upper: unknown): { lower: number; upper: number } {
  const lo = assertNumber('lower', lower);
  const hi = assertNumber('upper', upper);
  if (Math.abs(lo) > MAX_BOUND) throw new PrivkitError('E_ARG', `|lower| must be <= 2^960, got ${lo}`, { argument: 'lower' });
  if (Math.abs(hi) > MAX_BOUND) throw new PrivkitError('E_ARG', `|upper| must be <= 2^960, got ${hi}`, { argument: 'upper' });
  if (!(lo < hi)) throw new PrivkitError('E_ARG', `lower (${lo}) must be < upper (${hi})`, { argument: 'upper' });
  return { lower: lo, upper: hi };
}

/**
 * The exact sum of `values` rounded once to the nearest double (Shewchuk 1997, "Adaptive precision
 * floating-point arithmetic"; the partials method with a correctly rounded final step, as Python's fsum).
 * Values are not checked: NaN or Infinity among them gives NaN or Infinity.
 */
export function exactSum(values: ArrayLike<number>): number {
  return sumOfFinite(readNumbers('values', values, { finite: true }, MAX_RECORDS));
}

/** exactSum of values already checked to be finite numbers. */
function sumOfFinite(values: Float64Array): number {
  const partials: number[] = [];
  for (let j = 0; j < values.length; j++) {
    let x = values[j]!;
    let used = 0;
    for (let i = 0; i < partials.length; i++) {
      let y = partials[i]!;
      if (Math.abs(x) < Math.abs(y)) [x, y] = [y, x];
      const hi = x + y;
      const lo = y - (hi - x);
      if (lo !== 0) partials[used++] = lo;
      x = hi;
    }
    partials.length = used;
    partials.push(x);
  }
  let n = partials.length;
  if (n === 0) return 0;
  let hi = partials[--n]!;
  let lo = 0;
  while (n > 0) {
    const x = hi;
    const y = partials[--n]!;
    hi = x + y;
    lo = y - (hi - x);
    if (lo !== 0) break;
  }
  // round half to even correctly when the remaining partials push past the halfway point
  if (n > 0 && ((lo < 0 && partials[n - 1]! < 0) || (lo > 0 && partials[n - 1]! > 0))) {
    const y = lo * 2;
    const x = hi + y;
    if (y === x - hi) hi = x;
  }
  return hi;
}

function clamp(x: number, lower: number, upper: number): number {
  return x < lower ? lower : x > upper ? upper : x;
}

/**
 * Each value clamped to the exact range of the lattice for noise `scale`, +-secureValueBound(scale)
 * = +-2^52 r (r >= 2^-24 scale). The range is public, so whether a release succeeds never depends on
 * the data, and clamping is 1-Lipschitz in every coordinate, so the sensitivity and the guarantee are
 * unchanged; a value beyond it (a count above 2^28 x scale, e.g. 2.7e8 at epsilon 1) is released saturated.
 */
function clampToLattice(values: Float64Array, scale: number): Float64Array {
  const bound = secureValueBound(scale);
  for (let i = 0; i < values.length; i++) values[i] = clamp(values[i]!, -bound, bound);
  return values;
}

/** One value with lattice Laplace noise for L1 sensitivity `sensitivity` (clamped to the lattice's range). */
function releaseOne(value: number, epsilon: number, sensitivity: number, rng: Rng | undefined): number {
  const mechanism = laplaceMechanism({ epsilon, l1Sensitivity: sensitivity, rng });
  return mechanism.release(clampToLattice(Float64Array.of(value), mechanism.scale))[0]!;
}

/** A count with lattice Laplace noise for sensitivity 1, exact at any size (releaseCounts). */
function releaseCount(n: number, epsilon: number, rng: Rng | undefined): number {
  const mechanism = laplaceMechanism({ epsilon, l1Sensitivity: 1, rng });
  return releaseCounts(Float64Array.of(n), mechanism.resolution, (values) => mechanism.release(values))[0]!;
}

/**
 * Integer counts (below 2^53) with lattice noise of step `resolution`, at any size. With r <= 1 every
 * integer is a lattice point, so the noise is drawn for zeros (`noise` returns Z r) and the release is
 * count + Z r, rounded to the nearest double by the addition: a function of the exact lattice release
 * (post-processing), so no count meets the sampler's exact range 2^52 r. With r > 1 that range is at
 * least 2^53 and holds every count.
 */
function releaseCounts(counts: Float64Array, resolution: number, noise: (values: Float64Array) => Float64Array): Float64Array {
  if (resolution > 1) return noise(counts);
  const released = noise(new Float64Array(counts.length));
  for (let i = 0; i < counts.length; i++) released[i] = counts[i]! + released[i]!;
  return released;
}

/**
 * Noisy count of records (or of a given count), Laplace noise of scale about 1/epsilon on the
 * secure lattice: epsilon-DP under add/remove neighbours. Not rounded (round as post-processing).
 * Any count is released exactly plus the noise (no range limit: see releaseCounts).
 *
 * @param records - the records (only their number counts), or the exact count itself.
 * @throws {PrivkitError} E_ARG when opts is not an object, epsilon is not finite and > 0, records is neither a Float64Array (of at most 2^32 - 1 records) nor a non-negative integer, or opts.rng is not an Rng from createRng.
 * @throws {PrivkitError} E_NONFINITE when a record is NaN.
 * @throws {PrivkitError} E_NOT_READY before `await ready()`.
 */
export function dpCount(records: Float64Array | number, opts: AggregateOptions): number {
  const { epsilon: e, rng } = readOptions(opts, ['epsilon', 'rng'], 'opts', true);
  const epsilon = assertNumber('epsilon', e, 'positive');
  const n = typeof records === 'number' ? assertInteger('records', records) : checkRecords(records).length;
  return releaseCount(n, epsilon, rng);
}

/**
 * Noisy sum of the records clamped to [lower, upper] (Google's BoundedSum): epsilon-DP under
 * add/remove neighbours, sensitivity max(|lower|, |upper|) (times 1 + 2^-19 for the single rounding
 * of the exact sum). Sums beyond 2^28 x the noise scale are released saturated.
 *
 * @throws {PrivkitError} E_ARG when opts is not an object, epsilon is not finite and > 0, records is not a Float64Array of at most 2^32 - 1 records, the bounds are not finite with lower < upper and magnitudes <= 2^960, or opts.rng is not an Rng from createRng.
 * @throws {PrivkitError} E_NONFINITE when a record is NaN (+-Infinity is clamped).
 * @throws {PrivkitError} E_NOT_READY before `await ready()`.
 */
export function dpSum(records: Float64Array, opts: BoundedOptions): number {
  const { epsilon: e, lower, upper, rng } = readOptions(opts, ['epsilon', 'lower', 'upper', 'rng'], 'opts', true);
  const epsilon = assertNumber('epsilon', e, 'positive');
  const x = checkRecords(records);
  const b = checkBounds(lower, upper);
  const clamped = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) clamped[i] = clamp(x[i]!, b.lower, b.upper);
  const sensitivity = Math.max(Math.abs(b.lower), Math.abs(b.upper));
  return releaseOne(sumOfFinite(clamped), epsilon, sensitivity * SUM_MARGIN, rng);
}

/**
 * Noisy mean of the records clamped to [lower, upper] (Google's BoundedMean): epsilon is split
 * equally between a noisy sum of the records normalized by the midpoint (sensitivity (upper - lower)/2)
 * and a noisy count (sensitivity 1); the result noisySum / max(1, noisyCount) + midpoint is clamped
 * to [lower, upper]. epsilon-DP under add/remove neighbours.
 *
 * @throws {PrivkitError} E_ARG when opts is not an object, epsilon is not finite and > 0, records is not a Float64Array of at most 2^32 - 1 records, the bounds are not finite with lower < upper and magnitudes <= 2^960, or opts.rng is not an Rng from createRng.
 * @throws {PrivkitError} E_NONFINITE when a record is NaN (+-Infinity is clamped).
 * @throws {PrivkitError} E_NOT_READY before `await ready()`.
 *
 * @example
 * ```ts
 * import { ready } from 'privkit';
 * import { dpMean } from 'privkit/dp';
 * await ready();
 * const ages = new Float64Array([34, 51, 29, 42, 67]); // one record per person
 * const mean = dpMean(ages, { epsilon: 1, lower: 18, upper: 90 });
 * ```
 */
export function dpMean(records: Float64Array, opts: BoundedOptions): number {
  const { epsilon: e, lower, upper, rng } = readOptions(opts, ['epsilon', 'lower', 'upper', 'rng'], 'opts', true);
  const epsilon = assertNumber('epsilon', e, 'positive');
  const x = checkRecords(records);
  const b = checkBounds(lower, upper);
  const mid = b.lower + (b.upper - b.lower) / 2;
  const normalized = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) normalized[i] = clamp(x[i]!, b.lower, b.upper) - mid;
  // rounding is monotone, so no normalized value exceeds the normalized bounds computed the same way
  const half = Math.max(Math.abs(b.lower - mid), Math.abs(b.upper - mid));
  const noisySum = releaseOne(sumOfFinite(normalized), epsilon / 2, half * SUM_MARGIN, rng);
  const noisyCount = releaseCount(x.length, epsilon / 2, rng);
  return clamp(noisySum / Math.max(1, noisyCount) + mid, b.lower, b.upper);
}

function histogramEdges(opts: Partial<HistogramOptions>): Float64Array {
  const { edges, bins, lower, upper } = opts;
  if (edges !== undefined) {
    if (bins !== undefined) throw new PrivkitError('E_ARG', 'give either edges or bins, not both', { argument: 'bins' });
    const out = readNumbers('edges', edges, { finite: true }, 2 ** 24 + 1);
    if (out.length < 2) throw new PrivkitError('E_ARG', `edges must hold at least 2 numbers, got ${out.length}`, { argument: 'edges' });
    for (let i = 1; i < out.length; i++) {
      if (!(out[i]! > out[i - 1]!)) {
        throw new PrivkitError('E_ARG', `edges must be strictly increasing (edges[${i}] = ${out[i]})`, {
          argument: 'edges',
          index: i,
        });
      }
    }
    return out;
  }
  if (bins === undefined) throw new PrivkitError('E_ARG', 'edges or bins is required', { argument: 'edges' });
  const k = assertInteger('bins', bins, 1);
  if (k > 2 ** 24) throw new PrivkitError('E_ARG', `bins must be <= 2^24, got ${k}`, { argument: 'bins' });
  const b = checkBounds(lower, upper);
  const out = new Float64Array(k + 1);
  for (let i = 0; i < k; i++) out[i] = b.lower + ((b.upper - b.lower) * i) / k;
  out[k] = b.upper;
  for (let i = 1; i <= k; i++) {
    if (!(out[i]! > out[i - 1]!)) {
      throw new PrivkitError('E_ARG', `bins (${k}) too many for [${b.lower}, ${b.upper}]: edges coincide`, { argument: 'bins' });
    }
  }
  return out;
}

/** Index of the bin holding x, or -1 when x is outside [edges[0], edges[last]]. */
function binOf(x: number, edges: Float64Array): number {
  const last = edges.length - 1;
  if (!(x >= edges[0]! && x <= edges[last]!)) return -1;
  if (x === edges[last]) return last - 1;
  let lo = 0;
  let hi = last; // edges[lo] <= x < edges[hi]
  while (hi - lo > 1) {
    const mid = (lo + hi) >>> 1;
    if (edges[mid]! <= x) lo = mid;
    else hi = mid;
  }
  return lo;
}

/**
 * Noisy histogram: counts of records per bin (records outside the edges are not counted), with
 * Laplace noise (epsilon-DP) or analytic Gaussian noise ((epsilon, delta)-DP). Under add/remove
 * neighbours one record changes one count by 1: L1 and L2 sensitivity 1, and only that coordinate
 * is rounded differently, so the lattice charge is 1 + resolution whatever the number of bins.
 * Counts of any size are released exactly plus the noise (releaseCounts).
 *
 * @throws {PrivkitError} E_ARG when opts is not an object, epsilon is not finite and > 0, records is not a Float64Array of at most 2^32 - 1 records, noise is not 'laplace' or 'gaussian', delta is missing for (or given with) the wrong noise or not in (0, 1), the bins are not given as exactly one of `edges` (finite, strictly increasing, >= 2) or `bins` (1 to 2^24, with valid lower < upper), or opts.rng is not an Rng from createRng.
 * @throws {PrivkitError} E_NONFINITE when a record is NaN.
 * @throws {PrivkitError} E_NOT_READY before `await ready()`.
 */
export function dpHistogram(records: Float64Array, opts: HistogramOptions): DpHistogram {
  const o = readOptions(opts, ['epsilon', 'noise', 'delta', 'edges', 'bins', 'lower', 'upper', 'rng'], 'opts', true);
  const epsilon = assertNumber('epsilon', o.epsilon, 'positive');
  const x = checkRecords(records);
  const noise = assertOneOf('noise', o.noise, ['laplace', 'gaussian'] as const, 'laplace');
  if (noise === 'laplace' && o.delta !== undefined) {
    throw new PrivkitError('E_ARG', 'delta applies to Gaussian noise only', { argument: 'delta' });
  }
  if (noise === 'gaussian' && o.delta === undefined) {
    throw new PrivkitError('E_ARG', 'delta is required for Gaussian noise', { argument: 'delta' });
  }
  const edges = histogramEdges(o);
  const rng = resolveRng({ rng: o.rng });
  // one record changes one count: the lattice rounding is charged for one coordinate, whatever the bins
  let resolution: number;
  let noised: (values: Float64Array) => Float64Array;
  if (noise === 'laplace') {
    const calibration = calibrateSecureLaplace(epsilon, 1, 1);
    resolution = calibration.resolution;
    noised = (values) => secureLaplace(values, calibration.scale, { rng }).values;
  } else {
    const calibration = calibrateSecureGaussian(epsilon, assertNumber('delta', o.delta, 'positive'), 1, 1);
    resolution = calibration.resolution;
    noised = (values) => gaussianOnLattice(values, calibration.sigma, calibration.bits, { rng }).values;
  }
  const counts = new Float64Array(edges.length - 1);
  for (let i = 0; i < x.length; i++) {
    const bin = binOf(x[i]!, edges);
    if (bin >= 0) counts[bin]!++;
  }
  return { counts: releaseCounts(counts, resolution, noised), edges };
}
