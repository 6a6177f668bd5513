// How far privkit's rounded normal samplers are from the ideal distributions the accountants assume
// (internal). The secure lattice Gaussian (secure.ts) releases nearest(t N) and the fast discrete
// Gaussian (discrete.ts, method 'wasm') proposes nearest(sigma N), with N the wasm Ziggurat normal
// (assembly/dp/ziggurat.ts). Each integer z is the image of the cell of N values [(z - 1/2)/t, (z + 1/2)/t].
// The charge has two parts:
// - pmfError eta: for every z outside the tail set T, the real P(z) is within a relative eta of the
//   ideal one;
// - tailMass tau: T (the cells that reach |N| >= 16) has probability at most tau under both the real
//   sampler and the ideal one (about 1.3e-57).
//
// Why the two parts. The computed N is the exact normal moved by rounding. Near |N| = b the
// computed value is at most D(b) from the exact one:
// - the 2^-53 grid of the uniform: X[i] 2^-53 < 2^-51 in the layers;
// - fl(k X[i] 2^-53): half an ulp, <= 2^-52 for |N| < 4;
// - in the tail beyond R = 3.654 (Marsaglia 1964), -ln(u) / R + R: the logarithm (< 1 ulp, musl's
//   log), the division and the sum (half an ulp each), <= 1.62 x 2^-50 for |N| < 8;
// - fl(t N) in the caller: |N| 2^-53 <= 2^-50 for |N| < 8.
// So D(b) <= 2.62 x 2^-50 for b <= 8, charged as D8 = 3 x 2^-50. Past 8 every term scales with the
// ulp of b, so D(b) <= D8 2^ceil(log2(b / 8)), up to the sampler's largest output 207.4 (= R + 1074 ln 2 / R).
// A cell [a, b] (0 <= a < b) then gains or loses at most D(b) (f(a) + f(b)) of probability, f the
// normal density. Its mass is at least f(a) (1 - e^(-b w)) / b, w = b - a = 1/t (log-concavity:
// f(a + s) >= f(a) e^(-b s) on the cell). So the relative error is at most
//   2 D(b) b / (1 - e^(-b / t)),
// increasing in b. Taking b <= 16 gives eta16(t), about 12 t 2^-50 for large t. Taking b <= 208 gives
// etaAll(t), 32 x 208 / 32 times more (for large t), which needs no tail set. Multiplicative errors add
// TABLE_ERROR: layer areas of the float64 tables off by <= 1.2e-13 (test/dp/sampler-error.test.ts
// recomputes them), and wedge tests with a rounded exp.
//
// The tail set. The cells that reach past 16 lie in |N| >= 16 - 1/t. Their ideal mass is at most
// 2 phi(a) / a at a = 16 - 1/t (Mills' ratio), and their real mass at most (1 + etaAll) times that.
// The threshold 16 (not 8, where D doubles first) keeps tau so small that the (1 + e^epsilon) below
// costs nothing at any epsilon a release would use (e^epsilon tau < 1e-15 up to epsilon = 96).
// How it is charged (the accountants' tailMass): build a mechanism A' equal to the real one off T
// (rescaled by (1 - q_ideal) / (1 - q_real), within e^(+-2e-15)) and equal to the ideal one on T.
// A' is within eta of the ideal mechanism at every output, and its output distribution is within
// TV <= max(q_real, q_ideal) <= tau of the real one. TV adds over coordinates and steps (the noise is
// independent of the data). For any set S, P_real,D(S) <= P_A',D(S) + T and P_A',D'(S) <= P_real,D'(S) + T,
// so (epsilon, delta) of A' gives (epsilon, delta + (1 + e^epsilon) T) for the real release, where T is the
// total tail mass (conversion.ts, epsilonWithTail).
//
// Which charge applies: eta16 with the tail for t >= 1 (every secure lattice, and most discrete
// Gaussians); otherwise etaAll with no tail (t < 1: wide cells make etaAll tiny).
// Either way the ideal normal's mass past the sampler's largest output (below e^-21000, no double)
// is not charged.
import { nextUp } from './calibration.js';

/** D8: the largest displacement of a computed normal below |N| = 8, with margin (2.62 x 2^-50 derived above). */
const DISPLACEMENT = 3 * 2 ** -50;
/** The tail set starts at |N| = 16. */
const TAIL_START = 16;
/** The sampler's largest output, rounded up. */
const LARGEST_OUTPUT = 208;
/** Relative pmf error of the tables and wedge tests, with margin (1.2e-13 measured). */
const TABLE_ERROR = 1e-12;

/** A sampler's error per coordinate: pmf ratio within (1 +- pmfError) off a tail set of mass <= tailMass. */
export interface SamplerError {
  /** eta: the relative pmf error off the tail set. */
  readonly pmfError: number;
  /** tau: the tail set's mass, under the sampler and the ideal distribution (0: no tail set). */
  readonly tailMass: number;
}

/** The relative pmf error of cells up to |N| = b at scale t: 2 D(b) b / (1 - e^(-b / t)). */
function cellError(b: number, scale: number): number {
  const displacement = DISPLACEMENT * 2 ** Math.max(0, Math.ceil(Math.log2(b / 8)));
  return nextUp(nextUp(2 * displacement * b) / -Math.expm1(-b / scale)) * (1 + 1e-12);
}

/** An upper bound on P(|N| >= a), a > 0, by Mills' ratio: 2 phi(a) / a. */
function twoSidedNormalTail(a: number): number {
  return nextUp((2 * Math.exp(-0.5 * a * a)) / (Math.sqrt(2 * Math.PI) * a)) * (1 + 1e-12);
}

/** The error of nearest(scale N), N the wasm Ziggurat normal, per coordinate (see the file header). */
export function roundedNormalError(scale: number): SamplerError {
  const everywhere = cellError(LARGEST_OUTPUT, scale) + TABLE_ERROR;
  const tailMass = nextUp(twoSidedNormalTail(TAIL_START - 1 / scale) * (1 + everywhere));
  if (scale >= 1) return { pmfError: cellError(TAIL_START, scale) + TABLE_ERROR, tailMass };
  return { pmfError: everywhere, tailMass: 0 };
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
