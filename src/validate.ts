// Argument checks shared by every public function. Each throws a PrivkitError naming the argument.
// Typed arrays are checked by brand at the wasm boundary (checkTypedArray in wasm/boundary.ts), so a
// Proxy, a DataView or an array-like object never passes for one, and a view whose buffer was
// transferred (detached) is refused rather than read as empty. Options are read once (readOptions).
// Messages describe values with `describe`, which never throws and never copies a long input whole.
// Also the check of the cancellation and progress options of long operations (callOptions). The
// checks that the kernels and the pool never use are in ./validate-arrays.ts.
import { PrivkitError } from './errors.js';
import { checkTypedArray, currentLength, isDetached, typedArrayKind, type TypedArray } from './wasm/boundary.js';

export type FloatArray = Float32Array | Float64Array;

/** Longest piece of an input copied into a message. */
const MAX_DESCRIBED = 40;

/** A short description of a value for messages: its type, a number, a prefix of a string, a typed array's kind and length. Never throws. */
export function describe(value: unknown): string {
  try {
    switch (typeof value) {
      case 'number':
      case 'boolean':
        return String(value);
      case 'bigint': {
        const text = value.toString();
        return text.length <= MAX_DESCRIBED ? `${text}n` : `a ${value < 0n ? 'negative ' : ''}${(value < 0n ? -value : value).toString(2).length}-bit bigint`;
      }
      case 'string':
        return value.length <= MAX_DESCRIBED ? JSON.stringify(value) : `a string of ${value.length} characters`;
      case 'symbol':
      case 'undefined':
      case 'function':
        return typeof value;
    }
    if (value === null) return 'null';
    const kind = typedArrayKind(value);
    if (kind !== undefined) {
      const view = value as TypedArray;
      return isDetached(view) ? `a detached ${kind}` : `${kind}(${currentLength(view)})`;
    }
    if (ArrayBuffer.isView(value)) return 'DataView';
    if (Array.isArray(value)) return `Array(${value.length})`;
    return 'object';
  } catch {
    return 'an unreadable value';
  }
}

/** A genuine, attached Float32Array (see checkTypedArray in wasm/boundary.ts). */
export function assertFloat32Array(name: string, value: unknown): asserts value is Float32Array {
  checkTypedArray(name, value, ['Float32Array']);
}

/** A boolean option: undefined gives `fallback`. */
export function optionalBoolean(name: string, value: unknown, fallback = false): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new PrivkitError('E_ARG', `${name} must be a boolean, got ${describe(value)}`, { argument: name });
  return value;
}

/** One of a fixed set of values (option strings); undefined gives `fallback` when one is given. */
export function assertOneOf<T>(name: string, value: unknown, values: readonly T[], fallback?: T): T {
  if (value === undefined && fallback !== undefined) return fallback;
  if (!values.includes(value as T)) {
    throw new PrivkitError('E_ARG', `${name} must be ${values.map((v) => describe(v)).join(' or ')}, got ${describe(value)}`, { argument: name });
  }
  return value as T;
}

/** A function (a callback). */
export function assertFunction<T extends (...args: never[]) => unknown>(name: string, value: unknown): T {
  if (typeof value !== 'function') throw new PrivkitError('E_ARG', `${name} must be a function, got ${describe(value)}`, { argument: name });
  return value as T;
}

/** A finite number, optionally required to be > 0 or >= 0. */
export function assertNumber(name: string, value: unknown, range: 'any' | 'positive' | 'nonnegative' = 'any'): number {
  if (typeof value !== 'number') {
    throw new PrivkitError('E_ARG', `${name} must be a number, got ${describe(value)}`, { argument: name });
  }
  if (!Number.isFinite(value)) {
    throw new PrivkitError('E_ARG', `${name} must be finite, got ${value}`, { argument: name });
  }
  if (range === 'positive' && !(value > 0)) {
    throw new PrivkitError('E_ARG', `${name} must be > 0, got ${value}`, { argument: name });
  }
  if (range === 'nonnegative' && !(value >= 0)) {
    throw new PrivkitError('E_ARG', `${name} must be >= 0, got ${value}`, { argument: name });
  }
  return value;
}

/** A non-negative safe integer (or a positive one when `min` is 1), at most `max`. */
export function assertInteger(name: string, value: unknown, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new PrivkitError('E_ARG', `${name} must be an integer >= ${min}, got ${describe(value)}`, {
      argument: name,
    });
  }
  if (value > max) throw new PrivkitError('E_ARG', `${name} must be at most ${max}, got ${value}`, { argument: name });
  return value;
}

/**
 * The row length of a batch that may be empty (an empty Poisson batch still gets its noise): `rows`
 * rows of `x`, or with rows = 0 an empty `x` and the row length given as `columns`.
 */
export function batchColumns(x: unknown, rows: unknown, columns: unknown): number {
  if (rows !== 0) {
    const cols = matrixColumns(x, rows);
    if (columns !== undefined && columns !== cols) {
      throw new PrivkitError('E_SHAPE', `opts.columns (${describe(columns)}) does not match x.length / rows (${cols})`, { argument: 'opts.columns' });
    }
    return cols;
  }
  assertFloat32Array('x', x);
  const length = currentLength(x);
  if (length !== 0) throw new PrivkitError('E_ARG', `rows must be >= 1 for a non-empty x (length ${length}); rows = 0 is for an empty batch`, { argument: 'rows' });
  if (columns === undefined) throw new PrivkitError('E_ARG', 'opts.columns must give the row length of an empty batch (rows = 0)', { argument: 'opts.columns' });
  const cols = assertInteger('opts.columns', columns, 1);
  if (cols > 0x7fffffff) throw new PrivkitError('E_SHAPE', `row length ${cols} exceeds 2^31 - 1`, { argument: 'opts.columns' });
  return cols;
}

/** Checks that `x` (a Float32Array) holds `rows` equal rows and returns the row length. */
export function matrixColumns(x: unknown, rows: unknown): number {
  assertFloat32Array('x', x);
  const r = assertInteger('rows', rows, 1);
  const length = currentLength(x);
  if (length % r !== 0) {
    throw new PrivkitError('E_SHAPE', `x.length (${length}) is not divisible by rows (${r})`, { argument: 'rows' });
  }
  const cols = length / r;
  if (cols > 0x7fffffff) throw new PrivkitError('E_SHAPE', `row length ${cols} exceeds 2^31 - 1`, { argument: 'x' });
  return cols;
}

/**
 * The options of a call, read once: each of `keys` is read exactly one time, in order, into a plain
 * object. Calls read their options first, before they check their other arguments, so that a getter
 * on the options can not change an input after it was checked. undefined and null mean no options;
 * anything else that is not a plain object (an array, a typed array, a primitive, a function) is E_ARG.
 * With `exact`, an own key that is not one of `keys` is E_ARG too: the options that set a privacy
 * guarantee (events, calibration, mechanisms, aggregators) refuse a misspelt key (`noiseMultipler`)
 * rather than fall back to a default. Without it the object may carry keys another reader takes (a
 * pool call's `signal` beside the operation's own options).
 */
export function readOptions<T extends object, K extends keyof T & string>(opts: T | null | undefined, keys: readonly K[], name = 'opts', exact = false): Partial<Pick<T, K>> {
  if (opts === undefined || opts === null) return {};
  if (typeof opts !== 'object' || Array.isArray(opts) || ArrayBuffer.isView(opts)) {
    throw new PrivkitError('E_ARG', `${name} must be an object, got ${describe(opts)}`, { argument: name });
  }
  if (exact) {
    for (const key of Object.keys(opts)) {
      if (!(keys as readonly string[]).includes(key)) {
        throw new PrivkitError('E_ARG', `${name}.${key} is not an option here (known: ${keys.join(', ')})`, { argument: `${name}.${key}` });
      }
    }
  }
  const read: Partial<Pick<T, K>> = {};
  for (const key of keys) {
    const value = opts[key];
    if (value !== undefined) read[key] = value;
  }
  return read;
}

/** The cancellation and progress options of a long operation (the public type is CallOptions in src/pool/types.ts). */
interface CallOptionValues {
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
}

/** `signal` and `onProgress` of the options object `opts` (named `name`), checked: E_ARG naming the bad one. */
export function callOptions(opts: CallOptionValues | null | undefined, name = 'opts'): CallOptionValues {
  const { signal, onProgress } = readOptions(opts, ['signal', 'onProgress'], name);
  if (signal !== undefined && !isAbortSignal(signal)) {
    throw new PrivkitError('E_ARG', `${name}.signal must be an AbortSignal, got ${describe(signal)}`, { argument: `${name}.signal` });
  }
  if (onProgress !== undefined) assertFunction(`${name}.onProgress`, onProgress);
  return { signal, onProgress };
}

/** Whether `value` is a genuine AbortSignal (a forged one, made from its prototype, fails its own getters). */
function isAbortSignal(value: unknown): value is AbortSignal {
  if (!(value instanceof AbortSignal)) return false;
  try {
    return typeof value.aborted === 'boolean';
  } catch {
    return false;
  }
}
