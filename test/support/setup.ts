// Test setup for every file (vitest.config.ts setupFiles): fast-check's defaults, and toEqual on typed
// arrays, fast.
//
// Unit files share their worker's modules (vitest.config.ts: isolate false), fast-check among them: a
// file's fc.configureGlobal (seed, numRuns) would carry over to the next file the worker runs. Each
// file starts from fast-check's defaults, as in a worker of its own.
//
// Typed arrays: Vitest compares a typed array element by element twice (its iterator, then
// Object.entries), about 2 us per element, so one comparison of 140,000 words took a third of a second. Two arrays of the same
// type and length with the same bytes have the same elements, which is what the tests compare: this
// tester says so at once (it does not look for properties added to an array besides its elements,
// which no test sets). Every other pair (a difference, NaN payloads) goes to vitest's own
// comparison, which gives its usual verdict and diff.
import fc from 'fast-check';
import { expect } from 'vitest';

const TypedArray = Object.getPrototypeOf(Uint8Array) as abstract new () => ArrayBufferView;

const bytesOf = (view: ArrayBufferView) => new Uint8Array(view.buffer, view.byteOffset, view.byteLength);

/** True for typed arrays of one type with the same bytes; undefined (vitest decides) otherwise. */
function identicalTypedArrays(a: unknown, b: unknown): true | undefined {
  if (!(a instanceof TypedArray) || !(b instanceof TypedArray) || a.constructor !== b.constructor) return undefined;
  return Buffer.compare(bytesOf(a), bytesOf(b)) === 0 ? true : undefined;
}

// once per worker: the testers outlive a file when the worker's modules are shared
const TESTER_ADDED = Symbol.for('privkit.test.identicalTypedArrays');
if (!(TESTER_ADDED in globalThis)) {
  expect.addEqualityTesters([identicalTypedArrays]);
  Object.defineProperty(globalThis, TESTER_ADDED, { value: true });
}

fc.resetConfigureGlobal();
