// The prio module (src/prio/wasm.ts declares it): Field64 / Field128 Montgomery arithmetic, NTT and
// the ParallelSum(Mul) gadget polynomial (assembly/prio/field.ts), TurboSHAKE128 and the
// XofTurboShake128 expansion into field elements (assembly/prio/keccak.ts), and Prio3 sharding,
// verification and verifier-share combination of the chunked bit-check circuits, one call each
// (assembly/prio/prio3.ts).
export { heapBase } from './wasm/runtime';
export { firstNonCanonical, toMontgomery, powerIsOne, mulVec, addVec, weightedSums, sumVec, dotMontgomery, ntt, nttScratchBytes, parallelSumMul, parallelSumMulScratchBytes, nodePowers, lagrangeEval, lagrangeEvalScratchBytes, extendLast, chunkGadgetPoly, chunkGadgetPolyScratchBytes, chunkWireChecks, chunkWireChecksScratchBytes } from './prio/field';
export { turboShake128, xofExpand, SHAKE_STATE_BYTES } from './prio/keccak';
export { shardChunked, shardChunkedScratchBytes, verifyChunked, verifyChunkedScratchBytes, combineChunked, combineChunkedScratchBytes } from './prio/prio3';
