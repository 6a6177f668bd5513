// Errors across the worker boundary. A worker sends a PrivkitError as its fields (code, the message
// text after the code, argument, index); the caller's thread rebuilds it. An element error of a
// part's rows of the input (its argument is the input's name) is re-indexed structurally: the index
// moves by the part's first element, and so does the element reference `argument[index]` that such
// messages name (nonFiniteError and the kernels' element errors). Anything else a worker throws
// becomes E_WORKER.
import { PrivkitError, type PrivkitErrorCode } from '../errors.js';

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

export function toWorkerError(error: unknown): WorkerError {
  if (!(error instanceof PrivkitError)) return { text: error instanceof Error ? error.message : String(error) };
  const prefix = `${error.code}: `;
  const text = error.message.startsWith(prefix) ? error.message.slice(prefix.length) : error.message;
  return { code: error.code, text, argument: error.argument, index: error.index };
}

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
