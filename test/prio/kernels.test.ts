// The prio wasm kernels against their plain-TS references (fast-check, fixed seed): NTT, shifted NTT
// and inverse NTT in Field64 and Field128, the ParallelSum(Mul) gadget polynomial, the chunked bit
// check's query checks, element-wise sums and weighted sums of encoded vectors (dot products reduced once), TurboSHAKE128 and XofTurboShake128 expansion; the references themselves against direct definitions (naive
// evaluation at roots of unity, Horner, Lagrange extension against interpolation), and TurboSHAKE128
// against RFC 9861's test vectors; and Prio3's one-call kernels of the chunked bit-check circuits
// against the step-by-step path (the same VDAF on its circuit without the one-call plan).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ready } from 'privkit';
import { Prio3, prio3Histogram, prio3MultihotCountVec, prio3SumVec, prio3SumVecWithMultiproof } from 'privkit/prio';
import {
  add,
  extendValuesToPowerOf2,
  Field128,
  Field64,
  invNtt,
  mul,
  ntt,
  nthRoot,
  polyEvalBatched,
  polyEvalMonomial,
  polyMul,
  pow,
  rootPowers,
  vecAdd,
  vecSub,
  checkEncodedVec,
  decodeVec,
  encodeSmallInts,
  encodeVec,
  weightedSums,
  sumEncoded,
  FieldVec,
  type Field,
} from '../../dist/src/prio/field.js';
import { addEncoded, chunkedKernelsFit, chunkedPlan, chunkedRangeCheckWasm, extendLastWasm, invNttWasm, mulVecWasm, powerIsOneWasm, weightedSums as weightedSumsWasm, nttWasm, parallelSumMulWasm, polyEvalBatchedWasm, turboShake128Wasm, wasmLoaded, xofExpandWasm } from '../../dist/src/prio/kernels.js';
import { turboShake128, XofTurboShake128 } from '../../dist/src/prio/xof.js';
import { chunkedRangeCheck, wirePolyLen } from '../../dist/src/prio/flp.js';
import { FC_SEED } from '../support/helpers.js';

fc.configureGlobal({ seed: FC_SEED, numRuns: 60, endOnFailure: true });
await ready();

const FIELDS: [string, Field][] = [
  ['Field64', Field64],
  ['Field128', Field128],
];
/** A field element, with the edges 0, 1 and p - 1 often. */
const element = (f: Field) => fc.oneof(fc.constantFrom(0n, 1n, f.modulus - 1n), fc.bigInt({ min: 0n, max: f.modulus - 1n }));
const vector = (f: Field, n: number) => fc.array(element(f), { minLength: n, maxLength: n });
/** A vector of n elements, most of them 0 (a one-hot or sparse measurement). */
const sparseVector = (f: Field, n: number) =>
  fc.array(fc.tuple(fc.nat({ max: n - 1 }), element(f)), { maxLength: 4 }).map((entries) => {
    const v = new Array<bigint>(n).fill(0n);
    for (const [i, x] of entries) v[i] = x;
    return v;
  });
const logSize = fc.integer({ min: 0, max: 7 });
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
/** The PrivkitError `run` throws, or undefined. */
const catchError = (run: () => unknown): { code: string; message: string } | undefined => {
  try {
    run();
    return undefined;
  } catch (error) {
    return error as { code: string; message: string };
  }
};

it('the prio module is loaded by ready()', () => {
  expect(wasmLoaded()).toBe(true);
});

describe.each(FIELDS)('%s', (_, f) => {
  it('the reference NTT evaluates at the powers of W_n (and of s * W_n when shifted)', () => {
    fc.assert(
      fc.property(logSize.chain((log) => vector(f, 2 ** Math.min(log, 4))), (coeffs) => {
        const n = coeffs.length;
        const nodes = rootPowers(f, n);
        expect(ntt(f, coeffs, n)).toEqual(nodes.map((x) => polyEvalMonomial(f, coeffs, x)));
        const s = nthRoot(f, 2 * n);
        expect(ntt(f, coeffs, n, true)).toEqual(nodes.map((x) => polyEvalMonomial(f, coeffs, mul(f, s, x))));
        expect(invNtt(f, ntt(f, coeffs, n), n)).toEqual(coeffs);
      }),
    );
  });

  it('W_n has order n', () => {
    for (const log of [1, 5, 20]) {
      const w = nthRoot(f, 2 ** log);
      expect(pow(f, w, BigInt(2 ** log))).toBe(1n);
      expect(pow(f, w, BigInt(2 ** (log - 1)))).toBe(f.modulus - 1n);
    }
  });

  it('wasm NTT, shifted NTT and inverse NTT equal the reference', () => {
    fc.assert(
      fc.property(logSize.chain((log) => vector(f, 2 ** log)), (v) => {
        const n = v.length;
        expect(nttWasm(f, v, n)).toEqual(ntt(f, v, n));
        expect(nttWasm(f, v, n, true)).toEqual(ntt(f, v, n, true));
        expect(invNttWasm(f, v, n)).toEqual(invNtt(f, v, n));
      }),
    );
  });

  it('wasm ParallelSum(Mul) equals the sum of the reference Lagrange products', () => {
    const input = fc.tuple(fc.integer({ min: 0, max: 5 }), fc.integer({ min: 1, max: 4 })).chain(([log, count]) => fc.array(vector(f, 2 ** log), { minLength: 2 * count, maxLength: 2 * count }));
    fc.assert(
      fc.property(input, (wires) => {
        let want = new Array<bigint>(2 * wires[0]!.length).fill(0n);
        for (let j = 0; j < wires.length; j += 2) want = vecAdd(f, want, polyMul(f, wires[j]!, wires[j + 1]!));
        expect(parallelSumMulWasm(f, wires)).toEqual(want);
      }),
    );
  });

  it('wasm ParallelSum(Mul) equals the reference at 64 and 128 points (every layer of the coset transforms; SumVec 1000 x 8 in chunks of 100 has 128)', () => {
    const input = fc.constantFrom(6, 7).chain((log) => fc.array(vector(f, 2 ** log), { minLength: 2, maxLength: 2 }));
    fc.assert(
      fc.property(input, ([a, b]) => {
        expect(parallelSumMulWasm(f, [a!, b!])).toEqual(polyMul(f, a!, b!));
      }),
      { numRuns: 6 },
    );
  });

  it('wasm Montgomery multiplication equals BigInt multiplication mod p', () => {
    const input = fc.integer({ min: 0, max: 40 }).chain((n) => fc.tuple(vector(f, n), vector(f, n)));
    fc.assert(
      fc.property(input, ([a, b]) => {
        expect(mulVecWasm(f, a, b)).toEqual(a.map((x, i) => mul(f, x, b[i]!)));
      }),
    );
  });

  it('wasm batched Lagrange evaluation equals the reference, also at the nodes and between them (the 2n-th roots)', () => {
    const input = fc.tuple(fc.integer({ min: 0, max: 6 }), fc.integer({ min: 1, max: 5 })).chain(([log, count]) =>
      fc.tuple(
        fc.array(vector(f, 2 ** log), { minLength: count, maxLength: count }),
        fc.oneof(
          element(f),
          fc.integer({ min: 0, max: 2 ** log - 1 }).map((k) => pow(f, nthRoot(f, 2 ** log), BigInt(k))),
          fc.integer({ min: 0, max: 2 ** log - 1 }).map((k) => pow(f, nthRoot(f, 2 ** (log + 1)), BigInt(2 * k + 1))),
        ),
      ),
    );
    fc.assert(
      fc.property(input, ([polys, x]) => {
        expect(polyEvalBatchedWasm(f, polys, x)).toEqual(polyEvalBatched(f, polys, x));
      }),
    );
  });

  it('wasm batched Lagrange evaluation of many polynomials (the Lagrange-weights path) equals the reference, also at the nodes', () => {
    const input = fc.tuple(fc.integer({ min: 0, max: 7 }), fc.integer({ min: 3, max: 9 })).chain(([log, count]) =>
      fc.tuple(
        fc.array(vector(f, 2 ** log), { minLength: count, maxLength: count }),
        fc.oneof(element(f), fc.integer({ min: 0, max: 2 ** log - 1 }).map((k) => pow(f, nthRoot(f, 2 ** log), BigInt(k)))),
      ),
    );
    fc.assert(
      fc.property(input, ([polys, x]) => {
        expect(polyEvalBatchedWasm(f, polys, x)).toEqual(polyEvalBatched(f, polys, x));
      }),
      { numRuns: 20 },
    );
  });

  it('Lagrange evaluation and extension agree with the monomial basis', () => {
    const input = fc.tuple(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 32 })).chain(([log, degree]) =>
      fc.tuple(fc.constant(2 ** log), vector(f, Math.min(degree, 2 ** log)), element(f)),
    );
    fc.assert(
      fc.property(input, ([n, coeffs, x]) => {
        const nodes = rootPowers(f, n);
        const values = nodes.map((w) => polyEvalMonomial(f, coeffs, w));
        expect(polyEvalBatched(f, [values], x)).toEqual([polyEvalMonomial(f, coeffs, x)]);
        // extension from the first coeffs.length values (the interpolant of degree < that count)
        const known = values.slice(0, coeffs.length);
        extendValuesToPowerOf2(f, known, n);
        expect(known).toEqual(values);
      }),
    );
  });

  it('wasm element-wise sum and difference of encoded vectors equal the reference', () => {
    const input = fc.integer({ min: 0, max: 40 }).chain((n) => fc.tuple(vector(f, n), vector(f, n)));
    fc.assert(
      fc.property(input, ([a, b]) => {
        const [x, y] = [encodeVec(f, a), encodeVec(f, b)];
        expect(addEncoded(f, x, y)).toEqual(encodeVec(f, vecAdd(f, a, b)));
        expect(addEncoded(f, x, y, true)).toEqual(encodeVec(f, vecSub(f, a, b)));
      }),
    );
  });

  it('wasm weighted sums equal the reference, and the reference equals the direct sum', () => {
    const input = fc.tuple(fc.integer({ min: 0, max: 8 }), fc.integer({ min: 1, max: 9 })).chain(([count, width]) => fc.tuple(vector(f, count * width), vector(f, width), fc.constant(count)));
    fc.assert(
      fc.property(input, ([x, weights, count]) => {
        const width = weights.length;
        const want = weightedSums(f, x, count, width, weights);
        expect(weightedSumsWasm(f, encodeVec(f, x), count, width, FieldVec.fromValues(f, weights))).toEqual(encodeVec(f, want));
        for (let i = 0; i < count; i++) {
          let direct = 0n;
          for (let l = 0; l < width; l++) direct += weights[l]! * x[i * width + l]!;
          expect(want[i]).toBe(direct % f.modulus);
        }
      }),
    );
  });

  it('wasm x^n = 1 holds exactly for the n-th roots of unity (the query point check)', () => {
    for (const n of [1, 2, 16, 128]) {
      const w = nthRoot(f, n);
      for (const x of [1n, w, pow(f, w, BigInt(n - 1)), f.modulus - 1n]) expect(powerIsOneWasm(f, x, n)).toBe(pow(f, x, BigInt(n)) === 1n);
    }
    fc.assert(fc.property(element(f), logSize, (x, log) => powerIsOneWasm(f, x, 2 ** log) === (pow(f, x, 2n ** BigInt(log)) === 1n)));
  });

  it('wasm dot products reduced once: weighted sums of many extreme elements', () => {
    // (p - 1)^2 = 1: a sum of n such products is n, the most any column and the fold take
    for (const width of [1, 2, 255, 1000, 4097]) {
      const x = new Array<bigint>(width).fill(f.modulus - 1n);
      expect(decodeVec(f, weightedSumsWasm(f, encodeVec(f, x), 1, width, FieldVec.fromValues(f, x)), 'sums')).toEqual([BigInt(width)]);
    }
  });

  it("wasm chunked bit check's proof (wires built in wasm, doubled by the DIF and DIT transforms, or from a sparse column's nonzero elements) equals the reference gadget polynomial of the wires it defines", () => {
    const shape = fc.tuple(fc.integer({ min: 1, max: 3 }), fc.oneof(fc.integer({ min: 1, max: 20 }), fc.integer({ min: 100, max: 300 })), fc.integer({ min: 0, max: 2 }), fc.constantFrom(1, 2));
    const input = shape.chain(([chunk, calls, short, shares]) =>
      fc.record({
        chunk: fc.constant(chunk),
        calls: fc.constant(calls),
        shares: fc.constant(shares),
        // dense, sparse, or dense with some chunk columns (elements j mod chunk) all zero
        meas: fc.oneof(
          vector(f, Math.max(1, calls * chunk - short)),
          sparseVector(f, Math.max(1, calls * chunk - short)),
          fc
            .tuple(vector(f, Math.max(1, calls * chunk - short)), fc.array(fc.boolean(), { minLength: chunk, maxLength: chunk }))
            .map(([v, zeroColumn]) => v.map((x, i) => (zeroColumn[i % chunk] ? 0n : x))),
        ),
        jointRand: vector(f, calls),
        seeds: vector(f, 2 * chunk),
      }),
    );
    fc.assert(
      fc.property(input, ({ chunk, calls, shares, meas, jointRand, seeds }) => {
        const p = wirePolyLen(calls);
        const wires = seeds.map((seed) => [seed, ...new Array<bigint>(p - 1).fill(0n)]);
        let k = 0;
        chunkedRangeCheck(f, FieldVec.fromValues(f, meas), jointRand, shares, chunk, calls, (inp) => {
          k++;
          inp.forEach((x, j) => (wires[j]![k] = x));
          return 0n;
        });
        let want = new Array<bigint>(2 * p).fill(0n);
        for (let j = 0; j < wires.length; j += 2) want = vecAdd(f, want, polyMul(f, wires[j]!, wires[j + 1]!));
        // both provers: dense only (SumVec's), and with sparse and empty columns (one-hot Histogram's)
        for (const sparse of [0, Math.log2(p) >= 2 ? Math.log2(p) : 0]) {
          const got = chunkedRangeCheckWasm(f, encodeVec(f, meas), jointRand, shares, chunk, calls, FieldVec.fromValues(f, seeds), p, sparse, undefined);
          expect(decodeVec(f, got, 'gadget polynomial')).toEqual(want);
        }
      }),
      { numRuns: 24 },
    );
  });

  it("wasm chunked bit check's query (wire checks made from the measurement share) equals the reference Lagrange evaluation of the wires it defines", () => {
    const shape = fc.tuple(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 40 }), fc.integer({ min: 0, max: 11 }), fc.constantFrom(1, 2, 3));
    const input = shape.chain(([chunk, calls, short, shares]) => {
      const measLen = Math.max(1, calls * chunk - short);
      const p = wirePolyLen(calls);
      return fc.record({
        chunk: fc.constant(chunk),
        calls: fc.constant(calls),
        shares: fc.constant(shares),
        meas: vector(f, measLen),
        jointRand: vector(f, calls),
        seeds: vector(f, 2 * chunk),
        gadgetPoly: vector(f, 2 * p - 1),
        at: fc.oneof(element(f), fc.integer({ min: 0, max: p - 1 }).map((k) => pow(f, nthRoot(f, p), BigInt(k)))),
      });
    });
    fc.assert(
      fc.property(input, ({ chunk, calls, shares, meas, jointRand, seeds, gadgetPoly, at }) => {
        const p = wirePolyLen(calls);
        // the wires, recorded from the plain-TS circuit's gadget calls
        const wires = seeds.map((seed) => [seed, ...new Array<bigint>(p - 1).fill(0n)]);
        let k = 0;
        const gadget = (inp: readonly bigint[]): bigint => {
          k++;
          inp.forEach((x, j) => (wires[j]![k] = x));
          return 0n;
        };
        chunkedRangeCheck(f, FieldVec.fromValues(f, meas), jointRand, shares, chunk, calls, gadget);
        const extended = gadgetPoly.slice();
        extendValuesToPowerOf2(f, extended, 2 * p);
        const want = [...polyEvalBatched(f, wires, at), ...polyEvalBatched(f, [extended], at)];
        const got = chunkedRangeCheckWasm(f, encodeVec(f, meas), jointRand, shares, chunk, calls, FieldVec.fromValues(f, seeds), p, 0, { at, gadgetPoly: FieldVec.fromValues(f, gadgetPoly) });
        expect(decodeVec(f, got, 'checks')).toEqual(want);
      }),
      { numRuns: 40 },
    );
  });

  it('wasm extension by one missing value equals the reference extendValuesToPowerOf2', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 7 }).chain((log) => vector(f, 2 ** log - 1)), (values) => {
        const want = values.slice();
        extendValuesToPowerOf2(f, want, values.length + 1);
        expect(extendLastWasm(f, values)).toEqual(want);
      }),
    );
  });

  it('sumEncoded is the sum of the decoded elements', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 60 }).chain((n) => vector(f, n)), (v) => {
        expect(sumEncoded(f, encodeVec(f, v))).toBe(v.reduce((s, x) => add(f, s, x), 0n));
      }),
    );
    const top = new Array<bigint>(3000).fill(f.modulus - 1n);
    expect(sumEncoded(f, encodeVec(f, top))).toBe((3000n * (f.modulus - 1n)) % f.modulus);
  });

  it('checkEncodedVec accepts what decodeVec accepts and refuses the same element; encodeSmallInts is encodeVec', () => {
    const word = fc.constantFrom(0, 1, 0xfffffffe, 0xffffffff, 0xffffffe4);
    const input = fc.array(fc.array(word, { minLength: f.encodedSize / 4, maxLength: f.encodedSize / 4 }), { maxLength: 6 });
    fc.assert(
      fc.property(input, (elements) => {
        const bytes = new Uint8Array(elements.length * f.encodedSize);
        const view = new DataView(bytes.buffer);
        elements.forEach((words, i) => words.forEach((w, k) => view.setUint32(i * f.encodedSize + 4 * k, w, true)));
        const decoded = catchError(() => decodeVec(f, bytes, 'x'));
        const checked = catchError(() => checkEncodedVec(f, bytes, 'x'));
        expect(checked === undefined ? undefined : [checked.code, checked.message]).toEqual(decoded === undefined ? undefined : [decoded.code, decoded.message]);
      }),
    );
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.constantFrom(0, 1, 2 ** 32 - 1, 2 ** 32, Number.MAX_SAFE_INTEGER), fc.maxSafeNat()), { maxLength: 8 }), (values) => {
        expect(encodeSmallInts(f, values).bytes).toEqual(encodeVec(f, values.map(BigInt)));
      }),
    );
  });

  it('wasm XofTurboShake128 expansion equals the reference', () => {
    const input = fc.tuple(fc.uint8Array({ minLength: 0, maxLength: 64 }), fc.uint8Array({ minLength: 0, maxLength: 400 }), fc.uint8Array({ minLength: 0, maxLength: 400 }), fc.integer({ min: 1, max: 300 }));
    fc.assert(
      fc.property(input, ([seed, dst, binder, length]) => {
        expect(xofExpandWasm(f, seed, dst, binder, length)).toEqual(XofTurboShake128.expandIntoVec(f, seed, dst, binder, length));
      }),
    );
  });
});

describe('TurboSHAKE128', () => {
  // RFC 9861, section 5: TurboSHAKE128(M, D, L) for M = ptn(17^i) (the pattern 00 01 .. fa repeated).
  const ptn = (n: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => i % 251);
  it.each<[string, Uint8Array, number, number, string]>([
    ['empty, D=0x1F', new Uint8Array(0), 0x1f, 32, '1e415f1c5983aff2169217277d17bb538cd945a397ddec541f1ce41af2c1b74c'],
    ['empty, D=0x1F, 64 bytes', new Uint8Array(0), 0x1f, 64, '1e415f1c5983aff2169217277d17bb538cd945a397ddec541f1ce41af2c1b74c3e8ccae2a4dae56c84a04c2385c03c15e8193bdf58737363321691c05462c8df'],
    ['ptn(1), D=0x1F', ptn(1), 0x1f, 32, '55cedd6f60af7bb29a4042ae832ef3f58db7299f893ebb9247247d856958daa9'],
    ['ptn(17), D=0x1F', ptn(17), 0x1f, 32, '9c97d036a3bac819db70ede0ca554ec6e4c2a1a4ffbfd9ec269ca6a111161233'],
    ['ptn(17^2), D=0x1F', ptn(17 ** 2), 0x1f, 32, '96c77c279e0126f7fc07c9b07f5cdae1e0be60bdbe10620040e75d7223a624d2'],
    ['ptn(17^3), D=0x1F', ptn(17 ** 3), 0x1f, 32, 'd4976eb56bcf118520582b709f73e1d6853e001fdaf80e1b13e0d0599d5fb372'],
  ])('%s (RFC 9861)', (_, message, domain, length, want) => {
    expect(hex(turboShake128(message, domain, length))).toBe(want);
    expect(hex(turboShake128Wasm(message, domain, length))).toBe(want);
  });

  it('wasm equals the reference on any message, domain byte and output length', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 700 }), fc.integer({ min: 1, max: 0x7f }), fc.integer({ min: 0, max: 600 }), (message, domain, length) => {
        expect(hex(turboShake128Wasm(message, domain, length))).toBe(hex(turboShake128(message, domain, length)));
      }),
    );
  });
});

it('field helpers: add wraps at p', () => {
  expect(add(Field64, Field64.modulus - 1n, 2n)).toBe(1n);
  expect(add(Field128, Field128.modulus - 1n, 1n)).toBe(0n);
});

describe('the one-call Prio3 kernels (shardChunked, verifyChunked, combineChunked) equal the step-by-step path', () => {
  /** The VDAF made by `make` and the same VDAF without the one-call plan (the step-by-step path: flp.ts's prove and query on the circuit). */
  const pair = (vdaf: Prio3<any, any>, forged?: bigint[]): [Prio3<any, any>, Prio3<any, any>] => {
    const circuit = forged === undefined ? vdaf.circuit : { ...vdaf.circuit, encode: () => FieldVec.fromValues(vdaf.circuit.field, forged) };
    const fast = new Prio3(vdaf.name, vdaf.id, circuit, vdaf.proofs, vdaf.shares, vdaf.checkMeasurement);
    const slow = new Prio3(vdaf.name, vdaf.id, { ...circuit, chunked: undefined }, vdaf.proofs, vdaf.shares, vdaf.checkMeasurement);
    return [fast, slow];
  };
  const shares = fc.integer({ min: 2, max: 3 });
  const chunk = fc.integer({ min: 1, max: 7 });
  const variant = fc.oneof(
    fc.tuple(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 4 }), chunk, shares).chain(([length, bits, chunkLength, n]) =>
      fc.record({ vdaf: fc.constant(prio3SumVec({ length, bits, chunkLength: Math.min(chunkLength, length * bits), shares: n })), m: fc.array(fc.integer({ min: 0, max: 2 ** bits - 1 }), { minLength: length, maxLength: length }) }),
    ),
    fc.tuple(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 3, max: 4 }), chunk, shares).chain(([length, proofs, chunkLength, n]) =>
      fc.record({ vdaf: fc.constant(prio3SumVecWithMultiproof({ length, bits: 2, chunkLength: Math.min(chunkLength, 2 * length), shares: n, proofs })), m: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: length, maxLength: length }) }),
    ),
    fc.tuple(fc.integer({ min: 1, max: 30 }), chunk, shares).chain(([length, chunkLength, n]) =>
      fc.record({ vdaf: fc.constant(prio3Histogram({ length, chunkLength: Math.min(chunkLength, length), shares: n })), m: fc.integer({ min: 0, max: length - 1 }) }),
    ),
    fc.tuple(fc.integer({ min: 1, max: 12 }), chunk, shares).chain(([length, chunkLength, n]) =>
      fc.record({
        vdaf: fc.constant(prio3MultihotCountVec({ length, maxWeight: Math.max(1, length >> 1), chunkLength: Math.min(chunkLength, length + 1), shares: n })),
        m: fc.array(fc.boolean(), { minLength: length, maxLength: length }).map((bits) => {
          let weight = 0;
          return bits.map((b) => b && ++weight <= Math.max(1, length >> 1));
        }),
      }),
    ),
  );
  /** A report, maybe of a forged encoding (an invalid measurement past the checks), maybe tampered with on the way. */
  const input = variant.chain(({ vdaf, m }) =>
    fc.record({
      vdaf: fc.constant(vdaf as Prio3<any, any>),
      m: fc.constant(m as unknown),
      forged: fc.option(fc.array(fc.constantFrom(0n, 1n, 2n, vdaf.circuit.field.modulus - 1n), { minLength: vdaf.circuit.measLen, maxLength: vdaf.circuit.measLen }), { freq: 3 }),
      rand: fc.uint8Array({ minLength: vdaf.randSize, maxLength: vdaf.randSize }),
      nonce: fc.uint8Array({ minLength: 16, maxLength: 16 }),
      ctx: fc.uint8Array({ maxLength: 5 }),
      verifyKey: fc.uint8Array({ minLength: 32, maxLength: 32 }),
      // byte offset into the leader's input share (or -1: the public share's first byte), value to xor
      tamper: fc.option(fc.tuple(fc.integer({ min: -1, max: 1 << 16 }), fc.integer({ min: 1, max: 255 })), { freq: 3 }),
    }),
  );
  /** What a call returns, as hex, or the error code and message it throws. */
  const outcome = (run: () => Uint8Array | Uint8Array[]): string[] => {
    const error = catchError(run);
    if (error !== undefined) return [error.code, error.message];
    const out = run();
    return (Array.isArray(out) ? out : [out]).map(hex);
  };

  it('on honest, invalid and tampered reports of SumVec, SumVecWithMultiproof, Histogram and MultihotCountVec: the same report, verifier shares, decision, message and output shares', () => {
    fc.assert(
      fc.property(input, ({ vdaf, m, forged, rand, nonce, ctx, verifyKey, tamper }) => {
        const [fast, slow] = pair(vdaf, forged ?? undefined);
        const opts = { rand, nonce, ctx };
        const report = fast.shard(m, opts);
        const slowReport = slow.shard(m, opts);
        expect(report.inputShares.map(hex)).toEqual(slowReport.inputShares.map(hex));
        expect(hex(report.publicShare)).toBe(hex(slowReport.publicShare));
        const inputShares = report.inputShares.map((s) => s.slice());
        const publicShare = report.publicShare.slice();
        if (tamper !== null) {
          const [at, xor] = tamper;
          if (at < 0) publicShare[0]! ^= xor;
          else inputShares[0]![at % inputShares[0]!.length]! ^= xor;
        }
        const input = (aggregatorId: number) => ({ verifyKey, aggregatorId, nonce, publicShare, inputShare: inputShares[aggregatorId]!, ctx });
        const inits = (v: Prio3<any, any>) => inputShares.map((_, j) => v.verifyInit(input(j)));
        for (let j = 0; j < vdaf.shares; j++) expect(outcome(() => fast.verifyInit(input(j)).verifierShare)).toEqual(outcome(() => slow.verifyInit(input(j)).verifierShare));
        if (catchError(() => inits(fast)) !== undefined) return;
        const message = (v: Prio3<any, any>) => v.verifierSharesToMessage(inits(v).map((i) => i.verifierShare), { ctx });
        expect(outcome(() => message(fast))).toEqual(outcome(() => message(slow)));
        if (catchError(() => message(fast)) !== undefined) return;
        const outShares = (v: Prio3<any, any>) => {
          const all = inits(v);
          const msg = v.verifierSharesToMessage(all.map((i) => i.verifierShare), { ctx });
          return all.map((i) => v.verifyNext(i.state, msg));
        };
        expect(outcome(() => outShares(fast))).toEqual(outcome(() => outShares(slow)));
      }),
      { numRuns: 80 },
    );
  });

  it('a VDAF whose one-call steps would pass one call\'s wasm memory takes the step-by-step path', () => {
    const plan = (vdaf: Prio3<any, any>) => chunkedPlan(vdaf.circuit, vdaf.shares, vdaf.proofs)!;
    expect(chunkedKernelsFit(plan(prio3Histogram({ length: 100, chunkLength: 10 })), 8)).toBe(true);
    expect(chunkedKernelsFit(plan(prio3SumVec({ length: 1000, bits: 8, chunkLength: 100 })), 8 + 65527)).toBe(true);
    // 2^20 Field128 elements are 16 MiB: the measurement, its shares and the XOF message pass 64 MiB
    expect(chunkedKernelsFit(plan(prio3SumVec({ length: 2 ** 18, bits: 4, chunkLength: 1024 })), 8)).toBe(false);
  });

  it('a valid measurement verifies and aggregates to itself on the one-call path; an invalid one is refused there', () => {
    const vdaf = prio3Histogram({ length: 12, chunkLength: 4 });
    const [fast] = pair(vdaf);
    const verifyKey = new Uint8Array(32).fill(9);
    const report = fast.shard(5);
    const inits = report.inputShares.map((inputShare, aggregatorId) => fast.verifyInit({ verifyKey, aggregatorId, nonce: report.nonce, publicShare: report.publicShare, inputShare }));
    const message = fast.verifierSharesToMessage(inits.map((i) => i.verifierShare));
    const aggShares = inits.map((i) => {
      const aggregator = fast.aggregator();
      aggregator.add(report.nonce, fast.verifyNext(i.state, message));
      return aggregator.share();
    });
    expect(fast.unshard(aggShares, 1)).toEqual(Array.from({ length: 12 }, (_, i) => (i === 5 ? 1 : 0)));
    const [cheat] = pair(vdaf, [1n, 1n, ...new Array<bigint>(10).fill(0n)]);
    const bad = cheat.shard(5);
    const badInits = bad.inputShares.map((inputShare, aggregatorId) => cheat.verifyInit({ verifyKey, aggregatorId, nonce: bad.nonce, publicShare: bad.publicShare, inputShare }));
    expect(catchError(() => cheat.verifierSharesToMessage(badInits.map((i) => i.verifierShare)))?.code).toBe('E_AUTH');
  });
});
