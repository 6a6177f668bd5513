// privkit/pool: the kernels and the other pooled operations as async functions spread over a pool
// of workers. The Pool's methods are listed in src/pool-api.ts; the engine in this folder knows no family.
export { createPool, Pool, type CallOptions, type PoolNoiseOptions } from '../pool-api.js';
export { MAX_POOL_THREADS, type PoolOptions } from './engine.js';
export { sharedFloat32Array, sharedFloat64Array } from './memory.js';
export type { PoolRunner } from './types.js';
