// ChaCha20 (RFC 8439 section 2.3) keystream generator: the engine's CSPRNG and seeded PRG
// (src/dp/rng.ts), and the staging block where batched samplers put a batch's keystream.
// A generator is GENERATOR_BYTES of linear memory owned by the caller:
//   [0, 64)    the 16-word state: constants, 256-bit key, 64-bit block counter (words 12-13),
//              64-bit stream id (words 14-15); with counter < 2^32 this is RFC 8439's
//              32-bit counter + 96-bit nonce layout, so the RFC test vectors apply unchanged;
//   [64, 320)  a buffer of four keystream blocks;   [320, 324) bytes of the buffer already used.
// Blocks are computed four at a time with SIMD (one block per lane).

const GENERATOR_BYTES: usize = 336;

/** Bytes of linear memory one generator occupies. */
export function generatorBytes(): usize {
  return GENERATOR_BYTES;
}
/** Offset of the generator's keystream buffer (four blocks). */
export const BUFFER: usize = 64;
const BUFFER_BYTES: u32 = 256;
const POSITION: usize = 320;

// @ts-ignore: decorator
@inline function rotl16(v: v128): v128 {
  return i8x16.shuffle(v, v, 2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13);
}

// @ts-ignore: decorator
@inline function rotl8(v: v128): v128 {
  return i8x16.shuffle(v, v, 3, 0, 1, 2, 7, 4, 5, 6, 11, 8, 9, 10, 15, 12, 13, 14);
}

// @ts-ignore: decorator
@inline function rotl(v: v128, n: i32): v128 {
  return v128.or(i32x4.shl(v, n), i32x4.shr_u(v, 32 - n));
}

/** Writes 4 blocks (counters c, c+1, c+2, c+3) at out, 64 bytes each, and advances the counter by 4. */
export function fourBlocks(state: usize, out: usize): void {
  const counter = load<u64>(state, 48);
  const lo = <u32>counter;
  // Per-lane counters with the carry from word 12 into word 13 handled lane by lane.
  const c12 = i32x4(lo, lo + 1, lo + 2, lo + 3);
  const hi = <u32>(counter >> 32);
  const c13 = i32x4(hi, hi + <u32>(lo > 0xffffffff - 1), hi + <u32>(lo > 0xffffffff - 2), hi + <u32>(lo > 0xffffffff - 3));
  const s0 = i32x4.splat(load<u32>(state, 0));
  const s1 = i32x4.splat(load<u32>(state, 4));
  const s2 = i32x4.splat(load<u32>(state, 8));
  const s3 = i32x4.splat(load<u32>(state, 12));
  const s4 = i32x4.splat(load<u32>(state, 16));
  const s5 = i32x4.splat(load<u32>(state, 20));
  const s6 = i32x4.splat(load<u32>(state, 24));
  const s7 = i32x4.splat(load<u32>(state, 28));
  const s8 = i32x4.splat(load<u32>(state, 32));
  const s9 = i32x4.splat(load<u32>(state, 36));
  const s10 = i32x4.splat(load<u32>(state, 40));
  const s11 = i32x4.splat(load<u32>(state, 44));
  const s14 = i32x4.splat(load<u32>(state, 56));
  const s15 = i32x4.splat(load<u32>(state, 60));
  let x0 = s0, x1 = s1, x2 = s2, x3 = s3, x4 = s4, x5 = s5, x6 = s6, x7 = s7;
  let x8 = s8, x9 = s9, x10 = s10, x11 = s11, x12 = c12, x13 = c13, x14 = s14, x15 = s15;
  for (let round = 0; round < 10; round++) {
    // Column rounds.
    x0 = i32x4.add(x0, x4); x12 = rotl16(v128.xor(x12, x0)); x8 = i32x4.add(x8, x12); x4 = rotl(v128.xor(x4, x8), 12);
    x0 = i32x4.add(x0, x4); x12 = rotl8(v128.xor(x12, x0)); x8 = i32x4.add(x8, x12); x4 = rotl(v128.xor(x4, x8), 7);
    x1 = i32x4.add(x1, x5); x13 = rotl16(v128.xor(x13, x1)); x9 = i32x4.add(x9, x13); x5 = rotl(v128.xor(x5, x9), 12);
    x1 = i32x4.add(x1, x5); x13 = rotl8(v128.xor(x13, x1)); x9 = i32x4.add(x9, x13); x5 = rotl(v128.xor(x5, x9), 7);
    x2 = i32x4.add(x2, x6); x14 = rotl16(v128.xor(x14, x2)); x10 = i32x4.add(x10, x14); x6 = rotl(v128.xor(x6, x10), 12);
    x2 = i32x4.add(x2, x6); x14 = rotl8(v128.xor(x14, x2)); x10 = i32x4.add(x10, x14); x6 = rotl(v128.xor(x6, x10), 7);
    x3 = i32x4.add(x3, x7); x15 = rotl16(v128.xor(x15, x3)); x11 = i32x4.add(x11, x15); x7 = rotl(v128.xor(x7, x11), 12);
    x3 = i32x4.add(x3, x7); x15 = rotl8(v128.xor(x15, x3)); x11 = i32x4.add(x11, x15); x7 = rotl(v128.xor(x7, x11), 7);
    // Diagonal rounds.
    x0 = i32x4.add(x0, x5); x15 = rotl16(v128.xor(x15, x0)); x10 = i32x4.add(x10, x15); x5 = rotl(v128.xor(x5, x10), 12);
    x0 = i32x4.add(x0, x5); x15 = rotl8(v128.xor(x15, x0)); x10 = i32x4.add(x10, x15); x5 = rotl(v128.xor(x5, x10), 7);
    x1 = i32x4.add(x1, x6); x12 = rotl16(v128.xor(x12, x1)); x11 = i32x4.add(x11, x12); x6 = rotl(v128.xor(x6, x11), 12);
    x1 = i32x4.add(x1, x6); x12 = rotl8(v128.xor(x12, x1)); x11 = i32x4.add(x11, x12); x6 = rotl(v128.xor(x6, x11), 7);
    x2 = i32x4.add(x2, x7); x13 = rotl16(v128.xor(x13, x2)); x8 = i32x4.add(x8, x13); x7 = rotl(v128.xor(x7, x8), 12);
    x2 = i32x4.add(x2, x7); x13 = rotl8(v128.xor(x13, x2)); x8 = i32x4.add(x8, x13); x7 = rotl(v128.xor(x7, x8), 7);
    x3 = i32x4.add(x3, x4); x14 = rotl16(v128.xor(x14, x3)); x9 = i32x4.add(x9, x14); x4 = rotl(v128.xor(x4, x9), 12);
    x3 = i32x4.add(x3, x4); x14 = rotl8(v128.xor(x14, x3)); x9 = i32x4.add(x9, x14); x4 = rotl(v128.xor(x4, x9), 7);
  }
  storeTransposed(out, 0, i32x4.add(x0, s0), i32x4.add(x1, s1), i32x4.add(x2, s2), i32x4.add(x3, s3));
  storeTransposed(out, 16, i32x4.add(x4, s4), i32x4.add(x5, s5), i32x4.add(x6, s6), i32x4.add(x7, s7));
  storeTransposed(out, 32, i32x4.add(x8, s8), i32x4.add(x9, s9), i32x4.add(x10, s10), i32x4.add(x11, s11));
  storeTransposed(out, 48, i32x4.add(x12, c12), i32x4.add(x13, c13), i32x4.add(x14, s14), i32x4.add(x15, s15));
  store<u64>(state, counter + 4, 48);
}

/** a..d hold words w..w+3 of blocks 0..3 (one block per lane): store them block-major. */
// @ts-ignore: decorator
@inline function storeTransposed(out: usize, offset: usize, a: v128, b: v128, c: v128, d: v128): void {
  const ab01 = i32x4.shuffle(a, b, 0, 4, 1, 5);
  const cd01 = i32x4.shuffle(c, d, 0, 4, 1, 5);
  const ab23 = i32x4.shuffle(a, b, 2, 6, 3, 7);
  const cd23 = i32x4.shuffle(c, d, 2, 6, 3, 7);
  v128.store(out + offset, i64x2.shuffle(ab01, cd01, 0, 2));
  v128.store(out + offset + 64, i64x2.shuffle(ab01, cd01, 1, 3));
  v128.store(out + offset + 128, i64x2.shuffle(ab23, cd23, 0, 2));
  v128.store(out + offset + 192, i64x2.shuffle(ab23, cd23, 1, 3));
}

/** Keystream bytes from the generator at g (buffered, so any split of calls gives the same stream). */
export function chachaBytes(g: usize, out: usize, n: i32): void {
  let done = 0;
  let position = load<u32>(g, POSITION);
  const buffered = min<i32>(n, <i32>(BUFFER_BYTES - position));
  memory.copy(out, g + BUFFER + position, buffered);
  done = buffered;
  position += buffered;
  // Whole groups of four blocks go straight to the output.
  for (; done + <i32>BUFFER_BYTES <= n; done += <i32>BUFFER_BYTES) fourBlocks(g, out + done);
  if (done < n) {
    fourBlocks(g, g + BUFFER);
    position = n - done;
    memory.copy(out + done, g + BUFFER, position);
  }
  store<u32>(g, position, POSITION);
}

// The keystream staging block: kernels that draw a batch of values at once (assembly/dp/noise.ts,
// dp/secure.ts, secagg/rotation.ts) write the batch's keystream here with one chachaBytes call, so
// their hot loops do not touch the generator's bookkeeping. Static data, below the heap base.
export const KEYSTREAM_BYTES: i32 = 2048;
export const KEYSTREAM: usize = memory.data(KEYSTREAM_BYTES, 16);

/** Zeroes the staging block (called when a generator's call ends: it may hold keystream). */
export function wipeKeystream(): void {
  memory.fill(KEYSTREAM, 0, KEYSTREAM_BYTES);
}

/** The next 64 keystream bits of generator g, little-endian. */
// @ts-ignore: decorator
@inline export function nextU64(g: usize): u64 {
  let position = load<u32>(g, POSITION);
  if (position + 8 > BUFFER_BYTES) {
    // Keep the stream byte-exact: take the buffer's tail, then the head of a fresh buffer.
    const tail = BUFFER_BYTES - position;
    let value: u64 = 0;
    for (let i: u32 = 0; i < tail; i++) value |= (<u64>load<u8>(g + BUFFER + position + i)) << (i << 3);
    fourBlocks(g, g + BUFFER);
    for (let i: u32 = tail; i < 8; i++) value |= (<u64>load<u8>(g + BUFFER + i - tail)) << (i << 3);
    store<u32>(g, 8 - tail, POSITION);
    return value;
  }
  store<u32>(g, position + 8, POSITION);
  return load<u64>(g + BUFFER + position);
}

/**
 * n doubles uniform in (0, 1) with full precision (as Google's UniformDouble): the binade
 * [2^-(k+1), 2^-k) is chosen with probability 2^-(k+1) from the trailing zeros of random bits, and
 * all 2^52 doubles in it are equally likely. Each value uses 64 bits: 52 for the mantissa and
 * 12 for the binade, with 64 more bits per 64 extra binades (probability 2^-12).
 */
export function uniformDoubles(g: usize, out: usize, n: i32): void {
  for (let i = 0; i < n; i++) store<f64>(out + (<usize>i << 3), nextUniform(g));
}

// @ts-ignore: decorator
@inline export function nextUniform(g: usize): f64 {
  const bits = nextU64(g);
  const mantissa = bits >> 12;
  let k = <i32>ctz<u64>((bits & 0xfff) | 0x1000);
  if (k == 12) {
    let more = nextU64(g);
    while (more == 0 && k < 1022) {
      k += 64;
      more = nextU64(g);
    }
    k += <i32>ctz<u64>(more);
  }
  // Below 2^-1022 (probability 2^-1022) the subnormal grid is coarser than 52 bits: return its least value.
  if (k > 1021) return 4.9406564584124654e-324;
  return reinterpret<f64>(mantissa | (<u64>(1022 - k) << 52));
}
