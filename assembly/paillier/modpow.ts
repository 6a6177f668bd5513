// Serves src/paillier/modpow.ts (pow, powSecret).
// Big-integer Montgomery arithmetic on fixed-size limb arrays in linear memory (Paillier, primes).
// Limbs are radix 2^w held in u32 slots (32-bit limb slots, 64-bit products), least significant
// first, "reduced radix": w = 28, or 27 above 240 limbs (the caller chooses). The column dot
// products run in SIMD (i64x2.extmul_*_i32x4_u) into i64 lanes with no carry handling: a lane sums
// at most N + 12 products below 2^(2w), which stays below 2^64 for those sizes. Each column's two
// lanes are then added into a 128-bit total (unsigned: totals pass 2^63 and 2^64).
// Montgomery product: Finely Integrated Product Scanning (FIPS), Koc, Acar, Kaliski, "Analyzing and
// comparing Montgomery multiplication algorithms", IEEE Micro 1996. Every operand is kept twice,
// forward and limb-reversed, so both factors of a column are contiguous in memory. With R = 2^(wN)
// > 4m, inputs below 2m give outputs below 2m and no final subtraction is needed (Walter 1999).
// The products have no branch or memory index that depends on the operands' values.
// Two exponentiations. montPow, for public exponents: left-to-right sliding window over odd powers
// (HAC 14.85), window size from the exponent length with GMP's thresholds; its sequence of
// operations and table reads follows the exponent's bits. montPowSecret, for secret exponents:
// fixed windows over a caller-fixed number of exponent bits, every window one full table scan that
// keeps the wanted entry by masks (no secret-dependent branch, index or loop count), and a
// branch-free final subtraction. Kernels allocate nothing: the caller passes scratch memory.
/** acc plus the products of 4 limbs of a and b (two per i64 lane). */
// @ts-ignore: decorator
@inline
function mac4(acc: v128, a: usize, b: usize): v128 {
  const va = v128.load(a);
  const vb = v128.load(b);
  return i64x2.add(acc, i64x2.add(i64x2.extmul_low_i32x4_u(va, vb), i64x2.extmul_high_i32x4_u(va, vb)));
}

/**
 * Lanes summing to a[i] * b[i] + c[i] * d[i] over i < len: the two halves of a Montgomery column in
 * one pass, 8 limbs per iteration on advancing pointers (immediate load offsets, no index
 * arithmetic); the scalar tail goes into lane 0.
 */
// @ts-ignore: decorator
@inline
function dot2(a: usize, b: usize, c: usize, d: usize, len: i32): v128 {
  let acc0 = i64x2.splat(0);
  let acc1 = i64x2.splat(0);
  let acc2 = i64x2.splat(0);
  let acc3 = i64x2.splat(0);
  const end = a + (<usize>(len & ~7) << 2);
  while (a < end) {
    acc0 = mac4(acc0, a, b);
    acc1 = mac4(acc1, c, d);
    acc2 = mac4(acc2, a + 16, b + 16);
    acc3 = mac4(acc3, c + 16, d + 16);
    a += 32;
    b += 32;
    c += 32;
    d += 32;
  }
  if (len & 4) {
    acc0 = mac4(acc0, a, b);
    acc1 = mac4(acc1, c, d);
    a += 16;
    b += 16;
    c += 16;
    d += 16;
  }
  let s: u64 = 0;
  for (let i: usize = 0, t = <usize>(len & 3) << 2; i < t; i += 4) {
    s += <u64>load<u32>(a + i) * <u64>load<u32>(b + i) + <u64>load<u32>(c + i) * <u64>load<u32>(d + i);
  }
  return i64x2.add(i64x2.add(i64x2.add(acc0, acc1), i64x2.add(acc2, acc3)), i64x2.replace_lane(i64x2.splat(0), 0, s));
}

/** Lanes summing to a[i] * b[i] over i < len (8 limbs per iteration, as dot2). */
// @ts-ignore: decorator
@inline
function dot(a: usize, b: usize, len: i32): v128 {
  let acc0 = i64x2.splat(0);
  let acc1 = i64x2.splat(0);
  const end = a + (<usize>(len & ~7) << 2);
  while (a < end) {
    acc0 = mac4(acc0, a, b);
    acc1 = mac4(acc1, a + 16, b + 16);
    a += 32;
    b += 32;
  }
  if (len & 4) {
    acc0 = mac4(acc0, a, b);
    a += 16;
    b += 16;
  }
  let s: u64 = 0;
  for (let i: usize = 0, t = <usize>(len & 3) << 2; i < t; i += 4) s += <u64>load<u32>(a + i) * <u64>load<u32>(b + i);
  return i64x2.add(i64x2.add(acc0, acc1), i64x2.replace_lane(i64x2.splat(0), 0, s));
}

/** A squaring column's lanes: 2 * (a . b over h limbs) + (c . d over len limbs). */
// @ts-ignore: decorator
@inline
function sqrColumn(a: usize, b: usize, c: usize, d: usize, h: i32, len: i32): v128 {
  return i64x2.add(i64x2.shl(dot(a, b, h), 1), dot(c, d, len));
}

/** Writes the n limbs at src in reverse order to dst (dst != src). */
function reverseLimbs(dst: usize, src: usize, n: i32): void {
  for (let i = 0; i < n; i++) store<u32>(dst + (<usize>(n - 1 - i) << 2), load<u32>(src + (<usize>i << 2)));
}

// Operation counts since the last montCounters call: Montgomery products, squarings and table
// entries read by the constant-time scan. Tests read them to check that montPowSecret's work does
// not depend on the exponent's value.
let productCount: u32 = 0;
let squareCount: u32 = 0;
let scannedCount: u32 = 0;

/** Writes the products, squarings and scanned table entries counted so far as 3 u32 at out, and resets them. */
export function montCounters(out: usize): void {
  store<u32>(out, productCount);
  store<u32>(out, squareCount, 4);
  store<u32>(out, scannedCount, 8);
  productCount = 0;
  squareCount = 0;
  scannedCount = 0;
}

/**
 * r = a * b / R mod m (result < 2m when a, b < 2m), radix 2^w. a forward, brev = b reversed;
 * writes r forward and rrev reversed. m forward and mrev reversed, n limbs, mp = -m^-1 mod 2^w,
 * q: n limbs scratch. r and rrev must not overlap the inputs.
 */
function montMul(r: usize, rrev: usize, a: usize, brev: usize, m: usize, mrev: usize, q: usize, n: i32, mp: u32, w: u32): void {
  productCount++;
  const last = n - 1;
  const m0 = <u64>load<u32>(m);
  const ww = <u64>w;
  const mask: u64 = (<u64>1 << ww) - 1;
  const b0 = <u64>load<u32>(brev + (<usize>last << 2));
  let carry: u64 = 0;
  for (let k = 0; k < n; k++) {
    const off = <usize>(last - k) << 2;
    // the products are below 2^56 and the carry below 2^40: adding them cannot overflow the lanes' headroom
    const v = dot2(a, brev + off, q, mrev + off, k);
    const l0 = <u64>i64x2.extract_lane(v, 0);
    const s = l0 + <u64>i64x2.extract_lane(v, 1);
    const lo = s + carry + <u64>load<u32>(a + (<usize>k << 2)) * b0;
    const high = <u64>(s < l0) + <u64>(lo < s); // the column is high * 2^64 + lo
    const qk = ((lo & mask) * <u64>mp) & mask;
    store<u32>(q + (<usize>k << 2), <u32>qk);
    const t = lo + qk * m0;
    carry = ((high + <u64>(t < lo)) << (64 - ww)) | (t >> ww);
  }
  for (let k = n; k < 2 * n - 1; k++) {
    const lo = <usize>(k - last) << 2;
    const v = dot2(a + lo, brev, q + lo, mrev, 2 * n - 1 - k);
    const l0 = <u64>i64x2.extract_lane(v, 0);
    const s = l0 + <u64>i64x2.extract_lane(v, 1);
    const t = s + carry;
    const high = <u64>(s < l0) + <u64>(t < s); // the column is high * 2^64 + t
    const j = k - n;
    const limb = <u32>(t & mask);
    store<u32>(r + (<usize>j << 2), limb);
    store<u32>(rrev + (<usize>(last - j) << 2), limb);
    carry = (high << (64 - ww)) | (t >> ww);
  }
  store<u32>(r + (<usize>last << 2), <u32>carry);
  store<u32>(rrev, <u32>carry);
}

/** r = a^2 / R mod m: as montMul with b = a (arev = a reversed), each cross product once, doubled. */
function montSqr(r: usize, rrev: usize, a: usize, arev: usize, m: usize, mrev: usize, q: usize, n: i32, mp: u32, w: u32): void {
  squareCount++;
  const last = n - 1;
  const m0 = <u64>load<u32>(m);
  const ww = <u64>w;
  const mask: u64 = (<u64>1 << ww) - 1;
  let carry: u64 = 0;
  for (let k = 0; k < n; k++) {
    const off = <usize>(last - k) << 2;
    let x = carry;
    if ((k & 1) == 0) {
      const h = <u64>load<u32>(a + (<usize>(k >> 1) << 2));
      x += h * h;
    }
    const v = sqrColumn(a, arev + off, q, mrev + off, (k + 1) >> 1, k);
    const l0 = <u64>i64x2.extract_lane(v, 0);
    const s = l0 + <u64>i64x2.extract_lane(v, 1);
    const lo = s + x;
    const high = <u64>(s < l0) + <u64>(lo < s); // the column is high * 2^64 + lo
    const qk = ((lo & mask) * <u64>mp) & mask;
    store<u32>(q + (<usize>k << 2), <u32>qk);
    const t = lo + qk * m0;
    carry = ((high + <u64>(t < lo)) << (64 - ww)) | (t >> ww);
  }
  for (let k = n; k < 2 * n - 1; k++) {
    const lo = k - last;
    const lob = <usize>lo << 2;
    let x = carry;
    if ((k & 1) == 0) {
      const h = <u64>load<u32>(a + (<usize>(k >> 1) << 2));
      x += h * h;
    }
    const v = sqrColumn(a + lob, arev, q + lob, mrev, ((k + 1) >> 1) - lo, 2 * n - 1 - k);
    const l0 = <u64>i64x2.extract_lane(v, 0);
    const s = l0 + <u64>i64x2.extract_lane(v, 1);
    const t = s + x;
    const high = <u64>(s < l0) + <u64>(t < s); // the column is high * 2^64 + t
    const j = k - n;
    const limb = <u32>(t & mask);
    store<u32>(r + (<usize>j << 2), limb);
    store<u32>(rrev + (<usize>(last - j) << 2), limb);
    carry = (high << (64 - ww)) | (t >> ww);
  }
  store<u32>(r + (<usize>last << 2), <u32>carry);
  store<u32>(rrev, <u32>carry);
}

/** GMP's window-size thresholds (mpn/generic/powm.c): the window for an exponent of `bits` bits. */
function windowBits(bits: i32): i32 {
  if (bits <= 7) return 1;
  if (bits <= 25) return 2;
  if (bits <= 81) return 3;
  if (bits <= 241) return 4;
  if (bits <= 673) return 5;
  if (bits <= 1793) return 6;
  return 7;
}

/** Bytes of scratch memory montPow needs for n limbs and an exponent of expBits bits. */
export function montPowScratchBytes(n: i32, expBits: i32): i32 {
  const slots = (1 << (windowBits(expBits) - 1)) + 4;
  return (slots * 2 * n + n) << 2;
}

// @ts-ignore: decorator
@inline
function bit(e: usize, i: i32): i32 {
  return (load<u32>(e + (<usize>(i >> 5) << 2)) >>> (i & 31)) & 1;
}

/**
 * out = base^e mod m (out < m, n limbs forward). base < m (n limbs), r2 = R^2 mod m (n limbs),
 * e: u32 words with bit length expBits >= 1. m and mrev: the modulus forward and reversed;
 * mp = -m^-1 mod 2^w; w = 28 for n <= 240, else 27 (n < 1000). scratch: montPowScratchBytes(n,
 * expBits) bytes, 16-byte aligned.
 */
export function montPow(out: usize, base: usize, e: usize, expBits: i32, m: usize, mrev: usize, n: i32, mp: u32, w: u32, r2: usize, scratch: usize): void {
  const bytes = <usize>n << 2;
  const slot = bytes << 1; // forward limbs then reversed limbs
  const q = scratch;
  const accA = q + bytes;
  const accB = accA + slot;
  const x2 = accB + slot;
  const table = x2 + slot; // odd powers x^1, x^3, ..., x^(2^k - 1)
  const k = windowBits(expBits);
  const entries = 1 << (k - 1);

  // x = base * R mod m, from montMul(base, R^2); the reversed R^2 goes in accB's reversed half.
  reverseLimbs(accB + bytes, r2, n);
  montMul(table, table + bytes, base, accB + bytes, m, mrev, q, n, mp, w);
  if (entries > 1) {
    montSqr(x2, x2 + bytes, table, table + bytes, m, mrev, q, n, mp, w);
    for (let i = 1; i < entries; i++) {
      const prev = table + <usize>(i - 1) * slot;
      const cur = prev + slot;
      montMul(cur, cur + bytes, prev, x2 + bytes, m, mrev, q, n, mp, w);
    }
  }

  let acc = accA;
  let other = accB;
  let started = false;
  let i = expBits - 1;
  while (i >= 0) {
    if (bit(e, i) == 0) {
      montSqr(other, other + bytes, acc, acc + bytes, m, mrev, q, n, mp, w);
      const t = acc; acc = other; other = t;
      i--;
      continue;
    }
    // longest window e_i..e_l with i - l + 1 <= k ending in a set bit
    let l = i - k + 1;
    if (l < 0) l = 0;
    while (bit(e, l) == 0) l++;
    let value = 0;
    for (let j = i; j >= l; j--) value = (value << 1) | bit(e, j);
    const entry = table + <usize>(value >> 1) * slot;
    if (!started) {
      memory.copy(acc, entry, slot);
      started = true;
    } else {
      for (let s = 0; s < i - l + 1; s++) {
        montSqr(other, other + bytes, acc, acc + bytes, m, mrev, q, n, mp, w);
        const t = acc; acc = other; other = t;
      }
      montMul(other, other + bytes, acc, entry + bytes, m, mrev, q, n, mp, w);
      const t = acc; acc = other; other = t;
    }
    i = l - 1;
  }

  // out of Montgomery form: acc * 1 / R, which is <= m; m itself (acc = 0 mod m) becomes 0.
  memory.fill(x2, 0, slot);
  store<u32>(x2 + bytes + (<usize>(n - 1) << 2), 1);
  montMul(out, other, acc, x2 + bytes, m, mrev, q, n, mp, w);
  reduceOnce(out, m, n, w);
}

/**
 * Window size of montPowSecret for `expBits` exponent bits: the k that minimises its cost of
 * 2^k - 2 table products, expBits / k products and expBits / k scans of 2^k entries (a scan of one
 * entry costs about a twentieth of a product at 2048 bits), within the sizes measured.
 */
export function secretWindowBits(expBits: i32): i32 {
  if (expBits <= 16) return 1;
  if (expBits <= 64) return 2;
  if (expBits <= 256) return 3;
  if (expBits <= 768) return 4;
  return 5;
}

/** Bytes of one limb array in montPowSecret's scratch: n limbs rounded up to whole v128 words. */
// @ts-ignore: decorator
@inline
function secretHalfBytes(n: i32): usize {
  return ((<usize>n << 2) + 15) & ~(<usize>15);
}

/** Bytes of scratch memory montPowSecret needs for n limbs and `expBits` exponent bits. */
export function montPowSecretScratchBytes(n: i32, expBits: i32): i32 {
  const half = <i32>secretHalfBytes(n);
  // q, the constant 1 (reversed), a selected entry (reversed), two accumulators and the table,
  // the last three as forward plus reversed limbs
  return half * (3 + 2 * (2 + (1 << secretWindowBits(expBits))));
}

/** Bits [pos, pos + k) of the exponent words at e (the word after bit pos + k - 1 must be readable). */
// @ts-ignore: decorator
@inline
function exponentWindow(e: usize, pos: i32, mask: u32): u32 {
  const word = e + (<usize>(pos >>> 5) << 2);
  const pair = <u64>load<u32>(word) | (<u64>load<u32>(word + 4) << 32);
  return <u32>(pair >> <u64>(pos & 31)) & mask;
}

/**
 * dst = entry `index` of `entries` table entries `stride` bytes apart (`bytes` bytes each, a
 * multiple of 16), reading every entry: each is ANDed with a mask that is all ones for the wanted
 * index and zero otherwise, and ORed into dst.
 */
function selectEntry(dst: usize, table: usize, stride: usize, entries: i32, index: u32, bytes: usize): void {
  for (let o: usize = 0; o < bytes; o += 16) v128.store(dst + o, i64x2.splat(0));
  for (let i = 0; i < entries; i++) {
    // (i ^ index) - 1 is negative exactly when i == index (both below 2^31)
    const mask = i32x4.splat((<i32>((<u32>i ^ index) - 1)) >> 31);
    const src = table + <usize>i * stride;
    for (let o: usize = 0; o < bytes; o += 16) v128.store(dst + o, v128.or(v128.load(dst + o), v128.and(v128.load(src + o), mask)));
  }
  scannedCount += <u32>entries;
}

/**
 * out = base^e mod m (out < m, n limbs forward) for a secret exponent e of at most expBits bits:
 * the same arguments as montPow, but expBits is a public length fixed by the caller (not e's bit
 * length) and e must hold expBits + 64 bits of words, zero above e. Every call with the same n and
 * expBits runs the same sequence of operations and memory reads: the table of all 2^k powers
 * x^0..x^(2^k - 1) (k = secretWindowBits(expBits)), then per k-bit window k squarings, a full
 * table scan and one product (HAC 14.82 with a constant-time table lookup). scratch:
 * montPowSecretScratchBytes(n, expBits) bytes, 16-byte aligned.
 */
export function montPowSecret(out: usize, base: usize, e: usize, expBits: i32, m: usize, mrev: usize, n: i32, mp: u32, w: u32, r2: usize, scratch: usize): void {
  const half = secretHalfBytes(n);
  const slot = half << 1; // forward limbs then reversed limbs
  const q = scratch;
  const oneRev = q + half;
  const selected = oneRev + half;
  const accA = selected + half;
  const accB = accA + slot;
  const table = accB + slot; // x^i at table + i * slot, in Montgomery form
  const k = secretWindowBits(expBits);
  const entries = 1 << k;
  const mask = <u32>entries - 1;

  // table[0] = R mod m (montMul of R^2 by 1); table[1] = x = base * R mod m (montMul of base by R^2)
  memory.fill(oneRev, 0, half);
  store<u32>(oneRev + (<usize>(n - 1) << 2), 1);
  reverseLimbs(selected, r2, n);
  montMul(table, table + half, r2, oneRev, m, mrev, q, n, mp, w);
  montMul(table + slot, table + slot + half, base, selected, m, mrev, q, n, mp, w);
  for (let i = 2; i < entries; i++) {
    const cur = table + <usize>i * slot;
    montMul(cur, cur + half, cur - slot, table + slot + half, m, mrev, q, n, mp, w);
  }

  const windows = (expBits + k - 1) / k;
  let acc = accA;
  let other = accB;
  selectEntry(acc, table, slot, entries, exponentWindow(e, (windows - 1) * k, mask), slot);
  for (let j = windows - 2; j >= 0; j--) {
    for (let s = 0; s < k; s++) {
      montSqr(other, other + half, acc, acc + half, m, mrev, q, n, mp, w);
      const t = acc; acc = other; other = t;
    }
    selectEntry(selected, table + half, slot, entries, exponentWindow(e, j * k, mask), half);
    montMul(other, other + half, acc, selected, m, mrev, q, n, mp, w);
    const t = acc; acc = other; other = t;
  }

  // out of Montgomery form: acc * 1 / R, which is <= m; then the branch-free subtraction
  montMul(out, other, acc, oneRev, m, mrev, q, n, mp, w);
  reduceOnce(out, m, n, w);
}

/**
 * x -= m when x >= m (n limbs, radix 2^w), without a branch on the values: the borrow of x - m is
 * computed over all limbs, then every limb takes x or x - m under a mask made from it.
 */
function reduceOnce(x: usize, m: usize, n: i32, w: u32): void {
  const ww = <i64>w;
  const limbMask = (<i64>1 << ww) - 1;
  let borrow: i64 = 0;
  for (let i = 0; i < n; i++) {
    const o = <usize>i << 2;
    borrow = (<i64>load<u32>(x + o) - <i64>load<u32>(m + o) + borrow) >> ww;
  }
  const keep = <u32>borrow; // all ones when x < m, else 0
  borrow = 0;
  for (let i = 0; i < n; i++) {
    const o = <usize>i << 2;
    const xi = load<u32>(x + o);
    const d = <i64>xi - <i64>load<u32>(m + o) + borrow;
    store<u32>(x + o, (xi & keep) | (<u32>(d & limbMask) & ~keep));
    borrow = d >> ww;
  }
}
