// Copies and byte views of a caller's typed arrays, checked as the boundary checks every copy (see
// region in ./boundary.ts): apart from it so that a bundle carries them only with the families that
// take them (noise, generators, secure aggregation), not with every kernel.
import { region, type TypedArray } from './boundary.js';

/** The bytes of array[start, start + count) (elements), checked as by `region`. */
export function byteRegion(array: TypedArray, start: number, count: number, name: string): Uint8Array {
  const view = region(array, start, count, name);
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
}

/** A plain copy of array[0, length): the caller's later changes to the array do not reach it. */
export function snapshot<T extends TypedArray>(array: T, length: number, name: string): T {
  return region(array, 0, length, name).slice() as T;
}
