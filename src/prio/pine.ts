// Prio3PineL2VecSum: a Prio3 variant (beyond draft-irtf-cfrg-vdaf-20, private codepoint 0xFFFF0001)
// for integer vectors with a squared L2 norm of at most a public bound, sent as one field element per
// coordinate: PINE (Rothblum, Omri, Chen, Talwar, "PINE: Efficient Verification of a Euclidean Norm
// Bound of a Secret-Shared Vector", arXiv 2311.10237; IETF draft-chen-cfrg-vdaf-pine). Where
// Prio3BoundedL2VecSum (./bounded-l2.ts) sends every coordinate as B bits (16 field elements a
// coordinate at B = 16), PINE sends the coordinate itself and proves the norm with a sum of squares;
// random projections (the wraparound checks) make sure that sum is the integer one, not one reduced
// mod p. An independent implementation on the draft's FLP (./flp.ts) and Prio3 (./prio3.ts).
//
// Encoding (Field64, p = 2^64 - 2^32 + 1). A measurement is n integers x_i with sum x_i^2 <= bound.
//   x_i as field elements (negative ones as p - |x_i|);
//   the squared norm V in the Sum encoding of section 7.4.2 (bitLength(bound) bits, exactly [0, bound]:
//     the paper's range check of V against [0, bound], Figure 1, in one bit string);
//   for each of r wraparound checks k, v_k = y_k + W - 1 as b1 = bitLength(2W - 1) bits, where y_k is
//     the dot product of x with the k-th random {-1, 0, 1} vector z_k (entries -1, 0, 1 with
//     probabilities 1/4, 1/2, 1/4) and W = nextPowerOf2(ceil(alpha sqrt(bound)) + 1): the test passes
//     when y_k is in [-(W - 1), W] (the draft's wr_check_bound; a power of two, so v_k needs no u bits,
//     Remark 3.2 of the paper). Encoded length n + bitLength(bound) + r b1.
// The vectors z_k come from a seed bound to the shares of x and of V's bits (the draft's wraparound
// joint randomness: each aggregator's part hashes its share of them under its blind, the seed hashes
// the parts; Prio3 derives it, flp.ts's Wraparound): the client fixes x before it learns z. Each
// aggregator's joint-randomness part also hashes the wraparound seed (beyond the draft), so an
// aggregator refuses (E_AUTH, before it sends a verifier share) a public share whose wraparound parts
// are not the client's: the verifier's reduced output is linear in the dot products, so a leader that
// forwarded the helper other parts (other z'_k) would read sum_k rho_k <x, z'_k - z_k> in the
// verifier message, one linear equation in x per proof. The
// aggregators compute their shares of y_k from their shares of x themselves (it is linear) and append
// them to the measurement share the circuit sees.
//
// Circuit (outputs reduced by the query randomness, section 7.3.2):
//   out_0 = the chunked bit check of SumVec over the bitLength(bound) + r b1 bits (ParallelSum(Mul),
//           one joint randomness element per call);
//   out_1 = sum_i x_i^2 - V, the squares by ParallelSum(Mul) on the pairs (x_i, x_i) (the paper's
//           sum-of-squares check, section 4.3);
//   out_(2+k) = y_k - (v_k - (W - 1)/shares) for each check k (the wraparound test of Figure 2 with every
//           success bit 1: this variant requires all r checks to pass, the draft's parameters
//           NUM_WR_CHECKS = NUM_WR_SUCCESSES = 100, so the success bits are not sent).
// The output share is x's share; the collector reads each aggregate coordinate centred in (-p/2, p/2).
//
// Soundness. Suppose a report is accepted. Except with the FLP's error (below), the bits are bits, so V
// is an integer in [0, bound] and each y_k (as an integer in (-p/2, p/2)) is in [-(W - 1), W], and
// sum x_i^2 = V mod p. If the integer sum of the squares of x's centred coordinates were p or more (a
// wraparound: the field sum lands in [0, bound] although the norm is huge), each test passes with
// probability at most 1/2 over z_k (the paper's Lemma 3.3, which needs p >= 2600 W, W^2 <= 4000 p and
// p >= 2r, checked), so all r = 100 pass with probability at most 2^-100 (its rho_S, the probability
// of at least r_succ passes out of r at 1/2 each, as the draft's parameter search computes it, with
// r_succ = r).
// Otherwise the integer sum is below p and congruent to V, hence equal: the norm is at most bound.
// FLP error of one proof: with gadget g called M_g times through wire polynomials of P_g =
// nextPowerOf2(1 + M_g) points (degree 2), the gadget test misses with probability <= 2 (P_g - 1) /
// (p - P_g) summed over the two gadgets (Boneh et al. 2019, Thm. 4.3), the bit check <= chunkLength / p,
// the reduction of the outputs 1/p. For n = 100,000 and PrioAggregator's 16-bit bound (defaults below:
// P = 256 for the squares, 64 for the bits) that is below 2^-54 per proof, 2^-163 for the default 3
// proofs (independent joint and query randomness each); the report's error is at most 2^-100 + 2^-163.
// The wraparound seed and the joint randomness are hashes of the client's shares (Fiat-Shamir): a client
// that evaluates the XOF Q times multiplies its chances by Q (the draft's robustness analysis).
// Completeness: an honest vector fails a test with probability eta = 2 exp(-alpha^2) (z_k's entries are
// sub-Gaussian with variance proxy 1/2), about 2^-108 for alpha = 8.7; all 100 pass except with
// probability below 2^-101 (shard then throws E_PROTOCOL: shard again).
// Zero knowledge: every share an aggregator holds is uniformly random, and the FLP is zero-knowledge
// towards one verifier that queries the shares it was given (the wraparound binding above keeps a
// leader from changing the helper's dot products; a public share authenticated to each aggregator, as
// DAP's HPKE associated data does, also keeps it from changing the helper's joint randomness); the reports sent are conditioned on all tests passing, which moves their
// distribution by at most that 2^-101 (the paper's statistical zero knowledge, rho_C of Lemma 3.3).
import { PrivkitError } from '../errors.js';
import { assertInteger, describe, readOptions } from '../validate.js';
import { add, encodeVec, type Field, Field64, FieldVec, fromInt, invInt, mul, nextPowerOf2, sub } from './field.js';
import { bitLength, chunkedRangeCheck, type Circuit, decodeRangeChecked, encodeRangeCheckedInto, mulGadget, parallelSumGadget } from './flp.js';
import { signedElement } from './circuits.js';
import { MAX_WRAPAROUND_DIMENSION } from './kernels.js';
import { Prio3 } from './prio3.js';
import { made } from './recipes.js';
import { squaredNorm } from './bounded-l2.js';
import type { Prio3CommonOptions } from './variants.js';

/** The private-use codepoint of Prio3PineL2VecSum. */
export const PRIO3_PINE_L2_ID = 0xffff0001;
/** alpha of the wraparound checks (the draft's ALPHA): an honest test fails with probability 2 exp(-alpha^2). */
export const PINE_ALPHA = 8.7;
/** r: wraparound checks per report, all of which must pass (the draft's NUM_WR_CHECKS = NUM_WR_SUCCESSES). */
export const PINE_WRAPAROUND_CHECKS = 100;
/** Largest length of a Prio3PineL2VecSum vector. */
export const MAX_PINE_LENGTH = MAX_WRAPAROUND_DIMENSION;
/** Fewest proofs of a Field64 circuit with joint randomness (draft-irtf-cfrg-vdaf-20, section 9.5). */
const MIN_FIELD64_PROOFS = 3;

/** The parameters of a PINE circuit, checked. */
export interface PineParams {
  /** n: coordinates per vector. */
  readonly length: number;
  /** The largest squared L2 norm of a vector (an integer >= 1). */
  readonly bound: number;
  /** Elements per call of the bit-check gadget. */
  readonly chunkLength: number;
  /** Coordinates per call of the squaring gadget. */
  readonly normChunkLength: number;
}

/** The wraparound test bound W = nextPowerOf2(ceil(alpha sqrt(bound)) + 1): a test passes when y is in [-(W - 1), W]. */
export const wraparoundBound = (bound: number): number => nextPowerOf2(Math.ceil(PINE_ALPHA * Math.sqrt(bound)) + 1);

/** Elements of the encoded measurement that are bits: V's, then each test's b1. */
function bitCount(bound: number): number {
  return bitLength(bound) + PINE_WRAPAROUND_CHECKS * bitLength(2 * wraparoundBound(bound) - 1);
}

/**
 * The chunk length of `count` inputs that makes the proof smallest: a ParallelSum(Mul) gadget called
 * P - 1 times sends 2 chunkLength wire seeds and 2P - 1 gadget evaluations; of the two powers of two
 * around sqrt(count), the one with the fewer.
 */
export function pineChunkLength(count: number): number {
  const low = Math.max(2, 2 ** Math.floor(Math.log2(Math.sqrt(count))));
  const size = (p: number): number => 2 * Math.ceil(count / (p - 1)) + 2 * p - 1;
  const p = size(low) <= size(2 * low) ? low : 2 * low;
  return Math.max(1, Math.ceil(count / (p - 1)));
}

/** The validity circuit of Prio3PineL2VecSum (see the file header). */
export function pineCircuit(f: Field, params: PineParams): Circuit<readonly number[], number[]> {
  const { length, bound, chunkLength, normChunkLength } = params;
  const r = PINE_WRAPAROUND_CHECKS;
  const w = wraparoundBound(bound);
  const p = f.modulus;
  // the paper's field conditions: the norm's range check (Figure 1) and Lemma 3.3 (as the draft's
  // reference code states them: p >= 2600 W, W^2 <= 4000 p, p >= 2r)
  if (p <= 3n * BigInt(bound) + 2n || p < 2600n * BigInt(w) || BigInt(w) ** 2n > 4000n * p || p < BigInt(2 * r)) {
    throw new PrivkitError('E_ARG', `bound ${bound} is too large for PINE over ${f.name} (p > 3 bound + 2, p >= 2600 W and W^2 <= 4000 p are needed)`, { argument: 'bound' });
  }
  const normBits = bitLength(bound);
  const testBits = bitLength(2 * w - 1);
  const prefixLen = length + normBits;
  const bits = bitCount(bound);
  const measLen = length + bits;
  const bitCalls = Math.ceil(bits / chunkLength);
  const normCalls = Math.ceil(length / normChunkLength);
  const size = f.encodedSize;
  return {
    field: f,
    gadgets: [parallelSumGadget(mulGadget, chunkLength), parallelSumGadget(mulGadget, normChunkLength)],
    gadgetCalls: [bitCalls, normCalls],
    measLen,
    jointRandLen: bitCalls,
    evalOutputLen: 2 + r,
    outputLen: length,
    // the prefix: the coordinates and V's bits (wraparound.complete appends the tests' bits)
    encode: (x) => {
      const out = new Uint8Array(prefixLen * size);
      out.set(encodeVec(f, x.map((v) => fromInt(f, BigInt(v)))));
      const normDigits = new Array<number>(normBits);
      encodeRangeCheckedInto(normDigits, 0, Number(squaredNorm(x)), bound);
      normDigits.forEach((bit, l) => (out[(length + l) * size] = bit));
      return FieldVec.fromBytes(f, out);
    },
    wraparound: {
      prefixLen,
      dimension: length,
      checks: r,
      complete: (prefix, results) => {
        const out = new Uint8Array(measLen * size);
        out.set(prefix.bytes);
        for (let k = 0; k < r; k++) {
          const y = results[k]! > p >> 1n ? results[k]! - p : results[k]!;
          if (y < BigInt(1 - w) || y > BigInt(w)) return undefined;
          const v = Number(y) + w - 1;
          for (let l = 0; l < testBits; l++) out[(prefixLen + k * testBits + l) * size] = Math.floor(v / 2 ** l) % 2;
        }
        return FieldVec.fromBytes(f, out);
      },
    },
    eval: (meas, jointRand, numShares, [bitGadget, squareGadget]) => {
      const sharesInv = invInt(f, numShares);
      const bitCheck = chunkedRangeCheck(f, meas.slice(length, measLen), jointRand, numShares, chunkLength, bitCalls, bitGadget!);
      const x = meas.slice(0, length).vec;
      let norm = 0n;
      const inputs = new Array<bigint>(2 * normChunkLength);
      for (let c = 0; c < normCalls; c++) {
        for (let j = 0; j < normChunkLength; j++) {
          const i = c * normChunkLength + j;
          inputs[2 * j] = inputs[2 * j + 1] = i < length ? x[i]! : 0n;
        }
        norm = add(f, norm, squareGadget!(inputs));
      }
      const tail = meas.slice(length, measLen + r).vec;
      const normCheck = sub(f, norm, decodeRangeChecked(f, tail, bound));
      const offset = mul(f, BigInt(w - 1), sharesInv);
      const tests = new Array<bigint>(r);
      for (let k = 0; k < r; k++) {
        let v = 0n;
        const start = normBits + k * testBits;
        for (let l = testBits - 1; l >= 0; l--) v = (v << 1n) + tail[start + l]!;
        tests[k] = sub(f, tail[bits + k]!, sub(f, v % p, offset));
      }
      return [bitCheck, normCheck, ...tests];
    },
    truncate: (meas) => meas.slice(0, length),
    decode: (output, numMeasurements) => {
      // a sum of N vectors of coordinates within sqrt(bound) (and DP noise below 2^53) reads centred
      if (BigInt(numMeasurements) * BigInt(Math.floor(Math.sqrt(bound))) + (1n << 53n) >= p >> 1n) {
        throw new PrivkitError('E_OVERFLOW', `an aggregate of ${numMeasurements} PINE reports may reach (p - 1)/2 of ${f.name} and read as negative`, { argument: 'numMeasurements' });
      }
      return output.map((e, i) => signedElement(f, e, i));
    },
  };
}

/** Options of {@link prio3PineL2VecSum}. */
export interface Prio3PineL2Options extends Prio3CommonOptions {
  /** n: coordinates per vector, 1..2^21. */
  length: number;
  /** The largest squared L2 norm of a vector: an integer in [1, 2^53 - 1]. */
  bound: number;
  /** Independent proofs, 3..255 (Field64: at least 3, the draft's rule for joint randomness). Default 3. */
  proofs?: number;
  /** Elements per call of the bit-check gadget. Default: the smallest proof (pineChunkLength). */
  chunkLength?: number;
  /** Coordinates per call of the squaring gadget. Default: the smallest proof (pineChunkLength). */
  normChunkLength?: number;
}

/** The parameters of {@link prio3PineL2VecSum}, checked (E_ARG naming the option). */
export function readPineParams(opts: Prio3PineL2Options): PineParams & { shares: number; proofs: number } {
  const o = readOptions(opts, ['length', 'bound', 'proofs', 'chunkLength', 'normChunkLength', 'shares']);
  const length = assertInteger('length', o.length, 1, MAX_PINE_LENGTH);
  const bound = assertInteger('bound', o.bound, 1, Number.MAX_SAFE_INTEGER);
  const bits = bitCount(bound);
  const chunkLength = o.chunkLength === undefined ? pineChunkLength(bits) : assertInteger('chunkLength', o.chunkLength, 1, bits);
  const normChunkLength = o.normChunkLength === undefined ? pineChunkLength(length) : assertInteger('normChunkLength', o.normChunkLength, 1, length);
  const proofs = o.proofs === undefined ? MIN_FIELD64_PROOFS : assertInteger('proofs', o.proofs, MIN_FIELD64_PROOFS, 255);
  const shares = o.shares === undefined ? 2 : assertInteger('shares', o.shares, 2, 255);
  return { length, bound, chunkLength, normChunkLength, proofs, shares };
}

/** A measurement of a PINE circuit, checked: `length` safe integers with squared norm <= bound. */
function checkMeasurement(params: PineParams, m: unknown): number[] {
  const { length, bound } = params;
  if (!Array.isArray(m) || m.length !== length) throw new PrivkitError('E_ARG', `measurement must be an array of ${length} integers, got ${describe(m)}`, { argument: 'measurement' });
  const x = new Array<number>(length);
  for (let i = 0; i < length; i++) {
    const v: unknown = (m as unknown[])[i];
    if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw new PrivkitError('E_ARG', `measurement[${i}] must be a safe integer, got ${describe(v)}`, { argument: 'measurement', index: i });
    x[i] = v;
  }
  const norm = squaredNorm(x);
  if (norm > BigInt(bound)) throw new PrivkitError('E_ARG', `measurement has squared L2 norm ${norm}, above the bound ${bound}`, { argument: 'measurement' });
  return x;
}

/**
 * Prio3PineL2VecSum (private codepoint 0xFFFF0001): each measurement is `length` integers whose
 * squared L2 norm is at most `bound`; the result is their coordinate-wise sum. PINE (arXiv 2311.10237):
 * one Field64 element a coordinate plus about 2,000 bits for the norm and 100 wraparound checks, so
 * a report is about 2x a float32 vector (Prio3BoundedL2VecSum sends 16 Field128 elements a 16-bit
 * coordinate). A report over the bound is rejected except with probability about 2^-100 (see the file
 * header of src/prio/pine.ts for the circuit and its soundness).
 *
 * @param opts - `length`, `bound`, `proofs`, the chunk lengths and the number of aggregators.
 * @throws {PrivkitError} E_ARG when an option is out of range (length in [1, 2^21], bound a safe
 *   integer >= 1, proofs in [3, 255], chunk lengths in range, shares in [2, 255]).
 *
 * @example
 * ```ts
 * import { ready } from 'privkit';
 * import { prio3PineL2VecSum } from 'privkit/prio';
 * await ready();
 * const vdaf = prio3PineL2VecSum({ length: 3, bound: 100 });
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
export function prio3PineL2VecSum(opts: Prio3PineL2Options): Prio3<readonly number[], number[]> {
  const { shares, proofs, ...params } = readPineParams(opts);
  return made('prio3PineL2VecSum', opts, new Prio3('Prio3PineL2VecSum', PRIO3_PINE_L2_ID, pineCircuit(Field64, params), proofs, shares, (m) => checkMeasurement(params, m)));
}
