// In-place iterative radix-2 complex FFT on split Float64Arrays, for composing privacy loss
// distributions by convolution (Koskela et al. 2020; Gopi et al. 2021), and a double-double DFT and
// complex power for the few frequencies where a K-fold composition needs more than double precision.
import { PrivkitError } from '../errors.js';

/** Cosine and sine tables for a transform of length n (a power of two). */
interface Twiddles {
  n: number;
  cos: Float64Array;
  sin: Float64Array;
}

/** Lengths up to 2^30 (the index arithmetic below is 32-bit). */
export function twiddles(n: number): Twiddles {
  if (!(Number.isInteger(n) && n >= 1 && n <= 2 ** 30 && (n & (n - 1)) === 0)) {
    throw new PrivkitError('E_ARG', `n must be a power of two in [1, 2^30], got ${n}`, { argument: 'n' });
  }
  const half = n >> 1;
  const cos = new Float64Array(half);
  const sin = new Float64Array(half);
  for (let k = 0; k < half; k++) {
    cos[k] = Math.cos((2 * Math.PI * k) / n);
    sin[k] = Math.sin((2 * Math.PI * k) / n);
  }
  return { n, cos, sin };
}

/** Forward (e^{-2 pi i jk/n}) or inverse (unnormalized, e^{+2 pi i jk/n}) transform of (re, im) in place. */
export function fft(re: Float64Array, im: Float64Array, table: Twiddles, inverse = false): void {
  const n = table.n;
  if (re.length !== n || im.length !== n) {
    throw new PrivkitError('E_SHAPE', `re and im must have the table's length ${n}, got ${re.length} and ${im.length}`, { argument: 're' });
  }
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      const tr = re[i]!;
      re[i] = re[j]!;
      re[j] = tr;
      const ti = im[i]!;
      im[i] = im[j]!;
      im[j] = ti;
    }
  }
  const sign = inverse ? 1 : -1;
  // Each stage's twiddles copied contiguously: the strided table reads would miss the cache at large n.
  const stageCos = new Float64Array(n >> 1);
  const stageSin = new Float64Array(n >> 1);
  for (let size = 2; size <= n; size <<= 1) {
    const half = size >> 1;
    const stride = n / size;
    for (let k = 0; k < half; k++) {
      stageCos[k] = table.cos[k * stride]!;
      stageSin[k] = sign * table.sin[k * stride]!;
    }
    for (let start = 0; start < n; start += size) {
      for (let k = 0; k < half; k++) {
        const wr = stageCos[k]!;
        const wi = stageSin[k]!;
        const a = start + k;
        const b = a + half;
        const xr = re[b]! * wr - im[b]! * wi;
        const xi = re[b]! * wi + im[b]! * wr;
        re[b] = re[a]! - xr;
        im[b] = im[a]! - xi;
        re[a] = re[a]! + xr;
        im[a] = im[a]! + xi;
      }
    }
  }
}

// Where a K-fold power amplifies the forward FFT's rounding K times (PLD compositions of millions of
// steps), the few frequencies that matter are recomputed in double-double arithmetic: an unevaluated
// sum hi + lo with |lo| <= ulp(hi) / 2, about 32 significant digits from doubles alone (Dekker 1971;
// Hida, Li, Bailey 2001, "Algorithms for quad-double precision floating point arithmetic").

/** A double-double complex number: [re.hi, re.lo, im.hi, im.lo]. */
type DoubleDoubleComplex = [number, number, number, number];

/** s + e = a + b exactly. */
function twoSum(a: number, b: number): [number, number] {
  const s = a + b;
  const bb = s - a;
  return [s, a - (s - bb) + (b - bb)];
}

/** s + e = a + b exactly, for |a| >= |b|. */
function quickTwoSum(a: number, b: number): [number, number] {
  const s = a + b;
  return [s, b - (s - a)];
}

/** p + e = a b exactly (Dekker's product with Veltkamp's split, 2^27 + 1). */
function twoProd(a: number, b: number): [number, number] {
  const p = a * b;
  const ta = 134217729 * a;
  const aHi = ta - (ta - a);
  const aLo = a - aHi;
  const tb = 134217729 * b;
  const bHi = tb - (tb - b);
  const bLo = b - bHi;
  return [p, aHi * bHi - p + aHi * bLo + aLo * bHi + aLo * bLo];
}

function ddAdd(ah: number, al: number, bh: number, bl: number): [number, number] {
  const [s, e] = twoSum(ah, bh);
  const [t, f] = twoSum(al, bl);
  const [s1, e1] = quickTwoSum(s, e + t);
  return quickTwoSum(s1, e1 + f);
}

function ddMul(ah: number, al: number, bh: number, bl: number): [number, number] {
  const [p, e] = twoProd(ah, bh);
  return quickTwoSum(p, e + (ah * bl + al * bh));
}

function ddDiv(ah: number, al: number, bh: number, bl: number): [number, number] {
  const q1 = ah / bh;
  const [ph, pl] = ddMul(q1, 0, bh, bl);
  const [rh, rl] = ddAdd(ah, al, -ph, -pl);
  const q2 = rh / bh;
  const [p2h, p2l] = ddMul(q2, 0, bh, bl);
  const [r2h] = ddAdd(rh, rl, -p2h, -p2l);
  const [sh, sl] = quickTwoSum(q1, q2);
  return ddAdd(sh, sl, r2h / bh, 0);
}

function ddSqrt(ah: number, al: number): [number, number] {
  const s = Math.sqrt(ah);
  const [ph, pl] = twoProd(s, s);
  const [rh, rl] = ddAdd(ah, al, -ph, -pl);
  return quickTwoSum(s, (rh + rl) / (2 * s));
}

function ddComplexMul(a: DoubleDoubleComplex, b: DoubleDoubleComplex): DoubleDoubleComplex {
  const [acH, acL] = ddMul(a[0], a[1], b[0], b[1]);
  const [bdH, bdL] = ddMul(a[2], a[3], b[2], b[3]);
  const [adH, adL] = ddMul(a[0], a[1], b[2], b[3]);
  const [bcH, bcL] = ddMul(a[2], a[3], b[0], b[1]);
  return [...ddAdd(acH, acL, -bdH, -bdL), ...ddAdd(adH, adL, bcH, bcL)];
}

/** e^{2 pi i / 2^m} for m = 0..30 by the half-angle formulas from e^{i pi} = -1 and e^{i pi / 2} = i. */
const ROOTS: readonly DoubleDoubleComplex[] = (() => {
  const roots: DoubleDoubleComplex[] = [
    [1, 0, 0, 0],
    [-1, 0, 0, 0],
    [0, 0, 1, 0],
  ];
  for (let m = 3; m <= 30; m++) {
    const [c, cl, s, sl] = roots[m - 1]!;
    const [halfH, halfL] = ddAdd(1, 0, c, cl);
    const [ch, clo] = ddSqrt(halfH / 2, halfL / 2);
    const [sh, slo] = ddDiv(s, sl, 2 * ch, 2 * clo);
    roots.push([ch, clo, sh, slo]);
  }
  return roots;
})();

/** e^{-2 pi i m / n} in double-double, for 0 <= m < n = 2^bits: a product over the set bits of m. */
function unitRoot(m: number, bits: number): DoubleDoubleComplex {
  let result: DoubleDoubleComplex = [1, 0, 0, 0];
  for (let b = 0; b < bits; b++) {
    if (Math.floor(m / 2 ** b) % 2 === 1) result = ddComplexMul(result, ROOTS[bits - b]!);
  }
  return [result[0], result[1], -result[2], -result[3]];
}

/**
 * sum_j values[j] e^{-2 pi i f (first + j) / n} in double-double (n a power of two up to 2^30), in blocks
 * of B ~ sqrt(J) terms: within a block the twiddles come from a table of w^r, r < B, and each block's sum
 * is turned by w^(first + block start), which advances by one multiplication per block. Every twiddle is
 * thus at most B + J / B double-double multiplications from an exact root: error ~2 sqrt(J) 2^-104.
 */
export function accurateDft(values: Float64Array, first: number, f: number, n: number): DoubleDoubleComplex {
  const bits = Math.round(Math.log2(n));
  const block = Math.max(1, Math.round(Math.sqrt(values.length)));
  const step = unitRoot(f, bits);
  const table = new Float64Array(4 * block);
  let root: DoubleDoubleComplex = [1, 0, 0, 0];
  for (let r = 0; r < block; r++) {
    table.set(root, 4 * r);
    root = ddComplexMul(root, step);
  }
  const blockStep = root;
  let blockTwiddle = unitRoot((f * (((first % n) + n) % n)) % n, bits);
  let result: DoubleDoubleComplex = [0, 0, 0, 0];
  for (let start = 0; start < values.length; start += block) {
    let reH = 0;
    let reL = 0;
    let imH = 0;
    let imL = 0;
    const end = Math.min(values.length, start + block);
    for (let j = start; j < end; j++) {
      const v = values[j]!;
      if (v === 0) continue;
      const t = 4 * (j - start);
      const [xh, xl] = twoProd(table[t]!, v);
      [reH, reL] = ddAdd(reH, reL, xh, xl + table[t + 1]! * v);
      const [yh, yl] = twoProd(table[t + 2]!, v);
      [imH, imL] = ddAdd(imH, imL, yh, yl + table[t + 3]! * v);
    }
    const turned = ddComplexMul([reH, reL, imH, imL], blockTwiddle);
    result = [...ddAdd(result[0], result[1], turned[0], turned[1]), ...ddAdd(result[2], result[3], turned[2], turned[3])];
    blockTwiddle = ddComplexMul(blockTwiddle, blockStep);
  }
  return result;
}

/** 2 pi in double-double. */
const TWO_PI_HI = 6.283185307179586;
const TWO_PI_LO = 2.4492935982947064e-16;

/**
 * z^k for a double-double z with |z - 1| < 1/2, as doubles [re, im] and a bound on their error: the power is
 * e^{k log z} with log z = 2 atanh((z - 1) / (z + 1)) summed in double-double, so the rounding is not
 * multiplied by k; what remains is the final rounding to double (relative ~ (|k log|z|| + 8) u). Undefined
 * when |z - 1| >= 1/2.
 */
export function accuratePower(z: DoubleDoubleComplex, k: number): [number, number, number] | undefined {
  const [wr, wrl] = ddAdd(z[0], z[1], -1, 0);
  const [wi, wil] = [z[2], z[3]];
  if (!(Math.hypot(wr, wi) < 0.5)) return undefined;
  // t = w / (2 + w) = w conj(d) / |d|^2 with d = 2 + w.
  const [dr, drl] = ddAdd(2, 0, wr, wrl);
  const [n2h, n2l] = ddAdd(...ddMul(dr, drl, dr, drl), ...ddMul(wi, wil, wi, wil));
  const [numRe, numReL] = ddAdd(...ddMul(wr, wrl, dr, drl), ...ddMul(wi, wil, wi, wil));
  // Im(w conj(d)) = wi (dr - wr) = 2 wi exactly.
  const t: DoubleDoubleComplex = [...ddDiv(numRe, numReL, n2h, n2l), ...ddDiv(2 * wi, 2 * wil, n2h, n2l)];
  const t2 = ddComplexMul(t, t);
  // atanh(t) = sum t^(2m+1) / (2m+1), |t| <= 1/3: 35 terms reach 2^-110.
  let power = t;
  let sum: DoubleDoubleComplex = [...t];
  for (let m = 1; m < 40 && Math.hypot(power[0], power[2]) > 1e-36; m++) {
    power = ddComplexMul(power, t2);
    const [ar, arl] = ddDiv(power[0], power[1], 2 * m + 1, 0);
    const [ai, ail] = ddDiv(power[2], power[3], 2 * m + 1, 0);
    sum = [...ddAdd(sum[0], sum[1], ar, arl), ...ddAdd(sum[2], sum[3], ai, ail)];
  }
  // k log z = 2 k atanh(t); the angle is reduced modulo 2 pi in double-double before rounding.
  const [lr, lrl] = ddMul(sum[0], sum[1], 2 * k, 0);
  const [li, lil] = ddMul(sum[2], sum[3], 2 * k, 0);
  const turns = Math.round(li / TWO_PI_HI);
  const [ph, pl] = ddMul(TWO_PI_HI, TWO_PI_LO, turns, 0);
  const [angle, angleL] = ddAdd(li, lil, -ph, -pl);
  const magnitude = Math.exp(lr) * (1 + lrl);
  const theta = angle + angleL;
  // Rounding to double of exp, cos and sin and of k log|z| and the reduced angle (2 pi's truncation counts
  // once per turn), and the double-double sums' own error multiplied by k.
  const rounding = magnitude * (2 ** -53 * (16 + Math.abs(lr) + Math.abs(turns) * 2 ** -47) + k * 2 ** -98);
  return [magnitude * Math.cos(theta), magnitude * Math.sin(theta), rounding];
}
