// The wasm module's exports: pointer-and-length kernels over linear memory.
export { heapBase, wipeScratch } from './wasm/memory';
export { firstNonFinite } from './validate';
export { sumSquaresRows, scaleRows, clampValues } from './kernels/clip';
export { accumulateRows } from './kernels/reduce';
export { chachaBytes, uniformDoubles, generatorBytes } from './dp/rng';
export { gaussianFill64, gaussianFill32, laplaceFill64, laplaceFill32, gaussianAdd64, gaussianAdd32, laplaceAdd64, laplaceAdd32, secureLaplaceLattice, secureLaplaceTable, secureGaussianLattice } from './dp/noise';
export { montMul, montSqr, montPow, montPowScratchBytes, windowBits, montPowSecret, montPowSecretScratchBytes, secretWindowBits, montCounters } from './paillier/modpow';
export { andWords } from './secagg/masks';
export { hadamardRotate, hadamardSigns, hadamardBlock, hadamardSpans, quantizeChunk, discreteGaussianFill, discreteGaussianAcceptance } from './dp/discrete';
export { addKeystreams, addWords } from './secagg/masks';
