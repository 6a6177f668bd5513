// privkit/fl: federated averaging (McMahan et al. 2017) with user-level DP (McMahan et al. 2018),
// central (CentralDpAggregator) or through a pluggable UpdateAggregator; clients train on the
// worker pool (Pool.localUpdates).
export { createModel, Model } from './model.js';
export type { BatchTotals, Evaluation, LossAndGradient, ModelSpec, ModelSpecInput } from './model.js';
export { localUpdate } from './local.js';
export type { ClientTask, LocalTrainingOptions } from './local.js';
export { splitClients } from './data.js';
export type { Dataset, SplitOptions } from './data.js';
export { CentralDpAggregator, NonPrivateAggregator } from './aggregators.js';
export type { AggregateResult, CentralDpAggregatorOptions, NonPrivateAggregatorOptions, UpdateAggregator } from './aggregators.js';
export { FedAvg, runFedAvg } from './fedavg.js';
export type { ClientSampling, FedAvgCallbacks, FedAvgOptions, FedAvgResult, RoundMetrics, RoundOptions } from './fedavg.js';
export { SecureAggregator, calibrateSecureNoise } from './distributed.js';
export type { SecureAggregatorOptions, SecureCalibrationOptions, SecureRoundReport } from './distributed.js';
export { PrioAggregator, MAX_PRIO_FL_BITS } from './prio-aggregator.js';
export type { PrioAggregatorOptions, PrioRoundReport } from './prio-aggregator.js';
