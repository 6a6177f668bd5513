// PrivkitError: the one error type of the engine, with a stable machine-readable code; and its
// form as plain fields, in which it crosses between threads (a pool worker's error, a prio
// measurement's outcome). A worker sends a PrivkitError as its fields (code, the message text after
// the code, argument, index); the caller's thread rebuilds it. An element error of a part's rows of
// the input (its argument is the input's name) is re-indexed structurally: the index moves by the
// part's first element, and so does the element reference `argument[index]` that such messages name
// (nonFiniteError and the kernels' element errors). Anything else a worker throws becomes E_WORKER.
// These live here rather than in src/pool/ so that a bundle puts them in the chunk of the error type
// that every family loads, not in a small chunk of their own.

/**
 * The stable, machine-readable code of a {@link PrivkitError}: branch on `error.code`, never on the
 * message text (which may change).
 *
 * - `E_ARG`: an argument has the wrong type or an out-of-range value.
 * - `E_SHAPE`: lengths or row counts do not fit together (or an array changed size during a call).
 * - `E_NONFINITE`: an input holds NaN or +-Infinity (`index` says where).
 * - `E_OVERFLOW`: a result left the float32 range (or a call would need more memory than allowed).
 * - `E_NOT_READY`: a sync kernel was called before `await ready()`.
 * - `E_WASM`: the WebAssembly module failed to load or trapped; the engine keeps working afterwards.
 * - `E_WORKER`: a pool worker crashed or could not start, or the pool is closed or broken.
 * - `E_BUDGET`: a privacy budget would be overspent.
 * - `E_PROTOCOL`: a protocol message is out of round, replayed, duplicated or from an unknown party.
 * - `E_AUTH`: authenticated decryption, a signature or a key check failed.
 * - `E_THRESHOLD`: too few parties remain to finish a threshold protocol (e.g. secure aggregation).
 * - `E_ABORTED`: the operation's AbortSignal aborted it (`cause` is the signal's reason).
 */
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
  | 'E_THRESHOLD' // too few parties remain to finish a threshold protocol (e.g. secure aggregation)
  | 'E_ABORTED'; // the operation's AbortSignal aborted it

/** Optional details of a {@link PrivkitError}, given to its constructor. */
export interface PrivkitErrorDetails {
  /** The public argument the error is about, e.g. `x` or `maxNorm`. */
  argument?: string;
  /** For element-wise errors: the index of the first offending element of `argument`. */
  index?: number;
  /** The underlying error (e.g. a WebAssembly trap or a WebCrypto failure), kept as the standard `Error.cause`. */
  cause?: unknown;
}

const CODES: ReadonlySet<string> = new Set<PrivkitErrorCode>([
  'E_ARG',
  'E_SHAPE',
  'E_NONFINITE',
  'E_OVERFLOW',
  'E_NOT_READY',
  'E_WASM',
  'E_WORKER',
  'E_BUDGET',
  'E_PROTOCOL',
  'E_AUTH',
  'E_THRESHOLD',
  'E_ABORTED',
]);
/** Longest message kept whole; longer ones are cut (messages never carry an input whole). */
const MAX_MESSAGE = 1000;

/**
 * The one error type of privkit. Every function reports bad input, an overspent budget, a protocol
 * violation or a failed kernel with a `PrivkitError` whose {@link PrivkitError.code | code} is
 * stable; its message (prefixed with the code) names the argument and the offending value.
 *
 * @example
 * ```ts
 * import { ready, clipByL2, PrivkitError } from 'privkit';
 * await ready();
 * try {
 *   clipByL2(new Float32Array([1, NaN]), 1, 1);
 * } catch (e) {
 *   if (e instanceof PrivkitError) console.log(e.code, e.argument, e.index); // E_NONFINITE x 1
 * }
 * ```
 */
export class PrivkitError extends Error {
  /** What went wrong, as a stable code (see {@link PrivkitErrorCode}). */
  readonly code: PrivkitErrorCode;
  /** The public argument the error is about, e.g. `x` or `opts.delta`, when there is one. */
  readonly argument?: string;
  /** For element-wise errors (e.g. E_NONFINITE): the index of the first offending element of `argument`. */
  readonly index?: number;

  /**
   * Checks its own arguments like every public constructor: a bad one gives a PrivkitError E_ARG naming it.
   * A message longer than 1,000 characters is cut (messages never carry an input whole).
   *
   * @param code - the stable error code.
   * @param message - a human-readable explanation; the error's `message` is `${code}: ${message}`.
   * @param details - the argument, element index and cause the error is about.
   */
  constructor(code: PrivkitErrorCode, message: string, details?: PrivkitErrorDetails | null) {
    const problem = constructorProblem(code, message, details);
    if (problem !== undefined) throw new PrivkitError('E_ARG', problem.message, { argument: problem.argument });
    details ??= {};
    const text = message.length > MAX_MESSAGE ? `${message.slice(0, MAX_MESSAGE)}... (${message.length - MAX_MESSAGE} more characters)` : message;
    super(`${code}: ${text}`, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'PrivkitError';
    this.code = code;
    if (details.argument !== undefined) this.argument = details.argument;
    if (details.index !== undefined) this.index = details.index;
  }
}

/** What is wrong with the PrivkitError constructor's arguments, or undefined. */
function constructorProblem(code: unknown, message: unknown, details: unknown): { message: string; argument: string } | undefined {
  if (typeof code !== 'string' || !CODES.has(code)) return { message: `code must be one of ${[...CODES].join(', ')}`, argument: 'code' };
  if (typeof message !== 'string') return { message: `message must be a string, got ${typeof message}`, argument: 'message' };
  if (details === undefined || details === null) return undefined;
  if (typeof details !== 'object') return { message: `details must be an object, got ${typeof details}`, argument: 'details' };
  const { argument, index } = details as PrivkitErrorDetails;
  if (argument !== undefined && (typeof argument !== 'string' || argument.length > 256)) {
    return { message: 'details.argument must be a string of at most 256 characters', argument: 'details.argument' };
  }
  if (index !== undefined && !(typeof index === 'number' && Number.isSafeInteger(index) && index >= 0)) {
    return { message: 'details.index must be an integer >= 0', argument: 'details.index' };
  }
  return undefined;
}

/** The error for a non-finite element; the pool re-raises it with the index shifted to the caller's array. */
export function nonFiniteError(argument: string, index: number, value: number): PrivkitError {
  return new PrivkitError('E_NONFINITE', `${argument}[${index}] is ${value}; values must be finite`, {
    argument,
    index,
  });
}

/** The rejection of an aborted operation: E_ABORTED with the signal's reason as its cause. */
export function abortedError(signal: AbortSignal): PrivkitError {
  return new PrivkitError('E_ABORTED', 'the operation was aborted', { cause: signal.reason });
}

/** A worker's error as it crosses to the caller's thread (structured-cloneable). */
export interface WorkerError {
  /** Set for a PrivkitError. */
  code?: PrivkitErrorCode;
  /** The message, without the `CODE: ` prefix of a PrivkitError. */
  text: string;
  argument?: string;
  index?: number;
}

/** Where a part's elements start in the caller's array named `argument`. */
export interface ElementOffset {
  argument: string;
  offset: number;
}

/** A thrown value as it crosses to the caller's thread: a PrivkitError as its fields, anything else as its message. */
export function toWorkerError(error: unknown): WorkerError {
  if (!(error instanceof PrivkitError)) return { text: error instanceof Error ? error.message : String(error) };
  const prefix = `${error.code}: `;
  const text = error.message.startsWith(prefix) ? error.message.slice(prefix.length) : error.message;
  return { code: error.code, text, argument: error.argument, index: error.index };
}

/**
 * A worker's error rebuilt on the caller's thread: a PrivkitError re-indexed into the caller's array
 * when `part` says where the part's elements start (see the header), anything else E_WORKER.
 */
export function fromWorkerError(error: WorkerError, part: ElementOffset | undefined): PrivkitError {
  const { code, text, argument, index } = error;
  if (code === undefined) return new PrivkitError('E_WORKER', `a pool worker failed: ${text}`);
  if (part === undefined || argument !== part.argument || index === undefined) return new PrivkitError(code, text, { argument, index });
  const moved = index + part.offset;
  const reference = `${argument}[${index}]`;
  const at = text.indexOf(reference);
  const message = at < 0 ? text : `${text.slice(0, at)}${argument}[${moved}]${text.slice(at + reference.length)}`;
  return new PrivkitError(code, message, { argument, index: moved });
}
