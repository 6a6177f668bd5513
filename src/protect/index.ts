// privkit/protect (data desensitization half): keyed pseudonymization, masking, generalization and
// suppression by column policy, a k-anonymity / l-diversity report, and the DP releases recommended
// over ad-hoc masking (dpContingencyTable, dpQuantiles).
export {
  createPseudonymizer,
  pseudonymCollisionProbability,
  maskString,
  maskEmail,
  maskPhone,
  truncateDate,
  bucketNumber,
  topCode,
  desensitize,
} from './desensitize.js';
export type {
  Pseudonymizer,
  PseudonymizerOptions,
  CollisionRisk,
  MaskOptions,
  DateUnit,
  BucketOptions,
  TopCodeOptions,
  ColumnRule,
  ColumnPolicy,
  DesensitizeOptions,
  DesensitizedRecord,
} from './desensitize.js';
export { anonymityReport } from './anonymity.js';
export type { AnonymityOptions, AnonymityReport, DiversityReport } from './anonymity.js';
export { dpContingencyTable, dpQuantiles } from './dp-release.js';
export type { DomainValue, ContingencyTableOptions, DpContingencyTable, QuantilesOptions } from './dp-release.js';
