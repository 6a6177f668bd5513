// Plaintext encodings for Paillier (after python-paillier, phe/encoding.py): signed integers with
// the negatives in the top third of Z_n and the middle third left free, so a sum or product that
// left the signed range is detected on decoding (E_OVERFLOW) instead of wrapping silently; and
// fixed-point numbers x ~ mantissa * 16^exponent with one explicit exponent shared by all values.
// The exponent is not encrypted: a per-value exponent would leak each value's magnitude, so choose
// one exponent for all the values that are combined (phe docs/caveats.rst).
import { PrivkitError } from '../errors.js';
import { describe } from '../validate.js';
import { assertPublicKey, type PublicKey } from './keys.js';

/** Base of the fixed-point exponent, as python-paillier. */
export const FIXED_POINT_BASE = 16;

/** Largest magnitude of an encoded signed integer: floor(n / 3) - 1 (python-paillier's max_int). */
export function maxSignedInt(publicKey: PublicKey): bigint {
  assertPublicKey('publicKey', publicKey);
  return publicKey.n / 3n - 1n;
}

/**
 * The plaintext of a signed integer |x| <= maxSignedInt: x, or n + x for negatives.
 *
 * @throws {PrivkitError} E_ARG when x is not a bigint or |x| > maxSignedInt(publicKey).
 */
export function encodeSigned(publicKey: PublicKey, x: bigint): bigint {
  assertPublicKey('publicKey', publicKey);
  if (typeof x !== 'bigint') throw new PrivkitError('E_ARG', `x must be a bigint, got ${describe(x)}`, { argument: 'x' });
  const max = maxSignedInt(publicKey);
  if (x > max || x < -max) {
    throw new PrivkitError('E_ARG', `x is outside the signed range [-maxSignedInt, maxSignedInt] of a ${publicKey.bits}-bit key`, { argument: 'x' });
  }
  return x < 0n ? publicKey.n + x : x;
}

/**
 * The signed integer of a decrypted plaintext; E_OVERFLOW when it lies in the middle third.
 *
 * @throws {PrivkitError} E_ARG when m is not a bigint in [0, n).
 * @throws {PrivkitError} E_OVERFLOW when m lies in the middle third (a sum or product left the signed range).
 */
export function decodeSigned(publicKey: PublicKey, m: bigint): bigint {
  assertPublicKey('publicKey', publicKey);
  const n = publicKey.n;
  if (typeof m !== 'bigint' || m < 0n || m >= n) {
    throw new PrivkitError('E_ARG', `m must be a plaintext bigint in [0, n), got ${typeof m === 'bigint' ? 'a value out of range' : describe(m)}`, { argument: 'm' });
  }
  const max = maxSignedInt(publicKey);
  if (m <= max) return m;
  if (m >= n - max) return m - n;
  throw new PrivkitError('E_OVERFLOW', 'the decrypted value overflowed the signed range (a sum or product exceeded maxSignedInt)', { argument: 'm' });
}

/**
 * The plaintext of x rounded to a multiple of 16^exponent: round(x / 16^exponent), signed-encoded.
 * The same exponent must be used for every value that is added; a product with multiplyPlain of an
 * encoded factor has exponent e1 + e2.
 *
 * @param exponent - an integer in [-1024, 1024]; e.g. -4 keeps 16 bits after the point.
 * @throws {PrivkitError} E_ARG when x is not finite, x / 16^exponent overflows, exponent is not an integer in [-1024, 1024], or the rounded value is out of the signed range.
 */
export function encodeFixed(publicKey: PublicKey, x: number, exponent: number): bigint {
  assertPublicKey('publicKey', publicKey);
  if (typeof x !== 'number' || !Number.isFinite(x)) throw new PrivkitError('E_ARG', `x must be a finite number, got ${describe(x)}`, { argument: 'x' });
  const e = checkExponent(exponent);
  const scaled = scale(x, -e);
  if (!Number.isFinite(scaled)) throw new PrivkitError('E_ARG', `x / 16^${e} overflows a double`, { argument: 'x' });
  return encodeSigned(publicKey, BigInt(Math.round(scaled)));
}

/**
 * The number mantissa * 16^exponent of a decrypted fixed-point plaintext (E_OVERFLOW as decodeSigned).
 *
 * @throws {PrivkitError} E_ARG when m is not a bigint in [0, n) or exponent is not an integer in [-1024, 1024].
 * @throws {PrivkitError} E_OVERFLOW when m lies outside the signed range.
 */
export function decodeFixed(publicKey: PublicKey, m: bigint, exponent: number): number {
  assertPublicKey('publicKey', publicKey);
  const e = checkExponent(exponent);
  return scale(Number(decodeSigned(publicKey, m)), e);
}

/** x * 16^k, exact while no overflow or underflow happens (scaling by powers of two in steps). */
function scale(x: number, k: number): number {
  let result = x;
  let bits = 4 * k;
  while (bits > 1000) {
    result *= 2 ** 1000;
    bits -= 1000;
  }
  while (bits < -1000) {
    result *= 2 ** -1000;
    bits += 1000;
  }
  return result * 2 ** bits;
}

function checkExponent(exponent: number): number {
  if (typeof exponent !== 'number' || !Number.isSafeInteger(exponent) || Math.abs(exponent) > 1024) {
    throw new PrivkitError('E_ARG', `exponent must be an integer in [-1024, 1024], got ${describe(exponent)}`, { argument: 'exponent' });
  }
  return exponent;
}
