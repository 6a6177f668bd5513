// JSON forms of Paillier keys and ciphertexts: plain objects with a type tag, a version field and
// the integers in base64url (big-endian, unpadded, as python-paillier's JWK-like serialisation).
// Parsing accepts the object or its JSON text and rejects anything malformed with E_ARG: lengths
// are checked before any parsing (the JSON text, each base64url field), and each integer must be in
// its one canonical form (no leading zero byte, zero unused bits). The values then go through the
// same checks as the constructors (key structure and sizes, primes, Z*_{n^2}).
// The byte forms: a version byte, a type byte (1 public key, 2 private key, 3 ciphertext), then
// each integer (n; p and q; the ciphertext value) as a 4-byte big-endian length and its minimal
// big-endian bytes (no leading zero byte; at most 768 bytes for n, p and q, 1536 for a ciphertext);
// nothing may follow.
import { PrivkitError } from '../errors.js';
import { describe } from '../validate.js';
import { checkTypedArray } from '../wasm/boundary.js';
import { assertCiphertext, assertPrivateKey, assertPublicKey, Ciphertext, MAX_KEY_BITS, PrivateKey, PublicKey, type KeyOptions } from './keys.js';

/** The version of the JSON and byte forms this privkit writes and reads (1). */
export const SERIALIZATION_VERSION = 1;

/** The JSON form of a public key (see {@link publicKeyToJSON}). */
export interface PublicKeyJSON {
  /** The type tag. */
  type: 'paillier-public-key';
  /** The format version ({@link SERIALIZATION_VERSION}). */
  version: 1;
  /** The modulus n, unpadded base64url of its big-endian bytes. */
  n: string;
}

/** The JSON form of a private key (see {@link privateKeyToJSON}). Secret. */
export interface PrivateKeyJSON {
  /** The type tag. */
  type: 'paillier-private-key';
  /** The format version ({@link SERIALIZATION_VERSION}). */
  version: 1;
  /** The modulus n = p q, base64url (checked against p q on parsing). */
  n: string;
  /** The prime p, base64url. */
  p: string;
  /** The prime q, base64url. */
  q: string;
}

/** The JSON form of a ciphertext (see {@link ciphertextToJSON}); its key is not included. */
export interface CiphertextJSON {
  /** The type tag. */
  type: 'paillier-ciphertext';
  /** The format version ({@link SERIALIZATION_VERSION}). */
  version: 1;
  /** The ciphertext value, base64url. */
  value: string;
}

/**
 * The JSON form of a public key (`JSON.stringify` it to store or send it).
 *
 * @throws {PrivkitError} E_ARG when publicKey is not a PublicKey.
 */
export function publicKeyToJSON(publicKey: PublicKey): PublicKeyJSON {
  assertPublicKey('publicKey', publicKey);
  return { type: 'paillier-public-key', version: 1, n: toBase64Url(publicKey.n) };
}

/**
 * A public key from its JSON form (the object or its text), checked as by the PublicKey constructor.
 *
 * @throws {PrivkitError} E_ARG when json is not an object or JSON text of this form (type, version 1, canonical base64url integers within the size limit), or n fails the public-key checks.
 * @throws {PrivkitError} E_NOT_READY before `await ready()`.
 */
export function publicKeyFromJSON(json: PublicKeyJSON | string, opts: KeyOptions = {}): PublicKey {
  const record = parseRecord(json, 'paillier-public-key', ['n']);
  return new PublicKey(fromBase64Url(record['n'], 'n', MAX_KEY_BYTES), opts);
}

/**
 * The JSON form of a private key (it holds the secret primes).
 *
 * @throws {PrivkitError} E_ARG when privateKey is not a PrivateKey.
 */
export function privateKeyToJSON(privateKey: PrivateKey): PrivateKeyJSON {
  assertPrivateKey('privateKey', privateKey);
  return { type: 'paillier-private-key', version: 1, n: toBase64Url(privateKey.publicKey.n), p: toBase64Url(privateKey.p), q: toBase64Url(privateKey.q) };
}

/**
 * A private key from its JSON form (the object or its text), checked as by the PrivateKey constructor.
 *
 * @throws {PrivkitError} E_ARG when json is not an object or JSON text of this form (type, version 1, canonical base64url integers within the size limit), n differs from p q, or the primes fail the private-key checks.
 * @throws {PrivkitError} E_NOT_READY before `await ready()`.
 */
export function privateKeyFromJSON(json: PrivateKeyJSON | string, opts: KeyOptions = {}): PrivateKey {
  const record = parseRecord(json, 'paillier-private-key', ['n', 'p', 'q']);
  const n = fromBase64Url(record['n'], 'n', MAX_KEY_BYTES);
  const p = fromBase64Url(record['p'], 'p', MAX_KEY_BYTES);
  const q = fromBase64Url(record['q'], 'q', MAX_KEY_BYTES);
  if (p * q !== n) throw new PrivkitError('E_ARG', 'n does not equal p q', { argument: 'n' });
  return new PrivateKey(p, q, opts);
}

/**
 * The JSON form of a ciphertext.
 *
 * @throws {PrivkitError} E_ARG when c is not a Ciphertext.
 */
export function ciphertextToJSON(c: Ciphertext): CiphertextJSON {
  assertCiphertext('c', c);
  return { type: 'paillier-ciphertext', version: 1, value: toBase64Url(c.value) };
}

/**
 * A ciphertext under `publicKey` (checked: 0 < c < n^2, gcd(c, n) = 1).
 *
 * @throws {PrivkitError} E_ARG when json is not an object or JSON text of this form (type, version 1, canonical base64url integers within the size limit), or the value is not in Z*_{n^2}.
 */
export function ciphertextFromJSON(publicKey: PublicKey, json: CiphertextJSON | string): Ciphertext {
  const record = parseRecord(json, 'paillier-ciphertext', ['value']);
  return new Ciphertext(publicKey, fromBase64Url(record['value'], 'value', MAX_INTEGER_BYTES));
}

/** Type bytes of the byte forms. */
const PUBLIC_KEY_TYPE = 1;
const PRIVATE_KEY_TYPE = 2;
const CIPHERTEXT_TYPE = 3;
/** Longest integer of a key (n, p or q) in either form: n of the largest key. */
const MAX_KEY_BYTES = MAX_KEY_BITS / 8;
/** Longest integer in either form: a ciphertext under the largest key (n^2, 2 * MAX_KEY_BITS bits). */
const MAX_INTEGER_BYTES = (2 * MAX_KEY_BITS) / 8;
/** Longest JSON text accepted: the largest private key's fields with room for whitespace. */
const MAX_JSON_CHARS = 16384;

/**
 * The byte form of a public key: version, type 1, then n (4-byte length and minimal big-endian bytes).
 *
 * @throws {PrivkitError} E_ARG when publicKey is not a PublicKey.
 */
export function publicKeyToBytes(publicKey: PublicKey): Uint8Array {
  assertPublicKey('publicKey', publicKey);
  return encodeBytes(PUBLIC_KEY_TYPE, [publicKey.n]);
}

/**
 * A public key from its byte form, checked as by the PublicKey constructor.
 *
 * @throws {PrivkitError} E_ARG when bytes is not a Uint8Array of this form (version, type, lengths, no leading zero byte, nothing trailing) or n fails the public-key checks.
 * @throws {PrivkitError} E_NOT_READY before `await ready()`.
 */
export function publicKeyFromBytes(bytes: Uint8Array, opts: KeyOptions = {}): PublicKey {
  const [n] = decodeBytes(bytes, PUBLIC_KEY_TYPE, 1, MAX_KEY_BYTES);
  return new PublicKey(n!, opts);
}

/**
 * The byte form of a private key: version, type 2, then p and q (each a 4-byte length and its bytes). Secret.
 *
 * @throws {PrivkitError} E_ARG when privateKey is not a PrivateKey.
 */
export function privateKeyToBytes(privateKey: PrivateKey): Uint8Array {
  assertPrivateKey('privateKey', privateKey);
  return encodeBytes(PRIVATE_KEY_TYPE, [privateKey.p, privateKey.q]);
}

/**
 * A private key from its byte form, checked as by the PrivateKey constructor.
 *
 * @throws {PrivkitError} E_ARG when bytes is not a Uint8Array of this form or the primes fail the private-key checks.
 * @throws {PrivkitError} E_NOT_READY before `await ready()`.
 */
export function privateKeyFromBytes(bytes: Uint8Array, opts: KeyOptions = {}): PrivateKey {
  const [p, q] = decodeBytes(bytes, PRIVATE_KEY_TYPE, 2, MAX_KEY_BYTES);
  return new PrivateKey(p!, q!, opts);
}

/**
 * The byte form of a ciphertext: version, type 3, then its value (4-byte length and bytes).
 *
 * @throws {PrivkitError} E_ARG when c is not a Ciphertext.
 */
export function ciphertextToBytes(c: Ciphertext): Uint8Array {
  assertCiphertext('c', c);
  return encodeBytes(CIPHERTEXT_TYPE, [c.value]);
}

/**
 * A ciphertext under `publicKey` (checked: 0 < c < n^2, gcd(c, n) = 1).
 *
 * @throws {PrivkitError} E_ARG when bytes is not a Uint8Array of this form or the value is not in Z*_{n^2}.
 */
export function ciphertextFromBytes(publicKey: PublicKey, bytes: Uint8Array): Ciphertext {
  const [value] = decodeBytes(bytes, CIPHERTEXT_TYPE, 1, MAX_INTEGER_BYTES);
  return new Ciphertext(publicKey, value!);
}

/** Version byte, type byte, then each integer (> 0) as a 4-byte big-endian length and its minimal big-endian bytes. */
function encodeBytes(type: number, integers: bigint[]): Uint8Array {
  const parts = integers.map((x) => {
    let hex = x.toString(16);
    if (hex.length % 2 === 1) hex = '0' + hex;
    return Uint8Array.from({ length: hex.length / 2 }, (_, k) => parseInt(hex.slice(2 * k, 2 * k + 2), 16));
  });
  const out = new Uint8Array(2 + parts.reduce((sum, part) => sum + 4 + part.length, 0));
  const view = new DataView(out.buffer);
  out[0] = SERIALIZATION_VERSION;
  out[1] = type;
  let offset = 2;
  for (const part of parts) {
    view.setUint32(offset, part.length);
    out.set(part, offset + 4);
    offset += 4 + part.length;
  }
  return out;
}

/** The `count` integers (each at most `maxBytes` long) of a byte form of `type`; anything malformed is an E_ARG. */
function decodeBytes(value: unknown, type: number, count: number, maxBytes: number): bigint[] {
  const bytes = checkTypedArray('bytes', value, ['Uint8Array']);
  const fail = (why: string): never => {
    throw new PrivkitError('E_ARG', `bytes are malformed: ${why}`, { argument: 'bytes' });
  };
  if (bytes.length < 2) fail('too short');
  if (bytes.length > 2 + count * (4 + maxBytes)) fail(`${bytes.length} bytes is longer than any valid form (${2 + count * (4 + maxBytes)})`);
  if (bytes[0] !== SERIALIZATION_VERSION) fail(`version ${bytes[0]} is not supported (expected ${SERIALIZATION_VERSION})`);
  if (bytes[1] !== type) fail(`type byte ${bytes[1]} is not ${type}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const integers: bigint[] = [];
  let offset = 2;
  for (let i = 0; i < count; i++) {
    if (offset + 4 > bytes.length) fail('truncated length');
    const length = view.getUint32(offset);
    offset += 4;
    if (length === 0 || length > maxBytes) fail(`integer length ${length} is outside [1, ${maxBytes}]`);
    if (offset + length > bytes.length) fail('truncated integer');
    if (bytes[offset] === 0) fail('integer has a leading zero byte');
    let hex = '';
    for (let k = offset; k < offset + length; k++) hex += bytes[k]!.toString(16).padStart(2, '0');
    integers.push(BigInt('0x' + hex));
    offset += length;
  }
  if (offset !== bytes.length) fail(`${bytes.length - offset} trailing bytes`);
  return integers;
}

function parseRecord(json: unknown, type: string, fields: string[]): Record<string, unknown> {
  let value = json;
  if (typeof json === 'string') {
    if (json.length > MAX_JSON_CHARS) {
      throw new PrivkitError('E_ARG', `json text of ${json.length} characters is longer than any valid form (${MAX_JSON_CHARS})`, { argument: 'json' });
    }
    try {
      value = JSON.parse(json);
    } catch (cause) {
      throw new PrivkitError('E_ARG', `json is not valid JSON text`, { argument: 'json', cause });
    }
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new PrivkitError('E_ARG', `json must be an object, got ${describe(value)}`, { argument: 'json' });
  }
  const record = value as Record<string, unknown>;
  if (record['type'] !== type) throw new PrivkitError('E_ARG', `json.type must be "${type}", got ${describe(record['type'])}`, { argument: 'json' });
  if (record['version'] !== SERIALIZATION_VERSION) {
    throw new PrivkitError('E_ARG', `json.version ${describe(record['version'])} is not supported (expected ${SERIALIZATION_VERSION})`, { argument: 'json' });
  }
  for (const field of fields) {
    if (typeof record[field] !== 'string') throw new PrivkitError('E_ARG', `json.${field} must be a base64url string`, { argument: 'json' });
  }
  return record;
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** x >= 0 as unpadded base64url of its minimal big-endian bytes (0 as one zero byte). */
export function toBase64Url(x: bigint): string {
  let hex = x.toString(16);
  if (hex.length % 2 === 1) hex = '0' + hex;
  let out = '';
  for (let i = 0; i < hex.length; i += 6) {
    const chunk = hex.slice(i, i + 6);
    const bits = chunk.length * 4;
    const value = parseInt(chunk, 16) << (24 - bits);
    const chars = Math.ceil(bits / 6);
    for (let k = 0; k < chars; k++) out += ALPHABET[(value >> (18 - 6 * k)) & 63];
  }
  return out;
}

/**
 * The integer of an unpadded base64url string of at most `maxBytes` big-endian bytes, which must
 * be its canonical form (as toBase64Url writes it: no leading zero byte, zero unused bits); the
 * length is checked before anything else.
 */
export function fromBase64Url(text: unknown, name: string, maxBytes: number): bigint {
  const maxChars = Math.ceil((maxBytes * 4) / 3);
  if (typeof text !== 'string' || text.length === 0 || text.length > maxChars || !/^[A-Za-z0-9_-]+$/.test(text) || text.length % 4 === 1) {
    const why = typeof text === 'string' && text.length > maxChars ? `longer than ${maxChars} characters (${maxBytes} bytes)` : 'not a base64url integer';
    throw new PrivkitError('E_ARG', `json.${name} is ${why}`, { argument: 'json' });
  }
  let hex = '';
  for (let i = 0; i < text.length; i += 4) {
    const chunk = text.slice(i, i + 4);
    let value = 0;
    for (const ch of chunk) value = (value << 6) | ALPHABET.indexOf(ch);
    const bytes = chunk.length - 1; // 4 chars: 3 bytes, 3 chars: 2, 2 chars: 1
    value >>= (chunk.length * 6) - bytes * 8;
    hex += value.toString(16).padStart(bytes * 2, '0');
  }
  const x = BigInt('0x' + hex);
  if (toBase64Url(x) !== text) throw new PrivkitError('E_ARG', `json.${name} is not in canonical form (a leading zero byte or nonzero unused bits)`, { argument: 'json' });
  return x;
}
