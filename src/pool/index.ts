// privkit/pool: the kernels as async operations spread over a pool of workers.
export { createPool, Pool, sharedFloat32Array } from './pool.js';
export type { PoolOptions } from './pool.js';
