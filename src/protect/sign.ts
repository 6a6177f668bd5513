// Signed models: an Ed25519 (RFC 8032, WebCrypto) signature over a container's header hash and its
// chunks, chained as h_0 = SHA-256(header), h_{i+1} = SHA-256(h_i || SHA-256(chunk_i)); the signature
// is over "privkit/protect/v1 signature" || h_n and trails the last chunk. Verified on open when a
// public key is given. The chain hashes whole chunks, not only their GCM tags: a recipient holds the
// chunk key, and with it GHASH is linear and public, so any recipient could change a chunk's
// ciphertext (and the plaintext it decrypts to) while keeping its tag.
import { PrivkitError } from '../errors.js';
import { detectSigning } from '../secagg/crypto.js';
import { describe, readOptions } from '../validate.js';
import { checkTypedArray, currentLength } from '../wasm/boundary.js';
import { concat, own, sha256 } from './bytes.js';
import { KEY_ID_BYTES, SIGNATURE_DOMAIN } from './format.js';

/** An Ed25519 key pair: the private key as a WebCrypto key (usage 'sign'), the public key as 32 raw bytes. */
export interface ModelSigningKeys {
  /** The signing key (WebCrypto Ed25519, usage 'sign'). */
  privateKey: CryptoKey;
  /** The raw 32-byte public key that verifies (`opts.verifyKey` of openTensors). */
  publicKey: Uint8Array;
}

/**
 * A fresh Ed25519 key pair for signing containers (`opts.signer` of {@link sealTensors}); give
 * `publicKey` to whoever opens them (`opts.verifyKey`). The private key is non-extractable unless
 * `opts.extractable`.
 *
 * @param opts - `extractable`: make the private key exportable (to store it).
 * @throws {PrivkitError} E_AUTH when the runtime's WebCrypto has no Ed25519.
 *
 * @example
 * ```ts
 * import { generateSigningKeys } from 'privkit/protect';
 * const signer = await generateSigningKeys();
 * console.log(signer.publicKey.length); // 32
 * ```
 */
export async function generateSigningKeys(opts?: { extractable?: boolean }): Promise<ModelSigningKeys> {
  const { extractable } = readOptions(opts, ['extractable']);
  if (extractable !== undefined && typeof extractable !== 'boolean') {
    throw new PrivkitError('E_ARG', `opts.extractable must be a boolean, got ${describe(extractable)}`, { argument: 'opts.extractable' });
  }
  await detectSigning();
  const pair = (await crypto.subtle.generateKey({ name: 'Ed25519' }, extractable === true, ['sign', 'verify'])) as CryptoKeyPair;
  return { privateKey: pair.privateKey, publicKey: new Uint8Array(await crypto.subtle.exportKey('raw', pair.publicKey)) };
}

/** A checked signer: its private key, and the key id of its public key (which it must match). */
export interface ReadySigner {
  privateKey: CryptoKey;
  keyId: Uint8Array;
}

/** Checks `opts.signer`: an Ed25519 private key and the public key that belongs to it (checked by a test signature). */
export async function readSigner(value: unknown, name = 'opts.signer'): Promise<ReadySigner> {
  if (value === null || typeof value !== 'object') throw new PrivkitError('E_ARG', `${name} must be { privateKey, publicKey }, got ${describe(value)}`, { argument: name });
  const { privateKey, publicKey } = readOptions(value as Partial<ModelSigningKeys>, ['privateKey', 'publicKey'], name);
  if (!(privateKey instanceof CryptoKey) || privateKey.algorithm.name !== 'Ed25519' || privateKey.type !== 'private' || !privateKey.usages.includes('sign')) {
    throw new PrivkitError('E_ARG', `${name}.privateKey must be an Ed25519 private CryptoKey with usage 'sign', got ${describe(privateKey)}`, { argument: `${name}.privateKey` });
  }
  const verify = await importVerifyKey(publicKey, `${name}.publicKey`);
  const probe = new Uint8Array(32);
  const signature = await crypto.subtle.sign('Ed25519', privateKey, probe);
  if (!(await crypto.subtle.verify('Ed25519', verify.key, signature, probe))) {
    throw new PrivkitError('E_ARG', `${name}.publicKey does not belong to ${name}.privateKey`, { argument: `${name}.publicKey` });
  }
  return { privateKey, keyId: verify.keyId };
}

/** Imports a raw 32-byte Ed25519 public key (E_ARG naming `name` when it is not one). */
export async function importVerifyKey(value: unknown, name = 'opts.verifyKey'): Promise<{ key: CryptoKey; keyId: Uint8Array }> {
  const raw = own(checkTypedArray(name, value, ['Uint8Array']));
  if (currentLength(raw) !== 32) throw new PrivkitError('E_ARG', `${name} must be a 32-byte Ed25519 public key, got ${describe(value)}`, { argument: name });
  await detectSigning();
  try {
    const key = await crypto.subtle.importKey('raw', raw, { name: 'Ed25519' }, false, ['verify']);
    return { key, keyId: (await sha256(raw)).subarray(0, KEY_ID_BYTES) };
  } catch (cause) {
    throw new PrivkitError('E_ARG', `${name} is not a valid Ed25519 public key`, { argument: name, cause });
  }
}

/** The running hash of a container's chunks (ciphertext and tag). */
export class ChunkChain {
  private constructor(private value: Uint8Array<ArrayBuffer>) {}

  static start(headerHash: Uint8Array<ArrayBuffer>): ChunkChain {
    return new ChunkChain(headerHash);
  }

  /** Takes the next chunk's SHA-256 (of the whole sealed chunk: ciphertext || tag). */
  async add(chunkDigest: Uint8Array): Promise<void> {
    this.value = await sha256(concat([this.value, chunkDigest]));
  }

  signedBytes(): Uint8Array<ArrayBuffer> {
    return concat([SIGNATURE_DOMAIN, this.value]);
  }
}
