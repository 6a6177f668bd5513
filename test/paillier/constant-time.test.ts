// The constant-time exponentiation behind decryption (Modulus.powSecret, wasm montPowSecret):
// results equal BigInt square-and-multiply on random moduli, bases and exponents (fast-check, fixed
// seed); the kernel's operation counts (Montgomery products, squarings, table entries scanned, read
// from its wasm counters) depend only on the modulus size and the fixed exponent length, never on
// the exponent's bits, while the variable-time montPow's do; decryption does the same work for keys
// with sparse and with dense p - 1, q - 1; bad exponent lengths are refused.
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { createRng } from 'privkit/dp';
import { MAX_EXPONENT_BITS, millerRabin, Modulus, powBigInt, PrivateKey, ready } from 'privkit/paillier';
import * as runtime from '../../dist/src/wasm/runtime.js';
import { paillierWasm } from '../../dist/src/paillier/wasm.js';
import { errorCode } from '../support/helpers.js';

const SEED = 20261125;

beforeAll(ready);

/** Products, squarings and scanned table entries the kernels ran during fn. */
function counts(fn: () => unknown): { products: number; squares: number; scanned: number } {
  const read = () =>
    runtime.withWasm(paillierWasm, (kernels, arena) => {
      const out = arena.alloc(12);
      kernels.montCounters(out);
      const [products, squares, scanned] = arena.u32(out, 3);
      return { products: products!, squares: squares!, scanned: scanned! };
    });
  read();
  fn();
  return read();
}

/** The counts montPowSecret must show for `bits` exponent bits: from the window size alone. */
function expectedCounts(bits: number): { products: number; squares: number; scanned: number } {
  const k = runtime.withWasm(paillierWasm, (kernels) => kernels.secretWindowBits(bits));
  const windows = Math.ceil(bits / k);
  // the 2^k table entries, one product per window after the first, and the conversion out of Montgomery form
  return { products: 2 ** k + (windows - 1) + 1, squares: (windows - 1) * k, scanned: windows * 2 ** k };
}

/** An arbitrary for a bigint of exactly `bits` bits (top bit set), optionally odd. */
const exactBits = (bits: number, odd = false) =>
  fc.bigInt({ min: 0n, max: (1n << BigInt(bits - 1)) - 1n }).map((x) => x | (1n << BigInt(bits - 1)) | (odd ? 1n : 0n));

describe('powSecret equals BigInt', () => {
  it('random moduli of 2..4096 bits, bases (also above m) and exponents below 2^exponentBits', () => {
    const sized = fc.integer({ min: 2, max: 4096 }).chain((bits) =>
      fc.tuple(
        exactBits(bits, true),
        fc.bigInt({ min: 0n, max: (1n << BigInt(bits + 8)) - 1n }),
        fc.integer({ min: 1, max: bits > 2048 ? 200 : 700 }).chain((eb) => fc.tuple(fc.constant(eb), fc.bigInt({ min: 0n, max: (1n << BigInt(eb)) - 1n }))),
      ),
    );
    fc.assert(
      fc.property(sized, ([m, base, [exponentBits, e]]) => {
        fc.pre(m >= 3n);
        expect(new Modulus(m).powSecret(base, e, exponentBits)).toBe(powBigInt(base, e, m));
      }),
      { seed: SEED, numRuns: 80 },
    );
  });

  it('edge values: exponents 0, 1 and 2^b - 1, bases 0, 1, m - 1, m; lengths not a multiple of the window', () => {
    for (const m of [3n, 5n, 7n, 65537n, (1n << 127n) - 1n, (1n << 1024n) - 105n, (1n << 2048n) - 159n]) {
      const mod = new Modulus(m);
      for (const bits of [1, 2, 5, 17, 63, 64, 65, 97, 1000, 1088]) {
        for (const e of [0n, 1n, (1n << BigInt(bits)) - 1n, 1n << BigInt(bits - 1)]) {
          for (const base of [0n, 1n, 2n, m - 1n, m, m + 3n]) expect(mod.powSecret(base, e, bits), `m=${m} e=${e} base=${base}`).toBe(powBigInt(base, e, m));
        }
      }
    }
  });

  it('refuses exponents at or above 2^exponentBits and bad lengths', () => {
    const mod = new Modulus(1000003n);
    expect(errorCode(() => mod.powSecret(2n, 1n << 10n, 10))).toBe('E_ARG');
    expect(errorCode(() => mod.powSecret(2n, -1n, 10))).toBe('E_ARG');
    for (const bits of [0, 1.5, Number.NaN, MAX_EXPONENT_BITS + 1, '8']) expect(errorCode(() => mod.powSecret(2n, 1n, bits as number))).toBe('E_ARG');
    expect(errorCode(() => mod.pow(2n, 1n << BigInt(MAX_EXPONENT_BITS)))).toBe('E_ARG');
    expect(errorCode(() => mod.powSecret(2 as unknown as bigint, 1n, 8))).toBe('E_ARG');
  });
});

describe('operation counts', () => {
  it('montPowSecret does the same work for every exponent of a length; montPow follows the bits', () => {
    const rng = createRng({ seed: new Uint8Array(32).fill(5) });
    for (const [modBits, expBits] of [
      [256, 200],
      [1024, 1088],
      [2048, 1088],
    ] as const) {
      const m = (1n << BigInt(modBits - 1)) + 0x9e3779b97f4a7c15n * BigInt(modBits) + 1n;
      const mod = new Modulus(m);
      const random = BigInt('0x' + Buffer.from(rng.bytes(expBits / 8)).toString('hex'));
      const exponents = [0n, 1n, 1n << BigInt(expBits - 1), (1n << BigInt(expBits)) - 1n, random, 0x5555n << BigInt(expBits - 20)];
      const expected = expectedCounts(expBits);
      for (const e of exponents) expect(counts(() => mod.powSecret(12345n, e, expBits)), `${modBits} bits, e=${e.toString(16).slice(0, 12)}`).toEqual(expected);
      // the counters see the variable-time kernel's dependence on the exponent's bits
      const sparse = counts(() => mod.pow(12345n, 1n << BigInt(expBits - 1)));
      const dense = counts(() => mod.pow(12345n, (1n << BigInt(expBits)) - 1n));
      expect(dense.products).toBeGreaterThan(sparse.products);
    }
  });

  it('decryption does the same work for keys with sparse and with dense p - 1, q - 1', () => {
    const rng = createRng({ seed: new Uint8Array(32).fill(6) });
    /** The first prime top + x (sparse p - 1: few bits above x's) or top - x (dense), x = 1, 3, 5, ... */
    const prime = (top: bigint, sign: 1n | -1n) => {
      for (let x = 1n; ; x += 2n) if (millerRabin(top + sign * x, 64, rng)) return top + sign * x;
    };
    const keys = {
      sparse: new PrivateKey(prime(1n << 255n, 1n), prime((1n << 255n) + (1n << 240n), 1n), { allowInsecureTestKeys: true }),
      dense: new PrivateKey(prime(1n << 256n, -1n), prime((1n << 256n) - (1n << 240n), -1n), { allowInsecureTestKeys: true }),
    };
    const ones = (x: bigint) => x.toString(2).replaceAll('0', '').length;
    expect(ones(keys.sparse.p - 1n) + ones(keys.sparse.q - 1n)).toBeLessThan(24);
    expect(ones(keys.dense.p - 1n) + ones(keys.dense.q - 1n)).toBeGreaterThan(500);
    const work = Object.entries(keys).map(([name, sk]) => {
      const m = 0xabcdefn * 1000003n;
      const c = sk.publicKey.encrypt(m);
      let result = 0n;
      const counted = counts(() => (result = sk.decrypt(c)));
      expect(result, name).toBe(m);
      return counted;
    });
    expect(work[0]).toEqual(work[1]);
    // two exponentiations of |p| + 64 bits (the blinding factor's length)
    const half = expectedCounts(256 + 64);
    expect(work[0]).toEqual({ products: 2 * half.products, squares: 2 * half.squares, scanned: 2 * half.scanned });
  });
});
