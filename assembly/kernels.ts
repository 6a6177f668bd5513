// The kernels module (src/kernels/wasm.ts declares it): clipping and aggregation of float32
// matrices. Each kernel lives at assembly/kernels/<name>.ts, beside the TypeScript module that calls
// it (src/kernels/<name>.ts).
export { heapBase } from './wasm/runtime';
export { firstNonFinite } from './kernels/stream';
export { sumSquaresRows, scaleRows, clampValues } from './kernels/clip';
export { accumulateRows } from './kernels/reduce';
