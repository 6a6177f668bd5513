// TurboSHAKE128 (RFC 9861: Keccak-p[1600, 12 rounds], rate 168 bytes) and the draft's
// XofTurboShake128 (draft-irtf-cfrg-vdaf-20, section 6.2.1): seed derivation and expansion into
// field elements by rejection sampling (section 6.2). Lanes are pairs of 32-bit words (lo, hi).
import { PrivkitError } from '../errors.js';
import { type Field } from './field.js';

const RATE = 168;

// Keccak round constants of rounds 12..23 (the 12 rounds of Keccak-p[1600, 12]), as (lo, hi).
const ROUND_CONSTANTS: readonly [number, number][] = [
  [0x8000808b, 0x00000000], [0x0000008b, 0x80000000], [0x00008089, 0x80000000], [0x00008003, 0x80000000],
  [0x00008002, 0x80000000], [0x00000080, 0x80000000], [0x0000800a, 0x00000000], [0x8000000a, 0x80000000],
  [0x80008081, 0x80000000], [0x00008080, 0x80000000], [0x80000001, 0x00000000], [0x80008008, 0x80000000],
];
// rho rotation of lane x + 5y.
const RHO = [0, 1, 62, 28, 27, 36, 44, 6, 55, 20, 3, 10, 43, 25, 39, 41, 45, 15, 21, 8, 18, 2, 61, 56, 14];
// pi: lane x + 5y moves to lane y + 5((2x + 3y) mod 5).
const PI = RHO.map((_, i) => {
  const x = i % 5;
  const y = (i - x) / 5;
  return y + 5 * ((2 * x + 3 * y) % 5);
});

/** Keccak-p[1600, 12] on 25 lanes stored as 50 little-endian 32-bit words. */
function keccakP12(s: Uint32Array, b: Uint32Array, c: Uint32Array): void {
  for (const [rcLo, rcHi] of ROUND_CONSTANTS) {
    // theta
    for (let x = 0; x < 5; x++) {
      c[2 * x] = s[2 * x]! ^ s[2 * x + 10]! ^ s[2 * x + 20]! ^ s[2 * x + 30]! ^ s[2 * x + 40]!;
      c[2 * x + 1] = s[2 * x + 1]! ^ s[2 * x + 11]! ^ s[2 * x + 21]! ^ s[2 * x + 31]! ^ s[2 * x + 41]!;
    }
    for (let x = 0; x < 5; x++) {
      const l = (x + 4) % 5;
      const r = (x + 1) % 5;
      const dLo = c[2 * l]! ^ ((c[2 * r]! << 1) | (c[2 * r + 1]! >>> 31));
      const dHi = c[2 * l + 1]! ^ ((c[2 * r + 1]! << 1) | (c[2 * r]! >>> 31));
      for (let y = 0; y < 25; y += 5) {
        s[2 * (x + y)] ^= dLo;
        s[2 * (x + y) + 1] ^= dHi;
      }
    }
    // rho and pi
    for (let i = 0; i < 25; i++) {
      const lo = s[2 * i]!;
      const hi = s[2 * i + 1]!;
      const n = RHO[i]!;
      const j = PI[i]!;
      if (n === 0) {
        b[2 * j] = lo;
        b[2 * j + 1] = hi;
      } else if (n < 32) {
        b[2 * j] = (lo << n) | (hi >>> (32 - n));
        b[2 * j + 1] = (hi << n) | (lo >>> (32 - n));
      } else if (n === 32) {
        b[2 * j] = hi;
        b[2 * j + 1] = lo;
      } else {
        const m = n - 32;
        b[2 * j] = (hi << m) | (lo >>> (32 - m));
        b[2 * j + 1] = (lo << m) | (hi >>> (32 - m));
      }
    }
    // chi
    for (let y = 0; y < 25; y += 5) {
      for (let x = 0; x < 5; x++) {
        const i1 = y + ((x + 1) % 5);
        const i2 = y + ((x + 2) % 5);
        s[2 * (y + x)] = b[2 * (y + x)]! ^ (~b[2 * i1]! & b[2 * i2]!);
        s[2 * (y + x) + 1] = b[2 * (y + x) + 1]! ^ (~b[2 * i1 + 1]! & b[2 * i2 + 1]!);
      }
    }
    // iota
    s[0] ^= rcLo;
    s[1] ^= rcHi;
  }
}

/** A TurboSHAKE128 instance: the whole message is absorbed at construction, output is squeezed incrementally. */
export class TurboShake128 {
  private readonly state = new Uint32Array(50);
  private readonly bytes = new Uint8Array(this.state.buffer);
  private readonly scratchB = new Uint32Array(50);
  private readonly scratchC = new Uint32Array(10);
  private offset = 0;

  /** Absorbs `message` with domain separation byte `domain` (0x01..0x7f). */
  constructor(message: Uint8Array, domain: number) {
    let pos = 0;
    while (message.length - pos >= RATE) {
      for (let i = 0; i < RATE; i++) this.bytes[i]! ^= message[pos + i]!;
      this.permute();
      pos += RATE;
    }
    const rest = message.length - pos;
    for (let i = 0; i < rest; i++) this.bytes[i]! ^= message[pos + i]!;
    this.bytes[rest]! ^= domain;
    this.bytes[RATE - 1]! ^= 0x80;
    this.permute();
  }

  private permute(): void {
    if (!littleEndian) throw new PrivkitError('E_WASM', 'TurboSHAKE128 needs a little-endian platform');
    keccakP12(this.state, this.scratchB, this.scratchC);
  }

  /** Writes the next out.length output bytes into `out`. */
  squeeze(out: Uint8Array): Uint8Array {
    let written = 0;
    while (written < out.length) {
      if (this.offset === RATE) {
        this.permute();
        this.offset = 0;
      }
      const take = Math.min(RATE - this.offset, out.length - written);
      out.set(this.bytes.subarray(this.offset, this.offset + take), written);
      this.offset += take;
      written += take;
    }
    return out;
  }
}

const littleEndian = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** TurboSHAKE128(M, D, L) of RFC 9861. */
export function turboShake128(message: Uint8Array, domain: number, length: number): Uint8Array {
  return new TurboShake128(message, domain).squeeze(new Uint8Array(length));
}

export const SEED_SIZE = 32;

/** XofTurboShake128: TurboSHAKE128 with D = 1 over le16(|dst|) || dst || u8(|seed|) || seed || binder. */
export class XofTurboShake128 {
  private readonly shake: TurboShake128;

  constructor(seed: Uint8Array, dst: Uint8Array, binder: Uint8Array) {
    if (seed.length > 255) throw new PrivkitError('E_ARG', `seed must be at most 255 bytes, got ${seed.length}`, { argument: 'seed' });
    if (dst.length > 65535) throw new PrivkitError('E_ARG', `dst must be at most 65535 bytes, got ${dst.length}`, { argument: 'dst' });
    const m = new Uint8Array(3 + dst.length + seed.length + binder.length);
    m[0] = dst.length & 0xff;
    m[1] = dst.length >> 8;
    m.set(dst, 2);
    m[2 + dst.length] = seed.length;
    m.set(seed, 3 + dst.length);
    m.set(binder, 3 + dst.length + seed.length);
    this.shake = new TurboShake128(m, 1);
  }

  next(length: number): Uint8Array {
    return this.shake.squeeze(new Uint8Array(length));
  }

  /**
   * The next `length` field elements: each candidate is ENCODED_SIZE little-endian bytes masked to
   * the bit length of p, kept when below p (rejection sampling, section 6.2).
   */
  nextVec(f: Field, length: number): bigint[] {
    const mask = (1n << BigInt(f.modulus.toString(2).length)) - 1n;
    const vec = new Array<bigint>(length);
    const size = f.encodedSize;
    const buffer = new Uint8Array(size * Math.max(length, 1));
    const view = new DataView(buffer.buffer);
    let filled = 0;
    while (filled < length) {
      const want = length - filled;
      this.shake.squeeze(buffer.subarray(0, want * size));
      for (let i = 0; i < want; i++) {
        let x = 0n;
        for (let w = size - 8; w >= 0; w -= 8) x = (x << 64n) | view.getBigUint64(i * size + w, true);
        x &= mask;
        if (x < f.modulus) vec[filled++] = x;
      }
    }
    return vec;
  }

  static deriveSeed(seed: Uint8Array, dst: Uint8Array, binder: Uint8Array): Uint8Array {
    return new XofTurboShake128(seed, dst, binder).next(SEED_SIZE);
  }

  static expandIntoVec(f: Field, seed: Uint8Array, dst: Uint8Array, binder: Uint8Array, length: number): bigint[] {
    return new XofTurboShake128(seed, dst, binder).nextVec(f, length);
  }
}
