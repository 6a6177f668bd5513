// Guards shared by every family that takes `{ pool }`: the pool must be a runner of pooled
// operations, and options that can not cross to worker threads (a generator, a seed) are refused
// rather than silently ignored.
import { PrivkitError } from '../errors.js';
import { describe } from '../validate.js';
import type { PoolRunner } from './types.js';

/** Checks that `pool` is a Pool from createPool() (a runner of pooled operations); E_ARG naming `argument` otherwise. */
export function assertPool(pool: unknown, argument: string): asserts pool is PoolRunner {
  if (typeof (pool as Partial<PoolRunner> | null)?.run !== 'function') {
    throw new PrivkitError('E_ARG', `${argument} must be a Pool from createPool(), got ${describe(pool)}`, { argument });
  }
}

/** Refuses an option the pool's workers can not take (each draws from its own CSPRNG): E_ARG naming it, saying what to do `instead`. */
export function refuseInPool(argument: string, value: unknown, instead: string): void {
  if (value !== undefined) {
    throw new PrivkitError('E_ARG', `${argument} can not be used with a pool: each worker draws from its own CSPRNG (${instead})`, { argument });
  }
}
