// JSON forms of Paillier keys and ciphertexts: plain objects with a type tag, a version field and
// the integers in base64url (big-endian, unpadded, as python-paillier's JWK-like serialisation).
// Parsing accepts the object or its JSON text and rejects anything malformed with E_ARG; the
// values then go through the same checks as the constructors (key sizes, primes, Z*_{n^2}).
import { PrivkitError } from '../errors.js';
import { describe } from '../validate.js';
import { Ciphertext, PrivateKey, PublicKey, type KeyOptions } from './keys.js';

export const SERIALIZATION_VERSION = 1;

export interface PublicKeyJSON {
  type: 'paillier-public-key';
  version: 1;
  n: string;
}

export interface PrivateKeyJSON {
  type: 'paillier-private-key';
  version: 1;
  n: string;
  p: string;
  q: string;
}

export interface CiphertextJSON {
  type: 'paillier-ciphertext';
  version: 1;
  value: string;
}

export function publicKeyToJSON(publicKey: PublicKey): PublicKeyJSON {
  if (!(publicKey instanceof PublicKey)) throw new PrivkitError('E_ARG', `publicKey must be a PublicKey, got ${describe(publicKey)}`, { argument: 'publicKey' });
  return { type: 'paillier-public-key', version: 1, n: toBase64Url(publicKey.n) };
}

export function publicKeyFromJSON(json: PublicKeyJSON | string, opts: KeyOptions = {}): PublicKey {
  const record = parseRecord(json, 'paillier-public-key', ['n']);
  return new PublicKey(fromBase64Url(record['n'], 'n'), opts);
}

export function privateKeyToJSON(privateKey: PrivateKey): PrivateKeyJSON {
  if (!(privateKey instanceof PrivateKey)) throw new PrivkitError('E_ARG', `privateKey must be a PrivateKey, got ${describe(privateKey)}`, { argument: 'privateKey' });
  return { type: 'paillier-private-key', version: 1, n: toBase64Url(privateKey.publicKey.n), p: toBase64Url(privateKey.p), q: toBase64Url(privateKey.q) };
}

export function privateKeyFromJSON(json: PrivateKeyJSON | string, opts: KeyOptions = {}): PrivateKey {
  const record = parseRecord(json, 'paillier-private-key', ['n', 'p', 'q']);
  const n = fromBase64Url(record['n'], 'n');
  const key = new PrivateKey(fromBase64Url(record['p'], 'p'), fromBase64Url(record['q'], 'q'), opts);
  if (key.publicKey.n !== n) throw new PrivkitError('E_ARG', 'n does not equal p q', { argument: 'n' });
  return key;
}

export function ciphertextToJSON(c: Ciphertext): CiphertextJSON {
  if (!(c instanceof Ciphertext)) throw new PrivkitError('E_ARG', `c must be a Ciphertext, got ${describe(c)}`, { argument: 'c' });
  return { type: 'paillier-ciphertext', version: 1, value: toBase64Url(c.value) };
}

/** A ciphertext under `publicKey` (checked: 0 < c < n^2, gcd(c, n) = 1). */
export function ciphertextFromJSON(publicKey: PublicKey, json: CiphertextJSON | string): Ciphertext {
  const record = parseRecord(json, 'paillier-ciphertext', ['value']);
  return new Ciphertext(publicKey, fromBase64Url(record['value'], 'value'));
}

function parseRecord(json: unknown, type: string, fields: string[]): Record<string, unknown> {
  let value = json;
  if (typeof json === 'string') {
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
  if (record['type'] !== type) throw new PrivkitError('E_ARG', `json.type must be "${type}", got ${JSON.stringify(record['type'])}`, { argument: 'json' });
  if (record['version'] !== SERIALIZATION_VERSION) {
    throw new PrivkitError('E_ARG', `json.version ${JSON.stringify(record['version'])} is not supported (expected ${SERIALIZATION_VERSION})`, { argument: 'json' });
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

/** The non-negative integer of an unpadded base64url string (big-endian bytes). */
export function fromBase64Url(text: unknown, name: string): bigint {
  if (typeof text !== 'string' || !/^[A-Za-z0-9_-]+$/.test(text) || text.length % 4 === 1) {
    throw new PrivkitError('E_ARG', `json.${name} is not a base64url integer`, { argument: 'json' });
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
  return BigInt('0x' + hex);
}
