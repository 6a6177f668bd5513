// privkit/paillier: Paillier homomorphic encryption on the wasm Montgomery kernels, signed and
// fixed-point plaintext encodings, packed vectors, JSON and byte serialization, and the modular
// exponentiation underneath it.
export { ready } from '../wasm/runtime.js';
export {
  Ciphertext,
  generateKeyPair,
  PrivateKey,
  PublicKey,
  IMPORTED_PRIME_ROUNDS,
  MAX_FACTOR_BITS_DIFFERENCE,
  MAX_KEY_BITS,
  MAX_PRECOMPUTE,
  MIN_KEY_BITS,
  MIN_TEST_KEY_BITS,
  addVectors,
  decryptVector,
  encryptVector,
  packingLayout,
  type EncryptedVector,
  type EncryptOptions,
  type GenerateKeyPairOptions,
  type KeyOptions,
  type KeyPair,
} from './keys.js';
export { decodeFixed, decodeSigned, encodeFixed, encodeSigned, FIXED_POINT_BASE, maxSignedInt } from './encoding.js';
export { type PackingLayout, type PackingOptions } from './packing.js';
export {
  ciphertextFromBytes,
  ciphertextFromJSON,
  ciphertextToBytes,
  ciphertextToJSON,
  privateKeyFromBytes,
  privateKeyFromJSON,
  privateKeyToBytes,
  privateKeyToJSON,
  publicKeyFromBytes,
  publicKeyFromJSON,
  publicKeyToBytes,
  publicKeyToJSON,
  SERIALIZATION_VERSION,
  type CiphertextJSON,
  type PrivateKeyJSON,
  type PublicKeyJSON,
} from './serialize.js';
export { bitLength, MAX_EXPONENT_BITS, MAX_MODULUS_BITS, Modulus, modPow, powBigInt } from './modpow.js';
export { MAX_MILLER_RABIN_ROUNDS, MAX_PRIME_BITS, millerRabin, millerRabinRounds, randomPrime } from './primes.js';
