// The wasm module's exports: pointer-and-length kernels over linear memory.
export { heapBase } from './memory';
export { firstNonFinite } from './validate';
export { sumSquaresRows, scaleRows, clampValues } from './clip';
export { accumulateRows } from './reduce';
export { chachaBytes, uniformDoubles, generatorBytes } from './chacha';
export { gaussianFill64, gaussianFill32, laplaceFill64, laplaceFill32, gaussianAdd64, gaussianAdd32, laplaceAdd64, laplaceAdd32, secureLaplaceLattice, secureLaplaceTable, secureGaussianLattice } from './noise';
export { montMul, montSqr, montPow, montPowScratchBytes, windowBits, montPowSecret, montPowSecretScratchBytes, secretWindowBits, montCounters } from './bigint';
export { andWords } from './mask';
export { hadamardRotate, quantizeChunk, discreteGaussianFill, discreteGaussianAcceptance } from './quantize';
export { addKeystreams, addWords } from './mask';
