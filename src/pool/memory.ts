// Memory the pool shares with its workers. Where the runtime has SharedArrayBuffer (Node;
// cross-origin-isolated pages), workers read and write shared arrays in place: the caller's own
// (sharedFloat32Array, sharedFloat64Array), or staging that a plain array is copied into once per
// call. Staging buffers are kept for reuse, because allocating and first-touching a fresh
// SharedArrayBuffer per call costs more than the copy itself.
import { platform } from '#platform';
import { assertInteger, type FloatArray } from '../validate.js';
import { typedArrayKind } from '../wasm/boundary.js';
import type { FloatDtype } from './types.js';

/** Spare staging buffers kept between calls. */
const MAX_SPARE_STAGING = 4;

const TYPES = { float32: Float32Array, float64: Float64Array } as const;

/** Longest shared array (2^28 elements: 1 GiB of float32, 2 GiB of float64). */
export const MAX_SHARED_LENGTH = 2 ** 28;

/** A Float32Array on a SharedArrayBuffer when the runtime allows it, so the pool can use it without copies. */
export function sharedFloat32Array(length: number): Float32Array {
  return sharedArray('float32', assertInteger('length', length, 0, MAX_SHARED_LENGTH)) as Float32Array;
}

/** A Float64Array on a SharedArrayBuffer when the runtime allows it (as sharedFloat32Array). */
export function sharedFloat64Array(length: number): Float64Array {
  return sharedArray('float64', assertInteger('length', length, 0, MAX_SHARED_LENGTH)) as Float64Array;
}

/** A new array of `dtype`: on a SharedArrayBuffer when the runtime allows it. */
export function sharedArray(dtype: FloatDtype, length: number): FloatArray {
  return platform.canShareMemory() ? onBuffer(dtype, new SharedArrayBuffer(length * TYPES[dtype].BYTES_PER_ELEMENT), length) : plainArray(dtype, length);
}

/** A new plain array of `dtype`. */
export function plainArray(dtype: FloatDtype, length: number): FloatArray {
  return new TYPES[dtype](length);
}

/** An array of `length` values of `dtype` at the start of a shared buffer. */
function onBuffer(dtype: FloatDtype, buffer: SharedArrayBuffer, length: number): FloatArray {
  return dtype === 'float64' ? new Float64Array(buffer, 0, length) : new Float32Array(buffer, 0, length);
}

/** The element type of a Float32Array or Float64Array. */
export function dtypeOf(array: FloatArray): FloatDtype {
  return typedArrayKind(array) === 'Float64Array' ? 'float64' : 'float32';
}

/** Shared staging memory lent to calls: `lend` a view, `giveBack` it when the call is done. */
export class Staging {
  readonly #spare: SharedArrayBuffer[] = [];

  lend(dtype: FloatDtype, length: number): FloatArray {
    const type = TYPES[dtype];
    const bytes = length * type.BYTES_PER_ELEMENT;
    const i = this.#spare.findIndex((buffer) => buffer.byteLength >= bytes);
    const buffer = i >= 0 ? this.#spare.splice(i, 1)[0]! : new SharedArrayBuffer(bytes);
    return onBuffer(dtype, buffer, length);
  }

  giveBack(view: FloatArray): void {
    this.#spare.push(view.buffer as SharedArrayBuffer);
    if (this.#spare.length > MAX_SPARE_STAGING) this.#spare.sort((a, b) => b.byteLength - a.byteLength).pop();
  }
}
