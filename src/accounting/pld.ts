// Privacy loss distributions of the Poisson-subsampled Gaussian, discretized on a uniform grid and
// composed by FFT (Koskela, Jalko, Honkela 2020; Gopi, Lee, Wutschitz 2021; Doroshenko et al. 2022).
//
// Both neighbouring directions are tracked: "remove" (loss Y = log(P/Q) under P = (1-q) N(0, s^2) + q N(1, s^2),
// Q = N(0, s^2)) and "add" (loss log(Q/P) under Q). Each step's loss, its far tails dropped, is rounded
// to the nearest grid point j h (|Y~ - Y| <= h/2, coupled per step). The rounding's mean b = E[Y~ - Y]
// is known, since the mean of Y is a KL divergence integrated to full precision, so the composed
// lattice is shifted by -K b; by Hoeffding the K centred rounding errors then exceed
// s = h sqrt(K log(1/d_H) / 2) only with probability d_H (Gopi et al. 2021). With t = s + (the uncertainty of K b):
//   delta(eps) <= delta~(eps - t) + d_H + K P(a step leaves the grid) + P(the sum leaves the FFT window) + (rounding),
// where delta~ is the hockey-stick divergence of the discrete composition. The window is sized with a
// Chernoff bound from the RDP and Hoeffding again. When the precision asked for needs more than
// MAX_FFT_LENGTH cells the grid is coarsened, so t grows and the bound stays valid, only looser; when
// no grid can hold the composition at all, the result says so (delta 1, epsilon Infinity).
// Floating-point error is bounded explicitly and added to delta: the forward FFT's rounding, which the
// K-th power multiplies by up to K (so the frequencies where that matters are recomputed in
// double-double), the inverse FFT's, the pmf's own (also multiplied by K), and the tail sums'.
import { PrivkitError } from '../errors.js';
import { accurateDft, accuratePower, fft, twiddles } from './fft.js';
import { DEFAULT_ORDERS, logLossExpectation, rdpPoissonGaussian } from './rdp.js';
import { logAdd, logSub, MAX_QUADRATURE_NODES, normalCdf as phi } from '../math/special.js';

export interface PldGroup {
  sampleRate: number;
  noiseMultiplier: number;
  steps: number;
}

/** The composed discrete loss distribution of one direction. */
interface Direction {
  /** Loss of cell 0: cell i holds the (bias-corrected) composed loss x0 + i h. */
  x0: number;
  /** tailMass[i] = sum of p_m for m >= i; tailWeighted[i] = sum of p_m e^{-(m - i) h} (both 0 at i = n). */
  tailMass: Float64Array;
  tailWeighted: Float64Array;
  /** Relative rounding error of the tail sums, charged by inflating tailMass. */
  tailError: number;
  /** The epsilon shift t: the Hoeffding margin plus the uncertainty of the bias correction. */
  epsilonShift: number;
  /** The delta added: Hoeffding, steps leaving the grid, mass beyond the window, floating-point error. */
  deltaSlack: number;
}

export interface ComposedPld {
  /** Grid spacing. */
  h: number;
  /** The largest epsilon shift of the directions (the margin the upper bound adds to the estimate). */
  epsilonShift: number;
  /** Empty when no grid of at most MAX_FFT_LENGTH cells holds the composition: then there is no bound. */
  directions: Direction[];
}

/** The largest FFT length (2^22 points, 32 MiB per array); beyond it the grid gets coarser and the error bound grows. */
const MAX_FFT_LENGTH = 1 << 22;
/** One step's discretized loss may span at most this many grid cells (it wraps around the window harmlessly). */
const MAX_STEP_CELLS = 4 * MAX_FFT_LENGTH;
/** The most (frequency, step cell) pairs per group recomputed in double-double (about a second of work). */
const MAX_REFINEMENT_WORK = 1 << 22;
/** Rounds of coarsening the grid until the window fits (each round sizes it for the previous round's bias bound). */
const MAX_SIZING_ROUNDS = 8;
const UNIT_ROUNDOFF = Number.EPSILON / 2;
/**
 * Error of one radix-2 butterfly relative to the magnitudes of its inputs: eta = mu + gamma_4 (sqrt(2) + mu)
 * (Higham 2002, Sec. 24.1) with twiddles accurate to mu = 8u, rounded up.
 */
const FFT_ETA = 16 * UNIT_ROUNDOFF;
const NO_BOUND: ComposedPld = Object.freeze({ h: Number.NaN, epsilonShift: Number.POSITIVE_INFINITY, directions: [] });

/** One step's loss distribution in one direction, before discretization. */
interface StepModel {
  q: number;
  sigma: number;
  steps: number;
  remove: boolean;
  /** The losses beyond which each mixture component has at most e^logStepTail mass on either side. */
  lo: number;
  hi: number;
  /** E[Y] (the KL divergence), or undefined where its quadrature would be too long (tiny sigma). */
  mean: number | undefined;
  /** Bound on |computed - exact| of `mean` plus |E[Y; Y off the grid]|. */
  meanError: number;
}

/** One step's loss at z: log(1 - q + q e^{(2z - 1) / (2 sigma^2)}). */
function lossAt(q: number, sigma: number, z: number): number {
  const linear = (2 * z - 1) / (2 * sigma) / sigma;
  return q < 1 ? logAdd(Math.log1p(-q), Math.log(q) + linear) : linear;
}

/** CDF and survival function of one step's loss at y, for the given direction. */
function lossCdf(q: number, sigma: number, remove: boolean, y: number): [number, number] {
  const log1mQ = Math.log1p(-q);
  const u = remove ? y : -y;
  if (q < 1 && u <= log1mQ) return remove ? [0, 1] : [1, 0];
  // z at which the loss log(1 - q + q e^{(2z - 1) / (2 sigma^2)}) equals u.
  const z = sigma * sigma * (q < 1 ? logSub(u, log1mQ) - Math.log(q) : u) + 0.5;
  if (!remove) return [phi(-z / sigma), phi(z / sigma)];
  return [(1 - q) * phi(z / sigma) + q * phi((z - 1) / sigma), (1 - q) * phi(-z / sigma) + q * phi((1 - z) / sigma)];
}

/** log of L e^L - e^L + 1 = sum_{k >= 2} (k - 1) L^k / k! >= 0: E_Q of it at L = log(P/Q) is KL(P || Q). */
function logRemoveMeanIntegrand(L: number): number {
  if (Math.abs(L) <= 1) {
    let power = L;
    let sum = 0;
    for (let k = 2; k <= 30; k++) {
      power *= L / k;
      sum += (k - 1) * power;
    }
    return Math.log(sum);
  }
  return L < 700 ? Math.log(L * Math.exp(L) - Math.expm1(L)) : L + Math.log(L - 1 + Math.exp(-L));
}

/** log of e^L - 1 - L = sum_{k >= 2} L^k / k! >= 0: E_Q of it at L = log(P/Q) is KL(Q || P). */
function logAddMeanIntegrand(L: number): number {
  if (Math.abs(L) <= 1) {
    let power = L;
    let sum = 0;
    for (let k = 2; k <= 30; k++) {
      power *= L / k;
      sum += power;
    }
    return Math.log(sum);
  }
  return L < 700 ? Math.log(Math.expm1(L) - L) : L + Math.log1p(-(1 + L) * Math.exp(-L));
}

/**
 * The mean of one step's loss: KL(P || Q) for remove, KL(Q || P) for add, as E_{z ~ N(0, sigma^2)} of a
 * non-negative integrand (no cancellation) growing like e^{2 w} at most. Undefined when its quadrature
 * would take too many nodes (tiny sigma).
 */
function lossMean(q: number, sigma: number, remove: boolean): { mean: number; error: number } | undefined {
  if (q === 1) return { mean: 1 / (2 * sigma) / sigma, error: (4 * UNIT_ROUNDOFF) / (2 * sigma) / sigma };
  const logMean = logLossExpectation(q, sigma, 2, remove ? logRemoveMeanIntegrand : logAddMeanIntegrand);
  if (logMean === undefined) return undefined;
  const mean = Math.exp(logMean);
  // The sum's rounding (a few ulps per node, all terms positive) and the integrand's, relative.
  return { mean, error: (2 * MAX_QUADRATURE_NODES + 40) * UNIT_ROUNDOFF * mean };
}

/** E[|Z|; Z < -c] + E[|Z|; Z > d] and P(Z < -c) + P(Z > d) for Z ~ N(m, sigma^2), with c, d >= 0. */
function gaussianTails(m: number, sigma: number, c: number, d: number): { absMoment: number; mass: number } {
  const density = (x: number) => Math.exp((-x * x) / 2) / Math.sqrt(2 * Math.PI);
  const below = phi((-c - m) / sigma);
  const above = phi((m - d) / sigma);
  return {
    absMoment: -m * below + sigma * density((c + m) / sigma) + m * above + sigma * density((d - m) / sigma),
    mass: below + above,
  };
}

/**
 * One step's loss range, mean and the mean's uncertainty in one direction. The tails dropped at z = -zc
 * and z = 1 + zc (remove) or +-zc (add) have mass <= e^logStepTail per component and side
 * (Phi(-x) <= e^{-x^2/2} / 2); their share of the mean is bounded with |Y| <= |w| = |2z - 1| / (2 sigma^2).
 */
function stepModel(group: PldGroup, remove: boolean, logStepTail: number): StepModel {
  const q = group.sampleRate;
  const sigma = group.noiseMultiplier;
  const zc = sigma * Math.sqrt(2 * (-logStepTail - Math.LN2));
  const lo = remove ? lossAt(q, sigma, -zc) : -lossAt(q, sigma, zc);
  const hi = remove ? lossAt(q, sigma, 1 + zc) : -lossAt(q, sigma, -zc);
  const upperCut = remove ? 1 + zc : zc;
  const components = remove ? [[1 - q, 0], [q, 1]] : [[1, 0]];
  let tailMean = 0;
  for (const [weight, centre] of components) {
    if (weight === 0) continue;
    const { absMoment, mass } = gaussianTails(centre!, sigma, zc, upperCut);
    tailMean += weight! * ((2 * absMoment + mass) / (2 * sigma) / sigma);
  }
  const mean = lossMean(q, sigma, remove);
  return {
    q,
    sigma,
    steps: group.steps,
    remove,
    lo,
    hi,
    mean: mean?.mean,
    meanError: (mean?.error ?? 0) + tailMean,
  };
}

/**
 * Bound on |E[Y~ - Y | on grid] - estimate| before discretizing (the on-grid mass is >= 1/2), or h/2 when
 * the mean is unknown (then the estimate is 0): the rounding of the moments' sums is at most
 * 8u (max |Y~| + h), since the masses are summed with compensation and err by at most 8u in total.
 */
function biasBound(model: StepModel, h: number): number {
  if (model.mean === undefined) return h / 2;
  return 2 * (model.meanError + 8 * UNIT_ROUNDOFF * (Math.max(Math.abs(model.lo), Math.abs(model.hi)) + h));
}

/** One step's discretized loss: masses[k] is the probability that the rounded loss is (first + k) h. */
interface StepPmf {
  first: number;
  masses: Float64Array;
  /** Mass beyond the cut-offs, left off the grid. */
  offGrid: number;
  /** E[Y~ - Y | on grid] (estimated) and a bound on the estimate's error. */
  bias: number;
  biasError: number;
  /** Bound on the L1 error of `masses`. */
  massError: number;
}

/**
 * Discretizes one step's loss onto the grid. Rounding errors of the CDFs only move the bin edges (each
 * edge's CDF is computed once and the masses are differences of it), except where the masses switch from
 * CDF to survival-function differences and where a tiny negative difference is clamped to 0: those, and
 * the masses' own rounding, count as mass error.
 */
function discretize(model: StepModel, h: number): StepPmf {
  const { q, sigma, remove } = model;
  const first = Math.floor(model.lo / h);
  const masses = new Float64Array(Math.ceil(model.hi / h) - first + 1);
  let [cdfPrev, survPrev] = lossCdf(q, sigma, remove, (first - 0.5) * h);
  const offGridLow = cdfPrev;
  let massError = 8 * UNIT_ROUNDOFF;
  let total = 0;
  // Neumaier-compensated sum of j h m_j.
  let moment = 0;
  let momentCompensation = 0;
  for (let k = 0; k < masses.length; k++) {
    const j = first + k;
    const [cdf, surv] = lossCdf(q, sigma, remove, (j + 0.5) * h);
    let mass = cdf <= 0.5 ? cdf - cdfPrev : survPrev - surv;
    if (mass < 0) {
      massError -= mass;
      mass = 0;
    }
    masses[k] = mass;
    total += mass;
    const term = j * h * mass;
    const sum = moment + term;
    momentCompensation += Math.abs(moment) >= Math.abs(term) ? moment - sum + term : term - sum + moment;
    moment = sum;
    cdfPrev = cdf;
    survPrev = surv;
  }
  const offGrid = offGridLow + survPrev;
  if (model.mean === undefined) return { first, masses, offGrid, bias: 0, biasError: h / 2, massError };
  const bias = (moment + momentCompensation - model.mean) / total;
  const roundingError = 8 * UNIT_ROUNDOFF * (Math.max(Math.abs(model.lo), Math.abs(model.hi)) + h) + Math.abs(bias) * massError;
  return { first, masses, offGrid, bias, biasError: (model.meanError + roundingError) / (total - massError), massError };
}

/** Adds a step's masses into `out` circularly (loss j h at index j mod n). */
function place(pmf: StepPmf, out: Float64Array): void {
  const n = out.length;
  let index = ((pmf.first % n) + n) % n;
  for (let k = 0; k < pmf.masses.length; k++) {
    out[index] += pmf.masses[k]!;
    index = index === n - 1 ? 0 : index + 1;
  }
}

/**
 * z^k for complex z = (re, im) in polar form, and a bound on its error when |z - exact| <= inputError and
 * |exact| <= 1: k max(|z|, |exact|)^(k-1) inputError (mean value theorem) plus the rounding of the polar
 * form (log r and the angle each err by ~1 ulp, multiplied by k).
 */
function complexPower(re: number, im: number, k: number, inputError: number): [number, number, number] {
  const r = Math.sqrt(re * re + im * im);
  const propagated = amplification(r, k, inputError) * inputError;
  const logR = Math.log(r);
  if (!(k * logR > -750)) return [0, 0, propagated];
  const magnitude = Math.exp(k * logR);
  const angle = k * Math.atan2(im, re);
  const rounding = magnitude * UNIT_ROUNDOFF * (8 + k * (Math.abs(logR) + 4 * Math.PI));
  return [magnitude * Math.cos(angle), magnitude * Math.sin(angle), propagated + rounding];
}

/** k max(r, |exact|)^(k-1) for |exact| <= min(1, r + inputError): how much the k-th power magnifies an input error. */
function amplification(r: number, k: number, inputError: number): number {
  return k * Math.exp((k - 1) * Math.log(Math.min(1, r + inputError)));
}

/** min over orders of rdp + log(1/tail)/(alpha - 1): P(loss >= x) <= e^logTail at x above it (Chernoff with the RDP). */
function chernoffUpper(groups: readonly PldGroup[], logTail: number): number {
  let best = Number.POSITIVE_INFINITY;
  for (const alpha of DEFAULT_ORDERS) {
    const rdp = groups.reduce((r, g) => r + g.steps * rdpPoissonGaussian(g.sampleRate, g.noiseMultiplier, alpha), 0);
    best = Math.min(best, rdp - logTail / (alpha - 1));
  }
  return best;
}

function checkGroups(groups: readonly PldGroup[]): number {
  if (!Array.isArray(groups) || groups.length === 0) {
    throw new PrivkitError('E_ARG', 'groups must be a non-empty array', { argument: 'groups' });
  }
  let total = 0;
  for (const g of groups) {
    if (!(g.sampleRate > 0 && g.sampleRate <= 1)) throw new PrivkitError('E_ARG', `sampleRate must be in (0, 1], got ${g.sampleRate}`, { argument: 'sampleRate' });
    if (!(g.noiseMultiplier > 0 && Number.isFinite(g.noiseMultiplier))) {
      throw new PrivkitError('E_ARG', `noiseMultiplier must be finite and > 0, got ${g.noiseMultiplier}`, { argument: 'noiseMultiplier' });
    }
    if (!(Number.isSafeInteger(g.steps) && g.steps >= 1)) throw new PrivkitError('E_ARG', `steps must be a positive integer, got ${g.steps}`, { argument: 'steps' });
    total += g.steps;
  }
  if (!Number.isSafeInteger(total)) throw new PrivkitError('E_ARG', `the groups compose ${total} steps, more than 2^53`, { argument: 'steps' });
  return total;
}

/**
 * Composes the groups (every sigma > 0) with the Hoeffding margin `epsilonError` (in epsilon units; the grid
 * is coarsened, and the margin grows, when it would need more than MAX_FFT_LENGTH cells) and a delta
 * budget `deltaError` for the probabilistic slack, to which the floating-point bounds are added.
 */
export function composePld(groups: readonly PldGroup[], epsilonError: number, deltaError: number): ComposedPld {
  const totalSteps = checkGroups(groups);
  if (!(epsilonError > 0 && Number.isFinite(epsilonError))) {
    throw new PrivkitError('E_ARG', `epsilonError must be finite and > 0, got ${epsilonError}`, { argument: 'epsilonError' });
  }
  if (!(deltaError >= 0 && deltaError < 1)) throw new PrivkitError('E_ARG', `deltaError must be in [0, 1), got ${deltaError}`, { argument: 'deltaError' });
  // A budget of 0 (a delta that underflowed) becomes the smallest double: every delta then reported
  // carries at least that much slack, so it stays an upper bound.
  const logBudget = Math.log(Math.max(deltaError, Number.MIN_VALUE));
  // Shares of the budget: 1/2 for the Hoeffding bound of the shift, 1/8 for the Hoeffding bound of the
  // window, 1/8 for the Chernoff tail beyond it, 1/8 for the steps leaving the grid (1/16 per side).
  const logShiftFailure = logBudget - Math.LN2;
  const logTail = logBudget - 3 * Math.LN2;
  const logStepTail = logBudget - 4 * Math.LN2 - Math.log(totalSteps);
  const shiftCells = Math.sqrt((totalSteps * -logShiftFailure) / 2);
  // The composed rounding error exceeds this many cells with probability <= e^logTail (Hoeffding), and never K.
  const windowCells = Math.min(totalSteps, Math.sqrt((totalSteps * -logTail) / 2));
  const upper = chernoffUpper(groups, logTail);
  if (!(upper < Number.POSITIVE_INFINITY)) return NO_BOUND;
  const models = groups.flatMap((g) => [stepModel(g, true, logStepTail), stepModel(g, false, logStepTail)]);
  const stepRange = Math.max(...models.map((m) => m.hi - m.lo));
  if (!Number.isFinite(stepRange)) return NO_BOUND;

  // Window [logTail - margin, upper + margin] for margin = windowCells h + (bias uncertainty), plus a cell.
  let h = Math.max(epsilonError / shiftCells, stepRange / (MAX_STEP_CELLS - 2));
  let uncertainty = Number.NaN;
  let cells = Number.POSITIVE_INFINITY;
  for (let round = 0; round < MAX_SIZING_ROUNDS && !(cells <= MAX_FFT_LENGTH); round++) {
    const directionUncertainty = (remove: boolean) =>
      models.filter((m) => m.remove === remove).reduce((sum, m) => sum + m.steps * biasBound(m, h), 0);
    uncertainty = Math.max(directionUncertainty(true), directionUncertainty(false));
    cells = Math.ceil((upper - logTail + 2 * uncertainty) / h) + 2 * Math.ceil(windowCells) + 3;
    if (cells > MAX_FFT_LENGTH) {
      const spare = MAX_FFT_LENGTH - 2 * Math.ceil(windowCells) - 4;
      if (spare <= 0) return NO_BOUND;
      h = Math.max(h * (1 + 1e-9), (upper - logTail + 2 * uncertainty) / spare);
    }
  }
  if (!(cells <= MAX_FFT_LENGTH && h > 0 && Number.isFinite(h))) return NO_BOUND;
  let n = 1;
  while (n < cells) n *= 2;

  const composed = composeSpectra(models, h, n, Math.exp(logBudget) / 16);
  const shift = h * shiftCells;
  const lowest = logTail - windowCells * h - uncertainty;
  const directions = [0, 1].map((d): Direction => {
    const bias = composed.bias[d]!;
    // Cell i holds lattice point (start + i) h, moved by -bias to the bias-corrected loss.
    const start = Math.ceil((lowest + bias) / h);
    const { tailMass, tailWeighted } = tails(d === 0 ? composed.re : composed.im, start, h);
    return {
      x0: start * h - bias,
      tailMass,
      tailWeighted,
      // The W recursion multiplies by a rounded e^-h up to min(n, 1/(e h)) effective times; T is compensated.
      tailError: 3 * UNIT_ROUNDOFF * (2 + Math.min(n, 1 / (Math.E * h))),
      epsilonShift: shift + composed.biasError[d]!,
      deltaSlack: Math.exp(logShiftFailure) + 2 * Math.exp(logTail) + composed.offGrid[d]! + composed.roundingMass[d]!,
    };
  });
  return { h, epsilonShift: Math.max(...directions.map((d) => d.epsilonShift)), directions };
}

/**
 * The K-fold compositions of every group's discretized step in both directions, by one complex FFT per
 * group (remove in the real part, add in the imaginary part) and one inverse FFT. Returns n times the
 * composed pmfs (circularly), the summed biases and their uncertainties, the mass lost off the grid, and
 * the L1 bound on the pmfs' floating-point error, per direction [remove, add]. The frequencies whose
 * K-fold power would carry more than `fpTarget` of error in total are recomputed in double-double.
 */
function composeSpectra(models: readonly StepModel[], h: number, n: number, fpTarget: number) {
  const table = twiddles(n);
  const log2n = Math.log2(n);
  const accPr = new Float64Array(n).fill(1);
  const accPi = new Float64Array(n);
  const accQr = new Float64Array(n).fill(1);
  const accQi = new Float64Array(n);
  // error[f] bounds |accP[f] - exact| + |accQ[f] - exact|.
  const error = new Float64Array(n);
  const bias = [0, 0];
  const biasError = [0, 0];
  const offGrid = [0, 0];
  const roundingMass = [0, 0];
  for (let g = 0; g < models.length; g += 2) {
    const k = models[g]!.steps;
    const pmfs = [discretize(models[g]!, h), discretize(models[g + 1]!, h)];
    const re = new Float64Array(n);
    const im = new Float64Array(n);
    place(pmfs[0]!, re);
    place(pmfs[1]!, im);
    for (let d = 0; d < 2; d++) {
      bias[d] += k * pmfs[d]!.bias;
      biasError[d] += k * pmfs[d]!.biasError;
      offGrid[d] += k * pmfs[d]!.offGrid;
      // The K-fold convolution of pmfs with L1 error e errs by at most K e in L1.
      roundingMass[d] += k * pmfs[d]!.massError;
    }
    fft(re, im, table);
    // Each output of the forward FFT errs by at most log2(n) eta ||input||_1 (||input||_1 <= 2); splitting it
    // into the two spectra halves that and adds a rounding. P_f = (X_f + conj X_{n-f}) / 2, Q_f = (X_f - conj X_{n-f}) / 2i.
    const spectrumError = 2 * log2n * FFT_ETA + UNIT_ROUNDOFF;
    const spectrum = (f: number): [number, number, number, number] => {
      const m = (n - f) & (n - 1);
      return [(re[f]! + re[m]!) / 2, (im[f]! - im[m]!) / 2, (im[f]! + im[m]!) / 2, (re[m]! - re[f]!) / 2];
    };
    // What the K-th power makes of the FFT's rounding at f (the same at f and n - f, whose spectra are conjugate).
    const powerError = (f: number) => {
      const [pr, pi, qr, qi] = spectrum(f);
      return (amplification(Math.sqrt(pr * pr + pi * pi), k, spectrumError) + amplification(Math.sqrt(qr * qr + qi * qi), k, spectrumError)) * spectrumError;
    };
    const threshold = refinementThreshold(powerError, n, pmfs[0]!.masses.length + pmfs[1]!.masses.length, fpTarget);
    const refined = new Map<number, [number, number, number, number, number, number]>();
    for (let f = 0; f < n; f++) {
      let [pr, pi, qr, qi] = spectrum(f);
      let pErr: number;
      let qErr: number;
      const mirror = refined.get(n - f);
      const accurate = mirror ?? (threshold < Number.POSITIVE_INFINITY && f <= n / 2 && powerError(f) >= threshold ? refinedPowers(pmfs, f, n, k) : undefined);
      if (accurate !== undefined) {
        if (mirror === undefined) refined.set(f, accurate);
        const sign = mirror === undefined ? 1 : -1;
        [pr, pi, pErr, qr, qi, qErr] = [accurate[0], sign * accurate[1], accurate[2], accurate[3], sign * accurate[4], accurate[5]];
      } else {
        [pr, pi, pErr] = complexPower(pr, pi, k, spectrumError);
        [qr, qi, qErr] = complexPower(qr, qi, k, spectrumError);
      }
      const aP = Math.sqrt(accPr[f]! * accPr[f]! + accPi[f]! * accPi[f]!);
      const aQ = Math.sqrt(accQr[f]! * accQr[f]! + accQi[f]! * accQi[f]!);
      const fP = Math.sqrt(pr * pr + pi * pi);
      const fQ = Math.sqrt(qr * qr + qi * qi);
      error[f] = error[f]! * Math.max(fP + pErr, fQ + qErr) + aP * pErr + aQ * qErr + 4 * UNIT_ROUNDOFF * (aP * fP + aQ * fQ);
      [accPr[f], accPi[f]] = [accPr[f]! * pr - accPi[f]! * pi, accPr[f]! * pi + accPi[f]! * pr];
      [accQr[f], accQi[f]] = [accQr[f]! * qr - accQi[f]! * qi, accQr[f]! * qi + accQi[f]! * qr];
    }
  }
  // Inverse of (remove spectrum) + i (add spectrum): real part = n x remove pmf, imaginary part = n x add pmf.
  // With x = IFFT(Z) / n, sum |error of x| <= ||error of Z||_2, and the inverse FFT adds log2(n) eta ||Z||_2.
  let errorSquares = 0;
  let normSquares = 0;
  for (let f = 0; f < n; f++) {
    errorSquares += error[f]! * error[f]!;
    const z = Math.sqrt(accPr[f]! * accPr[f]! + accPi[f]! * accPi[f]!) + Math.sqrt(accQr[f]! * accQr[f]! + accQi[f]! * accQi[f]!);
    normSquares += z * z;
    const r = accPr[f]! - accQi[f]!;
    accPi[f] = accPi[f]! + accQr[f]!;
    accPr[f] = r;
  }
  fft(accPr, accPi, table, true);
  const fftMass = (Math.sqrt(errorSquares) + log2n * FFT_ETA * Math.sqrt(normSquares)) * (1 + 1e-6);
  return {
    re: accPr,
    im: accPi,
    bias,
    biasError,
    offGrid,
    roundingMass: roundingMass.map((r) => r + fftMass),
  };
}

/**
 * The smallest power error that gets a double-double recomputation: the largest errors are recomputed
 * until the rest sum (in quadrature, as they enter the bound) to at most `target`, or until the work
 * (frequencies x steps' cells) would exceed MAX_REFINEMENT_WORK. Chosen from a histogram of log2(error)
 * over f <= n/2; Infinity when nothing needs it.
 */
function refinementThreshold(powerError: (f: number) => number, n: number, cells: number, target: number): number {
  const offset = 1100;
  const counts = new Float64Array(offset + 64);
  const squares = new Float64Array(offset + 64);
  let total = 0;
  for (let f = 0; f <= n / 2; f++) {
    const e = powerError(f);
    if (!(e > 0)) continue;
    const bucket = Math.min(offset + 63, Math.max(0, Math.floor(Math.log2(e)) + offset));
    // Frequencies below n/2 stand for two (f and n - f).
    const weight = f === 0 || f === n / 2 ? 1 : 2;
    counts[bucket] += 1;
    squares[bucket] += weight * e * e;
    total += weight * e * e;
  }
  let threshold = Number.POSITIVE_INFINITY;
  let count = 0;
  for (let bucket = offset + 63; bucket >= 0 && total > target * target; bucket--) {
    if (counts[bucket] === 0) continue;
    // Each frequency also costs a few hundred cells' worth of fixed work (roots of unity, the power).
    if ((count + counts[bucket]!) * (cells + 512) > MAX_REFINEMENT_WORK) break;
    count += counts[bucket]!;
    total -= squares[bucket]!;
    threshold = 2 ** (bucket - offset);
  }
  return threshold;
}

/**
 * P_f^k and Q_f^k from double-double DFTs of the two directions' step pmfs, each with its error bound
 * (the DFT's ~2^-100 relative error, magnified k times, plus the final rounding); undefined where the
 * double-double power does not apply (|P_f - 1| or |Q_f - 1| >= 1/2, where the power is small anyway).
 */
function refinedPowers(pmfs: readonly StepPmf[], f: number, n: number, k: number): [number, number, number, number, number, number] | undefined {
  const result: number[] = [];
  for (const pmf of pmfs) {
    const z = accurateDft(pmf.masses, pmf.first, f, n);
    const power = accuratePower(z, k);
    if (power === undefined) return undefined;
    const dftError = (pmf.masses.length + 64) * 2 ** -98;
    result.push(power[0], power[1], power[2] + amplification(Math.hypot(z[0], z[2]), k, dftError) * dftError);
  }
  return result as [number, number, number, number, number, number];
}

/** Tail sums of the composed pmf (n x pmf in `values`, circularly) read from cell `start` on. */
function tails(values: Float64Array, start: number, h: number): { tailMass: Float64Array; tailWeighted: Float64Array } {
  const n = values.length;
  const tailMass = new Float64Array(n + 1);
  const tailWeighted = new Float64Array(n + 1);
  const decay = Math.exp(-h);
  const first = ((start % n) + n) % n;
  let sum = 0;
  let compensation = 0;
  for (let i = n - 1; i >= 0; i--) {
    const p = Math.max(0, values[(first + i) & (n - 1)]! / n);
    const next = sum + p;
    compensation += sum >= p ? sum - next + p : p - next + sum;
    sum = next;
    tailMass[i] = sum + compensation;
    tailWeighted[i] = p + decay * tailWeighted[i + 1]!;
  }
  return { tailMass, tailWeighted };
}

/** delta~(eps) of one direction: sum over grid losses x > eps of p (1 - e^{eps - x}), rounded up. */
function discreteDelta(d: Direction, h: number, epsilon: number): number {
  const n = d.tailMass.length - 1;
  const i = Math.min(n, Math.max(0, Math.floor((epsilon - d.x0) / h) + 1));
  if (i === n) return 0;
  // eps lies in [x_{i-1}, x_i) (or below x_0 when i = 0): delta~ = T_i - e^{eps - x_i} W_i.
  const exponent = Math.min(0, epsilon - (d.x0 + i * h));
  return Math.max(0, d.tailMass[i]! * (1 + d.tailError) - Math.exp(exponent) * d.tailWeighted[i]!);
}

/** Upper bound on delta at `epsilon` for the composition (max over the two directions); 1 without a bound. */
export function pldDelta(pld: ComposedPld, epsilon: number): number {
  let delta = pld.directions.length === 0 ? 1 : 0;
  for (const d of pld.directions) delta = Math.max(delta, discreteDelta(d, pld.h, epsilon - d.epsilonShift) + d.deltaSlack);
  return Math.min(1, delta);
}

/**
 * The smallest eps with delta~(eps) <= target in one direction (Infinity if target <= 0, -Infinity if every
 * eps will do), solved exactly within its grid cell. delta~ at the left edge of cell i is
 * D_i = T_i - e^-h W_i (T_0 at -Infinity), non-increasing in i, so the cell is found by bisection.
 */
function discreteEpsilon(d: Direction, h: number, target: number): number {
  if (!(target > 0)) return Number.POSITIVE_INFINITY;
  const n = d.tailMass.length - 1;
  const inflate = 1 + d.tailError;
  const decay = Math.exp(-h);
  const leftEdge = (i: number) => d.tailMass[i]! * inflate - (i === 0 ? 0 : decay * d.tailWeighted[i]!);
  if (!(leftEdge(0) > target)) return Number.NEGATIVE_INFINITY;
  // Invariant: leftEdge(lo) > target >= leftEdge(hi) (leftEdge(n) = 0).
  let lo = 0;
  let hi = n;
  while (hi - lo > 1) {
    const mid = (lo + hi) >>> 1;
    if (leftEdge(mid) > target) lo = mid;
    else hi = mid;
  }
  const x = d.x0 + lo * h;
  const weighted = d.tailWeighted[lo]!;
  if (!(weighted > 0)) return x;
  return Math.min(x, x + Math.log((d.tailMass[lo]! * inflate - target) / weighted));
}

/** Upper bound on epsilon at `delta`, and the point estimate it was derived from (Infinity without a bound). */
export function pldEpsilon(pld: ComposedPld, delta: number): { upper: number; estimate: number } {
  if (pld.directions.length === 0) return { upper: Number.POSITIVE_INFINITY, estimate: Number.POSITIVE_INFINITY };
  let estimate = Number.NEGATIVE_INFINITY;
  let upper = Number.NEGATIVE_INFINITY;
  for (const d of pld.directions) {
    estimate = Math.max(estimate, discreteEpsilon(d, pld.h, delta));
    upper = Math.max(upper, discreteEpsilon(d, pld.h, delta - d.deltaSlack) + d.epsilonShift);
  }
  return { upper: Math.max(0, upper), estimate: Math.max(0, estimate) };
}
