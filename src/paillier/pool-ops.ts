// Packed Paillier vectors as pooled operations, their plans and merges (the contract is in
// src/pool/types.ts; Pool's encryptVector and decryptVector run them; the workers' runs are in
// ./pool-run.ts): the ciphertexts split over the workers. Plans check as the sync encryptVector and
// decryptVector do; encryption refuses `opts.rng` (each worker draws r from its own CSPRNG, never
// from r^n values queued on the caller's key), and worker results are checked to lie in Z*_{n^2}
// before they become Ciphertexts. Decryption sends the private key's p and q to this pool's own
// worker threads only. (Key generation's and precomputation's pooled work is in ./key-pool-ops.ts,
// below the key classes.)
import { PrivkitError } from '../errors.js';
import { refuseInPool } from '../pool/guards.js';
import type { Plan, PoolOperation } from '../pool/types.js';
import { assertPublicKey, checkEncryptedVector, type Ciphertext, type EncryptedVector, type PrivateKey, type PublicKey } from './keys.js';
import { packVector, unpackVector, type PackingLayout, type PackingOptions } from './packing.js';

export interface EncryptTask {
  n: bigint;
  plaintexts: bigint[];
}

export interface DecryptTask {
  p: bigint;
  q: bigint;
  ciphertexts: bigint[];
}

export interface EncryptPlan extends Plan<EncryptTask> {
  publicKey: PublicKey;
  layout: PackingLayout;
  length: number;
}

export interface DecryptPlan extends Plan<DecryptTask> {
  vector: EncryptedVector;
}

export const encryptVector: PoolOperation<[publicKey: PublicKey, x: Float32Array, opts: PackingOptions], EncryptTask, bigint[], EncryptedVector, EncryptPlan> = {
  name: 'encryptVector',
  family: 'paillier',
  plan(publicKey, x, opts) {
    assertPublicKey('publicKey', publicKey);
    const { layout, plaintexts } = packVector(publicKey, x, opts);
    refuseInPool('opts.rng', opts.rng, 'use the sync encryptVector');
    return {
      rows: plaintexts.length,
      publicKey,
      layout,
      length: x.length,
      task: (part) => ({ n: publicKey.n, plaintexts: plaintexts.slice(part.row, part.row + part.rows) }),
    };
  },
  merge: (parts, plan) => {
    const ciphertexts = parts.flat().map((value) => plan.publicKey.ciphertext(value));
    return { publicKey: plan.publicKey, layout: plan.layout, length: plan.length, count: 1, ciphertexts };
  },
};

export const decryptVector: PoolOperation<[privateKey: PrivateKey, v: EncryptedVector], DecryptTask, bigint[], Float64Array, DecryptPlan> = {
  name: 'decryptVector',
  family: 'paillier',
  plan(privateKey, v) {
    checkEncryptedVector(privateKey, v);
    const values = v.ciphertexts.map((c, k) => {
      if (!privateKey.publicKey.equals((c as Partial<Ciphertext> | null)?.publicKey)) {
        throw new PrivkitError('E_ARG', `v.ciphertexts[${k}] is not a Ciphertext under this key`, { argument: 'v', index: k });
      }
      return c.value;
    });
    const { p, q } = privateKey;
    return { rows: values.length, vector: v, task: (part) => ({ p, q, ciphertexts: values.slice(part.row, part.row + part.rows) }) };
  },
  merge: (parts, plan) => unpackVector(plan.vector, parts.flat()),
};
