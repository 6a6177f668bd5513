// The tfjs module (src/tfjs/wasm.ts declares it): the float64 kernels of privkit/tfjs's clipped
// sum, in a module of its own so that an app that does not train tfjs models does not carry it.
export { heapBase } from './wasm/runtime';
export { weightedOuterSum } from './tfjs/outer-products';
