// privkit/secagg: secure aggregation (Bonawitz et al. 2017, SecAgg+ of Bell et al. 2020) with
// quantization into Z_2^b and distributed discrete Gaussian noise (Kairouz, Liu, Steinke 2021).
export { applyMasks, wordMask } from './masks.js';
export type { Mask } from './masks.js';
export { planDistributedDp } from './ddp.js';
export type { DistributedDpOptions, DistributedDpPlan } from './ddp.js';
