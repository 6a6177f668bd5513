// privkit: WebAssembly-accelerated privacy compute engine. The sync kernels need `await ready()`.
export { ready } from './wasm/runtime.js';
export { PrivkitError } from './errors.js';
export type { PrivkitErrorCode, PrivkitErrorDetails } from './errors.js';
export { l2Norms, clipAndSum, MAX_LAYERS } from './kernels/clip.js';
export { clipByL2, clipPerLayer, clipValues } from './kernels/clip-into.js';
export type { ClipAndSumOptions, ClipAndSumResult, ClipOptions, LayerOptions } from './kernels/clip.js';
export { sum, mean, weightedMean } from './kernels/reduce.js';
