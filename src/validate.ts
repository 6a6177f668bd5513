// Argument checks shared by every public function. Each throws a PrivkitError naming the argument.
import { PrivkitError } from './errors.js';

export type FloatArray = Float32Array | Float64Array;

export function describe(value: unknown): string {
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  if (value === null) return 'null';
  if (ArrayBuffer.isView(value)) return `${value.constructor.name}(${(value as Float32Array).length})`;
  if (Array.isArray(value)) return `Array(${value.length})`;
  return typeof value;
}

export function assertFloat32Array(name: string, value: unknown): asserts value is Float32Array {
  if (!(value instanceof Float32Array)) {
    throw new PrivkitError('E_ARG', `${name} must be a Float32Array, got ${describe(value)}`, { argument: name });
  }
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

/** A non-negative safe integer (or a positive one when `min` is 1). */
export function assertInteger(name: string, value: unknown, min = 0): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new PrivkitError('E_ARG', `${name} must be an integer >= ${min}, got ${describe(value)}`, {
      argument: name,
    });
  }
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
  if (x.length !== 0) throw new PrivkitError('E_ARG', `rows must be >= 1 for a non-empty x (length ${x.length}); rows = 0 is for an empty batch`, { argument: 'rows' });
  if (columns === undefined) throw new PrivkitError('E_ARG', 'opts.columns must give the row length of an empty batch (rows = 0)', { argument: 'opts.columns' });
  const cols = assertInteger('opts.columns', columns, 1);
  if (cols > 0x7fffffff) throw new PrivkitError('E_SHAPE', `row length ${cols} exceeds 2^31 - 1`, { argument: 'opts.columns' });
  return cols;
}

/** Checks that `x` (a Float32Array) holds `rows` equal rows and returns the row length. */
export function matrixColumns(x: unknown, rows: unknown): number {
  assertFloat32Array('x', x);
  const r = assertInteger('rows', rows, 1);
  if (x.length % r !== 0) {
    throw new PrivkitError('E_SHAPE', `x.length (${x.length}) is not divisible by rows (${r})`, { argument: 'rows' });
  }
  const cols = x.length / r;
  if (cols > 0x7fffffff) throw new PrivkitError('E_SHAPE', `row length ${cols} exceeds 2^31 - 1`, { argument: 'x' });
  return cols;
}
