// Modular exponentiation for odd moduli: the wasm Montgomery kernels (assembly/bigint.ts) behind a
// BigInt API. A `Modulus` caches what depends only on m (the limb radix 2^w, its limbs forward and
// reversed, m' = -m^-1 mod 2^w and R^2 mod m), so repeated exponentiations modulo the same m pay
// for it once. BigInt <-> limb conversion goes through hexadecimal text in 24-bit chunks (linear time).
import { PrivkitError } from '../errors.js';
import { describe } from '../validate.js';
import { withWasm } from '../wasm/runtime.js';

/** Largest modulus the kernels take (radix 2^27 keeps a lane's N + 12 products below 2^64 up to 1000 limbs). */
export const MAX_MODULUS_BITS = 12288;
/** Radix 2^28 (fewer limbs) while a lane's N + 12 products below 2^56 fit 64 bits: N <= 240. */
const MAX_LIMBS_28 = 240;
/**
 * Below this size V8's native BigInt square-and-multiply is as fast as the wasm kernel (call
 * overhead and conversions dominate), so smaller moduli take the BigInt path. Wasm speed-up over
 * BigInt measured on the development machine (exponent as long as the modulus): 64 bits 0.97x,
 * 128 bits 1.7x, 256 bits 1.5x, 1024 bits 2.3x, 2048 bits 3.0x, 4096 bits (2048-bit exponent) 2.8x.
 */
export const WASM_MIN_BITS = 96;

/** Bit length of a non-negative bigint (0 for 0). */
export function bitLength(x: bigint): number {
  if (x === 0n) return 0;
  const hex = x.toString(16);
  return (hex.length - 1) * 4 + (32 - Math.clz32(parseInt(hex[0]!, 16)));
}

/** An odd modulus m >= 3 with its Montgomery constants, for repeated `modPow` calls. */
export class Modulus {
  readonly m: bigint;
  readonly bits: number;
  /** Bits per limb of the kernel representation (28, or 27 for moduli above 6718 bits). */
  readonly limbBits: number;
  /** Limbs of the kernel representation. */
  readonly limbs: number;
  /** -m^-1 mod 2^limbBits. */
  readonly mPrime: number;
  /** m and R^2 mod m (R = 2^(limbBits limbs)) as limbs, m also reversed. */
  readonly mLimbs: Uint32Array;
  readonly mReversed: Uint32Array;
  readonly r2Limbs: Uint32Array;

  constructor(m: bigint) {
    if (typeof m !== 'bigint') throw new PrivkitError('E_ARG', `modulus must be a bigint, got ${describe(m)}`, { argument: 'modulus' });
    if (m < 3n || (m & 1n) === 0n) {
      throw new PrivkitError('E_ARG', `modulus must be an odd integer >= 3 (Montgomery arithmetic), got ${m < 1n << 64n ? m : 'an even number'}`, {
        argument: 'modulus',
      });
    }
    this.m = m;
    this.bits = bitLength(m);
    if (this.bits > MAX_MODULUS_BITS) {
      throw new PrivkitError('E_ARG', `modulus has ${this.bits} bits; at most ${MAX_MODULUS_BITS} are supported`, { argument: 'modulus' });
    }
    // R = 2^(w N) > 4m, so Montgomery products of values below 2m stay below 2m.
    const limbs28 = Math.ceil((this.bits + 2) / 28);
    this.limbBits = limbs28 <= MAX_LIMBS_28 ? 28 : 27;
    this.limbs = limbs28 <= MAX_LIMBS_28 ? limbs28 : Math.ceil((this.bits + 2) / 27);
    this.mPrime = negInverseLimb(Number(m % (1n << BigInt(this.limbBits))), this.limbBits);
    this.mLimbs = toLimbs(m, this.limbs, this.limbBits);
    this.mReversed = this.mLimbs.slice().reverse();
    const r = 1n << BigInt(this.limbBits * this.limbs);
    this.r2Limbs = toLimbs((r * r) % m, this.limbs, this.limbBits);
  }

  /** base^exponent mod m, for any bigint base and exponent >= 0. */
  pow(base: bigint, exponent: bigint): bigint {
    if (typeof base !== 'bigint') throw new PrivkitError('E_ARG', `base must be a bigint, got ${describe(base)}`, { argument: 'base' });
    if (typeof exponent !== 'bigint' || exponent < 0n) {
      throw new PrivkitError('E_ARG', `exponent must be a bigint >= 0, got ${describe(exponent)}`, { argument: 'exponent' });
    }
    const m = this.m;
    let b = base % m;
    if (b < 0n) b += m;
    if (exponent === 0n) return 1n;
    if (b <= 1n || exponent === 1n) return b;
    if (this.bits < WASM_MIN_BITS) return powBigInt(b, exponent, m);
    return this.powWasm(b, exponent);
  }

  private powWasm(base: bigint, exponent: bigint): bigint {
    const n = this.limbs;
    const words = toWords(exponent);
    const expBits = bitLength(exponent);
    return withWasm((kernels, arena) => {
      const bytes = n * 4;
      const m = arena.alloc(bytes);
      const mrev = arena.alloc(bytes);
      const r2 = arena.alloc(bytes);
      const b = arena.alloc(bytes);
      const out = arena.alloc(bytes);
      const e = arena.alloc(words.length * 4);
      const scratch = arena.alloc(kernels.montPowScratchBytes(n, expBits));
      const view = (ptr: number, len: number) => new Uint32Array(arena.bytes(ptr, len * 4).buffer, ptr, len);
      view(m, n).set(this.mLimbs);
      view(mrev, n).set(this.mReversed);
      view(r2, n).set(this.r2Limbs);
      writeLimbs(base, view(b, n), this.limbBits);
      view(e, words.length).set(words);
      kernels.montPow(out, b, e, expBits, m, mrev, n, this.mPrime, this.limbBits, r2, scratch);
      return fromLimbs(view(out, n), this.limbBits);
    });
  }
}

const cache = new Map<bigint, Modulus>();
const CACHE_SIZE = 16;

/** The cached `Modulus` for m (a small most-recently-used cache). */
export function modulus(m: bigint): Modulus {
  let entry = cache.get(m);
  if (entry !== undefined) {
    cache.delete(m);
  } else {
    entry = new Modulus(m);
    if (cache.size >= CACHE_SIZE) cache.delete(cache.keys().next().value!);
  }
  cache.set(m, entry);
  return entry;
}

/** base^exponent mod m for an odd modulus m >= 3 (wasm Montgomery kernels; needs `await ready()`). */
export function modPow(base: bigint, exponent: bigint, m: bigint | Modulus): bigint {
  return (m instanceof Modulus ? m : modulus(m)).pow(base, exponent);
}

/** Plain BigInt left-to-right square-and-multiply (the baseline and the path for small moduli). */
export function powBigInt(base: bigint, exponent: bigint, m: bigint): bigint {
  let b = base % m;
  if (b < 0n) b += m;
  let result = 1n % m;
  const bits = exponent.toString(2);
  for (let i = 0; i < bits.length; i++) {
    result = (result * result) % m;
    if (bits.charCodeAt(i) === 49) result = (result * b) % m;
  }
  return result;
}

/** -x^-1 mod 2^bits for odd x < 2^bits (Newton iteration: each step doubles the correct low bits). */
function negInverseLimb(x: number, bits: number): number {
  const mask = (1n << BigInt(bits)) - 1n;
  const bx = BigInt(x);
  let inv = bx; // correct to 3 bits for odd x
  for (let i = 0; i < 4; i++) inv = (inv * (2n - bx * inv)) & mask;
  return Number((mask + 1n - inv) & mask);
}

/** x (0 <= x < 2^(bits n)) as n limbs of radix 2^bits (bits <= 29). */
export function toLimbs(x: bigint, n: number, bits: number): Uint32Array {
  const out = new Uint32Array(n);
  writeLimbs(x, out, bits);
  return out;
}

/** Writes x into `out` as radix-2^bits limbs (x must fit), from hex text in 24-bit chunks. */
function writeLimbs(x: bigint, out: Uint32Array, bits: number): void {
  const base = 2 ** bits;
  out.fill(0);
  const hex = x.toString(16);
  let acc = 0;
  let accBits = 0;
  let k = 0;
  for (let end = hex.length; end > 0; end -= 6) {
    const start = Math.max(0, end - 6);
    acc += parseInt(hex.slice(start, end), 16) * 2 ** accBits;
    accBits += (end - start) * 4;
    while (accBits >= bits) {
      const low = acc % base;
      out[k++] = low;
      acc = (acc - low) / base;
      accBits -= bits;
    }
  }
  if (acc > 0) out[k] = acc;
}

/** The bigint held in radix-2^bits limbs. */
export function fromLimbs(limbs: Uint32Array, bits: number): bigint {
  const chunks: string[] = [];
  let acc = 0;
  let accBits = 0;
  for (let i = 0; i < limbs.length; i++) {
    acc += limbs[i]! * 2 ** accBits;
    accBits += bits;
    while (accBits >= 24) {
      const low = acc % 0x1000000;
      chunks.push(low.toString(16).padStart(6, '0'));
      acc = (acc - low) / 0x1000000;
      accBits -= 24;
    }
  }
  chunks.push(acc.toString(16));
  return BigInt('0x' + chunks.reverse().join(''));
}

/** x >= 0 as little-endian 32-bit words. */
function toWords(x: bigint): Uint32Array {
  const hex = x.toString(16);
  const out = new Uint32Array(Math.ceil(hex.length / 8));
  for (let i = 0, end = hex.length; end > 0; i++, end -= 8) out[i] = parseInt(hex.slice(Math.max(0, end - 8), end), 16);
  return out;
}
