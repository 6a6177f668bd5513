// Big-integer Montgomery kernels: modPow against BigInt square-and-multiply on random inputs of
// 64..8192 bits (fast-check, fixed seed), edge values (0, 1, m-1, all-ones limbs, exponents 0 and 1,
// limb-boundary sizes, sparse moduli whose columns overflow 2^63), and the rejection of even or
// invalid moduli.
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { bitLength, Modulus, modPow, powBigInt, ready } from 'privkit/paillier';
import { errorCode } from '../support/helpers.js';

beforeAll(ready);

const SEED = 20261124;

/** An arbitrary for a bigint of exactly `bits` bits (top bit set), optionally odd. */
const exactBits = (bits: number, odd = false) =>
  fc.bigInt({ min: 0n, max: (1n << BigInt(bits - 1)) - 1n }).map((x) => (x | (1n << BigInt(bits - 1)) | (odd ? 1n : 0n)));

/** Moduli of 64..8192 bits with exponents whose cost stays small (the BigInt reference is slow). */
const sizedCase = fc
  .integer({ min: 64, max: 8192 })
  .chain((bits) =>
    fc.tuple(
      exactBits(bits, true),
      fc.bigInt({ min: 0n, max: (1n << BigInt(bits + 8)) - 1n }),
      fc.integer({ min: 1, max: bits > 4096 ? 96 : bits > 2048 ? 256 : 1024 }).chain((eb) => exactBits(eb)),
    ),
  );

describe('modPow (wasm Montgomery) equals BigInt', () => {
  it('random moduli of 64..8192 bits, random bases (also above m) and exponents', () => {
    fc.assert(
      fc.property(sizedCase, ([m, base, e]) => {
        expect(modPow(base, e, m)).toBe(powBigInt(base, e, m));
      }),
      { seed: SEED, numRuns: 60 },
    );
  });

  it('full-size exponents at 1024, 2048 and 4096 bits', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(1024, 2048, 4096).chain((bits) => fc.tuple(exactBits(bits, true), exactBits(bits - 1), exactBits(bits === 4096 ? 2048 : bits))),
        ([m, base, e]) => {
          expect(modPow(base, e, m)).toBe(powBigInt(base, e, m));
        },
      ),
      { seed: SEED, numRuns: 6 },
    );
  });

  it('every size around the limb boundaries (27-bit limbs, R > 4m)', () => {
    for (let bits = 190; bits <= 250; bits++) {
      const m = (1n << BigInt(bits - 1)) + 0x1234567n * BigInt(bits) + 1n;
      for (const mm of [m | 1n, (1n << BigInt(bits)) - 1n]) {
        const base = mm - 2n;
        const e = (1n << 80n) - 3n;
        expect(modPow(base, e, mm)).toBe(powBigInt(base, e, mm));
      }
    }
  });

  it('edge values: bases 0, 1, m-1, m, negative; exponents 0, 1, 2, all ones, powers of two', () => {
    for (const bits of [64, 96, 130, 255, 256, 1024, 2047, 3612, 4096, 6720, 8192]) {
      const allOnes = (1n << BigInt(bits)) - 1n; // every limb all ones
      const other = (1n << BigInt(bits - 1)) + 0x9e3779b97f4a7c15n;
      for (const m of [allOnes, other | 1n]) {
        const exponents = [0n, 1n, 2n, 3n, (1n << 200n) - 1n, 1n << 199n, m - 1n];
        for (const base of [0n, 1n, 2n, m - 1n, m, m + 5n, -3n, allOnes >> 1n]) {
          for (const e of bits >= 4096 ? exponents.slice(0, 6) : exponents) {
            expect(modPow(base, e, m), `bits=${bits} base=${base} e=${e}`).toBe(powBigInt(base, e, m));
          }
        }
      }
    }
  });

  it('sparse moduli 2^(b-1) + c with bases near m: column sums above 2^63 and 2^64 (radix 2^28 and 2^27)', () => {
    for (const bits of [1024, 3597, 4096, 4100, 6718, 6719, 8192]) {
      const m = ((1n << BigInt(bits - 1)) + 12345n * BigInt(bits) + 1n) | 1n;
      for (const base of [m - 2n, m - 1n, (1n << BigInt(bits - 1)) - 1n]) {
        for (const e of [2n, 3n, 5n, 6n, 31n, 40n]) expect(modPow(base, e, m), `bits=${bits} e=${e}`).toBe(powBigInt(base, e, m));
      }
    }
  });

  it('x^(p-1) = 1 mod p for a known prime (Fermat), and m-1 squared is 1', () => {
    const p = (1n << 521n) - 1n; // Mersenne prime M521
    expect(modPow(3n, p - 1n, p)).toBe(1n);
    expect(modPow(p - 1n, 2n, p)).toBe(1n);
  });

  it('a Modulus object is reusable and matches modPow', () => {
    const m = (1n << 2048n) - 159n; // odd
    const mod = new Modulus(m);
    expect(mod.bits).toBe(2048);
    expect(bitLength(m)).toBe(2048);
    for (let i = 1n; i < 4n; i++) expect(mod.pow(7n * i, m - 2n)).toBe(powBigInt(7n * i, m - 2n, m));
  });

  it('rejects even, too small, too large or non-bigint moduli and negative exponents', () => {
    expect(errorCode(() => modPow(3n, 5n, 1n << 100n))).toBe('E_ARG');
    expect(errorCode(() => modPow(3n, 5n, 10n))).toBe('E_ARG');
    expect(errorCode(() => modPow(3n, 5n, 1n))).toBe('E_ARG');
    expect(errorCode(() => modPow(3n, 5n, -7n))).toBe('E_ARG');
    expect(errorCode(() => modPow(3n, 5n, (1n << 12289n) - 1n))).toBe('E_ARG');
    expect(errorCode(() => modPow(3n, -1n, 7n))).toBe('E_ARG');
    expect(errorCode(() => modPow(3 as unknown as bigint, 1n, 7n))).toBe('E_ARG');
    expect(errorCode(() => new Modulus(7 as unknown as bigint))).toBe('E_ARG');
  });
});
