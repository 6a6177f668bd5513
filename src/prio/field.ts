// The NTT-friendly prime fields of Prio3 (draft-irtf-cfrg-vdaf-20, section 6.1): Field64 and Field128,
// elements as bigint in [0, p). Arithmetic, little-endian vector encoding, roots of unity and the
// radix-2 NTT / inverse NTT (section 6.1.2), and the Lagrange-basis polynomial operations of
// section 6.1.3 (after Faz25): multiplication, batched evaluation, extension and doubling.
import { PrivkitError } from '../errors.js';

/** A prime field of Prio3: elements are bigints in [0, modulus). */
export interface Field {
  /** `Field64` or `Field128`. */
  readonly name: string;
  /** The prime modulus p. */
  readonly modulus: bigint;
  /** Bytes of one encoded element (little-endian). */
  readonly encodedSize: number;
  /** log2 of the order of the generator's subgroup (the largest NTT size). */
  readonly genOrderLog: number;
  /** The generator of the subgroup of order 2^genOrderLog. */
  readonly generator: bigint;
}

function makeField(name: string, modulus: bigint, encodedSize: number, genOrderLog: number): Field {
  // Generator: 7^((p - 1) / 2^genOrderLog), as the draft's table of parameters gives it.
  const generator = pow({ modulus } as Field, 7n, (modulus - 1n) >> BigInt(genOrderLog));
  return Object.freeze({ name, modulus, encodedSize, genOrderLog, generator });
}

export const Field64: Field = makeField('Field64', 2n ** 32n * 4294967295n + 1n, 8, 32);
export const Field128: Field = makeField('Field128', 2n ** 66n * 4611686018427387897n + 1n, 16, 66);

export const add = (f: Field, a: bigint, b: bigint): bigint => {
  const s = a + b;
  return s >= f.modulus ? s - f.modulus : s;
};
export const sub = (f: Field, a: bigint, b: bigint): bigint => {
  const d = a - b;
  return d < 0n ? d + f.modulus : d;
};
export const mul = (f: Field, a: bigint, b: bigint): bigint => (a * b) % f.modulus;
export const neg = (f: Field, a: bigint): bigint => (a === 0n ? 0n : f.modulus - a);

/** a^e mod p (e >= 0). */
export function pow(f: Field, a: bigint, e: bigint): bigint {
  let result = 1n;
  let base = a % f.modulus;
  while (e > 0n) {
    if (e & 1n) result = (result * base) % f.modulus;
    base = (base * base) % f.modulus;
    e >>= 1n;
  }
  return result;
}

/** 1/a (Fermat); a must be non-zero. */
export const inv = (f: Field, a: bigint): bigint => pow(f, a, f.modulus - 2n);

/** An integer in (-p, p) as a field element (negative values are negations). */
export const fromInt = (f: Field, x: bigint): bigint => (x < 0n ? f.modulus + x : x);

/** The elements of `vec`, each as `encodedSize` little-endian bytes. */
export function encodeVec(f: Field, vec: readonly bigint[]): Uint8Array {
  const out = new Uint8Array(vec.length * f.encodedSize);
  const view = new DataView(out.buffer);
  if (f.encodedSize === 8) {
    for (let i = 0; i < vec.length; i++) view.setBigUint64(8 * i, vec[i]!, true);
  } else {
    for (let i = 0; i < vec.length; i++) {
      const x = vec[i]!;
      view.setBigUint64(16 * i, BigInt.asUintN(64, x), true);
      view.setBigUint64(16 * i + 8, x >> 64n, true);
    }
  }
  return out;
}

/**
 * Parses a vector of field elements; E_ARG (naming `argument`) when the length is not a multiple of
 * the element size or an element is >= p.
 */
export function decodeVec(f: Field, bytes: Uint8Array, argument: string): bigint[] {
  if (bytes.length % f.encodedSize !== 0) {
    throw new PrivkitError('E_ARG', `${argument} must hold whole ${f.name} elements of ${f.encodedSize} bytes, got ${bytes.length} bytes`, { argument });
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const vec = new Array<bigint>(bytes.length / f.encodedSize);
  const wide = f.encodedSize === 16;
  for (let i = 0; i < vec.length; i++) {
    const x = wide ? (view.getBigUint64(16 * i + 8, true) << 64n) | view.getBigUint64(16 * i, true) : view.getBigUint64(8 * i, true);
    if (x >= f.modulus) throw new PrivkitError('E_ARG', `${argument} element ${i} is not below the ${f.name} modulus`, { argument, index: i });
    vec[i] = x;
  }
  return vec;
}

/** The E_ARG of an encoded vector (`argument`) whose element `index` is not below the modulus. */
export function nonCanonicalError(f: Field, argument: string, index: number): PrivkitError {
  return new PrivkitError('E_ARG', `${argument} element ${index} is not below the ${f.name} modulus`, { argument, index });
}

/**
 * Checks that `bytes` holds whole canonical elements (the checks of decodeVec, without making bigints):
 * E_ARG naming `argument` (and the element's index) otherwise. Returns the number of elements.
 */
export function checkEncodedVec(f: Field, bytes: Uint8Array, argument: string): number {
  if (bytes.length % f.encodedSize !== 0) {
    throw new PrivkitError('E_ARG', `${argument} must hold whole ${f.name} elements of ${f.encodedSize} bytes, got ${bytes.length} bytes`, { argument });
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = bytes.length / f.encodedSize;
  // Both moduli have all-ones top 32 bits; an element whose top word is below 0xffffffff is below p.
  const top = f.encodedSize - 4;
  for (let i = 0; i < n; i++) {
    if (view.getUint32(i * f.encodedSize + top, true) === 0xffffffff) {
      const x = f.encodedSize === 16 ? (view.getBigUint64(16 * i + 8, true) << 64n) | view.getBigUint64(16 * i, true) : view.getBigUint64(8 * i, true);
      if (x >= f.modulus) throw nonCanonicalError(f, argument, i);
    }
  }
  return n;
}

/** A vector of integers in [0, 2^53) (all below p), encoded: encoded measurements. */
export function encodeSmallInts(f: Field, values: ArrayLike<number>): FieldVec {
  const out = new Uint8Array(values.length * f.encodedSize);
  const view = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v === 0) continue;
    view.setUint32(f.encodedSize * i, v >>> 0, true);
    view.setUint32(f.encodedSize * i + 4, Math.floor(v / 2 ** 32), true);
  }
  return FieldVec.fromBytes(f, out);
}

/**
 * A field vector held as its encoding (canonical little-endian elements), its bigint elements made
 * only when asked for: Prio3's shares stay bytes for the wasm kernels, bigint is for the circuits'
 * plain-TS paths.
 */
export class FieldVec {
  /** Number of elements. */
  readonly length: number;

  // public fields (not private): the type stays structural, so src and dist declarations agree
  private constructor(
    readonly field: Field,
    /** The encoding, once made. */
    public encoded: Uint8Array | undefined,
    /** The bigint elements, once made. */
    public values: bigint[] | undefined,
  ) {
    this.length = encoded !== undefined ? encoded.length / field.encodedSize : values!.length;
  }

  /** A vector of canonical encoded elements (checked by the caller: decoded input, or a kernel's output). */
  static fromBytes(f: Field, bytes: Uint8Array): FieldVec {
    return new FieldVec(f, bytes, undefined);
  }

  /** A vector of elements in [0, p). */
  static fromValues(f: Field, values: bigint[]): FieldVec {
    return new FieldVec(f, undefined, values);
  }

  /** A bigint vector as is, or a FieldVec. */
  static of(f: Field, v: FieldVec | readonly bigint[]): FieldVec {
    return v instanceof FieldVec ? v : new FieldVec(f, undefined, v.slice());
  }

  /** The encoding (made once; do not modify it). */
  get bytes(): Uint8Array {
    return (this.encoded ??= encodeVec(this.field, this.values!));
  }

  /** The elements as bigints (made once; do not modify them). */
  get vec(): bigint[] {
    return (this.values ??= decodeVec(this.field, this.encoded!, 'vector'));
  }

  /** Elements start..end-1 (a view of the same encoding when it is held). */
  slice(start: number, end: number): FieldVec {
    const size = this.field.encodedSize;
    if (this.encoded !== undefined) return new FieldVec(this.field, this.encoded.subarray(start * size, end * size), undefined);
    return new FieldVec(this.field, undefined, this.values!.slice(start, end));
  }
}

export function vecAdd(f: Field, a: readonly bigint[], b: readonly bigint[]): bigint[] {
  if (a.length !== b.length) throw new PrivkitError('E_SHAPE', `vectors of ${a.length} and ${b.length} field elements cannot be added`);
  return a.map((x, i) => add(f, x, b[i]!));
}

export function vecSub(f: Field, a: readonly bigint[], b: readonly bigint[]): bigint[] {
  if (a.length !== b.length) throw new PrivkitError('E_SHAPE', `vectors of ${a.length} and ${b.length} field elements cannot be subtracted`);
  return a.map((x, i) => sub(f, x, b[i]!));
}

/**
 * The sum mod p of the canonical elements encoded in `bytes`, without a bigint per element: the
 * 32-bit limbs are summed as exact JS numbers (blocks of 2^20 elements keep each limb sum below
 * 2^52) and combined once.
 */
export function sumEncoded(f: Field, bytes: Uint8Array): bigint {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const limbs = f.encodedSize / 4;
  const words = bytes.length / 4;
  const block = limbs * 2 ** 20;
  let total = 0n;
  const sums = new Float64Array(limbs);
  for (let start = 0; start < words; start += block) {
    sums.fill(0);
    const end = Math.min(words, start + block);
    for (let w = start; w < end; w += limbs) for (let l = 0; l < limbs; l++) sums[l] += view.getUint32(4 * (w + l), true);
    for (let l = 0; l < limbs; l++) total += BigInt(sums[l]!) << BigInt(32 * l);
  }
  return total % f.modulus;
}

/** out[i] = sum_l weights[l] * x[i * width + l] for i < count (the reference of the wasm weightedSums). */
export function weightedSums(f: Field, x: readonly bigint[], count: number, width: number, weights: readonly bigint[]): bigint[] {
  return Array.from({ length: count }, (_, i) => {
    let acc = 0n;
    for (let l = 0; l < width; l++) acc = add(f, acc, mul(f, weights[l]!, x[i * width + l]!));
    return acc;
  });
}

export function nextPowerOf2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

function log2Exact(n: number): number {
  const log = Math.log2(n);
  if (!Number.isInteger(log)) throw new PrivkitError('E_ARG', `${n} is not a power of two`);
  return log;
}

const rootCache = new Map<Field, Map<number, bigint[]>>();

/** The first n powers of the principal n-th root of unity W_n = gen^(2^genOrderLog / n) (n a power of 2). */
export function rootPowers(f: Field, n: number): bigint[] {
  let byField = rootCache.get(f);
  if (byField === undefined) rootCache.set(f, (byField = new Map()));
  let powers = byField.get(n);
  if (powers === undefined) {
    const root = nthRoot(f, n);
    powers = new Array<bigint>(n);
    let x = 1n;
    for (let i = 0; i < n; i++) {
      powers[i] = x;
      x = mul(f, x, root);
    }
    byField.set(n, powers);
  }
  return powers;
}

/** Public constants of a field (roots of unity, inverses of small integers), computed once each. */
const constants = new Map<string, bigint>();
function constant(f: Field, key: string, compute: () => bigint): bigint {
  const name = `${f.name} ${key}`;
  let value = constants.get(name);
  if (value === undefined) constants.set(name, (value = compute()));
  return value;
}

/** The principal n-th root of unity W_n (n a power of 2). */
export function nthRoot(f: Field, n: number): bigint {
  const log = log2Exact(n);
  if (log > f.genOrderLog) throw new PrivkitError('E_ARG', `an NTT of ${n} points exceeds the ${f.name} subgroup`);
  return constant(f, `W${n}`, () => pow(f, f.generator, 1n << BigInt(f.genOrderLog - log)));
}

/** W_n^-1. */
export const nthRootInverse = (f: Field, n: number): bigint => constant(f, `W${n}^-1`, () => inv(f, nthRoot(f, n)));

/** 1/k for a public small integer k >= 1 (a number of shares, an NTT size). */
export const invInt = (f: Field, k: number): bigint => constant(f, `1/${k}`, () => inv(f, BigInt(k)));

/** In-place iterative radix-2 NTT of `a` (length n, a power of 2) with the n-th root `roots[1]`. */
function transform(f: Field, a: bigint[], roots: readonly bigint[]): void {
  const n = a.length;
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) [a[i], a[j]] = [a[j]!, a[i]!];
  }
  const p = f.modulus;
  for (let len = 2; len <= n; len *= 2) {
    const stride = n / len;
    const half = len / 2;
    for (let start = 0; start < n; start += len) {
      for (let k = 0; k < half; k++) {
        const u = a[start + k]!;
        const v = (a[start + k + half]! * roots[k * stride]!) % p;
        const s = u + v;
        a[start + k] = s >= p ? s - p : s;
        const d = u - v;
        a[start + k + half] = d < 0n ? d + p : d;
      }
    }
  }
}

/**
 * The evaluations of the polynomial with coefficients `coeffs` (at most n of them) at W_n^i, or at
 * s * W_n^i with s = W_2n when `shifted` (the draft's `ntt(p, n, set_s)`).
 */
export function ntt(f: Field, coeffs: readonly bigint[], n: number, shifted = false): bigint[] {
  if (coeffs.length > n) throw new PrivkitError('E_SHAPE', `${coeffs.length} coefficients do not fit an NTT of ${n} points`);
  const a = new Array<bigint>(n).fill(0n);
  if (shifted) {
    const s = nthRoot(f, 2 * n);
    let sPower = 1n;
    for (let i = 0; i < coeffs.length; i++) {
      a[i] = mul(f, coeffs[i]!, sPower);
      sPower = mul(f, sPower, s);
    }
  } else {
    for (let i = 0; i < coeffs.length; i++) a[i] = coeffs[i]!;
  }
  transform(f, a, rootPowers(f, n));
  return a;
}

/** The coefficients of the polynomial whose evaluations at W_n^i are `values` (length n). */
export function invNtt(f: Field, values: readonly bigint[], n: number): bigint[] {
  if (values.length !== n) throw new PrivkitError('E_SHAPE', `an inverse NTT of ${n} points needs ${n} values, got ${values.length}`);
  const roots = rootPowers(f, n);
  const inverseRoots = roots.map((_, i) => roots[(n - i) % n]!);
  const a = values.slice();
  transform(f, a, inverseRoots);
  const nInv = invInt(f, n);
  for (let i = 0; i < n; i++) a[i] = mul(f, a[i]!, nInv);
  return a;
}

/** Monomial-basis evaluation (Horner). */
export function polyEvalMonomial(f: Field, coeffs: readonly bigint[], x: bigint): bigint {
  let y = 0n;
  for (let i = coeffs.length - 1; i >= 0; i--) y = add(f, mul(f, y, x), coeffs[i]!);
  return y;
}

// ---- Lagrange basis over the first n powers of W_n (section 6.1.3) ----

/** 2n evaluations (at the powers of W_2n) of the polynomial given by n evaluations at the powers of W_n. */
export function doubleEvaluations(f: Field, p: readonly bigint[]): bigint[] {
  const n = p.length;
  log2Exact(n);
  const odd = ntt(f, invNtt(f, p, n), n, true);
  const out = new Array<bigint>(2 * n);
  for (let i = 0; i < n; i++) {
    out[2 * i] = p[i]!;
    out[2 * i + 1] = odd[i]!;
  }
  return out;
}

/** The product of two polynomials given by n evaluations each, as 2n evaluations. */
export function polyMul(f: Field, p: readonly bigint[], q: readonly bigint[]): bigint[] {
  if (p.length !== q.length) throw new PrivkitError('E_SHAPE', 'polynomials of different lengths');
  const p2 = doubleEvaluations(f, p);
  const q2 = doubleEvaluations(f, q);
  return p2.map((x, i) => mul(f, x, q2[i]!));
}

/** Each polynomial (all n evaluations at the powers of W_n, n a power of 2) evaluated at x, in linear time. */
export function polyEvalBatched(f: Field, polys: readonly (readonly bigint[])[], x: bigint): bigint[] {
  const n = polys[0]!.length;
  log2Exact(n);
  const nodes = rootPowers(f, n);
  let k = 1n;
  const u = polys.map((p) => p[0]!);
  let d = sub(f, nodes[0]!, x);
  for (let i = 1; i < n; i++) {
    k = mul(f, k, d);
    d = sub(f, nodes[i]!, x);
    const t = mul(f, k, nodes[i]!);
    for (let j = 0; j < polys.length; j++) u[j] = add(f, mul(f, u[j]!, d), mul(f, t, polys[j]![i]!));
  }
  let factor = invInt(f, n);
  if ((n - 1) % 2 === 1) factor = neg(f, factor);
  return u.map((v) => mul(f, v, factor));
}

/** Appends evaluations (at the next powers of W_n) to `p` in place until it holds n of them. */
export function extendValuesToPowerOf2(f: Field, p: bigint[], n: number): void {
  log2Exact(n);
  if (p.length > n) throw new PrivkitError('E_SHAPE', `${p.length} evaluations exceed ${n}`);
  const x = rootPowers(f, n);
  if (p.length === n - 1) {
    // One value missing: the interpolant has degree < n - 1, so its coefficient of x^(n-1),
    // (1/n) sum_i v_i W^(-i(n-1)) = (1/n) sum_i v_i W^i, is zero and v_(n-1) = -W * sum_(i<n-1) v_i W^i.
    let sum = 0n;
    for (let i = 0; i < n - 1; i++) sum = add(f, sum, mul(f, p[i]!, x[i]!));
    p.push(neg(f, mul(f, sum, x[1 % n]!)));
    return;
  }
  const w = new Array<bigint>(n).fill(0n);
  for (let i = 0; i < p.length; i++) {
    let prod = 1n;
    for (let j = 0; j < p.length; j++) if (j !== i) prod = mul(f, prod, sub(f, x[i]!, x[j]!));
    w[i] = prod;
  }
  for (let k = p.length; k < n; k++) {
    for (let i = 0; i < k; i++) w[i] = mul(f, w[i]!, sub(f, x[i]!, x[k]!));
    let yNum = 0n;
    let yDen = 1n;
    for (let i = 0; i < p.length; i++) {
      yNum = add(f, mul(f, yNum, w[i]!), mul(f, yDen, p[i]!));
      yDen = mul(f, yDen, w[i]!);
    }
    let prod = 1n;
    for (let j = 0; j < k; j++) prod = mul(f, prod, sub(f, x[k]!, x[j]!));
    w[k] = prod;
    p.push(neg(f, mul(f, mul(f, w[k]!, yNum), inv(f, yDen))));
  }
}
