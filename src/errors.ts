// PrivkitError: the one error type of the engine, with a stable machine-readable code.

export type PrivkitErrorCode =
  | 'E_ARG' // an argument has the wrong type or an out-of-range value
  | 'E_SHAPE' // lengths or row counts do not fit together
  | 'E_NONFINITE' // an input holds NaN or +-Infinity
  | 'E_OVERFLOW' // a result left the float32 range
  | 'E_NOT_READY' // a sync kernel was called before `await ready()`
  | 'E_WASM' // the WebAssembly module failed to load or trapped
  | 'E_WORKER' // a pool worker crashed or the pool is closed
  | 'E_BUDGET' // a privacy budget would be overspent
  | 'E_PROTOCOL' // a protocol message is out of round, replayed, duplicated or from an unknown party
  | 'E_AUTH' // authenticated decryption or a key check failed
  | 'E_THRESHOLD'; // too few parties remain to finish a threshold protocol (e.g. secure aggregation)

export interface PrivkitErrorDetails {
  /** The public argument the error is about, e.g. `x` or `maxNorm`. */
  argument?: string;
  /** For element-wise errors: the index of the first offending element of `argument`. */
  index?: number;
  cause?: unknown;
}

export class PrivkitError extends Error {
  readonly code: PrivkitErrorCode;
  readonly argument?: string;
  readonly index?: number;

  constructor(code: PrivkitErrorCode, message: string, details: PrivkitErrorDetails = {}) {
    super(`${code}: ${message}`, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'PrivkitError';
    this.code = code;
    if (details.argument !== undefined) this.argument = details.argument;
    if (details.index !== undefined) this.index = details.index;
  }
}

/** The error for a non-finite element; the pool re-raises it with the index shifted to the caller's array. */
export function nonFiniteError(argument: string, index: number, value: number): PrivkitError {
  return new PrivkitError('E_NONFINITE', `${argument}[${index}] is ${value}; values must be finite`, {
    argument,
    index,
  });
}
