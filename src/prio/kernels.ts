// The Prio3 hot paths in wasm (assembly/prio.ts), with the plain-TS references (src/prio/field.ts,
// src/prio/xof.ts, src/prio/flp.ts) as the fallback before `ready()` loads the module: NTT and
// inverse NTT, the ParallelSum(Mul) gadget polynomial, TurboSHAKE128 and XofTurboShake128 seed
// derivation and expansion, element-wise sums and differences and the weighted sums of encoded
// vectors (Prio3's shares stay encoded between these kernels). Vectors cross the boundary in the draft's encoding (canonical
// little-endian elements), written into and read from wasm memory directly; every staged region is
// secret (zeroed when the call returns).
import { PrivkitError } from '../errors.js';
import { type Arena, MAX_CALL_BYTES } from '../wasm/arena.js';
import { decodeVec, doubleEvaluations, encodeVec, nonCanonicalError, type Field, FieldVec, invInt, nextPowerOf2, vecAdd, vecSub, weightedSums as weightedSumsReference, invNtt as invNttReference, ntt as nttReference, nthRoot, nthRootInverse, polyEvalBatched as polyEvalBatchedReference } from './field.js';
import { SEED_SIZE, XofTurboShake128 } from './xof.js';
import { prioWasm } from './wasm.js';

const fieldId = (f: Field): number => f.encodedSize * 8;

const memoryView = (arena: Arena, ptr: number, bytes: number): DataView => {
  const view = arena.bytes(ptr, bytes);
  return new DataView(view.buffer, view.byteOffset, view.byteLength);
};

/** Writes the encoding of `vec` (elements < p) at ptr in wasm memory. */
function stage(f: Field, arena: Arena, ptr: number, vec: readonly bigint[]): void {
  const view = memoryView(arena, ptr, vec.length * f.encodedSize);
  if (f.encodedSize === 8) {
    for (let i = 0; i < vec.length; i++) view.setBigUint64(8 * i, vec[i]!, true);
  } else {
    for (let i = 0; i < vec.length; i++) {
      const x = vec[i]!;
      view.setBigUint64(16 * i, BigInt.asUintN(64, x), true);
      view.setBigUint64(16 * i + 8, x >> 64n, true);
    }
  }
}

/** The `length` elements a kernel wrote at ptr (canonical by construction). */
function unstage(f: Field, arena: Arena, ptr: number, length: number): bigint[] {
  const view = memoryView(arena, ptr, length * f.encodedSize);
  const vec = new Array<bigint>(length);
  if (f.encodedSize === 8) {
    for (let i = 0; i < length; i++) vec[i] = view.getBigUint64(8 * i, true);
  } else {
    for (let i = 0; i < length; i++) vec[i] = (view.getBigUint64(16 * i + 8, true) << 64n) | view.getBigUint64(16 * i, true);
  }
  return vec;
}

const encodedConstants = new Map<string, Uint8Array>();
/** The encoding of public constants of a field (roots of unity, inverses), made once per key. */
function constantBytes(f: Field, key: string, values: () => bigint[]): Uint8Array {
  const name = `${f.name} ${key}`;
  let bytes = encodedConstants.get(name);
  if (bytes === undefined) encodedConstants.set(name, (bytes = encodeVec(f, values())));
  return bytes;
}

/** W_p, W_p^-1, W_2p and 1/p: the constants of parallelSumMul. */
const gadgetConstants = (f: Field, p: number): Uint8Array => constantBytes(f, `gadget ${p}`, () => gadgetValues(f, p));
const gadgetValues = (f: Field, p: number): bigint[] => [nthRoot(f, p), nthRootInverse(f, p), nthRoot(f, 2 * p), invInt(f, p)];

/**
 * The constants of chunkGadgetPoly: parallelSumMul's, then the circulant of its sparse columns in
 * Montgomery form (c R mod p): the odd evaluations, at W_2p W_p^m, of the polynomial that is 1 at
 * W_p^0 and 0 at the other powers of W_p (the reference's doubleEvaluations of the unit vector).
 */
const chunkGadgetValues = (f: Field, p: number): bigint[] => {
  const unit = Array.from({ length: p }, (_, i) => (i === 0 ? 1n : 0n));
  const circulant = doubleEvaluations(f, unit).filter((_, i) => i % 2 === 1);
  return [...gadgetValues(f, p), ...circulant.map((c) => (c << BigInt(8 * f.encodedSize)) % f.modulus)];
};

/** True once the prio wasm module is loaded (the kernels below use it then). */
export const wasmLoaded = (): boolean => prioWasm.loaded;

/** Binder parts as one array (the reference's binder). */
const joined = (parts: readonly Uint8Array[]): Uint8Array => {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
};

/**
 * Writes the XofTurboShake128 message le16(|dst|) || dst || u8(|seed|) || seed || binder (the binder
 * given in parts) into secret wasm memory, without a JS copy of it (a measurement share can be
 * large); returns its address and length.
 */
function stageXofMessage(arena: Arena, seed: Uint8Array, dst: Uint8Array, binder: readonly Uint8Array[]): [number, number] {
  const length = binder.reduce((s, p) => s + p.length, 3 + dst.length + seed.length);
  const ptr = arena.allocSecret(length);
  const m = arena.bytes(ptr, length);
  m[0] = dst.length & 0xff;
  m[1] = dst.length >> 8;
  m.set(dst, 2);
  m[2 + dst.length] = seed.length;
  m.set(seed, 3 + dst.length);
  let offset = 3 + dst.length + seed.length;
  for (const part of binder) {
    m.set(part, offset);
    offset += part.length;
  }
  return [ptr, length];
}

/** TurboSHAKE128(M, D, L) in wasm. */
export function turboShake128Wasm(message: Uint8Array, domain: number, length: number): Uint8Array {
  return prioWasm.run((k, arena) => {
    const msg = arena.allocSecret(Math.max(message.length, 1));
    const out = arena.allocSecret(Math.max(length, 1));
    const st = arena.allocSecret(k.SHAKE_STATE_BYTES.value);
    arena.bytes(msg, message.length).set(message);
    k.turboShake128(msg, message.length, domain, out, length, st);
    return arena.bytes(out, length).slice();
  });
}

/** XofTurboShake128.expandIntoVec in wasm: `length` field elements. */
export function xofExpandWasm(f: Field, seed: Uint8Array, dst: Uint8Array, binder: Uint8Array, length: number): bigint[] {
  return xofExpandRun(f, seed, dst, [binder], length, (arena, out) => unstage(f, arena, out, length));
}

/** Runs XofTurboShake128.expandIntoVec in wasm; `read` takes the `length` elements from `out` before the call returns. */
function xofExpandRun<T>(f: Field, seed: Uint8Array, dst: Uint8Array, binder: readonly Uint8Array[], length: number, read: (arena: Arena, out: number) => T): T {
  return prioWasm.run((k, arena) => {
    const [msg, msgLength] = stageXofMessage(arena, seed, dst, binder);
    const out = arena.allocSecret(Math.max(length * f.encodedSize, 1));
    const st = arena.allocSecret(k.SHAKE_STATE_BYTES.value);
    k.xofExpand(fieldId(f), msg, msgLength, out, length, st);
    return read(arena, out);
  });
}

/** XofTurboShake128.expandIntoVec as the encoded vector (wasm when loaded, else the reference). */
export function expandIntoFieldVec(f: Field, seed: Uint8Array, dst: Uint8Array, binder: Uint8Array, length: number): FieldVec {
  if (!wasmLoaded()) return FieldVec.fromValues(f, XofTurboShake128.expandIntoVec(f, seed, dst, binder, length));
  return FieldVec.fromBytes(f, xofExpandRun(f, seed, dst, [binder], length, (arena, out) => arena.bytes(out, length * f.encodedSize).slice()));
}

/** Derives a seed, the binder given in parts (wasm when loaded, else the reference). */
export function deriveSeed(seed: Uint8Array, dst: Uint8Array, binder: readonly Uint8Array[]): Uint8Array {
  if (!wasmLoaded()) return XofTurboShake128.deriveSeed(seed, dst, joined(binder));
  return prioWasm.run((k, arena) => {
    const [msg, msgLength] = stageXofMessage(arena, seed, dst, binder);
    const out = arena.allocSecret(SEED_SIZE);
    const st = arena.allocSecret(k.SHAKE_STATE_BYTES.value);
    k.turboShake128(msg, msgLength, 1, out, SEED_SIZE, st);
    return arena.bytes(out, SEED_SIZE).slice();
  });
}

/** The first `length` bytes of XofTurboShake128(seed, dst, binder) (wasm when loaded, else the reference). */
export function expandBytes(seed: Uint8Array, dst: Uint8Array, binder: Uint8Array, length: number): Uint8Array {
  if (!wasmLoaded()) return new XofTurboShake128(seed, dst, binder).next(length);
  return prioWasm.run((k, arena) => {
    const [msg, msgLength] = stageXofMessage(arena, seed, dst, [binder]);
    const out = arena.allocSecret(Math.max(length, 1));
    const st = arena.allocSecret(k.SHAKE_STATE_BYTES.value);
    k.turboShake128(msg, msgLength, 1, out, length, st);
    return arena.bytes(out, length).slice();
  });
}

/** Largest dimension of wraparoundDotProducts: its float64 limb sums stay exact (dimension (2^32 - 1) < 2^53). */
export const MAX_WRAPAROUND_DIMENSION = 2 ** 21;

/** A projection entry from its two bits: 00 is -1, 01 and 10 are 0, 11 is +1. */
const projectionSign = (bits: number): number => (bits === 3 ? 1 : bits === 0 ? -1 : 0);
/** The four entries a byte of a projection stream gives, at 4 byte + q. */
const BYTE_SIGNS = Float64Array.from({ length: 1024 }, (_, e) => projectionSign(((e >> 2) >> (2 * (e & 3))) & 3));

/**
 * PINE's wraparound dot products (arXiv 2311.10237, section 3) of the first `dimension` encoded
 * elements of `meas` with `checks` random {-1, 0, 1} vectors: vector k comes from
 * `stream(k)` (ceil(dimension / 4) bytes), coordinate i from bits 2(i mod 4) and up of byte
 * floor(i / 4): 00 is -1, 01 and 10 are 0, 11 is +1 (probabilities 1/4, 1/2, 1/4). Each 32-bit limb
 * of the elements is dotted with the vector in float64, a byte (four entries) at a time (exact: every
 * partial sum is an integer below dimension 2^32 <= 2^53 in magnitude), and the limbs are recombined
 * and reduced once per check. Linear, so on a share it gives a share of the dot products.
 */
export function wraparoundDotProducts(f: Field, meas: Uint8Array, dimension: number, checks: number, stream: (k: number) => Uint8Array): bigint[] {
  if (dimension > MAX_WRAPAROUND_DIMENSION) throw new PrivkitError('E_ARG', `wraparound dimension must be at most ${MAX_WRAPAROUND_DIMENSION}, got ${dimension}`, { argument: 'dimension' });
  const limbs = f.encodedSize / 4;
  // the platform is little-endian (TurboSHAKE128 requires it): the words are the limbs, lowest first
  const words = new Uint32Array(dimension * limbs);
  new Uint8Array(words.buffer).set(meas.subarray(0, dimension * f.encodedSize));
  const limbValues = Array.from({ length: limbs }, () => new Float64Array(dimension));
  for (let l = 0; l < limbs; l++) {
    const x = limbValues[l]!;
    for (let i = 0; i < dimension; i++) x[i] = words[i * limbs + l]!;
  }
  const fullBytes = dimension >> 2;
  const results = new Array<bigint>(checks);
  for (let k = 0; k < checks; k++) {
    const z = stream(k);
    let sum = 0n;
    for (let l = limbs - 1; l >= 0; l--) {
      const x = limbValues[l]!;
      let dot = 0;
      for (let j = 0, i = 0; j < fullBytes; j++, i += 4) {
        const e = z[j]! << 2;
        dot += BYTE_SIGNS[e]! * x[i]! + BYTE_SIGNS[e + 1]! * x[i + 1]! + BYTE_SIGNS[e + 2]! * x[i + 2]! + BYTE_SIGNS[e + 3]! * x[i + 3]!;
      }
      for (let i = 4 * fullBytes; i < dimension; i++) dot += BYTE_SIGNS[(z[fullBytes]! << 2) + (i & 3)]! * x[i]!;
      sum = (sum << 32n) + BigInt(dot);
    }
    results[k] = ((sum % f.modulus) + f.modulus) % f.modulus;
  }
  return results;
}

/** Expands a seed into field elements (wasm when loaded, else the reference). */
export function expandIntoVec(f: Field, seed: Uint8Array, dst: Uint8Array, binder: Uint8Array, length: number): bigint[] {
  return wasmLoaded() ? xofExpandWasm(f, seed, dst, binder, length) : XofTurboShake128.expandIntoVec(f, seed, dst, binder, length);
}

/** The draft's ntt(p, n, set_s) in wasm. */
export function nttWasm(f: Field, coeffs: readonly bigint[], n: number, shifted = false): bigint[] {
  const padded = coeffs.length === n ? coeffs : [...coeffs, ...new Array<bigint>(n - coeffs.length).fill(0n)];
  return transformWasm(f, padded, nthRoot(f, n), shifted ? nthRoot(f, 2 * n) : 1n, 1n, false);
}

/** The draft's inv_ntt(v, n) in wasm. */
export function invNttWasm(f: Field, values: readonly bigint[], n: number): bigint[] {
  return transformWasm(f, values, nthRootInverse(f, n), 1n, invInt(f, n), true);
}

function transformWasm(f: Field, values: readonly bigint[], root: bigint, shift: bigint, nInv: bigint, inverse: boolean): bigint[] {
  const n = values.length;
  const size = f.encodedSize;
  return prioWasm.run((k, arena) => {
    const v = arena.allocSecret(n * size);
    const consts = arena.alloc(3 * size);
    const scratch = arena.allocSecret(k.nttScratchBytes(fieldId(f), n));
    stage(f, arena, v, values);
    stage(f, arena, consts, [root, shift, nInv]);
    k.ntt(fieldId(f), v, n, consts, consts + size, consts + 2 * size, inverse, scratch);
    return unstage(f, arena, v, n);
  });
}

/** NTT: wasm when loaded, else the reference. */
export const ntt = (f: Field, coeffs: readonly bigint[], n: number, shifted = false): bigint[] =>
  wasmLoaded() ? nttWasm(f, coeffs, n, shifted) : nttReference(f, coeffs, n, shifted);

/** Inverse NTT: wasm when loaded, else the reference. */
export const invNtt = (f: Field, values: readonly bigint[], n: number): bigint[] => (wasmLoaded() ? invNttWasm(f, values, n) : invNttReference(f, values, n));

/**
 * The ParallelSum(Mul) gadget polynomial in wasm: `wires` holds 2 * count wire polynomials of p
 * evaluations each (pair j: wires[2j], wires[2j+1]); returns the 2p evaluations of the sum of the
 * pairs' products.
 */
export function parallelSumMulWasm(f: Field, wires: readonly (readonly bigint[])[]): bigint[] {
  const p = wires[0]!.length;
  const count = wires.length / 2;
  const size = f.encodedSize;
  return prioWasm.run((k, arena) => {
    const w = arena.allocSecret(wires.length * p * size);
    const consts = arena.alloc(4 * size);
    const out = arena.allocSecret(2 * p * size);
    const scratch = arena.allocSecret(k.parallelSumMulScratchBytes(fieldId(f), p));
    wires.forEach((wire, i) => stage(f, arena, w + i * p * size, wire));
    arena.bytes(consts, 4 * size).set(gadgetConstants(f, p));
    k.parallelSumMul(fieldId(f), w, count, p, consts, out, scratch);
    return unstage(f, arena, out, 2 * p);
  });
}


/** The draft's poly_eval_batched in wasm: each polynomial (n evaluations at the powers of W_n) at x. */
export function polyEvalBatchedWasm(f: Field, polys: readonly (readonly bigint[])[], x: bigint): bigint[] {
  const n = polys[0]!.length;
  const size = f.encodedSize;
  return prioWasm.run((k, arena) => {
    const p = arena.allocSecret(polys.length * n * size);
    const consts = arena.allocSecret(3 * size);
    const nodes = arena.alloc(n * size);
    const out = arena.allocSecret(polys.length * size);
    const scratch = arena.allocSecret(k.lagrangeEvalScratchBytes(fieldId(f), polys.length, n));
    polys.forEach((poly, i) => stage(f, arena, p + i * n * size, poly));
    stage(f, arena, consts, [x, invInt(f, n), nthRoot(f, n)]);
    k.nodePowers(fieldId(f), consts + 2 * size, n, nodes);
    k.lagrangeEval(fieldId(f), p, polys.length, n, nodes, consts, out, scratch);
    return unstage(f, arena, out, polys.length);
  });
}

/** poly_eval_batched: wasm when loaded, else the reference. */
export const polyEvalBatched = (f: Field, polys: readonly (readonly bigint[])[], x: bigint): bigint[] =>
  wasmLoaded() ? polyEvalBatchedWasm(f, polys, x) : polyEvalBatchedReference(f, polys, x);

/** Whether x^n = 1 (n a power of 2) in wasm: the verifier's test that its query point is not a wire node. */
export function powerIsOneWasm(f: Field, x: bigint, n: number): boolean {
  return prioWasm.run((k, arena) => {
    const ptr = arena.alloc(f.encodedSize);
    stage(f, arena, ptr, [x]);
    return k.powerIsOne(fieldId(f), ptr, n);
  });
}

/** a[i] * b[i] in wasm (Montgomery multiplication; canonical in and out). */
export function mulVecWasm(f: Field, a: readonly bigint[], b: readonly bigint[]): bigint[] {
  const n = a.length;
  const size = f.encodedSize;
  return prioWasm.run((k, arena) => {
    const x = arena.allocSecret(Math.max(n * size, 1));
    const y = arena.allocSecret(Math.max(n * size, 1));
    stage(f, arena, x, a);
    stage(f, arena, y, b);
    k.mulVec(fieldId(f), x, x, y, n);
    return unstage(f, arena, x, n);
  });
}

/**
 * The chunked bit check (SumVec, Histogram, MultihotCountVec: ParallelSum(Mul) over
 * (r^(j+1) x_j, x_j - 1/shares)) in wasm on the measurement (share): either its gadget polynomial
 * (`query` undefined: the prover's, 2p evaluations, each pair of wires built in wasm memory in its turn) or the
 * query's checks at the test point: every wire polynomial evaluated there (straight from the
 * measurement share, no wires made), then the gadget polynomial, given by the proof's 2p - 1
 * evaluations at the powers of W_2p, completed and evaluated there (arity + 1 elements). `meas` and
 * the result are encoded. sparseBelow: the prover's (the circuit's sparseBelow, 0 for dense only).
 */
export function chunkedRangeCheckWasm(
  f: Field,
  meas: Uint8Array,
  jointRand: readonly bigint[],
  numShares: number,
  chunkLength: number,
  calls: number,
  seeds: FieldVec,
  p: number,
  sparseBelow: number,
  query: { at: bigint; gadgetPoly: FieldVec } | undefined,
): Uint8Array {
  const size = f.encodedSize;
  const arity = 2 * chunkLength;
  if (query !== undefined && query.gadgetPoly.length !== 2 * p - 1) throw new PrivkitError('E_SHAPE', `the gadget polynomial of the chunked bit check has ${2 * p - 1} evaluations, got ${query.gadgetPoly.length}`);
  const outLength = query === undefined ? 2 * p : arity + 1;
  return prioWasm.run((k, arena) => {
    const measLen = meas.length / size;
    const m = arena.allocSecret(Math.max(meas.length, 1));
    const r = arena.allocSecret(calls * size);
    const s = arena.allocSecret(size);
    const seedPtr = arena.allocSecret(arity * size);
    const consts = arena.allocSecret(4 * size);
    const out = arena.allocSecret(outLength * size);
    arena.bytes(m, meas.length).set(meas);
    stage(f, arena, r, jointRand.slice(0, calls));
    arena.bytes(s, size).set(constantBytes(f, `1/${numShares}`, () => [invInt(f, numShares)]));
    arena.bytes(seedPtr, arity * size).set(seeds.bytes);
    const id = fieldId(f);
    if (query === undefined) {
      const scratch = arena.allocSecret(k.chunkGadgetPolyScratchBytes(id, p, calls));
      const gadget = constantBytes(f, `chunk gadget ${p}`, () => chunkGadgetValues(f, p));
      const gadgetConsts = arena.alloc(gadget.length);
      arena.bytes(gadgetConsts, gadget.length).set(gadget);
      k.chunkGadgetPoly(id, m, measLen, r, calls, chunkLength, s, seedPtr, p, sparseBelow, gadgetConsts, out, scratch);
    } else {
      const scratch = arena.allocSecret(Math.max(k.chunkWireChecksScratchBytes(id, p), k.lagrangeEvalScratchBytes(id, 1, 2 * p)));
      const nodes = arena.alloc(2 * p * size);
      stage(f, arena, consts, [query.at, invInt(f, p), nthRoot(f, p)]);
      k.nodePowers(id, consts + 2 * size, p, nodes);
      k.chunkWireChecks(id, m, measLen, r, calls, chunkLength, s, seedPtr, p, nodes, consts, out, scratch);
      const poly = arena.allocSecret(2 * p * size);
      arena.bytes(poly, (2 * p - 1) * size).set(query.gadgetPoly.bytes);
      stage(f, arena, consts, [query.at, invInt(f, 2 * p), nthRoot(f, 2 * p)]);
      k.nodePowers(id, consts + 2 * size, 2 * p, nodes);
      k.extendLast(id, poly, 2 * p, nodes);
      k.lagrangeEval(id, poly, 1, 2 * p, nodes, consts, out + arity * size, scratch);
    }
    return arena.bytes(out, outLength * size).slice();
  });
}

/** extendValuesToPowerOf2 for one missing value (n - 1 evaluations given) in wasm. */
export function extendLastWasm(f: Field, values: readonly bigint[]): bigint[] {
  const n = values.length + 1;
  const size = f.encodedSize;
  return prioWasm.run((k, arena) => {
    const v = arena.allocSecret(n * size);
    const root = arena.alloc(size);
    const nodes = arena.alloc(n * size);
    stage(f, arena, v, values);
    stage(f, arena, root, [nthRoot(f, n)]);
    k.nodePowers(fieldId(f), root, n, nodes);
    k.extendLast(fieldId(f), v, n, nodes);
    return unstage(f, arena, v, n);
  });
}

/**
 * a[i] + b[i], or a[i] - b[i] when `negate`, on encoded vectors of equal length, written into `out`
 * (which may be a; a new array by default) and returned (wasm when loaded, else the reference).
 */
export function addEncoded(f: Field, a: Uint8Array, b: Uint8Array, negate = false, out = new Uint8Array(a.length)): Uint8Array {
  if (a.length !== b.length || out.length !== a.length) throw new PrivkitError('E_SHAPE', `encoded vectors of ${a.length}, ${b.length} and ${out.length} bytes cannot be combined`);
  if (!wasmLoaded()) {
    out.set(encodeVec(f, (negate ? vecSub : vecAdd)(f, decodeVec(f, a, 'a'), decodeVec(f, b, 'b'))));
    return out;
  }
  return prioWasm.run((k, arena) => {
    const x = arena.allocSecret(Math.max(a.length, 1));
    const y = arena.allocSecret(Math.max(b.length, 1));
    arena.bytes(x, a.length).set(a);
    arena.bytes(y, b.length).set(b);
    k.addVec(fieldId(f), x, x, y, a.length / f.encodedSize, negate);
    out.set(arena.bytes(x, a.length));
    return out;
  });
}

/**
 * out[i] = sum_l weights[l] * x[i * width + l] for i < count, on the encoded vector x (wasm when
 * loaded, else the reference): the linear decodings of range-checked integers and sums of shares.
 */
export function weightedSums(f: Field, x: Uint8Array, count: number, width: number, weights: FieldVec): Uint8Array {
  const size = f.encodedSize;
  if (x.length < count * width * size || weights.length !== width) throw new PrivkitError('E_SHAPE', `weighted sums of ${count} x ${width} elements need as many elements and ${width} weights`);
  if (!wasmLoaded()) return encodeVec(f, weightedSumsReference(f, decodeVec(f, x.subarray(0, count * width * size), 'x'), count, width, weights.vec));
  return prioWasm.run((k, arena) => {
    const xs = arena.allocSecret(Math.max(count * width * size, 1));
    const w = arena.alloc(Math.max(width * size, 1));
    const out = arena.allocSecret(Math.max(count * size, 1));
    arena.bytes(xs, count * width * size).set(x.subarray(0, count * width * size));
    arena.bytes(w, width * size).set(weights.bytes);
    k.weightedSums(fieldId(f), xs, count, width, w, out);
    return arena.bytes(out, count * size).slice();
  });
}


// ---- Prio3 of the chunked bit-check circuits, one kernel call per step (assembly/prio/prio3.ts) ----

/**
 * What the one-call kernels below need to know of a circuit (flp.ts's Circuit) whose only gadget
 * is the chunked bit check, called once by eval (SumVec, Histogram, MultihotCountVec), besides that
 * gadget: eval's output after the bit check as a linear form, and truncate as weighted sums. The
 * circuit's eval and truncate stay the definition (the plain-TS path, property-tested against the
 * kernels).
 */
export interface ChunkedCheck {
  /** Mul pairs per ParallelSum call. */
  readonly chunkLength: number;
  /** Gadget calls (the joint randomness length). */
  readonly calls: number;
  /**
   * With evalOutputLen 2, eval's second output: sum_(i < ones) x_i + sum_l tail[l] x_(ones + l) -
   * constant / numShares (a count of the first elements, minus what the next ones encode).
   */
  readonly linear?: { readonly ones: number; readonly tail: FieldVec; readonly constant: bigint };
  /** truncate: out[i] = sum_l weights[l] x[i * width + l] for i < outputLen (weights encoded, width elements); absent: the first outputLen elements. */
  readonly truncate?: { readonly width: number; readonly weights: FieldVec };
  /**
   * True when every valid measurement has exactly one nonzero element (Histogram). The prover
   * then builds a column with few nonzero elements from them alone (see sparseBelow): the same
   * work for every valid measurement. Without it every column is built densely, so the sharding
   * time of SumVec or MultihotCountVec does not follow how sparse the measurement is.
   */
  readonly oneHot?: boolean;
}

/**
 * chunkGadgetPoly's sparseBelow for a circuit: a column with fewer nonzero elements than log2(p)
 * costs fewer products from them (p per nonzero value) than by the two transforms (about p log2(p)
 * each); 0 (always dense) unless the circuit is one-hot and a one-element column is sparse.
 */
export function sparseBelow(check: ChunkedCheck, p: number): number {
  const below = Math.log2(p);
  return check.oneHot === true && below >= 2 ? below : 0;
}

/** A Prio3 instance's constants for the one-call kernels (made once per instance by chunkedPlan). */
export interface ChunkedPlan {
  readonly field: Field;
  readonly shares: number;
  readonly proofs: number;
  readonly measLen: number;
  readonly chunkLength: number;
  readonly calls: number;
  /** Evaluations of a wire polynomial (a power of 2 above calls). */
  readonly p: number;
  /** chunkGadgetPoly's sparseBelow (sparseBelow above). */
  readonly sparseBelow: number;
  /** Circuit outputs: 1 (the bit check) or 2 (and the linear check). */
  readonly outputs: number;
  /** The linear check's unit weights (its first `ones` elements) and further weights. */
  readonly ones: number;
  readonly tailLength: number;
  readonly outputLen: number;
  /** Elements per output element (0: the output share is the first outputLen elements). */
  readonly truncWidth: number;
  /** shardChunked's constants: 1, then chunkGadgetPoly's (W_p, W_p^-1, W_2p, 1/p, the circulant). */
  readonly shardConsts: Uint8Array;
  /**
   * verifyChunked's constants (1/shares, 1/p, 1/2p, the linear check's constant), then the linear
   * check's further weights, the truncation's weights and the nodes W_p^i
   * (i < p) and W_2p^i (i < 2p), all in Montgomery form, staged as one block.
   */
  readonly verifyConsts: Uint8Array;
  /** Bytes of one proof, of one verifier share (verifiers and joint-randomness part). */
  readonly proofBytes: number;
  readonly verifierShareBytes: number;
  /** The one-call kernels' regions by dst length, or null when a step does not fit one call's wasm memory (worked out once, the module loaded). */
  readonly layouts: Map<number, ChunkedLayouts | null>;
}

/** Constants of verifyChunked's block before the weights. */
const VERIFY_CONSTS = 4;

/** The plan of a Prio3 over a chunked bit-check circuit. */
export function chunkedPlan(
  c: { readonly field: Field; readonly measLen: number; readonly outputLen: number; readonly evalOutputLen: number; readonly gadgetCalls: readonly number[]; readonly chunked?: ChunkedCheck },
  shares: number,
  proofs: number,
): ChunkedPlan | undefined {
  const check = c.chunked;
  if (check === undefined) return undefined;
  const f = c.field;
  const size = f.encodedSize;
  const linear = check.linear;
  if (c.gadgetCalls.length !== 1 || c.gadgetCalls[0] !== check.calls || c.evalOutputLen !== (linear === undefined ? 1 : 2)) {
    throw new PrivkitError('E_SHAPE', 'a chunked bit-check circuit has one gadget, called `calls` times, and one output besides the bit check exactly when it has a linear check');
  }
  // the wire polynomials' length (flp.ts's wirePolyLen)
  const p = nextPowerOf2(1 + check.calls);
  const truncWidth = check.truncate?.width ?? 0;
  const tail = linear?.tail.vec ?? [];
  /** w R mod p: a weight in Montgomery form, so the kernel's dot products (x w R / R) give x w. */
  const montgomery = (values: readonly bigint[]): bigint[] => values.map((w) => (w << BigInt(8 * size)) % f.modulus);
  /** W_n^i for i < n. */
  const nodes = (n: number): bigint[] => {
    const w = nthRoot(f, n);
    const out = [1n];
    while (out.length < n) out.push((out[out.length - 1]! * w) % f.modulus);
    return out;
  };
  const verifyConsts = encodeVec(f, [
    invInt(f, shares), invInt(f, p), invInt(f, 2 * p), linear?.constant ?? 0n,
    ...montgomery(tail),
    ...montgomery(check.truncate?.weights.vec ?? []),
    ...montgomery([...nodes(p), ...nodes(2 * p)]),
  ]);
  return {
    field: f,
    shares,
    proofs,
    measLen: c.measLen,
    chunkLength: check.chunkLength,
    calls: check.calls,
    p,
    sparseBelow: sparseBelow(check, p),
    outputs: linear === undefined ? 1 : 2,
    ones: linear?.ones ?? 0,
    tailLength: tail.length,
    outputLen: c.outputLen,
    truncWidth,
    shardConsts: encodeVec(f, [1n, ...chunkGadgetValues(f, p)]),
    verifyConsts,
    proofBytes: size * (2 * check.chunkLength + 2 * p - 1),
    verifierShareBytes: size * proofs * (2 * check.chunkLength + 2) + SEED_SIZE,
    layouts: new Map(),
  };
}

/** Offsets of consecutive regions of the given byte lengths, each 16-byte aligned; the last is the total. */
function layout(...lengths: number[]): number[] {
  const offsets = [0];
  for (const n of lengths) offsets.push(offsets[offsets.length - 1]! + Math.ceil(n / 16) * 16);
  return offsets;
}

type Kernels = Parameters<Parameters<typeof prioWasm.run>[0]>[0];

/**
 * One secret block for a one-call kernel: `regions` (layout's offsets, the total last) sized, the
 * given parts copied to the first regions in order; the rest (outputs, scratch) is left to the
 * kernel. Returns the block's address and a view of it.
 */
function stageRegions(arena: Arena, regions: readonly number[], parts: readonly Uint8Array[]): { base: number; view: Uint8Array } {
  const total = regions[regions.length - 1]!;
  const base = arena.allocSecret(total);
  const view = arena.bytes(base, total);
  parts.forEach((part, i) => view.set(part, regions[i]));
  return { base, view };
}

/** The offsets of each one-call kernel's regions in its secret block (layout's, the total last). */
interface ChunkedLayouts {
  readonly shard: readonly number[];
  readonly verify: readonly number[];
  readonly combine: readonly number[];
}

/** shardChunked's regions: dst, constants, measurement, randomness, nonce, leader share, public share, scratch; and the total. */
function shardLayout(k: Kernels, plan: ChunkedPlan, dstLength: number): number[] {
  const size = plan.field.encodedSize;
  const scratchBytes = k.shardChunkedScratchBytes(fieldId(plan.field), plan.shares, plan.proofs, plan.measLen, plan.chunkLength, plan.calls, plan.p, dstLength);
  const leaderBytes = plan.measLen * size + plan.proofs * plan.proofBytes + SEED_SIZE;
  return layout(dstLength, plan.shardConsts.length, plan.measLen * size, 2 * plan.shares * SEED_SIZE, 16, leaderBytes, plan.shares * SEED_SIZE, scratchBytes);
}

/** verifyChunked's regions: dst, constants, verify key, nonce, public share, input share (the leader's, the longer), verifier share, seed, output share, scratch; and the total. */
function verifyLayout(k: Kernels, plan: ChunkedPlan, dstLength: number): number[] {
  const size = plan.field.encodedSize;
  const scratchBytes = k.verifyChunkedScratchBytes(fieldId(plan.field), plan.shares, plan.proofs, plan.measLen, plan.chunkLength, plan.calls, plan.p, dstLength);
  const leaderBytes = plan.measLen * size + plan.proofs * plan.proofBytes + SEED_SIZE;
  return layout(dstLength, plan.verifyConsts.length, SEED_SIZE, 16, plan.shares * SEED_SIZE, leaderBytes, plan.verifierShareBytes, SEED_SIZE, plan.outputLen * size, scratchBytes);
}

/** combineChunked's regions: dst, verifier shares, seed, scratch; and the total. */
function combineLayout(k: Kernels, plan: ChunkedPlan, dstLength: number): number[] {
  const scratchBytes = k.combineChunkedScratchBytes(fieldId(plan.field), plan.shares, plan.proofs, plan.chunkLength, dstLength);
  return layout(dstLength, plan.shares * plan.verifierShareBytes, SEED_SIZE, scratchBytes);
}

/** The layouts of `plan` with a dst of `dstLength` bytes (made once), or null when sharding or verification would not fit one call's wasm memory. */
function layoutsOf(k: Kernels, plan: ChunkedPlan, dstLength: number): ChunkedLayouts | null {
  let layouts = plan.layouts.get(dstLength);
  if (layouts === undefined) {
    const shard = shardLayout(k, plan, dstLength);
    const verify = verifyLayout(k, plan, dstLength);
    layouts = Math.max(shard.at(-1)!, verify.at(-1)!) <= MAX_CALL_BYTES ? { shard, verify, combine: combineLayout(k, plan, dstLength) } : null;
    plan.layouts.set(dstLength, layouts);
  }
  return layouts;
}

/** The layouts of a plan the caller found fitting (chunkedKernelsFit). */
function fittingLayouts(k: Kernels, plan: ChunkedPlan, dstLength: number): ChunkedLayouts {
  const layouts = layoutsOf(k, plan, dstLength);
  if (layouts === null) throw new PrivkitError('E_OVERFLOW', `a step of this Prio3 does not fit one call's wasm memory (${MAX_CALL_BYTES / 2 ** 20} MiB)`);
  return layouts;
}

/**
 * Whether the one-call kernels run `plan` with a dst of `dstLength` bytes: the wasm module is loaded
 * and sharding and verification each fit in one call's wasm memory (MAX_CALL_BYTES). Otherwise the
 * step-by-step path runs (its kernel calls stage less at a time).
 */
export function chunkedKernelsFit(plan: ChunkedPlan, dstLength: number): boolean {
  return wasmLoaded() && (plan.layouts.get(dstLength) ?? prioWasm.run((k) => layoutsOf(k, plan, dstLength))) !== null;
}

/**
 * A client's sharding in one call: the encoded measurement, the sharding randomness (`randSize`
 * bytes) and the nonce give the leader's input share and the public share (the helpers' input
 * shares are slices of the randomness). `dst` is the draft's 8-byte prefix (any usage) and the ctx.
 * The measurement is given as a writer of its encoding into the zeroed region of wasm memory it
 * is staged in (a circuit's encode with `out`: no array of it in JS).
 */
export function shardChunkedWasm(plan: ChunkedPlan, dst: Uint8Array, meas: (out: Uint8Array) => void, rand: Uint8Array, nonce: Uint8Array): { leaderShare: Uint8Array; publicShare: Uint8Array } {
  const measBytes = plan.measLen * plan.field.encodedSize;
  return prioWasm.run((k, arena) => {
    const regions = fittingLayouts(k, plan, dst.length).shard;
    const [dstAt, constsAt, measAt, randAt, nonceAt, leaderAt, publicAt, scratchAt] = regions;
    const { base, view } = stageRegions(arena, regions, [dst, plan.shardConsts]);
    const measRegion = view.subarray(measAt, measAt! + measBytes);
    measRegion.fill(0);
    meas(measRegion);
    view.set(rand, randAt);
    view.set(nonce, nonceAt);
    k.shardChunked(fieldId(plan.field), plan.shares, plan.proofs, plan.measLen, plan.chunkLength, plan.calls, plan.p, plan.sparseBelow, base + dstAt!, dst.length, base + constsAt!, base + measAt!, base + randAt!, base + nonceAt!, base + leaderAt!, base + publicAt!, base + scratchAt!);
    return { leaderShare: view.slice(leaderAt, leaderAt! + measBytes + plan.proofs * plan.proofBytes + SEED_SIZE), publicShare: view.slice(publicAt, publicAt! + plan.shares * SEED_SIZE) };
  });
}

/** verifyChunkedWasm's result: the verifier share and, once verifyNext checks the message, the joint-randomness seed and output share. */
export type ChunkedVerify =
  | {
      readonly ok: true;
      /** Absent when the verifier shares were combined in the call (`peer` given). */
      readonly verifierShare?: Uint8Array;
      readonly jointRandSeed: Uint8Array;
      readonly outShare: Uint8Array;
      /** With `peer`: the verifier message's joint-randomness seed, or the first proof that fails. */
      readonly combined?: ChunkedCombine;
    }
  | { readonly ok: false; readonly reason: 'part' | 'root of unity' };

/** combineChunkedWasm's result: the joint-randomness seed, or the index of the first proof that fails. */
export type ChunkedCombine = { readonly seed: Uint8Array } | { readonly failed: number };

/**
 * One aggregator's verification of its input share in one call (lengths checked by the caller); the
 * verifier share is returned after `frame` free bytes, in the same array (a message's header).
 * The leader's measurement and proofs shares are checked canonical on the copy in wasm memory (E_ARG
 * naming `inputShare` and the element, as in the step-by-step path) before the kernel reads them.
 * With `peer` (the helper of two aggregators: the leader's verifier share, its length checked by the
 * caller), the two verifier shares are combined in the same call (combineChunkedWasm), the helper's
 * straight from wasm memory, and no verifier share is returned.
 */
export function verifyChunkedWasm(plan: ChunkedPlan, aggId: number, dst: Uint8Array, verifyKey: Uint8Array, nonce: Uint8Array, publicShare: Uint8Array, inputShare: Uint8Array, frame = 0, peer?: Uint8Array): ChunkedVerify {
  const f = plan.field;
  const size = f.encodedSize;
  return prioWasm.run((k, arena) => {
    const regions = fittingLayouts(k, plan, dst.length).verify;
    const [dstAt, constsAt, keyAt, nonceAt, publicAt, inputAt, verifierAt, seedAt, outAt, scratchAt] = regions;
    const { base, view } = stageRegions(arena, regions, [dst, plan.verifyConsts, verifyKey, nonce, publicShare, inputShare]);
    if (aggId === 0) {
      // the measurement share and the proofs share, contiguous, in one pass; an element is named
      // by its index in its own part, as the step-by-step path's two checks do
      const index = k.firstNonCanonical(fieldId(f), base + inputAt!, plan.measLen + plan.proofs * plan.proofBytes / size);
      if (index >= 0) throw nonCanonicalError(f, 'inputShare', index < plan.measLen ? index : index - plan.measLen);
    }
    const tailAt = base + constsAt! + VERIFY_CONSTS * size;
    const status = k.verifyChunked(
      fieldId(f), plan.shares, plan.proofs, plan.measLen, plan.chunkLength, plan.calls, plan.p, plan.outputs, aggId,
      base + dstAt!, dst.length, base + constsAt!, base + keyAt!, base + nonceAt!, base + publicAt!, base + inputAt!,
      plan.ones, tailAt, plan.tailLength, plan.outputLen, plan.truncWidth, tailAt + plan.tailLength * size, tailAt + (plan.tailLength + plan.truncWidth) * size,
      base + verifierAt!, base + seedAt!, base + outAt!, base + scratchAt!,
    );
    if (status !== 0) return { ok: false, reason: status === 1 ? 'part' : 'root of unity' };
    const jointRandSeed = view.slice(seedAt, seedAt! + SEED_SIZE);
    const outShare = view.slice(outAt, outAt! + plan.outputLen * size);
    if (peer !== undefined) return { ok: true, jointRandSeed, outShare, combined: combineIn(k, arena, plan, dst, [peer, base + verifierAt!]) };
    const verifierShare = new Uint8Array(frame + plan.verifierShareBytes);
    verifierShare.set(view.subarray(verifierAt, verifierAt! + plan.verifierShareBytes), frame);
    return { ok: true, verifierShare, jointRandSeed, outShare };
  });
}

/** checkEncodedVec on n encoded elements already in wasm memory at ptr (whole elements by the caller's layout): E_ARG naming `argument` and the first element not below the modulus. */
function checkCanonical(k: Kernels, f: Field, ptr: number, n: number, argument: string): void {
  const index = k.firstNonCanonical(fieldId(f), ptr, n);
  if (index >= 0) throw nonCanonicalError(f, argument, index);
}

/**
 * The verifier message of the verifier shares (each `verifierShareBytes` long, checked by the
 * caller; their elements are checked canonical here, E_ARG naming `verifierShares[j]`): the joint-
 * randomness seed, or the index of the first proof that fails.
 */
export function combineChunkedWasm(plan: ChunkedPlan, dst: Uint8Array, shares: readonly Uint8Array[]): ChunkedCombine {
  return prioWasm.run((k, arena) => combineIn(k, arena, plan, dst, shares));
}

/** combineChunkedWasm in the current kernel call; a share given as a number is at that address of wasm memory (read once the block is allocated: growing memory detaches older views), made by verifyChunked in this call and so not checked again. */
function combineIn(k: Kernels, arena: Arena, plan: ChunkedPlan, dst: Uint8Array, shares: readonly (Uint8Array | number)[]): ChunkedCombine {
  const f = plan.field;
  const id = fieldId(f);
  const shareBytes = plan.verifierShareBytes;
  const regions = fittingLayouts(k, plan, dst.length).combine;
  const [dstAt, sharesAt, seedAt, scratchAt] = regions;
  const { base, view } = stageRegions(arena, regions, [dst]);
  shares.forEach((share, j) => {
    const at = sharesAt! + j * shareBytes;
    if (typeof share === 'number') {
      // this call's own verifier share, canonical as verifyChunked made it
      view.set(arena.bytes(share, shareBytes), at);
      return;
    }
    view.set(share, at);
    checkCanonical(k, f, base + at, (shareBytes - SEED_SIZE) / f.encodedSize, `verifierShares[${j}]`);
  });
  const failed = k.combineChunked(id, plan.shares, plan.proofs, plan.chunkLength, base + dstAt!, dst.length, base + sharesAt!, base + seedAt!, base + scratchAt!);
  return failed === 0 ? { seed: view.slice(seedAt, seedAt! + SEED_SIZE) } : { failed: failed - 1 };
}
