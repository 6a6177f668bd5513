// privkit/prio: Prio3 verifiable distributed aggregation (draft-irtf-cfrg-vdaf-20). Clients shard a
// measurement with a fully linear proof of its validity among non-colluding aggregators, which
// verify the proof on their shares, sum the valid reports' output shares, and hand the aggregate
// shares to a collector. Malicious clients' invalid reports are rejected; no single aggregator
// learns a measurement.
export { Prio3, Prio3Aggregator, VERIFY_KEY_SIZE, NONCE_SIZE, MAX_CTX_LENGTH, CHECKSUM_SIZE } from './prio3.js';
export type { Prio3Report, Prio3AggregateShare, Prio3ShardOptions, Prio3VerifyInput, Prio3VerifyState, Prio3VerifyInit, Prio3LeaderInit, Prio3HelperInit } from './prio3.js';
export {
  prio3Count,
  prio3Sum,
  prio3SumVec,
  prio3SumVecWithMultiproof,
  prio3Histogram,
  prio3MultihotCountVec,
  prio3HigherDegree,
  MAX_MEASUREMENT_LENGTH,
  MAX_SUM_MAX,
} from './variants.js';
export type { Prio3CommonOptions, Prio3SumOptions, Prio3SumVecOptions, Prio3MultiproofOptions, Prio3HistogramOptions, Prio3MultihotOptions } from './variants.js';
export { shardReports, leaderInitReports, helperInitReports } from './batch.js';
export type { Prio3BatchOptions, Prio3StepOptions, Prio3LeaderInput, Prio3HelperInput } from './batch.js';
export { prio3BoundedL2VecSum, PRIO3_BOUNDED_L2_ID, MAX_BOUNDED_L2_BITS } from './bounded-l2.js';
export type { Prio3BoundedL2Options } from './bounded-l2.js';
export { prio3PineL2VecSum, PRIO3_PINE_L2_ID, PINE_ALPHA, PINE_WRAPAROUND_CHECKS, MAX_PINE_LENGTH } from './pine.js';
export type { Prio3PineL2Options } from './pine.js';
