// Paillier plaintext encodings: signed integers (negatives in the top third, overflow detected in
// the middle third, as python-paillier) and fixed-point numbers with a shared base-16 exponent;
// round trips, homomorphic sums and scalar products, overflow detection and argument errors.
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { createRng } from 'privkit/dp';
import { decodeFixed, decodeSigned, encodeFixed, encodeSigned, generateKeyPair, maxSignedInt, ready, type KeyPair } from 'privkit/paillier';
import { errorCode } from '../support/helpers.js';

const SEED = 31;
let keys: KeyPair;

beforeAll(async () => {
  await ready();
  keys = await generateKeyPair({ bits: 512, allowInsecureTestKeys: true, rng: createRng({ seed: new Uint8Array(32).fill(21) }) });
});

describe('signed integers', () => {
  it('round trip through encryption for random values in [-maxSignedInt, maxSignedInt]', () => {
    const { publicKey: pk, privateKey: sk } = keys;
    const max = maxSignedInt(pk);
    expect(max).toBe(pk.n / 3n - 1n);
    fc.assert(
      fc.property(fc.bigInt({ min: -max, max }), (x) => {
        expect(decodeSigned(pk, sk.decrypt(pk.encrypt(encodeSigned(pk, x))))).toBe(x);
      }),
      { seed: SEED, numRuns: 30 },
    );
    for (const x of [0n, 1n, -1n, max, -max]) expect(decodeSigned(pk, sk.decrypt(pk.encrypt(encodeSigned(pk, x))))).toBe(x);
  });

  it('sums and scalar products of signed values decode to the signed result', () => {
    const { publicKey: pk, privateKey: sk } = keys;
    const bound = 1n << 200n;
    fc.assert(
      fc.property(fc.bigInt({ min: -bound, max: bound }), fc.bigInt({ min: -bound, max: bound }), fc.bigInt({ min: -(1n << 40n), max: 1n << 40n }), (a, b, k) => {
        const ca = pk.encrypt(encodeSigned(pk, a));
        const cb = pk.encrypt(encodeSigned(pk, b));
        expect(decodeSigned(pk, sk.decrypt(pk.add(ca, cb)))).toBe(a + b);
        expect(decodeSigned(pk, sk.decrypt(pk.subtract(ca, cb)))).toBe(a - b);
        expect(decodeSigned(pk, sk.decrypt(pk.multiplyPlain(ca, encodeSigned(pk, k))))).toBe(a * k);
      }),
      { seed: SEED, numRuns: 10 },
    );
  });

  it('detects overflow: a sum beyond maxSignedInt lands in the middle third and throws E_OVERFLOW', () => {
    const { publicKey: pk, privateKey: sk } = keys;
    const max = maxSignedInt(pk);
    const c = pk.add(pk.encrypt(encodeSigned(pk, max)), pk.encrypt(encodeSigned(pk, 5n)));
    expect(errorCode(() => decodeSigned(pk, sk.decrypt(c)))).toBe('E_OVERFLOW');
    const negative = pk.add(pk.encrypt(encodeSigned(pk, -max)), pk.encrypt(encodeSigned(pk, -5n)));
    expect(errorCode(() => decodeSigned(pk, sk.decrypt(negative)))).toBe('E_OVERFLOW');
    expect(errorCode(() => decodeSigned(pk, sk.decrypt(pk.multiplyPlain(pk.encrypt(encodeSigned(pk, max / 2n + 7n)), 2n))))).toBe('E_OVERFLOW');
  });

  it('rejects values outside the signed range and bad plaintexts', () => {
    const { publicKey: pk } = keys;
    const max = maxSignedInt(pk);
    expect(errorCode(() => encodeSigned(pk, max + 1n))).toBe('E_ARG');
    expect(errorCode(() => encodeSigned(pk, -max - 1n))).toBe('E_ARG');
    expect(errorCode(() => encodeSigned(pk, 3 as unknown as bigint))).toBe('E_ARG');
    expect(errorCode(() => decodeSigned(pk, -1n))).toBe('E_ARG');
    expect(errorCode(() => decodeSigned(pk, pk.n))).toBe('E_ARG');
  });
});

describe('fixed point (base 16, shared exponent)', () => {
  it('round trip within half a unit of 16^exponent', () => {
    const { publicKey: pk, privateKey: sk } = keys;
    fc.assert(
      fc.property(fc.double({ min: -1e6, max: 1e6, noNaN: true }), fc.integer({ min: -12, max: 0 }), (x, exponent) => {
        const y = decodeFixed(pk, sk.decrypt(pk.encrypt(encodeFixed(pk, x, exponent))), exponent);
        expect(Math.abs(y - x)).toBeLessThanOrEqual(0.5 * 16 ** exponent + 1e-9 * Math.abs(x));
      }),
      { seed: SEED, numRuns: 30 },
    );
    expect(decodeFixed(pk, encodeFixed(pk, 0.5, -1), -1)).toBe(0.5);
    expect(decodeFixed(pk, encodeFixed(pk, -3.25, -2), -2)).toBe(-3.25);
    expect(decodeFixed(pk, encodeFixed(pk, 1e300, 240), 240)).toBeCloseTo(1e300, -290);
  });

  it('encrypted sums of fixed-point values with one exponent equal the plain sum', () => {
    const { publicKey: pk, privateKey: sk } = keys;
    const exponent = -8; // resolution 16^-8 = 2^-32
    const values = Array.from({ length: 40 }, (_, i) => Math.sin(i + 1) * 1000);
    let total = pk.encrypt(encodeFixed(pk, 0, exponent));
    for (const v of values) total = pk.add(total, pk.encrypt(encodeFixed(pk, v, exponent)));
    const expected = values.reduce((a, b) => a + b, 0);
    expect(Math.abs(decodeFixed(pk, sk.decrypt(total), exponent) - expected)).toBeLessThan(40 * 2 ** -33 + 1e-9);
    // a product with an encoded factor has the summed exponent
    const scaled = pk.multiplyPlain(pk.encrypt(encodeFixed(pk, 2.5, -2)), encodeFixed(pk, -1.5, -1));
    expect(decodeFixed(pk, sk.decrypt(scaled), -3)).toBe(-3.75);
  });

  it('rejects non-finite values and bad exponents', () => {
    const { publicKey: pk } = keys;
    expect(errorCode(() => encodeFixed(pk, Number.NaN, 0))).toBe('E_ARG');
    expect(errorCode(() => encodeFixed(pk, Infinity, 0))).toBe('E_ARG');
    expect(errorCode(() => encodeFixed(pk, 1, 0.5))).toBe('E_ARG');
    expect(errorCode(() => encodeFixed(pk, 1e300, -200))).toBe('E_ARG');
    expect(errorCode(() => decodeFixed(pk, 1n, 2000))).toBe('E_ARG');
  });
});
