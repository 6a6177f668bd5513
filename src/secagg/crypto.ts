// The cryptographic primitives of secure aggregation (Bonawitz et al. 2017, §3: key agreement KA,
// authenticated encryption AE, signatures SIG), all from WebCrypto so the same code runs in Node and
// browsers:
// - KA: X25519, or ECDH on P-256 where the runtime lacks X25519 (detected once); public keys
//   travel as raw bytes (32 bytes for X25519, 65-byte uncompressed points for P-256) and are
//   validated before use: a canonical X25519 u-coordinate outside the small-order set (RFC 7748 §6.1
//   warns of all-zero shared secrets), a P-256 point on the curve (SEC 1 §3.2.2; the cofactor is 1);
// - HKDF-SHA256 turns each ECDH secret into a 32-byte pairwise mask seed (s-pair) or, for the
//   c-pair, four AES-GCM-256 keys: one per share (s-key share, self-mask share) and direction; the
//   salt is the round id, the info string names the purpose and the pair;
// - AE: AES-GCM. Each share key encrypts exactly one share, so its IV is the constant zero. A holder
//   reveals a share together with its key: the server can then decrypt the ciphertext the dealer
//   signed (in its ShareKeys message) and see whether the holder revealed what the dealer sent. A
//   holder can not find another key that opens an honest dealer's ciphertext (that would forge a
//   GCM tag), so a share that fails reconstruction is traced to its dealer or to its holder;
// - SIG: Ed25519 (RFC 8032); every client message is signed, so a message can not be forged or
//   altered on its way;
// - a SHA-256 commitment to each client's self-mask seed b_u, so a wrongly rebuilt b_u is detected.
import { PrivkitError } from '../errors.js';
import { assertOneOf, describe } from '../validate.js';
import { assertBytes } from '../validate-arrays.js';
import { typedArrayKind } from '../wasm/boundary.js';
import { fromBase64Url } from './base64url.js';
import { MAX_CLIENTS, MAX_ID_LENGTH } from './limits.js';

/** The key-agreement curve of a round (WebCrypto ECDH): X25519 where available, else P-256. */
export type KeyAgreementCurve = 'X25519' | 'P-256';

/** Raw public key bytes per curve. */
const PUBLIC_KEY_BYTES: Readonly<Record<KeyAgreementCurve, number>> = { X25519: 32, 'P-256': 65 };

/** Bytes of a private scalar (the secret-shared s key) on either curve. */
const PRIVATE_KEY_BYTES = 32;

/** AES-GCM appends a 16-byte tag to each ciphertext. */
export const GCM_TAG_BYTES = 16;

/** Bytes of a share key (AES-256). */
export const SHARE_KEY_BYTES = 32;

const MASK_INFO = new TextEncoder().encode('privkit/secagg/v1 pairwise mask seed');
const SHARE_KEYS_INFO = new TextEncoder().encode('privkit/secagg/v2 share keys');
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

/** Imports a peer's raw public key; malformed bytes or an invalid point (publicKeyProblem) -> E_PROTOCOL. */
export async function importPublicKey(curve: KeyAgreementCurve, raw: Uint8Array): Promise<CryptoKey> {
  const problem = publicKeyProblem(curve, raw);
  if (problem !== undefined) throw new PrivkitError('E_PROTOCOL', `invalid ${curve} public key: ${problem}`, { argument: 'publicKey' });
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

/** The two share keys a dealer uses for one holder: one for its s-key share, one for its self-mask share. */
export interface ShareKeys {
  key: Uint8Array;
  selfMask: Uint8Array;
}

/**
 * The share keys of the pair (a, b), a before b in registration order: HKDF-SHA256(secret, salt =
 * round id, info = 'privkit/secagg/v2 share keys' || field(a) || field(b)), 128 bytes read as the
 * keys of a's shares for b (s-key share, self-mask share), then of b's shares for a. Returns them
 * by dealer.
 */
export async function deriveShareKeys(secret: Uint8Array, roundId: string, a: string, b: string): Promise<Map<string, ShareKeys>> {
  const encoder = new TextEncoder();
  const info = concat([SHARE_KEYS_INFO, ...lengthPrefixed(encoder.encode(a)), ...lengthPrefixed(encoder.encode(b))]);
  const ikm = await crypto.subtle.importKey('raw', arrayBacked(secret), 'HKDF', false, ['deriveBits']);
  const bytes = new Uint8Array(await crypto.subtle.deriveBits(hkdf(roundId, info), ikm, 4 * 8 * SHARE_KEY_BYTES));
  const key = (i: number) => bytes.slice(i * SHARE_KEY_BYTES, (i + 1) * SHARE_KEY_BYTES);
  return new Map([
    [a, { key: key(0), selfMask: key(1) }],
    [b, { key: key(2), selfMask: key(3) }],
  ]);
}

const ZERO_IV = new Uint8Array(12);

/** AES-GCM-256 under a single-use share key (constant zero IV). */
export async function sealShare(key: Uint8Array, plaintext: Uint8Array): Promise<Uint8Array> {
  const aes = await crypto.subtle.importKey('raw', arrayBacked(key), 'AES-GCM', false, ['encrypt']);
  return new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv: ZERO_IV }, aes, arrayBacked(plaintext)));
}

/** The plaintext of a share ciphertext, or undefined when the key, or the ciphertext, is not the right one. */
export async function openShare(key: Uint8Array, ciphertext: Uint8Array): Promise<Uint8Array | undefined> {
  try {
    const aes = await crypto.subtle.importKey('raw', arrayBacked(key), 'AES-GCM', false, ['decrypt']);
    return new Uint8Array(await crypto.subtle.decrypt({ name: 'AES-GCM', iv: ZERO_IV }, aes, arrayBacked(ciphertext)));
  } catch {
    return undefined;
  }
}

function lengthPrefixed(bytes: Uint8Array): Uint8Array[] {
  const length = new Uint8Array(4);
  new DataView(length.buffer).setUint32(0, bytes.length, false);
  return [length, bytes];
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
  const data = concat(fields.flatMap(lengthPrefixed));
  return new Uint8Array(await crypto.subtle.digest('SHA-256', arrayBacked(data)));
}

// ---- Public key validation ----

const X25519_P = (1n << 255n) - 19n;
/**
 * The canonical u-coordinates of the points of small order on Curve25519 and its twist: 0, 1, p - 1
 * and the two of order 8. X25519 with any of them gives an all-zero or key-independent secret.
 */
const X25519_SMALL_ORDER = new Set([
  0n,
  1n,
  X25519_P - 1n,
  0x00b8495f16056286fdb1329ceb8d09da6ac49ff1fae35616aeb8413b7c7aebe0n,
  0x57119fd0dd4e22d8868e1c58c45c44045bef839c55b1d0b1248c50a3bc959c5fn,
]);

const P256_P = 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn;
const P256_B = 0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604bn;

/**
 * Why `raw` is not a usable public key of `curve`, or undefined when it is: X25519 keys must be
 * 32 bytes encoding a canonical u < 2^255 - 19 (top bit clear) outside the small-order set; P-256
 * keys 65 bytes 0x04 || x || y with x, y < p and y^2 = x^3 - 3x + b mod p.
 */
export function publicKeyProblem(curve: KeyAgreementCurve, raw: Uint8Array): string | undefined {
  assertOneOf('curve', curve, ['X25519', 'P-256'] as const);
  if (!(raw instanceof Uint8Array) || raw.length !== PUBLIC_KEY_BYTES[curve]) {
    return `a ${curve} public key has ${PUBLIC_KEY_BYTES[curve]} bytes`;
  }
  if (curve === 'X25519') {
    const u = bytesToBigIntLE(raw);
    if (u >= X25519_P) return 'not a canonical u-coordinate';
    return X25519_SMALL_ORDER.has(u) ? 'a point of small order' : undefined;
  }
  if (raw[0] !== 4) return 'not an uncompressed point';
  const x = bytesToBigIntBE(raw.subarray(1, 33));
  const y = bytesToBigIntBE(raw.subarray(33));
  if (x >= P256_P || y >= P256_P) return 'a coordinate is not below p';
  const rhs = (((x * x * x - 3n * x + P256_B) % P256_P) + P256_P) % P256_P;
  return (y * y) % P256_P === rhs ? undefined : 'not on the curve';
}

function bytesToBigIntBE(bytes: Uint8Array): bigint {
  let v = 0n;
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  return v;
}

function bytesToBigIntLE(bytes: Uint8Array): bigint {
  let v = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[i]!);
  return v;
}

// ---- Signatures (Ed25519) ----

/** Bytes of an Ed25519 public key and of a signature. */
export const SIGNING_KEY_BYTES = 32;
const SIGNATURE_BYTES = 64;

/** An Ed25519 key pair: the private key as a WebCrypto key (usage 'sign'), the public key raw. */
export interface SigningKeyPair {
  /** The WebCrypto private key (algorithm Ed25519, usage 'sign'). */
  privateKey: CryptoKey;
  /** The raw 32-byte public key, to register with the application. */
  publicKey: Uint8Array;
}

/** A participant the application expects in a round: its id and Ed25519 public key. */
export interface Participant {
  /** The client id (1 to 256 characters). */
  id: string;
  /** Its raw 32-byte Ed25519 public key. */
  signingPublicKey: Uint8Array;
}

let signingChecked: Promise<void> | undefined;

/**
 * Resolves when WebCrypto has Ed25519 here (Node >= 20, Chromium >= 137, Firefox >= 129, Safari
 * >= 17); otherwise rejects with E_AUTH: without signatures no message of the protocol can be
 * authenticated. Checked once per thread.
 *
 * @throws {PrivkitError} E_AUTH (as a rejection) when WebCrypto has no Ed25519.
 */
export function detectSigning(): Promise<void> {
  signingChecked ??= crypto.subtle.generateKey({ name: 'Ed25519' }, false, ['sign', 'verify']).then(
    () => undefined,
    (cause: unknown) => {
      throw new PrivkitError(
        'E_AUTH',
        'this runtime has no Ed25519 in WebCrypto (crypto.subtle); secure aggregation signs every message with it ' +
          '(Node >= 20, Chromium >= 137, Firefox >= 129, Safari >= 17)',
        { cause },
      );
    },
  );
  return signingChecked;
}

/** Lists already read, with the map read from them: many clients of one process (a simulation) share one list. */
const readLists = new WeakMap<readonly Participant[], { length: number; keys: Map<string, Uint8Array> }>();

/**
 * The application's participant list as id -> signing key (copies); malformed entries, repeated
 * ids or keys -> E_ARG. A list is read once: pass a new array, not a changed one, to change it.
 */
export function participantKeys(participants: readonly Participant[], argument = 'expectedParticipants'): Map<string, Uint8Array> {
  const read = Array.isArray(participants) ? readLists.get(participants) : undefined;
  if (read !== undefined && read.length === participants.length) return read.keys;
  const keys = readParticipantKeys(participants, argument);
  readLists.set(participants, { length: participants.length, keys });
  return keys;
}

function readParticipantKeys(participants: readonly Participant[], argument: string): Map<string, Uint8Array> {
  if (!Array.isArray(participants) || participants.length === 0 || participants.length > MAX_CLIENTS) {
    throw new PrivkitError('E_ARG', `${argument} must be an array of 1 to ${MAX_CLIENTS} participants`, { argument });
  }
  const keys = new Map<string, Uint8Array>();
  const seen = new Set<string>();
  // a for loop, not forEach: a hole in the list is a missing participant, never skipped
  for (let i = 0; i < participants.length; i++) {
    const p = participants[i];
    const fail = (what: string) => new PrivkitError('E_ARG', `${argument}[${i}]${what}`, { argument, index: i });
    if (typeof p !== 'object' || p === null) throw fail(' must be { id, signingPublicKey }');
    if (typeof p.id !== 'string' || p.id.length === 0 || p.id.length > MAX_ID_LENGTH) {
      throw fail(`.id must be a non-empty string of at most ${MAX_ID_LENGTH} characters`);
    }
    if (typedArrayKind(p.signingPublicKey) !== 'Uint8Array' || p.signingPublicKey.length !== SIGNING_KEY_BYTES) throw fail('.signingPublicKey must be 32 bytes');
    if (keys.has(p.id)) throw fail(' repeats an id');
    if (seen.has(bytesId(p.signingPublicKey))) throw fail(' repeats a signing key');
    seen.add(bytesId(p.signingPublicKey));
    keys.set(p.id, p.signingPublicKey.slice());
  }
  return keys;
}

/**
 * A fresh Ed25519 key pair (the private key is not extractable).
 *
 * @throws {PrivkitError} E_AUTH (as a rejection) when this runtime's WebCrypto has no Ed25519.
 */
export async function generateSigningKeyPair(): Promise<SigningKeyPair> {
  await detectSigning();
  const pair = (await crypto.subtle.generateKey({ name: 'Ed25519' }, false, ['sign', 'verify'])) as CryptoKeyPair;
  return { privateKey: pair.privateKey, publicKey: new Uint8Array(await crypto.subtle.exportKey('raw', pair.publicKey)) };
}

/** Checks that `key` is an Ed25519 CryptoKey usable for signing; else E_ARG naming `argument`. */
export function checkSigningPrivateKey(key: unknown, argument: string): asserts key is CryptoKey {
  if (!isSigningKey(key)) {
    throw new PrivkitError('E_ARG', `${argument} must be an Ed25519 CryptoKey for 'sign', got ${describe(key)}`, { argument });
  }
}

/** Whether `key` is an Ed25519 CryptoKey for 'sign'; the getters throw on an object that is not a real CryptoKey (the brand check). */
function isSigningKey(key: unknown): boolean {
  try {
    return key instanceof CryptoKey && key.algorithm.name === 'Ed25519' && key.usages.includes('sign');
  } catch {
    return false;
  }
}

/** Checks the shape of a signing key pair: { privateKey: an Ed25519 signing CryptoKey, publicKey: 32 raw bytes }; else E_ARG. */
export function checkSigningKeyShape(key: unknown, argument: string): asserts key is SigningKeyPair {
  if (typeof key !== 'object' || key === null) {
    throw new PrivkitError('E_ARG', `${argument} must be { privateKey: an Ed25519 CryptoKey for 'sign', publicKey: 32 raw bytes }, got ${describe(key)}`, { argument });
  }
  const pair = key as Partial<SigningKeyPair>;
  checkSigningPrivateKey(pair.privateKey, `${argument}.privateKey`);
  assertBytes(`${argument}.publicKey`, pair.publicKey, SIGNING_KEY_BYTES);
}

/** Checks that `key` is an Ed25519 key pair whose halves belong together (one signature made and verified); else E_ARG. */
export async function checkSigningKeyPair(key: unknown, argument: string): Promise<SigningKeyPair> {
  checkSigningKeyShape(key, argument);
  const pair = key;
  const probe = new TextEncoder().encode('privkit/secagg/v2 key pair check');
  if (!(await new SignatureVerifier().verify(pair.publicKey, await sign(pair.privateKey, probe), probe))) {
    throw new PrivkitError('E_ARG', `${argument}.publicKey does not belong to ${argument}.privateKey`, { argument });
  }
  return pair;
}

export async function sign(privateKey: CryptoKey, bytes: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.sign('Ed25519', privateKey, arrayBacked(bytes)));
}

/** Verifies Ed25519 signatures, importing each public key once. */
export class SignatureVerifier {
  readonly #keys = new Map<string, Promise<CryptoKey | undefined>>();

  /** True when `signature` is a valid signature of `bytes` under the raw public key; false for anything malformed. */
  async verify(publicKey: Uint8Array, signature: Uint8Array, bytes: Uint8Array): Promise<boolean> {
    if (publicKey.length !== SIGNING_KEY_BYTES || signature.length !== SIGNATURE_BYTES) return false;
    const id = bytesId(publicKey);
    let key = this.#keys.get(id);
    if (key === undefined) {
      key = crypto.subtle.importKey('raw', arrayBacked(publicKey), { name: 'Ed25519' }, false, ['verify']).catch(() => undefined);
      this.#keys.set(id, key);
    }
    const imported = await key;
    if (imported === undefined) return false;
    return crypto.subtle.verify('Ed25519', imported, arrayBacked(signature), arrayBacked(bytes)).catch(() => false);
  }
}

export async function sha256(bytes: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', arrayBacked(bytes)));
}

/** A string that identifies `bytes` (one character per byte), for sets and maps of keys. */
export function bytesId(bytes: Uint8Array): string {
  return String.fromCharCode(...bytes);
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

function hexBytes(text: string): Uint8Array {
  return Uint8Array.from(text.match(/../g)!, (h) => parseInt(h, 16));
}
