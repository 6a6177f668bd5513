// privkit/protect: model and data protection. Encrypted tensor containers (sealTensors, openTensors,
// createSealStream, createOpenStream; docs/FORMAT.md) with key wrapping for several recipients
// (RSA-OAEP, X25519 / P-256, hybrid ML-KEM-768 + X25519, passphrases), Ed25519-signed models and
// Fernet tokens, all on WebCrypto; and data desensitization: keyed pseudonymization, masking,
// generalization and suppression by column policy, a k-anonymity / l-diversity report, and the DP
// releases recommended over ad-hoc masking (dpContingencyTable, dpQuantiles).
export { sealTensors, openTensors, createSealStream, createOpenStream } from './container.js';
export type { OpenedTensor, OpenOptions, OpenStream, OpenStreamOptions, SealOptions, Tensor, TensorData, TensorDtype, TensorPiece, TensorSpec } from './container.js';
export { availableRecipientKinds, generateRecipientKeys, MAX_PBKDF2_ITERATIONS, MAX_RECIPIENTS, MIN_PBKDF2_ITERATIONS } from './keys.js';
export type { OpeningKey, PassphraseKey, PassphraseRecipient, Recipient, RecipientKeyPair, RecipientKind, RecipientPublicKey } from './keys.js';
export { generateSigningKeys } from './sign.js';
export type { ModelSigningKeys } from './sign.js';
export { DEFAULT_CHUNK_SIZE } from './format.js';
export { fernetDecrypt, fernetEncrypt, generateFernetKey } from './fernet.js';
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
