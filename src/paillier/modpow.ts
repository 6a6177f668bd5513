// Modular exponentiation for odd moduli: the wasm Montgomery kernels (assembly/paillier/modpow.ts) behind a
// BigInt API. A `Modulus` caches what depends only on m (the limb radix 2^w, its limbs forward and
// reversed, m' = -m^-1 mod 2^w and R^2 mod m), so repeated exponentiations modulo the same m pay
// for it once. BigInt <-> limb conversion goes through hexadecimal text in 24-bit chunks (linear time).
// `pow` is for public exponents (sliding window, timing follows the exponent's bits); `powSecret`
// for secret ones (fixed windows over a caller-fixed length, constant-time table scans). Either
// zeroes the wasm memory it used before returning, so no operand, modulus or intermediate power
// stays readable there.
import { PrivkitError } from '../errors.js';
import { describe } from '../validate.js';
import { withWasm } from '../wasm/runtime.js';
import { paillierWasm, type PaillierExports } from './wasm.js';

/** Largest modulus the kernels take (radix 2^27 keeps a lane's N + 12 products below 2^64 up to 1000 limbs). */
export const MAX_MODULUS_BITS = 12288;
/** Longest exponent either exponentiation takes (twice the largest modulus). */
export const MAX_EXPONENT_BITS = 2 * MAX_MODULUS_BITS;
/** Radix 2^28 (fewer limbs) while a lane's N + 12 products below 2^56 fit 64 bits: N <= 240. */
const MAX_LIMBS_28 = 240;
/**
 * Below this size V8's native BigInt square-and-multiply is as fast as the wasm kernel (call
 * overhead and conversions dominate), so smaller moduli take the BigInt path. Wasm speed-up over
 * BigInt measured on the development machine (exponent as long as the modulus): 64 bits 0.97x,
 * 128 bits 1.7x, 256 bits 1.5x, 1024 bits 2.3x, 2048 bits 3.0x, 4096 bits (2048-bit exponent) 2.8x.
 */
const WASM_MIN_BITS = 96;

/** Bit length of a non-negative bigint (0 for 0). */
export function bitLength(x: bigint): number {
  if (typeof x !== 'bigint' || x < 0n) throw new PrivkitError('E_ARG', `x must be a bigint >= 0, got ${describe(x)}`, { argument: 'x' });
  if (x === 0n) return 0;
  const hex = x.toString(16);
  return (hex.length - 1) * 4 + (32 - Math.clz32(parseInt(hex[0]!, 16)));
}

/** An odd modulus m >= 3 with its Montgomery constants, for repeated `modPow` calls. */
export class Modulus {
  /** The modulus. */
  readonly m: bigint;
  /** Its bit length. */
  readonly bits: number;
  /**
   * Bits per limb of the kernel representation (28, or 27 for moduli above 6718 bits).
   *
   * @internal
   */
  readonly limbBits: number;
  /**
   * Limbs of the kernel representation.
   *
   * @internal
   */
  readonly limbs: number;
  /**
   * -m^-1 mod 2^limbBits.
   *
   * @internal
   */
  readonly mPrime: number;
  /**
   * m and R^2 mod m (R = 2^(limbBits limbs)) as limbs, m also reversed.
   *
   * @internal
   */
  readonly mLimbs: Uint32Array;
  /** @internal */
  readonly mReversed: Uint32Array;
  /** @internal */
  readonly r2Limbs: Uint32Array;

  /**
   * @throws {PrivkitError} E_ARG when m is not an odd bigint >= 3 of at most {@link MAX_MODULUS_BITS} bits.
   */
  constructor(m: bigint) {
    if (typeof m !== 'bigint') throw new PrivkitError('E_ARG', `modulus m must be a bigint, got ${describe(m)}`, { argument: 'm' });
    if (m < 3n || (m & 1n) === 0n) {
      throw new PrivkitError('E_ARG', `modulus m must be an odd integer >= 3 (Montgomery arithmetic), got ${describe(m)}`, { argument: 'm' });
    }
    this.m = m;
    this.bits = bitLength(m);
    if (this.bits > MAX_MODULUS_BITS) {
      throw new PrivkitError('E_ARG', `modulus m has ${this.bits} bits; at most ${MAX_MODULUS_BITS} are supported`, { argument: 'm' });
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

  /**
   * base^exponent mod m, for any bigint base and a public exponent >= 0 (variable time, see powSecret).
   *
   * @throws {PrivkitError} E_ARG when base is not a bigint or exponent is not a bigint in [0, 2^24576).
   * @throws {PrivkitError} E_NOT_READY before `await ready()` (moduli of 96 bits and more run in wasm).
   */
  pow(base: bigint, exponent: bigint): bigint {
    const b = this.reduce(base);
    checkExponent(exponent, MAX_EXPONENT_BITS);
    if (exponent === 0n) return 1n;
    if (b <= 1n || exponent === 1n) return b;
    if (this.bits < WASM_MIN_BITS) return powBigInt(b, exponent, this.m);
    const expBits = bitLength(exponent);
    return this.run(b, exponent, expBits, (kernels) => kernels.montPowScratchBytes(this.limbs, expBits), (kernels, args) => kernels.montPow(...args));
  }

  /**
   * base^exponent mod m for a secret exponent 0 <= exponent < 2^exponentBits: the wasm kernel's
   * sequence of operations and memory reads depends only on m's size and `exponentBits` (a public
   * length, e.g. fixed by the key size), never on the exponent's or the base's value.
   *
   * @throws {PrivkitError} E_ARG when base is not a bigint, exponentBits is not an integer in [1, 24576], or exponent is not a bigint in [0, 2^exponentBits).
   * @throws {PrivkitError} E_NOT_READY before `await ready()`.
   */
  powSecret(base: bigint, exponent: bigint, exponentBits: number): bigint {
    const b = this.reduce(base);
    if (typeof exponentBits !== 'number' || !Number.isSafeInteger(exponentBits) || exponentBits < 1 || exponentBits > MAX_EXPONENT_BITS) {
      throw new PrivkitError('E_ARG', `exponentBits must be an integer in [1, ${MAX_EXPONENT_BITS}], got ${describe(exponentBits)}`, { argument: 'exponentBits' });
    }
    checkExponent(exponent, exponentBits);
    // the words cover exponentBits + 64 bits, zero above the exponent (the kernel reads whole windows and one word beyond)
    const words = Math.ceil(exponentBits / 32) + 2;
    return this.run(b, exponent, exponentBits, (kernels) => kernels.montPowSecretScratchBytes(this.limbs, exponentBits), (kernels, args) => kernels.montPowSecret(...args), words);
  }

  /** base mod m in [0, m). */
  private reduce(base: bigint): bigint {
    if (typeof base !== 'bigint') throw new PrivkitError('E_ARG', `base must be a bigint, got ${describe(base)}`, { argument: 'base' });
    const b = base % this.m;
    return b < 0n ? b + this.m : b;
  }

  /**
   * Runs one exponentiation kernel on wasm copies of m, R^2, the base (< m) and the exponent
   * (as `words` little-endian 32-bit words, by default just enough), then zeroes every byte the
   * call allocated.
   */
  private run(
    base: bigint,
    exponent: bigint,
    expBits: number,
    scratchBytes: (kernels: PaillierExports) => number,
    kernel: (kernels: PaillierExports, args: PowArguments) => void,
    words = Math.ceil(expBits / 32),
  ): bigint {
    const n = this.limbs;
    return withWasm(paillierWasm, (kernels, arena) => {
      const start = arena.mark();
      try {
        const bytes = n * 4;
        const m = arena.alloc(bytes);
        const mrev = arena.alloc(bytes);
        const r2 = arena.alloc(bytes);
        const b = arena.alloc(bytes);
        const out = arena.alloc(bytes);
        const e = arena.alloc(words * 4);
        const scratch = arena.alloc(scratchBytes(kernels));
        arena.u32(m, n).set(this.mLimbs);
        arena.u32(mrev, n).set(this.mReversed);
        arena.u32(r2, n).set(this.r2Limbs);
        writeLimbs(base, arena.u32(b, n), this.limbBits);
        writeWords(exponent, arena.u32(e, words));
        kernel(kernels, [out, b, e, expBits, m, mrev, n, this.mPrime, this.limbBits, r2, scratch]);
        return fromLimbs(arena.u32(out, n), this.limbBits);
      } finally {
        arena.bytes(start, arena.mark() - start).fill(0);
      }
    });
  }
}

/** The arguments of montPow and montPowSecret: out, base, e, expBits, m, mrev, n, mp, w, r2, scratch. */
type PowArguments = [number, number, number, number, number, number, number, number, number, number, number];

/** Checks 0 <= exponent < 2^maxBits. */
function checkExponent(exponent: unknown, maxBits: number): asserts exponent is bigint {
  if (typeof exponent !== 'bigint' || exponent < 0n) {
    throw new PrivkitError('E_ARG', `exponent must be a bigint >= 0, got ${describe(exponent)}`, { argument: 'exponent' });
  }
  if (exponent >> BigInt(maxBits) !== 0n) {
    throw new PrivkitError('E_ARG', `exponent must be below 2^${maxBits}`, { argument: 'exponent' });
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

/**
 * base^exponent mod m for an odd modulus m >= 3 (wasm Montgomery kernels; needs `await ready()`).
 * The exponent is treated as public (variable time); see {@link Modulus.powSecret} for secret ones.
 *
 * @throws {PrivkitError} E_ARG when m is not an odd integer >= 3 of at most 12288 bits, base is not a bigint, or exponent is not a bigint in [0, 2^24576).
 * @throws {PrivkitError} E_NOT_READY before `await ready()`.
 */
export function modPow(base: bigint, exponent: bigint, m: bigint | Modulus): bigint {
  return (m instanceof Modulus ? m : modulus(m)).pow(base, exponent);
}

/** Plain BigInt left-to-right square-and-multiply (the baseline and the path for small moduli). */
export function powBigInt(base: bigint, exponent: bigint, m: bigint): bigint {
  if (typeof base !== 'bigint') throw new PrivkitError('E_ARG', `base must be a bigint, got ${describe(base)}`, { argument: 'base' });
  checkExponent(exponent, MAX_EXPONENT_BITS);
  if (typeof m !== 'bigint' || m < 1n || bitLength(m) > MAX_MODULUS_BITS) {
    throw new PrivkitError('E_ARG', `modulus m must be a bigint in [1, 2^${MAX_MODULUS_BITS}), got ${describe(m)}`, { argument: 'm' });
  }
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
function toLimbs(x: bigint, n: number, bits: number): Uint32Array {
  const out = new Uint32Array(n);
  writeLimbs(x, out, bits);
  return out;
}

/** Writes x into `out` as radix-2^bits limbs (x must fit), from hex text in 24-bit chunks. */
function writeLimbs(x: bigint, out: Uint32Array, bits: number): void {
  const base = 2 ** bits;
  out.fill(0);
  // padded to the full width: the loop's length does not depend on x
  const hex = x.toString(16).padStart(Math.ceil((out.length * bits) / 4), '0');
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
function fromLimbs(limbs: Uint32Array, bits: number): bigint {
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

/** Writes x >= 0 into `out` as little-endian 32-bit words (x must fit), zero above it. */
function writeWords(x: bigint, out: Uint32Array): void {
  // padded to the full width: the loop's length does not depend on x
  const hex = x.toString(16).padStart(out.length * 8, '0');
  for (let i = 0, end = hex.length; end > 0; i++, end -= 8) out[i] = parseInt(hex.slice(end - 8, end), 16);
}
