// The Prio3 hot paths in wasm (assembly/prio.ts), with the plain-TS references (src/prio/field.ts,
// src/prio/xof.ts, src/prio/flp.ts) as the fallback before `ready()` loads the module: NTT and
// inverse NTT, the ParallelSum(Mul) gadget polynomial, TurboSHAKE128 and XofTurboShake128 seed
// derivation and expansion, element-wise sums and differences and the weighted sums of encoded
// vectors (Prio3's shares stay encoded between these kernels). Vectors cross the boundary in the draft's encoding (canonical
// little-endian elements), written into and read from wasm memory directly; every staged region is
// secret (zeroed when the call returns).
import { PrivkitError } from '../errors.js';
import type { Arena } from '../wasm/arena.js';
import { decodeVec, encodeVec, type Field, FieldVec, invInt, vecAdd, vecSub, weightedSums as weightedSumsReference, invNtt as invNttReference, ntt as nttReference, nthRoot, nthRootInverse, polyEvalBatched as polyEvalBatchedReference } from './field.js';
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
const gadgetConstants = (f: Field, p: number): Uint8Array => constantBytes(f, `gadget ${p}`, () => [nthRoot(f, p), nthRootInverse(f, p), nthRoot(f, 2 * p), invInt(f, p)]);

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
    const out = arena.allocSecret(polys.length * size);
    const scratch = arena.allocSecret(k.lagrangeEvalScratchBytes(fieldId(f), polys.length, n));
    polys.forEach((poly, i) => stage(f, arena, p + i * n * size, poly));
    stage(f, arena, consts, [nthRoot(f, n), x, invInt(f, n)]);
    k.lagrangeEval(fieldId(f), p, polys.length, n, consts, out, scratch);
    return unstage(f, arena, out, polys.length);
  });
}

/** poly_eval_batched: wasm when loaded, else the reference. */
export const polyEvalBatched = (f: Field, polys: readonly (readonly bigint[])[], x: bigint): bigint[] =>
  wasmLoaded() ? polyEvalBatchedWasm(f, polys, x) : polyEvalBatchedReference(f, polys, x);

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
 * the result are encoded.
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
      arena.bytes(consts, 4 * size).set(gadgetConstants(f, p));
      k.chunkGadgetPoly(id, m, measLen, r, calls, chunkLength, s, seedPtr, p, consts, out, scratch);
    } else {
      const scratch = arena.allocSecret(Math.max(k.chunkWireChecksScratchBytes(id, p), k.lagrangeEvalScratchBytes(id, 1, 2 * p)));
      stage(f, arena, consts, [nthRoot(f, p), query.at, invInt(f, p)]);
      k.chunkWireChecks(id, m, measLen, r, calls, chunkLength, s, seedPtr, p, consts, out, scratch);
      const poly = arena.allocSecret(2 * p * size);
      arena.bytes(poly, (2 * p - 1) * size).set(query.gadgetPoly.bytes);
      stage(f, arena, consts, [nthRoot(f, 2 * p), query.at, invInt(f, 2 * p)]);
      k.extendLast(id, poly, 2 * p, consts);
      k.lagrangeEval(id, poly, 1, 2 * p, consts, out + arity * size, scratch);
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
    stage(f, arena, v, values);
    stage(f, arena, root, [nthRoot(f, n)]);
    k.extendLast(fieldId(f), v, n, root);
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

