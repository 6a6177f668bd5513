// Guards shared by every family that takes `{ pool }`: the pool must be a runner of pooled
// operations, and options that can not cross to worker threads (a generator, a seed) are refused
// rather than silently ignored. Also the point where work on the caller's thread lets an abort in
// (the check of the cancellation and progress options is callOptions in src/validate.ts, the error
// of an abort abortedError in src/errors.ts: the pool engine uses them too).
import { abortedError, PrivkitError } from '../errors.js';
import { describe } from '../validate.js';
import type { PoolRunner } from './types.js';

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

/**
 * For work on the caller's thread between two steps: with a signal, yields to the event loop (so
 * that an abort, a timer or a click can happen) and rejects with E_ABORTED if it aborted.
 */
export async function checkpoint(signal: AbortSignal | undefined): Promise<void> {
  if (signal === undefined) return;
  await new Promise((resolve) => setTimeout(resolve, 0));
  if (signal.aborted) throw abortedError(signal);
}
