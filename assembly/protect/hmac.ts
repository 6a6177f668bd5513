// Serves src/protect/hmac.ts: SHA-256 (FIPS 180-4) and HMAC-SHA-256 (RFC 2104) for keyed
// pseudonyms, batched: the key's padded inner and outer states are compressed once per key
// (hmacKeyStates), then one call signs many short messages packed end to end (hmacTokens), each
// costing two compressions when shorter than 56 bytes, with no call across the boundary per value.
// A message longer than the caller's staging window is fed through hmacStart / hmacAbsorb /
// hmacFinish, the same three steps hmacTokens runs per message.
//
// Secrets: the key, its padded states and every intermediate hash live only in regions the caller
// passes in (its arena's secret allocations, zeroed when the call's scope closes); this file has no
// scratch memory of its own, and nothing here allocates.
// Timing: SHA-256 is additions, rotations, shifts and boolean functions on 32-bit words; no branch
// and no memory address depends on the key or the message bytes, so the compression is constant
// time with respect to both. What varies is only the number of blocks, from the lengths of the key
// and of each message (public here: a value's length is not hidden by its token either).

/** FIPS 180-4 section 4.2.2: the first 32 bits of the fractional parts of the cube roots of the first 64 primes. */
const K: usize = memory.data<u32>([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

/** FIPS 180-4 section 5.3.3: the initial hash value H(0). */
const IV: usize = memory.data<u32>([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);

/**
 * Layout of the work region (WORK_BYTES, caller-allocated and secret): the running hash H (8 words),
 * one padding block (64 bytes), the message schedule W (64 words).
 */
const H_AT: usize = 0;
const BLOCK_AT: usize = 32;
const W_AT: usize = 96;
const WORK_BYTES: i32 = 96 + 256;

/** Bytes of the work region every kernel here takes. */
export function hmacWorkBytes(): i32 {
  return WORK_BYTES;
}

// FIPS 180-4 section 4.1.2: the functions of the rounds and of the message schedule.
@inline function ch(x: u32, y: u32, z: u32): u32 {
  return (x & y) ^ (~x & z);
}
@inline function maj(x: u32, y: u32, z: u32): u32 {
  return (x & y) ^ (x & z) ^ (y & z);
}
@inline function bigSigma0(x: u32): u32 {
  return rotr<u32>(x, 2) ^ rotr<u32>(x, 13) ^ rotr<u32>(x, 22);
}
@inline function bigSigma1(x: u32): u32 {
  return rotr<u32>(x, 6) ^ rotr<u32>(x, 11) ^ rotr<u32>(x, 25);
}
@inline function smallSigma0(x: u32): u32 {
  return rotr<u32>(x, 7) ^ rotr<u32>(x, 18) ^ (x >>> 3);
}
@inline function smallSigma1(x: u32): u32 {
  return rotr<u32>(x, 17) ^ rotr<u32>(x, 19) ^ (x >>> 10);
}
/** K[t] + W[t]. */
@inline function kw(w: usize, t: usize): u32 {
  return load<u32>(K + 4 * t) + load<u32>(w + 4 * t);
}

/**
 * FIPS 180-4 section 6.2.2: compresses the 64-byte block at `block` into the hash at `h`. The rounds
 * go eight at a time: instead of shifting a..h down by one each round, each round's two new values
 * (e and a in the standard) are written to the variables whose role moved out (d and h), and the
 * roles come back to their names after eight rounds.
 */
function compress(h: usize, block: usize, w: usize): void {
  for (let t: usize = 0; t < 16; t++) store<u32>(w + 4 * t, bswap<u32>(load<u32>(block + 4 * t)));
  for (let t: usize = 16; t < 64; t++) {
    const s0 = smallSigma0(load<u32>(w + 4 * (t - 15)));
    const s1 = smallSigma1(load<u32>(w + 4 * (t - 2)));
    store<u32>(w + 4 * t, load<u32>(w + 4 * (t - 16)) + s0 + load<u32>(w + 4 * (t - 7)) + s1);
  }
  let a = load<u32>(h, 0);
  let b = load<u32>(h, 4);
  let c = load<u32>(h, 8);
  let d = load<u32>(h, 12);
  let e = load<u32>(h, 16);
  let f = load<u32>(h, 20);
  let g = load<u32>(h, 24);
  let hh = load<u32>(h, 28);
  for (let t: usize = 0; t < 64; t += 8) {
    let t1 = hh + bigSigma1(e) + ch(e, f, g) + kw(w, t);
    d += t1;
    hh = t1 + bigSigma0(a) + maj(a, b, c);
    t1 = g + bigSigma1(d) + ch(d, e, f) + kw(w, t + 1);
    c += t1;
    g = t1 + bigSigma0(hh) + maj(hh, a, b);
    t1 = f + bigSigma1(c) + ch(c, d, e) + kw(w, t + 2);
    b += t1;
    f = t1 + bigSigma0(g) + maj(g, hh, a);
    t1 = e + bigSigma1(b) + ch(b, c, d) + kw(w, t + 3);
    a += t1;
    e = t1 + bigSigma0(f) + maj(f, g, hh);
    t1 = d + bigSigma1(a) + ch(a, b, c) + kw(w, t + 4);
    hh += t1;
    d = t1 + bigSigma0(e) + maj(e, f, g);
    t1 = c + bigSigma1(hh) + ch(hh, a, b) + kw(w, t + 5);
    g += t1;
    c = t1 + bigSigma0(d) + maj(d, e, f);
    t1 = b + bigSigma1(g) + ch(g, hh, a) + kw(w, t + 6);
    f += t1;
    b = t1 + bigSigma0(c) + maj(c, d, e);
    t1 = a + bigSigma1(f) + ch(f, g, hh) + kw(w, t + 7);
    e += t1;
    a = t1 + bigSigma0(b) + maj(b, c, d);
  }
  store<u32>(h, load<u32>(h, 0) + a, 0);
  store<u32>(h, load<u32>(h, 4) + b, 4);
  store<u32>(h, load<u32>(h, 8) + c, 8);
  store<u32>(h, load<u32>(h, 12) + d, 12);
  store<u32>(h, load<u32>(h, 16) + e, 16);
  store<u32>(h, load<u32>(h, 20) + f, 20);
  store<u32>(h, load<u32>(h, 24) + g, 24);
  store<u32>(h, load<u32>(h, 28) + hh, 28);
}

/**
 * FIPS 180-4 section 5.1.1: pads the last `tail` (< 64) bytes at `data` of a message of `totalBytes`
 * bytes (counting everything hashed since the IV) and compresses the one or two final blocks.
 */
function finish(h: usize, data: usize, tail: usize, totalBytes: u64, work: usize): void {
  const block = work + BLOCK_AT;
  memory.fill(block, 0, 64);
  memory.copy(block, data, tail);
  store<u8>(block + tail, 0x80);
  if (tail >= 56) {
    compress(h, block, work + W_AT);
    memory.fill(block, 0, 64);
  }
  store<u64>(block + 56, bswap<u64>(totalBytes << 3));
  compress(h, block, work + W_AT);
}

/** Writes the hash at `h` as big-endian bytes: all 32 (`bytes` = 32) or the first `bytes`. */
function digest(h: usize, out: usize, bytes: usize): void {
  for (let i: usize = 0; i < bytes; i++) store<u8>(out + i, <u8>(load<u32>(h + (i & ~3)) >>> (24 - 8 * <u32>(i & 3))));
}

/** SHA-256 of `length` bytes at `data` into 32 bytes at `out`; `work` is a WORK_BYTES region. */
export function sha256(data: usize, length: usize, work: usize, out: usize): void {
  const h = work + H_AT;
  memory.copy(h, IV, 32);
  const full = length & ~63;
  for (let at: usize = 0; at < full; at += 64) compress(h, data + at, work + W_AT);
  finish(h, data + full, length - full, <u64>length, work);
  digest(h, out, 32);
}

/**
 * RFC 2104 section 2: the hashes after the key block XOR ipad (inner) and XOR opad (outer), written
 * to `states` (64 bytes: 8 words each). A key longer than the 64-byte block is replaced by its SHA-256 first.
 * The padded key block is built in the work region.
 */
export function hmacKeyStates(key: usize, keyLength: usize, work: usize, states: usize): void {
  const padded = states; // the 64 bytes of states hold the padded key until the hashes overwrite it
  memory.fill(padded, 0, 64);
  if (keyLength > 64) sha256(key, keyLength, work, padded);
  else memory.copy(padded, key, keyLength);
  const block = work + BLOCK_AT;
  const h = work + H_AT;
  for (let i: usize = 0; i < 64; i++) store<u8>(block + i, load<u8>(padded + i) ^ 0x36);
  memory.copy(h, IV, 32);
  compress(h, block, work + W_AT);
  for (let i: usize = 0; i < 64; i++) store<u8>(block + i, load<u8>(padded + i) ^ 0x5c);
  memory.copy(states, h, 32); // the inner state overwrites the first half of the padded key, no longer needed
  memory.copy(h, IV, 32);
  compress(h, block, work + W_AT);
  memory.copy(states + 32, h, 32);
}

/** Begins one HMAC: the running hash becomes the key's inner state. */
export function hmacStart(states: usize, work: usize): void {
  memory.copy(work + H_AT, states, 32);
}

/** Hashes `blocks` 64-byte blocks at `data` into the running HMAC. */
export function hmacAbsorb(work: usize, data: usize, blocks: usize): void {
  for (let i: usize = 0; i < blocks; i++) compress(work + H_AT, data + 64 * i, work + W_AT);
}

/**
 * Ends one HMAC: hashes the last `tail` bytes at `data` (of a message of `messageLength` bytes,
 * whose blocks before them went through hmacAbsorb), then the outer hash of the inner digest, and
 * writes the first `tokenBytes` bytes of the tag to `out`.
 */
export function hmacFinish(states: usize, work: usize, data: usize, tail: usize, messageLength: usize, out: usize, tokenBytes: usize): void {
  const h = work + H_AT;
  finish(h, data, tail, 64 + <u64>messageLength, work);
  const inner = work + W_AT; // the inner digest, staged where finish() builds the outer block below
  digest(h, inner, 32);
  memory.copy(h, states + 32, 32);
  finish(h, inner, 32, 64 + 32, work);
  digest(h, out, tokenBytes);
}

/**
 * HMAC-SHA-256 of `count` messages packed at `data`: message i is bytes [offsets[i], offsets[i + 1])
 * (`count` + 1 u32 offsets, relative to `data`); its first `tokenBytes` tag bytes go to out + i tokenBytes.
 */
export function hmacTokens(states: usize, work: usize, data: usize, offsets: usize, count: i32, out: usize, tokenBytes: usize): void {
  for (let i = 0; i < count; i++) {
    const start = <usize>load<u32>(offsets + 4 * <usize>i);
    const length = <usize>load<u32>(offsets + 4 * <usize>i + 4) - start;
    const full = length & ~63;
    hmacStart(states, work);
    hmacAbsorb(work, data + start, full >>> 6);
    hmacFinish(states, work, data + start + full, length - full, length, out + tokenBytes * <usize>i, tokenBytes);
  }
}
