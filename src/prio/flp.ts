// The fully linear proof of Boneh, Boyle, Corrigan-Gibbs, Gilboa and Ishai (2019, section 4.2) as
// draft-irtf-cfrg-vdaf-20 specifies it (section 7.3): gadgets (Mul, PolyEval, ParallelSum,
// appendix A), validity circuits, proof generation, the linear query and the decision. Wire and
// gadget polynomials are kept in the Lagrange basis over roots of unity.
import {
  add,
  decodeVec,
  doubleEvaluations,
  extendValuesToPowerOf2,
  type Field,
  FieldVec,
  fromInt,
  invInt,
  mul,
  nextPowerOf2,
  polyEvalMonomial,
  polyMul,
  pow,
  sub,
} from './field.js';
import { PrivkitError } from '../errors.js';
import { type ChunkedCheck, chunkedRangeCheckWasm, invNtt, ntt, parallelSumMulWasm, polyEvalBatched, sparseBelow, wasmLoaded } from './kernels.js';

/** A non-affine sub-circuit whose calls the proof covers (appendix A of the draft). */
export interface Gadget {
  readonly arity: number;
  readonly degree: number;
  /** The gadget on field elements. */
  eval(f: Field, inp: readonly bigint[]): bigint;
  /** The gadget on polynomials given by p evaluations each; returns evaluations at the powers of W_n, n >= its degree bound. */
  evalPoly(f: Field, inp: readonly (readonly bigint[])[]): bigint[];
  /** For ParallelSum(Mul): the number of Mul pairs (the gadget the wasm chunked bit check covers). */
  readonly mulPairs?: number;
}

/**
 * One call of a gadget inside a circuit's evaluation. A call may also take the whole chunked bit
 * check at once (`chunkedRangeCheck`, the wasm path of prove and query): it returns the check's
 * output, or undefined when the calls must be made one by one.
 */
export type GadgetCall = ((inp: readonly bigint[]) => bigint) & {
  chunkedRangeCheck?: (meas: FieldVec, jointRand: readonly bigint[], numShares: number, chunkLength: number, calls: number) => bigint | undefined;
};

/** A validity circuit (section 7.3.2): accepts a measurement when every output is zero. */
export interface Circuit<M, R> {
  readonly field: Field;
  readonly gadgets: readonly Gadget[];
  readonly gadgetCalls: readonly number[];
  readonly measLen: number;
  readonly jointRandLen: number;
  readonly evalOutputLen: number;
  readonly outputLen: number;
  /**
   * Encodes a checked measurement (callers validate it first). With `out` (measLen elements, all
   * zero) a circuit may write the encoding there and return it as a vector on `out` (the one-call
   * sharding gives a region of wasm memory: no array of the measurement in JS); the caller copies
   * the returned vector into `out` when its bytes are elsewhere.
   */
  encode(measurement: M, out?: Uint8Array): FieldVec;
  /** The circuit on a measurement (share); `gadgets[i]` performs the calls of gadget i. */
  eval(meas: FieldVec, jointRand: readonly bigint[], numShares: number, gadgets: readonly GadgetCall[]): bigint[];
  /** The output share of a measurement share. */
  truncate(meas: FieldVec): FieldVec;
  /** The aggregate result; `noised`: the aggregators added signed DP noise (elements read as signed integers, no wrap check). */
  decode(output: readonly bigint[], numMeasurements: number, noised?: boolean): R;
  /** Present when the circuit is a chunked bit check (see ChunkedCheck). */
  readonly chunked?: ChunkedCheck;
  /** Present when the circuit runs PINE's wraparound checks (see Wraparound). */
  readonly wraparound?: Wraparound;
}

/**
 * PINE's wraparound checks (Rothblum, Omri, Chen, Talwar, arXiv 2311.10237, section 3;
 * draft-chen-cfrg-vdaf-pine): `checks` dot products of the measurement's first `dimension` elements
 * with random {-1, 0, 1} vectors. The vectors come from a seed bound to the shares of the first
 * `prefixLen` encoded elements (Prio3 derives it as it derives the joint randomness), so `encode`
 * gives only those elements and `complete` the rest from the dot products; eval sees the whole
 * measurement (share) followed by the `checks` dot products (of the share: they are linear).
 */
export interface Wraparound {
  readonly prefixLen: number;
  readonly dimension: number;
  readonly checks: number;
  /** The whole encoded measurement from encode's prefix and its dot products; undefined when a check fails (the client shards again). */
  complete(prefix: FieldVec, results: readonly bigint[]): FieldVec | undefined;
}

export const wirePolyLen = (gadgetCalls: number): number => nextPowerOf2(1 + gadgetCalls);
export const gadgetPolyLen = (degree: number, wireLen: number): number => degree * (wireLen - 1) + 1;

/** Mul(x, y) = x * y. */
export const mulGadget: Gadget = {
  arity: 2,
  degree: 2,
  eval: (f, inp) => mul(f, inp[0]!, inp[1]!),
  evalPoly: (f, inp) => polyMul(f, inp[0]!, inp[1]!),
};

/** PolyEval(x) = p(x) for a fixed polynomial p (integer coefficients, lowest degree first). */
export function polyEvalGadget(f: Field, coefficients: readonly bigint[], numCalls: number): Gadget {
  let last = coefficients.length - 1;
  while (last >= 0 && coefficients[last] === 0n) last--;
  if (last < 0) throw new PrivkitError('E_ARG', 'the polynomial of a PolyEval gadget must not be zero', { argument: 'coefficients' });
  const p = coefficients.slice(0, last + 1).map((c) => fromInt(f, c));
  const degree = p.length - 1;
  const n = nextPowerOf2(gadgetPolyLen(degree, wirePolyLen(numCalls)));
  return {
    arity: 1,
    degree,
    eval: (field, inp) => polyEvalMonomial(field, p, inp[0]!),
    evalPoly: (field, inp) => {
      const points = ntt(field, invNtt(field, inp[0]!, inp[0]!.length), n);
      return points.map((x) => polyEvalMonomial(field, p, x));
    },
  };
}

/** ParallelSum(sub, count): the sum of `count` calls of `sub` on consecutive slices of the input. */
export function parallelSumGadget(inner: Gadget, count: number): Gadget {
  return {
    ...(inner === mulGadget ? { mulPairs: count } : {}),
    arity: inner.arity * count,
    degree: inner.degree,
    eval: (f, inp) => {
      let out = 0n;
      for (let i = 0; i < count; i++) out = add(f, out, inner.eval(f, inp.slice(i * inner.arity, (i + 1) * inner.arity)));
      return out;
    },
    evalPoly: (f, inp) => {
      if (inner === mulGadget && wasmLoaded()) return parallelSumMulWasm(f, inp);
      const length = nextPowerOf2(gadgetPolyLen(inner.degree, inp[0]!.length));
      const sum = new Array<bigint>(length).fill(0n);
      for (let i = 0; i < count; i++) {
        const current = inner.evalPoly(f, inp.slice(i * inner.arity, (i + 1) * inner.arity));
        for (let j = 0; j < length; j++) sum[j] = add(f, sum[j]!, current[j]!);
      }
      return sum;
    },
  };
}

// ---- The FLP (section 7.3): lengths, prove, query, decide ----

export const proveRandLen = (c: Circuit<unknown, unknown>): number => c.gadgets.reduce((s, g) => s + g.arity, 0);
export const queryRandLen = (c: Circuit<unknown, unknown>): number => c.gadgets.length + (c.evalOutputLen > 1 ? c.evalOutputLen : 0);
export const proofLen = (c: Circuit<unknown, unknown>): number =>
  c.gadgets.reduce((s, g, i) => s + g.arity + gadgetPolyLen(g.degree, wirePolyLen(c.gadgetCalls[i]!)), 0);
export const verifierLen = (c: Circuit<unknown, unknown>): number => c.gadgets.reduce((s, g) => s + g.arity + 1, 1);

/**
 * Wire polynomials of one gadget, made on the first recorded call (the wasm chunked bit check needs
 * only the seeds): wires()[j][0] is seeds[j], wires()[j][k] the j-th input of call k; p points each.
 */
class RecordingWires {
  private made: bigint[][] | undefined;
  readonly p: number;

  constructor(
    readonly seeds: FieldVec,
    calls: number,
  ) {
    this.p = wirePolyLen(calls);
  }

  wires(): bigint[][] {
    return (this.made ??= this.seeds.vec.map((seed) => {
      const wire = new Array<bigint>(this.p).fill(0n);
      wire[0] = seed;
      return wire;
    }));
  }
}

/** Generates a proof that `meas` (the encoded measurement) is valid. */
export function prove(c: Circuit<unknown, unknown>, meas: FieldVec | readonly bigint[], proveRand: readonly bigint[], jointRand: readonly bigint[]): bigint[] {
  return proofParts(c, meas, proveRand, jointRand).flatMap((part) => part.vec);
}

/** prove's proof, encoded (the wasm gadget polynomial never becomes bigints). */
export function proveEncoded(c: Circuit<unknown, unknown>, meas: FieldVec, proveRand: readonly bigint[], jointRand: readonly bigint[]): Uint8Array {
  const parts = proofParts(c, meas, proveRand, jointRand).map((part) => part.bytes);
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** The proof in parts: each gadget's wire seeds, then its gadget polynomial's evaluations. */
function proofParts(c: Circuit<unknown, unknown>, meas: FieldVec | readonly bigint[], proveRand: readonly bigint[], jointRand: readonly bigint[]): FieldVec[] {
  const f = c.field;
  let offset = 0;
  const wires = c.gadgets.map((g, i) => {
    const w = new RecordingWires(FieldVec.fromValues(f, proveRand.slice(offset, offset + g.arity)), c.gadgetCalls[i]!);
    offset += g.arity;
    return w;
  });
  const bulkPolys = new Map<number, FieldVec>();
  const calls = c.gadgets.map((g, i) => {
    let k = 0;
    const call: GadgetCall = (inp: readonly bigint[]): bigint => {
      if (bulkPolys.has(i)) throw new PrivkitError('E_SHAPE', 'a circuit called a gadget after its whole chunked bit check');
      k++;
      const w = wires[i]!.wires();
      for (let j = 0; j < inp.length; j++) w[j]![k] = inp[j]!;
      return g.eval(f, inp);
    };
    if (g.mulPairs !== undefined && wasmLoaded()) {
      // the prover ignores the circuit's output: only the gadget polynomial is needed
      call.chunkedRangeCheck = (m, r, numShares, chunkLength, gadgetCalls) => {
        if (k !== 0 || bulkPolys.has(i) || chunkLength !== g.mulPairs || gadgetCalls !== c.gadgetCalls[i]) return undefined;
        const seeds = wires[i]!.seeds;
        bulkPolys.set(i, FieldVec.fromBytes(f, chunkedRangeCheckWasm(f, m.bytes, r, numShares, chunkLength, gadgetCalls, seeds, wirePolyLen(gadgetCalls), c.chunked === undefined ? 0 : sparseBelow(c.chunked, wirePolyLen(gadgetCalls)), undefined)));
        return 0n;
      };
    }
    return call;
  });
  c.eval(FieldVec.of(f, meas), jointRand, 1, calls);
  return c.gadgets.flatMap((g, i) => {
    const w = wires[i]!;
    const length = gadgetPolyLen(g.degree, w.p);
    const gadgetPoly = bulkPolys.get(i)?.slice(0, length) ?? FieldVec.fromValues(f, g.evalPoly(f, w.wires()).slice(0, length));
    return [w.seeds, gadgetPoly];
  });
}

/** The linear query on a measurement share and proof share: a share of the verifier message. */
export function query(
  c: Circuit<unknown, unknown>,
  meas: FieldVec | readonly bigint[],
  proof: FieldVec | readonly bigint[],
  queryRand: readonly bigint[],
  jointRand: readonly bigint[],
  numShares: number,
): bigint[] {
  const f = c.field;
  const proofVec = FieldVec.of(f, proof);
  let offset = 0;
  const gadgets = c.gadgets.map((g, i) => {
    const p = wirePolyLen(c.gadgetCalls[i]!);
    const wires = new RecordingWires(proofVec.slice(offset, offset + g.arity), c.gadgetCalls[i]!);
    offset += g.arity;
    const polyLen = gadgetPolyLen(g.degree, p);
    const given = proofVec.slice(offset, offset + polyLen);
    offset += polyLen;
    const size = nextPowerOf2(polyLen);
    let all: bigint[] | undefined;
    /** All evaluations of the gadget polynomial at the powers of W_size, recovered when first asked for. */
    const poly = (): bigint[] => {
      if (all === undefined) {
        all = given.vec.slice();
        extendValuesToPowerOf2(f, all, nextPowerOf2(all.length));
        while (all.length < size) all = doubleEvaluations(f, all);
      }
      return all;
    };
    return { wires, given, poly, step: size / p };
  });
  const testPoints = queryRand.slice(c.evalOutputLen > 1 ? c.evalOutputLen : 0);
  const bulkChecks = new Map<number, bigint[]>();
  const calls = gadgets.map((g, i) => {
    let k = 0;
    const call: GadgetCall = (inp: readonly bigint[]): bigint => {
      if (bulkChecks.has(i)) throw new PrivkitError('E_SHAPE', 'a circuit called a gadget after its whole chunked bit check');
      k++;
      const w = g.wires.wires();
      for (let j = 0; j < inp.length; j++) w[j]![k] = inp[j]!;
      return g.poly()[k * g.step]!;
    };
    const gadget = c.gadgets[i]!;
    if (gadget.mulPairs !== undefined && wasmLoaded()) {
      // the wire and gadget checks at the test point come from wasm; the output is the sum of the
      // gadget values, which the proof gives (a degree-2 gadget: call * step < 2p - 1 evaluations)
      call.chunkedRangeCheck = (m, r, shares, chunkLength, gadgetCalls) => {
        if (k !== 0 || bulkChecks.has(i) || chunkLength !== gadget.mulPairs || gadgetCalls !== c.gadgetCalls[i]) return undefined;
        bulkChecks.set(i, decodeVec(f, chunkedRangeCheckWasm(f, m.bytes, r, shares, chunkLength, gadgetCalls, g.wires.seeds, g.wires.p, 0, { at: testPoints[i]!, gadgetPoly: g.given }), 'checks'));
        let out = 0n;
        const values = g.given.vec;
        for (let call = 1; call <= gadgetCalls; call++) out = add(f, out, values[call * g.step]!);
        return out;
      };
    }
    return call;
  });
  const out = c.eval(FieldVec.of(f, meas), jointRand, numShares, calls);
  let rest = queryRand;
  let v: bigint;
  if (c.evalOutputLen > 1) {
    v = 0n;
    for (let i = 0; i < c.evalOutputLen; i++) v = add(f, v, mul(f, rest[i]!, out[i]!));
    rest = rest.slice(c.evalOutputLen);
  } else {
    v = out[0]!;
  }
  const verifier = [v];
  gadgets.forEach((g, i) => {
    const t = rest[i]!;
    // A test point among the wire nodes would leak gadget outputs (section 7.3.4).
    if (pow(f, t, BigInt(g.wires.p)) === 1n) throw rootOfUnityError();
    verifier.push(...(bulkChecks.get(i) ?? [...polyEvalBatched(f, g.wires.wires(), t), polyEvalBatched(f, [g.poly()], t)[0]!]));
  });
  return verifier;
}

/** The E_AUTH of a query whose test point is a wire node (a p-th root of unity). */
export const rootOfUnityError = (): PrivkitError => new PrivkitError('E_AUTH', 'the query randomness hit a root of unity; the report cannot be verified');

/** The decision on a whole verifier message: the circuit output is zero and every gadget test holds. */
export function decide(c: Circuit<unknown, unknown>, verifier: readonly bigint[]): boolean {
  if (verifier[0] !== 0n) return false;
  let offset = 1;
  for (const g of c.gadgets) {
    const wireChecks = verifier.slice(offset, offset + g.arity);
    const gadgetCheck = verifier[offset + g.arity];
    offset += g.arity + 1;
    if (g.eval(c.field, wireChecks) !== gadgetCheck) return false;
  }
  return true;
}

// ---- Circuit building blocks shared by the variants (section 7.4) ----

/** The bit length of a safe integer >= 0 (0 for 0). */
export const bitLength = (x: number): number => (x < 2 ** 32 ? 32 - Math.clz32(x) : 64 - Math.clz32(Math.floor(x / 2 ** 32)));

/**
 * The Sum encoding (section 7.4.2): bits-1 binary digits and a last bit of weight
 * max - (2^(bits-1) - 1), so exactly the integers in [0, max] are representable.
 */
export function encodeRangeChecked(value: number, max: number): bigint[] {
  const encoded = new Array<number>(bitLength(max));
  encodeRangeCheckedInto(encoded, 0, value, max);
  return encoded.map(BigInt);
}

/** encodeRangeChecked's digits (0 or 1) written into `out` from `offset`. */
export function encodeRangeCheckedInto(out: number[], offset: number, value: number, max: number): void {
  const bits = bitLength(max);
  const restAllOnes = 2 ** (bits - 1) - 1;
  const last = value <= restAllOnes ? 0 : 1;
  const rest = last === 0 ? value : value - (max - restAllOnes);
  // rest < 2^52: the digits come from its 32-bit halves
  const low = rest >>> 0;
  const high = Math.floor(rest / 2 ** 32);
  const lowDigits = Math.min(bits - 1, 32);
  for (let l = 0; l < lowDigits; l++) out[offset + l] = (low >>> l) & 1;
  for (let l = 32; l < bits - 1; l++) out[offset + l] = (high >>> (l - 32)) & 1;
  out[offset + bits - 1] = last;
}

/** The weights of encodeRangeChecked's digits: 2^l for the first bits-1, then max - (2^(bits-1) - 1). */
export function rangeCheckedWeights(max: number): bigint[] {
  const bits = bitLength(max);
  const weights = Array.from({ length: bits - 1 }, (_, l) => 1n << BigInt(l));
  weights.push(BigInt(max - (2 ** (bits - 1) - 1)));
  return weights;
}

/**
 * The linear decoding of encodeRangeChecked (also on shares): sum_l 2^l b_l + lastWeight * b_last
 * over the `bits` elements of `encoded` from `offset`, summed as integers and reduced once.
 */
export function decodeRangeChecked(f: Field, encoded: readonly bigint[], max: number, offset = 0): bigint {
  const bits = bitLength(max);
  const lastWeight = BigInt(max - (2 ** (bits - 1) - 1));
  let decoded = 0n;
  for (let l = bits - 2; l >= 0; l--) decoded = (decoded << 1n) + encoded[offset + l]!;
  return (decoded + lastWeight * encoded[offset + bits - 1]!) % f.modulus;
}

/**
 * The batched bit check of SumVec, Histogram and MultihotCountVec: for call i, the ParallelSum of
 * Mul over (r_i^(j+1) x_j, x_j - 1/shares) for the chunk's elements x_j (zero past the end).
 */
export function chunkedRangeCheck(
  f: Field,
  meas: FieldVec,
  jointRand: readonly bigint[],
  numShares: number,
  chunkLength: number,
  calls: number,
  gadget: GadgetCall,
): bigint {
  const bulk = gadget.chunkedRangeCheck?.(meas, jointRand, numShares, chunkLength, calls);
  if (bulk !== undefined) return bulk;
  const values = meas.vec;
  const sharesInv = invInt(f, numShares);
  let out = 0n;
  const inputs = new Array<bigint>(2 * chunkLength);
  for (let i = 0; i < calls; i++) {
    const r = jointRand[i]!;
    let rPower = r;
    for (let j = 0; j < chunkLength; j++) {
      const index = i * chunkLength + j;
      const x = index < values.length ? values[index]! : 0n;
      inputs[2 * j] = mul(f, rPower, x);
      inputs[2 * j + 1] = sub(f, x, sharesInv);
      rPower = mul(f, rPower, r);
    }
    out = add(f, out, gadget(inputs));
  }
  return out;
}
