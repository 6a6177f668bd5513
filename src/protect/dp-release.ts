// Differentially private releases of a table, the recommended alternative to ad-hoc masking when
// what the recipient needs are aggregates: a noisy contingency table (counts over chosen columns)
// and exponential-mechanism quantiles. Both are DP under add/remove-one-record neighbours, with
// one record per person (a person with several records needs them merged, or the guarantee is
// the per-record one only).
import { PrivkitError } from '../errors.js';
import { assertInteger, assertNumber, assertOneOf, describe, readOptions } from '../validate.js';
import { readArray, readNumbers } from '../validate-arrays.js';
import { nextUp } from '../dp/calibration.js';
import { discreteGaussian, discreteLaplace, MAX_DISCRETE_SCALE, uniformBelow } from '../dp/discrete.js';
import { gumbelArgmax } from '../dp/exponential.js';
import { calibrateSecureGaussian } from '../dp/mechanisms.js';
import { generatorOf } from '../dp/noise.js';
import type { Rng } from '../dp/rng.js';
import { gaussianOnLattice, gaussianResolutionAt } from '../dp/secure.js';

/** A value of a contingency table's public domain. */
export type DomainValue = string | number | boolean | null;

/** Options of {@link dpContingencyTable}. */
export interface ContingencyTableOptions {
  /** The columns counted over (1 to 16 distinct names). */
  columns: readonly string[];
  /**
   * The public domain of every column: the values the table has a cell for (distinct; null is the
   * missing value). It must not be read off the data: see {@link dpContingencyTable}.
   */
  domains: Readonly<Record<string, readonly DomainValue[]>>;
  /**
   * 'laplace' (default): exact discrete Laplace, epsilon-DP. 'gaussian' with `rho`: exact discrete
   * Gaussian, rho-zCDP; 'gaussian' with `epsilon` and `delta`: the analytic Gaussian mechanism on
   * privkit/dp's secure lattice (as dpHistogram's), (epsilon, delta)-DP.
   */
  noise?: 'laplace' | 'gaussian';
  /** epsilon > 0: of Laplace noise (>= 2^-24), or of Gaussian noise with `delta`. */
  epsilon?: number;
  /** delta in (0, 1) of Gaussian noise given by (epsilon, delta). */
  delta?: number;
  /** zCDP rho > 0 (>= 2^-49) for Gaussian noise: sigma = 1 / sqrt(2 rho); convert to (epsilon, delta) with privkit/accounting's zcdpToEpsilon. */
  rho?: number;
  /**
   * The column naming the person (privacy unit) a record belongs to, when one person may have several
   * records: the neighbour relation becomes add/remove one person, and only the first
   * `maxRecordsPerUnit` records of each person (in input order) are counted. Without it, each record
   * is taken to be a different person.
   */
  privacyUnit?: string;
  /** With `privacyUnit`: records counted per person, 1 to 2^20 (default 1); the noise scale grows in proportion. */
  maxRecordsPerUnit?: number;
  /** The generator; default: this thread's CSPRNG. A seeded (reproducible) Rng is for tests only, never for releases. */
  rng?: Rng;
}

/** The release of {@link dpContingencyTable}. */
export interface DpContingencyTable {
  /** The columns, in the order of the axes. */
  columns: string[];
  /** The domain of each column (axis). */
  domains: DomainValue[][];
  /** Domain sizes: counts is a row-major array of this shape (the last column varies fastest). */
  shape: number[];
  /** Noisy counts, non-negative integers: counts[sum_c index_c x stride_c] for the cell (domains[0][index_0], ...). */
  counts: Float64Array;
  /** The noise scale: the discrete Laplace scale b (epsilon = c/b), the discrete Gaussian sigma (rho = c^2/(2 sigma^2)), or the analytic Gaussian sigma for (epsilon, delta) and sensitivity c, c = records counted per person. */
  scale: number;
}

const MAX_COLUMNS = 16;
const MAX_CELLS = 2 ** 24;
const MAX_RECORDS = 2 ** 32 - 1;

function domainKey(value: unknown): string | undefined {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && !Number.isNaN(value))) return JSON.stringify([typeof value, String(value)]);
  return undefined;
}

/**
 * A noisy contingency table: the number of records in every cell of the cross product of the given
 * columns' public domains, with exact discrete noise (privkit/dp's samplers, integers throughout),
 * post-processed to non-negative integers.
 *
 * Privacy: neighbouring tables differ by adding or removing one record; that changes one cell by 1
 * (L1 and L2 sensitivity 1), so discrete Laplace noise of scale 1/epsilon gives epsilon-DP and
 * discrete Gaussian noise of sigma gives 1/(2 sigma^2)-zCDP (Canonne, Kamath, Steinke 2020), with no
 * floating-point caveat. Gaussian noise for a target (epsilon, delta) is calibrated by the analytic
 * Gaussian mechanism (Balle and Wang 2018; privkit/dp's analyticGaussianSigma) and drawn on
 * privkit/dp's secure lattice, whose rounding and sampler error are charged (as dpHistogram does),
 * then rounded to integers: Balle and Wang's sigma is for continuous noise, and the discrete Gaussian
 * at that sigma can exceed the delta (by 3.5% at epsilon 1, delta 1e-5; twice it at epsilon 16),
 * so the discrete sampler is used with rho only. With `privacyUnit`, neighbours differ by one person, whose at most
 * c = maxRecordsPerUnit counted records change the cells by at most c in L1 and in L2 (all may fall
 * in one cell): the scale is c/epsilon, sigma = c / sqrt(2 rho), or the analytic sigma for L2 sensitivity c. A record whose value in some column is outside that column's domain is not
 * counted (add null, or an 'other' value, to the domain to count them). The domains must be public,
 * fixed before looking at the data: a table with a cell only for the values that occur would reveal,
 * by its very keys, that someone has a rare value (releasing which keys exist leaks; Google's DP
 * partition selection pays a delta for that, this function does not need it).
 *
 * @param records - plain objects, one per person (at most 2^32 - 1).
 * @throws {PrivkitError} E_ARG when records is not an array of objects, opts is not an object or holds a key that is not an option, columns is not an array of 1 to 16 distinct strings, privacyUnit is not a string or a record's unit value is not a string, number (not NaN) or boolean, maxRecordsPerUnit is given without privacyUnit or is not an integer in [1, 2^20], a column has no domain or its domain is not an array of 1 or more distinct strings, numbers (not NaN), booleans or null, the table has more than 2^24 cells, noise is not 'laplace' or 'gaussian', the privacy parameters are not epsilon (Laplace), or rho or epsilon and delta (Gaussian), or are out of range, or opts.rng is not an Rng from createRng.
 * @throws {PrivkitError} E_NOT_READY before `await ready()`.
 *
 * @example
 * ```ts
 * import { ready } from 'privkit';
 * import { dpContingencyTable } from 'privkit/protect';
 * await ready();
 * const patients = [
 *   { sex: 'f', smoker: true },
 *   { sex: 'm', smoker: false },
 *   { sex: 'f', smoker: false },
 * ];
 * const table = dpContingencyTable(patients, {
 *   columns: ['sex', 'smoker'],
 *   domains: { sex: ['f', 'm'], smoker: [true, false] }, // public: never read off the data
 *   epsilon: 1,
 * });
 * console.log(table.shape, table.counts); // [2, 2], noisy counts of (f, true), (f, false), (m, true), (m, false)
 * ```
 */
export function dpContingencyTable(records: readonly object[], opts: ContingencyTableOptions): DpContingencyTable {
  const o = readOptions(opts, ['columns', 'domains', 'noise', 'epsilon', 'delta', 'rho', 'privacyUnit', 'maxRecordsPerUnit', 'rng'], 'opts', true);
  const columns = readArray('columns', o.columns, (name, v) => {
    if (typeof v !== 'string') throw new PrivkitError('E_ARG', `${name} must be a column name (a string), got ${describe(v)}`, { argument: 'columns' });
    return v;
  }, MAX_COLUMNS);
  if (columns.length === 0) throw new PrivkitError('E_ARG', 'columns must name at least one column', { argument: 'columns' });
  if (new Set(columns).size !== columns.length) throw new PrivkitError('E_ARG', 'columns must be distinct', { argument: 'columns' });
  if (o.domains === null || typeof o.domains !== 'object') throw new PrivkitError('E_ARG', `domains must be an object, got ${describe(o.domains)}`, { argument: 'domains' });
  const domains: DomainValue[][] = [];
  const lookups: Map<string, number>[] = [];
  let cells = 1;
  for (const column of columns) {
    const name = `domains.${column}`;
    const domain = readArray(name, (o.domains as Record<string, unknown>)[column], (n, v, i) => {
      if (domainKey(v) === undefined || v === undefined) throw new PrivkitError('E_ARG', `${n} must be a string, a number, a boolean or null, got ${describe(v)}`, { argument: name, index: i });
      return v as DomainValue;
    }, MAX_CELLS);
    const lookup = new Map<string, number>();
    domain.forEach((v, i) => lookup.set(domainKey(v)!, i));
    if (domain.length === 0) throw new PrivkitError('E_ARG', `${name} must hold at least one value`, { argument: name });
    if (lookup.size !== domain.length) throw new PrivkitError('E_ARG', `${name} must hold distinct values`, { argument: name });
    cells *= domain.length;
    if (cells > MAX_CELLS) throw new PrivkitError('E_ARG', `the table would have more than 2^24 cells`, { argument: 'domains' });
    domains.push(domain);
    lookups.push(lookup);
  }
  const noise = assertOneOf('noise', o.noise, ['laplace', 'gaussian'] as const, 'laplace');
  const guarantee = readGuarantee(noise, o);
  if (o.privacyUnit !== undefined && typeof o.privacyUnit !== 'string') {
    throw new PrivkitError('E_ARG', `privacyUnit must be a column name (a string), got ${describe(o.privacyUnit)}`, { argument: 'privacyUnit' });
  }
  if (o.privacyUnit === undefined && o.maxRecordsPerUnit !== undefined) throw new PrivkitError('E_ARG', 'maxRecordsPerUnit applies with privacyUnit only', { argument: 'maxRecordsPerUnit' });
  const perUnit = o.maxRecordsPerUnit === undefined ? 1 : assertInteger('maxRecordsPerUnit', o.maxRecordsPerUnit, 1, 2 ** 20);
  let scale: number;
  let latticeBits = 0; // the (epsilon, delta) path's granularity
  if (guarantee.kind === 'epsilon-delta') {
    // L2 sensitivity perUnit, in at most min(perUnit, cells) cells: the lattice rounding is charged for that many coordinates
    ({ sigma: scale, bits: latticeBits } = calibrateSecureGaussian(guarantee.epsilon, guarantee.delta, perUnit, Math.min(perUnit, cells)));
  } else {
    // every rounding is followed by nextUp, so the scale is at least the exact one and the guarantee at least the one asked for
    const unitScale = guarantee.kind === 'epsilon' ? nextUp(1 / guarantee.epsilon) : nextUp(nextUp(Math.sqrt(1 / (2 * guarantee.rho))));
    scale = perUnit === 1 ? unitScale : nextUp(perUnit * unitScale);
    if (!(scale <= MAX_DISCRETE_SCALE)) {
      throw new PrivkitError('E_ARG', `${guarantee.kind} ${guarantee.kind === 'epsilon' ? guarantee.epsilon : guarantee.rho} is too small: the noise scale would exceed 2^24`, { argument: guarantee.kind });
    }
  }
  const rng = generatorOf(o.rng);

  const counts = new Float64Array(cells);
  const rows = readArray('records', records, (name, record, i) => {
    if (record === null || typeof record !== 'object' || Array.isArray(record)) {
      throw new PrivkitError('E_ARG', `${name} must be an object, got ${describe(record)}`, { argument: 'records', index: i });
    }
    return record as Record<string, unknown>;
  }, MAX_RECORDS);
  const unit = o.privacyUnit;
  const counted = new Map<string, number>();
  for (const [i, record] of rows.entries()) {
    if (unit !== undefined) {
      const person = domainKey(record[unit]);
      if (person === undefined || record[unit] === null || record[unit] === undefined) {
        throw new PrivkitError('E_ARG', `records[${i}].${unit} must identify a person (a string, a number or a boolean), got ${describe(record[unit])}`, {
          argument: `records[${i}].${unit}`,
          index: i,
        });
      }
      const seen = counted.get(person) ?? 0;
      if (seen === perUnit) continue; // contribution bounding: the person's later records are not counted
      counted.set(person, seen + 1);
    }
    let cell = 0;
    for (let c = 0; c < columns.length && cell >= 0; c++) {
      const index = lookups[c]!.get(domainKey(record[columns[c]!]) ?? '');
      cell = index === undefined ? -1 : cell * domains[c]!.length + index;
    }
    if (cell >= 0) counts[cell]!++;
  }
  if (guarantee.kind === 'epsilon-delta') {
    // The lattice mechanism releases round_r(count) + N, N on rZ (src/dp/secure.ts); post-processing rounds
    // to integers >= 0. With r <= 1 an integer count is on the lattice and round(count + N) = count +
    // round(N) exactly: N is drawn for zero inputs and the counts added as integers, so no count meets
    // the sampler's exact range (2^52 r, below real counts once sigma < 2^-4: such counts used to be
    // capped silently). With r > 1 the counts go through the sampler, whose rounding to the lattice is
    // what the calibration charges for; its range, 2^52 r >= 2^53, exceeds every count.
    const onLattice = gaussianResolutionAt(scale, latticeBits) <= 1;
    const noisy = gaussianOnLattice(onLattice ? new Float64Array(cells) : counts, scale, latticeBits, { rng }).values;
    for (let i = 0; i < cells; i++) counts[i] = Math.max(0, onLattice ? counts[i]! + Math.round(noisy[i]!) : Math.round(noisy[i]!));
    noisy.fill(0);
  } else {
    const noiseValues = guarantee.kind === 'epsilon' ? discreteLaplace(cells, scale, { rng }) : discreteGaussian(cells, scale, { rng });
    // post-processing: a count below 0 is released as 0 (exact integers: counts and noise are below 2^53)
    for (let i = 0; i < cells; i++) counts[i] = Math.max(0, counts[i]! + noiseValues[i]!);
    noiseValues.fill(0);
  }
  return { columns, domains, shape: domains.map((d) => d.length), counts, scale };
}

type Guarantee = { kind: 'epsilon'; epsilon: number } | { kind: 'rho'; rho: number } | { kind: 'epsilon-delta'; epsilon: number; delta: number };

/** The privacy parameters of a contingency table: epsilon for Laplace noise; rho, or epsilon and delta, for Gaussian noise; nothing else. */
function readGuarantee(noise: 'laplace' | 'gaussian', o: { epsilon?: unknown; delta?: unknown; rho?: unknown }): Guarantee {
  if (noise === 'laplace') {
    for (const other of ['rho', 'delta'] as const) {
      if (o[other] !== undefined) throw new PrivkitError('E_ARG', `${other} does not apply to laplace noise (give epsilon)`, { argument: other });
    }
    if (o.epsilon === undefined) throw new PrivkitError('E_ARG', 'epsilon is required for laplace noise', { argument: 'epsilon' });
    return { kind: 'epsilon', epsilon: assertNumber('epsilon', o.epsilon, 'positive') };
  }
  if (o.rho !== undefined) {
    for (const other of ['epsilon', 'delta'] as const) {
      if (o[other] !== undefined) throw new PrivkitError('E_ARG', `give rho, or epsilon and delta, for gaussian noise, not both (${other} given with rho)`, { argument: other });
    }
    return { kind: 'rho', rho: assertNumber('rho', o.rho, 'positive') };
  }
  if (o.epsilon === undefined && o.delta === undefined) throw new PrivkitError('E_ARG', 'rho, or epsilon and delta, is required for gaussian noise', { argument: 'rho' });
  if (o.epsilon === undefined) throw new PrivkitError('E_ARG', 'epsilon is required with delta for gaussian noise', { argument: 'epsilon' });
  if (o.delta === undefined) throw new PrivkitError('E_ARG', 'delta is required with epsilon for gaussian noise', { argument: 'delta' });
  const epsilon = assertNumber('epsilon', o.epsilon, 'positive');
  const delta = assertNumber('delta', o.delta, 'positive');
  if (!(delta < 1)) throw new PrivkitError('E_ARG', `delta must be in (0, 1), got ${delta}`, { argument: 'delta' });
  return { kind: 'epsilon-delta', epsilon, delta };
}

/** Options of {@link dpQuantiles}. */
export interface QuantilesOptions {
  /** The quantiles to release, strictly increasing in [0, 1] (1 to 1024 of them), e.g. [0.25, 0.5, 0.75]. */
  quantiles: readonly number[];
  /** Public lower bound of the values (values below are clamped to it); finite, < upper, |lower| <= 2^960. */
  lower: number;
  /** Public upper bound of the values (values above are clamped to it). */
  upper: number;
  /** Privacy parameter epsilon of the whole release, split equally over the quantiles (each >= 2^-20). */
  epsilon: number;
  /** Intervals of the public output grid over [lower, upper] (1 to 2^32); default 65,536. Released quantiles are grid points. */
  steps?: number;
  /** The generator; default: this thread's CSPRNG. A seeded (reproducible) Rng is for tests only, never for releases. */
  rng?: Rng;
}

const DEFAULT_STEPS = 2 ** 16;
const MAX_QUANTILES = 1024;
/**
 * Sensitivity charged for the float64 scores: with n <= 2^32 records the rounded target rank q n
 * and the rounded distances move by at most 1 + 2^-17 between neighbours, and the rounding of the
 * log-weights (factor x distance, log of a run length) costs below 2^-18 epsilon more for epsilon >= 2^-20.
 */
const SCORE_SENSITIVITY = 1 + 2 ** -15;

/**
 * Differentially private quantiles by the exponential mechanism (Smith 2011, "Privacy-preserving
 * statistical estimation with optimal convergence rates"; the approach of Google's DP library):
 * values are clamped to the public [lower, upper] and snapped to a public grid of `steps`
 * intervals; every grid point y is a candidate with utility -dist(q n, [#values < y, #values <= y]),
 * which moves by at most 1 when one record is added or removed; a point is chosen with probability
 * proportional to exp(epsilon_q x utility / 2), by runs of equal utility (each run weighted by its
 * length, then a uniform point in the run). Each of m quantiles gets epsilon / m (sequential
 * composition; Gillenwater et al. 2021's JointExp would share it better), so the release is
 * epsilon-DP under add/remove neighbours; the results are sorted (post-processing) to be monotone.
 *
 * Floating point: outputs are grid points, a public finite set, so no output is porous (the
 * continuous version releases a uniform draw between two data values, whose low-order bits depend
 * on them: Mironov 2012). The selection uses the full-precision Gumbel-max sampler of
 * privkit/dp's exponentialMechanism, and the rounding of the scores is charged as a sensitivity of
 * 1 + 2^-15; what float arithmetic leaves (relative errors of a few ulps in the selection
 * probabilities) is documented there.
 *
 * @param values - one value per person (at most 2^28); +-Infinity is clamped, NaN refused.
 * @throws {PrivkitError} E_ARG when values is not an array of numbers, opts is not an object or holds a key that is not an option, quantiles is not 1 to 1024 strictly increasing numbers in [0, 1], lower and upper are not finite with lower < upper and magnitudes <= 2^960, epsilon is not finite with epsilon / quantiles.length >= 2^-20, steps is not an integer in [1, 2^32], or opts.rng is not an Rng from createRng.
 * @throws {PrivkitError} E_NONFINITE when a value is NaN (`index` names it).
 * @throws {PrivkitError} E_NOT_READY before `await ready()`.
 *
 * @example
 * ```ts
 * import { ready } from 'privkit';
 * import { dpQuantiles } from 'privkit/protect';
 * await ready();
 * const incomes = [31_000, 42_500, 28_000, 95_000, 51_000, 38_000];
 * const [q1, median, q3] = dpQuantiles(incomes, { quantiles: [0.25, 0.5, 0.75], lower: 0, upper: 200_000, epsilon: 1, steps: 2000 });
 * ```
 */
export function dpQuantiles(values: ArrayLike<number>, opts: QuantilesOptions): Float64Array {
  const o = readOptions(opts, ['quantiles', 'lower', 'upper', 'epsilon', 'steps', 'rng'], 'opts', true);
  const quantiles = readNumbers('quantiles', o.quantiles, { min: 0, max: 1 }, MAX_QUANTILES);
  if (quantiles.length === 0) throw new PrivkitError('E_ARG', 'quantiles must hold at least one quantile', { argument: 'quantiles' });
  for (let i = 1; i < quantiles.length; i++) {
    if (!(quantiles[i]! > quantiles[i - 1]!)) throw new PrivkitError('E_ARG', `quantiles must be strictly increasing (quantiles[${i}] = ${quantiles[i]})`, { argument: 'quantiles', index: i });
  }
  const lower = assertNumber('lower', o.lower);
  const upper = assertNumber('upper', o.upper);
  if (Math.abs(lower) > 2 ** 960) throw new PrivkitError('E_ARG', `|lower| must be <= 2^960, got ${lower}`, { argument: 'lower' });
  if (Math.abs(upper) > 2 ** 960) throw new PrivkitError('E_ARG', `|upper| must be <= 2^960, got ${upper}`, { argument: 'upper' });
  if (!(lower < upper)) throw new PrivkitError('E_ARG', `lower (${lower}) must be < upper (${upper})`, { argument: 'upper' });
  const epsilon = assertNumber('epsilon', o.epsilon, 'positive');
  const perQuantile = epsilon / quantiles.length;
  if (!(perQuantile >= 2 ** -20)) throw new PrivkitError('E_ARG', `epsilon / quantiles.length must be >= 2^-20, got ${perQuantile}`, { argument: 'epsilon' });
  const steps = o.steps === undefined ? DEFAULT_STEPS : assertInteger('steps', o.steps, 1, 2 ** 32);
  const rng = generatorOf(o.rng);
  const x = readNumbers('values', values, { finite: false });

  // snap each clamped value to its nearest grid point 0..steps (a per-record map: neighbours stay neighbours)
  const width = upper - lower;
  const grid = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const clamped = Math.min(upper, Math.max(lower, x[i]!));
    grid[i] = Math.min(steps, Math.max(0, Math.round(((clamped - lower) / width) * steps)));
  }
  grid.sort();
  const runs = equalRankRuns(grid, steps);
  const released = new Float64Array(quantiles.length);
  const logWeights = new Float64Array(runs.start.length);
  const factor = perQuantile / (2 * SCORE_SENSITIVITY);
  quantiles.forEach((q, k) => {
    const target = q * grid.length;
    for (let r = 0; r < logWeights.length; r++) {
      const distance = Math.max(runs.below[r]! - target, target - runs.atMost[r]!, 0);
      logWeights[r] = Math.log(runs.length[r]!) - factor * distance;
    }
    const r = gumbelArgmax(logWeights, rng);
    const point = runs.start[r]! + uniformBelow(1, runs.length[r]!, { rng })[0]!;
    released[k] = point === steps ? upper : lower + (width * point) / steps;
  });
  return released.sort();
}

/**
 * The grid points 0..steps in maximal runs of equal (#values < y, #values <= y): the gaps between
 * the distinct sorted grid values and those values themselves.
 */
function equalRankRuns(sorted: Float64Array, steps: number): { start: number[]; length: number[]; below: number[]; atMost: number[] } {
  const runs = { start: [] as number[], length: [] as number[], below: [] as number[], atMost: [] as number[] };
  const push = (start: number, length: number, below: number, atMost: number) => {
    if (length <= 0) return;
    runs.start.push(start);
    runs.length.push(length);
    runs.below.push(below);
    runs.atMost.push(atMost);
  };
  let next = 0; // first grid point not yet in a run
  let i = 0;
  while (i < sorted.length) {
    const v = sorted[i]!;
    let j = i;
    while (j < sorted.length && sorted[j] === v) j++;
    push(next, v - next, i, i);
    push(v, 1, i, j);
    next = v + 1;
    i = j;
  }
  push(next, steps + 1 - next, sorted.length, sorted.length);
  return runs;
}
