// The dp module (src/dp/wasm.ts declares it): every kernel that draws from the ChaCha20 generator in
// batches — the noise samplers of assembly/dp/ and the secure-aggregation masks, rotation and
// quantization of assembly/secagg/ (which sample the discrete Gaussian too), so that an app using
// both families carries the generator and the samplers once. Each kernel lives beside the
// TypeScript module that calls it (assembly/<family>/<name>.ts <-> src/<family>/<name>.ts).
import { wipeDiscreteScratch } from './dp/discrete';
import { wipeKeystream } from './dp/rng';
import { wipeQuantizeScratch } from './secagg/quantize';

export { heapBase } from './wasm/runtime';
export { firstNonFinite } from './kernels/stream';
export { chachaBytes } from './dp/rng';
export { gaussianFill64, gaussianFill32, laplaceFill64, laplaceFill32, gaussianAdd64, gaussianAdd32, laplaceAdd64, laplaceAdd32 } from './dp/noise';
export { secureLaplaceLattice, secureLaplaceTable, secureGaussianLattice } from './dp/secure';
export { discreteGaussianFill, discreteGaussianAcceptance } from './dp/discrete';
export { zigguratNormalTables } from './dp/ziggurat';
export { andWords, addKeystreams, addWords } from './secagg/masks';
export { hadamardRotate, hadamardSigns, hadamardBlock, hadamardSpans } from './secagg/rotation';
export { quantizeChunk } from './secagg/quantize';

/** Zeroes every static scratch block of this module that may hold keystream or values drawn from it. */
export function wipeScratch(): void {
  wipeKeystream();
  wipeDiscreteScratch();
  wipeQuantizeScratch();
}
