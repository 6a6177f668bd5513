// The messages between the pool and its workers. A worker announces that its wasm engine is ready,
// with its THREAD_ID (see src/wasm/shared-memory.ts), or that it failed to start; then each request
// runs one part of a pooled operation, named as in the registry, and is answered by its id with the
// part's result or its error (and, when asked for, progress messages before that).
import type { FloatArray } from '../validate.js';
import type { WorkerError } from '../errors.js';
import type { FloatDtype } from './types.js';

/** A new plain array of `dtype`. */
export function plainArray(dtype: FloatDtype, length: number): FloatArray {
  return dtype === 'float64' ? new Float64Array(length) : new Float32Array(length);
}

export interface Request {
  id: number;
  operation: string;
  /** The registry family whose pool-run file exports the operation's run (see PoolOperation.family). */
  family: string;
  task: unknown;
  /** The part's rows of the input: a view of shared memory, or a copy moved to the worker. */
  input?: FloatArray;
  /**
   * When the input lies in a shared wasm memory, where the worker reads it in place: the memory's id
   * (numbered by the pool's thread), the memory itself only in the first request naming it to this
   * worker (the worker keeps it until told to forget it), and for a part that writes no output, the
   * input's place in it, sent instead of `input`: a view brings the worker a new SharedArrayBuffer
   * object per message, which V8 counts as the whole memory of new external memory, pressing the
   * worker into garbage collections.
   */
  inputMemory?: { id: number; memory?: WebAssembly.Memory; place?: { byteOffset: number; length: number; dtype: FloatDtype } };
  /** The modules built for shared memory that the pool's thread compiled and had not yet sent this worker. */
  sharedModules?: Record<string, WebAssembly.Module>;
  /** The part's rows of the output, a view of shared memory. */
  output?: FloatArray;
  /** Without shared memory: the worker writes a new array of this kind and sends it back. */
  allocate?: { dtype: FloatDtype; length: number };
  /** Without shared memory, in place: the worker writes into its copy of the input and sends it back. */
  inPlace?: boolean;
  /** Modules the pool's thread compiled that it had not yet sent this worker: the worker loads them rather than compiling its own. */
  modules?: Record<string, WebAssembly.Module>;
  /** The caller wants progress: the worker sends `progress` replies while the part runs. */
  progress?: boolean;
}

/** The pool's thread no longer holds the memory `forget` (it was garbage collected there): the worker drops it too. */
export interface Forget {
  forget: number;
}

export type Reply =
  | { kind: 'ready'; thread: bigint }
  | { kind: 'failed'; message: string }
  | { kind: 'progress'; id: number; done: number }
  | { kind: 'done'; id: number; value: unknown; output?: FloatArray }
  | { kind: 'error'; id: number; error: WorkerError };

/**
 * The buffers of the fresh arrays in `value` (typed arrays that span their whole, unshared buffer,
 * in arrays and plain objects), to be moved to the other thread rather than copied.
 */
export function freshBuffers(value: unknown, found = new Set<ArrayBuffer>()): ArrayBuffer[] {
  if (ArrayBuffer.isView(value)) {
    const { buffer } = value;
    if (buffer instanceof ArrayBuffer && value.byteOffset === 0 && value.byteLength === buffer.byteLength) found.add(buffer);
  } else if (Array.isArray(value)) {
    for (const item of value) if (typeof item === 'object') freshBuffers(item, found);
  } else if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    for (const item of Object.values(value)) if (typeof item === 'object') freshBuffers(item, found);
  }
  return [...found];
}
