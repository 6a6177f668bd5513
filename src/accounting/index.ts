// privkit/accounting: privacy accountants (RDP, PLD), noise calibration, budgets and zCDP.
export { RdpAccountant } from './rdp-accountant.js';
export type { RdpAccountantOptions } from './rdp-accountant.js';
export { DEFAULT_ORDERS } from './rdp.js';
export type { DeltaResult, EpsilonResult } from './conversion.js';
export type {
  DistributedDiscreteGaussianEvent,
  GaussianEvent,
  LaplaceEvent,
  Neighbours,
  NormalizedEvent,
  PrivacyEvent,
  Sampling,
  SubsampledGaussianEvent,
  ZcdpEvent,
} from './events.js';
export type { AccountantJson } from './ledger.js';
export { PldAccountant } from './pld-accountant.js';
export type { PldAccountantOptions, PldEpsilonResult } from './pld-accountant.js';
export { calibrateNoiseMultiplier, calibrateSteps } from './calibrate.js';
export type { CalibrationOptions, CalibrationResult, StepsCalibrationOptions } from './calibrate.js';
export { PrivacyBudget } from './budget.js';
export type { Accountant, PrivacyBudgetOptions } from './budget.js';
export { discreteGaussianZcdp, zcdpToDelta, zcdpToEpsilon } from './zcdp.js';
export { subsampledDistributedEvent } from './events.js';
