// Test setup for every file (vitest.config.ts setupFiles): toEqual on typed arrays, fast. Vitest
// compares a typed array element by element twice (its iterator, then Object.entries), about 2 us
// per element, so one comparison of 140,000 words took a third of a second. Two arrays of the same
// type and length with the same bytes have the same elements, which is what the tests compare: this
// tester says so at once (it does not look for properties added to an array besides its elements,
// which no test sets). Every other pair (a difference, NaN payloads) goes to vitest's own
// comparison, which gives its usual verdict and diff.
import { expect } from 'vitest';

const TypedArray = Object.getPrototypeOf(Uint8Array) as abstract new () => ArrayBufferView;

const bytesOf = (view: ArrayBufferView) => new Uint8Array(view.buffer, view.byteOffset, view.byteLength);

/** True for typed arrays of one type with the same bytes; undefined (vitest decides) otherwise. */
function identicalTypedArrays(a: unknown, b: unknown): true | undefined {
  if (!(a instanceof TypedArray) || !(b instanceof TypedArray) || a.constructor !== b.constructor) return undefined;
  return Buffer.compare(bytesOf(a), bytesOf(b)) === 0 ? true : undefined;
}

expect.addEqualityTesters([identicalTypedArrays]);
