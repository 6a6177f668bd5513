// Memory the pool shares with its workers. Where the runtime has SharedArrayBuffer (Node;
// cross-origin-isolated pages), workers read and write shared arrays in place: the caller's own
// (sharedFloat32Array, sharedFloat64Array), or staging that a plain array is copied into once per
// call. Staging buffers are kept for reuse, because allocating and first-touching a fresh
// SharedArrayBuffer per call costs more than the copy itself.
// A shared array of MIN_WASM_ARRAY_BYTES or more, staging included, lies in a shared wasm memory of
// its own (src/wasm/shared-memory.ts), where the kernels of every thread read it without copying it;
// a smaller one (or one the runtime can not place in wasm memory) is a plain SharedArrayBuffer.
import { platform } from '#platform';
import { assertInteger, type FloatArray } from '../validate.js';
import { typedArrayKind } from '../wasm/boundary.js';
import { MIN_WASM_ARRAY_BYTES, wasmSharedBuffer } from '../wasm/shared-memory.js';
import { plainArray } from './protocol.js';
import type { FloatDtype } from './types.js';

/** Spare staging buffers kept between calls. */
const MAX_SPARE_STAGING = 4;

const TYPES = { float32: Float32Array, float64: Float64Array } as const;

/** Longest shared array (2^28 elements: 1 GiB of float32, 2 GiB of float64). */
const MAX_SHARED_LENGTH = 2 ** 28;

/**
 * A zeroed Float32Array on shared memory when the runtime allows it (Node; cross-origin-isolated
 * pages), else a plain one. The pool's workers read and write a shared array in place; one of 1 MiB
 * or more lies in a shared WebAssembly memory of its own, so the sync kernels and the workers'
 * kernels read it with no copy at all: its `buffer` is then that memory, holding more than the array,
 * which starts at its `byteOffset` (make views with `subarray`, or from `byteOffset`). Its memory is
 * freed when the array and every view made from it are garbage. Do not write the array from another
 * thread while a call reads it.
 *
 * @example
 * ```ts
 * import { ready, clipAndSum } from 'privkit';
 * import { sharedFloat32Array } from 'privkit/pool';
 * await ready();
 * const grads = sharedFloat32Array(256 * 1024); // 256 samples x 1024 parameters, read in place
 * grads.fill(0.01);
 * const { clippedCount } = clipAndSum(grads, 256, 1.0); // each row's norm is 0.32
 * console.log(clippedCount); // 0
 * ```
 */
export function sharedFloat32Array(length: number): Float32Array {
  return sharedArray('float32', assertInteger('length', length, 0, MAX_SHARED_LENGTH)) as Float32Array;
}

/** A zeroed Float64Array on shared memory when the runtime allows it, else a plain one (as sharedFloat32Array). */
export function sharedFloat64Array(length: number): Float64Array {
  return sharedArray('float64', assertInteger('length', length, 0, MAX_SHARED_LENGTH)) as Float64Array;
}

/** A new array of `dtype`: on shared memory (in wasm memory when large) when the runtime allows it. */
export function sharedArray(dtype: FloatDtype, length: number): FloatArray {
  if (!platform.canShareMemory()) return plainArray(dtype, length);
  const place = sharedPlace(length * TYPES[dtype].BYTES_PER_ELEMENT);
  return onBuffer(dtype, place, length);
}

/** A fresh zeroed shared place for `bytes` bytes: in a wasm memory of its own when large enough and possible. */
function sharedPlace(bytes: number): SharedPlace {
  return (bytes >= MIN_WASM_ARRAY_BYTES ? wasmSharedBuffer(bytes) : undefined) ?? { buffer: new SharedArrayBuffer(bytes), byteOffset: 0 };
}

/** Shared bytes for an array: `buffer` from `byteOffset` on. */
interface SharedPlace {
  buffer: SharedArrayBuffer;
  byteOffset: number;
}

/** An array of `length` values of `dtype` at a shared place. */
function onBuffer(dtype: FloatDtype, { buffer, byteOffset }: SharedPlace, length: number): FloatArray {
  return dtype === 'float64' ? new Float64Array(buffer, byteOffset, length) : new Float32Array(buffer, byteOffset, length);
}

/** The element type of a Float32Array or Float64Array. */
export function dtypeOf(array: FloatArray): FloatDtype {
  return typedArrayKind(array) === 'Float64Array' ? 'float64' : 'float32';
}

/** Shared staging memory lent to calls: `lend` a view, `giveBack` it when the call is done. */
export class Staging {
  /** Spare places and how many bytes each holds. */
  readonly #spare: Array<SharedPlace & { bytes: number }> = [];
  /** The place and size of each view lent. */
  readonly #lent = new WeakMap<FloatArray, SharedPlace & { bytes: number }>();

  lend(dtype: FloatDtype, length: number): FloatArray {
    const bytes = length * TYPES[dtype].BYTES_PER_ELEMENT;
    const i = this.#spare.findIndex((place) => place.bytes >= bytes);
    const place = i >= 0 ? this.#spare.splice(i, 1)[0]! : { ...sharedPlace(bytes), bytes };
    const view = onBuffer(dtype, place, length);
    this.#lent.set(view, place);
    return view;
  }

  giveBack(view: FloatArray): void {
    const place = this.#lent.get(view);
    if (place === undefined) return;
    this.#lent.delete(view);
    this.#spare.push(place);
    if (this.#spare.length > MAX_SPARE_STAGING) this.#spare.sort((a, b) => b.bytes - a.bytes).pop();
  }
}
