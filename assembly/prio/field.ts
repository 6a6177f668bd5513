// Serves src/prio/kernels.ts (reference: src/prio/field.ts).
// Montgomery arithmetic in the two NTT-friendly fields of Prio3 (draft-irtf-cfrg-vdaf-20, 6.1):
// Field64 (p = 2^64 - 2^32 + 1, R = 2^64) and Field128 (p = 2^128 - 28 * 2^64 + 1, two 64-bit limbs,
// R = 2^128), and on vectors of them: the radix-2 NTT and inverse NTT, and the ParallelSum(Mul)
// gadget polynomial of the FLP (the sum over pairs of wire polynomials of their Lagrange-basis
// products). Vectors cross the boundary as the draft encodes them: canonical little-endian
// elements of 8 or 16 bytes; kernels convert to Montgomery form and back.

// ---- 64 x 64 -> 128-bit products ----

/** High word of a * b. */
// @ts-ignore: decorator
@inline function mulHi(a: u64, b: u64): u64 {
  const a0 = a & 0xffffffff;
  const a1 = a >> 32;
  const b0 = b & 0xffffffff;
  const b1 = b >> 32;
  const p00 = a0 * b0;
  const p01 = a0 * b1;
  const p10 = a1 * b0;
  const mid = (p00 >> 32) + (p01 & 0xffffffff) + (p10 & 0xffffffff);
  return a1 * b1 + (p01 >> 32) + (p10 >> 32) + (mid >> 32);
}

/** The high word of the last mac. */
let macHi: u64 = 0;

/** t + x * y + carry as (low word returned, high word in macHi); never overflows 128 bits. */
// @ts-ignore: decorator
@inline function mac(t: u64, x: u64, y: u64, carry: u64): u64 {
  const lo = x * y;
  let hi = mulHi(x, y);
  const lo2 = lo + t;
  hi += u64(lo2 < lo);
  const lo3 = lo2 + carry;
  hi += u64(lo3 < lo2);
  macHi = hi;
  return lo3;
}

// ---- Field64 ----

const P64: u64 = 0xffffffff00000001;
const NP64: u64 = 0xfffffffeffffffff; // -p^-1 mod 2^64
const R2_64: u64 = 0xfffffffe00000001; // R^2 mod p

/** a * b / R mod p (Montgomery), a, b < p. */
// @ts-ignore: decorator
@inline function mont64(a: u64, b: u64): u64 {
  const tLo = a * b;
  const tHi = mulHi(a, b);
  const m = tLo * NP64;
  const mpHi = mulHi(m, P64);
  // tLo + m * p = 0 mod 2^64, with a carry out exactly when tLo != 0
  const s = tHi + mpHi;
  const c1 = s < tHi;
  const s2 = s + u64(tLo != 0);
  const c2 = s2 < s;
  return c1 || c2 || s2 >= P64 ? s2 - P64 : s2;
}

// @ts-ignore: decorator
@inline function add64(a: u64, b: u64): u64 {
  const s = a + b;
  return s < a || s >= P64 ? s - P64 : s;
}

// @ts-ignore: decorator
@inline function sub64(a: u64, b: u64): u64 {
  return a >= b ? a - b : a - b + P64;
}

// ---- Field128: elements (lo, hi); results' high limb in resHi ----

const P0: u64 = 1; // mont128's reduction relies on p0 = 1
const P1: u64 = 0xffffffffffffffe4;
const NP128: u64 = 0xffffffffffffffff; // -p^-1 mod 2^64 (p = 1 mod 2^64)
const R2_LO: u64 = 0xfffffffffffffcf1;
const R2_HI: u64 = 0x5587;

let resHi: u64 = 0;

/** (x, xHi) - p when it is >= p or when `carry` (a 2^128 bit) is set. */
// @ts-ignore: decorator
@inline function reduce128(lo: u64, hi: u64, carry: bool): u64 {
  if (carry || hi > P1 || (hi == P1 && lo >= P0)) {
    const nlo = lo - P0;
    resHi = hi - P1 - u64(lo < P0);
    return nlo;
  }
  resHi = hi;
  return lo;
}

/** Montgomery product (a0, a1) * (b0, b1) / 2^128 mod p: schoolbook then word-by-word REDC. */
function mont128(a0: u64, a1: u64, b0: u64, b1: u64): u64 {
  let t0 = mac(0, a0, b0, 0);
  let c = macHi;
  let t1 = mac(0, a0, b1, c);
  let t2 = macHi;
  t1 = mac(t1, a1, b0, 0);
  c = macHi;
  t2 = mac(t2, a1, b1, c);
  let t3 = macHi;
  let t4: u64 = 0;
  // first reduction word; p0 = 1 and -p^-1 = -1 mod 2^64, so m = -t0 and t0 + m * p0 leaves
  // only the carry (t0 != 0)
  let m = t0 * NP128;
  c = u64(t0 != 0);
  t1 = mac(t1, m, P1, c);
  c = macHi;
  t2 += c;
  c = u64(t2 < c);
  t3 += c;
  t4 += u64(t3 < c);
  // second reduction word (as the first)
  m = t1 * NP128;
  c = u64(t1 != 0);
  t2 = mac(t2, m, P1, c);
  c = macHi;
  t3 += c;
  t4 += u64(t3 < c);
  return reduce128(t2, t3, t4 != 0);
}

function add128(a0: u64, a1: u64, b0: u64, b1: u64): u64 {
  const lo = a0 + b0;
  const c = u64(lo < a0);
  const hiPartial = a1 + b1;
  const c1 = hiPartial < a1;
  const hi = hiPartial + c;
  const c2 = hi < hiPartial;
  return reduce128(lo, hi, c1 || c2);
}

function sub128(a0: u64, a1: u64, b0: u64, b1: u64): u64 {
  const lo = a0 - b0;
  const borrow = u64(a0 < b0);
  const hi = a1 - b1 - borrow;
  const under = a1 < b1 || (a1 == b1 && borrow != 0);
  if (under) {
    const nlo = lo + P0;
    resHi = hi + P1 + u64(nlo < lo);
    return nlo;
  }
  resHi = hi;
  return lo;
}

// ---- Vectors: conversion to and from Montgomery form ----

/** Converts n canonical elements at x into Montgomery form in place. */
export function toMontgomery(field: i32, x: usize, n: i32): void {
  if (field == 64) {
    for (let i = 0; i < n; i++) {
      const p = x + (<usize>i << 3);
      store<u64>(p, mont64(load<u64>(p), R2_64));
    }
  } else {
    for (let i = 0; i < n; i++) {
      const p = x + (<usize>i << 4);
      const lo = mont128(load<u64>(p), load<u64>(p, 8), R2_LO, R2_HI);
      store<u64>(p, lo);
      store<u64>(p, resHi, 8);
    }
  }
}

/** Converts n Montgomery-form elements at x back to canonical form in place. */
export function fromMontgomery(field: i32, x: usize, n: i32): void {
  if (field == 64) {
    for (let i = 0; i < n; i++) {
      const p = x + (<usize>i << 3);
      store<u64>(p, mont64(load<u64>(p), 1));
    }
  } else {
    for (let i = 0; i < n; i++) {
      const p = x + (<usize>i << 4);
      const lo = mont128(load<u64>(p), load<u64>(p, 8), 1, 0);
      store<u64>(p, lo);
      store<u64>(p, resHi, 8);
    }
  }
}

/** out[i] = a[i] * b[i] for n canonical elements (out may alias a or b). */
export function mulVec(field: i32, out: usize, a: usize, b: usize, n: i32): void {
  if (field == 64) {
    for (let i = 0; i < n; i++) {
      const o = <usize>i << 3;
      store<u64>(out + o, mont64(mont64(load<u64>(a + o), load<u64>(b + o)), R2_64));
    }
  } else {
    for (let i = 0; i < n; i++) {
      const o = <usize>i << 4;
      const lo = mont128(load<u64>(a + o), load<u64>(a + o, 8), load<u64>(b + o), load<u64>(b + o, 8));
      const lo2 = mont128(lo, resHi, R2_LO, R2_HI);
      store<u64>(out + o, lo2);
      store<u64>(out + o, resHi, 8);
    }
  }
}

// ---- NTT on Montgomery-form vectors ----

/** Element i of vector v (Montgomery form): its low limb returned, its high limb (Field128) in resHi. */
// @ts-ignore: decorator
@inline function get(field: i32, v: usize, i: i32): u64 {
  if (field == 64) return load<u64>(v + (<usize>i << 3));
  const p = v + (<usize>i << 4);
  resHi = load<u64>(p, 8);
  return load<u64>(p);
}

// @ts-ignore: decorator
@inline function put(field: i32, v: usize, i: i32, lo: u64, hi: u64): void {
  if (field == 64) {
    store<u64>(v + (<usize>i << 3), lo);
  } else {
    const p = v + (<usize>i << 4);
    store<u64>(p, lo);
    store<u64>(p, hi, 8);
  }
}

/** v[i] *= w^i for i < n, w in Montgomery form at wPtr (the powers go to table). */
function powers(field: i32, table: usize, wLo: u64, wHi: u64, n: i32): void {
  // table[0] = 1 in Montgomery form = R mod p
  if (field == 64) {
    let x: u64 = 0xffffffff;
    for (let i = 0; i < n; i++) {
      store<u64>(table + (<usize>i << 3), x);
      x = mont64(x, wLo);
    }
  } else {
    let lo: u64 = 0xffffffffffffffff;
    let hi: u64 = 0x1b;
    for (let i = 0; i < n; i++) {
      put(field, table, i, lo, hi);
      lo = mont128(lo, hi, wLo, wHi);
      hi = resHi;
    }
  }
}

/**
 * In-place NTT of n (a power of 2) Montgomery-form elements at v: v[k] = sum_j v[j] * root^(jk).
 * `table` holds the n/2 powers root^0..root^(n/2-1) (Montgomery form).
 */
function transform(field: i32, v: usize, n: i32, table: usize): void {
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      if (field == 64) {
        const a = load<u64>(v + (<usize>i << 3));
        store<u64>(v + (<usize>i << 3), load<u64>(v + (<usize>j << 3)));
        store<u64>(v + (<usize>j << 3), a);
      } else {
        const pi = v + (<usize>i << 4);
        const pj = v + (<usize>j << 4);
        const t = v128.load(pi);
        v128.store(pi, v128.load(pj));
        v128.store(pj, t);
      }
    }
  }
  for (let len = 2; len <= n; len <<= 1) {
    const half = len >> 1;
    const stride = n / len;
    for (let start = 0; start < n; start += len) {
      for (let k = 0; k < half; k++) {
        const i = start + k;
        const j = i + half;
        if (field == 64) {
          const u = load<u64>(v + (<usize>i << 3));
          const t = mont64(load<u64>(v + (<usize>j << 3)), load<u64>(table + (<usize>(k * stride) << 3)));
          store<u64>(v + (<usize>i << 3), add64(u, t));
          store<u64>(v + (<usize>j << 3), sub64(u, t));
        } else {
          const uLo = get(field, v, i);
          const uHi = resHi;
          const xLo = get(field, v, j);
          const xHi = resHi;
          const wLo = get(field, table, k * stride);
          const wHi = resHi;
          const tLo = mont128(xLo, xHi, wLo, wHi);
          const tHi = resHi;
          const sLo = add128(uLo, uHi, tLo, tHi);
          put(field, v, i, sLo, resHi);
          const dLo = sub128(uLo, uHi, tLo, tHi);
          put(field, v, j, dLo, resHi);
        }
      }
    }
  }
}

/** v[i] *= s^i (Montgomery form), for the shifted NTT. */
function twist(field: i32, v: usize, n: i32, sLo: u64, sHi: u64, scratch: usize): void {
  powers(field, scratch, sLo, sHi, n);
  scale(field, v, n, scratch, false);
}

/** v[i] *= c[i] (both Montgomery form); with `constant`, c[0] for every i. */
function scale(field: i32, v: usize, n: i32, c: usize, constant: bool): void {
  for (let i = 0; i < n; i++) {
    const ci = constant ? 0 : i;
    if (field == 64) {
      store<u64>(v + (<usize>i << 3), mont64(load<u64>(v + (<usize>i << 3)), load<u64>(c + (<usize>ci << 3))));
    } else {
      const xLo = get(field, v, i);
      const xHi = resHi;
      const cLo = get(field, c, ci);
      const lo = mont128(xLo, xHi, cLo, resHi);
      put(field, v, i, lo, resHi);
    }
  }
}

/**
 * The draft's NTT of n canonical elements at v, in place: with `inverse`, the inverse NTT (root is
 * W_n^-1 and the result is scaled by `nInv`); otherwise v[i] = p(s * W_n^i) where `shift` is s
 * (1 for the plain NTT). root, shift and nInv are canonical elements at their pointers; `scratch`
 * holds n elements.
 */
export function ntt(field: i32, v: usize, n: i32, root: usize, shift: usize, nInv: usize, inverse: bool, scratch: usize): void {
  const size: usize = field == 64 ? 8 : 16;
  toMontgomery(field, v, n);
  // constants to Montgomery form in the scratch block's tail
  const consts = scratch + <usize>n * size;
  memory.copy(consts, root, size);
  memory.copy(consts + size, shift, size);
  memory.copy(consts + 2 * size, nInv, size);
  toMontgomery(field, consts, 3);
  if (!inverse) twist(field, v, n, get(field, consts, 1), resHi, scratch);
  const wLo = get(field, consts, 0);
  powers(field, scratch, wLo, resHi, n >> 1 > 0 ? n >> 1 : 1);
  transform(field, v, n, scratch);
  if (inverse) scale(field, v, n, consts + 2 * size, true);
  fromMontgomery(field, v, n);
}

/** Bytes of ntt's scratch block for n points. */
export function nttScratchBytes(field: i32, n: i32): i32 {
  return (n + 3) * (field == 64 ? 8 : 16);
}

/**
 * The gadget polynomial of ParallelSum(Mul) on `count` pairs of wire polynomials, each given by p
 * evaluations at the powers of W_p (canonical, pair j at wires + 2j * p elements): out gets the 2p
 * evaluations at the powers of W_2p of sum_j wire_2j * wire_2j+1 (the draft's poly_mul, summed).
 * consts holds four canonical elements: W_p, W_p^-1, W_2p and 1/p. scratch: parallelSumMulScratchBytes.
 */
export function parallelSumMul(field: i32, wires: usize, count: i32, p: i32, consts: usize, out: usize, scratch: usize): void {
  const size: usize = field == 64 ? 8 : 16;
  const half = p >> 1 > 0 ? p >> 1 : 1;
  const c = scratch;
  const rootTable = c + 4 * size;
  const invTable = rootTable + <usize>half * size;
  const sPowers = invTable + <usize>half * size;
  const a = sPowers + <usize>p * size;
  const b = a + <usize>(2 * p) * size;
  const tmp = b + <usize>(2 * p) * size;
  memory.copy(c, consts, 4 * size);
  toMontgomery(field, c, 4);
  powers(field, rootTable, get(field, c, 0), resHi, half);
  powers(field, invTable, get(field, c, 1), resHi, half);
  // the twist table s^i / p: the inverse transform's 1/p and the coset shift in one pass
  powers(field, sPowers, get(field, c, 2), resHi, p);
  scale(field, sPowers, p, c + 3 * size, true);
  memory.fill(out, 0, <usize>(2 * p) * size);
  for (let j = 0; j < count; j++) {
    doubled(field, wires + <usize>(2 * j * p) * size, p, a, tmp, rootTable, invTable, sPowers);
    doubled(field, wires + <usize>((2 * j + 1) * p) * size, p, b, tmp, rootTable, invTable, sPowers);
    for (let k = 0; k < 2 * p; k++) {
      if (field == 64) {
        const o = <usize>k << 3;
        store<u64>(out + o, add64(load<u64>(out + o), mont64(load<u64>(a + o), load<u64>(b + o))));
      } else {
        const xLo = get(field, a, k);
        const xHi = resHi;
        const yLo = get(field, b, k);
        const pLo = mont128(xLo, xHi, yLo, resHi);
        const pHi = resHi;
        const sLo = get(field, out, k);
        const lo = add128(sLo, resHi, pLo, pHi);
        put(field, out, k, lo, resHi);
      }
    }
  }
  fromMontgomery(field, out, 2 * p);
}

/**
 * dst (2p Montgomery elements) = the doubled evaluations of the canonical wire polynomial at src;
 * `twist` holds s^i / p (Montgomery form).
 */
function doubled(field: i32, src: usize, p: i32, dst: usize, tmp: usize, rootTable: usize, invTable: usize, twist: usize): void {
  const size: usize = field == 64 ? 8 : 16;
  memory.copy(tmp, src, <usize>p * size);
  toMontgomery(field, tmp, p);
  for (let i = 0; i < p; i++) {
    // even evaluations are the inputs themselves
    if (field == 64) store<u64>(dst + (<usize>(2 * i) << 3), load<u64>(tmp + (<usize>i << 3)));
    else v128.store(dst + (<usize>(2 * i) << 4), v128.load(tmp + (<usize>i << 4)));
  }
  transform(field, tmp, p, invTable);
  scale(field, tmp, p, twist, false);
  transform(field, tmp, p, rootTable);
  for (let i = 0; i < p; i++) {
    if (field == 64) store<u64>(dst + (<usize>(2 * i + 1) << 3), load<u64>(tmp + (<usize>i << 3)));
    else v128.store(dst + (<usize>(2 * i + 1) << 4), v128.load(tmp + (<usize>i << 4)));
  }
}

/** Bytes of parallelSumMul's scratch block for wire polynomials of p evaluations. */
export function parallelSumMulScratchBytes(field: i32, p: i32): i32 {
  const half = p >> 1 > 0 ? p >> 1 : 1;
  return (4 + 2 * half + p + 2 * p + 2 * p + p) * (field == 64 ? 8 : 16);
}

/**
 * Evaluates `count` polynomials, each given by its n evaluations at the powers of W_n (canonical,
 * polynomial i at polys + i * n elements; n a power of 2), at the point x, in linear time (the
 * draft's Lagrange poly_eval_batched, after Faz25). consts holds three canonical elements: W_n, x
 * and (-1)^(n-1) / n. out gets `count` canonical elements. scratch: lagrangeEvalScratchBytes.
 */
export function lagrangeEval(field: i32, polys: usize, count: i32, n: i32, consts: usize, out: usize, scratch: usize): void {
  const size: usize = field == 64 ? 8 : 16;
  const c = scratch;
  const nodes = c + 3 * size;
  const u = nodes + <usize>n * size;
  memory.copy(c, consts, 3 * size);
  toMontgomery(field, c, 3);
  powers(field, nodes, get(field, c, 0), resHi, n);
  const xLo = get(field, c, 1);
  const xHi = resHi;
  // u_j = p_j[0]; k = 1; d = nodes[0] - x
  for (let j = 0; j < count; j++) {
    memory.copy(u + <usize>j * size, polys + <usize>(j * n) * size, size);
  }
  toMontgomery(field, u, count);
  let kLo: u64 = field == 64 ? 0xffffffff : 0xffffffffffffffff;
  let kHi: u64 = field == 64 ? 0 : 0x1b;
  let dLo = diff(field, get(field, nodes, 0), resHi, xLo, xHi);
  let dHi = resHi;
  for (let i = 1; i < n; i++) {
    kLo = mulAny(field, kLo, kHi, dLo, dHi);
    kHi = resHi;
    dLo = diff(field, get(field, nodes, i), resHi, xLo, xHi);
    dHi = resHi;
    const tLo = mulAny(field, kLo, kHi, get(field, nodes, i), resHi);
    const tHi = resHi;
    for (let j = 0; j < count; j++) {
      // u_j = u_j * d + t * p_j[i] (p_j[i] converted to Montgomery form on the fly)
      const at = polys + <usize>(j * n + i) * size;
      let pLo: u64;
      let pHi: u64 = 0;
      if (field == 64) {
        pLo = mont64(load<u64>(at), R2_64);
      } else {
        pLo = mont128(load<u64>(at), load<u64>(at, 8), R2_LO, R2_HI);
        pHi = resHi;
      }
      const aLo = mulAny(field, get(field, u, j), resHi, dLo, dHi);
      const aHi = resHi;
      const bLo = mulAny(field, tLo, tHi, pLo, pHi);
      const bHi = resHi;
      const sLo = field == 64 ? add64(aLo, bLo) : add128(aLo, aHi, bLo, bHi);
      put(field, u, j, sLo, resHi);
    }
  }
  scale(field, u, count, c + 2 * size, true);
  fromMontgomery(field, u, count);
  memory.copy(out, u, <usize>count * size);
}

/** a * b in either field (Montgomery form); Field128's high limb in resHi. */
// @ts-ignore: decorator
@inline function mulAny(field: i32, aLo: u64, aHi: u64, bLo: u64, bHi: u64): u64 {
  if (field == 64) {
    resHi = 0;
    return mont64(aLo, bLo);
  }
  return mont128(aLo, aHi, bLo, bHi);
}

/** a - b in either field; Field128's high limb in resHi. */
// @ts-ignore: decorator
@inline function diff(field: i32, aLo: u64, aHi: u64, bLo: u64, bHi: u64): u64 {
  if (field == 64) {
    resHi = 0;
    return sub64(aLo, bLo);
  }
  return sub128(aLo, aHi, bLo, bHi);
}

/** Bytes of lagrangeEval's scratch block. */
export function lagrangeEvalScratchBytes(field: i32, count: i32, n: i32): i32 {
  return (3 + n + count) * (field == 64 ? 8 : 16);
}

/**
 * The wire polynomials of the chunked bit check (ParallelSum(Mul) in SumVec, Histogram and
 * MultihotCountVec): for call k = 1..calls with r = jointRand[k-1] and the chunk's elements x_j
 * (meas[(k-1) * chunk + j], zero past measLen), wire 2j gets r^(j+1) * x_j and wire 2j+1 gets
 * x_j - sharesInv at position k; position 0 of wire i is seeds[i]; the rest up to p is zero.
 * All canonical; wire i at wires + i * p elements (2 * chunk wires).
 */
export function chunkWires(field: i32, meas: usize, measLen: i32, jointRand: usize, calls: i32, chunk: i32, sharesInv: usize, seeds: usize, p: i32, wires: usize): void {
  const size: usize = field == 64 ? 8 : 16;
  const arity = 2 * chunk;
  memory.fill(wires, 0, <usize>(arity * p) * size);
  for (let i = 0; i < arity; i++) memory.copy(wires + <usize>(i * p) * size, seeds + <usize>i * size, size);
  let sLo: u64;
  let sHi: u64 = 0;
  if (field == 64) {
    sLo = mont64(load<u64>(sharesInv), R2_64);
  } else {
    sLo = mont128(load<u64>(sharesInv), load<u64>(sharesInv, 8), R2_LO, R2_HI);
    sHi = resHi;
  }
  for (let k = 1; k <= calls; k++) {
    let rLo: u64;
    let rHi: u64 = 0;
    const rp = jointRand + <usize>(k - 1) * size;
    if (field == 64) {
      rLo = mont64(load<u64>(rp), R2_64);
    } else {
      rLo = mont128(load<u64>(rp), load<u64>(rp, 8), R2_LO, R2_HI);
      rHi = resHi;
    }
    let powLo = rLo;
    let powHi = rHi;
    for (let j = 0; j < chunk; j++) {
      const index = (k - 1) * chunk + j;
      let xLo: u64 = 0;
      let xHi: u64 = 0;
      if (index < measLen) {
        const xp = meas + <usize>index * size;
        if (field == 64) {
          xLo = mont64(load<u64>(xp), R2_64);
        } else {
          xLo = mont128(load<u64>(xp), load<u64>(xp, 8), R2_LO, R2_HI);
          xHi = resHi;
        }
      }
      const aLo = mulAny(field, powLo, powHi, xLo, xHi);
      const aHi = resHi;
      const bLo = diff(field, xLo, xHi, sLo, sHi);
      const bHi = resHi;
      // back to canonical form
      put(field, wires, (2 * j) * p + k, mulAny(field, aLo, aHi, 1, 0), resHi);
      put(field, wires, (2 * j + 1) * p + k, mulAny(field, bLo, bHi, 1, 0), resHi);
      powLo = mulAny(field, powLo, powHi, rLo, rHi);
      powHi = resHi;
    }
  }
}
