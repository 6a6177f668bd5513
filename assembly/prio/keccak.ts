// Serves src/prio/kernels.ts (reference: src/prio/xof.ts).
// TurboSHAKE128 (RFC 9861: Keccak-p[1600, 12 rounds], rate 168 bytes) on a 200-byte state block,
// and the bulk expansion of XofTurboShake128 into field elements with the rejection sampling of
// draft-irtf-cfrg-vdaf-20 (6.2): each candidate is 8 or 16 little-endian bytes, kept when below p.

const RATE: usize = 168;

// Round constants of rounds 12..23 of Keccak-f[1600].
const RC: StaticArray<u64> = [
  0x000000008000808b, 0x800000000000008b, 0x8000000000008089, 0x8000000000008003,
  0x8000000000008002, 0x8000000000000080, 0x000000000000800a, 0x800000008000000a,
  0x8000000080008081, 0x8000000000008080, 0x0000000080000001, 0x8000000080008008,
];

/**
 * Keccak-p[1600, 12] on the 25 lanes at s (lane x + 5y at s + 8(x + 5y)), the lanes held in locals
 * through the rounds; theta's column parities fold into rho and pi (FIPS 202, 3.2). Lanes 1, 2, 8,
 * 12, 17 and 20 are held complemented (the "lane complementing" transform of Bertoni et al., Keccak
 * implementation overview 3.0, 2.2): chi then needs 5 NOTs per round instead of 25.
 */
function permute(s: usize): void {
  let a0 = load<u64>(s, 0);
  let a1 = ~load<u64>(s, 8);
  let a2 = ~load<u64>(s, 16);
  let a3 = load<u64>(s, 24);
  let a4 = load<u64>(s, 32);
  let a5 = load<u64>(s, 40);
  let a6 = load<u64>(s, 48);
  let a7 = load<u64>(s, 56);
  let a8 = ~load<u64>(s, 64);
  let a9 = load<u64>(s, 72);
  let a10 = load<u64>(s, 80);
  let a11 = load<u64>(s, 88);
  let a12 = ~load<u64>(s, 96);
  let a13 = load<u64>(s, 104);
  let a14 = load<u64>(s, 112);
  let a15 = load<u64>(s, 120);
  let a16 = load<u64>(s, 128);
  let a17 = ~load<u64>(s, 136);
  let a18 = load<u64>(s, 144);
  let a19 = load<u64>(s, 152);
  let a20 = ~load<u64>(s, 160);
  let a21 = load<u64>(s, 168);
  let a22 = load<u64>(s, 176);
  let a23 = load<u64>(s, 184);
  let a24 = load<u64>(s, 192);
  for (let round = 0; round < 12; round++) {
    const c0 = a0 ^ a5 ^ a10 ^ a15 ^ a20;
    const c1 = a1 ^ a6 ^ a11 ^ a16 ^ a21;
    const c2 = a2 ^ a7 ^ a12 ^ a17 ^ a22;
    const c3 = a3 ^ a8 ^ a13 ^ a18 ^ a23;
    const c4 = a4 ^ a9 ^ a14 ^ a19 ^ a24;
    const d0 = c4 ^ rotl<u64>(c1, 1);
    const d1 = c0 ^ rotl<u64>(c2, 1);
    const d2 = c1 ^ rotl<u64>(c3, 1);
    const d3 = c2 ^ rotl<u64>(c4, 1);
    const d4 = c3 ^ rotl<u64>(c0, 1);
    // rho and pi: lane i, after theta, rotated by RHO[i] into lane PI[i]
    const b0 = a0 ^ d0;
    const b1 = rotl<u64>(a6 ^ d1, 44);
    const b2 = rotl<u64>(a12 ^ d2, 43);
    const b3 = rotl<u64>(a18 ^ d3, 21);
    const b4 = rotl<u64>(a24 ^ d4, 14);
    const b5 = rotl<u64>(a3 ^ d3, 28);
    const b6 = rotl<u64>(a9 ^ d4, 20);
    const b7 = rotl<u64>(a10 ^ d0, 3);
    const b8 = rotl<u64>(a16 ^ d1, 45);
    const b9 = rotl<u64>(a22 ^ d2, 61);
    const b10 = rotl<u64>(a1 ^ d1, 1);
    const b11 = rotl<u64>(a7 ^ d2, 6);
    const b12 = rotl<u64>(a13 ^ d3, 25);
    const b13 = rotl<u64>(a19 ^ d4, 8);
    const b14 = rotl<u64>(a20 ^ d0, 18);
    const b15 = rotl<u64>(a4 ^ d4, 27);
    const b16 = rotl<u64>(a5 ^ d0, 36);
    const b17 = rotl<u64>(a11 ^ d1, 10);
    const b18 = rotl<u64>(a17 ^ d2, 15);
    const b19 = rotl<u64>(a23 ^ d3, 56);
    const b20 = rotl<u64>(a2 ^ d2, 62);
    const b21 = rotl<u64>(a8 ^ d3, 55);
    const b22 = rotl<u64>(a14 ^ d4, 39);
    const b23 = rotl<u64>(a15 ^ d0, 41);
    const b24 = rotl<u64>(a21 ^ d1, 2);
    // chi, and iota on lane 0, on the complemented lanes (see permute's comment)
    a0 = b0 ^ (b1 | b2) ^ unchecked(RC[round]);
    a1 = b1 ^ (~b2 | b3);
    a2 = b2 ^ (b3 & b4);
    a3 = b3 ^ (b4 | b0);
    a4 = b4 ^ (b0 & b1);
    a5 = b5 ^ (b6 | b7);
    a6 = b6 ^ (b7 & b8);
    a7 = b7 ^ (b8 | ~b9);
    a8 = b8 ^ (b9 | b5);
    a9 = b9 ^ (b5 & b6);
    a10 = b10 ^ (b11 | b12);
    a11 = b11 ^ (b12 & b13);
    a12 = b12 ^ (~b13 & b14);
    a13 = ~b13 ^ (b14 | b10);
    a14 = b14 ^ (b10 & b11);
    a15 = b15 ^ (b16 & b17);
    a16 = b16 ^ (b17 | b18);
    a17 = b17 ^ (~b18 | b19);
    a18 = ~b18 ^ (b19 & b15);
    a19 = b19 ^ (b15 | b16);
    a20 = b20 ^ (~b21 & b22);
    a21 = ~b21 ^ (b22 | b23);
    a22 = b22 ^ (b23 & b24);
    a23 = b23 ^ (b24 | b20);
    a24 = b24 ^ (b20 & b21);
  }
  store<u64>(s, a0, 0);
  store<u64>(s, ~a1, 8);
  store<u64>(s, ~a2, 16);
  store<u64>(s, a3, 24);
  store<u64>(s, a4, 32);
  store<u64>(s, a5, 40);
  store<u64>(s, a6, 48);
  store<u64>(s, a7, 56);
  store<u64>(s, ~a8, 64);
  store<u64>(s, a9, 72);
  store<u64>(s, a10, 80);
  store<u64>(s, a11, 88);
  store<u64>(s, ~a12, 96);
  store<u64>(s, a13, 104);
  store<u64>(s, a14, 112);
  store<u64>(s, a15, 120);
  store<u64>(s, a16, 128);
  store<u64>(s, ~a17, 136);
  store<u64>(s, a18, 144);
  store<u64>(s, a19, 152);
  store<u64>(s, ~a20, 160);
  store<u64>(s, a21, 168);
  store<u64>(s, a22, 176);
  store<u64>(s, a23, 184);
  store<u64>(s, a24, 192);
}

/** Bytes of the state block: 25 lanes, then the offset of the next output byte in the current block. */
export const SHAKE_STATE_BYTES: i32 = 200 + 8;

/** Absorbs msgLen bytes at msg with domain byte `domain` into the zeroed state at st. */
function absorb(st: usize, msg: usize, msgLen: usize, domain: u8): void {
  memory.fill(st, 0, <usize>SHAKE_STATE_BYTES);
  let pos: usize = 0;
  while (msgLen - pos >= RATE) {
    for (let i: usize = 0; i < RATE; i += 8) store<u64>(st + i, load<u64>(st + i) ^ load<u64>(msg + pos + i));
    permute(st);
    pos += RATE;
  }
  const rest = msgLen - pos;
  let i: usize = 0;
  for (; i + 8 <= rest; i += 8) store<u64>(st + i, load<u64>(st + i) ^ load<u64>(msg + pos + i));
  for (; i < rest; i++) store<u8>(st + i, load<u8>(st + i) ^ load<u8>(msg + pos + i));
  store<u8>(st + rest, load<u8>(st + rest) ^ domain);
  store<u8>(st + RATE - 1, load<u8>(st + RATE - 1) ^ 0x80);
  permute(st);
  store<u64>(st + 200, 0); // bytes of the current block already squeezed
}

/** The next `length` output bytes into out. */
function squeeze(st: usize, out: usize, length: usize): void {
  let offset = <usize>load<u64>(st + 200);
  let written: usize = 0;
  while (written < length) {
    if (offset == RATE) {
      permute(st);
      offset = 0;
    }
    const take = min<usize>(RATE - offset, length - written);
    memory.copy(out + written, st + offset, take);
    offset += take;
    written += take;
  }
  store<u64>(st + 200, offset);
}

/** TurboSHAKE128(M, D, L) into out. */
export function turboShake128(msg: usize, msgLen: i32, domain: i32, out: usize, outLen: i32, st: usize): void {
  absorb(st, msg, <usize>msgLen, <u8>domain);
  squeeze(st, out, <usize>outLen);
  memory.fill(st, 0, <usize>SHAKE_STATE_BYTES);
}

/**
 * XofTurboShake128 over the message at msg (le16 |dst|, dst, |seed|, seed, binder): `count`
 * canonical elements of Field64 (field 64) or Field128 (field 128) into out, by rejection sampling.
 */
export function xofExpand(field: i32, msg: usize, msgLen: i32, out: usize, count: i32, st: usize): void {
  absorb(st, msg, <usize>msgLen, 1);
  const size: usize = field == 64 ? 8 : 16;
  let filled = 0;
  while (filled < count) {
    // squeeze a candidate for every missing element, then keep those below p in stream order
    squeeze(st, out + <usize>filled * size, <usize>(count - filled) * size);
    let kept = filled;
    for (let i = filled; i < count; i++) {
      const at = out + <usize>i * size;
      const lo = load<u64>(at);
      let below: bool;
      if (field == 64) {
        below = lo < 0xffffffff00000001;
      } else {
        const hi = load<u64>(at, 8);
        below = hi < 0xffffffffffffffe4 || (hi == 0xffffffffffffffe4 && lo < 1);
      }
      if (below) {
        if (kept != i) memory.copy(out + <usize>kept * size, at, size);
        kept++;
      }
    }
    filled = kept;
  }
  memory.fill(st, 0, <usize>SHAKE_STATE_BYTES);
}
