// privkit: WebAssembly-accelerated privacy compute engine. The sync kernels need `await ready()`.
export { ready } from './wasm/runtime.js';
export { PrivkitError } from './errors.js';
export type { PrivkitErrorCode, PrivkitErrorDetails } from './errors.js';
export { l2Norms, clipByL2, clipPerLayer, clipAndSum, clipValues, MAX_LAYERS } from './kernels/clip.js';
export type { ClipAndSumOptions, ClipAndSumResult, ClipOptions, LayerOptions } from './kernels/clip.js';
export { sum, mean, weightedMean } from './kernels/reduce.js';
