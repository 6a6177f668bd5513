// Guards shared by every family that takes `{ pool }`: the pool must be a runner of pooled
// operations, and options that can not cross to worker threads (a generator, a seed) are refused
// rather than silently ignored. Also the cancellation and progress options of long operations
// (pooled or not): their check, the error of an abort, and the point where work on the caller's
// thread lets an abort in.
import { PrivkitError } from '../errors.js';
import { assertFunction, describe, readOptions } from '../validate.js';
import type { CallOptions, PoolRunner } from './types.js';

/** Checks that `pool` is a Pool from createPool() (a runner of pooled operations); E_ARG naming `argument` otherwise. */
export function assertPool(pool: unknown, argument: string): asserts pool is PoolRunner {
  const runner = pool as Partial<PoolRunner> | null;
  if (typeof runner?.run !== 'function' || typeof runner.runWith !== 'function') {
    throw new PrivkitError('E_ARG', `${argument} must be a Pool from createPool(), got ${describe(pool)}`, { argument });
  }
}

/** Refuses an option the pool's workers can not take (each draws from its own CSPRNG): E_ARG naming it, saying what to do `instead`. */
export function refuseInPool(argument: string, value: unknown, instead: string): void {
  if (value !== undefined) {
    throw new PrivkitError('E_ARG', `${argument} can not be used with a pool: each worker draws from its own CSPRNG (${instead})`, { argument });
  }
}

/** `signal` and `onProgress` of the options object `opts` (named `name`), checked: E_ARG naming the bad one. */
export function callOptions(opts: CallOptions | null | undefined, name = 'opts'): CallOptions {
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

/** The rejection of an aborted operation: E_ABORTED with the signal's reason as its cause. */
export function abortedError(signal: AbortSignal): PrivkitError {
  return new PrivkitError('E_ABORTED', 'the operation was aborted', { cause: signal.reason });
}

/**
 * For work on the caller's thread between two steps: with a signal, yields to the event loop (so
 * that an abort, a timer or a click can happen) and rejects with E_ABORTED if it aborted.
 */
export async function checkpoint(signal: AbortSignal | undefined): Promise<void> {
  if (signal === undefined) return;
  await new Promise((resolve) => setTimeout(resolve, 0));
  if (signal.aborted) throw abortedError(signal);
}
