// Privacy loss distributions of the Poisson-subsampled Gaussian, discretized on a uniform grid and
// composed by FFT (Koskela, Jalko, Honkela 2020; Gopi, Lee, Wutschitz 2021; Doroshenko et al. 2022).
//
// Both neighbouring directions are tracked: "remove" (loss log(P/Q) under P = (1-q) N(0, s^2) + q N(1, s^2),
// Q = N(0, s^2)) and "add" (loss log(Q/P) under Q). Each step's loss Y is rounded to the nearest grid
// point (|Y - Y~| <= h/2, coupled per step), so by Hoeffding the sum of the K rounding errors exceeds
// K |bias| + s only with probability exp(-2 s^2 / (K h^2)); |bias| = |E[Y - Y~]| is the trapezoid error
// of the bin means, O(h^2), estimated from the variation of the pmf with a factor-2 margin. With t = s + K |bias|,
//   delta(eps) <= delta~(eps - t) + P(Hoeffding) + P(a step leaves the grid) + P(the sum leaves the FFT window),
// where delta~ is the hockey-stick divergence of the discrete composition. All extra terms are kept
// below `deltaError`, so the epsilon reported is an upper bound (up to floating-point rounding).
import { PrivkitError } from '../errors.js';
import { fft, twiddles } from './fft.js';
import { DEFAULT_ORDERS, rdpPoissonGaussian } from './rdp.js';
import { logAdd, logSub, normalCdf as phi } from '../math/special.js';

export interface PldGroup {
  sampleRate: number;
  noiseMultiplier: number;
  steps: number;
}

/** The composed discrete loss distribution of one direction. */
interface Direction {
  /** Loss value of pmf[0]; pmf[n] sits at x0 + n h. */
  x0: number;
  /** tailMass[n] = sum of pmf[m] for m >= n; tailWeighted[n] = sum of pmf[m] e^{-(x0 + m h)}. */
  tailMass: Float64Array;
  tailWeighted: Float64Array;
  /** The delta added for this direction: Hoeffding + steps leaving the grid + upper wrap-around. */
  deltaSlack: number;
}

export interface ComposedPld {
  h: number;
  /** The epsilon shift t (the Hoeffding margin s plus K times the rounding-bias bound). */
  epsilonShift: number;
  directions: [Direction, Direction];
}

/** The largest FFT length (2^22 points, 64 MiB of spectra); beyond it the grid gets coarser and the error bound grows. */
const MAX_FFT_LENGTH = 1 << 22;

/** min over orders of rdp + log(1/tail)/(alpha - 1): P(loss >= x) <= tail for x at or above it (Chernoff with the RDP). */
function chernoffUpper(rdp: (alpha: number) => number, logTail: number): number {
  let best = Number.POSITIVE_INFINITY;
  for (const alpha of DEFAULT_ORDERS) best = Math.min(best, rdp(alpha) - logTail / (alpha - 1));
  return best;
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

/** One step's loss at z: log(1 - q + q e^{(2z - 1) / (2 sigma^2)}). */
function lossAt(q: number, sigma: number, z: number): number {
  const linear = (2 * z - 1) / (2 * sigma * sigma);
  return q < 1 ? logAdd(Math.log1p(-q), Math.log(q) + linear) : linear;
}

/**
 * Writes one step's discretized loss pmf into `out` (circularly, index j mod n for loss j h) and
 * returns the mass left off the grid and |E[Y~ - Y]| <~ (h^2 / 12) TV(density), doubled for margin.
 */
function discretize(group: PldGroup, remove: boolean, h: number, logStepTail: number, out: Float64Array): { offGrid: number; bias: number } {
  const q = group.sampleRate;
  const sigma = group.noiseMultiplier;
  // z cut-offs beyond which each mixture component has mass <= e^logStepTail (Phi(-x) <= e^{-x^2/2} / 2).
  const zc = sigma * Math.sqrt(2 * (-logStepTail - Math.LN2));
  const lo = remove ? lossAt(q, sigma, -zc) : -lossAt(q, sigma, zc);
  const hi = remove ? lossAt(q, sigma, 1 + zc) : -lossAt(q, sigma, -zc);
  const jLo = Math.floor(lo / h);
  const jHi = Math.ceil(hi / h);
  const n = out.length;
  let [cdfPrev, survPrev] = lossCdf(q, sigma, remove, (jLo - 0.5) * h);
  const offGridLow = cdfPrev;
  let previousMass = 0;
  let variation = 0;
  for (let j = jLo; j <= jHi; j++) {
    const [cdf, surv] = lossCdf(q, sigma, remove, (j + 0.5) * h);
    const mass = Math.max(0, cdf <= 0.5 ? cdf - cdfPrev : survPrev - surv);
    out[((j % n) + n) % n] += mass;
    variation += Math.abs(mass - previousMass);
    previousMass = mass;
    cdfPrev = cdf;
    survPrev = surv;
  }
  variation += previousMass;
  return { offGrid: offGridLow + survPrev, bias: (h / 6) * variation };
}

/** z^k for complex z = (re, im), in polar form. */
function complexPower(re: number, im: number, k: number): [number, number] {
  const r = Math.hypot(re, im);
  if (r === 0) return [0, 0];
  const magnitude = Math.exp(k * Math.log(r));
  const angle = k * Math.atan2(im, re);
  return [magnitude * Math.cos(angle), magnitude * Math.sin(angle)];
}

/**
 * Composes the groups (every sigma > 0) with an epsilon error budget `epsilonError` (the Hoeffding
 * margin s) and a delta budget `deltaError` for all the probabilistic slack.
 */
export function composePld(groups: readonly PldGroup[], epsilonError: number, deltaError: number): ComposedPld {
  const totalSteps = groups.reduce((k, g) => k + g.steps, 0);
  const logHoeffding = Math.log(deltaError / 2);
  const logTail = Math.log(deltaError / 8);
  const logStepTail = Math.log(deltaError / 16 / totalSteps);
  const rdp = (alpha: number) => groups.reduce((r, g) => r + g.steps * rdpPoissonGaussian(g.sampleRate, g.noiseMultiplier, alpha), 0);

  const perStep = Math.sqrt((totalSteps * -logHoeffding) / 2);
  // The window [a, b] holds the composed loss but for mass e^logTail on each side (the upper side by
  // Chernoff with the RDP, which bounds both directions (MTZ19, Sec. 3.3); the lower one since E[e^-Y] = 1),
  // widened by the K h / 2 the rounding can move the sum, and one cell.
  const span = chernoffUpper(rdp, logTail) - logTail;
  let h = epsilonError / perStep;
  let n = 1 << Math.ceil(Math.log2(span / h + totalSteps + 2));
  if (n > MAX_FFT_LENGTH) {
    n = MAX_FFT_LENGTH;
    h = span / (n - totalSteps - 2);
    if (!(h > 0)) throw new PrivkitError('E_ARG', `events compose ${totalSteps} steps, more than the PLD grid can hold`, { argument: 'steps' });
  }
  const a = logTail - (totalSteps * h) / 2 - h;
  const table = twiddles(n);

  // Both directions in one complex transform: remove in the real part, add in the imaginary part.
  const accRe = new Float64Array(n).fill(1);
  const accIm = new Float64Array(n);
  const accRe2 = new Float64Array(n).fill(1);
  const accIm2 = new Float64Array(n);
  const offGrid = [0, 0];
  let bias = 0;
  for (const group of groups) {
    const re = new Float64Array(n);
    const im = new Float64Array(n);
    const removeStats = discretize(group, true, h, logStepTail, re);
    const addStats = discretize(group, false, h, logStepTail, im);
    offGrid[0] += group.steps * removeStats.offGrid;
    offGrid[1] += group.steps * addStats.offGrid;
    bias += group.steps * Math.max(removeStats.bias, addStats.bias);
    fft(re, im, table);
    for (let k = 0; k < n; k++) {
      const m = (n - k) & (n - 1);
      const [pr, pi] = complexPower((re[k]! + re[m]!) / 2, (im[k]! - im[m]!) / 2, group.steps);
      const [qr, qi] = complexPower((im[k]! + im[m]!) / 2, (re[m]! - re[k]!) / 2, group.steps);
      [accRe[k], accIm[k]] = [accRe[k]! * pr - accIm[k]! * pi, accRe[k]! * pi + accIm[k]! * pr];
      [accRe2[k], accIm2[k]] = [accRe2[k]! * qr - accIm2[k]! * qi, accRe2[k]! * qi + accIm2[k]! * qr];
    }
  }
  // Inverse of (remove spectrum) + i (add spectrum): real part = remove pmf, imaginary part = add pmf.
  for (let k = 0; k < n; k++) {
    const r = accRe[k]! - accIm2[k]!;
    accIm[k] = accIm[k]! + accRe2[k]!;
    accRe[k] = r;
  }
  fft(accRe, accIm, table, true);

  const start = Math.ceil(a / h);
  const x0 = start * h;
  const direction = (values: Float64Array, offGridMass: number): Direction => {
    const tailMass = new Float64Array(n + 1);
    const tailWeighted = new Float64Array(n + 1);
    for (let i = n - 1; i >= 0; i--) {
      const p = Math.max(0, values[(((start + i) % n) + n) % n]! / n);
      tailMass[i] = tailMass[i + 1]! + p;
      tailWeighted[i] = tailWeighted[i + 1]! + p * Math.exp(-(x0 + i * h));
    }
    return { x0, tailMass, tailWeighted, deltaSlack: deltaError / 2 + offGridMass + deltaError / 8 };
  };
  return {
    h,
    epsilonShift: h * perStep + bias,
    directions: [direction(accRe, offGrid[0]!), direction(accIm, offGrid[1]!)],
  };
}

/** delta~(eps) of one direction: sum over grid losses x > eps of p (1 - e^{eps - x}). */
function discreteDelta(d: Direction, h: number, epsilon: number): number {
  const n = d.tailMass.length - 1;
  const first = Math.min(n, Math.max(0, Math.floor((epsilon - d.x0) / h) + 1));
  return Math.max(0, d.tailMass[first]! - Math.exp(epsilon) * d.tailWeighted[first]!);
}

/** Upper bound on delta at `epsilon` for the composition (max over the two directions). */
export function pldDelta(pld: ComposedPld, epsilon: number): number {
  let delta = 0;
  for (const d of pld.directions) delta = Math.max(delta, discreteDelta(d, pld.h, epsilon - pld.epsilonShift) + d.deltaSlack);
  return Math.min(1, delta);
}

/** The smallest eps with delta~(eps) <= target in one direction (Infinity if none), solved exactly within its grid cell. */
function discreteEpsilon(d: Direction, h: number, target: number): number {
  const n = d.tailMass.length - 1;
  if (target <= 0) return Number.POSITIVE_INFINITY;
  // delta~ at eps in [x_{i-1}, x_i) is tailMass[i] - e^eps tailWeighted[i]; find the cell where it crosses target.
  for (let i = n; i >= 1; i--) {
    const x = d.x0 + (i - 1) * h;
    if (d.tailMass[i]! - Math.exp(x) * d.tailWeighted[i]! > target) {
      return Math.log((d.tailMass[i]! - target) / d.tailWeighted[i]!);
    }
  }
  return d.x0;
}

/** Upper bound on epsilon at `delta`, and the point estimate it was derived from. */
export function pldEpsilon(pld: ComposedPld, delta: number): { upper: number; estimate: number } {
  let estimate = Number.NEGATIVE_INFINITY;
  let upper = Number.NEGATIVE_INFINITY;
  for (const d of pld.directions) {
    estimate = Math.max(estimate, discreteEpsilon(d, pld.h, delta));
    upper = Math.max(upper, discreteEpsilon(d, pld.h, delta - d.deltaSlack) + pld.epsilonShift);
  }
  return { upper: Math.max(0, upper), estimate: Math.max(0, estimate) };
}
