// Prio3BoundedL2VecSum: a Prio3 variant (beyond draft-irtf-cfrg-vdaf-20, private codepoint
// 0xFFFF0000) whose reports are integer vectors with a squared L2 norm of at most a public bound,
// for the clipped, quantized updates of federated learning. The design follows the documented design
// of libprio-rs's Prio3FixedPointBoundedL2VecSum (coordinates and a norm witness sent as bits, the
// squares computed in the circuit by a Mul gadget); this is an independent implementation in the
// draft's FLP (src/prio/flp.ts), with a slack witness so that any bound, not only 1, can be proven.
//
// Encoding (field Field128, p ~ 2^128). A measurement is n integers q_i in [-2^(B-1), 2^(B-1) - 1]
// with sum q_i^2 <= bound. Each coordinate is sent in offset form e_i = q_i + 2^(B-1) in [0, 2^B) as
// B bits, least significant first; then the slack s = bound - sum q_i^2 in the Sum encoding of
// section 7.4.2 (S = bitLength(bound) bits: S - 1 binary digits and a last bit of weight
// bound - 2^(S-1) + 1, which represents exactly [0, bound]). Encoded length n B + S.
//
// Circuit (two outputs, reduced by the query randomness as in the draft's section 7.3.2):
//   out_0 = the chunked bit check of SumVec over all n B + S elements, in slices of at most
//           BIT_SLICE_LENGTH elements (one ParallelSum(Mul, chunkLength) gadget per slice, so that one
//           slice's wire polynomials fit a wasm call): for call k of a slice, the sum over the chunk of
//           Mul(r_k^(j+1) m_j, m_j - 1/shares), r_k a joint randomness element of its own per call;
//   out_1 = sum_i Mul(x_i, x_i) + slack - bound/shares, where x_i = sum_l 2^l m_(iB+l) - 2^(B-1)/shares
//           (the share of q_i) and slack = the linear Sum decoding of the last S elements; the squares
//           are the last gadget, ParallelSum(Mul, normChunkLength), on the pairs (x_i, x_i).
// The output share of a report is e_i (linear in the bits); the collector subtracts N 2^(B-1) from
// each aggregate coordinate and reads the result centred in (-p/2, p/2).
//
// Soundness. Suppose a report is accepted. Except with the FLP's error (below), every element is a
// bit (out_0 = 0) and out_1 = 0 holds on the true measurement. Then every q_i is an integer in
// [-2^(B-1), 2^(B-1) - 1], so sum q_i^2 is an integer in [0, n 2^(2B-2)], and slack an integer in
// [0, bound]: their sum is an integer in [0, n 2^(2B-2) + bound], congruent to bound mod p. The
// circuit requires n 2^(2B-2) + bound < p (no wraparound; n 2^(2B) < p suffices whenever bound <=
// 3 n 2^(2B-2)), so the sum equals bound as an integer and sum q_i^2 = bound - slack <= bound. With
// Field128 and the variant's limits (B <= 32, n B <= 2^22, bound < 2^53) the left side is below 2^85,
// far below p ~ 2^128: every admissible parameter set is free of wraparound.
// Error: with gadget g called M_g times through wire polynomials of length P_g = nextPowerOf2(1 + M_g)
// (every gadget has degree 2), the gadget test at the random point t (from the verify key: not known
// to the client) misses a wrong gadget polynomial with probability <= 2 (P_g - 1) / (p - P_g), summed
// over the gadgets (Boneh et al. 2019, Thm. 4.3); the bit check misses a non-bit with probability <=
// chunkLength / p (Schwartz-Zippel in the r_k of one call holding a non-bit; the other calls' terms
// do not depend on it); the random reduction of the two outputs misses a non-zero one with
// probability 1/p. For n = 100,000, B = 16 with the default chunk lengths (4 bit-check gadgets and the
// squares, P = 64 each; chunkLength 6,350, normChunkLength 1,588) the sum is below 2^-113 per report. The joint randomness is a hash of the client's shares
// (Fiat-Shamir), so a client that evaluates the XOF Q times can search for a lucky one: its chance is
// at most Q times the bit-check term (the draft's robustness analysis, DPRS23).
import { PrivkitError } from '../errors.js';
import { assertInteger, describe, readOptions } from '../validate.js';
import { add, decodeVec, type Field, Field128, FieldVec, invInt, mul, sub } from './field.js';
import { weightedSums } from './kernels.js';
import {
  bitLength,
  chunkedRangeCheck,
  type Circuit,
  decodeRangeChecked,
  encodeRangeCheckedInto,
  mulGadget,
  parallelSumGadget,
} from './flp.js';
import { signedElement } from './circuits.js';
import { Prio3 } from './prio3.js';
import { made } from './recipes.js';
import { MAX_MEASUREMENT_LENGTH, type Prio3CommonOptions } from './variants.js';

/** The private-use codepoint of Prio3BoundedL2VecSum. */
export const PRIO3_BOUNDED_L2_ID = 0xffff0000;
/** Largest bits per coordinate. */
export const MAX_BOUNDED_L2_BITS = 32;

/** The parameters of a bounded-L2 circuit, checked. */
export interface BoundedL2Params {
  /** n: coordinates per vector. */
  readonly length: number;
  /** B: bits per coordinate (coordinates in [-2^(B-1), 2^(B-1) - 1]). */
  readonly bits: number;
  /** The largest squared L2 norm a report may have (an integer >= 1). */
  readonly bound: number;
  /** Elements per call of the bit-check gadget. */
  readonly chunkLength: number;
  /** Coordinates per call of the squaring gadget. */
  readonly normChunkLength: number;
}

/** The squared L2 norm of an integer vector, exactly (in JS numbers while every partial sum is a safe integer). */
export function squaredNorm(q: readonly number[]): bigint {
  let sum = 0;
  for (const v of q) {
    sum += v * v;
    if (sum > Number.MAX_SAFE_INTEGER) {
      let norm = 0n;
      for (const w of q) norm += BigInt(w) * BigInt(w);
      return norm;
    }
  }
  return BigInt(sum);
}

/** The shares of sum_l 2^l m_(i B + l) for each coordinate i, from its B bit shares (encoded). */
function offsetCoordinates(f: Field, meas: FieldVec, length: number, bits: number): Uint8Array {
  return weightedSums(f, meas.bytes, length, bits, FieldVec.fromValues(f, Array.from({ length: bits }, (_, l) => 1n << BigInt(l))));
}

/**
 * Elements per bit-check gadget: the bits are checked in slices of at most this many, one
 * ParallelSum(Mul) gadget each, so that one slice's wire polynomials (about 2 x 16 bytes per element)
 * fit the 64 MiB a wasm call may use.
 */
export const BIT_SLICE_LENGTH = 2 ** 19;

/** The most calls of a gadget by default: wire polynomials of at most 64 points (see defaultChunkLength). */
const MAX_DEFAULT_CALLS = 63;

/**
 * A default chunk length for `count` inputs: calls one less than a power of two P (the wire
 * polynomials have P points, none padding), with P <= sqrt(count) + 1 and P <= 64. The prover's NTTs
 * cost about 2 count log2(P) products and the proof holds about 2 count / (P - 1) wire seeds: P = 64
 * keeps the seeds near 3% of the measurement share and saves a third of the NTT work of the
 * square-root choice (P = 512 for a slice of 2^19 bits).
 */
export function defaultChunkLength(count: number): number {
  const calls = Math.min(MAX_DEFAULT_CALLS, 2 ** Math.max(1, Math.floor(Math.log2(Math.sqrt(count) + 1))) - 1);
  return Math.max(1, Math.ceil(count / calls));
}

/** The slices [start, end) of the bit check: as few as BIT_SLICE_LENGTH allows, of equal length but the last. */
function bitSlices(measLen: number): { start: number; end: number }[] {
  const count = Math.ceil(measLen / BIT_SLICE_LENGTH);
  const length = Math.ceil(measLen / count);
  return Array.from({ length: count }, (_, s) => ({ start: s * length, end: Math.min(measLen, (s + 1) * length) }));
}

/** The validity circuit of Prio3BoundedL2VecSum (see the file header). */
export function boundedL2Circuit(f: Field, params: BoundedL2Params): Circuit<readonly number[], number[]> {
  const { length, bits, bound, chunkLength, normChunkLength } = params;
  if ((BigInt(length) << BigInt(2 * bits - 2)) + BigInt(bound) >= f.modulus) {
    throw new PrivkitError('E_ARG', `length 2^(2 bits - 2) + bound must be below the ${f.name} modulus (no wraparound of the squared norm), got length ${length}, bits ${bits}, bound ${bound}`, { argument: 'bits' });
  }
  const slackBits = bitLength(bound);
  const measLen = length * bits + slackBits;
  const slices = bitSlices(measLen).map((slice) => ({ ...slice, calls: Math.ceil((slice.end - slice.start) / chunkLength) }));
  const normCalls = Math.ceil(length / normChunkLength);
  const half = 1n << BigInt(bits - 1);
  return {
    field: f,
    gadgets: [...slices.map(() => parallelSumGadget(mulGadget, chunkLength)), parallelSumGadget(mulGadget, normChunkLength)],
    gadgetCalls: [...slices.map((slice) => slice.calls), normCalls],
    measLen,
    jointRandLen: slices.reduce((total, slice) => total + slice.calls, 0),
    evalOutputLen: 2,
    outputLen: length,
    encode: (q) => {
      // the bits straight into the encoding: element e holds its bit in byte e * encodedSize
      const size = f.encodedSize;
      const out = new Uint8Array(measLen * size);
      for (let i = 0; i < length; i++) {
        const e = q[i]! + 2 ** (bits - 1); // in [0, 2^32): its bits by >>>
        for (let l = 0; l < bits; l++) out[(i * bits + l) * size] = (e >>> l) & 1;
      }
      const slack = new Array<number>(slackBits);
      encodeRangeCheckedInto(slack, 0, Number(BigInt(bound) - squaredNorm(q)), bound);
      slack.forEach((bit, l) => (out[(length * bits + l) * size] = bit));
      return FieldVec.fromBytes(f, out);
    },
    eval: (meas, jointRand, numShares, gadgets) => {
      const sharesInv = invInt(f, numShares);
      let bitCheck = 0n;
      let randOffset = 0;
      slices.forEach(({ start, end, calls }, s) => {
        const rand = jointRand.slice(randOffset, randOffset + calls);
        randOffset += calls;
        bitCheck = add(f, bitCheck, chunkedRangeCheck(f, meas.slice(start, end), rand, numShares, chunkLength, calls, gadgets[s]!));
      });
      const squareGadget = gadgets[slices.length]!;
      const offsetShare = mul(f, half % f.modulus, sharesInv);
      const coordinates = decodeVec(f, offsetCoordinates(f, meas, length, bits), 'coordinates');
      let norm = 0n;
      const inputs = new Array<bigint>(2 * normChunkLength);
      for (let k = 0; k < normCalls; k++) {
        for (let j = 0; j < normChunkLength; j++) {
          const i = k * normChunkLength + j;
          const x = i < length ? sub(f, coordinates[i]!, offsetShare) : 0n;
          inputs[2 * j] = x;
          inputs[2 * j + 1] = x;
        }
        norm = add(f, norm, squareGadget(inputs));
      }
      const slack = decodeRangeChecked(f, meas.slice(length * bits, measLen).vec, bound);
      const normCheck = sub(f, add(f, norm, slack), mul(f, BigInt(bound), sharesInv));
      return [bitCheck, normCheck];
    },
    truncate: (meas) => FieldVec.fromBytes(f, offsetCoordinates(f, meas, length, bits)),
    decode: (output, numMeasurements) => {
      const shift = (BigInt(numMeasurements) * half) % f.modulus;
      return output.map((e, i) => signedElement(f, sub(f, e, shift), i));
    },
  };
}

/** Options of {@link prio3BoundedL2VecSum}. */
export interface Prio3BoundedL2Options extends Prio3CommonOptions {
  /** n: coordinates per vector, >= 1. */
  length: number;
  /** B: bits per coordinate, 2..32: coordinates are integers in [-2^(B-1), 2^(B-1) - 1]. */
  bits: number;
  /** The largest squared L2 norm of a vector: a safe integer >= 1. */
  bound: number;
  /** Elements per call of each bit-check gadget. Default: near the square root of a slice's length (the slices: n B + bitLength(bound) elements in as few slices of at most 2^19 as possible). */
  chunkLength?: number;
  /** Coordinates per call of the squaring gadget. Default: near sqrt(n). */
  normChunkLength?: number;
}

/** The parameters of {@link prio3BoundedL2VecSum}, checked (E_ARG naming the option). */
export function readBoundedL2Params(opts: Prio3BoundedL2Options): BoundedL2Params & { shares: number } {
  const o = readOptions(opts, ['length', 'bits', 'bound', 'chunkLength', 'normChunkLength', 'shares']);
  const length = assertInteger('length', o.length, 1, MAX_MEASUREMENT_LENGTH);
  const bits = assertInteger('bits', o.bits, 2, MAX_BOUNDED_L2_BITS);
  const bound = assertInteger('bound', o.bound, 1, Number.MAX_SAFE_INTEGER);
  const encodedLength = length * bits + bitLength(bound);
  if (encodedLength > MAX_MEASUREMENT_LENGTH) {
    throw new PrivkitError('E_ARG', `the encoded measurement would hold ${encodedLength} field elements, more than ${MAX_MEASUREMENT_LENGTH}`, { argument: 'length' });
  }
  const chunkLength = o.chunkLength === undefined ? defaultChunkLength(bitSlices(encodedLength)[0]!.end) : assertInteger('chunkLength', o.chunkLength, 1, Math.min(encodedLength, BIT_SLICE_LENGTH));
  const normChunkLength = o.normChunkLength === undefined ? defaultChunkLength(length) : assertInteger('normChunkLength', o.normChunkLength, 1, length);
  const shares = o.shares === undefined ? 2 : assertInteger('shares', o.shares, 2, 255);
  return { length, bits, bound, chunkLength, normChunkLength, shares };
}

/** A measurement of a bounded-L2 circuit, checked: `length` integers in the B-bit range, squared norm <= bound. */
function checkMeasurement(params: BoundedL2Params, m: unknown): number[] {
  const { length, bits, bound } = params;
  if (!Array.isArray(m) || m.length !== length) throw new PrivkitError('E_ARG', `measurement must be an array of ${length} integers, got ${describe(m)}`, { argument: 'measurement' });
  const lo = -(2 ** (bits - 1));
  const hi = 2 ** (bits - 1) - 1;
  const q = new Array<number>(length);
  for (let i = 0; i < length; i++) {
    const v: unknown = (m as unknown[])[i];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) {
      throw new PrivkitError('E_ARG', `measurement[${i}] must be an integer in [${lo}, ${hi}], got ${describe(v)}`, { argument: 'measurement', index: i });
    }
    q[i] = v;
  }
  const norm = squaredNorm(q);
  if (norm > BigInt(bound)) throw new PrivkitError('E_ARG', `measurement has squared L2 norm ${norm}, above the bound ${bound}`, { argument: 'measurement' });
  return q;
}

/**
 * Prio3BoundedL2VecSum (private codepoint 0xFFFF0000): each measurement is `length` integers in
 * [-2^(bits-1), 2^(bits-1) - 1] whose squared L2 norm is at most `bound`; the result is their
 * coordinate-wise sum. A report over the bound (or with a coordinate out of range) is rejected by the
 * aggregators, except with probability below 2^-100 for practical sizes (see the README's prio section
 * for the circuit and its soundness argument). Field128.
 *
 * @param opts - `length`, `bits`, `bound`, the chunk lengths and the number of aggregators.
 * @throws {PrivkitError} E_ARG when an option is out of range (length >= 1, bits in [2, 32], bound a safe
 *   integer >= 1, encoded length at most 2^22,
 *   chunk lengths in range, shares in [2, 255]).
 *
 * @example
 * ```ts
 * import { ready } from 'privkit';
 * import { prio3BoundedL2VecSum } from 'privkit/prio';
 * await ready();
 * const vdaf = prio3BoundedL2VecSum({ length: 3, bits: 8, bound: 100 });
 * const verifyKey = crypto.getRandomValues(new Uint8Array(32));
 * const leaderSum = vdaf.aggregator();
 * const helperSum = vdaf.aggregator();
 * for (const update of [[6, -8, 0], [-1, 2, 3]]) {
 *   const { nonce, publicShare, inputShares } = vdaf.shard(update);
 *   const leader = vdaf.leaderInit({ verifyKey, nonce, publicShare, inputShare: inputShares[0]! });
 *   const helper = vdaf.helperInit({ verifyKey, nonce, publicShare, inputShare: inputShares[1]!, inbound: leader.outbound });
 *   leaderSum.add(nonce, vdaf.leaderContinued(leader.state, helper.outbound));
 *   helperSum.add(nonce, helper.outShare);
 * }
 * console.log(vdaf.unshard([leaderSum.share(), helperSum.share()], 2)); // [5, -6, 3]
 * ```
 */
export function prio3BoundedL2VecSum(opts: Prio3BoundedL2Options): Prio3<readonly number[], number[]> {
  const { shares, ...params } = readBoundedL2Params(opts);
  return made('prio3BoundedL2VecSum', opts, new Prio3('Prio3BoundedL2VecSum', PRIO3_BOUNDED_L2_ID, boundedL2Circuit(Field128, params), 1, shares, (m) => checkMeasurement(params, m)));
}
