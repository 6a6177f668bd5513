// privkit/pool: the kernels as async operations spread over a pool of workers.
export { createPool, Pool, sharedFloat32Array, sharedFloat64Array, MAX_POOL_THREADS } from './pool.js';
export type { PoolOptions, PoolNoiseOptions } from './pool.js';
