// Key wrapping of privkit/protect: each container has one random 32-byte content key (CEK), wrapped
// once per recipient so that any one of them can open it. Recipient kinds, all from WebCrypto:
// - 'rsa-oaep': RSA-OAEP with SHA-256 (RFC 8017 §7.1), modulus >= 3072 bits, encrypts the CEK itself;
// - 'x25519' / 'p-256': ECDH with a fresh ephemeral key (RFC 7748 / SEC 1), the shared secret through
//   HKDF-SHA-256 (RFC 5869; salt = ephemeral || recipient public key, info names the kind) into a
//   key-encryption key (KEK) that AES-256-GCM-encrypts the CEK; P-256 where the runtime lacks X25519
//   (detected as privkit/secagg does);
// - 'ml-kem-768-x25519': hybrid, the ML-KEM-768 (FIPS 203) and X25519 shared secrets both enter
//   HKDF, so the KEK stays secret while either problem stays hard; only where WebCrypto has ML-KEM;
// - passphrases: PBKDF2-HMAC-SHA-256 (RFC 8018), >= 600,000 iterations (OWASP 2023), 16-byte salt.
// Every KEK is used for exactly one wrap, so its GCM nonce is the constant zero.
import { PrivkitError } from '../errors.js';
import { detectKeyAgreement, publicKeyProblem } from '../secagg/crypto.js';
import { fromBase64Url, toBase64Url } from '../secagg/base64url.js';
import { assertInteger, assertOneOf, describe, readOptions } from '../validate.js';
import { checkTypedArray, currentLength } from '../wasm/boundary.js';
import { concat, own, randomBytes, sha256, utf8, wipe } from './bytes.js';

/** The kinds of public-key recipients a container can be sealed to. */
export type RecipientKind = 'rsa-oaep' | 'x25519' | 'p-256' | 'ml-kem-768-x25519';

/** A recipient's public key: its kind and bytes (RSA: SPKI DER; X25519: 32 raw bytes; P-256: 65-byte uncompressed point; hybrid: the 1,184-byte ML-KEM-768 key followed by the 32-byte X25519 key). */
export interface RecipientPublicKey {
  /** The recipient's kind. */
  kind: RecipientKind;
  /** The public key bytes, in the kind's encoding. */
  publicKey: Uint8Array;
}

/** A recipient's key pair from {@link generateRecipientKeys}: opens containers sealed to its public key. */
export interface RecipientKeyPair extends RecipientPublicKey {
  /** The RSA-OAEP or ECDH private key (for the hybrid kind: the X25519 half). */
  privateKey: CryptoKey;
  /** The hybrid kind's ML-KEM-768 decapsulation key. */
  kemPrivateKey?: CryptoKey;
}

/** A passphrase recipient: the CEK is wrapped under a PBKDF2-SHA-256 key of the passphrase. */
export interface PassphraseRecipient {
  /** The passphrase (a string is encoded as UTF-8 after NFC normalization). */
  passphrase: string | Uint8Array;
  /** PBKDF2 iterations, >= 600,000 (default 600,000), at most 10,000,000. */
  iterations?: number;
}

/** Whom a container is sealed to. */
export type Recipient = RecipientPublicKey | PassphraseRecipient;
/** What opens a container: a recipient key pair or a passphrase. */
export type OpeningKey = RecipientKeyPair | PassphraseKey;
/** A passphrase that opens a container sealed to it. */
export interface PassphraseKey {
  /** The passphrase the container was sealed with. */
  passphrase: string | Uint8Array;
}

/** Fewest PBKDF2 iterations accepted (sealing and opening). */
export const MIN_PBKDF2_ITERATIONS = 600_000;
/** Most PBKDF2 iterations accepted: a container can not make its opener hash for minutes. */
export const MAX_PBKDF2_ITERATIONS = 10_000_000;
/** Most recipients of one container. */
export const MAX_RECIPIENTS = 64;
/** Passphrase entries an opener tries (each costs a PBKDF2 run), hence the most passphrases of one container. */
const MAX_PASSPHRASE_ATTEMPTS = 4;

export const CEK_BYTES = 32;
const KEY_ID_BYTES = 16;
const SALT_BYTES = 16;
const WRAP_AAD = utf8.encode('privkit/protect/v1 wrap');
const RSA_LABEL = utf8.encode('privkit/protect/v1 rsa-oaep');
const RSA_OAEP = { name: 'RSA-OAEP', hash: 'SHA-256' } as const;
const MLKEM = { name: 'ML-KEM-768' } as const;
const MLKEM_PUBLIC_BYTES = 1184;
const MLKEM_CIPHERTEXT_BYTES = 1088;

/** The header's name of each recipient type (docs/FORMAT.md). */
const TYPE: Readonly<Record<RecipientKind | 'passphrase', string>> = {
  'rsa-oaep': 'rsa-oaep-sha256',
  x25519: 'x25519-hkdf-sha256',
  'p-256': 'p256-hkdf-sha256',
  'ml-kem-768-x25519': 'mlkem768-x25519-hkdf-sha256',
  passphrase: 'pbkdf2-sha256',
};

/** One recipient entry of a container header (JSON; byte fields unpadded base64url). */
export interface RecipientEntry {
  type: string;
  keyId?: string;
  ephemeralKey?: string;
  kemCiphertext?: string;
  salt?: string;
  iterations?: number;
  wrappedKey: string;
}

// ---- Detection ----

let mlKemDetected: Promise<boolean> | undefined;

interface KemSubtle {
  encapsulateBits(algorithm: { name: string }, key: CryptoKey): Promise<{ sharedKey: ArrayBuffer; ciphertext: ArrayBuffer }>;
  decapsulateBits(algorithm: { name: string }, key: CryptoKey, ciphertext: BufferSource): Promise<ArrayBuffer>;
}
const kemSubtle = (): KemSubtle => crypto.subtle as unknown as KemSubtle;

/** Whether this runtime's WebCrypto offers ML-KEM-768 (encapsulateBits / decapsulateBits). Detected once. */
export function detectMlKem(): Promise<boolean> {
  mlKemDetected ??= (async () => {
    if (typeof (crypto.subtle as unknown as Partial<KemSubtle>).encapsulateBits !== 'function') return false;
    try {
      await crypto.subtle.generateKey(MLKEM as unknown as AlgorithmIdentifier, false, ['encapsulateBits', 'decapsulateBits'] as unknown as KeyUsage[]);
      return true;
    } catch {
      return false;
    }
  })();
  return mlKemDetected;
}

/**
 * The recipient kinds this runtime can seal to and open: always 'rsa-oaep' and 'p-256', 'x25519'
 * where WebCrypto has it, 'ml-kem-768-x25519' where it has both ML-KEM-768 and X25519.
 *
 * @example
 * ```ts
 * import { availableRecipientKinds } from 'privkit/protect';
 * console.log(await availableRecipientKinds()); // e.g. [ 'rsa-oaep', 'p-256', 'x25519' ]
 * ```
 */
export async function availableRecipientKinds(): Promise<RecipientKind[]> {
  const kinds: RecipientKind[] = ['rsa-oaep', 'p-256'];
  const x25519 = (await detectKeyAgreement()) === 'X25519';
  if (x25519) kinds.push('x25519');
  if (x25519 && (await detectMlKem())) kinds.push('ml-kem-768-x25519');
  return kinds;
}

/**
 * A fresh recipient key pair of `kind` (default 'ecdh': X25519, or P-256 where the runtime lacks
 * X25519). RSA keys have 3,072 bits. The private key is non-extractable unless `opts.extractable`.
 *
 * @param kind - 'rsa-oaep', 'x25519', 'p-256', 'ml-kem-768-x25519' or 'ecdh' (the best curve here).
 * @param opts - `extractable`: make the private key(s) exportable with `crypto.subtle.exportKey` (to store them).
 * @throws {PrivkitError} E_ARG for an unknown kind, or a kind this runtime lacks (see {@link availableRecipientKinds}).
 *
 * @example
 * ```ts
 * import { generateRecipientKeys } from 'privkit/protect';
 * const alice = await generateRecipientKeys('ecdh');
 * console.log(alice.kind, alice.publicKey.length); // x25519 32 (p-256 65 without X25519)
 * ```
 */
export async function generateRecipientKeys(kind: RecipientKind | 'ecdh' = 'ecdh', opts?: { extractable?: boolean }): Promise<RecipientKeyPair> {
  const { extractable } = readOptions(opts, ['extractable']);
  if (extractable !== undefined && typeof extractable !== 'boolean') {
    throw new PrivkitError('E_ARG', `opts.extractable must be a boolean, got ${describe(extractable)}`, { argument: 'opts.extractable' });
  }
  const chosen = assertOneOf('kind', kind, ['ecdh', 'rsa-oaep', 'x25519', 'p-256', 'ml-kem-768-x25519'] as const);
  const resolved: RecipientKind = chosen === 'ecdh' ? ((await detectKeyAgreement()) === 'X25519' ? 'x25519' : 'p-256') : chosen;
  if (!(await availableRecipientKinds()).includes(resolved)) {
    throw new PrivkitError('E_ARG', `kind ${resolved} is not available in this runtime's WebCrypto`, { argument: 'kind' });
  }
  const x = extractable === true;
  switch (resolved) {
    case 'rsa-oaep': {
      const pair = await crypto.subtle.generateKey({ ...RSA_OAEP, modulusLength: 3072, publicExponent: Uint8Array.of(1, 0, 1) }, x, ['encrypt', 'decrypt']);
      return { kind: resolved, publicKey: new Uint8Array(await crypto.subtle.exportKey('spki', pair.publicKey)), privateKey: pair.privateKey };
    }
    case 'x25519':
    case 'p-256': {
      const pair = (await crypto.subtle.generateKey(ecdhAlgorithm(resolved), x, ['deriveBits'])) as CryptoKeyPair;
      return { kind: resolved, publicKey: new Uint8Array(await crypto.subtle.exportKey('raw', pair.publicKey)), privateKey: pair.privateKey };
    }
    case 'ml-kem-768-x25519': {
      const kem = (await crypto.subtle.generateKey(MLKEM as unknown as AlgorithmIdentifier, x, ['encapsulateBits', 'decapsulateBits'] as unknown as KeyUsage[])) as CryptoKeyPair;
      const ecdh = (await crypto.subtle.generateKey(ecdhAlgorithm('x25519'), x, ['deriveBits'])) as CryptoKeyPair;
      const kemPublic = new Uint8Array(await crypto.subtle.exportKey('raw-public' as 'raw', kem.publicKey));
      const ecdhPublic = new Uint8Array(await crypto.subtle.exportKey('raw', ecdh.publicKey));
      return { kind: resolved, publicKey: concat([kemPublic, ecdhPublic]), privateKey: ecdh.privateKey, kemPrivateKey: kem.privateKey };
    }
  }
}

// ---- Reading recipients (sealing side) ----

/** A checked recipient, its public key imported. */
export type ReadyRecipient =
  | { kind: 'rsa-oaep'; keyId: Uint8Array; key: CryptoKey; modulusBytes: number }
  | { kind: 'x25519' | 'p-256'; keyId: Uint8Array; publicKey: Uint8Array<ArrayBuffer>; key: CryptoKey }
  | { kind: 'ml-kem-768-x25519'; keyId: Uint8Array; publicKey: Uint8Array<ArrayBuffer>; kemKey: CryptoKey; ecdhKey: CryptoKey }
  | { kind: 'passphrase'; secret: Uint8Array<ArrayBuffer>; iterations: number };

/** Checks and imports the recipients of a seal call (1 to MAX_RECIPIENTS); a bad one -> E_ARG naming `recipients[i]`. */
export async function readRecipients(value: unknown, name = 'opts.recipients'): Promise<ReadyRecipient[]> {
  if (!Array.isArray(value) || value.length === 0 || value.length > MAX_RECIPIENTS) {
    throw new PrivkitError('E_ARG', `${name} must be an array of 1 to ${MAX_RECIPIENTS} recipients, got ${describe(value)}`, { argument: name });
  }
  const out: ReadyRecipient[] = [];
  try {
    for (let i = 0; i < value.length; i++) {
      const recipient = await readRecipient(`${name}[${i}]`, value[i]);
      out.push(recipient);
      if (recipient.kind === 'passphrase' && out.filter((r) => r.kind === 'passphrase').length > MAX_PASSPHRASE_ATTEMPTS) {
        // an opener tries only the first few passphrase entries (unwrapKey): a later one could never open
        throw new PrivkitError('E_ARG', `${name} may hold at most ${MAX_PASSPHRASE_ATTEMPTS} passphrases (an opener tries only that many)`, { argument: `${name}[${i}]` });
      }
    }
  } catch (e) {
    for (const r of out) if (r.kind === 'passphrase') wipe(r.secret);
    throw e;
  }
  return out;
}

async function readRecipient(name: string, value: unknown): Promise<ReadyRecipient> {
  if (value === null || typeof value !== 'object') throw new PrivkitError('E_ARG', `${name} must be a recipient object, got ${describe(value)}`, { argument: name });
  const fields = readOptions(value as Partial<RecipientPublicKey & PassphraseRecipient>, ['kind', 'publicKey', 'passphrase', 'iterations'], name);
  if (fields.passphrase !== undefined) {
    if (fields.kind !== undefined || fields.publicKey !== undefined) {
      throw new PrivkitError('E_ARG', `${name} must have either a passphrase or a kind and publicKey, not both`, { argument: name });
    }
    const iterations = fields.iterations === undefined ? MIN_PBKDF2_ITERATIONS : assertInteger(`${name}.iterations`, fields.iterations, MIN_PBKDF2_ITERATIONS, MAX_PBKDF2_ITERATIONS);
    return { kind: 'passphrase', secret: passphraseBytes(`${name}.passphrase`, fields.passphrase), iterations };
  }
  if (fields.iterations !== undefined) throw new PrivkitError('E_ARG', `${name}.iterations belongs to a passphrase recipient`, { argument: `${name}.iterations` });
  const kind = assertOneOf(`${name}.kind`, fields.kind, ['rsa-oaep', 'x25519', 'p-256', 'ml-kem-768-x25519'] as const);
  const publicKey = own(checkTypedArray(`${name}.publicKey`, fields.publicKey, ['Uint8Array']));
  const keyId = await keyIdOf(publicKey);
  const bad = (problem: string, cause?: unknown) =>
    new PrivkitError('E_ARG', `${name}.publicKey is not a usable ${kind} public key: ${problem}`, { argument: `${name}.publicKey`, cause });
  if (!(await availableRecipientKinds()).includes(kind)) throw new PrivkitError('E_ARG', `${name}.kind ${kind} is not available in this runtime's WebCrypto`, { argument: `${name}.kind` });
  switch (kind) {
    case 'rsa-oaep': {
      let key: CryptoKey;
      try {
        key = await crypto.subtle.importKey('spki', publicKey, RSA_OAEP, false, ['encrypt']);
      } catch (cause) {
        throw bad('not an RSA SubjectPublicKeyInfo', cause);
      }
      const bits = (key.algorithm as RsaHashedKeyAlgorithm).modulusLength;
      if (bits < 3072 || bits > 8192 || bits % 8 !== 0) throw bad(`a ${bits}-bit modulus (3,072 to 8,192 bits, whole bytes)`);
      return { kind, keyId, key, modulusBytes: bits / 8 };
    }
    case 'x25519':
    case 'p-256': {
      const problem = publicKeyProblem(kind === 'x25519' ? 'X25519' : 'P-256', publicKey);
      if (problem !== undefined) throw bad(problem);
      return { kind, keyId, publicKey, key: await crypto.subtle.importKey('raw', publicKey, ecdhAlgorithm(kind), false, []) };
    }
    case 'ml-kem-768-x25519': {
      if (publicKey.length !== MLKEM_PUBLIC_BYTES + 32) throw bad(`${publicKey.length} bytes, not ${MLKEM_PUBLIC_BYTES + 32}`);
      const ecdhPublic = publicKey.subarray(MLKEM_PUBLIC_BYTES);
      const problem = publicKeyProblem('X25519', ecdhPublic);
      if (problem !== undefined) throw bad(`its X25519 half is ${problem}`);
      try {
        const kemKey = await crypto.subtle.importKey('raw-public' as 'raw', publicKey.subarray(0, MLKEM_PUBLIC_BYTES), MLKEM as unknown as AlgorithmIdentifier, false, ['encapsulateBits'] as unknown as KeyUsage[]);
        const ecdhKey = await crypto.subtle.importKey('raw', own(ecdhPublic), ecdhAlgorithm('x25519'), false, []);
        return { kind, keyId, publicKey, kemKey, ecdhKey };
      } catch (cause) {
        throw bad('WebCrypto refused it', cause);
      }
    }
  }
}

function passphraseBytes(name: string, value: unknown): Uint8Array<ArrayBuffer> {
  const bytes = typeof value === 'string' ? utf8.encode(value.normalize('NFC')) : own(checkTypedArray(name, value, ['Uint8Array']));
  if (bytes.length === 0 || bytes.length > 4096) {
    wipe(bytes);
    throw new PrivkitError('E_ARG', `${name} must have 1 to 4,096 bytes`, { argument: name });
  }
  return bytes;
}

/** The first 16 bytes of SHA-256 of the public key bytes. */
async function keyIdOf(publicKey: Uint8Array<ArrayBuffer>): Promise<Uint8Array> {
  return (await sha256(publicKey)).subarray(0, KEY_ID_BYTES);
}

// ---- Wrapping ----

/** The header entry that lets `recipient` recover `cek`. */
export async function wrapKey(recipient: ReadyRecipient, cek: Uint8Array<ArrayBuffer>): Promise<RecipientEntry> {
  switch (recipient.kind) {
    case 'rsa-oaep': {
      const wrapped = new Uint8Array(await crypto.subtle.encrypt({ name: 'RSA-OAEP', label: RSA_LABEL }, recipient.key, cek));
      return { type: TYPE['rsa-oaep'], keyId: toBase64Url(recipient.keyId), wrappedKey: toBase64Url(wrapped) };
    }
    case 'x25519':
    case 'p-256': {
      const ephemeral = (await crypto.subtle.generateKey(ecdhAlgorithm(recipient.kind), false, ['deriveBits'])) as CryptoKeyPair;
      const ephemeralKey = new Uint8Array(await crypto.subtle.exportKey('raw', ephemeral.publicKey));
      const shared = await ecdhSecret(recipient.kind, ephemeral.privateKey, recipient.key);
      const kek = await deriveKek(shared, concat([ephemeralKey, recipient.publicKey]), TYPE[recipient.kind]);
      return { type: TYPE[recipient.kind], keyId: toBase64Url(recipient.keyId), ephemeralKey: toBase64Url(ephemeralKey), wrappedKey: toBase64Url(await seal(kek, cek)) };
    }
    case 'ml-kem-768-x25519': {
      const { sharedKey, ciphertext } = await kemSubtle().encapsulateBits(MLKEM, recipient.kemKey);
      const ephemeral = (await crypto.subtle.generateKey(ecdhAlgorithm('x25519'), false, ['deriveBits'])) as CryptoKeyPair;
      const ephemeralKey = new Uint8Array(await crypto.subtle.exportKey('raw', ephemeral.publicKey));
      const kemShared = new Uint8Array(sharedKey);
      const ecdhShared = await ecdhSecret('x25519', ephemeral.privateKey, recipient.ecdhKey);
      const kemCiphertext = new Uint8Array(ciphertext);
      const kek = await deriveKek(concat([kemShared, ecdhShared]), concat([kemCiphertext, ephemeralKey, recipient.publicKey]), TYPE[recipient.kind]);
      wipe(kemShared, ecdhShared);
      return {
        type: TYPE[recipient.kind],
        keyId: toBase64Url(recipient.keyId),
        kemCiphertext: toBase64Url(kemCiphertext),
        ephemeralKey: toBase64Url(ephemeralKey),
        wrappedKey: toBase64Url(await seal(kek, cek)),
      };
    }
    case 'passphrase': {
      const salt = randomBytes(SALT_BYTES);
      const kek = await passphraseKek(recipient.secret, salt, recipient.iterations);
      return { type: TYPE.passphrase, salt: toBase64Url(salt), iterations: recipient.iterations, wrappedKey: toBase64Url(await seal(kek, cek)) };
    }
  }
}

// ---- Unwrapping (opening side) ----

/** A checked opening key. */
export type ReadyOpeningKey =
  | { kind: RecipientKind; publicKey: Uint8Array<ArrayBuffer>; keyId: Uint8Array; privateKey: CryptoKey; kemPrivateKey?: CryptoKey }
  | { kind: 'passphrase'; secret: Uint8Array<ArrayBuffer> };

/** Checks the key an open call was given (`name`, default opts.key). */
export async function readOpeningKey(value: unknown, name = 'opts.key'): Promise<ReadyOpeningKey> {
  if (value === null || typeof value !== 'object') throw new PrivkitError('E_ARG', `${name} must be a recipient key pair or { passphrase }, got ${describe(value)}`, { argument: name });
  const fields = readOptions(value as Partial<RecipientKeyPair & PassphraseRecipient>, ['kind', 'publicKey', 'privateKey', 'kemPrivateKey', 'passphrase'], name);
  if (fields.passphrase !== undefined) return { kind: 'passphrase', secret: passphraseBytes(`${name}.passphrase`, fields.passphrase) };
  const kind = assertOneOf(`${name}.kind`, fields.kind, ['rsa-oaep', 'x25519', 'p-256', 'ml-kem-768-x25519'] as const);
  const publicKey = own(checkTypedArray(`${name}.publicKey`, fields.publicKey, ['Uint8Array']));
  if (currentLength(publicKey) === 0) throw new PrivkitError('E_ARG', `${name}.publicKey is empty`, { argument: `${name}.publicKey` });
  const privateKey = fields.privateKey;
  if (!(privateKey instanceof CryptoKey) || privateKey.type !== 'private') {
    throw new PrivkitError('E_ARG', `${name}.privateKey must be a private CryptoKey, got ${describe(privateKey)}`, { argument: `${name}.privateKey` });
  }
  const expected = kind === 'rsa-oaep' ? 'RSA-OAEP' : kind === 'p-256' ? 'ECDH' : 'X25519';
  if (privateKey.algorithm.name !== expected) {
    throw new PrivkitError('E_ARG', `${name}.privateKey is a ${privateKey.algorithm.name} key, a ${kind} pair needs ${expected}`, { argument: `${name}.privateKey` });
  }
  const out: ReadyOpeningKey = { kind, publicKey, keyId: await keyIdOf(publicKey), privateKey };
  if (kind === 'ml-kem-768-x25519') {
    const kem = fields.kemPrivateKey;
    if (!(kem instanceof CryptoKey) || kem.algorithm.name !== 'ML-KEM-768' || kem.type !== 'private') {
      throw new PrivkitError('E_ARG', `${name}.kemPrivateKey must be an ML-KEM-768 private CryptoKey, got ${describe(kem)}`, { argument: `${name}.kemPrivateKey` });
    }
    out.kemPrivateKey = kem;
  }
  return out;
}

/**
 * The CEK, from the first header entry `key` opens: entries of its type with its key id (for
 * passphrases: the first MAX_PASSPHRASE_ATTEMPTS passphrase entries). No entry opens -> E_AUTH (a wrong key or passphrase, or a
 * tampered entry: the two can not be told apart).
 */
export async function unwrapKey(key: ReadyOpeningKey, entries: readonly RecipientEntry[]): Promise<Uint8Array<ArrayBuffer>> {
  const type = TYPE[key.kind];
  const keyId = key.kind === 'passphrase' ? undefined : toBase64Url(key.keyId);
  const candidates = entries.filter((entry) => entry.type === type && (keyId === undefined || entry.keyId === keyId));
  // A forged header could list 64 passphrase entries of 10^7 iterations each: try only the first few.
  for (const entry of candidates.slice(0, key.kind === 'passphrase' ? MAX_PASSPHRASE_ATTEMPTS : candidates.length)) {
    const cek = await tryUnwrap(key, entry);
    if (cek !== undefined) return cek;
  }
  throw new PrivkitError('E_AUTH', key.kind === 'passphrase' ? 'wrong passphrase, or the container was tampered with' : 'the key opens no recipient entry of the container (wrong key, or tampered)', {
    argument: 'opts.key',
  });
}

async function tryUnwrap(key: ReadyOpeningKey, entry: RecipientEntry): Promise<Uint8Array<ArrayBuffer> | undefined> {
  try {
    const wrapped = fromBase64Url(entry.wrappedKey, 'wrappedKey');
    if (key.kind === 'passphrase') {
      const iterations = entry.iterations;
      if (typeof iterations !== 'number' || !Number.isSafeInteger(iterations) || iterations < MIN_PBKDF2_ITERATIONS || iterations > MAX_PBKDF2_ITERATIONS) return undefined;
      return await open(await passphraseKek(key.secret, own(fromBase64Url(entry.salt ?? '', 'salt')), iterations), wrapped);
    }
    if (key.kind === 'rsa-oaep') {
      const cek = new Uint8Array(await crypto.subtle.decrypt({ name: 'RSA-OAEP', label: RSA_LABEL }, key.privateKey, own(wrapped)));
      if (cek.length === CEK_BYTES) return cek;
      wipe(cek);
      return undefined;
    }
    const ephemeralKey = own(fromBase64Url(entry.ephemeralKey ?? '', 'ephemeralKey'));
    const curve = key.kind === 'p-256' ? 'p-256' : 'x25519';
    if (publicKeyProblem(curve === 'x25519' ? 'X25519' : 'P-256', ephemeralKey) !== undefined) return undefined;
    const ephemeral = await crypto.subtle.importKey('raw', ephemeralKey, ecdhAlgorithm(curve), false, []);
    const ecdhShared = await ecdhSecret(curve, key.privateKey, ephemeral);
    if (key.kind !== 'ml-kem-768-x25519') {
      return await open(await deriveKek(ecdhShared, concat([ephemeralKey, key.publicKey]), TYPE[key.kind]), wrapped);
    }
    const kemCiphertext = own(fromBase64Url(entry.kemCiphertext ?? '', 'kemCiphertext'));
    if (kemCiphertext.length !== MLKEM_CIPHERTEXT_BYTES) return undefined;
    const kemShared = new Uint8Array(await kemSubtle().decapsulateBits(MLKEM, key.kemPrivateKey!, kemCiphertext));
    const ikm = concat([kemShared, ecdhShared]);
    wipe(kemShared, ecdhShared);
    return await open(await deriveKek(ikm, concat([kemCiphertext, ephemeralKey, key.publicKey]), TYPE[key.kind]), wrapped);
  } catch {
    return undefined; // malformed or not ours: the caller tries the next entry, then reports E_AUTH
  }
}

// ---- Primitives ----

function ecdhAlgorithm(kind: 'x25519' | 'p-256'): EcKeyImportParams | Algorithm {
  return kind === 'x25519' ? { name: 'X25519' } : { name: 'ECDH', namedCurve: 'P-256' };
}

async function ecdhSecret(kind: 'x25519' | 'p-256', privateKey: CryptoKey, publicKey: CryptoKey): Promise<Uint8Array<ArrayBuffer>> {
  try {
    return new Uint8Array(await crypto.subtle.deriveBits({ name: kind === 'x25519' ? 'X25519' : 'ECDH', public: publicKey }, privateKey, 256));
  } catch (cause) {
    throw new PrivkitError('E_AUTH', `${kind} key agreement failed`, { cause });
  }
}

/** KEK = HKDF-SHA-256(ikm, salt, info = "privkit/protect/v1 " + type); wipes `ikm`. */
async function deriveKek(ikm: Uint8Array<ArrayBuffer>, salt: Uint8Array<ArrayBuffer>, type: string): Promise<CryptoKey> {
  const base = await crypto.subtle.importKey('raw', ikm, 'HKDF', false, ['deriveKey']);
  wipe(ikm);
  return crypto.subtle.deriveKey(
    { name: 'HKDF', hash: 'SHA-256', salt, info: utf8.encode(`privkit/protect/v1 ${type}`) },
    base,
    { name: 'AES-GCM', length: 256 },
    false,
    ['encrypt', 'decrypt'],
  );
}

async function passphraseKek(secret: Uint8Array<ArrayBuffer>, salt: Uint8Array<ArrayBuffer>, iterations: number): Promise<CryptoKey> {
  const base = await crypto.subtle.importKey('raw', secret, 'PBKDF2', false, ['deriveKey']);
  return crypto.subtle.deriveKey({ name: 'PBKDF2', hash: 'SHA-256', salt, iterations }, base, { name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']);
}

const ZERO_IV = new Uint8Array(12);

async function seal(kek: CryptoKey, cek: Uint8Array<ArrayBuffer>): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv: ZERO_IV, additionalData: WRAP_AAD }, kek, cek));
}

async function open(kek: CryptoKey, wrapped: Uint8Array): Promise<Uint8Array<ArrayBuffer> | undefined> {
  const cek = new Uint8Array(await crypto.subtle.decrypt({ name: 'AES-GCM', iv: ZERO_IV, additionalData: WRAP_AAD }, kek, own(wrapped)));
  if (cek.length === CEK_BYTES) return cek;
  wipe(cek);
  return undefined;
}

/** Wipes the secrets a read recipient or opening key holds (passphrase bytes). */
export function wipeSecrets(items: readonly (ReadyRecipient | ReadyOpeningKey)[]): void {
  for (const item of items) if (item.kind === 'passphrase') wipe(item.secret);
}

