// Packed Paillier vectors' pooled operations, their runs in the workers (the contract is in
// src/pool/types.ts; the plans and merges are in ./pool-ops.ts). Each worker encrypts with r drawn
// from its own CSPRNG and keeps the last key it was given (its n^2 Montgomery constants, or its CRT
// constants, are reused). Keys are rebuilt with any test-key size: the caller's key enforced its policy.
import type { PartRun } from '../pool/types.js';
import { PrivateKey, PublicKey } from './keys.js';
import type { DecryptTask, EncryptTask } from './pool-ops.js';

/** The public key of this worker's last encryption part. */
let workerPublicKey: PublicKey | undefined;
/** The private key of this worker's last decryption part. */
let workerPrivateKey: PrivateKey | undefined;

export const encryptVector: PartRun<EncryptTask, bigint[]> = ({ n, plaintexts }, _, progress) => {
  if (workerPublicKey?.n !== n) workerPublicKey = new PublicKey(n, { allowInsecureTestKeys: true });
  const key = workerPublicKey;
  return plaintexts.map((m, k) => {
    progress(k);
    return key.encrypt(m).value;
  });
};

export const decryptVector: PartRun<DecryptTask, bigint[]> = ({ p, q, ciphertexts }, _, progress) => {
  if (workerPrivateKey?.p !== p || workerPrivateKey.q !== q) workerPrivateKey = new PrivateKey(p, q, { allowInsecureTestKeys: true });
  const key = workerPrivateKey;
  // each value is checked to lie in Z*_{n^2}
  return ciphertexts.map((c, k) => {
    progress(k);
    return key.decrypt(c);
  });
};
