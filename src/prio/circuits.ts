// The validity circuits of the Prio3 variants (draft-irtf-cfrg-vdaf-20, section 7.4): Count, Sum,
// SumVec, Histogram and MultihotCountVec, plus the draft's test-only circuit with a degree-3
// gadget (a count in {0, 1, 2}, checked by x(x-1)(x-2) = 0). Measurements reach encode() checked.
import { PrivkitError } from '../errors.js';
import { type Field, FieldVec, encodeSmallInts, invInt, neg, sub, sumEncoded } from './field.js';
import { weightedSums } from './kernels.js';
import {
  bitLength,
  chunkedRangeCheck,
  type Circuit,
  decodeRangeChecked,
  encodeRangeCheckedInto,
  mulGadget,
  parallelSumGadget,
  polyEvalGadget,
  rangeCheckedWeights,
} from './flp.js';

/**
 * A field element as the integer in (-p/2, p/2) it stands for (a noised or signed aggregate):
 * E_OVERFLOW naming aggShares (and `index`, the coordinate, when given) beyond 2^53 - 1 in magnitude.
 */
export function signedElement(f: Field, x: bigint, index?: number): number {
  const v = x > f.modulus >> 1n ? x - f.modulus : x;
  if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < -BigInt(Number.MAX_SAFE_INTEGER)) {
    const where = index === undefined ? 'an aggregate element' : `aggregate coordinate ${index}`;
    throw new PrivkitError('E_OVERFLOW', `${where} exceeds 2^53 - 1 in magnitude: the aggregate shares do not belong together, or the sum is too large for a JS number`, {
      argument: 'aggShares',
      ...(index === undefined ? {} : { index }),
    });
  }
  return Number(v);
}

/**
 * An aggregate element as a JS number, from `count` reports each contributing at most `max`.
 * Aggregates are sums mod p, so a true sum of p or more wraps: E_OVERFLOW when the element plus p
 * is still a possible sum (valid reports near max could otherwise wrap past p and subtract from
 * the others' total, unnoticed), and above 2^53 - 1 (never rounded). `noised`: the aggregators added
 * signed DP noise, so the element is the signed integer in (-p/2, p/2) it stands for (E_OVERFLOW
 * beyond 2^53 - 1 in magnitude), and E_OVERFLOW when count reports of at most max could reach
 * p/2 - 2^53 (in Field64 a Sum of max 2^53 - 1 does so at 1,023 reports: a large sum would read as a
 * small negative one).
 */
function toCount(f: Field, x: bigint, count: number, max: number, noised = false): number {
  if (noised) {
    // Read centred, S + N is exact when every valid sum S <= count max stays below p/2 - 2^53 (and |N|
    // < 2^53, else E_OVERFLOW below); past that a large sum would read as a small negative one.
    if (BigInt(count) * BigInt(max) >= (f.modulus >> 1n) - (1n << 53n)) {
      throw new PrivkitError('E_OVERFLOW', `a noised aggregate element is ambiguous: ${count} reports of at most ${max} may sum past (p - 1)/2 - 2^53 of ${f.name} and read as negative`, { argument: 'numMeasurements' });
    }
    return signedElement(f, x);
  }
  if (x + f.modulus <= BigInt(count) * BigInt(max)) {
    throw new PrivkitError('E_OVERFLOW', `an aggregate element is ambiguous: ${count} reports of at most ${max} may sum past the ${f.name} modulus and wrap`, { argument: 'numMeasurements' });
  }
  if (x > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new PrivkitError('E_OVERFLOW', 'an aggregate element exceeds 2^53 - 1: the aggregate shares do not belong together, or the sum is too large for a JS number', { argument: 'aggShares' });
  }
  return Number(x);
}

/** Count: x in {0, 1}, checked by Mul(x, x) - x = 0. */
export function countCircuit(f: Field): Circuit<number, number> {
  return {
    field: f,
    gadgets: [mulGadget],
    gadgetCalls: [1],
    measLen: 1,
    jointRandLen: 0,
    evalOutputLen: 1,
    outputLen: 1,
    encode: (m) => encodeSmallInts(f, [m]),
    eval: (meas, _jointRand, _numShares, [g]) => {
      const x = meas.vec[0]!;
      return [sub(f, g!([x, x]), x)];
    },
    truncate: (meas) => meas,
    decode: (output, count, noised) => toCount(f, output[0]!, count, 1, noised),
  };
}

/** The draft's degree-3 test circuit: x in {0, 1, 2} through PolyEval(x^3 - 3x^2 + 2x). */
export function higherDegreeCircuit(f: Field): Circuit<number, number> {
  return {
    field: f,
    gadgets: [polyEvalGadget(f, [0n, 2n, -3n, 1n], 1)],
    gadgetCalls: [1],
    measLen: 1,
    jointRandLen: 0,
    evalOutputLen: 1,
    outputLen: 1,
    encode: (m) => encodeSmallInts(f, [m]),
    eval: (meas, _jointRand, _numShares, [g]) => [g!([meas.vec[0]!])],
    truncate: (meas) => meas,
    decode: (output, count, noised) => toCount(f, output[0]!, count, 2, noised),
  };
}

/** Sum: an integer in [0, max], as bits checked one by one by PolyEval(x^2 - x). */
export function sumCircuit(f: Field, max: number): Circuit<number, number> {
  const bits = bitLength(max);
  return {
    field: f,
    gadgets: [polyEvalGadget(f, [0n, -1n, 1n], bits)],
    gadgetCalls: [bits],
    measLen: bits,
    jointRandLen: 0,
    evalOutputLen: bits,
    outputLen: 1,
    encode: (m) => {
      const digits = new Array<number>(bits);
      encodeRangeCheckedInto(digits, 0, m, max);
      return encodeSmallInts(f, digits);
    },
    eval: (meas, _jointRand, _numShares, [g]) => meas.vec.map((b) => g!([b])),
    truncate: (meas) => FieldVec.fromValues(f, [decodeRangeChecked(f, meas.vec, max)]),
    decode: (output, count, noised) => toCount(f, output[0]!, count, max, noised),
  };
}

/** SumVec: `length` integers in [0, max], bit-encoded and range-checked in chunks by ParallelSum(Mul). */
export function sumVecCircuit(f: Field, length: number, max: number, chunkLength: number): Circuit<readonly number[], number[]> {
  const bits = bitLength(max);
  const calls = Math.ceil((length * bits) / chunkLength);
  // each value's digits straight into the encoding: element e holds its digit in byte e * encodedSize
  const write = (m: readonly number[], out: Uint8Array): void => {
    const size = f.encodedSize;
    const digits = new Array<number>(bits);
    m.forEach((v, i) => {
      encodeRangeCheckedInto(digits, 0, v, max);
      for (let l = 0; l < bits; l++) out[(i * bits + l) * size] = digits[l]!;
    });
  };
  const weights = FieldVec.fromValues(f, rangeCheckedWeights(max));
  return {
    field: f,
    gadgets: [parallelSumGadget(mulGadget, chunkLength)],
    gadgetCalls: [calls],
    measLen: length * bits,
    jointRandLen: calls,
    evalOutputLen: 1,
    outputLen: length,
    encode: (m, out) => encodeWith(f, length * bits, m, out, write),
    eval: (meas, jointRand, numShares, [g]) => [chunkedRangeCheck(f, meas, jointRand, numShares, chunkLength, calls, g!)],
    truncate: (meas) => FieldVec.fromBytes(f, weightedSums(f, meas.bytes, length, bits, weights)),
    decode: (output, count, noised) => output.map((x) => toCount(f, x, count, max, noised)),
    chunked: { chunkLength, calls, truncate: { width: bits, weights } },
  };
}

/** encode by `write`, which sets the nonzero bytes of the measLen elements: into `out` (zero) when given, else a new array. */
function encodeWith<M>(f: Field, measLen: number, m: M, out: Uint8Array | undefined, write: (m: M, out: Uint8Array) => void): FieldVec {
  const bytes = out ?? new Uint8Array(measLen * f.encodedSize);
  write(m, bytes);
  return FieldVec.fromBytes(f, bytes);
}

/** Histogram: a one-hot vector of `length` buckets (bits checked in chunks, and their sum is 1). */
export function histogramCircuit(f: Field, length: number, chunkLength: number): Circuit<number, number[]> {
  const calls = Math.ceil(length / chunkLength);
  // one-hot: the bucket's element is 1
  const write = (m: number, out: Uint8Array): void => {
    out[m * f.encodedSize] = 1;
  };
  return {
    field: f,
    gadgets: [parallelSumGadget(mulGadget, chunkLength)],
    gadgetCalls: [calls],
    measLen: length,
    jointRandLen: calls,
    evalOutputLen: 2,
    outputLen: length,
    encode: (m, out) => encodeWith(f, length, m, out, write),
    eval: (meas, jointRand, numShares, [g]) => {
      const rangeCheck = chunkedRangeCheck(f, meas, jointRand, numShares, chunkLength, calls, g!);
      return [rangeCheck, sub(f, sumEncoded(f, meas.bytes), invInt(f, numShares))];
    },
    truncate: (meas) => meas,
    decode: (output, count, noised) => output.map((x) => toCount(f, x, count, 1, noised)),
    chunked: { chunkLength, calls, linear: { ones: length, tail: FieldVec.fromValues(f, []), constant: 1n }, oneHot: true },
  };
}

/** MultihotCountVec: `length` booleans with at most `maxWeight` true, the weight sent bit-encoded beside them. */
export function multihotCountVecCircuit(f: Field, length: number, maxWeight: number, chunkLength: number): Circuit<readonly boolean[], number[]> {
  const weightBits = bitLength(maxWeight);
  const calls = Math.ceil((length + weightBits) / chunkLength);
  // the booleans as 0 and 1, then the weight's digits
  const write = (m: readonly boolean[], out: Uint8Array): void => {
    const digits = m.map((b) => (b ? 1 : 0));
    encodeRangeCheckedInto(digits, length, m.filter(Boolean).length, maxWeight);
    digits.forEach((d, i) => (out[i * f.encodedSize] = d));
  };
  return {
    field: f,
    gadgets: [parallelSumGadget(mulGadget, chunkLength)],
    gadgetCalls: [calls],
    measLen: length + weightBits,
    jointRandLen: calls,
    evalOutputLen: 2,
    outputLen: length,
    encode: (m, out) => encodeWith(f, length + weightBits, m, out, write),
    eval: (meas, jointRand, numShares, [g]) => {
      const rangeCheck = chunkedRangeCheck(f, meas, jointRand, numShares, chunkLength, calls, g!);
      const reported = decodeRangeChecked(f, meas.slice(length, length + weightBits).vec, maxWeight);
      return [rangeCheck, sub(f, sumEncoded(f, meas.slice(0, length).bytes), reported)];
    },
    truncate: (meas) => meas.slice(0, length),
    decode: (output, count, noised) => output.map((x) => toCount(f, x, count, 1, noised)),
    chunked: {
      chunkLength,
      calls,
      // the count of the first `length` elements minus the weight they encode after them
      linear: { ones: length, tail: FieldVec.fromValues(f, rangeCheckedWeights(maxWeight).map((w) => neg(f, w))), constant: 0n },
    },
  };
}
