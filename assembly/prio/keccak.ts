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
// rho rotation of lane x + 5y, and the lane it moves to under pi.
const RHO: StaticArray<u32> = [0, 1, 62, 28, 27, 36, 44, 6, 55, 20, 3, 10, 43, 25, 39, 41, 45, 15, 21, 8, 18, 2, 61, 56, 14];
const PI: StaticArray<u32> = [0, 10, 20, 5, 15, 16, 1, 11, 21, 6, 7, 17, 2, 12, 22, 23, 8, 18, 3, 13, 14, 24, 9, 19, 4];

/** Keccak-p[1600, 12] on the 25 lanes at s (b: 25 lanes of scratch). */
function permute(s: usize, b: usize): void {
  for (let round = 0; round < 12; round++) {
    // theta
    const c0 = load<u64>(s) ^ load<u64>(s, 40) ^ load<u64>(s, 80) ^ load<u64>(s, 120) ^ load<u64>(s, 160);
    const c1 = load<u64>(s, 8) ^ load<u64>(s, 48) ^ load<u64>(s, 88) ^ load<u64>(s, 128) ^ load<u64>(s, 168);
    const c2 = load<u64>(s, 16) ^ load<u64>(s, 56) ^ load<u64>(s, 96) ^ load<u64>(s, 136) ^ load<u64>(s, 176);
    const c3 = load<u64>(s, 24) ^ load<u64>(s, 64) ^ load<u64>(s, 104) ^ load<u64>(s, 144) ^ load<u64>(s, 184);
    const c4 = load<u64>(s, 32) ^ load<u64>(s, 72) ^ load<u64>(s, 112) ^ load<u64>(s, 152) ^ load<u64>(s, 192);
    const d0 = c4 ^ rotl<u64>(c1, 1);
    const d1 = c0 ^ rotl<u64>(c2, 1);
    const d2 = c1 ^ rotl<u64>(c3, 1);
    const d3 = c2 ^ rotl<u64>(c4, 1);
    const d4 = c3 ^ rotl<u64>(c0, 1);
    for (let y: usize = 0; y < 200; y += 40) {
      store<u64>(s + y, load<u64>(s + y) ^ d0);
      store<u64>(s + y, load<u64>(s + y, 8) ^ d1, 8);
      store<u64>(s + y, load<u64>(s + y, 16) ^ d2, 16);
      store<u64>(s + y, load<u64>(s + y, 24) ^ d3, 24);
      store<u64>(s + y, load<u64>(s + y, 32) ^ d4, 32);
    }
    // rho and pi
    for (let i = 0; i < 25; i++) {
      store<u64>(b + (<usize>unchecked(PI[i]) << 3), rotl<u64>(load<u64>(s + (<usize>i << 3)), unchecked(RHO[i])));
    }
    // chi
    for (let y: usize = 0; y < 200; y += 40) {
      const b0 = load<u64>(b + y);
      const b1 = load<u64>(b + y, 8);
      const b2 = load<u64>(b + y, 16);
      const b3 = load<u64>(b + y, 24);
      const b4 = load<u64>(b + y, 32);
      store<u64>(s + y, b0 ^ (~b1 & b2));
      store<u64>(s + y, b1 ^ (~b2 & b3), 8);
      store<u64>(s + y, b2 ^ (~b3 & b4), 16);
      store<u64>(s + y, b3 ^ (~b4 & b0), 24);
      store<u64>(s + y, b4 ^ (~b0 & b1), 32);
    }
    // iota
    store<u64>(s, load<u64>(s) ^ unchecked(RC[round]));
  }
}

/** Bytes of the state block: 25 lanes, 25 lanes of scratch, one rate block of output, the offset. */
export const SHAKE_STATE_BYTES: i32 = 200 + 200 + 8;

/** Absorbs msgLen bytes at msg with domain byte `domain` into the zeroed state at st. */
function absorb(st: usize, msg: usize, msgLen: usize, domain: u8): void {
  memory.fill(st, 0, <usize>SHAKE_STATE_BYTES);
  let pos: usize = 0;
  while (msgLen - pos >= RATE) {
    for (let i: usize = 0; i < RATE; i += 8) store<u64>(st + i, load<u64>(st + i) ^ load<u64>(msg + pos + i));
    permute(st, st + 200);
    pos += RATE;
  }
  const rest = msgLen - pos;
  for (let i: usize = 0; i < rest; i++) store<u8>(st + i, load<u8>(st + i) ^ load<u8>(msg + pos + i));
  store<u8>(st + rest, load<u8>(st + rest) ^ domain);
  store<u8>(st + RATE - 1, load<u8>(st + RATE - 1) ^ 0x80);
  permute(st, st + 200);
  store<u64>(st + 400, 0); // bytes of the current block already squeezed
}

/** The next `length` output bytes into out. */
function squeeze(st: usize, out: usize, length: usize): void {
  let offset = <usize>load<u64>(st + 400);
  let written: usize = 0;
  while (written < length) {
    if (offset == RATE) {
      permute(st, st + 200);
      offset = 0;
    }
    const take = min<usize>(RATE - offset, length - written);
    memory.copy(out + written, st + offset, take);
    offset += take;
    written += take;
  }
  store<u64>(st + 400, offset);
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
    const at = out + <usize>filled * size;
    squeeze(st, at, size);
    const lo = load<u64>(at);
    let below: bool;
    if (field == 64) {
      below = lo < 0xffffffff00000001;
    } else {
      const hi = load<u64>(at, 8);
      below = hi < 0xffffffffffffffe4 || (hi == 0xffffffffffffffe4 && lo < 1);
    }
    if (below) filled++;
  }
  memory.fill(st, 0, <usize>SHAKE_STATE_BYTES);
}
