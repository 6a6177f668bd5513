// Serves src/prio/kernels.ts (reference: src/prio/field.ts).
// Montgomery arithmetic in the two NTT-friendly fields of Prio3 (draft-irtf-cfrg-vdaf-20, 6.1):
// Field64 (p = 2^64 - 2^32 + 1, R = 2^64) and Field128 (p = 2^128 - 28 * 2^64 + 1, two 64-bit limbs,
// R = 2^128), and on vectors of them: the radix-2 NTT and inverse NTT, and the ParallelSum(Mul)
// gadget polynomial of the FLP (the sum over pairs of wire polynomials of their Lagrange-basis
// products), its batched Lagrange evaluation, the chunked bit check's wires and the query's checks of
// them at a test point (made from the measurement share, without the wires), with dot products that
// reduce once per sum. Vectors cross the boundary as the draft encodes them: canonical little-endian
// elements of 8 or 16 bytes.

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

// ---- Field64 ----

const P64: u64 = 0xffffffff00000001;
const NP64: u64 = 0xfffffffeffffffff; // -p^-1 mod 2^64
const R2_64: u64 = 0xfffffffe00000001; // R^2 mod p
const ONE_64: u64 = 0xffffffff; // 1 in Montgomery form: R mod p

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
const P1: u64 = 0xffffffffffffffe4; // 2^64 - 28
const R2_LO: u64 = 0xfffffffffffffcf1;
const R2_HI: u64 = 0x5587;
// 1 in Montgomery form: R mod p = 2^128 - p
const ONE_LO: u64 = 0xffffffffffffffff;
const ONE_HI: u64 = 0x1b;
const M32: u64 = 0xffffffff;

let resHi: u64 = 0;

/**
 * (lo, hi) - p when it is >= p or when `carry` (a 2^128 bit) is set, else (lo, hi). Branch-free:
 * in the NTT and in sums the outcome is a coin flip a branch would mispredict.
 */
// @ts-ignore: decorator
@inline function reduce128(lo: u64, hi: u64, carry: bool): u64 {
  const dLo = lo - P0;
  const b1 = u64(lo < P0);
  const dHi = hi - P1 - b1;
  const below = u64(hi < P1) | (u64(hi == P1) & b1);
  const take = carry || below == 0;
  resHi = select<u64>(dHi, hi, take);
  return select<u64>(dLo, lo, take);
}

/** The high word of m * P1 = m * 2^64 - 28m (28m = 32m - 4m, no multiplication); the low word is -28m mod 2^64. */
// @ts-ignore: decorator
@inline function mulP1Hi(m: u64): u64 {
  const lo32 = m << 5;
  const lo4 = m << 2;
  const hi28 = (m >> 59) - (m >> 62) - u64(lo32 < lo4);
  return m - hi28 - u64(lo32 != lo4);
}

/**
 * The Montgomery reduction (t / 2^128 mod p, canonical) of t = sum_k c_k 2^(32k), given by eight
 * 32-bit columns c_k < 2^63 (carries not yet propagated); word-by-word REDC, where p0 = 1 makes
 * m = -t (mod 2^64) and m * p1 = m * 2^64 - 28m needs no multiplication. `wide`: t may reach past
 * 2^256 (a sum of many products), so the REDC result may pass 2^129 and is folded by
 * 2^128 = 28 * 2^64 - 1 (mod p); otherwise t < p^2 (one product) and the result is below 2p.
 */
// @ts-ignore: decorator
@inline function redc(c0: u64, c1: u64, c2: u64, c3: u64, c4: u64, c5: u64, c6: u64, c7: u64, wide: bool): u64 {
  // carries between columns; t = (t0, t1, t2, t3) in 64-bit words, then `top` at 2^256
  c1 += c0 >> 32;
  const t0 = (c0 & M32) | (c1 << 32);
  c2 += c1 >> 32;
  c3 += c2 >> 32;
  let t1 = (c2 & M32) | (c3 << 32);
  c4 += c3 >> 32;
  c5 += c4 >> 32;
  let t2 = (c4 & M32) | (c5 << 32);
  c6 += c5 >> 32;
  c7 += c6 >> 32;
  let t3 = (c6 & M32) | (c7 << 32);
  const top = wide ? c7 >> 32 : 0;
  // first reduction word: m = -t0, t0 + m * p0 leaves the carry (t0 != 0); add m * p1 at word 1
  let m = 0 - t0;
  let mLo = 0 - (m << 5) + (m << 2);
  let mHi = mulP1Hi(m);
  let s = t1 + mLo;
  let k = u64(s < t1);
  t1 = s + u64(t0 != 0);
  k += u64(t1 < s);
  s = t2 + mHi;
  let k2 = u64(s < t2);
  t2 = s + k;
  k2 += u64(t2 < s);
  t3 += k2;
  let t4 = top + u64(t3 < k2);
  // second reduction word (as the first), into words 2 and 3
  m = 0 - t1;
  mLo = 0 - (m << 5) + (m << 2);
  mHi = mulP1Hi(m);
  s = t2 + mLo;
  k = u64(s < t2);
  t2 = s + u64(t1 != 0);
  k += u64(t2 < s);
  s = t3 + mHi;
  k2 = u64(s < t3);
  t3 = s + k;
  k2 += u64(t3 < s);
  t4 += k2;
  if (!wide) return reduce128(t2, t3, t4 != 0);
  // (t2, t3) + t4 (28 * 2^64 - 1); t4 < 2^40, so a carry out leaves a high word below 2^45 and the
  // value minus p is canonical, and without one the value is below 2^128 < 2p
  const lo = t2 - t4;
  const borrow = u64(t2 < t4);
  const hi = t3 + t4 * 28;
  const carry = u64(hi < t3) - u64(hi < borrow);
  return reduce128(lo, hi - borrow, carry != 0);
}

/**
 * Montgomery product (a0, a1) * (b0, b1) / 2^128 mod p, a, b < p. The 256-bit product from sixteen
 * 32 x 32-bit products, their halves summed per 32-bit column (at most eight terms below 2^32 each,
 * so no column overflows); then redc.
 */
// @ts-ignore: decorator
@inline function mont128(a0: u64, a1: u64, b0: u64, b1: u64): u64 {
  const x0 = a0 & M32;
  const x1 = a0 >> 32;
  const x2 = a1 & M32;
  const x3 = a1 >> 32;
  const y0 = b0 & M32;
  const y1 = b0 >> 32;
  const y2 = b1 & M32;
  const y3 = b1 >> 32;
  let q = x0 * y0;
  const c0 = q & M32;
  let c1 = q >> 32;
  q = x0 * y1;
  c1 += q & M32;
  let c2 = q >> 32;
  q = x1 * y0;
  c1 += q & M32;
  c2 += q >> 32;
  q = x0 * y2;
  c2 += q & M32;
  let c3 = q >> 32;
  q = x1 * y1;
  c2 += q & M32;
  c3 += q >> 32;
  q = x2 * y0;
  c2 += q & M32;
  c3 += q >> 32;
  q = x0 * y3;
  c3 += q & M32;
  let c4 = q >> 32;
  q = x1 * y2;
  c3 += q & M32;
  c4 += q >> 32;
  q = x2 * y1;
  c3 += q & M32;
  c4 += q >> 32;
  q = x3 * y0;
  c3 += q & M32;
  c4 += q >> 32;
  q = x1 * y3;
  c4 += q & M32;
  let c5 = q >> 32;
  q = x2 * y2;
  c4 += q & M32;
  c5 += q >> 32;
  q = x3 * y1;
  c4 += q & M32;
  c5 += q >> 32;
  q = x2 * y3;
  c5 += q & M32;
  let c6 = q >> 32;
  q = x3 * y2;
  c5 += q & M32;
  c6 += q >> 32;
  q = x3 * y3;
  c6 += q & M32;
  let c7 = q >> 32;
  return redc(c0, c1, c2, c3, c4, c5, c6, c7, false);
}

// @ts-ignore: decorator
@inline function add128(a0: u64, a1: u64, b0: u64, b1: u64): u64 {
  const lo = a0 + b0;
  const c = u64(lo < a0);
  const hiPartial = a1 + b1;
  const hi = hiPartial + c;
  const carry = (u64(hiPartial < a1) | u64(hi < hiPartial)) != 0;
  return reduce128(lo, hi, carry);
}

/** a - b, adding p back on a borrow (branch-free). */
// @ts-ignore: decorator
@inline function sub128(a0: u64, a1: u64, b0: u64, b1: u64): u64 {
  const lo = a0 - b0;
  const borrow = u64(a0 < b0);
  const hi = a1 - b1 - borrow;
  const under = u64(a1 < b1) | (u64(a1 == b1) & borrow);
  const mask = 0 - under;
  const nlo = lo + (mask & P0);
  resHi = hi + (mask & P1) + u64(nlo < lo);
  return nlo;
}

// ---- Field128, two products at a time (SIMD) ----

const MASK32: v128 = i64x2.splat(0xffffffff);

// @ts-ignore: decorator
@inline function lo32(q: v128): v128 {
  return v128.and(q, MASK32);
}

// @ts-ignore: decorator
@inline function hi32(q: v128): v128 {
  return i64x2.shr_u(q, 32);
}

/** The high words of the last mont128Pair. */
let pairHi: v128 = i64x2.splat(0);

/**
 * Two Montgomery products at once (i64x2 lanes): x0 * y0 and x1 * y1 for the Field128 elements at
 * the four addresses; the low words returned, the high words in pairHi. mont128 in 32-bit columns
 * with i64x2.extmul products; the REDC runs by 32-bit words too (p = 1 - 28 * 2^64 + 2^128, so
 * m = -c_i mod 2^32 and m * p adds m at column i, -28m at column i + 2 and m at column i + 4).
 */
// @ts-ignore: decorator
@inline function mont128Pair(x0: usize, x1: usize, y0: usize, y1: usize): v128 {
  return mont128PairOf(v128.load(x0), v128.load(x1), v128.load(y0), v128.load(y1));
}

/** mont128Pair on elements in registers (each v128 one element: low limb in lane 0, high in lane 1). */
// @ts-ignore: decorator
@inline function mont128PairOf(A0: v128, A1: v128, B0: v128, B1: v128): v128 {
  return productPair(A0, A1, B0, B1, REDUCE);
}

/** productPair's REDC bias: 2^40 at column 2, 2^40 - 2^8 at columns 3 to 6, -2^8 at column 7. */
const BIAS_LOW: v128 = i64x2.splat(<u64>1 << 40);
const BIAS: v128 = i64x2.splat((<u64>1 << 40) - 256);
const BIAS_CARRY: v128 = i64x2.splat(256);

/** productPair's `acc` for the Montgomery products (reduced) rather than column sums. */
const REDUCE: usize = 0;

/**
 * The 256-bit products A0 * B0 (lane 0) and A1 * B1 (lane 1) of Field128 elements as eight i64x2
 * columns of 32 bits (sixteen i64x2.extmul products of 32-bit limbs, their halves summed per
 * column: each column below 2^35). With acc REDUCE, their Montgomery reductions: the low words
 * returned, the high words in pairHi. Otherwise the columns are added, unreduced, to the eight i64x2
 * column sums at acc (up to 2^27 products fit a column's 64 bits) and zero is returned. Inlined with
 * a constant acc, so each caller keeps only its own ending.
 */
// @ts-ignore: decorator
@inline function productPair(A0: v128, A1: v128, B0: v128, B1: v128, acc: usize): v128 {
  // limbs across the two lanes: [l0 of 0, l0 of 1, l1 of 0, l1 of 1] and the same for l2, l3
  const Y01 = i32x4.shuffle(B0, B1, 0, 4, 1, 5);
  const Y23 = i32x4.shuffle(B0, B1, 2, 6, 3, 7);
  return productLimbs(i32x4.shuffle(A0, A1, 0, 4, 1, 5), i32x4.shuffle(A0, A1, 2, 6, 3, 7), Y01, Y23, swapHalves(Y01), swapHalves(Y23), acc);
}

/** The two 64-bit halves of v swapped. */
// @ts-ignore: decorator
@inline function swapHalves(v: v128): v128 {
  return i8x16.shuffle(v, v, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7);
}

/**
 * productPair on its operands' 32-bit limbs across the lanes: X01 = [x0 of lane 0, x0 of lane 1,
 * x1 of lane 0, x1 of lane 1], X23 the same for limbs 2 and 3, Y01 and Y23 the same for the other
 * operand and Y10, Y32 those with their halves swapped (a caller multiplying by one element many
 * times makes them once).
 */
// @ts-ignore: decorator
@inline function productLimbs(X01: v128, X23: v128, Y01: v128, Y23: v128, Y10: v128, Y32: v128, acc: usize): v128 {
  let q = i64x2.extmul_low_i32x4_u(X01, Y01);
  let c0 = lo32(q);
  let c1 = hi32(q);
  q = i64x2.extmul_high_i32x4_u(X01, Y01);
  let c2 = lo32(q);
  let c3 = hi32(q);
  // the cross products x0 y1 + x1 y0 (and the like) share columns: summed as halves
  q = i64x2.extmul_low_i32x4_u(X01, Y10);
  let r = i64x2.extmul_high_i32x4_u(X01, Y10);
  c1 = i64x2.add(c1, i64x2.add(lo32(q), lo32(r)));
  c2 = i64x2.add(c2, i64x2.add(hi32(q), hi32(r)));
  q = i64x2.extmul_low_i32x4_u(X01, Y23);
  r = i64x2.extmul_low_i32x4_u(X23, Y01);
  c2 = i64x2.add(c2, i64x2.add(lo32(q), lo32(r)));
  c3 = i64x2.add(c3, i64x2.add(hi32(q), hi32(r)));
  q = i64x2.extmul_low_i32x4_u(X01, Y32);
  r = i64x2.extmul_high_i32x4_u(X01, Y32);
  c3 = i64x2.add(c3, i64x2.add(lo32(q), lo32(r)));
  let c4 = i64x2.add(hi32(q), hi32(r));
  q = i64x2.extmul_low_i32x4_u(X23, Y10);
  r = i64x2.extmul_high_i32x4_u(X23, Y10);
  c3 = i64x2.add(c3, i64x2.add(lo32(q), lo32(r)));
  c4 = i64x2.add(c4, i64x2.add(hi32(q), hi32(r)));
  q = i64x2.extmul_high_i32x4_u(X01, Y23);
  r = i64x2.extmul_high_i32x4_u(X23, Y01);
  c4 = i64x2.add(c4, i64x2.add(lo32(q), lo32(r)));
  let c5 = i64x2.add(hi32(q), hi32(r));
  q = i64x2.extmul_low_i32x4_u(X23, Y23);
  c4 = i64x2.add(c4, lo32(q));
  c5 = i64x2.add(c5, hi32(q));
  q = i64x2.extmul_low_i32x4_u(X23, Y32);
  r = i64x2.extmul_high_i32x4_u(X23, Y32);
  c5 = i64x2.add(c5, i64x2.add(lo32(q), lo32(r)));
  let c6 = i64x2.add(hi32(q), hi32(r));
  q = i64x2.extmul_high_i32x4_u(X23, Y23);
  c6 = i64x2.add(c6, lo32(q));
  let c7 = hi32(q);
  const zero = i64x2.splat(0);
  if (acc != REDUCE) {
    v128.store(acc, i64x2.add(v128.load(acc), c0));
    v128.store(acc, i64x2.add(v128.load(acc, 16), c1), 16);
    v128.store(acc, i64x2.add(v128.load(acc, 32), c2), 32);
    v128.store(acc, i64x2.add(v128.load(acc, 48), c3), 48);
    v128.store(acc, i64x2.add(v128.load(acc, 64), c4), 64);
    v128.store(acc, i64x2.add(v128.load(acc, 80), c5), 80);
    v128.store(acc, i64x2.add(v128.load(acc, 96), c6), 96);
    v128.store(acc, i64x2.add(v128.load(acc, 112), c7), 112);
    return zero;
  }
  // REDC. Its -28m terms would take columns 2 to 6 below zero; a bias keeps them positive, so that
  // their carries are logical shifts (wasm's arithmetic i64x2 shift is six instructions on x64):
  // 2^40 added to columns 2 to 6 and 2^8 (its carry) taken from columns 3 to 7, a sum of zero
  c2 = i64x2.add(c2, BIAS_LOW);
  c3 = i64x2.add(c3, BIAS);
  c4 = i64x2.add(c4, BIAS);
  c5 = i64x2.add(c5, BIAS);
  c6 = i64x2.add(c6, BIAS);
  c7 = i64x2.sub(c7, BIAS_CARRY);
  let m = v128.and(i64x2.sub(zero, c0), MASK32);
  c1 = i64x2.add(c1, hi32(i64x2.add(c0, m)));
  c2 = i64x2.sub(c2, i64x2.sub(i64x2.shl(m, 5), i64x2.shl(m, 2)));
  c4 = i64x2.add(c4, m);
  m = v128.and(i64x2.sub(zero, c1), MASK32);
  c2 = i64x2.add(c2, hi32(i64x2.add(c1, m)));
  c3 = i64x2.sub(c3, i64x2.sub(i64x2.shl(m, 5), i64x2.shl(m, 2)));
  c5 = i64x2.add(c5, m);
  m = v128.and(i64x2.sub(zero, c2), MASK32);
  c3 = i64x2.add(c3, i64x2.shr_u(i64x2.add(c2, m), 32));
  c4 = i64x2.sub(c4, i64x2.sub(i64x2.shl(m, 5), i64x2.shl(m, 2)));
  c6 = i64x2.add(c6, m);
  m = v128.and(i64x2.sub(zero, c3), MASK32);
  c4 = i64x2.add(c4, i64x2.shr_u(i64x2.add(c3, m), 32));
  c5 = i64x2.sub(c5, i64x2.sub(i64x2.shl(m, 5), i64x2.shl(m, 2)));
  c7 = i64x2.add(c7, m);
  // V = (c4..c7) in [0, 2p), its columns' carries made (a column's bits past 32 are shifted out
  // when packed): V >= p when its bit 128 (c7's bit 32) is set or (hi, lo) >= p = (P1, 1), and then
  // the result is (hi, lo) - p mod 2^128
  c5 = i64x2.add(c5, i64x2.shr_u(c4, 32));
  c6 = i64x2.add(c6, i64x2.shr_u(c5, 32));
  c7 = i64x2.add(c7, i64x2.shr_u(c6, 32));
  const lo = v128.or(lo32(c4), i64x2.shl(c5, 32));
  const hi = v128.or(lo32(c6), i64x2.shl(c7, 32));
  const borrow = i64x2.eq(lo, zero);
  const take = v128.or(i64x2.sub(zero, i64x2.shr_u(c7, 32)), v128.not(lessU(hi, i64x2.sub(P1_LANES, borrow))));
  pairHi = i64x2.add(i64x2.sub(hi, v128.and(take, P1_LANES)), v128.and(borrow, take));
  return i64x2.add(lo, take);
}

/** Stores the products of the last mont128Pair (low words lo): lane 0 at p0, lane 1 at p1. */
// @ts-ignore: decorator
@inline function storePair(p0: usize, p1: usize, lo: v128): void {
  v128.store(p0, i64x2.shuffle(lo, pairHi, 0, 2));
  v128.store(p1, i64x2.shuffle(lo, pairHi, 1, 3));
}

// ---- Field128, two elements across the lanes ----
// An element pair (a, b) as two v128: the low limbs [a0, b0] and the high limbs [a1, b1], so that
// sums, differences and products of pairs run on both lanes without moving limbs between them.

const SIGN: v128 = i64x2.splat(0x8000000000000000);
const P1_LANES: v128 = i64x2.splat(P1);

/** The high limbs of the last addLanes, subLanes or mulLanes. */
let lanesHi: v128 = i64x2.splat(0);

/** Lane masks of a < b (unsigned 64-bit). */
// @ts-ignore: decorator
@inline function lessU(a: v128, b: v128): v128 {
  return i64x2.lt_s(v128.xor(a, SIGN), v128.xor(b, SIGN));
}

/** (aLo, aHi) + (bLo, bHi) mod p on both lanes (canonical operands), branch-free: a - (p - b); high limbs in lanesHi. */
// @ts-ignore: decorator
@inline function addLanes(aLo: v128, aHi: v128, bLo: v128, bHi: v128): v128 {
  // p - b in (0, p]: p = (1, P1), borrowing from the high limb when bLo > 1
  const borrow = lessU(i64x2.splat(1), bLo);
  return subLanes(aLo, aHi, i64x2.sub(i64x2.splat(1), bLo), i64x2.add(i64x2.sub(P1_LANES, bHi), borrow));
}

/** (aLo, aHi) - (bLo, bHi) mod p on both lanes (a canonical, b <= p), branch-free; high limbs in lanesHi. */
// @ts-ignore: decorator
@inline function subLanes(aLo: v128, aHi: v128, bLo: v128, bHi: v128): v128 {
  const dLo = i64x2.sub(aLo, bLo);
  const borrow = lessU(aLo, bLo);
  const dHi = i64x2.add(i64x2.sub(aHi, bHi), borrow);
  // a < b: bHi - borrow does not overflow (bHi <= P1 < 2^64 - 1)
  const under = lessU(aHi, i64x2.sub(bHi, borrow));
  // + p where a < b: 1 to the low limb (carrying when it wraps to 0), P1 to the high
  const nLo = i64x2.sub(dLo, under);
  const carry = v128.and(under, i64x2.eq(nLo, i64x2.splat(0)));
  lanesHi = i64x2.sub(i64x2.add(dHi, v128.and(under, P1_LANES)), carry);
  return nLo;
}

/**
 * The limbs of a twiddle w (one element, low limb then high in one v128) for mulLanes: W[0..3]
 * get [w0, w0, w1, w1], [w2, w2, w3, w3] and those with their halves swapped.
 */
// @ts-ignore: decorator
@inline function twiddleLimbs(w: v128, W: usize): void {
  const W01 = i32x4.shuffle(w, w, 0, 0, 1, 1);
  const W23 = i32x4.shuffle(w, w, 2, 2, 3, 3);
  v128.store(W, W01);
  v128.store(W, W23, 16);
  v128.store(W, swapHalves(W01), 32);
  v128.store(W, swapHalves(W23), 48);
}

/** (xLo, xHi) * w / R mod p on both lanes, w's limbs by twiddleLimbs at W; canonical, high limbs in lanesHi. */
// @ts-ignore: decorator
@inline function mulLanes(xLo: v128, xHi: v128, W: usize): v128 {
  const lo = productLimbs(i32x4.shuffle(xLo, xLo, 0, 2, 1, 3), i32x4.shuffle(xHi, xHi, 0, 2, 1, 3), v128.load(W), v128.load(W, 16), v128.load(W, 32), v128.load(W, 48), REDUCE);
  lanesHi = pairHi;
  return lo;
}

// ---- Dot products, reduced once ----

/** Adds the 256-bit products A0 * B0 (lane 0) and A1 * B1 (lane 1), unreduced, to the eight i64x2 column sums at acc (productPair). */
// @ts-ignore: decorator
@inline function accumulatePair(acc: usize, A0: v128, A1: v128, B0: v128, B1: v128): void {
  productPair(A0, A1, B0, B1, acc);
}

/** Column i of the sums at acc: lane 0 or 1, or both lanes added (lane -1). */
// @ts-ignore: decorator
@inline function column(acc: usize, i: i32, lane: i32): u64 {
  const at = acc + (<usize>i << 4);
  return lane < 0 ? load<u64>(at) + load<u64>(at, 8) : load<u64>(at + (<usize>lane << 3));
}

/** The canonical wide REDC of accumulatePair's column sums at acc (lane 0 or 1, or -1 for both); high limb in resHi. */
// @ts-ignore: decorator
@inline function reduceColumns(acc: usize, lane: i32): u64 {
  return redc(column(acc, 0, lane), column(acc, 1, lane), column(acc, 2, lane), column(acc, 3, lane), column(acc, 4, lane), column(acc, 5, lane), column(acc, 6, lane), column(acc, 7, lane), true);
}

/** dot's column sums (secret: zeroed before dot returns). */
const DOT_COLUMNS: usize = memory.data(128, 16);

/**
 * sum_i a[i * aStride] * b[i] / R mod p over n elements (canonical a and b in Montgomery form give
 * the canonical sum of products). Field128 sums the 256-bit products without reducing them, two at
 * a time (accumulatePair), and reduces once at the end.
 */
function dot(field: i32, a: usize, aStride: i32, b: usize, n: i32): u64 {
  if (field == 64) {
    let acc: u64 = 0;
    for (let i = 0; i < n; i++) acc = add64(acc, mont64(load<u64>(a + (<usize>(i * aStride) << 3)), load<u64>(b + (<usize>i << 3))));
    resHi = 0;
    return acc;
  }
  const zero = i64x2.splat(0);
  const step = <usize>aStride << 4;
  let pa = a;
  let pb = b;
  for (let i = 0; i < n; i += 2) {
    // an odd last product pairs with zero
    const last = i + 1 >= n;
    accumulatePair(DOT_COLUMNS, v128.load(pa), last ? zero : v128.load(pa + step), v128.load(pb), last ? zero : v128.load(pb, 16));
    pa += 2 * step;
    pb += 32;
  }
  const lo = reduceColumns(DOT_COLUMNS, -1);
  memory.fill(DOT_COLUMNS, 0, 128);
  return lo;
}

/**
 * out[0] = dot(x, u) and out[1] = dot(x, w) over the same n elements x[i * xStride] (u and w
 * contiguous): in Field128 one pass, x[i] u[i] and x[i] w[i] in the two lanes of one accumulatePair.
 */
function dots(field: i32, x: usize, xStride: i32, u: usize, w: usize, n: i32, out: usize): void {
  if (field == 64) {
    put(field, out, 0, dot(field, x, xStride, u, n), 0);
    put(field, out, 1, dot(field, x, xStride, w, n), 0);
    return;
  }
  const step = <usize>xStride << 4;
  for (let i = 0; i < n; i++) {
    const X = v128.load(x + <usize>i * step);
    const at = <usize>i << 4;
    accumulatePair(DOT_COLUMNS, X, X, v128.load(u + at), v128.load(w + at));
  }
  put(field, out, 0, reduceColumns(DOT_COLUMNS, 0), resHi);
  put(field, out, 1, reduceColumns(DOT_COLUMNS, 1), resHi);
  memory.fill(DOT_COLUMNS, 0, 128);
}

// ---- Vectors ----
// Vector data stays canonical in every kernel; only constants (roots of unity, twists, scale
// factors, random points) are brought into Montgomery form. The Montgomery product of a canonical x
// and the Montgomery form cR of a constant c is x * c, canonical again, and the NTT is linear, so no
// vector needs converting.

/** a * b in either field (Montgomery product); Field128's high limb in resHi. */
// @ts-ignore: decorator
@inline function mulAny(field: i32, aLo: u64, aHi: u64, bLo: u64, bHi: u64): u64 {
  if (field == 64) {
    resHi = 0;
    return mont64(aLo, bLo);
  }
  return mont128(aLo, aHi, bLo, bHi);
}

/** a + b in either field; Field128's high limb in resHi. */
// @ts-ignore: decorator
@inline function sum(field: i32, aLo: u64, aHi: u64, bLo: u64, bHi: u64): u64 {
  if (field == 64) {
    resHi = 0;
    return add64(aLo, bLo);
  }
  return add128(aLo, aHi, bLo, bHi);
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

/** Element i of vector v: its low limb returned, its high limb (0 in Field64) in resHi. */
// @ts-ignore: decorator
@inline function get(field: i32, v: usize, i: i32): u64 {
  if (field == 64) {
    resHi = 0;
    return load<u64>(v + (<usize>i << 3));
  }
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

/**
 * The index of the first of the n encoded elements at v that is not below p, or -1 when all are
 * canonical (the check of src/prio/field.ts's checkEncodedVec on bytes already in wasm memory).
 */
export function firstNonCanonical(field: i32, v: usize, n: i32): i32 {
  for (let i = 0; i < n; i++) {
    const lo = get(field, v, i);
    const hi = resHi;
    const below = field == 64 ? lo < P64 : hi < P1 || (hi == P1 && lo < P0);
    if (!below) return i;
  }
  return -1;
}

/** R^2 mod p of Field128 in memory, for scale. */
const R2_128: usize = memory.data<u64>([R2_LO, R2_HI], 16);

/** Converts n canonical elements at x into Montgomery form in place (x * R^2 / R; Field128 two at a time). */
export function toMontgomery(field: i32, x: usize, n: i32): void {
  if (field == 128) {
    scale(field, x, n, R2_128, true);
    return;
  }
  for (let i = 0; i < n; i++) store<u64>(x + (<usize>i << 3), mont64(load<u64>(x + (<usize>i << 3)), R2_64));
}

/**
 * Whether the canonical element at x has x^n = 1 (n a power of 2): squared log2(n) times in
 * Montgomery form (one conversion, no conversions back), then compared with the Montgomery one.
 */
export function powerIsOne(field: i32, x: usize, n: i32): bool {
  let lo = get(field, x, 0);
  lo = mulAny(field, lo, resHi, field == 64 ? R2_64 : R2_LO, field == 64 ? 0 : R2_HI);
  let hi = resHi;
  for (let e = 1; e < n; e <<= 1) {
    lo = mulAny(field, lo, hi, lo, hi);
    hi = resHi;
  }
  return field == 64 ? lo == ONE_64 : lo == ONE_LO && hi == ONE_HI;
}

/** out[i] = a[i] * b[i] for n canonical elements (out may alias a or b). */
export function mulVec(field: i32, out: usize, a: usize, b: usize, n: i32): void {
  for (let i = 0; i < n; i++) {
    const aLo = get(field, a, i);
    const aHi = resHi;
    const bLo = get(field, b, i);
    // a * b / R, then times R^2 / R
    const lo = mulAny(field, aLo, aHi, bLo, resHi);
    put(field, out, i, mulAny(field, lo, resHi, field == 64 ? R2_64 : R2_LO, field == 64 ? 0 : R2_HI), resHi);
  }
}

/** out[i] = a[i] + b[i] (negate: a[i] - b[i]) for n canonical elements (out may alias a or b). */
export function addVec(field: i32, out: usize, a: usize, b: usize, n: i32, negate: bool): void {
  for (let i = 0; i < n; i++) {
    const aLo = get(field, a, i);
    const aHi = resHi;
    const bLo = get(field, b, i);
    const bHi = resHi;
    put(field, out, i, negate ? diff(field, aLo, aHi, bLo, bHi) : sum(field, aLo, aHi, bLo, bHi), resHi);
  }
}

/**
 * out[i] = sum_l weights[l] * x[i * width + l] for i < count (canonical in and out): the linear
 * decodings of Prio3's encodings (bit weights of a range-checked integer, all ones for a sum).
 * `weights` (width elements) is converted to Montgomery form in place.
 */
export function weightedSums(field: i32, x: usize, count: i32, width: i32, weights: usize, out: usize): void {
  toMontgomery(field, weights, width);
  const size: usize = field == 64 ? 8 : 16;
  // (w R) * x / R = w * x, canonical
  for (let i = 0; i < count; i++) put(field, out, i, dot(field, x + <usize>(i * width) * size, 1, weights, width), resHi);
}

/**
 * out = sum_i x[i] over n canonical elements, a canonical result. Field128 adds no products: the
 * elements' 32-bit columns summed (two i64x2 lanes each: below 2^32 n) are the top half of a t =
 * sum * 2^128 whose wide REDC (t / 2^128 mod p) is the sum.
 */
export function sumVec(field: i32, x: usize, n: i32, out: usize): void {
  if (field == 64) {
    let acc: u64 = 0;
    for (let i = 0; i < n; i++) acc = add64(acc, load<u64>(x + (<usize>i << 3)));
    put(field, out, 0, acc, 0);
    return;
  }
  // [column 4, column 6] and [column 5, column 7] of t
  let even = i64x2.splat(0);
  let odd = i64x2.splat(0);
  for (let i = 0; i < n; i++) {
    const v = v128.load(x + (<usize>i << 4));
    even = i64x2.add(even, lo32(v));
    odd = i64x2.add(odd, hi32(v));
  }
  const lo = redc(0, 0, 0, 0, i64x2.extract_lane(even, 0), i64x2.extract_lane(odd, 0), i64x2.extract_lane(even, 1), i64x2.extract_lane(odd, 1), true);
  put(field, out, 0, lo, resHi);
}

/**
 * out = sum_i weights[i] * x[i * stride] for i < n: canonical x, weights already in Montgomery form
 * (a linear form converted once by its caller), a canonical result.
 */
export function dotMontgomery(field: i32, x: usize, stride: i32, weights: usize, n: i32, out: usize): void {
  put(field, out, 0, dot(field, x, stride, weights, n), resHi);
}

/** table[i] = w^i for i < n, in Montgomery form (w given in Montgomery form). */
function powers(field: i32, table: usize, wLo: u64, wHi: u64, n: i32): void {
  let lo: u64 = field == 64 ? ONE_64 : ONE_LO;
  let hi: u64 = field == 64 ? 0 : ONE_HI;
  for (let i = 0; i < n; i++) {
    put(field, table, i, lo, hi);
    lo = mulAny(field, lo, hi, wLo, wHi);
    hi = resHi;
  }
}

/** v[i] *= c[i] (c in Montgomery form); with `constant`, c[0] for every i. */
function scale(field: i32, v: usize, n: i32, c: usize, constant: bool): void {
  let i = 0;
  if (field == 128) {
    for (; i + 1 < n; i += 2) {
      const at = v + (<usize>i << 4);
      const ci = constant ? c : c + (<usize>i << 4);
      storePair(at, at + 16, mont128Pair(at, at + 16, ci, constant ? c : ci + 16));
    }
  }
  for (; i < n; i++) {
    const cLo = get(field, c, constant ? 0 : i);
    const cHi = resHi;
    const xLo = get(field, v, i);
    put(field, v, i, mulAny(field, xLo, resHi, cLo, cHi), resHi);
  }
}

// ---- NTT ----

/** Swaps v[i] and v[j] for every i < j with j the bit reversal of i (n a power of 2). */
function bitReverse(field: i32, v: usize, n: i32): void {
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
}

/** The butterfly (v[i], v[j]) = (v[i] + w v[j], v[i] - w v[j]); w in Montgomery form, `one` when w = 1. */
// @ts-ignore: decorator
@inline function butterfly(field: i32, v: usize, i: i32, j: i32, wLo: u64, wHi: u64, one: bool): void {
  let xLo = get(field, v, j);
  let xHi = resHi;
  if (!one) {
    xLo = mulAny(field, xLo, xHi, wLo, wHi);
    xHi = resHi;
  }
  const uLo = get(field, v, i);
  const uHi = resHi;
  put(field, v, i, sum(field, uLo, uHi, xLo, xHi), resHi);
  put(field, v, j, diff(field, uLo, uHi, xLo, xHi), resHi);
}

/** Two Field128 butterflies (v[i0], v[j0]) and (v[i1], v[j1]) given the products w v[j] of a mont128Pair (low words lo, high words hi). */
// @ts-ignore: decorator
@inline function butterflyPairWith(v: usize, i0: i32, j0: i32, i1: i32, j1: i32, lo: v128, hi: v128): void {
  butterflyWith(v, i0, j0, i64x2.extract_lane(lo, 0), i64x2.extract_lane(hi, 0));
  butterflyWith(v, i1, j1, i64x2.extract_lane(lo, 1), i64x2.extract_lane(hi, 1));
}

/** (v[i], v[j]) = (v[i] + t, v[i] - t) in Field128. */
// @ts-ignore: decorator
@inline function butterflyWith(v: usize, i: i32, j: i32, tLo: u64, tHi: u64): void {
  const pi = v + (<usize>i << 4);
  const pj = v + (<usize>j << 4);
  const uLo = load<u64>(pi);
  const uHi = load<u64>(pi, 8);
  store<u64>(pi, add128(uLo, uHi, tLo, tHi));
  store<u64>(pi, resHi, 8);
  store<u64>(pj, sub128(uLo, uHi, tLo, tHi));
  store<u64>(pj, resHi, 8);
}

/** The Gentleman-Sande butterfly (v[i], v[j]) = (v[i] + v[j], (v[i] - v[j]) w); w in Montgomery form, `one` when w = 1. */
// @ts-ignore: decorator
@inline function difButterfly(field: i32, v: usize, i: i32, j: i32, wLo: u64, wHi: u64, one: bool): void {
  const uLo = get(field, v, i);
  const uHi = resHi;
  const xLo = get(field, v, j);
  const xHi = resHi;
  put(field, v, i, sum(field, uLo, uHi, xLo, xHi), resHi);
  let dLo = diff(field, uLo, uHi, xLo, xHi);
  let dHi = resHi;
  if (!one) {
    dLo = mulAny(field, dLo, dHi, wLo, wHi);
    dHi = resHi;
  }
  put(field, v, j, dLo, dHi);
}

/**
 * In-place radix-2 NTT of n (a power of 2) elements at v: v[k] = sum_j v[j] * root^(jk), in
 * whatever form v is (the transform is linear). `table` holds root^0..root^(n/2-1) in Montgomery
 * form.
 */
function transform(field: i32, v: usize, n: i32, table: usize): void {
  bitReverse(field, v, n);
  ditLayers(field, v, n, table, 0);
}

/**
 * The decimation-in-time layers of the NTT (Cooley-Tukey): from v in bit-reversed order to the
 * transform in natural order. Each layer goes twiddle by twiddle, so a twiddle is loaded once and
 * the first (1) costs no multiplication. A `twist` table (Montgomery form, 0 for none) multiplies v
 * element-wise first.
 */
function ditLayers(field: i32, v: usize, n: i32, table: usize, twist: usize): void {
  if (twist != 0) scale(field, v, n, twist, false);
  for (let half = 1; half < n; half <<= 1) {
    const len = half << 1;
    const stride = n / len;
    // Field128's last layer (one butterfly per twiddle) pairs them from the first (w = 1, whose
    // product by the Montgomery one is exact), so no twiddle is left alone for a scalar product
    const pairAll = field == 128 && len == n && (half & 1) == 0;
    if (!pairAll) for (let i = 0; i < n; i += len) butterfly(field, v, i, i + half, 0, 0, true);
    let k = pairAll ? 0 : 1;
    if (field == 128) {
      // two butterflies at a time: a twiddle's pairs along the layer, or in the last layer (one
      // butterfly per twiddle) neighbouring twiddles. Software-pipelined: the next pair's products
      // are made before this pair's sums and differences, which wait on its products
      if (len < n) {
        for (; k < half; k++) {
          const w = table + (<usize>(k * stride) << 4);
          let i = k;
          let lo = mont128Pair(v + (<usize>(i + half) << 4), v + (<usize>(i + len + half) << 4), w, w);
          let hi = pairHi;
          for (let next = i + 2 * len; next < n; next += 2 * len) {
            const nextLo = mont128Pair(v + (<usize>(next + half) << 4), v + (<usize>(next + len + half) << 4), w, w);
            const nextHi = pairHi;
            butterflyPairWith(v, i, i + half, i + len, i + len + half, lo, hi);
            lo = nextLo;
            hi = nextHi;
            i = next;
          }
          butterflyPairWith(v, i, i + half, i + len, i + len + half, lo, hi);
        }
      } else if (k + 1 < half) {
        let lo = mont128Pair(v + (<usize>(k + half) << 4), v + (<usize>(k + 1 + half) << 4), table + (<usize>k << 4), table + (<usize>(k + 1) << 4));
        let hi = pairHi;
        for (; k + 3 < half; k += 2) {
          const nextLo = mont128Pair(v + (<usize>(k + 2 + half) << 4), v + (<usize>(k + 3 + half) << 4), table + (<usize>(k + 2) << 4), table + (<usize>(k + 3) << 4));
          const nextHi = pairHi;
          butterflyPairWith(v, k, k + half, k + 1, k + 1 + half, lo, hi);
          lo = nextLo;
          hi = nextHi;
        }
        butterflyPairWith(v, k, k + half, k + 1, k + 1 + half, lo, hi);
        k += 2;
      }
    }
    for (; k < half; k++) {
      const wLo = get(field, table, k * stride);
      const wHi = resHi;
      for (let i = k; i < n; i += len) butterfly(field, v, i, i + half, wLo, wHi, false);
    }
  }
}

/**
 * The decimation-in-frequency layers of the NTT (Gentleman-Sande): from v in natural order to the
 * transform in bit-reversed order, so that a transform followed by ditLayers' (the inverse and the
 * forward transform of the prover's wire polynomials in Field64; Field128's run in cosetPair)
 * needs no bit reversal. The butterfly is (v[i], v[j]) = (v[i] + v[j], (v[i] - v[j]) w); twiddles
 * as in ditLayers.
 */
function difLayers(field: i32, v: usize, n: i32, table: usize): void {
  for (let half = n >> 1; half >= 1; half >>= 1) {
    const len = half << 1;
    const stride = n / len;
    for (let i = 0; i < n; i += len) difButterfly(field, v, i, i + half, 0, 0, true);
    for (let k = 1; k < half; k++) {
      const wLo = get(field, table, k * stride);
      const wHi = resHi;
      for (let i = k; i < n; i += len) difButterfly(field, v, i, i + half, wLo, wHi, false);
    }
  }
}

/**
 * The draft's NTT of n canonical elements at v, in place: with `inverse`, the inverse NTT (root is
 * W_n^-1 and the result is scaled by `nInv`); otherwise v[i] = p(s * W_n^i) where `shift` is s
 * (1 for the plain NTT). root, shift and nInv are canonical elements at their pointers; `scratch`
 * holds n + 3 elements.
 */
export function ntt(field: i32, v: usize, n: i32, root: usize, shift: usize, nInv: usize, inverse: bool, scratch: usize): void {
  const size: usize = field == 64 ? 8 : 16;
  // constants to Montgomery form in the scratch block's tail
  const consts = scratch + <usize>n * size;
  memory.copy(consts, root, size);
  memory.copy(consts + size, shift, size);
  memory.copy(consts + 2 * size, nInv, size);
  toMontgomery(field, consts, 3);
  if (!inverse) {
    // v[i] *= s^i
    powers(field, scratch, get(field, consts, 1), resHi, n);
    scale(field, v, n, scratch, false);
  }
  powers(field, scratch, get(field, consts, 0), resHi, n >> 1 > 0 ? n >> 1 : 1);
  transform(field, v, n, scratch);
  if (inverse) scale(field, v, n, consts + 2 * size, true);
}

/** Bytes of ntt's scratch block for n points. */
export function nttScratchBytes(field: i32, n: i32): i32 {
  return (n + 3) * (field == 64 ? 8 : 16);
}

// ---- FLP kernels ----

/**
 * The gadget polynomial of ParallelSum(Mul) on `count` pairs of wire polynomials, each given by p
 * evaluations at the powers of W_p (canonical, pair j at wires + 2j * p elements): out gets the 2p
 * evaluations at the powers of W_2p of sum_j wire_2j * wire_2j+1 (the draft's poly_mul, summed).
 * In Field128 the products are summed over the pairs unreduced (accumulatePair), one reduction per
 * evaluation. consts holds four canonical elements: W_p, W_p^-1, W_2p and 1/p.
 * scratch: parallelSumMulScratchBytes.
 */
export function parallelSumMul(field: i32, wires: usize, count: i32, p: i32, consts: usize, out: usize, scratch: usize): void {
  const size: usize = field == 64 ? 8 : 16;
  gadgetBegin(field, p, consts, out, scratch);
  for (let j = 0; j < count; j++) gadgetPair(field, p, wires + <usize>(2 * j * p) * size, wires + <usize>((2 * j + 1) * p) * size, out, scratch);
  gadgetEnd(field, p, out, scratch);
}

/** Bytes of parallelSumMul's scratch block for wire polynomials of p evaluations. */
export function parallelSumMulScratchBytes(field: i32, p: i32): i32 {
  const size = field == 64 ? 8 : 16;
  // constants, two twiddle tables and the twist, the two wires' coset evaluations; Field128's column sums (128 bytes per two evaluations)
  return 4 * size + <i32>gadgetTablesBytes(field, p) + 2 * p * size + (field == 128 ? p << 7 : 0);
}

/** Bytes of the twiddle tables and the twist: an element each, in Field128 by twiddleLimbs (64 bytes). */
// @ts-ignore: decorator
@inline function gadgetTablesBytes(field: i32, p: i32): usize {
  const half = p >> 1 > 0 ? p >> 1 : 1;
  return <usize>(2 * half + p) << (field == 64 ? 3 : 6);
}

// The parts of a ParallelSum(Mul) gadget polynomial, in the scratch block of parallelSumMul:
// constants, the twiddle tables and the twist (gadgetBegin), each pair's doubled wires summed in
// (gadgetPair), the sums reduced and out canonical (gadgetEnd).

/** Prepares the scratch block's tables and zeroes the sums. */
function gadgetBegin(field: i32, p: i32, consts: usize, out: usize, scratch: usize): void {
  gadgetTables(field, p, consts, scratch);
  gadgetZero(field, p, out, scratch);
}

/** Zeroes the sums of the pairs' products. */
function gadgetZero(field: i32, p: i32, out: usize, scratch: usize): void {
  const size: usize = field == 64 ? 8 : 16;
  if (field == 128) memory.fill(gadgetColumns(p, scratch), 0, <usize>p << 7);
  else memory.fill(out, 0, <usize>(2 * p) * size);
}

/**
 * The constants in Montgomery form, the twiddle tables and the twist, in the scratch block (coset's;
 * in Field128 each entry by twiddleLimbs, for cosetPair).
 */
function gadgetTables(field: i32, p: i32, consts: usize, scratch: usize): void {
  const size: usize = field == 64 ? 8 : 16;
  const entry: usize = field == 64 ? 8 : 64;
  const half = p >> 1 > 0 ? p >> 1 : 1;
  const c = scratch;
  const rootTable = c + 4 * size;
  const invTable = rootTable + <usize>half * entry;
  const twist = invTable + <usize>half * entry;
  memory.copy(c, consts, 4 * size);
  toMontgomery(field, c, 4);
  powers(field, rootTable, get(field, c, 0), resHi, half);
  expandTwiddles(field, rootTable, half);
  powers(field, invTable, get(field, c, 1), resHi, half);
  expandTwiddles(field, invTable, half);
  // the twist table s^i / p (the inverse transform's 1/p and the coset shift in one pass), in the
  // bit-reversed order of the inverse transform's output
  powers(field, twist, get(field, c, 2), resHi, p);
  scale(field, twist, p, c + 3 * size, true);
  bitReverse(field, twist, p);
  expandTwiddles(field, twist, p);
}

/** In Field128, the n elements at table to twiddleLimbs' form in place (the last first: entry i takes bytes 64i..64i+63). */
function expandTwiddles(field: i32, table: usize, n: i32): void {
  if (field == 64) return;
  for (let i = n - 1; i >= 0; i--) twiddleLimbs(v128.load(table + (<usize>i << 4)), table + (<usize>i << 6));
}

/** Field128's column sums in the scratch block. */
// @ts-ignore: decorator
@inline function gadgetColumns(p: i32, scratch: usize): usize {
  return gadgetOdd(p, scratch, 128) + (<usize>p << 5);
}

/**
 * Adds the product of the wire polynomials at wireA and wireB (p canonical evaluations each),
 * doubled: at the even evaluations W_2p^2i = W_p^i the wires' values, at the odd ones their coset
 * evaluations (coset).
 */
function gadgetPair(field: i32, p: i32, wireA: usize, wireB: usize, out: usize, scratch: usize): void {
  const size: usize = field == 64 ? 8 : 16;
  const entry: usize = field == 64 ? 8 : 64;
  const half = p >> 1 > 0 ? p >> 1 : 1;
  const rootTable = scratch + 4 * size;
  const invTable = rootTable + <usize>half * entry;
  const twist = invTable + <usize>half * entry;
  const a = gadgetOdd(p, scratch, field);
  if (field == 128) {
    cosetPair(p, wireA, wireB, a, rootTable, invTable, twist);
    accumulateLanes(p, wireA, wireB, a, gadgetColumns(p, scratch));
    return;
  }
  const b = a + <usize>p * size;
  coset(field, wireA, p, a, rootTable, invTable, twist);
  coset(field, wireB, p, b, rootTable, invTable, twist);
  gadgetAccumulate(field, p, wireA, wireB, out, scratch);
}

/** The two wires' odd (coset) evaluations in the scratch block: p elements each, wire A's then wire B's. */
// @ts-ignore: decorator
@inline function gadgetOdd(p: i32, scratch: usize, field: i32): usize {
  const size: usize = field == 64 ? 8 : 16;
  return scratch + 4 * size + gadgetTablesBytes(field, p);
}

/** Adds the doubled product of the wires at wireA and wireB, their odd evaluations at gadgetOdd. */
function gadgetAccumulate(field: i32, p: i32, wireA: usize, wireB: usize, out: usize, scratch: usize): void {
  const size: usize = field == 64 ? 8 : 16;
  const a = gadgetOdd(p, scratch, field);
  const b = a + <usize>p * size;
  if (field == 128) {
    // evaluations 2i and 2i + 1 in the lanes of one set of column sums
    const columns = gadgetColumns(p, scratch);
    for (let i = 0; i < p; i++) {
      const at = <usize>i << 4;
      accumulatePair(columns + (<usize>i << 7), v128.load(wireA + at), v128.load(a + at), v128.load(wireB + at), v128.load(b + at));
    }
    return;
  }
  // out += a * b / R
  for (let i = 0; i < p; i++) {
    let pLo = mulAny(field, get(field, wireA, i), 0, get(field, wireB, i), 0);
    put(field, out, 2 * i, sum(field, get(field, out, 2 * i), 0, pLo, 0), 0);
    pLo = mulAny(field, get(field, a, i), 0, get(field, b, i), 0);
    put(field, out, 2 * i + 1, sum(field, get(field, out, 2 * i + 1), 0, pLo, 0), 0);
  }
}

/** out = the canonical sum of the pairs' products. */
function gadgetEnd(field: i32, p: i32, out: usize, scratch: usize): void {
  if (field == 128) {
    const columns = gadgetColumns(p, scratch);
    for (let k = 0; k < 2 * p; k++) put(field, out, k, reduceColumns(columns + (<usize>(k >> 1) << 7), k & 1), resHi);
  }
  // (sum of a * b / R) * R^2 / R is the canonical sum
  toMontgomery(field, out, 2 * p);
}

/**
 * The prover's gadget polynomial of the chunked bit check: parallelSumMul on its wires, each pair of
 * wires made in the scratch block when its turn comes (no wire array: the wires of a large
 * measurement would not fit a cache, or for 2^19 elements even 64 MiB).
 * The wires (ParallelSum(Mul) in SumVec, Histogram and MultihotCountVec): for call k = 1..calls with
 * r = jointRand[k-1] and the chunk's elements x_j (meas[(k-1) * chunk + j], zero past measLen), wire
 * 2j gets r^(j+1) * x_j and wire 2j+1 gets x_j - sharesInv at position k; position 0 of wire i is
 * seeds[i]; the rest up to p is zero. consts (W_p, W_p^-1, W_2p, 1/p) and out (2p elements) as
 * parallelSumMul's, followed by the circulant c_m (m < p) of sparseOdd in Montgomery form: the
 * odd evaluations (at W_2p W_p^m) of the Lagrange basis polynomial of node 1, W_p^0 (a constant of
 * p, made once by the caller). scratch: chunkGadgetPolyScratchBytes.
 * With sparseBelow 0 every column takes one path: both wires and their two transforms
 * (denseColumn), the same work whatever the measurement. With sparseBelow > 0 (a circuit whose
 * valid measurements have one nonzero element, the one-hot Histogram: the caller decides from the
 * circuit, never from the data) a column is made in one of three ways: with sparseBelow nonzero
 * elements or more, densely; with fewer, its odd evaluations from its nonzero elements (sparseOdd);
 * with none, only its seeds count, summed over all such columns (emptyColumns). Every valid
 * measurement then takes the same paths (one sparse column, the rest empty) with the same number
 * of products (sparseColumn's powers by a fixed ladder); only the order and the addresses read
 * follow the set bucket (not constant-time against code sharing the cache).
 * The dense columns' r_k^(j+1) advance by one product per element a column uses (catchUp).
 */
export function chunkGadgetPoly(field: i32, meas: usize, measLen: i32, jointRand: usize, calls: i32, chunk: i32, sharesInv: usize, seeds: usize, p: i32, sparseBelow: i32, consts: usize, out: usize, scratch: usize): void {
  const size: usize = field == 64 ? 8 : 16;
  const r = scratch + <usize>parallelSumMulScratchBytes(field, p);
  const pow = r + <usize>calls * size;
  const wireA = pow + <usize>calls * size;
  const wireB = wireA + <usize>p * size;
  const circulant = consts + 4 * size;
  const shift = wireB + <usize>p * size;
  const powExp = shift + <usize>p * size;
  // the transforms' tables are made for the first dense column
  gadgetZero(field, p, out, scratch);
  let transforms = false;
  // r_k in Montgomery form, so that r_k^(j+1) (Montgomery) times the canonical x is canonical;
  // pow_k = r_k^powExp_k
  memory.copy(r, jointRand, <usize>calls * size);
  toMontgomery(field, r, calls);
  memory.copy(pow, r, <usize>calls * size);
  for (let k = 0; k < calls; k++) store<i32>(powExp + (<usize>k << 2), 1);
  memory.fill(wireA, 0, <usize>(2 * p) * size);
  const sLo = get(field, sharesInv, 0);
  const sHi = resHi;
  let shiftMade = false;
  // the empty columns' sum of seedA seedB and sum of seedA (canonical)
  let abLo: u64 = 0;
  let abHi: u64 = 0;
  let aLo: u64 = 0;
  let aHi: u64 = 0;
  let empty = false;
  for (let j = 0; j < chunk; j++) {
    const seedA = seeds + <usize>(2 * j) * size;
    const seedB = seedA + size;
    let nonZero = 0;
    for (let k = 1; k <= calls && nonZero < sparseBelow; k++) {
      const index = (k - 1) * chunk + j;
      if (index >= measLen) break;
      const lo = get(field, meas, index);
      nonZero += i32((lo | resHi) != 0);
    }
    if (nonZero >= sparseBelow) {
      if (!transforms) {
        gadgetTables(field, p, consts, scratch);
        transforms = true;
      }
      denseColumn(field, meas, measLen, calls, chunk, j, sLo, sHi, seedA, r, pow, powExp, wireA, wireB);
      gadgetPair(field, p, wireA, wireB, out, scratch);
      continue;
    }
    if (!shiftMade) {
      sparseShift(field, p, calls, sLo, sHi, circulant, shift);
      shiftMade = true;
    }
    if (nonZero == 0) {
      const sA = get(field, seedA, 0);
      const sAHi = resHi;
      const mA = mulAny(field, sA, sAHi, field == 64 ? R2_64 : R2_LO, field == 64 ? 0 : R2_HI);
      const mAHi = resHi;
      const tLo = mulAny(field, mA, mAHi, get(field, seedB, 0), resHi);
      abLo = sum(field, abLo, abHi, tLo, resHi);
      abHi = resHi;
      aLo = sum(field, aLo, aHi, sA, sAHi);
      aHi = resHi;
      empty = true;
      continue;
    }
    sparseColumn(field, meas, measLen, calls, chunk, j, p, sLo, sHi, seedA, r, wireA, wireB);
    sparseOdd(field, p, meas, measLen, calls, chunk, j, wireA, wireB, circulant, shift, gadgetOdd(p, scratch, field));
    gadgetAccumulate(field, p, wireA, wireB, out, scratch);
  }
  if (empty) emptyColumns(field, p, abLo, abHi, aLo, aHi, wireA, wireB, circulant, shift, out, scratch);
  gadgetEnd(field, p, out, scratch);
}

/** pow_k (index k of pow) = r_k^target, from r_k^powExp_k (powExp_k <= target). */
// @ts-ignore: decorator
@inline function catchUp(field: i32, r: usize, pow: usize, powExp: usize, k: i32, target: i32): void {
  const at = powExp + (<usize>k << 2);
  let e = load<i32>(at);
  if (e == target) return;
  let lo = get(field, pow, k);
  let hi = resHi;
  const rLo = get(field, r, k);
  const rHi = resHi;
  for (; e < target; e++) {
    lo = mulAny(field, lo, hi, rLo, rHi);
    hi = resHi;
  }
  put(field, pow, k, lo, hi);
  store<i32>(at, target);
}

/** Element index of the measurement, zero past measLen (the chunks' padding); high limb in resHi. */
// @ts-ignore: decorator
@inline function columnElement(field: i32, meas: usize, measLen: i32, index: i32): u64 {
  if (index < measLen) return get(field, meas, index);
  resHi = 0;
  return 0;
}

/** Both wires of chunk column j at wireA and wireB (positions 0..calls; the rest stays zero), advancing every pow_k past r_k^(j+1). */
function denseColumn(field: i32, meas: usize, measLen: i32, calls: i32, chunk: i32, j: i32, sLo: u64, sHi: u64, seedA: usize, r: usize, pow: usize, powExp: usize, wireA: usize, wireB: usize): void {
  const size: usize = field == 64 ? 8 : 16;
  memory.copy(wireA, seedA, size);
  memory.copy(wireB, seedA + size, size);
  const zero = i64x2.splat(0);
  let k = 1;
  if (field == 128) {
    // calls k and k + 1 in the lanes of mont128PairOf
    for (; k + 1 <= calls; k += 2) {
      catchUp(field, r, pow, powExp, k - 1, j + 1);
      catchUp(field, r, pow, powExp, k, j + 1);
      const index = (k - 1) * chunk + j;
      const X0 = index < measLen ? v128.load(meas + (<usize>index << 4)) : zero;
      const X1 = index + chunk < measLen ? v128.load(meas + (<usize>(index + chunk) << 4)) : zero;
      const at = <usize>k << 4;
      const powAt = pow + (<usize>(k - 1) << 4);
      const P0 = v128.load(powAt);
      const P1 = v128.load(powAt, 16);
      storePair(wireA + at, wireA + at + 16, mont128PairOf(P0, P1, X0, X1));
      const d0 = sub128(i64x2.extract_lane(X0, 0), i64x2.extract_lane(X0, 1), sLo, sHi);
      v128.store(wireB + at, i64x2.replace_lane(i64x2.splat(d0), 1, resHi));
      const d1 = sub128(i64x2.extract_lane(X1, 0), i64x2.extract_lane(X1, 1), sLo, sHi);
      v128.store(wireB + at, i64x2.replace_lane(i64x2.splat(d1), 1, resHi), 16);
      const rAt = r + (<usize>(k - 1) << 4);
      storePair(powAt, powAt + 16, mont128PairOf(P0, P1, v128.load(rAt), v128.load(rAt, 16)));
      store<i32>(powExp + (<usize>(k - 1) << 2), j + 2);
      store<i32>(powExp + (<usize>k << 2), j + 2);
    }
  }
  for (; k <= calls; k++) {
    catchUp(field, r, pow, powExp, k - 1, j + 1);
    const xLo = columnElement(field, meas, measLen, (k - 1) * chunk + j);
    const xHi = resHi;
    const pLo = get(field, pow, k - 1);
    const pHi = resHi;
    put(field, wireA, k, mulAny(field, pLo, pHi, xLo, xHi), resHi);
    put(field, wireB, k, diff(field, xLo, xHi, sLo, sHi), resHi);
    const rLo = get(field, r, k - 1);
    put(field, pow, k - 1, mulAny(field, pLo, pHi, rLo, resHi), resHi);
    store<i32>(powExp + (<usize>(k - 1) << 2), j + 2);
  }
}

/**
 * r_k^e (r in Montgomery form, the result too) by a right-to-left ladder over the bits of e below
 * 2^bits: the same products whatever e (bits is public, e a secret position), selected by masks.
 */
function powerFixed(field: i32, r: usize, k: i32, e: i32, bits: i32): u64 {
  let baseLo = get(field, r, k);
  let baseHi = resHi;
  let lo: u64 = field == 64 ? ONE_64 : ONE_LO;
  let hi: u64 = field == 64 ? 0 : ONE_HI;
  for (let i = 0; i < bits; i++) {
    const tLo = mulAny(field, lo, hi, baseLo, baseHi);
    const tHi = resHi;
    const take: u64 = 0 - <u64>((e >> i) & 1);
    lo = (tLo & take) | (lo & ~take);
    hi = (tHi & take) | (hi & ~take);
    const sLo = mulAny(field, baseLo, baseHi, baseLo, baseHi);
    baseHi = resHi;
    baseLo = sLo;
  }
  resHi = hi;
  return lo;
}

/**
 * Both wires of chunk column j as denseColumn's, with products for its nonzero elements only, each
 * r_k^(j+1) by powerFixed (the dense columns' running powers are left as they are).
 */
function sparseColumn(field: i32, meas: usize, measLen: i32, calls: i32, chunk: i32, j: i32, p: i32, sLo: u64, sHi: u64, seedA: usize, r: usize, wireA: usize, wireB: usize): void {
  const size: usize = field == 64 ? 8 : 16;
  memory.fill(wireA, 0, <usize>(2 * p) * size);
  memory.copy(wireA, seedA, size);
  memory.copy(wireB, seedA + size, size);
  for (let k = 1; k <= calls; k++) {
    const xLo = columnElement(field, meas, measLen, (k - 1) * chunk + j);
    const xHi = resHi;
    put(field, wireB, k, diff(field, xLo, xHi, sLo, sHi), resHi);
    if ((xLo | xHi) == 0) continue;
    const pLo = powerFixed(field, r, k - 1, j + 1, 32 - clz(chunk));
    put(field, wireA, k, mulAny(field, pLo, resHi, xLo, xHi), resHi);
  }
}

/**
 * Adds the product of the wires of every column without a nonzero element: wire A is seedA e_0
 * and wire B seedB e_0 - sharesInv (e_1 + ... + e_calls), so at the nodes the product is seedA seedB
 * at node 0 and zero elsewhere, and at the odd points c_m (seedA seedB c_m - seedA shift_m)
 * (the circulant and sparseShift). Summed over those columns, with ab the sum of seedA seedB and a that of seedA:
 * ab at node 0, c_m (ab c_m - a shift_m) at the odd points, added as the products of wires
 * (ab e_0, e_0) with odd evaluations (ab c_m - a shift_m, c_m).
 */
function emptyColumns(field: i32, p: i32, abLo: u64, abHi: u64, aLo: u64, aHi: u64, wireA: usize, wireB: usize, circulant: usize, shift: usize, out: usize, scratch: usize): void {
  const size: usize = field == 64 ? 8 : 16;
  const a = gadgetOdd(p, scratch, field);
  const b = a + <usize>p * size;
  memory.fill(wireA, 0, <usize>(2 * p) * size);
  put(field, wireA, 0, abLo, abHi);
  put(field, wireB, 0, 1, 0);
  // a in Montgomery form, so that a times the canonical shift is canonical
  const mLo = mulAny(field, aLo, aHi, field == 64 ? R2_64 : R2_LO, field == 64 ? 0 : R2_HI);
  const mHi = resHi;
  for (let m = 0; m < p; m++) {
    const cLo = get(field, circulant, m);
    const cHi = resHi;
    const uLo = mulAny(field, abLo, abHi, cLo, cHi);
    const uHi = resHi;
    const vLo = mulAny(field, mLo, mHi, get(field, shift, m), resHi);
    put(field, a, m, diff(field, uLo, uHi, vLo, resHi), resHi);
    // c_m canonical: its Montgomery form times 1
    put(field, b, m, mulAny(field, cLo, cHi, 1, 0), resHi);
  }
  gadgetAccumulate(field, p, wireA, wireB, out, scratch);
}

/**
 * sparseOdd's shift_m = sharesInv sum_(k=1..calls) L_k(W_2p W_p^m) (canonical), the coset
 * evaluations of the vector sharesInv at positions 1..calls: sharesInv times the sum of the
 * circulant turned by k (L_k(W_2p W_p^m) = c_(m-k mod p)), a window of `calls` entries that slides
 * by one per m (calls < p).
 */
function sparseShift(field: i32, p: i32, calls: i32, sLo: u64, sHi: u64, circulant: usize, shift: usize): void {
  const mask = p - 1;
  // the window of m = 0: c_(p-1), ..., c_(p-calls)
  let lo: u64 = 0;
  let hi: u64 = 0;
  for (let k = 1; k <= calls; k++) {
    lo = sum(field, lo, hi, get(field, circulant, (0 - k) & mask), resHi);
    hi = resHi;
  }
  for (let m = 0; m < p; m++) {
    // sharesInv (canonical) times the sum (Montgomery form): canonical
    put(field, shift, m, mulAny(field, sLo, sHi, lo, hi), resHi);
    // window of m + 1: c_m enters, c_(m-calls) leaves
    lo = sum(field, lo, hi, get(field, circulant, m), resHi);
    hi = resHi;
    lo = diff(field, lo, hi, get(field, circulant, (m - calls) & mask), resHi);
    hi = resHi;
  }
}

/**
 * The odd evaluations (at W_2p W_p^m) of the pair of wires of chunk column j, into odd (wire A's p,
 * then wire B's p), from the column's nonzero elements alone. Node k's Lagrange basis polynomial
 * is node 0's turned: L_k(W_2p W_p^m) = L_0(W_2p W_p^(m-k)) = c_(m-k mod p), so a wire with values
 * v_k at the nodes is sum_k v_k c_(m-k) there; wire B's values x_k - sharesInv (k = 1..calls) give
 * its seed's term, minus shift, plus the x_k's. Products two at a time in Field128 (wire A's and
 * B's in the lanes).
 */
function sparseOdd(field: i32, p: i32, meas: usize, measLen: i32, calls: i32, chunk: i32, j: i32, wireA: usize, wireB: usize, circulant: usize, shift: usize, odd: usize): void {
  const size: usize = field == 64 ? 8 : 16;
  const a = odd;
  const b = odd + <usize>p * size;
  const mask = p - 1;
  // the seeds' terms: seed c_m
  for (let m = 0; m < p; m++) {
    termPair(field, a, b, m, wireA, wireB, circulant + <usize>m * size, false);
    put(field, b, m, diff(field, get(field, b, m), resHi, get(field, shift, m), resHi), resHi);
  }
  for (let k = 1; k <= calls; k++) {
    const index = (k - 1) * chunk + j;
    if (index >= measLen) break;
    const x = meas + <usize>index * size;
    const xLo = get(field, x, 0);
    if ((xLo | resHi) == 0) continue;
    // wire A's value r^(j+1) x is at wireA + k; wire B's x - sharesInv is taken as x (shift has the rest)
    for (let m = 0; m < p; m++) termPair(field, a, b, m, wireA + <usize>k * size, x, circulant + <usize>((m - k) & mask) * size, true);
  }
}

/** (a_m, b_m) = (or +=, with `add`) (va c, vb c) for the canonical va, vb and c in Montgomery form. */
// @ts-ignore: decorator
@inline function termPair(field: i32, a: usize, b: usize, m: i32, va: usize, vb: usize, c: usize, add: bool): void {
  let aLo: u64;
  let aHi: u64;
  let bLo: u64;
  let bHi: u64;
  if (field == 128) {
    const C = v128.load(c);
    const lo = mont128PairOf(v128.load(va), v128.load(vb), C, C);
    const hi = pairHi;
    aLo = i64x2.extract_lane(lo, 0);
    aHi = i64x2.extract_lane(hi, 0);
    bLo = i64x2.extract_lane(lo, 1);
    bHi = i64x2.extract_lane(hi, 1);
  } else {
    const cLo = get(field, c, 0);
    const cHi = resHi;
    aLo = mulAny(field, get(field, va, 0), resHi, cLo, cHi);
    aHi = resHi;
    bLo = mulAny(field, get(field, vb, 0), resHi, cLo, cHi);
    bHi = resHi;
  }
  if (add) {
    aLo = sum(field, get(field, a, m), resHi, aLo, aHi);
    aHi = resHi;
    bLo = sum(field, get(field, b, m), resHi, bLo, bHi);
    bHi = resHi;
  }
  put(field, a, m, aLo, aHi);
  put(field, b, m, bLo, bHi);
}

/** Bytes of chunkGadgetPoly's scratch block. */
export function chunkGadgetPolyScratchBytes(field: i32, p: i32, calls: i32): i32 {
  // parallelSumMul's, then r and its powers, the two wires, sparseOdd's shift, the powers' exponents
  return parallelSumMulScratchBytes(field, p) + (2 * calls + 3 * p) * (field == 64 ? 8 : 16) + 4 * calls;
}

/**
 * dst (p canonical elements) = the evaluations of the canonical wire polynomial given by its values
 * at src (at W_p^i) at the coset W_2p W_p^i: the inverse transform (difLayers: coefficients in
 * bit-reversed order), the twist (s^i / p, bit-reversed) and the forward transform (ditLayers: back
 * to natural order), in dst. Field64's (Field128 runs cosetPair on both wires of a pair at once).
 */
function coset(field: i32, src: usize, p: i32, dst: usize, rootTable: usize, invTable: usize, twist: usize): void {
  memory.copy(dst, src, <usize>p * (field == 64 ? 8 : 16));
  difLayers(field, dst, p, invTable);
  ditLayers(field, dst, p, rootTable, twist);
}

/**
 * coset on the two wires of a pair at once (Field128), wire A's element in lane 0 and B's in lane 1
 * (addLanes, subLanes, mulLanes): from their p canonical evaluations at wireA and wireB, the odd
 * ones into z as p pairs (32 bytes each: the low limbs, then the high). The tables by twiddleLimbs.
 * The inverse transform's first layer reads the wires, the twist is the forward transform's first
 * layer's products, and twiddle 1 (k = 0) costs no product.
 */
function cosetPair(p: i32, wireA: usize, wireB: usize, z: usize, rootTable: usize, invTable: usize, twist: usize): void {
  if (p == 1) {
    // a constant: its value (the twist is 1)
    const a = v128.load(wireA);
    const b = v128.load(wireB);
    v128.store(z, i64x2.shuffle(a, b, 0, 2));
    v128.store(z, i64x2.shuffle(a, b, 1, 3), 16);
    return;
  }
  const first = p >> 1;
  for (let k = 0; k < first; k++) {
    const at = <usize>k << 4;
    const uA = v128.load(wireA + at);
    const uB = v128.load(wireB + at);
    const xA = v128.load(wireA + at + (<usize>first << 4));
    const xB = v128.load(wireB + at + (<usize>first << 4));
    difLanes(z, k, k + first, i64x2.shuffle(uA, uB, 0, 2), i64x2.shuffle(uA, uB, 1, 3), i64x2.shuffle(xA, xB, 0, 2), i64x2.shuffle(xA, xB, 1, 3), invTable + (<usize>k << 6), k != 0);
  }
  for (let half = first >> 1; half >= 1; half >>= 1) {
    const len = half << 1;
    const stride = p / len;
    for (let i = 0; i < p; i += len) difLanesAt(z, i, i + half, 0, false);
    for (let k = 1; k < half; k++) {
      const W = invTable + (<usize>(k * stride) << 6);
      for (let i = k; i < p; i += len) difLanesAt(z, i, i + half, W, true);
    }
  }
  // the twist and the forward transform's first layer: (z_i t_i + z_(i+1) t_(i+1), z_i t_i - z_(i+1) t_(i+1))
  for (let i = 0; i < p; i += 2) {
    const at = z + (<usize>i << 5);
    const W = twist + (<usize>i << 6);
    const aLo = mulLanes(v128.load(at), v128.load(at, 16), W);
    const aHi = lanesHi;
    const bLo = mulLanes(v128.load(at, 32), v128.load(at, 48), W + 64);
    const bHi = lanesHi;
    v128.store(at, addLanes(aLo, aHi, bLo, bHi));
    v128.store(at, lanesHi, 16);
    v128.store(at, subLanes(aLo, aHi, bLo, bHi), 32);
    v128.store(at, lanesHi, 48);
  }
  for (let half = 2; half < p; half <<= 1) {
    const len = half << 1;
    const stride = p / len;
    for (let i = 0; i < p; i += len) ditLanes(z, i, i + half, 0, false);
    for (let k = 1; k < half; k++) {
      const W = rootTable + (<usize>(k * stride) << 6);
      for (let i = k; i < p; i += len) ditLanes(z, i, i + half, W, true);
    }
  }
}

/** difLanes on the pairs z_i and z_j. */
// @ts-ignore: decorator
@inline function difLanesAt(z: usize, i: i32, j: i32, W: usize, twiddled: bool): void {
  const u = z + (<usize>i << 5);
  const x = z + (<usize>j << 5);
  difLanes(z, i, j, v128.load(u), v128.load(u, 16), v128.load(x), v128.load(x, 16), W, twiddled);
}

/** The Gentleman-Sande butterfly on pairs: z_i = u + x, z_j = (u - x) w (w by twiddleLimbs at W; 1 unless `twiddled`). */
// @ts-ignore: decorator
@inline function difLanes(z: usize, i: i32, j: i32, uLo: v128, uHi: v128, xLo: v128, xHi: v128, W: usize, twiddled: bool): void {
  const zi = z + (<usize>i << 5);
  const zj = z + (<usize>j << 5);
  v128.store(zi, addLanes(uLo, uHi, xLo, xHi));
  v128.store(zi, lanesHi, 16);
  let dLo = subLanes(uLo, uHi, xLo, xHi);
  if (twiddled) dLo = mulLanes(dLo, lanesHi, W);
  v128.store(zj, dLo);
  v128.store(zj, lanesHi, 16);
}

/** The Cooley-Tukey butterfly on pairs: (z_i, z_j) = (z_i + z_j w, z_i - z_j w) (w by twiddleLimbs at W; 1 unless `twiddled`). */
// @ts-ignore: decorator
@inline function ditLanes(z: usize, i: i32, j: i32, W: usize, twiddled: bool): void {
  const zi = z + (<usize>i << 5);
  const zj = z + (<usize>j << 5);
  let tLo = v128.load(zj);
  let tHi = v128.load(zj, 16);
  if (twiddled) {
    tLo = mulLanes(tLo, tHi, W);
    tHi = lanesHi;
  }
  const uLo = v128.load(zi);
  const uHi = v128.load(zi, 16);
  v128.store(zi, addLanes(uLo, uHi, tLo, tHi));
  v128.store(zi, lanesHi, 16);
  v128.store(zj, subLanes(uLo, uHi, tLo, tHi));
  v128.store(zj, lanesHi, 16);
}

/** gadgetAccumulate for cosetPair's odd evaluations at z: wire A's and B's in the lanes of each pair. */
function accumulateLanes(p: i32, wireA: usize, wireB: usize, z: usize, columns: usize): void {
  for (let i = 0; i < p; i++) {
    const at = <usize>i << 4;
    const zLo = v128.load(z + (<usize>i << 5));
    const zHi = v128.load(z + (<usize>i << 5), 16);
    accumulatePair(columns + (<usize>i << 7), v128.load(wireA + at), i64x2.shuffle(zLo, zHi, 0, 2), v128.load(wireB + at), i64x2.shuffle(zLo, zHi, 1, 3));
  }
}

/**
 * table[i] = W^i for i < n in Montgomery form, from W canonical at root: the nodes of the
 * Lagrange-basis kernels below (public constants: a caller that runs them often makes them once).
 */
export function nodePowers(field: i32, root: usize, n: i32, table: usize): void {
  const lo = get(field, root, 0);
  const wLo = mulAny(field, lo, resHi, field == 64 ? R2_64 : R2_LO, field == 64 ? 0 : R2_HI);
  powers(field, table, wLo, resHi, n);
}

/**
 * Evaluates `count` polynomials, each given by its n evaluations at the nodes w_i = W_n^i (canonical,
 * polynomial j at polys + j * n elements; n a power of 2), at the point x. Many polynomials take the
 * Lagrange weights (lagrangeWeights, 4n products), n products each, summed unreduced (dot); one or
 * two take the draft's linear-time recurrence (lagrangeRecurrence), 3n products each and n more. nodes: the n
 * nodes (nodePowers); consts holds two canonical elements: x and 1/n. out gets `count` canonical
 * elements. scratch: lagrangeEvalScratchBytes.
 */
export function lagrangeEval(field: i32, polys: usize, count: i32, n: i32, nodes: usize, consts: usize, out: usize, scratch: usize): void {
  const size: usize = field == 64 ? 8 : 16;
  const c = scratch;
  const lambda = c + 2 * size;
  memory.copy(c, consts, 2 * size);
  toMontgomery(field, c, 2);
  if (count <= 2) {
    lagrangeRecurrence(field, polys, count, n, nodes, get(field, c, 0), resHi, c + size, out, lambda);
    return;
  }
  lagrangeWeights(field, n, nodes, c, lambda, lambda + <usize>n * size);
  for (let j = 0; j < count; j++) put(field, out, j, dot(field, polys + <usize>(j * n) * size, 1, lambda, n), resHi);
}

/**
 * The Lagrange weights at x of the n nodes w_i = W_n^i, in Montgomery form, so that p(x) = sum_i p_i
 * lambda_i: lambda_i = prod_(k != i) (x - w_k) / prod_(k != i) (w_i - w_k), where the denominator is
 * the derivative of X^n - 1 at w_i, n w_i^(n-1) = n / w_i. So lambda_i = (w_i / n) prefix_i suffix_i
 * with the products of (x - w_k) below and above i: 4n products (3n in Field128, lagrangeWeightsLanes),
 * no inversion, and x on a node w_k gives the unit vector at k. nodes: the n nodes (nodePowers); c holds x and 1/n in Montgomery
 * form; prefix: n elements.
 */
function lagrangeWeights(field: i32, n: i32, nodes: usize, c: usize, lambda: usize, prefix: usize): void {
  if (field == 128 && n > 1) {
    lagrangeWeightsLanes(n, nodes, c, lambda, prefix);
    return;
  }
  // prefix_i = (x - w_0) ... (x - w_(i-1))
  const xLo = get(field, c, 0);
  const xHi = resHi;
  let pLo: u64 = field == 64 ? ONE_64 : ONE_LO;
  let pHi: u64 = field == 64 ? 0 : ONE_HI;
  for (let i = 0; i < n; i++) {
    put(field, prefix, i, pLo, pHi);
    pLo = mulAny(field, pLo, pHi, diff(field, xLo, xHi, get(field, nodes, i), resHi), resHi);
    pHi = resHi;
  }
  // walked down with q = (1/n) (x - w_(i+1)) ... (x - w_(n-1)): lambda_i = q prefix_i, then times w_i
  let qLo = get(field, c, 1);
  let qHi = resHi;
  for (let i = n - 1; i >= 0; i--) {
    const dLo = diff(field, xLo, xHi, get(field, nodes, i), resHi);
    const dHi = resHi;
    put(field, lambda, i, mulAny(field, qLo, qHi, get(field, prefix, i), resHi), resHi);
    qLo = mulAny(field, qLo, qHi, dLo, dHi);
    qHi = resHi;
  }
  scale(field, lambda, n, nodes, false);
}

/**
 * lagrangeWeights in Field128 (n > 1), the two chains in the two lanes of one product per node:
 * lane 0 the prefix products with w_i folded in, pw_i = w_i prefix_i, advanced by
 * pw_(i+1) = pw_i (W x - w_(i+1)) (w_(i+1) = W w_i), into prefix; lane 1 the suffix products
 * q_i = (1/n) (x - w_(i+1)) ... (x - w_(n-1)) walked down, into lambda. Then lambda_i = pw_i q_i,
 * two at a time.
 */
function lagrangeWeightsLanes(n: i32, nodes: usize, c: usize, lambda: usize, prefix: usize): void {
  const xLo = load<u64>(c);
  const xHi = load<u64>(c, 8);
  const xwLo = mont128(xLo, xHi, load<u64>(nodes, 16), load<u64>(nodes, 24));
  // lane 0 subtracts from W x, lane 1 from x
  const fromLo = i64x2.replace_lane(i64x2.splat(xwLo), 1, xLo);
  const fromHi = i64x2.replace_lane(i64x2.splat(resHi), 1, xHi);
  // [1 (Montgomery), 1/n]
  let kLo = i64x2.replace_lane(i64x2.splat(ONE_LO), 1, load<u64>(c, 16));
  let kHi = i64x2.replace_lane(i64x2.splat(ONE_HI), 1, load<u64>(c, 24));
  for (let i = 0; ; i++) {
    const down = <usize>(n - 1 - i) << 4;
    v128.store(prefix + (<usize>i << 4), i64x2.shuffle(kLo, kHi, 0, 2));
    v128.store(lambda + down, i64x2.shuffle(kLo, kHi, 1, 3));
    if (i == n - 1) break;
    const wA = v128.load(nodes + (<usize>(i + 1) << 4));
    const wB = v128.load(nodes + down);
    const fLo = subLanes(fromLo, fromHi, i64x2.shuffle(wA, wB, 0, 2), i64x2.shuffle(wA, wB, 1, 3));
    kLo = mulLanesBy(kLo, kHi, fLo, lanesHi);
    kHi = lanesHi;
  }
  for (let i = 0; i < n; i += 2) {
    const at = <usize>i << 4;
    storePair(lambda + at, lambda + at + 16, mont128Pair(prefix + at, prefix + at + 16, lambda + at, lambda + at + 16));
  }
}

/**
 * lagrangeEval by the draft's poly_eval_batched (after Faz25): u_j = p_j[0], then for each node
 * u_j = u_j * d_i + k_i * q_j[i] with d_i = w_i - x, k_i = prod_(k < i) d_k and q_j[i] = w_i p_j[i]
 * (the draft's t * p_j[i] with t = w_i k_i), and at the end u_j * (-1)^(n-1) / n. One Field128
 * polynomial takes lagrangeHalves. nodes (w_i), x and invN (1/n) in Montgomery form; u stays
 * canonical. scratch: (1 + count) * n elements.
 */
function lagrangeRecurrence(field: i32, polys: usize, count: i32, n: i32, nodes: usize, xLo: u64, xHi: u64, invN: usize, out: usize, scratch: usize): void {
  if (field == 128 && count == 1 && n > 1) {
    lagrangeHalves(polys, n, nodes, xLo, xHi, invN, out);
    return;
  }
  const size: usize = field == 64 ? 8 : 16;
  const d = scratch;
  const q = d + <usize>n * size;
  for (let i = 0; i < n; i++) put(field, d, i, diff(field, get(field, nodes, i), resHi, xLo, xHi), resHi);
  for (let j = 0; j < count; j++) {
    const qj = q + <usize>(j * n) * size;
    memory.copy(qj, polys + <usize>(j * n) * size, <usize>n * size);
    scale(field, qj, n, nodes, false);
    memory.copy(out + <usize>j * size, polys + <usize>(j * n) * size, size);
  }
  // k_1 = d_0 (k_0 = 1)
  let kLo = get(field, d, 0);
  let kHi = resHi;
  for (let i = 1; i < n; i++) {
    const dLo = get(field, d, i);
    const dHi = resHi;
    for (let j = 0; j < count; j++) {
      const bLo = mulAny(field, kLo, kHi, get(field, q, j * n + i), resHi);
      const bHi = resHi;
      const aLo = mulAny(field, get(field, out, j), resHi, dLo, dHi);
      put(field, out, j, sum(field, aLo, resHi, bLo, bHi), resHi);
    }
    kLo = mulAny(field, kLo, kHi, dLo, dHi);
    kHi = resHi;
  }
  // (-1)^(n-1) / n
  let fLo = get(field, invN, 0);
  let fHi = resHi;
  if (n > 1) {
    fLo = diff(field, 0, 0, fLo, fHi);
    fHi = resHi;
  }
  for (let j = 0; j < count; j++) put(field, out, j, mulAny(field, get(field, out, j), resHi, fLo, fHi), resHi);
}

/** (xLo, xHi) * (yLo, yHi) / R mod p on both lanes (canonical operands, one of them in Montgomery form for a canonical product); high limbs in lanesHi. */
// @ts-ignore: decorator
@inline function mulLanesBy(xLo: v128, xHi: v128, yLo: v128, yHi: v128): v128 {
  const Y01 = i32x4.shuffle(yLo, yLo, 0, 2, 1, 3);
  const Y23 = i32x4.shuffle(yHi, yHi, 0, 2, 1, 3);
  const lo = productLimbs(i32x4.shuffle(xLo, xLo, 0, 2, 1, 3), i32x4.shuffle(xHi, xHi, 0, 2, 1, 3), Y01, Y23, swapHalves(Y01), swapHalves(Y23), REDUCE);
  lanesHi = pairHi;
  return lo;
}

/** Elements a and b of the Field128 vector v across the lanes: the low limbs returned, the high limbs in lanesHi. */
// @ts-ignore: decorator
@inline function lanesAt(v: usize, a: usize, b: usize): v128 {
  const A = v128.load(v + (a << 4));
  const B = v128.load(v + (b << 4));
  lanesHi = i64x2.shuffle(A, B, 1, 3);
  return i64x2.shuffle(A, B, 0, 2);
}

/**
 * lagrangeRecurrence for one Field128 polynomial p (n > 1 evaluations), its two halves at once in
 * the two lanes (addLanes, mulLanesBy): the recurrence's sum is u = sum_i p_i kt_i prod_(i<l<n) d_l
 * with kt_i = w_i k_i = w_i prod_(l<i) d_l, and kt_(i+1) = kt_i dt_i with dt_i = W d_i =
 * w_(i+1) - W x, so no q = w p is made. Lane 0 runs nodes i < h = n/2 from kt = 1, giving A (its u)
 * and K0 = kt_h; lane 1 nodes h + i from kt = 1, giving B and K1 = W^h prod_(h<=l<n) d_l, where
 * W^h = -1; lane 1's kt are those of the whole run over kt_h = K0. So
 * u = A prod_(h<=l<n) d_l + K0 B = K0 B - A K1: three products per node pair, all on both lanes.
 * Then u (-1)^(n-1) / n into out.
 */
function lagrangeHalves(poly: usize, n: i32, nodes: usize, xLo: u64, xHi: u64, invN: usize, out: usize): void {
  const h = n >> 1;
  // x and W x in both lanes
  const xLanes = i64x2.splat(xLo);
  const xHiLanes = i64x2.splat(xHi);
  const xwLanes = i64x2.splat(mont128(xLo, xHi, load<u64>(nodes, 16), load<u64>(nodes, 24)));
  const xwHiLanes = i64x2.splat(resHi);
  // the first node of each half, from kt = 1 and u = 0: u = p_i (canonical), kt = dt_i (Montgomery)
  const mask = <usize>(n - 1);
  let uLo = lanesAt(poly, 0, <usize>h);
  let uHi = lanesHi;
  let kLo = subLanes(lanesAt(nodes, 1, <usize>(h + 1) & mask), lanesHi, xwLanes, xwHiLanes);
  let kHi = lanesHi;
  for (let i = 1; i < h; i++) {
    const a = <usize>i;
    const b = <usize>(i + h);
    const dLo = subLanes(lanesAt(nodes, a, b), lanesHi, xLanes, xHiLanes);
    const dHi = lanesHi;
    const tLo = subLanes(lanesAt(nodes, a + 1, (b + 1) & mask), lanesHi, xwLanes, xwHiLanes);
    const tHi = lanesHi;
    const udLo = mulLanesBy(uLo, uHi, dLo, dHi);
    const udHi = lanesHi;
    const kpLo = mulLanesBy(lanesAt(poly, a, b), lanesHi, kLo, kHi);
    uLo = addLanes(udLo, udHi, kpLo, lanesHi);
    uHi = lanesHi;
    kLo = mulLanesBy(kLo, kHi, tLo, tHi);
    kHi = lanesHi;
  }
  // K0 B (lane 0) and A K1 (lane 1)
  const cLo = mulLanesBy(i64x2.shuffle(kLo, uLo, 0, 2), i64x2.shuffle(kHi, uHi, 0, 2), i64x2.shuffle(uLo, kLo, 1, 3), i64x2.shuffle(uHi, kHi, 1, 3));
  const cHi = lanesHi;
  const uL = sub128(i64x2.extract_lane(cLo, 0), i64x2.extract_lane(cHi, 0), i64x2.extract_lane(cLo, 1), i64x2.extract_lane(cHi, 1));
  const uH = resHi;
  // (-1)^(n-1) / n = -1/n (n even)
  const fLo = sub128(0, 0, load<u64>(invN), load<u64>(invN, 8));
  store<u64>(out, mont128(uL, uH, fLo, resHi));
  store<u64>(out, resHi, 8);
}

/**
 * Completes n - 1 canonical evaluations at v (at W_n^i, i < n - 1) of a polynomial of degree < n - 1
 * with its evaluation at W_n^(n-1), written at v + (n - 1) elements: the interpolant's coefficient of
 * x^(n-1), (1/n) sum_i v_i W^i, is zero, so v_(n-1) = -sum_(i<n-1) v_i W^(i+1) (the draft's
 * extend_values_to_power_of_2 for one missing value): one dot product with the nodes W^1..W^(n-1)
 * (nodePowers, n elements).
 */
export function extendLast(field: i32, v: usize, n: i32, nodes: usize): void {
  const size: usize = field == 64 ? 8 : 16;
  const lo = dot(field, v, 1, nodes + size, n - 1);
  put(field, v, n - 1, diff(field, 0, 0, lo, resHi), resHi);
}

/** Bytes of lagrangeEval's scratch block. */
export function lagrangeEvalScratchBytes(field: i32, count: i32, n: i32): i32 {
  // the weights and prefix products (2n), or the recurrence's d and q (3n at most)
  return (2 + 3 * n) * (field == 64 ? 8 : 16);
}

/**
 * The query's wire checks of the chunked bit check without its wires: for the wire polynomials
 * chunkGadgetPoly describes (p evaluations each), their values at the test point t, as lagrangeEval on
 * them would give. With the Lagrange weights lambda_k at t, wire 2j's value is
 * lambda_0 seeds[2j] + sum_k (lambda_k r_k^(j+1)) x_(k,j) and wire 2j+1's is
 * lambda_0 seeds[2j+1] + sum_k lambda_k x_(k,j) - sharesInv sum_(k=1..calls) lambda_k, where
 * x_(k,j) = meas[(k-1) * chunk + j] (the sums stop at measLen, past which x is zero). Per element:
 * one product to advance lambda_k r_k^(j+1) and two summed unreduced (dots; in Field128 the seeds'
 * products join the sums). nodes: the p nodes
 * W_p^i (nodePowers); consts holds two canonical elements: t and 1/p; out gets 2 * chunk canonical
 * elements. scratch: chunkWireChecksScratchBytes.
 */
export function chunkWireChecks(field: i32, meas: usize, measLen: i32, jointRand: usize, calls: i32, chunk: i32, sharesInv: usize, seeds: usize, p: i32, nodes: usize, consts: usize, out: usize, scratch: usize): void {
  const size: usize = field == 64 ? 8 : 16;
  const c = scratch;
  const lambda = c + 2 * size;
  const coef = lambda + <usize>p * size;
  const r = coef + <usize>calls * size;
  memory.copy(c, consts, 2 * size);
  toMontgomery(field, c, 2);
  lagrangeWeights(field, p, nodes, c, lambda, coef);
  // sum_(k=1..calls) lambda_k, Montgomery; times the canonical 1/shares, canonical
  let totalLo: u64 = 0;
  let totalHi: u64 = 0;
  for (let k = 1; k <= calls; k++) {
    totalLo = sum(field, totalLo, totalHi, get(field, lambda, k), resHi);
    totalHi = resHi;
  }
  const sLo = mulAny(field, get(field, sharesInv, 0), resHi, totalLo, totalHi);
  const sHi = resHi;
  const l0Lo = get(field, lambda, 0);
  const l0Hi = resHi;
  // coef_k = lambda_k r_k (Montgomery), advanced by r_k per element of the chunk
  memory.copy(r, jointRand, <usize>calls * size);
  toMontgomery(field, r, calls);
  memory.copy(coef, lambda + size, <usize>calls * size);
  scale(field, coef, calls, r, false);
  for (let j = 0; j < chunk; j++) {
    // calls whose element j lies before measLen
    const terms = j < measLen ? min(calls, (measLen - j + chunk - 1) / chunk) : 0;
    const x = meas + <usize>j * size;
    const even = out + <usize>(2 * j) * size;
    if (field == 128) {
      // lambda_0 seeds[2j] and lambda_0 seeds[2j+1] in the lanes of dots' sums, unreduced
      const l0 = v128.load(lambda);
      accumulatePair(DOT_COLUMNS, v128.load(seeds + (<usize>j << 5)), v128.load(seeds + (<usize>j << 5), 16), l0, l0);
      dots(field, x, chunk, coef, lambda + size, terms, even);
    } else {
      dots(field, x, chunk, coef, lambda + size, terms, even);
      put(field, even, 0, sum(field, get(field, even, 0), resHi, mulAny(field, get(field, seeds, 2 * j), resHi, l0Lo, l0Hi), resHi), resHi);
      put(field, even, 1, sum(field, get(field, even, 1), resHi, mulAny(field, get(field, seeds, 2 * j + 1), resHi, l0Lo, l0Hi), resHi), resHi);
    }
    put(field, even, 1, diff(field, get(field, even, 1), resHi, sLo, sHi), resHi);
    if (j + 1 < chunk) scale(field, coef, calls, r, false);
  }
}

/** Bytes of chunkWireChecks' scratch block (calls < p). */
export function chunkWireChecksScratchBytes(field: i32, p: i32): i32 {
  return (2 + 3 * p) * (field == 64 ? 8 : 16);
}
