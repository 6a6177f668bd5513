// The cryptographic primitives of secure aggregation (Bonawitz et al. 2017, §3: key agreement KA,
// authenticated encryption AE), all from WebCrypto so the same code runs in Node and browsers:
// - KA: X25519, or ECDH on P-256 where the runtime lacks X25519 (detected once); public keys
//   travel as raw bytes (32 bytes for X25519, 65-byte uncompressed points for P-256);
// - HKDF-SHA256 turns each ECDH secret into a 32-byte pairwise mask seed (s-pair) or an
//   AES-GCM-256 key (c-pair); the salt is the round id, the info string names the purpose;
// - AE: AES-GCM with a fresh 12-byte random IV and associated data binding (round, sender, recipient);
// - a SHA-256 commitment to each client's self-mask seed b_u, so a wrongly rebuilt b_u is detected.
import { PrivkitError } from '../errors.js';
import { fromBase64Url } from './messages.js';

export type KeyAgreementCurve = 'X25519' | 'P-256';

/** Raw public key bytes per curve. */
export const PUBLIC_KEY_BYTES: Readonly<Record<KeyAgreementCurve, number>> = { X25519: 32, 'P-256': 65 };

/** Bytes of a private scalar (the secret-shared s key) on either curve. */
export const PRIVATE_KEY_BYTES = 32;

export const IV_BYTES = 12;

/** AES-GCM appends a 16-byte tag to each ciphertext. */
export const GCM_TAG_BYTES = 16;

const MASK_INFO = new TextEncoder().encode('privkit/secagg/v1 pairwise mask seed');
const SHARE_KEY_INFO = new TextEncoder().encode('privkit/secagg/v1 share encryption key');
const SELF_MASK_COMMITMENT_DOMAIN = new TextEncoder().encode('privkit/secagg/v1 self-mask seed commitment');

/** Bytes of a self-mask seed commitment (a SHA-256 digest). */
export const SELF_MASK_COMMITMENT_BYTES = 32;

// PKCS#8 headers in front of the 32-byte private scalar: RFC 8410 (X25519) and RFC 5915 / SEC 1
// ECPrivateKey without the optional public key (P-256).
const PKCS8_PREFIX: Readonly<Record<KeyAgreementCurve, Uint8Array>> = {
  X25519: hexBytes('302e020100300506032b656e04220420'),
  'P-256': hexBytes('3041020100301306072a8648ce3d020106082a8648ce3d030107042730250201010420'),
};

let detected: Promise<KeyAgreementCurve> | undefined;

/** 'X25519' when WebCrypto supports it here, else 'P-256'. Detected once per thread. */
export function detectKeyAgreement(): Promise<KeyAgreementCurve> {
  detected ??= crypto.subtle.generateKey({ name: 'X25519' }, false, ['deriveBits']).then(
    () => 'X25519' as const,
    () => 'P-256' as const,
  );
  return detected;
}

export interface AgreementKeyPair {
  privateKey: CryptoKey;
  /** Raw public key bytes. */
  publicKey: Uint8Array;
}

/** A fresh extractable key pair (extractable so the s key can be secret-shared). */
export async function generateAgreementKeyPair(curve: KeyAgreementCurve): Promise<AgreementKeyPair> {
  const pair = (await crypto.subtle.generateKey(algorithm(curve), true, ['deriveBits'])) as CryptoKeyPair;
  const publicKey = new Uint8Array(await crypto.subtle.exportKey('raw', pair.publicKey));
  return { privateKey: pair.privateKey, publicKey };
}

/** Imports a peer's raw public key; malformed bytes or an invalid point -> E_PROTOCOL. */
export async function importPublicKey(curve: KeyAgreementCurve, raw: Uint8Array): Promise<CryptoKey> {
  if (raw.length !== PUBLIC_KEY_BYTES[curve]) {
    throw new PrivkitError('E_PROTOCOL', `a ${curve} public key has ${PUBLIC_KEY_BYTES[curve]} bytes, got ${raw.length}`, {
      argument: 'publicKey',
    });
  }
  try {
    return await crypto.subtle.importKey('raw', arrayBacked(raw), algorithm(curve), true, []);
  } catch (cause) {
    throw new PrivkitError('E_PROTOCOL', `invalid ${curve} public key`, { argument: 'publicKey', cause });
  }
}

/** The 32-byte private scalar of a key pair (JWK `d`), the secret that is Shamir-shared. */
export async function exportPrivateScalar(privateKey: CryptoKey): Promise<Uint8Array> {
  const jwk = await crypto.subtle.exportKey('jwk', privateKey);
  return fromBase64Url(jwk.d!);
}

/**
 * Imports a reconstructed private scalar and checks that it belongs to `publicKey` (the key the
 * client advertised); a mismatch means the shares were inconsistent -> E_AUTH.
 */
export async function importPrivateScalar(
  curve: KeyAgreementCurve,
  scalar: Uint8Array,
  publicKey: Uint8Array,
): Promise<CryptoKey> {
  const pkcs8 = new Uint8Array(PKCS8_PREFIX[curve].length + PRIVATE_KEY_BYTES);
  pkcs8.set(PKCS8_PREFIX[curve]);
  pkcs8.set(scalar, PKCS8_PREFIX[curve].length);
  let key: CryptoKey;
  let jwk: JsonWebKey;
  try {
    key = await crypto.subtle.importKey('pkcs8', pkcs8, algorithm(curve), true, ['deriveBits']);
    jwk = await crypto.subtle.exportKey('jwk', key);
  } catch (cause) {
    throw new PrivkitError('E_AUTH', `reconstructed ${curve} private key is invalid`, { cause });
  }
  const derived =
    curve === 'X25519' ? fromBase64Url(jwk.x!) : concat([Uint8Array.of(4), fromBase64Url(jwk.x!), fromBase64Url(jwk.y!)]);
  if (!equalBytes(derived, publicKey)) {
    throw new PrivkitError('E_AUTH', 'reconstructed private key does not match the advertised public key');
  }
  return key;
}

/** The raw ECDH shared secret; a degenerate result (e.g. a small-order X25519 point) -> E_AUTH. */
export async function sharedSecret(curve: KeyAgreementCurve, privateKey: CryptoKey, publicKey: CryptoKey): Promise<Uint8Array> {
  try {
    return new Uint8Array(await crypto.subtle.deriveBits({ name: algorithm(curve).name, public: publicKey }, privateKey, 256));
  } catch (cause) {
    throw new PrivkitError('E_AUTH', `${curve} key agreement failed`, { cause });
  }
}

/** s_uv: the 32-byte mask seed HKDF-SHA256(secret, salt = round id, info = mask purpose). */
export async function deriveMaskSeed(secret: Uint8Array, roundId: string): Promise<Uint8Array> {
  const ikm = await crypto.subtle.importKey('raw', arrayBacked(secret), 'HKDF', false, ['deriveBits']);
  return new Uint8Array(await crypto.subtle.deriveBits(hkdf(roundId, MASK_INFO), ikm, 256));
}

/** The AES-GCM-256 key of a pair: HKDF-SHA256(secret, salt = round id, info = encryption purpose). */
export async function deriveShareKey(secret: Uint8Array, roundId: string): Promise<CryptoKey> {
  const ikm = await crypto.subtle.importKey('raw', arrayBacked(secret), 'HKDF', false, ['deriveKey']);
  return crypto.subtle.deriveKey(hkdf(roundId, SHARE_KEY_INFO), ikm, { name: 'AES-GCM', length: 256 }, false, [
    'encrypt',
    'decrypt',
  ]);
}

/**
 * C_u, the commitment to the self-mask seed b_u that client u sends with ShareKeys:
 *   C_u = SHA-256(field(domain) || field(roundId) || field(clientId) || field(b_u))
 * where field(x) = the byte length of x as a 4-byte big-endian unsigned integer, then x; strings
 * are UTF-8 and domain is 'privkit/secagg/v1 self-mask seed commitment'. The length prefixes make
 * the encoding injective, so a commitment for one (round, client) never fits another. b_u is 32
 * uniformly random bytes, so C_u hides it (preimage resistance); collision resistance binds u to it.
 */
export async function commitSelfMaskSeed(roundId: string, clientId: string, seed: Uint8Array): Promise<Uint8Array> {
  const encoder = new TextEncoder();
  const fields = [SELF_MASK_COMMITMENT_DOMAIN, encoder.encode(roundId), encoder.encode(clientId), seed];
  const data = concat(
    fields.flatMap((field) => {
      const length = new Uint8Array(4);
      new DataView(length.buffer).setUint32(0, field.length, false);
      return [length, field];
    }),
  );
  return new Uint8Array(await crypto.subtle.digest('SHA-256', arrayBacked(data)));
}

/** Associated data of a share ciphertext: the JSON array [roundId, sender, recipient] in UTF-8. */
export function shareAssociatedData(roundId: string, sender: string, recipient: string): Uint8Array {
  return new TextEncoder().encode(JSON.stringify([roundId, sender, recipient]));
}

export async function encryptShare(
  key: CryptoKey,
  plaintext: Uint8Array,
  associatedData: Uint8Array,
): Promise<{ iv: Uint8Array; ciphertext: Uint8Array }> {
  const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
  const params = { name: 'AES-GCM', iv, additionalData: arrayBacked(associatedData) };
  const ciphertext = new Uint8Array(await crypto.subtle.encrypt(params, key, arrayBacked(plaintext)));
  return { iv, ciphertext };
}

/** AES-GCM decryption; a wrong key, IV, associated data or a tampered ciphertext -> E_AUTH. */
export async function decryptShare(
  key: CryptoKey,
  iv: Uint8Array,
  ciphertext: Uint8Array,
  associatedData: Uint8Array,
  sender: string,
): Promise<Uint8Array> {
  try {
    const params = { name: 'AES-GCM', iv: arrayBacked(iv), additionalData: arrayBacked(associatedData) };
    return new Uint8Array(await crypto.subtle.decrypt(params, key, arrayBacked(ciphertext)));
  } catch (cause) {
    throw new PrivkitError('E_AUTH', `the shares from ${JSON.stringify(sender)} failed authentication`, {
      argument: 'shares',
      cause,
    });
  }
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function algorithm(curve: KeyAgreementCurve): { name: string; namedCurve?: string } {
  return curve === 'X25519' ? { name: 'X25519' } : { name: 'ECDH', namedCurve: 'P-256' };
}

function hkdf(roundId: string, info: Uint8Array): HkdfParams {
  return { name: 'HKDF', hash: 'SHA-256', salt: new TextEncoder().encode(roundId), info: arrayBacked(info) };
}

/** WebCrypto takes views on (non-shared) ArrayBuffers only. */
function arrayBacked(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return bytes.buffer instanceof ArrayBuffer ? (bytes as Uint8Array<ArrayBuffer>) : new Uint8Array(bytes);
}

function hexBytes(hex: string): Uint8Array {
  return Uint8Array.from(hex.match(/../g)!, (h) => parseInt(h, 16));
}
