// privkit/secagg: secure aggregation (Bonawitz et al. 2017 with its consistency check against an
// active server, SecAgg+ of Bell et al. 2020) with quantization into Z_2^b and distributed discrete
// Gaussian noise (Kairouz, Liu, Steinke 2021).
export { applyMasks, wordMask } from './masks.js';
export type { Mask } from './masks.js';
export { planDistributedDp } from './ddp.js';
export type { DistributedDpOptions, DistributedDpPlan } from './ddp.js';
export { SecAggClient } from './client.js';
export type { SecAggClientOptions, SecAggClientState } from './client.js';
export { SecAggServer } from './server.js';
export type { SecAggResult, SecAggServerOptions, SecAggServerRound } from './server.js';
export { simulateRound } from './simulate.js';
export type { SimulateRoundOptions, SimulateRoundResult } from './simulate.js';
export { encodeMessage, decodeMessage, signMessage, signedBytes, survivorsDigest } from './messages.js';
export { encodeBinaryMessage, decodeBinaryMessage } from './binary.js';
export type { BinaryDecodeOptions } from './binary.js';
export { MAX_CLIENTS, MAX_NEIGHBOURHOOD, MAX_ID_LENGTH, MAX_MESSAGE_CHARS } from './limits.js';
export type {
  AdvertiseKeysMessage,
  ClientMessage,
  ConsistencyCheckMessage,
  ConsistencySignatureMessage,
  DecodeOptions,
  EncodedMessage,
  EncryptedShare,
  EncryptedSharesMessage,
  MaskedInputMessage,
  MaskingStatement,
  PublicKeys,
  PublicKeysMessage,
  RevealedShare,
  SecAggMessage,
  ServerMessage,
  SetupMessage,
  ShareKeysMessage,
  SigningKey,
  SurvivorSignature,
  UnmaskMessage,
  UnmaskRequestMessage,
} from './messages.js';
export { detectKeyAgreement, detectSigning, generateSigningKeyPair, publicKeyProblem } from './crypto.js';
export type { KeyAgreementCurve, Participant, SigningKeyPair } from './crypto.js';
export { CommunicationGraph, communicationGraph } from './graph.js';
export { SHAMIR_PRIME, shamirSplit, shamirCombine, shamirCombiner, lagrangeAtZero } from './shamir.js';
export type { ShamirOptions, ShamirShare } from './shamir.js';
export { quantize, dequantize, MAX_ROUNDING_ATTEMPTS, MAX_QUANTIZED_MAGNITUDE } from './quantize.js';
export type { QuantizeOptions, DequantizeOptions } from './quantize.js';
export { randomizedHadamard, inverseRandomizedHadamard, rotationLength, ROTATION_STREAM, MAX_ROTATION_LENGTH } from './rotation.js';
