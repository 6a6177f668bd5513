// How far privkit's rounded normal samplers are from the ideal distributions the accountants assume
// (internal). The secure lattice Gaussian (secure.ts) releases nearest(t N) and the fast discrete
// Gaussian (discrete.ts, method 'wasm') proposes nearest(sigma N), with N the wasm Ziggurat normal
// (assembly/dp/ziggurat.ts). Each integer z is the image of the cell of N values [(z - 1/2)/t, (z + 1/2)/t].
// The charge has two parts:
// - pmfError eta: for every z outside the tail set T, the real P(z) is within a relative eta of the
//   ideal one;
// - tailMass tau: T (the cells that reach |N| >= 16, or >= 40 when t < 1) has probability at most
//   tau under both the real sampler and the ideal one (about 1.3e-57 at t >= 1).
//
// Why the two parts. The computed N is the exact normal moved by rounding. For |N| <= b the computed
// value is at most D(b) from the exact one; with u(x) the spacing of the doubles just below x
// (2^(ceil(log2 x) - 53)), the steps are:
// - in the layers (|N| < R = 3.654): the 2^-53 grid of the uniform, X[i] 2^-53 < 2^-51, and
//   fl(k X[i] 2^-53), half an ulp below 4: 2^-52;
// - in the tail (Marsaglia 1964), R - ln(U1) / R: U1's full-precision grid (relative 2^-52, so
//   2^-52 / R after the logarithm and the division), the logarithm (1 ulp of -ln U1 <= R (b - R):
//   any libm; AssemblyScript's is ARM's, within 0.52 ulp), the division (half of u(b - R)) and the
//   sum (half of u(b));
// - fl(t N) in the caller: b 2^-53.
// So D(8) = 2.62 x 2^-50 and D(16) = 6.26 x 2^-50 (not twice D(8): -ln U1 crosses 16 and 32 between
// |N| = 8 and 16, at 12.41 the logarithm's ulp doubles a second time), D(40) = 21.83 x 2^-50
// (displacement(), recomputed term by term in test/dp/sampler-error.test.ts).
// A cell [a, b] (0 <= a < b) then gains or loses at most D(b) (f(a) + f(b)) of probability, f the
// normal density. Its mass is at least f(a) (1 - e^(-b w)) / b, w = b - a = 1/t (log-concavity:
// f(a + s) >= f(a) e^(-b s) on the cell). So the relative error is at most
//   2 D(b) b / (1 - e^(-b / t)),
// increasing in b. Taking b <= 16 gives eta16(t), about 12.5 t 2^-50 for large t; taking b <= 40 gives
// eta40(t), for the wide cells of t < 1. Two multiplicative errors add to it: the tail's acceptance
// test 2 b >= a^2 (a = |N| - R), decided on the displaced a with rounded logarithms, relative
// a D(b) + (a^2 / 2) 2^-50 (acceptanceError: 1.4e-13 for b <= 16, 1.3e-12 for b <= 40); and
// TABLE_ERROR: layer areas of the float64 tables off by <= 1.2e-13 (test/dp/sampler-error.test.ts
// recomputes them) and wedge tests with a rounded exp.
//
// The tail's saturation. The acceptance test needs -ln U2 >= a^2 / 2, and U2 is below 2^-1022 only as
// the least subnormal (probability 2^-1022, -ln U2 = 744.4): for a^2 / 2 in (1022 ln 2, 744.4], i.e.
// |N| in (41.29, 42.24], the real sampler accepts with probability 2^-1022 instead of e^(-a^2/2) (up to
// e^25 times too likely) and it never returns more than 42.24. No relative bound holds there, so those
// cells are in the tail set at every scale (at t < 1 it starts at 40). Their real mass, below
// R e^(-37.6 R) 2^-1022 < e^-845, is less than 1e-17 of the ideal bound 2 phi(40) / 40 > e^-804.
//
// The tail set. The cells that reach past L (16 for t >= 1, 40 for t < 1) lie in |N| >= L - 1/t.
// Their ideal mass is at most 2 phi(a) / a at a = L - 1/t (Mills' ratio), and their real mass at most
// (1 + eta40 + the errors above at 40) times that, plus the saturated cells' (within the bound's
// 1e-12 margin). At L = 16, tau is so small that the (1 + e^epsilon) below costs nothing at any
// epsilon a release would use (e^epsilon tau < 1e-15 up to epsilon = 96); at L = 40 it is below
// 1e-290 for t >= 0.3.
// How it is charged (the accountants' tailMass): build a mechanism A' equal to the real one off T
// (rescaled by (1 - q_ideal) / (1 - q_real), within e^(+-2e-15)) and equal to the ideal one on T.
// A' is within eta of the ideal mechanism at every output, and its output distribution is within
// TV <= max(q_real, q_ideal) <= tau of the real one. TV adds over coordinates and steps (the noise is
// independent of the data). For any set S, P_real,D(S) <= P_A',D(S) + T and P_A',D'(S) <= P_real,D'(S) + T,
// so (epsilon, delta) of A' gives (epsilon, delta + (1 + e^epsilon) T) for the real release, where T is the
// total tail mass (conversion.ts, epsilonWithTail). Only the coordinates on which neighbours differ
// need A' (the others are the same real sampler under both), so T counts those coordinates.
import { nextUp } from './calibration.js';

/** R: where the Ziggurat's tail starts (NORMAL_R of assembly/dp/ziggurat.ts). */
const ZIGGURAT_R = 3.6541528853610088;
/** The logarithm's error in ulps, for any libm (AssemblyScript's is within 0.52). */
const LOG_ULPS = 1;
/** The tail set: the cells reaching |N| >= 16, at scales t >= 1. */
const TAIL_START = 16;
/** The tail set at scales t < 1, whose wide cells would reach 16 close to the centre: past 40 (the tail's acceptance saturates at 41.29). */
const WIDE_TAIL_START = 40;
/** Relative pmf error of the tables and wedge tests, with margin (layer areas: 1.2e-13 measured). */
const TABLE_ERROR = 1e-12;

/** A sampler's error per coordinate: pmf ratio within (1 +- pmfError) off a tail set of mass <= tailMass. */
export interface SamplerError {
  /** eta: the relative pmf error off the tail set. */
  readonly pmfError: number;
  /** tau: the tail set's mass, under the sampler and the ideal distribution (0 when below the smallest double). */
  readonly tailMass: number;
}

/** u(x): the spacing of the doubles just below x > 0, the largest rounding step of a result at most x. */
function spacingBelow(x: number): number {
  const e = Math.ceil(Math.log2(x));
  return 2 ** (2 ** e >= x ? e - 53 : e - 52); // the second case only if log2 rounded down to an integer
}

/** D(b): the largest distance between the computed and the exact normal for |N| <= b (the header's steps). */
function displacement(b: number): number {
  const layers = 2 ** -51 + 2 ** -52;
  const R = ZIGGURAT_R;
  const tail = b <= R ? 0 : (2 ** -52 + LOG_ULPS * spacingBelow(R * (b - R))) / R + spacingBelow(b - R) / 2 + spacingBelow(b) / 2;
  return nextUp(nextUp(Math.max(layers, tail) + b * 2 ** -53) * (1 + 1e-15));
}

/** The relative pmf error of cells up to |N| = b at scale t: 2 D(b) b / (1 - e^(-b / t)). */
function cellError(b: number, scale: number): number {
  return nextUp(nextUp(2 * displacement(b) * b) / -Math.expm1(-b / scale)) * (1 + 1e-12);
}

/** The relative error of the tail's acceptance test up to |N| = b: a D(b) + (a^2 / 2) 2^-50, a = b - R. */
function acceptanceError(b: number): number {
  const a = Math.max(0, b - ZIGGURAT_R);
  return nextUp(nextUp(a * displacement(b)) + nextUp(a * a * 2 ** -51));
}

/** The relative pmf error off the tail set of cells up to |N| = b at scale t, every multiplicative error included. */
function pmfErrorUpTo(b: number, scale: number): number {
  return nextUp(cellError(b, scale) + acceptanceError(b) + TABLE_ERROR);
}

/** An upper bound on P(|N| >= a), a > 0, by Mills' ratio: 2 phi(a) / a. */
function twoSidedNormalTail(a: number): number {
  return nextUp((2 * Math.exp(-0.5 * a * a)) / (Math.sqrt(2 * Math.PI) * a)) * (1 + 1e-12);
}

/** The error of nearest(scale N), N the wasm Ziggurat normal, per coordinate (see the file header). */
export function roundedNormalError(scale: number): SamplerError {
  const start = scale >= 1 ? TAIL_START : WIDE_TAIL_START;
  const pmfError = pmfErrorUpTo(start, scale);
  const inner = start - 1 / scale;
  if (!(inner > 0)) return { pmfError, tailMass: 1 }; // cells wider than 40: everything but the centre is in the tail set
  // the tail set's real mass: (1 + eta40) x the ideal bound (the saturated cells within its margin)
  return { pmfError, tailMass: Math.min(1, nextUp(twoSidedNormalTail(inner) * (1 + pmfErrorUpTo(WIDE_TAIL_START, scale)))) };
}

/** The slack -log(1 - eta) of a relative pmf error eta, rounded up. */
export function slackOf(pmfError: number): number {
  return nextUp(-Math.log1p(-pmfError));
}

/** What a total tail mass T costs in delta at epsilon: (1 + e^epsilon) T, rounded up (in log space, no overflow while it is a double). */
export function tailDelta(epsilon: number, tail: number): number {
  if (tail === 0) return 0;
  return (tail + Math.exp(epsilon + Math.log(tail))) * (1 + 1e-12);
}
