// The wasm module's exports: pointer-and-length kernels over linear memory. Each kernel lives at
// assembly/<family>/<name>.ts, beside the TypeScript module that calls it (src/<family>/<name>.ts).
export { heapBase, wipeScratch } from './wasm/runtime';
export { firstNonFinite } from './kernels/stream';
export { sumSquaresRows, scaleRows, clampValues } from './kernels/clip';
export { accumulateRows } from './kernels/reduce';
export { chachaBytes, uniformDoubles, generatorBytes } from './dp/rng';
export { gaussianFill64, gaussianFill32, laplaceFill64, laplaceFill32, gaussianAdd64, gaussianAdd32, laplaceAdd64, laplaceAdd32 } from './dp/noise';
export { secureLaplaceLattice, secureLaplaceTable, secureGaussianLattice } from './dp/secure';
export { montPow, montPowScratchBytes, montPowSecret, montPowSecretScratchBytes, secretWindowBits, montCounters } from './paillier/modpow';
export { andWords, addKeystreams, addWords } from './secagg/masks';
export { hadamardRotate, hadamardSigns, hadamardBlock, hadamardSpans } from './secagg/rotation';
export { quantizeChunk } from './secagg/quantize';
export { discreteGaussianFill, discreteGaussianAcceptance } from './dp/discrete';
