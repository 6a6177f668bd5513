// privkit/audit: privacy auditing. auditMechanism bounds a black-box mechanism's epsilon from below
// by running it on two neighbouring inputs; the one-run audits (Steinke, Nasr, Jagielski 2023) bound
// DP-SGD and DP-FedAvg from canaries inserted into a single training run.
export { auditMechanism } from './mechanism.js';
export type { AuditEvent, AuditOptions, AuditResult } from './mechanism.js';
export type { MechanismFunction, MechanismModule, MechanismOutput } from './sampling.js';
export { auditCanaryScores, oneRunEpsilonLowerBound, oneRunPValue } from './one-run.js';
export type { CanaryScoresOptions, OneRunCounts, OneRunResult } from './one-run.js';
export { auditDpSgd } from './dpsgd.js';
export type { DpSgdAuditOptions, DpSgdAuditResult, PrivatizeBatch } from './dpsgd.js';
export { auditFedAvg, CanaryAggregator } from './fedavg.js';
export type { CanaryAggregatorOptions, FedAvgAuditOptions, FedAvgAuditResult } from './fedavg.js';
export { clopperPearson } from './statistics.js';
export type { Interval } from './statistics.js';
export { betaQuantile, betaTails } from '../math/public.js';
