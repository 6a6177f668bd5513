// The wasm boundary: how the engine reads a caller's typed arrays and copies them into and out of
// wasm memory. A caller's array is never trusted for its own properties: its kind, length, buffer
// and offset are read through the intrinsic %TypedArray% accessors, so an own `length` getter, a
// `constructor` getter (which subarray and slice would consult as the species) or a Proxy can
// neither lie nor run code in the middle of a call. Every copy re-checks, right before it happens,
// that the array still holds the range the call validated: an array whose resizable buffer shrank,
// or whose buffer was detached, meanwhile gives E_SHAPE naming it, never a shorter copy that would
// leave stale wasm memory in the result.
// Kernels stream arrays through one staging window of wasm memory (StagingWindow), chunk by chunk:
// a chunk is copied in, the kernel runs on it, the result is copied out, so a call's wasm memory
// stays within a few MiB whatever the length of its arrays. Strings are staged the same way, packed
// as UTF-8 with their offsets, as many as a window holds (packStrings).
import { PrivkitError } from '../errors.js';
import type { Arena } from './arena.js';

export type TypedArray =
  | Int8Array
  | Uint8Array
  | Uint8ClampedArray
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | Float32Array
  | Float64Array;

const CONSTRUCTORS = {
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
} as const;

type TypedArrayKind = keyof typeof CONSTRUCTORS;

const prototype = Object.getPrototypeOf(Uint8Array.prototype) as object;
const accessor = (key: PropertyKey) => Object.getOwnPropertyDescriptor(prototype, key)!.get!;
const kindOf: (this: unknown) => string | undefined = accessor(Symbol.toStringTag);
const lengthOf: (this: unknown) => number = accessor('length');
const bufferOf: (this: unknown) => ArrayBufferLike = accessor('buffer');
const byteOffsetOf: (this: unknown) => number = accessor('byteOffset');

/** The kind of a genuine typed array ('Float32Array', ...); undefined for anything else (fakes, Proxies, DataViews). */
export function typedArrayKind(value: unknown): TypedArrayKind | undefined {
  if (!ArrayBuffer.isView(value)) return undefined;
  const kind = kindOf.call(value);
  return kind !== undefined && kind in CONSTRUCTORS ? (kind as TypedArrayKind) : undefined;
}

/** The current length of a genuine typed array: 0 once its buffer is detached or shrank below it. */
export function currentLength(array: TypedArray): number {
  return lengthOf.call(array);
}

/** True when a genuine typed array is backed by a SharedArrayBuffer. */
export function isSharedArray(array: TypedArray): boolean {
  return typeof SharedArrayBuffer === 'function' && bufferOf.call(array) instanceof SharedArrayBuffer;
}

/** The buffer of a genuine typed array and where the array starts in it (read through the intrinsic accessors). */
export function arrayPlace(array: TypedArray): { buffer: ArrayBufferLike; byteOffset: number } {
  return { buffer: bufferOf.call(array), byteOffset: byteOffsetOf.call(array) };
}

/**
 * True when two genuine typed arrays share memory but do not start at the same byte: writing one in
 * order would overwrite parts of the other before they are read.
 */
export function overlapsElsewhere(a: TypedArray, b: TypedArray): boolean {
  const placeA = arrayPlace(a);
  const placeB = arrayPlace(b);
  if (placeA.buffer !== placeB.buffer || placeA.byteOffset === placeB.byteOffset) return false;
  const endA = placeA.byteOffset + lengthOf.call(a) * a.BYTES_PER_ELEMENT;
  const endB = placeB.byteOffset + lengthOf.call(b) * b.BYTES_PER_ELEMENT;
  return placeA.byteOffset < endB && placeB.byteOffset < endA;
}

/** True when the buffer of a genuine typed array has been detached (transferred). */
export function isDetached(array: TypedArray): boolean {
  if (lengthOf.call(array) > 0) return false; // a detached array has no elements
  try {
    new Uint8Array(bufferOf.call(array), 0, 0);
    return false;
  } catch {
    return true;
  }
}

/**
 * `value` as a genuine, attached typed array of one of `kinds`: E_ARG naming it otherwise (a fake
 * inheriting a typed array prototype and a Proxy of a typed array are not genuine).
 */
export function checkTypedArray<K extends TypedArrayKind>(name: string, value: unknown, kinds: readonly K[]): InstanceType<(typeof CONSTRUCTORS)[K]> {
  const kind = typedArrayKind(value);
  if (kind === undefined || !(kinds as readonly TypedArrayKind[]).includes(kind)) {
    throw new PrivkitError('E_ARG', `${name} must be a ${kinds.join(' or ')}, got ${kind ?? describeValue(value)}`, { argument: name });
  }
  if (isDetached(value as TypedArray)) {
    throw new PrivkitError('E_ARG', `${name} is detached (its buffer was transferred)`, { argument: name });
  }
  return value as InstanceType<(typeof CONSTRUCTORS)[K]>;
}

/**
 * A fresh view of array[start, start + count) after checking that the array still holds that range
 * (E_SHAPE naming `name` when it was detached or shrank since the call validated it).
 */
export function region<T extends TypedArray>(array: T, start: number, count: number, name: string): T {
  const kind = typedArrayKind(array);
  if (kind === undefined) throw new PrivkitError('E_ARG', `${name} must be a typed array`, { argument: name });
  const length = lengthOf.call(array);
  if (start + count > length) {
    throw new PrivkitError(
      'E_SHAPE',
      `${name} changed during the call: it holds ${length} values where the call needs ${start + count} (was its buffer resized or detached?)`,
      { argument: name },
    );
  }
  const type = CONSTRUCTORS[kind];
  return new type(bufferOf.call(array) as ArrayBuffer, byteOffsetOf.call(array) + start * type.BYTES_PER_ELEMENT, count) as T;
}

/** Copies array[start, start + target.length) into `target` (a view of wasm memory), checked as by `region`. */
export function copyIn(target: TypedArray, array: TypedArray, start: number, name: string): void {
  target.set(region(array, start, target.length, name) as ArrayLike<number>);
}

/** Copies `source` (a view of wasm memory) into array[start, start + source.length), checked as by `region`. */
export function copyOut(source: TypedArray, array: TypedArray, start: number, name: string): void {
  region(array, start, source.length, name).set(source as ArrayLike<number>);
}

/** Bytes of a staging window: 1 MiB, inside a core's L2 cache. */
export const WINDOW_BYTES = 1 << 20;

/** An array a call streams through a staging window, with the name its errors give it. */
export interface Staged {
  array: TypedArray;
  name: string;
}

/**
 * The staging window of a call: WINDOW_BYTES of wasm memory (less for a shorter array) in the
 * call's arena scope, holding up to `capacity` elements of `elementBytes` bytes. A secret window
 * (inputs mixed with noise or keystream) is zeroed when the scope closes, also when the call fails.
 */
export class StagingWindow {
  readonly ptr: number;
  /** Elements per chunk: as many as the window holds. */
  readonly capacity: number;

  /** Allocates the window for a stream of `length` elements of `elementBytes` bytes each. */
  constructor(
    private readonly arena: Arena,
    elementBytes: number,
    length: number,
    secret: boolean,
  ) {
    this.capacity = WINDOW_BYTES / elementBytes;
    const bytes = Math.min(length, this.capacity) * elementBytes;
    this.ptr = secret ? arena.allocSecret(bytes) : arena.alloc(bytes);
  }

  /** Copies array[start, start + count) into the window (checked as by `region`). */
  load(from: Staged, start: number, count: number): void {
    copyIn(this.view(from.array, count), from.array, start, from.name);
  }

  /** Copies the window's first `count` elements into array[start, start + count) (checked as by `region`). */
  store(to: Staged, start: number, count: number): void {
    copyOut(this.view(to.array, count), to.array, start, to.name);
  }

  /**
   * Streams elements [0, length) through the window, one chunk of at most `capacity` elements at a
   * time: copies the chunk of `input` in (when given), runs `kernel(ptr, count, start)` on it, and
   * copies the window out to the same chunk of `output` (when given). Both arrays have elements of
   * the window's size; the kernel may read an input of one type and leave an output of another.
   */
  stream(length: number, io: { input?: Staged; output?: Staged }, kernel: (ptr: number, count: number, start: number) => void): void {
    for (let start = 0; start < length; start += this.capacity) {
      const count = Math.min(this.capacity, length - start);
      if (io.input !== undefined) this.load(io.input, start, count);
      kernel(this.ptr, count, start);
      if (io.output !== undefined) this.store(io.output, start, count);
    }
  }

  /** The window's first `count` elements as an array of the kind of `like`. */
  private view(like: TypedArray, count: number): TypedArray {
    const type: new (buffer: ArrayBuffer, byteOffset: number, length: number) => TypedArray = CONSTRUCTORS[typedArrayKind(like)!];
    return this.arena.view(type, this.ptr, count);
  }
}

/** packStrings' encoder (marked pure: a bundle that uses no string packing drops it). */
const encoder = /* @__PURE__ */ new TextEncoder();

/**
 * Packs strings as UTF-8, end to end, into `bytes` (a view of wasm memory): texts[first], texts[first
 * + 1], ... as many as fit in `bytes` and in `offsets` (whose length bounds the count + 1). Writes
 * offsets[0] = 0 and offsets[k] = the end of the k-th string packed; returns how many were packed
 * (0 when texts[first] alone does not fit). Lone surrogates become U+FFFD, as TextEncoder makes them.
 */
export function packStrings(texts: readonly string[], first: number, bytes: Uint8Array, offsets: Uint32Array): number {
  let end = 0;
  let count = 0;
  offsets[0] = 0;
  while (first + count < texts.length && count + 1 < offsets.length) {
    const text = texts[first + count]!;
    const { read, written } = encoder.encodeInto(text, bytes.subarray(end));
    if (read < text.length) break; // encodeInto stops before a character that does not fit whole
    end += written;
    offsets[++count] = end;
  }
  return count;
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'Array';
  return typeof value;
}
